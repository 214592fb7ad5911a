//! The audit's answer: the [`Census`] that accompanies the findings and the
//! [`AuditReport`] that carries both. Rule families add to it; the order of
//! findings is settled once, at the end ([`super::sort_findings`]).

use std::collections::BTreeMap;

use serde::Serialize;

use super::finding::Finding;
use super::rule::{Rule, Severity};

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

    /// The auditor's first question, answered in one value: are Secrets
    /// readable from this file?
    pub fn exposure(&self) -> Exposure {
        let mut keys = std::collections::BTreeSet::new();
        let mut fragments = 0u64;
        for f in &self.findings {
            match (f.rule, &f.key) {
                (Rule::SecretPlaintext | Rule::SecretPlaintextInHistory, Some(k)) => {
                    keys.insert(k.as_str());
                }
                (Rule::SecretPlaintextUnreachable, _) => fragments += 1,
                _ => {}
            }
        }
        let secrets = keys.len() as u64;
        let c = &self.census;
        // Without a configuration the encrypted values were not opened:
        // "none found" would claim more than was checked.
        let unchecked = if c.decrypted.is_none() {
            c.encrypted
        } else {
            0
        };
        match (secrets + fragments, unchecked) {
            (0, 0) => Exposure::NoneFound,
            (0, encrypted) => Exposure::Unknown { encrypted },
            _ => Exposure::Exposed {
                secrets,
                unreachable_fragments: fragments,
                encrypted_unchecked: unchecked,
            },
        }
    }

    /// Findings per severity, highest first, each severity listed (0 included).
    pub fn by_severity(&self) -> Vec<(Severity, u64)> {
        let mut out: Vec<(Severity, u64)> = Severity::ALL.iter().rev().map(|&s| (s, 0)).collect();
        for f in &self.findings {
            if let Some(row) = out.iter_mut().find(|(s, _)| *s == f.severity) {
                row.1 += 1;
            }
        }
        out
    }
}

/// Whether Secret values can be read from the file (see [`AuditReport::exposure`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Exposure {
    /// Plaintext Secret values: `secrets` distinct keys (live or in retained
    /// history) and `unreachable_fragments` hits in free pages.
    Exposed {
        secrets: u64,
        unreachable_fragments: u64,
        /// Encrypted Secrets not opened (no configuration given).
        encrypted_unchecked: u64,
    },
    /// No plaintext Secret value, and every Secret was checked.
    NoneFound,
    /// No plaintext found, but `encrypted` Secrets were not opened: without
    /// the EncryptionConfiguration their provider and key are known, their
    /// contents (and any credential in them) are not.
    Unknown { encrypted: u64 },
}

impl Exposure {
    /// One line: the page's chip and the CLI's text both say this.
    pub fn describe(&self) -> String {
        use crate::units::count;
        match *self {
            Exposure::NoneFound => "Secrets exposed: 0 (no plaintext Secret value found)".into(),
            Exposure::Unknown { encrypted } => format!(
                "Secrets exposed: unknown ({} encrypted and not opened: give the EncryptionConfiguration to check them)",
                count(encrypted, "Secret", "Secrets")
            ),
            Exposure::Exposed {
                secrets,
                unreachable_fragments,
                encrypted_unchecked,
            } => {
                let mut parts = vec![format!(
                    "{} stored in plaintext, live or in retained history",
                    count(secrets, "Secret", "Secrets")
                )];
                if unreachable_fragments > 0 {
                    parts.push(format!(
                        "{} in free pages",
                        count(
                            unreachable_fragments,
                            "plaintext fragment",
                            "plaintext fragments"
                        )
                    ));
                }
                if encrypted_unchecked > 0 {
                    parts.push(format!("{encrypted_unchecked} encrypted, not opened"));
                }
                format!(
                    "Secrets exposed: {} ({})",
                    secrets + unreachable_fragments,
                    parts.join("; ")
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(rule: Rule, key: Option<&str>) -> Finding {
        Finding {
            key: key.map(str::to_string),
            ..Finding::snapshot(rule, String::new())
        }
    }

    #[test]
    fn exposure_counts_secrets_once_and_says_unknown_for_unopened_ones() {
        let mut r = AuditReport::new(9, false);
        assert_eq!(r.exposure(), Exposure::NoneFound);
        r.census.encrypted = 2;
        assert_eq!(r.exposure(), Exposure::Unknown { encrypted: 2 });
        assert!(
            r.exposure()
                .describe()
                .contains("unknown (2 Secrets encrypted and not opened")
        );
        // With a configuration every encrypted Secret was opened.
        let mut with = AuditReport::new(9, true);
        with.census.encrypted = 2;
        assert_eq!(with.exposure(), Exposure::NoneFound);

        // One Secret live and in history counts once; a free-page hit adds one.
        r.findings = vec![
            finding(Rule::SecretPlaintext, Some("/registry/secrets/a/x")),
            finding(
                Rule::SecretPlaintextInHistory,
                Some("/registry/secrets/a/x"),
            ),
            finding(
                Rule::SecretPlaintextInHistory,
                Some("/registry/secrets/a/y"),
            ),
            finding(Rule::SecretPlaintextUnreachable, None),
            finding(Rule::CredentialInObject, Some("/registry/configmaps/a/z")),
            finding(Rule::EtcdAuthDisabled, None),
        ];
        assert_eq!(
            r.exposure(),
            Exposure::Exposed {
                secrets: 2,
                unreachable_fragments: 1,
                encrypted_unchecked: 2
            }
        );
        assert_eq!(
            r.exposure().describe(),
            "Secrets exposed: 3 (2 Secrets stored in plaintext, live or in retained history; 1 plaintext fragment in free pages; 2 encrypted, not opened)"
        );
        let sev = r.by_severity();
        let critical = r
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Critical)
            .count() as u64;
        assert_eq!(sev[0], (Severity::Critical, critical));
        assert_eq!(sev.iter().map(|(_, n)| n).sum::<u64>(), 6);
        assert_eq!(sev.len(), 5, "every severity, 0 included");
        assert_eq!(
            sev.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
            Severity::ALL.iter().rev().copied().collect::<Vec<_>>(),
            "highest first"
        );
    }
}
