//! The secret audit, done a slice of keys at a time between the page's other
//! requests, and its exports made in the tab when asked for.

use etcd_lens_core::audit::{AuditReport, AuditRun, EncryptionConfig};

use super::{Opened, WorkerError};
use crate::protocol::{AuditView, ExportFormat, FindingRow};

/// Start the secret audit (the key index must be built): parse the
/// configuration, if any, which decrypts values elsewhere in the page too.
pub fn start_audit(o: &Opened, encryption_config: Option<&str>) -> Result<AuditRun, WorkerError> {
    let encryption = match encryption_config.map(str::trim).filter(|c| !c.is_empty()) {
        Some(yaml) => Some(EncryptionConfig::parse(yaml)?),
        None => None,
    };
    let index = o.index()?;
    o.encryption.replace(encryption.clone());
    let opts = etcd_lens_core::audit::AuditOptions {
        encryption,
        opened_with_age: o.opened_with_age,
        ..Default::default()
    };
    Ok(AuditRun::new(index, opts))
}

/// Audit the next `max_keys` keys (or the next part); the view once done.
pub fn audit_step(
    o: &Opened,
    run: &mut AuditRun,
    max_keys: usize,
) -> Result<Option<AuditView>, WorkerError> {
    Ok(run
        .step(&o.snap, o.index()?, max_keys)?
        .map(|report| audit_view(o, report)))
}

/// Run the whole secret audit at once (tests; the worker steps through it).
#[cfg(test)]
pub fn audit(o: &Opened, encryption_config: Option<&str>) -> Result<AuditView, WorkerError> {
    let mut run = start_audit(o, encryption_config)?;
    loop {
        if let Some(view) = audit_step(o, &mut run, usize::MAX)? {
            return Ok(view);
        }
    }
}

/// The page's view of a finished audit; the report is kept for the exports.
fn audit_view(o: &Opened, r: AuditReport) -> AuditView {
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
    view
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
