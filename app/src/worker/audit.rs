//! The secret audit, and its exports made in the tab when asked for.

use etcd_lens_core::audit::EncryptionConfig;

use super::{Opened, WorkerError};
use crate::protocol::{AuditView, ExportFormat, FindingRow};

/// Run the secret audit and prepare its exports.
pub fn audit(o: &Opened, encryption_config: Option<&str>) -> Result<AuditView, WorkerError> {
    let encryption = match encryption_config.map(str::trim).filter(|c| !c.is_empty()) {
        Some(yaml) => Some(EncryptionConfig::parse(yaml)?),
        None => None,
    };
    o.encryption.replace(encryption.clone());
    let opts = etcd_lens_core::audit::AuditOptions {
        encryption,
        opened_with_age: o.opened_with_age,
        ..Default::default()
    };
    let r = etcd_lens_core::audit::audit(&o.snap, o.index()?, &opts)?;
    let c = &r.census;
    let map = |m: &std::collections::BTreeMap<String, u64>| {
        if m.is_empty() {
            "none".to_string()
        } else {
            m.iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let mut census = vec![
        ("Secrets".to_string(), c.secrets_total.to_string()),
        ("stored in plaintext".to_string(), c.plaintext.to_string()),
        ("encrypted".to_string(), c.encrypted.to_string()),
        ("unreadable".to_string(), c.unreadable.to_string()),
        ("per provider".to_string(), map(&c.per_provider)),
        ("per key".to_string(), map(&c.per_key)),
        ("plaintext by type".to_string(), map(&c.plaintext_types)),
        (
            "objects scanned for credentials".to_string(),
            c.objects_scanned.to_string(),
        ),
        (
            "free/unreachable pages scanned".to_string(),
            c.unreachable_pages_scanned.to_string(),
        ),
    ];
    if let Some(d) = &c.decrypted {
        census.push(("decrypted with the configuration".to_string(), map(d)));
    }
    if let Some(n) = c.undecryptable {
        census.push((
            "not decryptable with the configuration".to_string(),
            n.to_string(),
        ));
    }
    if let Some(n) = c.needs_kms {
        census.push(("need the KMS to decrypt".to_string(), n.to_string()));
    }
    let findings = r
        .findings
        .iter()
        .map(|f| FindingRow {
            rule: f.rule,
            severity: f.severity,
            key: f.key.clone().unwrap_or_default(),
            key_hex: f
                .key
                .as_deref()
                .map(|k| hex::encode(k.as_bytes()))
                .unwrap_or_default(),
            namespace: f.namespace.clone().unwrap_or_default(),
            name: f.name.clone().unwrap_or_default(),
            revision: f.revision,
            provider: f.provider.clone().unwrap_or_default(),
            key_name: f.key_name.clone().unwrap_or_default(),
            message: f.message.clone(),
        })
        .collect();
    let view = AuditView {
        exposure: r.exposure(),
        by_severity: r.by_severity(),
        census,
        findings,
        warnings: r.warnings.clone(),
    };
    // Kept for the exports, which are made only when asked for.
    o.last_audit.replace(Some(r));
    Ok(view)
}

/// One export of the last audit.
pub fn export(o: &Opened, format: ExportFormat, file_name: &str) -> Result<String, WorkerError> {
    use etcd_lens_core::audit::export;
    let last = o.last_audit.borrow();
    let r = last.as_ref().ok_or(WorkerError::NotAudited)?;
    Ok(match format {
        ExportFormat::Json => export::to_json(r),
        ExportFormat::Csv => export::to_csv(r),
        ExportFormat::Sarif => export::to_sarif(r, file_name),
        ExportFormat::Html => export::to_html(r, "etcd-lens secret audit"),
    })
}
