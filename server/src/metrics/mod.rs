//! The server's own metrics, for Prometheus (`GET /metrics`, OpenMetrics
//! text through `prometheus-client`). Names follow etcd's style:
//! `etcd_lens_…`, base units (seconds, bytes), `_total` for counters.
//!
//! Snapshot outcomes are counted as they happen; member up/down and sizes
//! are set from the fleet status each scrape asks for (cached, so a scrape
//! every few seconds does not multiply the load on etcd).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::etcd::ClusterStatus;
use crate::records::SnapshotRecord;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ClusterLabel {
    pub cluster: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StageLabel {
    pub cluster: String,
    pub stage: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ServerLabel {
    pub server_id: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MemberLabel {
    pub cluster: String,
    pub member: String,
}

pub struct Metrics {
    registry: Registry,
    last_success: Family<ClusterLabel, Gauge<f64, std::sync::atomic::AtomicU64>>,
    last_size: Family<ClusterLabel, Gauge>,
    last_keys: Family<ClusterLabel, Gauge>,
    last_revision: Family<ClusterLabel, Gauge>,
    duration: Family<ClusterLabel, Histogram, fn() -> Histogram>,
    snapshots: Family<ClusterLabel, Counter>,
    failures: Family<StageLabel, Counter>,
    retention_deleted: Family<ClusterLabel, Counter>,
    skipped: Family<ClusterLabel, Counter>,
    claimed_elsewhere: Family<ClusterLabel, Counter>,
    leader: Family<ServerLabel, Gauge>,
    member_up: Family<MemberLabel, Gauge>,
    db_size: Family<MemberLabel, Gauge>,
    db_in_use: Family<MemberLabel, Gauge>,
    quota: Family<MemberLabel, Gauge>,
    quorum: Family<ClusterLabel, Gauge>,
    uploads: Family<ClusterLabel, Counter>,
    upload_failures: Family<ClusterLabel, Counter>,
    last_upload: Family<ClusterLabel, Gauge<f64, std::sync::atomic::AtomicU64>>,
    drill_passed: Family<ClusterLabel, Gauge>,
    drill_timestamp: Family<ClusterLabel, Gauge<f64, std::sync::atomic::AtomicU64>>,
    drill_duration: Family<ClusterLabel, Gauge<f64, std::sync::atomic::AtomicU64>>,
    remote_delete_failures: Family<ClusterLabel, Counter>,
    remote_deletes_pending: Family<ClusterLabel, Gauge>,
}

fn duration_buckets() -> Histogram {
    // 0.5 s … ~34 min: a small cluster's snapshot to a large one's.
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.5, 2.0, 13,
    ))
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("etcd_lens");
        let m = Self {
            last_success: Family::default(),
            last_size: Family::default(),
            last_keys: Family::default(),
            last_revision: Family::default(),
            duration: Family::new_with_constructor(duration_buckets as fn() -> Histogram),
            snapshots: Family::default(),
            failures: Family::default(),
            retention_deleted: Family::default(),
            skipped: Family::default(),
            claimed_elsewhere: Family::default(),
            leader: Family::default(),
            member_up: Family::default(),
            db_size: Family::default(),
            db_in_use: Family::default(),
            quota: Family::default(),
            quorum: Family::default(),
            uploads: Family::default(),
            upload_failures: Family::default(),
            last_upload: Family::default(),
            drill_passed: Family::default(),
            drill_timestamp: Family::default(),
            drill_duration: Family::default(),
            remote_delete_failures: Family::default(),
            remote_deletes_pending: Family::default(),
            registry: Registry::default(),
        };
        registry.register(
            "snapshot_last_success_timestamp_seconds",
            "Unix time the newest successful snapshot finished",
            m.last_success.clone(),
        );
        registry.register(
            "snapshot_last_size_bytes",
            "Database bytes of the newest successful snapshot",
            m.last_size.clone(),
        );
        registry.register(
            "snapshot_last_keys",
            "Keys (snapshot status totalKey) of the newest successful snapshot",
            m.last_keys.clone(),
        );
        registry.register(
            "snapshot_last_revision",
            "Revision of the newest successful snapshot",
            m.last_revision.clone(),
        );
        registry.register(
            "snapshot_duration_seconds",
            "Time to stream, verify, encrypt and write a snapshot",
            m.duration.clone(),
        );
        registry.register("snapshots", "Successful snapshots", m.snapshots.clone());
        registry.register(
            "snapshot_failures",
            "Failed snapshots, by stage (connect, stream, verify, encrypt, write, record)",
            m.failures.clone(),
        );
        registry.register(
            "retention_deletions",
            "Snapshots deleted by retention",
            m.retention_deleted.clone(),
        );
        registry.register(
            "schedule_skipped_runs",
            "Scheduled runs skipped because the previous one still ran",
            m.skipped.clone(),
        );
        registry.register(
            "schedule_claimed_elsewhere_runs",
            "Scheduled runs skipped because another server had claimed their slot in the store",
            m.claimed_elsewhere.clone(),
        );
        registry.register(
            "coordination_leader",
            "1 while this server leads the retention election of [coordination], else 0 (absent without it)",
            m.leader.clone(),
        );
        registry.register(
            "member_up",
            "1 when the member answered Status within the timeout",
            m.member_up.clone(),
        );
        registry.register(
            "member_db_size_bytes",
            "The member's backend size",
            m.db_size.clone(),
        );
        registry.register(
            "member_db_size_in_use_bytes",
            "The member's backend bytes in use",
            m.db_in_use.clone(),
        );
        registry.register(
            "member_quota_bytes",
            "The member's backend quota",
            m.quota.clone(),
        );
        registry.register(
            "cluster_quorum",
            "1 when quorum holds (a leader and a linearizable read)",
            m.quorum.clone(),
        );
        registry.register(
            "uploads",
            "Snapshots shipped to the object store (verified, metadata written)",
            m.uploads.clone(),
        );
        registry.register(
            "upload_failures",
            "Uploads to the object store that failed after their attempts",
            m.upload_failures.clone(),
        );
        registry.register(
            "snapshot_last_upload_timestamp_seconds",
            "Unix time the newest snapshot was shipped to the object store",
            m.last_upload.clone(),
        );
        registry.register(
            "remote_delete_failures",
            "Failed attempts to delete a snapshot's objects from the object store",
            m.remote_delete_failures.clone(),
        );
        registry.register(
            "remote_deletes_pending",
            "Snapshots deleted here whose objects are still in the object store",
            m.remote_deletes_pending.clone(),
        );
        registry.register(
            "drill_last_passed",
            "1 when the newest restore drill passed, 0 when it failed or could not run",
            m.drill_passed.clone(),
        );
        registry.register(
            "drill_last_timestamp_seconds",
            "Unix time of the newest restore drill",
            m.drill_timestamp.clone(),
        );
        registry.register(
            "drill_last_duration_seconds",
            "Time the newest restore drill took",
            m.drill_duration.clone(),
        );
        Self { registry, ..m }
    }

    fn cluster(name: &str) -> ClusterLabel {
        ClusterLabel {
            cluster: name.to_string(),
        }
    }

    pub fn snapshot_succeeded(&self, r: &SnapshotRecord) {
        let c = Self::cluster(&r.cluster);
        self.snapshots.get_or_create(&c).inc();
        if let Some(end) = r.finished_at {
            self.last_success
                .get_or_create(&c)
                .set(end.timestamp_millis() as f64 / 1000.0);
            let secs = (end - r.started_at).num_milliseconds().max(0) as f64 / 1000.0;
            self.duration.get_or_create(&c).observe(secs);
        }
        self.last_size
            .get_or_create(&c)
            .set(i64::try_from(r.db_size_bytes).unwrap_or(i64::MAX));
        self.last_keys
            .get_or_create(&c)
            .set(i64::try_from(r.total_keys).unwrap_or(i64::MAX));
        self.last_revision.get_or_create(&c).set(r.revision);
    }

    pub fn snapshot_failed(&self, cluster: &str, stage: &str) {
        self.failures
            .get_or_create(&StageLabel {
                cluster: cluster.to_string(),
                stage: stage.to_string(),
            })
            .inc();
    }

    pub fn retention_deleted(&self, cluster: &str, n: u64) {
        self.retention_deleted
            .get_or_create(&Self::cluster(cluster))
            .inc_by(n);
    }

    pub fn upload_succeeded(&self, cluster: &str, at: chrono::DateTime<chrono::Utc>) {
        let c = Self::cluster(cluster);
        self.uploads.get_or_create(&c).inc();
        self.last_upload
            .get_or_create(&c)
            .set(at.timestamp_millis() as f64 / 1000.0);
    }

    pub fn upload_failed(&self, cluster: &str) {
        self.upload_failures
            .get_or_create(&Self::cluster(cluster))
            .inc();
    }

    pub fn remote_delete_failed(&self, cluster: &str) {
        self.remote_delete_failures
            .get_or_create(&Self::cluster(cluster))
            .inc();
    }

    pub fn set_remote_deletes_pending(&self, cluster: &str, n: u64) {
        self.remote_deletes_pending
            .get_or_create(&Self::cluster(cluster))
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    pub fn run_skipped(&self, cluster: &str) {
        self.skipped.get_or_create(&Self::cluster(cluster)).inc();
    }

    pub fn run_claimed_elsewhere(&self, cluster: &str) {
        self.claimed_elsewhere
            .get_or_create(&Self::cluster(cluster))
            .inc();
    }

    /// Set `etcd_lens_coordination_leader` from this server's role (only
    /// with `[coordination]`: a server alone has no such sample).
    pub fn observe_role(&self, v: &crate::etcd::election::RoleView) {
        if v.coordinated {
            self.leader
                .get_or_create(&ServerLabel {
                    server_id: v.server_id.clone(),
                })
                .set(i64::from(v.role == crate::etcd::election::Role::Leader));
        }
    }

    /// Set the member and quorum gauges from a status answer.
    pub fn observe(&self, s: &ClusterStatus) {
        self.quorum
            .get_or_create(&Self::cluster(&s.cluster))
            .set(i64::from(s.quorum.held));
        for m in &s.members {
            let member = if m.name.is_empty() {
                m.id.clone()
            } else {
                m.name.clone()
            };
            let l = MemberLabel {
                cluster: s.cluster.clone(),
                member,
            };
            self.member_up.get_or_create(&l).set(i64::from(m.reachable));
            if let Some(v) = m.db_size_bytes {
                self.db_size.get_or_create(&l).set(v);
            }
            if let Some(v) = m.db_size_in_use_bytes {
                self.db_in_use.get_or_create(&l).set(v);
            }
            if let Some(v) = m.quota_bytes {
                self.quota
                    .get_or_create(&l)
                    .set(i64::try_from(v).unwrap_or(i64::MAX));
            }
        }
    }

    /// The newest drill of a cluster.
    pub fn drill_finished(&self, cluster: &str, d: &crate::records::DrillRecord) {
        let c = Self::cluster(cluster);
        self.drill_passed
            .get_or_create(&c)
            .set(i64::from(d.verdict == crate::records::DrillVerdict::Passed));
        self.drill_timestamp
            .get_or_create(&c)
            .set(d.at.timestamp_millis() as f64 / 1000.0);
        let ms: u64 = d.timings_ms.values().sum();
        self.drill_duration
            .get_or_create(&c)
            .set(ms as f64 / 1000.0);
    }

    /// OpenMetrics text.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// Seed the "last success" gauges from the catalog at start, so a restart
/// does not look like "no snapshot ever".
pub fn seed(metrics: &Metrics, records: &[SnapshotRecord]) {
    let mut seen = std::collections::BTreeSet::new();
    // Newest first: the first record per cluster is its newest.
    for r in records {
        if seen.insert(r.cluster.clone()) {
            let c = Metrics::cluster(&r.cluster);
            if let Some(end) = r.finished_at {
                metrics
                    .last_success
                    .get_or_create(&c)
                    .set(end.timestamp_millis() as f64 / 1000.0);
            }
            metrics
                .last_size
                .get_or_create(&c)
                .set(i64::try_from(r.db_size_bytes).unwrap_or(i64::MAX));
            metrics
                .last_keys
                .get_or_create(&c)
                .set(i64::try_from(r.total_keys).unwrap_or(i64::MAX));
            metrics.last_revision.get_or_create(&c).set(r.revision);
        }
    }
    let mut shipped = std::collections::BTreeMap::new();
    for r in records {
        if let Some(at) = r.shipped.as_ref().and_then(|s| s.at) {
            let newest = shipped.entry(r.cluster.clone()).or_insert(at);
            *newest = (*newest).max(at);
        }
    }
    for (cluster, at) in shipped {
        metrics
            .last_upload
            .get_or_create(&Metrics::cluster(&cluster))
            .set(at.timestamp_millis() as f64 / 1000.0);
    }
}
