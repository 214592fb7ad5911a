//! Applying a cluster's retention policy to the catalog: the decisions are
//! `crate::retention`'s; this reads the facts and deletes what no rule keeps.
//!
//! With `[coordination]` only the elected leader applies it
//! ([`after_snapshot`]); a follower, or a server cut off from the
//! coordination etcd, leaves it and says so. Without it the server is alone
//! and applies it after every snapshot, as always.

use std::path::Path;

use chrono::{DateTime, Utc};

use crate::catalog::{Catalog, SnapshotState};
use crate::config::ClusterConfig;
use crate::etcd::election::Leadership;
use crate::ops::{audit, snapshots};
use crate::retention::{Candidate, Decision, plan};

/// The plan for `cluster` at `now`, without deleting anything (the dry run).
pub fn dry_run(
    cluster: &ClusterConfig,
    catalog: &Catalog,
    now: DateTime<Utc>,
) -> Result<Vec<Decision>, String> {
    let records = catalog.snapshots().map_err(|e| e.to_string())?;
    let candidates: Vec<Candidate> = records
        .iter()
        .filter(|r| r.cluster == cluster.name)
        .map(|r| Candidate {
            id: r.id.clone(),
            taken_at: r.started_at,
            // Catalogued = its digest matched at save; drills will add their verdict.
            verified: r.status == SnapshotState::Done,
            pinned: r.pinned || r.reason == "pre-upgrade",
        })
        .collect();
    Ok(plan(&candidates, &cluster.retention, now))
}

/// Apply the plan: delete each snapshot no rule keeps (file and entry), each
/// deletion in the audit log. Returns the plan; a failed delete is logged and
/// stays in the catalog, so the next run retries it.
pub fn apply(
    cluster: &ClusterConfig,
    data_dir: &Path,
    catalog: &Catalog,
    now: DateTime<Utc>,
    actor: &str,
) -> Result<Vec<Decision>, String> {
    let decisions = dry_run(cluster, catalog, now)?;
    for d in decisions.iter().filter(|d| !d.keep) {
        let r = snapshots::delete(data_dir, catalog, &d.id, true);
        let result = r.as_ref().map(|_| ()).map_err(ToString::to_string);
        if let Err(e) = &result {
            tracing::warn!(
                "retention: deleting {} of {} failed (retried next time): {e}",
                d.id,
                cluster.name
            );
        }
        audit::record(
            catalog,
            now,
            actor,
            "retention.delete",
            Some(&cluster.name),
            Some(&d.id),
            &result,
        );
    }
    Ok(decisions)
}

/// What retention did after a snapshot.
#[derive(Debug)]
pub enum AfterSnapshot {
    /// This server applied it (alone, or the leader).
    Applied(Vec<Decision>),
    /// Left to the leader: why (names this server and the leader).
    LeftToLeader(String),
}

/// After a snapshot: apply retention when this server may (`instant`: the
/// monotonic now the lease deadline is checked against).
pub fn after_snapshot(
    cluster: &ClusterConfig,
    data_dir: &Path,
    catalog: &Catalog,
    leadership: &Leadership,
    now: DateTime<Utc>,
    instant: std::time::Instant,
    actor: &str,
) -> Result<AfterSnapshot, String> {
    if let Err(why) = leadership.may_apply_retention(instant) {
        tracing::info!("retention for {:?} skipped: {why}", cluster.name);
        return Ok(AfterSnapshot::LeftToLeader(why));
    }
    apply(cluster, data_dir, catalog, now, actor).map(AfterSnapshot::Applied)
}
