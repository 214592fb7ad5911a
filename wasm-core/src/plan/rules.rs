//! etcd's published guidance as numbers, with where each comes from.

/// etcd's hardware and tuning guides: the 99th percentile of WAL fsync
/// (`etcd_disk_wal_fsync_duration_seconds`) should stay below 10 ms.
pub const WAL_FSYNC_P99_MAX_MS: f64 = 10.0;

/// The same guides: the 99th percentile of backend commit
/// (`etcd_disk_backend_commit_duration_seconds`) should stay below 25 ms.
pub const BACKEND_COMMIT_P99_MAX_MS: f64 = 25.0;

/// etcd's FAQ: more than 7 members cost replication without buying tolerance
/// anyone needs.
pub const MAX_ADVISED_MEMBERS: u32 = 7;

/// etcd's default backend quota (`--quota-backend-bytes` unset): 2 GiB.
pub const DEFAULT_QUOTA_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// Above this share of the quota, a member is close to the NOSPACE alarm.
pub const QUOTA_WARN_RATIO: f64 = 0.8;
