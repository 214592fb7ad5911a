//! The secret audit: which Secrets a snapshot exposes, key by key, and why.
//!
//! [`audit`] reads every live key under the Kubernetes roots once, the history of
//! every Secret key, and (optionally) the pages no tree reaches, and returns a
//! [`Census`] and [`Finding`]s with stable [`Rule`] ids. Counting (so a test can
//! ask for "every expected finding and nothing else"):
//! - `secret-plaintext`, `secret-weak-provider`, `secret-stale-key`,
//!   `secret-deprecated-provider`, `secret-undecryptable`: one per key (latest value);
//! - `secret-plaintext-in-history`: one per (key, revision);
//! - `secret-plaintext-unreachable`: one per (page id, key when the page parses);
//! - `credential-in-object`: one per (key, field path, pattern);
//! - `etcd-auth-disabled`, `snapshot-not-encrypted`: one per snapshot.
//!
//! Invariants: pure (the caller opens the file and the configuration); values are
//! never put into a finding unmasked — Secrets show their type and data key
//! names, credentials a masked form; the output order is deterministic
//! (severity, rule, key, revision, page, path, pattern). Exporters are in [`export`].

pub mod credentials;
pub mod encryption;
pub mod export;
pub mod pages;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ReadAt;
use crate::k8s::{DecodedObject, Encoding, KeyInfo, Provider, classify, decode, parse_key};
use crate::mvcc::{KeyIndex, RevisionKey};
use crate::snapshot::{Snapshot, SnapshotError};

pub use encryption::{ConfigError, Decryption, EncryptionConfig, KeyId};

/// Severities, lowest first (so `>=` means "at or above").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Severity::Info,
            Severity::Low,
            Severity::Medium,
            Severity::High,
            Severity::Critical,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

/// The rules, with stable ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    SecretPlaintext,
    SecretPlaintextInHistory,
    SecretPlaintextUnreachable,
    SecretWeakProvider,
    SecretStaleKey,
    SecretDeprecatedProvider,
    SecretUndecryptable,
    CredentialInObject,
    EtcdAuthDisabled,
    SnapshotNotEncrypted,
}

impl Rule {
    pub const ALL: [Rule; 10] = [
        Rule::SecretPlaintext,
        Rule::SecretPlaintextInHistory,
        Rule::SecretPlaintextUnreachable,
        Rule::SecretWeakProvider,
        Rule::SecretStaleKey,
        Rule::SecretDeprecatedProvider,
        Rule::SecretUndecryptable,
        Rule::CredentialInObject,
        Rule::EtcdAuthDisabled,
        Rule::SnapshotNotEncrypted,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Rule::SecretPlaintext => "secret-plaintext",
            Rule::SecretPlaintextInHistory => "secret-plaintext-in-history",
            Rule::SecretPlaintextUnreachable => "secret-plaintext-unreachable",
            Rule::SecretWeakProvider => "secret-weak-provider",
            Rule::SecretStaleKey => "secret-stale-key",
            Rule::SecretDeprecatedProvider => "secret-deprecated-provider",
            Rule::SecretUndecryptable => "secret-undecryptable",
            Rule::CredentialInObject => "credential-in-object",
            Rule::EtcdAuthDisabled => "etcd-auth-disabled",
            Rule::SnapshotNotEncrypted => "snapshot-not-encrypted",
        }
    }

    pub fn severity(self) -> Severity {
        match self {
            Rule::SecretPlaintext => Severity::Critical,
            Rule::SecretPlaintextInHistory
            | Rule::CredentialInObject
            | Rule::SecretUndecryptable => Severity::High,
            Rule::SecretPlaintextUnreachable
            | Rule::SecretWeakProvider
            | Rule::SecretDeprecatedProvider => Severity::Medium,
            Rule::SecretStaleKey => Severity::Low,
            Rule::EtcdAuthDisabled | Rule::SnapshotNotEncrypted => Severity::Info,
        }
    }

    /// One line: what the rule finds.
    pub fn title(self) -> &'static str {
        match self {
            Rule::SecretPlaintext => "Secret stored without encryption at rest",
            Rule::SecretPlaintextInHistory => {
                "Secret encrypted or deleted now, but its plaintext is retained in history"
            }
            Rule::SecretPlaintextUnreachable => {
                "Plaintext Secret bytes left in free or unreachable pages"
            }
            Rule::SecretWeakProvider => "Secret encrypted with a provider rated weak",
            Rule::SecretStaleKey => "Secret encrypted under a key other than the current one",
            Rule::SecretDeprecatedProvider => "Secret encrypted with KMS v1 (deprecated)",
            Rule::SecretUndecryptable => {
                "Secret not decryptable with the supplied EncryptionConfiguration"
            }
            Rule::CredentialInObject => "Credential in an object that is not a Secret",
            Rule::EtcdAuthDisabled => "etcd authentication is disabled",
            Rule::SnapshotNotEncrypted => "The snapshot file itself is not encrypted",
        }
    }

    /// The remedy.
    pub fn help(self) -> &'static str {
        match self {
            Rule::SecretPlaintext => {
                "Configure encryption at rest (EncryptionConfiguration with aesgcm, secretbox or KMS v2) and rewrite every Secret: kubectl get secrets -A -o json | kubectl replace -f -"
            }
            Rule::SecretPlaintextInHistory => {
                "Compact the etcd history past these revisions (etcdctl compaction) and defragment (etcdctl defrag), then take a new snapshot"
            }
            Rule::SecretPlaintextUnreachable => {
                "Defragment every member (etcdctl defrag) so freed pages are dropped from the file, then take a new snapshot"
            }
            Rule::SecretWeakProvider => {
                "Move to KMS v2 or secretbox; aescbc is vulnerable to padding-oracle attacks and aesgcm keys must be rotated every 200,000 writes"
            }
            Rule::SecretStaleKey => {
                "Finish the key rotation: rewrite all Secrets (kubectl get secrets -A -o json | kubectl replace -f -), then drop the old key"
            }
            Rule::SecretDeprecatedProvider => {
                "Migrate to KMS v2: KMS v1 is deprecated since Kubernetes 1.28 and disabled by default from 1.29"
            }
            Rule::SecretUndecryptable => {
                "Add the missing key to the EncryptionConfiguration before restoring, or these Secrets are lost"
            }
            Rule::CredentialInObject => {
                "Move the credential into a Secret (referenced with secretKeyRef / envFrom) and rotate it: it was readable by everyone who can read this object"
            }
            Rule::EtcdAuthDisabled => {
                "Restrict etcd to the API server with client-certificate authentication, or enable etcd auth"
            }
            Rule::SnapshotNotEncrypted => {
                "Encrypt snapshots at rest (for example with age) and restrict who can read backups"
            }
        }
    }
}

impl Serialize for Finding {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("rule", self.rule.id())?;
        m.serialize_entry("severity", &self.severity)?;
        m.serialize_entry("key", &self.key)?;
        m.serialize_entry("resource", &self.resource)?;
        m.serialize_entry("namespace", &self.namespace)?;
        m.serialize_entry("name", &self.name)?;
        m.serialize_entry("revision", &self.revision)?;
        m.serialize_entry("provider", &self.provider)?;
        m.serialize_entry("key_name", &self.key_name)?;
        m.serialize_entry("message", &self.message)?;
        m.serialize_entry("details", &self.details)?;
        m.end()
    }
}

/// One finding. The JSON export has exactly the ten fields; `details`
/// carries what the page shows besides (never a value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub rule: Rule,
    pub severity: Severity,
    /// The etcd key (lossy UTF-8); `None` for snapshot-wide findings and raw page hits.
    pub key: Option<String>,
    pub resource: Option<String>,
    pub namespace: Option<String>,
    pub name: Option<String>,
    /// The revision the finding is about (the value's mod revision).
    pub revision: Option<i64>,
    /// The encryption provider (`aescbc`, `kms:v2`, …; `identity` for plaintext).
    pub provider: Option<String>,
    /// The key name (or KMS plugin name, with ` keyID …` for KMS v2).
    pub key_name: Option<String>,
    pub message: String,
    pub details: Details,
}

/// Extra facts of a finding, by rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Details {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_type: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub data_keys: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub revisions: Vec<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub masked_value: Option<String>,
}

/// Counts that accompany the findings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Census {
    /// Live Secret keys.
    pub secrets_total: u64,
    pub plaintext: u64,
    pub encrypted: u64,
    /// Live Secret keys whose value is neither (opaque, or does not decode).
    pub unreadable: u64,
    /// Live Secrets per provider (`identity` = plaintext).
    pub per_provider: BTreeMap<String, u64>,
    /// Live encrypted Secrets per key (`provider:name`, with ` (keyID …)` for KMS v2).
    pub per_key: BTreeMap<String, u64>,
    /// Plaintext Secrets per `type`.
    pub plaintext_types: BTreeMap<String, u64>,
    /// With an EncryptionConfiguration: decrypted, per key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decrypted: Option<BTreeMap<String, u64>>,
    /// With an EncryptionConfiguration: encrypted Secrets it cannot decrypt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undecryptable: Option<u64>,
    /// With an EncryptionConfiguration: KMS Secrets (need the KMS to decrypt).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub needs_kms: Option<u64>,
    /// Live non-Secret objects scanned for credentials.
    pub objects_scanned: u64,
    /// Pages no tree reaches that were searched (0 when the scan was off).
    pub unreachable_pages_scanned: u64,
    /// The current revision.
    pub revision: i64,
}

/// The audit's inputs besides the snapshot.
#[derive(Debug, Clone)]
pub struct AuditOptions {
    /// The API server's `--etcd-prefix` (default `/registry/`).
    pub prefix: String,
    pub encryption: Option<EncryptionConfig>,
    /// The snapshot file was age-encrypted (so `snapshot-not-encrypted` does not apply).
    pub opened_with_age: bool,
    /// Search free and unreachable pages (reads every such page once).
    pub scan_free_pages: bool,
}

impl Default for AuditOptions {
    fn default() -> Self {
        Self {
            prefix: crate::k8s::DEFAULT_PREFIX.to_string(),
            encryption: None,
            opened_with_age: false,
            scan_free_pages: true,
        }
    }
}

/// What [`audit`] returns.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AuditReport {
    pub census: Census,
    pub findings: Vec<Finding>,
    /// Values that could not be read (named by key), never fatal.
    pub warnings: Vec<String>,
}

impl AuditReport {
    /// The highest severity found, if any.
    pub fn max_severity(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }

    /// Is there a finding at or above `threshold`? (The CI gate.)
    pub fn fails(&self, threshold: Severity) -> bool {
        self.findings.iter().any(|f| f.severity >= threshold)
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `type` and data key names of a decoded Secret (never the values).
fn secret_facts(obj: &DecodedObject) -> (Option<String>, Vec<String>) {
    let t = obj
        .object
        .get("type")
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
        .map(String::from);
    let mut keys: Vec<String> = obj
        .object
        .get("data")
        .and_then(|d| d.as_object())
        .map(|d| d.keys().cloned().collect())
        .unwrap_or_default();
    keys.sort();
    (t, keys)
}

fn who(info: &KeyInfo) -> String {
    match (&info.namespace, &info.name) {
        (Some(ns), Some(n)) => format!("{ns}/{n}"),
        (None, Some(n)) => n.clone(),
        _ => "?".into(),
    }
}

fn describe_secret(t: &Option<String>, keys: &[String]) -> String {
    let keys = if keys.is_empty() {
        "no data keys".to_string()
    } else {
        format!("data keys {}", keys.join(", "))
    };
    format!("type {}, {keys}", t.as_deref().unwrap_or("Opaque"))
}

struct Base<'k> {
    key: &'k [u8],
    info: &'k KeyInfo,
}

impl Base<'_> {
    fn finding(&self, rule: Rule, revision: Option<i64>, message: String) -> Finding {
        Finding {
            rule,
            severity: rule.severity(),
            key: Some(text(self.key)),
            resource: Some(self.info.qualified_resource()),
            namespace: self.info.namespace.clone(),
            name: self.info.name.clone(),
            revision,
            provider: None,
            key_name: None,
            message,
            details: Details::default(),
        }
    }
}

fn key_name_of(k: &KeyId) -> String {
    match &k.kms_key_id {
        Some(id) => format!("{} keyID {id}", k.key_name),
        None => k.key_name.clone(),
    }
}

/// Is `k` the key `current` names? (Configured KMS keys have no keyID: any matches.)
fn same_key(current: &KeyId, k: &KeyId) -> bool {
    current.provider == k.provider
        && current.key_name == k.key_name
        && (current.kms_key_id.is_none() || current.kms_key_id == k.kms_key_id)
}

/// An encrypted live Secret, kept for the stale-key rule.
struct EncryptedSecret {
    key: Vec<u8>,
    info: KeyInfo,
    revision: i64,
    id: KeyId,
}

/// Audit an open snapshot whose key index the caller has built.
pub fn audit(
    snap: &Snapshot<impl ReadAt>,
    ix: &KeyIndex,
    opts: &AuditOptions,
) -> Result<AuditReport, SnapshotError> {
    let mut r = AuditReport::default();
    r.census.revision = ix.last.map_or(0, |l| l.rev.main);
    let cfg = opts.encryption.as_ref();
    if cfg.is_some() {
        r.census.decrypted = Some(BTreeMap::new());
        r.census.undecryptable = Some(0);
        r.census.needs_kms = Some(0);
    }
    let mut encrypted: Vec<EncryptedSecret> = Vec::new();

    // Latest values.
    for (key, live) in ix.live() {
        let Some(info) = parse_key(key, &opts.prefix) else {
            continue;
        };
        let rk = RevisionKey {
            rev: live.rev,
            tombstone: false,
        };
        let Some(kv) = snap.value(rk)? else { continue };
        let resource = info.qualified_resource();
        let is_secret = resource == "secrets";
        let revision = Some(live.rev.main);
        let base = Base { key, info: &info };
        let encoding = classify(&kv.value);
        if is_secret {
            r.census.secrets_total += 1;
        }
        let mut plaintext: Option<Vec<u8>> = None;
        match &encoding {
            Encoding::Encrypted(e) => {
                let id = KeyId {
                    provider: e.provider.as_str().to_string(),
                    key_name: e.key_name.clone(),
                    kms_key_id: e.kms_key_id.clone(),
                };
                let decryption = cfg.map(|c| c.decrypt(&resource, key, &kv.value));
                if let Some(Decryption::Decrypted { plaintext: p, .. }) = &decryption {
                    plaintext = Some(p.clone());
                }
                if is_secret {
                    secret_encrypted(&mut r, &base, revision, e.provider.clone(), &id, decryption);
                    encrypted.push(EncryptedSecret {
                        key: key.to_vec(),
                        info: info.clone(),
                        revision: live.rev.main,
                        id,
                    });
                }
            }
            Encoding::Protobuf | Encoding::Json | Encoding::Cbor => {
                if is_secret {
                    match decode(&kv.value) {
                        Ok(obj) => {
                            let info = info.clone().with_object(&obj);
                            let (t, keys) = secret_facts(&obj);
                            let c = &mut r.census;
                            c.plaintext += 1;
                            *c.per_provider.entry("identity".into()).or_default() += 1;
                            *c.plaintext_types
                                .entry(t.clone().unwrap_or_else(|| "Opaque".into()))
                                .or_default() += 1;
                            let base = Base { key, info: &info };
                            let mut f = base.finding(
                                Rule::SecretPlaintext,
                                revision,
                                format!(
                                    "Secret {} ({}) is stored in plaintext ({}): anyone with this snapshot reads it",
                                    who(&info),
                                    describe_secret(&t, &keys),
                                    encoding.name()
                                ),
                            );
                            f.provider = Some("identity".into());
                            f.details.secret_type = t;
                            f.details.data_keys = keys;
                            r.findings.push(f);
                        }
                        Err(e) => {
                            r.census.unreadable += 1;
                            r.warnings.push(format!("{}: {e}", text(key)));
                        }
                    }
                } else {
                    plaintext = Some(kv.value.clone());
                }
            }
            Encoding::Opaque { .. } => {
                if is_secret {
                    r.census.unreadable += 1;
                }
            }
        }
        // Credentials in other objects (decrypted ones too).
        if !is_secret && let Some(p) = plaintext {
            let Ok(obj) = decode(&p) else { continue };
            if obj.kind == "Secret" {
                continue;
            }
            r.census.objects_scanned += 1;
            let info = info.clone().with_object(&obj);
            let base = Base { key, info: &info };
            for hit in credentials::scan_object(&obj.kind, &obj.object) {
                let mut f = base.finding(
                    Rule::CredentialInObject,
                    revision,
                    format!(
                        "{} {}: {} looks like a credential ({}: {})",
                        if obj.kind.is_empty() {
                            "object"
                        } else {
                            &obj.kind
                        },
                        who(&info),
                        hit.field_path,
                        hit.pattern,
                        hit.masked
                    ),
                );
                f.details.field_path = Some(hit.field_path);
                f.details.pattern = Some(hit.pattern.to_string());
                f.details.masked_value = Some(hit.masked);
                r.findings.push(f);
            }
        }
    }

    stale_keys(&mut r, cfg, &encrypted);
    history(snap, ix, opts, &mut r)?;
    if opts.scan_free_pages {
        let retained = |k: &[u8], rev: crate::mvcc::Revision| {
            ix.history(k)
                .is_some_and(|h| h.revisions.iter().any(|r| r.rev == rev))
        };
        let (hits, stats) = pages::scan(snap.db(), &opts.prefix, &retained)?;
        r.census.unreachable_pages_scanned = stats.candidate_pages;
        for h in hits {
            let (t, keys) = h.object.as_ref().map(secret_facts).unwrap_or_default();
            let mut f = match &h.key {
                Some((k, info)) => {
                    let base = Base { key: k, info };
                    base.finding(
                        Rule::SecretPlaintextUnreachable,
                        h.revisions.last().copied(),
                        format!(
                            "page {}: plaintext of Secret {} ({}) at revision{} {}, gone from the history but still in the file",
                            h.page,
                            who(info),
                            describe_secret(&t, &keys),
                            if h.revisions.len() > 1 { "s" } else { "" },
                            join_revs(&h.revisions)
                        ),
                    )
                }
                None => Finding {
                    rule: Rule::SecretPlaintextUnreachable,
                    severity: Rule::SecretPlaintextUnreachable.severity(),
                    key: None,
                    resource: Some("secrets".into()),
                    namespace: None,
                    name: None,
                    revision: None,
                    provider: None,
                    key_name: None,
                    message: format!(
                        "page {}: bytes of a plaintext Secret in a page no tree reaches",
                        h.page
                    ),
                    details: Details::default(),
                },
            };
            f.provider = Some("identity".into());
            f.details.page = Some(h.page.0);
            f.details.revisions = h.revisions;
            f.details.secret_type = t;
            f.details.data_keys = keys;
            r.findings.push(f);
        }
    }

    let snapshot_finding = |rule: Rule, message: String| Finding {
        rule,
        severity: rule.severity(),
        key: None,
        resource: None,
        namespace: None,
        name: None,
        revision: None,
        provider: None,
        key_name: None,
        message,
        details: Details::default(),
    };
    if snap.info.auth.enabled != Some(true) {
        r.findings.push(snapshot_finding(
            Rule::EtcdAuthDisabled,
            "etcd authentication is disabled in this snapshot: any client that reaches etcd reads every key unless client certificates are required".into(),
        ));
    }
    if !opts.opened_with_age {
        r.findings.push(snapshot_finding(
            Rule::SnapshotNotEncrypted,
            "the snapshot file was opened without age encryption: whoever holds the file holds every value in it".into(),
        ));
    }
    sort_findings(&mut r.findings);
    Ok(r)
}

fn join_revs(revs: &[i64]) -> String {
    revs.iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The deterministic order of findings.
pub fn sort_findings(f: &mut [Finding]) {
    f.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.rule.cmp(&b.rule))
            .then_with(|| a.key.cmp(&b.key))
            .then(a.revision.cmp(&b.revision))
            .then(a.details.page.cmp(&b.details.page))
            .then_with(|| a.details.field_path.cmp(&b.details.field_path))
            .then_with(|| a.details.pattern.cmp(&b.details.pattern))
    });
}

fn secret_encrypted(
    r: &mut AuditReport,
    base: &Base<'_>,
    revision: Option<i64>,
    provider: Provider,
    id: &KeyId,
    decryption: Option<Decryption>,
) {
    let c = &mut r.census;
    c.encrypted += 1;
    *c.per_provider.entry(id.provider.clone()).or_default() += 1;
    *c.per_key.entry(id.to_string()).or_default() += 1;
    let with_key = |mut f: Finding| {
        f.provider = Some(id.provider.clone());
        f.key_name = Some(key_name_of(id));
        f
    };
    let name = who(base.info);
    match provider {
        Provider::AesCbc => r.findings.push(with_key(base.finding(
            Rule::SecretWeakProvider,
            revision,
            format!(
                "Secret {name} is encrypted with aescbc (key {}), which the Kubernetes documentation rates weak (padding-oracle attacks)",
                id.key_name
            ),
        ))),
        Provider::AesGcm => r.findings.push(with_key(base.finding(
            Rule::SecretWeakProvider,
            revision,
            format!(
                "Secret {name} is encrypted with aesgcm (key {}): safe only if the key is rotated every 200,000 writes",
                id.key_name
            ),
        ))),
        Provider::KmsV1 => r.findings.push(with_key(base.finding(
            Rule::SecretDeprecatedProvider,
            revision,
            format!(
                "Secret {name} is encrypted with KMS v1 (plugin {}), deprecated since Kubernetes 1.28 and disabled by default from 1.29",
                id.key_name
            ),
        ))),
        _ => {}
    }
    let Some(d) = decryption else { return };
    let c = &mut r.census;
    match d {
        Decryption::Decrypted { key, .. } => {
            if let Some(m) = c.decrypted.as_mut() {
                *m.entry(key.to_string()).or_default() += 1;
            }
        }
        Decryption::NeedsKms { .. } => {
            c.needs_kms = Some(c.needs_kms.unwrap_or(0) + 1);
        }
        Decryption::NoKey { key } | Decryption::Unsupported { key } => {
            c.undecryptable = Some(c.undecryptable.unwrap_or(0) + 1);
            r.findings.push(with_key(base.finding(
                Rule::SecretUndecryptable,
                revision,
                format!(
                    "Secret {name} is encrypted with {key}, which the EncryptionConfiguration does not have for secrets: a restore with it would lose this Secret"
                ),
            )));
        }
        Decryption::Failed { key, reason } => {
            c.undecryptable = Some(c.undecryptable.unwrap_or(0) + 1);
            r.findings.push(with_key(base.finding(
                Rule::SecretUndecryptable,
                revision,
                format!(
                    "Secret {name} does not decrypt with the configured {key}: {reason}; a restore with this configuration would lose it"
                ),
            )));
        }
        Decryption::NotEncrypted => {}
    }
}

/// `secret-stale-key`: encrypted under a key other than the current one.
fn stale_keys(r: &mut AuditReport, cfg: Option<&EncryptionConfig>, encrypted: &[EncryptedSecret]) {
    let (current, why) = match cfg.map(|c| c.write_key("secrets")) {
        Some(Some(k)) => (k, "the EncryptionConfiguration's first provider and key"),
        Some(None) => return,
        None => match encrypted.iter().max_by_key(|e| e.revision) {
            Some(e) => (e.id.clone(), "the key of the most recently written Secret"),
            None => return,
        },
    };
    for e in encrypted {
        if same_key(&current, &e.id) {
            continue;
        }
        let base = Base {
            key: &e.key,
            info: &e.info,
        };
        let mut f = base.finding(
            Rule::SecretStaleKey,
            Some(e.revision),
            format!(
                "Secret {} is encrypted with {}, not {current} ({why}): the rotation is not finished",
                who(&e.info),
                e.id
            ),
        );
        f.provider = Some(e.id.provider.clone());
        f.key_name = Some(key_name_of(&e.id));
        r.findings.push(f);
    }
}

/// `secret-plaintext-in-history`: older plaintext revisions of Secrets that are encrypted or deleted now.
fn history(
    snap: &Snapshot<impl ReadAt>,
    ix: &KeyIndex,
    opts: &AuditOptions,
    r: &mut AuditReport,
) -> Result<(), SnapshotError> {
    for (key, h) in ix.histories() {
        let Some(info) = parse_key(key, &opts.prefix) else {
            continue;
        };
        if info.qualified_resource() != "secrets" || h.revisions.len() < 2 {
            continue;
        }
        let Some((last, older)) = h.revisions.split_last() else {
            continue;
        };
        let now = if last.tombstone {
            format!("deleted at revision {}", last.rev.main)
        } else {
            let Some(kv) = snap.value(*last)? else {
                continue;
            };
            match classify(&kv.value) {
                Encoding::Encrypted(e) => format!(
                    "encrypted with {}:{} since revision {}",
                    e.provider.as_str(),
                    e.key_name,
                    last.rev.main
                ),
                // Plaintext now: `secret-plaintext` covers it.
                _ => continue,
            }
        };
        for rk in older.iter().filter(|rk| !rk.tombstone) {
            let Some(kv) = snap.value(*rk)? else { continue };
            let Some(obj) = pages::plaintext_secret(&kv.value) else {
                continue;
            };
            let info = info.clone().with_object(&obj);
            let (t, keys) = secret_facts(&obj);
            let base = Base { key, info: &info };
            let mut f = base.finding(
                Rule::SecretPlaintextInHistory,
                Some(rk.rev.main),
                format!(
                    "Secret {} ({}) is {now}, but its plaintext is retained at revision {}",
                    who(&info),
                    describe_secret(&t, &keys),
                    rk.rev.main
                ),
            );
            f.provider = Some("identity".into());
            f.details.secret_type = t;
            f.details.data_keys = keys;
            f.details.revisions = vec![rk.rev.main];
            r.findings.push(f);
        }
    }
    Ok(())
}
