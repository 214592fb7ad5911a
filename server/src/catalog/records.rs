//! The catalog's typed records. Stored as JSON values in redb tables, so a
//! later field (compression ratio, shipping status, a drill's verdict) is
//! an optional field with a default: old records read as "not known", and
//! an older binary keeps fields it does not know (`extra`) when it rewrites
//! a record. See `SCHEMA_VERSION` in `mod.rs` for the rest of the rule.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The state of a snapshot. The catalog holds only `done` ones; `running`
/// and `failed` are the job registry's (the API shows all three alike).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotState {
    Running,
    Done,
    Failed,
}

/// `HashKV` of the source member at the snapshot's revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HashKvRecord {
    pub hash: u32,
    pub compact_revision: i64,
    pub revision: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotRecord {
    pub id: String,
    pub cluster: String,
    pub status: SnapshotState,
    pub error: Option<String>,
    /// `manual` (API or CLI) for now; schedules and `pre-upgrade` come later.
    pub reason: String,
    pub member_id: String,
    pub member_name: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// From the plaintext, as `etcdctl snapshot status` computes it.
    pub revision: i64,
    pub db_size_bytes: u64,
    pub total_keys: u64,
    /// `etcdctl snapshot status`'s hash of the plaintext.
    pub status_hash: u32,
    /// The digest etcd sent as the stream's last message (checked).
    pub plaintext_sha256: String,
    /// SHA-256 of the file as stored (the ciphertext when encrypted).
    pub stored_sha256: String,
    pub stored_bytes: u64,
    pub bytes_received: u64,
    pub encrypted: bool,
    /// Fingerprints of the age recipients (`Recipient::fingerprint`).
    pub recipients: Vec<String>,
    /// Relative to the data folder.
    pub path: String,
    pub etcd_version: String,
    pub cluster_id: String,
    pub hash_kv: Option<HashKvRecord>,
    /// Why there is no HashKV (compacted already, or no root role).
    pub hash_kv_error: Option<String>,
    #[serde(default)]
    pub pinned: bool,
    /// Fields written by a newer etcd-lens, kept as they are.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// One mutating call, kept forever (append-only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub seq: u64,
    pub at: DateTime<Utc>,
    /// `token:<fingerprint>` for API calls, `cli` for the command line.
    pub actor: String,
    pub action: String,
    pub cluster: Option<String>,
    pub snapshot_id: Option<String>,
    /// `ok`, or the error.
    pub result: String,
}
