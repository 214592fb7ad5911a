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

/// Above this share of the quota, a member is close to the NOSPACE alarm
/// (issue #14's `quota-near`; etcd raises NOSPACE at the quota itself).
pub const QUOTA_WARN_RATIO: f64 = 0.8;

/// etcd's "System limits" (dev-guide): 8 GiB is the suggested maximum quota
/// for normal environments; etcd warns at startup above it.
pub const SUGGESTED_MAX_QUOTA_BYTES: u64 = 8 * 1024 * 1024 * 1024;

/// etcd's own monitoring mixin (`contrib/mixin/alerts/alerts.libsonnet`, alert
/// `etcdDatabaseHighFragmentationRatio`): defragment when the bytes in use
/// are under half the database size…
pub const FRAGMENTED_IN_USE_RATIO: f64 = 0.5;

/// …and the bytes in use exceed 100 MiB (`104857600`), so small databases do not alert.
pub const FRAGMENTED_MIN_IN_USE_BYTES: u64 = 104_857_600;

/// A member is worth defragmenting when this much of its file is free
/// (`db_size − db_size_in_use`): ahrtr/etcd-defrag's example rule, 200 MiB.
pub const DEFRAG_MIN_RECLAIMABLE_BYTES: u64 = 200 * 1024 * 1024;

/// A disk-latency p99 is judged against the guidance only over at least this
/// many observations: an idle member fsyncs a few times between two status
/// answers, and the p99 of four samples is just the slowest of them.
pub const LATENCY_MIN_OBSERVATIONS: f64 = 20.0;
