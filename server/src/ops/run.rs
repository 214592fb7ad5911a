//! One snapshot run from start to end, the same for the API, the scheduler
//! and the CLI: take it, close the job, write the audit log, ship it to the
//! cluster's object store, apply retention (locally and in the store),
//! retry what the store is still owed, count it in the metrics and send the
//! webhook's message. With `[coordination]`, retention (and pruning old
//! claims) is the elected leader's alone.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::Utc;

use super::alerts::{self, Alerts};
use super::snapshots::{self, Failure, Jobs, Started};
use super::{audit, retention, ship};
use crate::catalog::{Catalog, SnapshotRecord};
use crate::config::ClusterConfig;
use crate::etcd::election::Leadership;
use crate::metrics::Metrics;

/// What a run needs; shared by the server's handlers and tasks.
#[derive(Clone)]
pub struct Services {
    pub data_dir: PathBuf,
    pub catalog: Arc<Catalog>,
    pub jobs: Arc<Jobs>,
    pub metrics: Arc<Metrics>,
    pub alerts: Arc<Alerts>,
    /// Secrets censuses of stored snapshots, for the scorecard.
    pub censuses: Arc<super::scorecard::Censuses>,
    /// This server's role in the retention election (alone by default).
    pub leadership: Arc<Leadership>,
    /// Each cluster's last pass over its store (`ops::sync`; with `[coordination]`).
    pub follows: Arc<super::sync::Follows>,
}

impl Services {
    pub fn new(data_dir: PathBuf, catalog: Arc<Catalog>) -> Self {
        Self {
            data_dir,
            catalog,
            jobs: Arc::default(),
            metrics: Arc::default(),
            alerts: Arc::default(),
            censuses: Arc::default(),
            leadership: Arc::new(Leadership::alone(
                &crate::config::coordination::cli_server_id(),
            )),
            follows: Arc::default(),
        }
    }

    /// This server's role, from `[coordination]` (see `etcd::election`).
    pub fn with_leadership(mut self, leadership: Arc<Leadership>) -> Self {
        self.leadership = leadership;
        self
    }

    /// Run a started job to its end; `actor` goes into the audit log.
    pub async fn snapshot(
        &self,
        cluster: &Arc<ClusterConfig>,
        job: &Started,
        reason: &str,
        actor: &str,
    ) -> Result<SnapshotRecord, Failure> {
        self.snapshot_noting(cluster, job, reason, actor).await.0
    }

    /// [`Self::snapshot`], and why retention was left to the leader when it was.
    pub async fn snapshot_noting(
        &self,
        cluster: &Arc<ClusterConfig>,
        job: &Started,
        reason: &str,
        actor: &str,
    ) -> (Result<SnapshotRecord, Failure>, Option<String>) {
        let mut left_to_leader = None;
        let mut r = snapshots::take(
            cluster,
            &self.data_dir,
            &self.catalog,
            job,
            reason,
            Utc::now,
        )
        .await;
        self.jobs.end(&job.id, &r);
        audit::record(
            &self.catalog,
            Utc::now(),
            actor,
            "snapshot.create",
            Some(&cluster.name),
            Some(&job.id),
            &r.as_ref().map(|_| ()).map_err(ToString::to_string),
        );
        match &mut r {
            Ok(record) => {
                self.metrics.snapshot_succeeded(record);
                // Shipped before retention, so retention sees its state.
                *record = ship::ship_taken(cluster, self, record, actor).await;
                // Servers sharing the store: the leader plans over every
                // server's snapshots, so its catalog follows the store first.
                let now = std::time::Instant::now();
                if self.leadership.view(now).coordinated
                    && self.leadership.may_apply_retention(now).is_ok()
                {
                    super::sync::follow(cluster, self, Utc::now(), actor).await;
                }
                match retention::after_snapshot(
                    cluster,
                    &self.data_dir,
                    &self.catalog,
                    &self.leadership,
                    Utc::now(),
                    std::time::Instant::now(),
                    actor,
                ) {
                    Ok(retention::AfterSnapshot::Applied(d)) => {
                        let gone = d.iter().filter(|d| !d.keep).count() as u64;
                        if gone > 0 {
                            self.metrics.retention_deleted(&cluster.name, gone);
                        }
                        ship::prune_claims(cluster, Utc::now()).await;
                    }
                    Ok(retention::AfterSnapshot::LeftToLeader(why)) => left_to_leader = Some(why),
                    Err(e) => tracing::warn!("retention for {:?}: {e}", cluster.name),
                }
                // Retention's remote deletes, earlier failures, older unshipped ones.
                ship::retry_pending(cluster, self, Some(&record.id), actor).await;
            }
            Err(f) => {
                tracing::warn!(
                    "snapshot {} of {:?} failed at {}: {f}",
                    job.id,
                    cluster.name,
                    f.stage.as_str()
                );
                self.metrics
                    .snapshot_failed(&cluster.name, f.stage.as_str());
            }
        }
        let failure = r
            .as_ref()
            .err()
            .map(|f| (f.stage.as_str(), f.message.as_str()));
        if let Some(m) = self
            .alerts
            .on_outcome(&cluster.name, &job.id, failure, Utc::now())
        {
            alerts::deliver(cluster, &m).await;
        }
        (r, left_to_leader)
    }
}
