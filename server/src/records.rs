//! The catalog's typed records, apart from redb (which only `catalog/`
//! opens), so the domain modules that make and read them (ship, drill,
//! metrics) never import the catalog. Stored as JSON values in redb tables, so a
//! later field (compression ratio, shipping status, a drill's verdict) is
//! an optional field with a default, like `shipped`: old records read as
//! "not known", and an older binary keeps fields it does not know (`extra`)
//! when it rewrites a record. See `SCHEMA_VERSION` in `catalog/mod.rs` for the rest
//! of the rule.

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
    /// Its copy in the cluster's object store (`None`: no store configured
    /// when it was taken, or a record older than shipping).
    #[serde(default)]
    pub shipped: Option<ShipState>,
    /// The newest restore drill of this snapshot (`None`: never drilled).
    #[serde(default)]
    pub drill: Option<DrillRecord>,
    /// Compressed before encryption (`None`: stored as etcdctl wrote it, or
    /// a record older than compression). `db_size_bytes`, the digests and the
    /// status numbers stay the uncompressed snapshot's.
    #[serde(default)]
    pub compression: Option<CompressionRecord>,
    /// `snapshot status`'s `version` (etcdutl 3.6+: the file's storage
    /// version, e.g. `3.6.0`); empty for 3.4/3.5 files and older records.
    #[serde(default)]
    pub status_version: String,
    /// Fields written by a newer etcd-lens, kept as they are.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// How a snapshot was compressed, and how much it gained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompressionRecord {
    /// `zstd-seekable`: zstd frames with a seek table (read at random).
    pub format: String,
    pub level: i32,
    pub frames: u64,
    /// The etcdctl file (data and digest).
    pub uncompressed_bytes: u64,
    /// The zstd stream, seek table included, before encryption.
    pub compressed_bytes: u64,
    /// `uncompressed_bytes / compressed_bytes`.
    pub ratio: f64,
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

/// Where a snapshot's copy in the object store stands. `at` is set only
/// once the data object was verified and the metadata object written: a
/// record with `at: None` is not shipped (yet), whatever the bucket holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipState {
    /// The store, as `s3://bucket/prefix` or `file:///path` (no credentials).
    pub store: String,
    /// The data object (the stored file, still encrypted).
    pub key: String,
    /// The metadata object (this record as JSON), written last, create-only.
    pub metadata_key: String,
    /// When the metadata object was written.
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
    /// The data object's size as the store reported it (HEAD) at `at`.
    #[serde(default)]
    pub bytes: Option<u64>,
    /// The last attempt's error; `None` once shipped.
    #[serde(default)]
    pub error: Option<String>,
    /// Uploads tried so far (each with object_store's own request retries).
    #[serde(default)]
    pub attempts: u32,
    #[serde(default)]
    pub last_attempt_at: Option<DateTime<Utc>>,
}

/// A snapshot deleted here whose objects must still go from the store
/// (the metadata object first, so a half-deleted one is never complete).
/// Kept until both are gone; retried by every run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteDelete {
    pub cluster: String,
    pub snapshot_id: String,
    pub store: String,
    /// In deletion order: the metadata key, then the data key.
    pub keys: Vec<String>,
    pub queued_at: DateTime<Utc>,
    #[serde(default)]
    pub attempts: u32,
    #[serde(default)]
    pub last_attempt_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub error: Option<String>,
}

/// A restore drill's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DrillVerdict {
    Passed,
    Failed,
    /// No etcd binary for the source member's version family, or no version recorded.
    CannotDrill,
}

/// One comparison of a drill: what the snapshot's facts say, what the restored member served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrillCheck {
    pub name: String,
    pub expected: String,
    pub actual: String,
    pub ok: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrillRecord {
    pub at: DateTime<Utc>,
    pub verdict: DrillVerdict,
    /// The first check or step that failed (`decrypt`, `trailer`, `restore`, `boot`, a check's name).
    pub failed_check: Option<String>,
    pub checks: Vec<DrillCheck>,
    /// Milliseconds per step: fetch (a copy from the object store only),
    /// decrypt, restore, boot, compare.
    pub timings_ms: std::collections::BTreeMap<String, u64>,
    pub error: Option<String>,
    /// The source member's version the drill restored with.
    pub etcd_version: String,
    /// The copy drilled: `local` (the stored file here) or `store:<name>`
    /// (the shipped object, e.g. `store:s3://bucket/prefix`). Records from
    /// before drills could fetch read as `local`, the only copy they used.
    #[serde(default = "DrillRecord::local_source")]
    pub source: String,
}

impl DrillRecord {
    /// [`DrillRecord::source`] of a drill of the stored file here.
    pub const LOCAL: &'static str = "local";

    fn local_source() -> String {
        Self::LOCAL.to_string()
    }

    /// [`DrillRecord::source`] of a drill of the copy in store `name`.
    pub fn store_source(name: &str) -> String {
        format!("store:{name}")
    }
}

/// Snapshot schedules edited from the page: while present they replace the
/// configuration file's `[[cluster.schedule]]` tables for that cluster (the
/// page's edit wins until it is reset; the file is never rewritten).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleEdit {
    pub schedules: Vec<crate::schedule::ScheduleSpec>,
    pub at: DateTime<Utc>,
    /// Who edited (`token:<fingerprint>`).
    pub actor: String,
}
