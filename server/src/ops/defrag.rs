//! Defragmentation the way careful operators run it (ahrtr/etcd-defrag is
//! the reference behaviour): every member's health first, and nothing at
//! all when one is unhealthy (a NOSPACE alarm alone does not stop it: a
//! defrag is part of its cure); then one member at a time, followers first
//! and the leader last, each only where the rule says it is worth it, with a
//! health check and a pause after each; the space each member gave back is
//! reported. `dry_run` decides and reports without touching anything.
//!
//! The guided NOSPACE recovery: compact to the current revision,
//! defragment every member (rule or not), disarm the alarm, verify.

use std::time::{Duration, Instant};

use chrono::Utc;
use etcd_lens_core::plan::headroom::{DefragReason, defrag_reason};
use etcd_lens_core::plan::rules;
use serde::Serialize;

use crate::config::ClusterConfig;
use crate::etcd::maintenance;
use crate::etcd::status::{ClusterStatus, MemberStatus, PreviousScrapes, cluster_status};

/// When a member is worth defragmenting: by default the planner's rule
/// (`plan::headroom::defrag_reason`: etcd's fragmentation alert, 200 MiB
/// reclaimable, or back under 80 % of the quota), or thresholds the operator
/// gives instead.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Rule {
    #[default]
    Planner,
    Custom {
        /// `db_size − db_size_in_use` at least this…
        min_reclaimable_bytes: u64,
        /// …or the database at least this share of the quota.
        quota_ratio: f64,
    },
}

impl Rule {
    /// The operator's thresholds (either may be left to the planner's value),
    /// or the planner's rule when none is given: the CLI's and the API's flags.
    pub fn custom(min_reclaimable_bytes: Option<u64>, quota_ratio: Option<f64>) -> Rule {
        match (min_reclaimable_bytes, quota_ratio) {
            (None, None) => Rule::Planner,
            (m, q) => Rule::Custom {
                min_reclaimable_bytes: m
                    .unwrap_or(etcd_lens_core::plan::rules::DEFRAG_MIN_RECLAIMABLE_BYTES),
                quota_ratio: q.unwrap_or(etcd_lens_core::plan::rules::QUOTA_WARN_RATIO),
            },
        }
    }

    /// Every member (the NOSPACE recovery).
    pub const ALWAYS: Rule = Rule::Custom {
        min_reclaimable_bytes: 0,
        quota_ratio: 0.0,
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Defragmented,
    Skipped,
    /// Would be defragmented (dry run).
    WouldDefragment,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MemberResult {
    pub id: String,
    pub name: String,
    pub endpoint: String,
    pub is_leader: bool,
    pub action: Action,
    pub reason: String,
    pub before_bytes: i64,
    pub before_in_use_bytes: i64,
    pub after_bytes: Option<i64>,
    pub reclaimed_bytes: Option<i64>,
    pub took_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub cluster: String,
    pub dry_run: bool,
    pub rule: Rule,
    /// In the order they were (or would be) visited: followers, then the leader.
    pub members: Vec<MemberResult>,
    /// Set when the run stopped (before it started, or midway).
    pub stopped: Option<String>,
    pub reclaimed_bytes: i64,
    /// NOSPACE recovery only: the revision compacted to, and the alarms left.
    pub compacted_to: Option<i64>,
    pub alarms_after: Option<Vec<String>>,
}

/// Whether `m` is worth defragmenting under `rule`, and why.
pub fn worth(m: &MemberStatus, rule: &Rule) -> (bool, String) {
    let size = u64::try_from(m.db_size_bytes.unwrap_or(0)).unwrap_or(0);
    let in_use = u64::try_from(m.db_size_in_use_bytes.unwrap_or(0)).unwrap_or(size);
    let reclaimable = size.saturating_sub(in_use);
    let quota = m
        .quota_bytes
        .filter(|q| *q > 0)
        .unwrap_or(rules::DEFAULT_QUOTA_BYTES);
    match *rule {
        Rule::Planner => match defrag_reason(size, in_use, quota) {
            Some(DefragReason::Fragmented) => (
                true,
                format!("fragmented: {in_use} of {size} bytes in use (< 50 %)"),
            ),
            Some(DefragReason::Reclaimable) => {
                (true, format!("{reclaimable} bytes reclaimable (≥ 200 MiB)"))
            }
            Some(DefragReason::UnderQuotaLine) => (
                true,
                format!(
                    "{size} bytes is above 80 % of the {quota}-byte quota and a defrag takes it back under"
                ),
            ),
            None => (
                false,
                format!(
                    "not worth it by the planner's rule: {reclaimable} of {size} bytes reclaimable"
                ),
            ),
        },
        Rule::Custom {
            min_reclaimable_bytes,
            quota_ratio,
        } => {
            if reclaimable >= min_reclaimable_bytes {
                return (
                    true,
                    format!("{reclaimable} bytes reclaimable (≥ {min_reclaimable_bytes})"),
                );
            }
            let r = size as f64 / quota as f64;
            if r >= quota_ratio {
                return (
                    true,
                    format!(
                        "database at {:.0}% of the quota (≥ {:.0}%)",
                        100.0 * r,
                        100.0 * quota_ratio
                    ),
                );
            }
            (
                false,
                format!(
                    "only {reclaimable} bytes reclaimable (< {min_reclaimable_bytes}) and below {:.0}% of the quota",
                    100.0 * quota_ratio
                ),
            )
        }
    }
}

/// Followers first (by name), the leader last; learners with the followers.
fn visit_order(s: &ClusterStatus) -> Vec<&MemberStatus> {
    let mut v: Vec<&MemberStatus> = s.members.iter().collect();
    v.sort_by(|a, b| (a.is_leader, &a.name).cmp(&(b.is_leader, &b.name)));
    v
}

/// Refuse to start when any member is unhealthy.
fn precheck(s: &ClusterStatus) -> Option<String> {
    if let Some(m) = s.members.iter().find(|m| !m.reachable) {
        return Some(format!(
            "member {} ({}) is unhealthy: {} — not defragmenting any member",
            if m.name.is_empty() { &m.id } else { &m.name },
            m.endpoint.as_deref().unwrap_or("no endpoint"),
            m.error.as_deref().unwrap_or("unreachable")
        ));
    }
    if !s.quorum.held {
        return Some(format!(
            "no quorum ({}) — not defragmenting",
            s.verdict_reason
        ));
    }
    if s.members.is_empty() {
        return Some("no member answered".into());
    }
    None
}

/// Run (or plan) a defragmentation of `cluster`.
pub async fn run(cluster: &ClusterConfig, rule: Rule, dry_run: bool, pause: Duration) -> Report {
    let status = cluster_status(cluster, &mut PreviousScrapes::default(), Utc::now()).await;
    let mut report = Report {
        cluster: cluster.name.clone(),
        dry_run,
        rule,
        members: Vec::new(),
        stopped: precheck(&status),
        reclaimed_bytes: 0,
        compacted_to: None,
        alarms_after: None,
    };
    for m in visit_order(&status) {
        let (yes, reason) = worth(m, &rule);
        let action = match (report.stopped.is_some(), yes, dry_run) {
            (true, _, _) | (false, false, _) => Action::Skipped,
            (false, true, true) => Action::WouldDefragment,
            (false, true, false) => Action::Defragmented,
        };
        let mut r = MemberResult {
            id: m.id.clone(),
            name: m.name.clone(),
            endpoint: m.endpoint.clone().unwrap_or_default(),
            is_leader: m.is_leader,
            action,
            reason: if report.stopped.is_some() {
                "the run did not start".into()
            } else {
                reason
            },
            before_bytes: m.db_size_bytes.unwrap_or(0),
            before_in_use_bytes: m.db_size_in_use_bytes.unwrap_or(0),
            after_bytes: None,
            reclaimed_bytes: None,
            took_ms: None,
        };
        if action == Action::Defragmented {
            defrag_one(cluster, &mut r, pause, &mut report).await;
        }
        report.members.push(r);
    }
    report
}

async fn defrag_one(
    cluster: &ClusterConfig,
    r: &mut MemberResult,
    pause: Duration,
    report: &mut Report,
) {
    let t = Instant::now();
    let done = maintenance::defragment(cluster, &r.endpoint, cluster.snapshot_timeout).await;
    r.took_ms = Some(crate::etcd::connect::millis(t.elapsed()));
    if let Err(e) = done {
        r.action = Action::Failed;
        r.reason = format!("defragment failed: {e}");
        report.stopped = Some(format!("stopped after {} failed: {e}", r.name));
        return;
    }
    // Health after: the member answers and the cluster holds quorum.
    let after = cluster_status(cluster, &mut PreviousScrapes::default(), Utc::now()).await;
    match after.members.iter().find(|m| m.id == r.id) {
        Some(m) if m.reachable && after.quorum.held => {
            r.after_bytes = m.db_size_bytes;
            r.reclaimed_bytes = m.db_size_bytes.map(|a| r.before_bytes - a);
            report.reclaimed_bytes += r.reclaimed_bytes.unwrap_or(0);
        }
        _ => {
            report.stopped = Some(format!(
                "stopped: after defragmenting {} the cluster is not healthy ({})",
                r.name, after.verdict_reason
            ));
            return;
        }
    }
    tokio::time::sleep(pause).await;
}

/// The guided NOSPACE recovery: compact, defragment all, disarm, verify.
pub async fn recover_nospace(cluster: &ClusterConfig, pause: Duration) -> Report {
    let status = cluster_status(cluster, &mut PreviousScrapes::default(), Utc::now()).await;
    let mut report = Report {
        cluster: cluster.name.clone(),
        dry_run: false,
        rule: Rule::ALWAYS,
        members: Vec::new(),
        stopped: precheck(&status),
        reclaimed_bytes: 0,
        compacted_to: None,
        alarms_after: None,
    };
    if report.stopped.is_some() {
        return report;
    }
    let Some(endpoint) = status
        .members
        .iter()
        .find(|m| m.is_leader)
        .and_then(|m| m.endpoint.clone())
    else {
        report.stopped = Some("no leader to compact through".into());
        return report;
    };
    match maintenance::current_revision(cluster, &endpoint).await {
        Ok(rev) => match maintenance::compact(cluster, &endpoint, rev).await {
            Ok(()) => report.compacted_to = Some(rev),
            Err(e) => {
                report.stopped = Some(format!("compaction failed: {e}"));
                return report;
            }
        },
        Err(e) => {
            report.stopped = Some(format!("reading the current revision failed: {e}"));
            return report;
        }
    }
    let defrag = run(cluster, Rule::ALWAYS, false, pause).await;
    report.members = defrag.members;
    report.reclaimed_bytes = defrag.reclaimed_bytes;
    if defrag.stopped.is_some() {
        report.stopped = defrag.stopped;
        return report;
    }
    for a in status.alarms.iter().filter(|a| a.alarm == "NOSPACE") {
        let Ok(id) = u64::from_str_radix(&a.member_id, 16) else {
            continue;
        };
        if let Err(e) = maintenance::disarm_nospace(cluster, &endpoint, id).await {
            report.stopped = Some(format!("disarming NOSPACE of member {}: {e}", a.member_id));
            return report;
        }
    }
    // Verify: the disarm goes through raft and reaches each member's Status a
    // moment later; give it a few seconds before calling the alarm stuck.
    let mut left = Vec::new();
    for _ in 0..20 {
        let after = cluster_status(cluster, &mut PreviousScrapes::default(), Utc::now()).await;
        left = after
            .alarms
            .iter()
            .map(|a| format!("{} on {}", a.alarm, a.member_id))
            .collect();
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    if !left.is_empty() {
        report.stopped = Some(format!(
            "alarms still active after the recovery: {}",
            left.join(", ")
        ));
    }
    report.alarms_after = Some(left);
    report
}
