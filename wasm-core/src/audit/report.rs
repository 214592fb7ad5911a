//! The audit's answer: the [`Census`] that accompanies the findings and the
//! [`AuditReport`] that carries both. Rule families add to it; the order of
//! findings is settled once, at the end ([`super::sort_findings`]).

use std::collections::BTreeMap;

use serde::Serialize;

use super::finding::Finding;
use super::rule::Severity;

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

/// What [`super::audit`] returns.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AuditReport {
    pub census: Census,
    pub findings: Vec<Finding>,
    /// Values that could not be read (named by key), never fatal.
    pub warnings: Vec<String>,
}

impl AuditReport {
    /// Nothing found yet, at `revision`. With an EncryptionConfiguration the
    /// decryption counts start at zero; without one they stay absent.
    pub(super) fn new(revision: i64, with_config: bool) -> Self {
        let mut r = Self::default();
        r.census.revision = revision;
        if with_config {
            r.census.decrypted = Some(BTreeMap::new());
            r.census.undecryptable = Some(0);
            r.census.needs_kms = Some(0);
        }
        r
    }

    /// The highest severity found, if any.
    pub fn max_severity(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }

    /// Is there a finding at or above `threshold`? (The CI gate.)
    pub fn fails(&self, threshold: Severity) -> bool {
        self.findings.iter().any(|f| f.severity >= threshold)
    }
}
