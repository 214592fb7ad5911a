//! The operations scorecard of one cluster: gather the facts (the live
//! status, the catalog, the schedules' states, the Secrets census of the
//! newest stored snapshot) and let the core judge them
//! (`etcd_lens_core::scorecard`). The same code for the API and the CLI.
//!
//! The census reads the newest finished snapshot where it is stored,
//! decrypting at random access with the cluster's drill identity (nothing
//! is written to disk), and is kept per snapshot id in memory: a snapshot
//! never changes, so it is read once per server.

use std::collections::BTreeMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use etcd_lens_core::scorecard::{
    self, DEFAULT_DRILL_MAX_AGE_SECONDS, DrillFacts, Facts, Latency, LiveFacts, MemberFacts,
    ScheduleFacts, Scorecard, SecretsFacts, Shipped, SnapshotFacts,
};

use super::Services;
use super::snapshots::file_of;
use crate::config::ClusterConfig;
use crate::etcd::status::{ClusterStatus, LatencyP99};
use crate::records::{DrillVerdict, SnapshotRecord, SnapshotState};
use crate::schedule::{ScheduleKind, ScheduleState};

/// Secrets censuses of stored snapshots, by snapshot id.
#[derive(Default)]
pub struct Censuses(Mutex<BTreeMap<String, SecretsFacts>>);

/// The scorecard of `cluster` at `now`.
pub async fn scorecard(
    services: &Services,
    cluster: &ClusterConfig,
    status: Result<ClusterStatus, String>,
    schedules: &[ScheduleState],
    now: DateTime<Utc>,
) -> Result<Scorecard, String> {
    let records: Vec<SnapshotRecord> = services
        .catalog
        .snapshots()
        .map_err(|e| format!("the catalog could not be read: {e}"))?
        .into_iter()
        .filter(|r| r.cluster == cluster.name)
        .collect();
    let secrets = census(services, cluster, &records).await;
    let running = crate::ops::schedule_edit::snapshot_schedules(cluster, &services.catalog);
    Ok(scorecard::score(&facts(
        cluster, &running, status, schedules, &records, secrets, now,
    )))
}

/// The facts, from what was gathered; pure.
pub fn facts(
    cluster: &ClusterConfig,
    snapshot_schedules: &[crate::schedule::Schedule],
    status: Result<ClusterStatus, String>,
    schedules: &[ScheduleState],
    records: &[SnapshotRecord],
    secrets: Result<SecretsFacts, String>,
    now: DateTime<Utc>,
) -> Facts {
    let live = status.and_then(|s| {
        if s.members.iter().all(|m| !m.reachable) {
            return Err(format!("no member answered: {}", s.verdict_reason));
        }
        Ok(live_facts(&s))
    });
    let schedules = snapshot_schedules
        .iter()
        .map(|s| {
            let st = schedules
                .iter()
                .find(|st| st.kind == ScheduleKind::Snapshot && st.name == s.name);
            ScheduleFacts {
                name: s.name.clone(),
                period_seconds: s.period_at(now).map(|p| p.num_seconds()),
                last_run_unix: st.and_then(|st| st.last_run).map(|t| t.timestamp()),
                // A run skipped because another server took its slot is
                // no failure of the schedule (that server snapshotted it).
                last_result: st
                    .and_then(|st| st.last_result.clone())
                    .filter(|r| !r.starts_with("skipped: slot ")),
                missed_while_down: st.map_or(0, |st| st.missed_while_down),
            }
        })
        .collect();
    Facts {
        cluster: cluster.name.clone(),
        now_unix: now.timestamp(),
        live,
        schedules,
        snapshots: records.iter().map(snapshot_facts).collect(),
        recipients: cluster.recipients.len(),
        store: cluster.store.as_ref().map(|s| s.name()),
        drills_enabled: cluster.drill.is_some(),
        drill_schedule: cluster
            .drill
            .as_ref()
            .and_then(|d| d.schedule.as_ref())
            .map(|s| s.pattern.clone()),
        secrets,
        drill_max_age_seconds: cluster
            .drill
            .as_ref()
            .map_or(DEFAULT_DRILL_MAX_AGE_SECONDS, |d| d.pass_within_seconds),
        stale_after_seconds: cluster
            .stale_after
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
    }
}

fn latency(l: Option<&LatencyP99>) -> Option<Latency> {
    l.map(|l| Latency {
        p99_ms: l.p99_ms,
        observations: l.observations,
    })
}

fn live_facts(s: &ClusterStatus) -> LiveFacts {
    LiveFacts {
        voting_members: s.quorum.voting_members,
        learners: s.members.iter().filter(|m| m.is_learner).count() as u32,
        members: s
            .members
            .iter()
            .map(|m| MemberFacts {
                name: if m.name.is_empty() {
                    m.id.clone()
                } else {
                    m.name.clone()
                },
                reachable: m.reachable,
                is_learner: m.is_learner,
                version: m.version.clone(),
                db_size_bytes: m.db_size_bytes.and_then(|b| u64::try_from(b).ok()),
                quota_bytes: m.quota_bytes,
                wal_fsync: latency(m.wal_fsync.as_ref()),
                backend_commit: latency(m.backend_commit.as_ref()),
            })
            .collect(),
        alarms: s.alarms.iter().map(|a| a.alarm.clone()).collect(),
    }
}

fn snapshot_facts(r: &SnapshotRecord) -> SnapshotFacts {
    SnapshotFacts {
        id: r.id.clone(),
        taken_unix: r.started_at.timestamp(),
        done: r.status == SnapshotState::Done,
        reason: r.reason.clone(),
        encrypted: r.encrypted,
        shipped: match &r.shipped {
            None => Shipped::No,
            Some(s) => match s.at {
                Some(at) => Shipped::Done {
                    at_unix: at.timestamp(),
                },
                None => Shipped::Pending {
                    error: s.error.clone(),
                },
            },
        },
        etcd_version: r.etcd_version.clone(),
        drill: r.drill.as_ref().map(|d| DrillFacts {
            at_unix: d.at.timestamp(),
            passed: d.verdict == DrillVerdict::Passed,
            verdict: match d.verdict {
                DrillVerdict::Passed => "passed",
                DrillVerdict::Failed => "failed",
                DrillVerdict::CannotDrill => "cannot_drill",
            }
            .to_string(),
            detail: d.error.clone().or_else(|| d.failed_check.clone()),
        }),
    }
}

/// The Secrets census of the newest finished snapshot that is stored here.
async fn census(
    services: &Services,
    cluster: &ClusterConfig,
    records: &[SnapshotRecord],
) -> Result<SecretsFacts, String> {
    let Some(newest) = records
        .iter()
        .find(|r| r.status == SnapshotState::Done && file_of(&services.data_dir, r).exists())
    else {
        return Err("no finished snapshot is stored on this server to audit".into());
    };
    if let Some(c) = services
        .censuses
        .0
        .lock()
        .expect("census lock")
        .get(&newest.id)
    {
        return Ok(c.clone());
    }
    let identities: Vec<age::x25519::Identity> = match (&cluster.drill, newest.encrypted) {
        (_, false) => Vec::new(),
        (Some(d), true) => d.identities.clone(),
        (None, true) => {
            return Err(format!(
                "snapshot {} is encrypted and the cluster has no drill identity ([cluster.drill] identity) to audit it",
                newest.id
            ));
        }
    };
    let path = file_of(&services.data_dir, newest);
    let record = newest.clone();
    let c = tokio::task::spawn_blocking(move || audit_census(&path, &record, &identities))
        .await
        .map_err(|e| format!("the audit stopped: {e}"))??;
    services
        .censuses
        .0
        .lock()
        .expect("census lock")
        .insert(newest.id.clone(), c.clone());
    Ok(c)
}

fn audit_census(
    path: &std::path::Path,
    record: &SnapshotRecord,
    identities: &[age::x25519::Identity],
) -> Result<SecretsFacts, String> {
    use etcd_lens_core::audit::{AuditOptions, audit};
    use etcd_lens_core::snapshot::Snapshot;
    super::find::with_stored(path, record, identities, |src| {
        let snap = Snapshot::open(src).map_err(|e| format!("snapshot {}: {e}", record.id))?;
        let ix = snap
            .key_index()
            .map_err(|e| format!("snapshot {}: {e}", record.id))?;
        // The census needs only the live Secrets: no free-page scan.
        let opts = AuditOptions {
            opened_with_age: record.encrypted,
            scan_free_pages: false,
            ..AuditOptions::default()
        };
        let report = audit(&snap, &ix, &opts)
            .map_err(|e| format!("auditing snapshot {}: {e}", record.id))?;
        let c = report.census;
        Ok(SecretsFacts {
            snapshot_id: record.id.clone(),
            taken_unix: record.started_at.timestamp(),
            secrets_total: c.secrets_total,
            plaintext: c.plaintext,
            encrypted: c.encrypted,
            unreadable: c.unreadable,
            per_provider: c.per_provider,
        })
    })
}
