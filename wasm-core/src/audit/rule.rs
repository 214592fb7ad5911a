//! The rules: stable ids, severities, titles and remedies. Nothing here looks
//! at a snapshot; the rule families (one file each) decide when a rule fires.

use serde::{Deserialize, Serialize};

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
    /// Lowest first.
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

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
        Self::ALL.into_iter().find(|v| v.as_str() == s)
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
