//! The operations scorecard: the practices etcd operators are told to
//! follow, each judged from evidence the caller gathered (the live cluster,
//! the catalog, the schedules, the audit of a stored snapshot).
//!
//! What it does: turns [`Facts`] into one [`Check`] per practice, each
//! `pass`, `warn`, `fail` or `unknown`, with the evidence in words and where
//! to fix it. What it does not: fetch anything, read a clock (`now_unix` is
//! given) or fill a gap with a default — a fact that was not gathered makes
//! its check `unknown`, never a guess.
//!
//! Invariant: every check is always present, in [`CHECK_IDS`] order, so a
//! dashboard can key on the ids.
//!
//! The parts: this file holds the facts and the answer's shapes;
//! `checks.rs` one function per practice.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

mod checks;
#[cfg(test)]
mod tests;

/// The checks, in the order they are answered.
pub const CHECK_IDS: [&str; 9] = [
    "member-count",
    "disk-latency",
    "snapshot-schedule",
    "snapshots-encrypted",
    "snapshots-shipped",
    "pre-upgrade-snapshot",
    "restore-drill",
    "secrets-encrypted",
    "quota",
];

/// A drill must have passed within this long (default 7 days).
pub const DEFAULT_DRILL_MAX_AGE_SECONDS: i64 = 7 * 24 * 3600;

/// Everything the scorecard judges; gathered by the caller.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    pub cluster: String,
    pub now_unix: i64,
    /// The live cluster; `Err` says why it was not read.
    pub live: Result<LiveFacts, String>,
    /// The snapshot schedules (drill schedules apart).
    pub schedules: Vec<ScheduleFacts>,
    /// The catalogued snapshots of the cluster, newest first.
    pub snapshots: Vec<SnapshotFacts>,
    /// How many age recipients the cluster's snapshots are encrypted to.
    pub recipients: usize,
    /// The object store snapshots are shipped to, by name; `None`: not configured.
    pub store: Option<String>,
    /// Whether restore drills are configured (`[cluster.drill]`).
    pub drills_enabled: bool,
    /// A drill schedule's pattern, when there is one.
    pub drill_schedule: Option<String>,
    /// The audit of the newest readable stored snapshot; `Err` says why there is none.
    pub secrets: Result<SecretsFacts, String>,
    pub drill_max_age_seconds: i64,
    /// The newest finished snapshot is stale past this age; `None`: one
    /// and a half of the shortest schedule period.
    pub stale_after_seconds: Option<i64>,
}

/// What the live cluster said.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LiveFacts {
    pub voting_members: u32,
    pub learners: u32,
    pub members: Vec<MemberFacts>,
    /// Active alarms, e.g. `NOSPACE`.
    pub alarms: Vec<String>,
}

/// One member, as its status and metrics answered.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MemberFacts {
    pub name: String,
    pub reachable: bool,
    pub is_learner: bool,
    pub version: Option<String>,
    pub db_size_bytes: Option<u64>,
    pub quota_bytes: Option<u64>,
    pub wal_fsync: Option<Latency>,
    pub backend_commit: Option<Latency>,
}

/// A p99 latency from a member's histogram, and over how many observations.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    pub p99_ms: f64,
    pub observations: f64,
}

/// A snapshot schedule's state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleFacts {
    pub name: String,
    /// The interval between its next two runs.
    pub period_seconds: Option<i64>,
    pub last_run_unix: Option<i64>,
    /// `ok`, or the failure.
    pub last_result: Option<String>,
    pub missed_while_down: u32,
}

/// Where a snapshot's shipped copy stands.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum Shipped {
    /// No upload was attempted.
    #[default]
    No,
    /// Queued or under way; `error` is the last attempt's.
    Pending {
        error: Option<String>,
    },
    Done {
        at_unix: i64,
    },
}

/// A catalogued snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotFacts {
    pub id: String,
    pub taken_unix: i64,
    /// Finished and verified at save.
    pub done: bool,
    pub reason: String,
    pub encrypted: bool,
    pub shipped: Shipped,
    /// The source member's version (empty when not recorded).
    pub etcd_version: String,
    pub drill: Option<DrillFacts>,
}

/// A drill's outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrillFacts {
    pub at_unix: i64,
    pub passed: bool,
    /// `passed`, `failed`, `cannot_drill`.
    pub verdict: String,
    /// The failed check or the error.
    pub detail: Option<String>,
}

/// The Secrets census of one stored snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretsFacts {
    pub snapshot_id: String,
    pub taken_unix: i64,
    pub secrets_total: u64,
    pub plaintext: u64,
    pub encrypted: u64,
    pub unreadable: u64,
    /// Live Secrets per provider (`identity` = plaintext).
    pub per_provider: BTreeMap<String, u64>,
}

/// A check's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    Unknown,
    Warn,
    Fail,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Unknown => "unknown",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }
}

/// One practice, judged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    pub id: String,
    pub title: String,
    pub status: Status,
    /// What was seen, in words.
    pub evidence: String,
    /// Where to fix it: a setting, a command or a page of etcd's docs.
    pub fix: String,
}

/// The scorecard of one cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scorecard {
    pub cluster: String,
    pub checks: Vec<Check>,
    /// How many checks have each status.
    pub counts: BTreeMap<Status, u32>,
    /// The worst status of any check.
    pub worst: Status,
}

/// Judge every practice.
pub fn score(facts: &Facts) -> Scorecard {
    let checks = vec![
        checks::member_count(facts),
        checks::disk_latency(facts),
        checks::snapshot_schedule(facts),
        checks::snapshots_encrypted(facts),
        checks::snapshots_shipped(facts),
        checks::pre_upgrade_snapshot(facts),
        checks::restore_drill(facts),
        checks::secrets_encrypted(facts),
        checks::quota(facts),
    ];
    debug_assert!(checks.iter().map(|c| c.id.as_str()).eq(CHECK_IDS));
    let mut counts = BTreeMap::new();
    for c in &checks {
        *counts.entry(c.status).or_insert(0) += 1;
    }
    let worst = checks
        .iter()
        .map(|c| c.status)
        .max()
        .unwrap_or(Status::Unknown);
    Scorecard {
        cluster: facts.cluster.clone(),
        checks,
        counts,
        worst,
    }
}
