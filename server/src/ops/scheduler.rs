//! Running each cluster's schedules: at every due time a snapshot (reason
//! `scheduled`) through the same path as the API's, then retention. One run
//! at a time per cluster (the job registry refuses a second): a run due
//! while the previous one still streams is skipped and counted. The due
//! time of the last run fired is kept in the catalog, so runs missed while
//! the server was down are counted at start and reported (log, audit log,
//! the schedule's state); with `catch_up` one snapshot is taken at start
//! when the newest is older than the schedule's period.
//!
//! A cluster's `[cluster.drill.schedule]` runs a restore drill of its
//! newest finished snapshot the same way (its state listed after the
//! snapshot schedules', with `kind = "drill"`).
//!
//! Two servers, one schedule: a scheduled snapshot run (and a catch-up)
//! first claims its slot — `claims/<cluster>/<due time in UTC>` in the
//! cluster's store, create-only (`ops::ship::claim_slot`) — and only the
//! claimant snapshots. A run that loses the claim is skipped: its state's
//! `last_result` says `skipped: slot … claimed by <server id>`, it is
//! counted (`claimed_elsewhere`, `etcd_lens_schedule_claimed_elsewhere_runs_total`)
//! and written to the audit log (`schedule.claimed_elsewhere`). The job is
//! registered before the claim, so a server still busy with the previous
//! run skips as overlapping without claiming, and another may take the
//! slot. Without a store there is nothing to claim in: the run snapshots.
//! On-demand snapshots (API, CLI) take no claim.
//!
//! Which wins: the snapshot schedules come from the configuration file,
//! unless the page edited them (`ops::schedule_edit`: the edit in the
//! catalog wins until reset; the file is never rewritten). An edit or a
//! reset restarts the cluster's scheduler with the schedules that now run.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use crate::catalog::Catalog;
use crate::config::ClusterConfig;
use crate::ops::schedule_edit::snapshot_schedules;
use crate::ops::ship::{self, SlotClaim};
use crate::ops::{Services, audit, drill};
use crate::records::{DrillVerdict, SnapshotState};
use crate::schedule::{Schedule, ScheduleKind, ScheduleState};

/// Every cluster's schedule states, shared with the API.
#[derive(Default)]
pub struct Schedules {
    states: Mutex<BTreeMap<String, Vec<ScheduleState>>>,
    /// Clusters whose scheduled drill is running.
    drilling: Mutex<std::collections::BTreeSet<String>>,
    /// Per cluster: rung when its schedules changed.
    reload: Mutex<BTreeMap<String, Arc<tokio::sync::Notify>>>,
    /// Per cluster and schedule (by name): runs skipped because another
    /// server had claimed their slot.
    claimed: Mutex<BTreeMap<(String, String), u64>>,
}

impl Schedules {
    pub fn of(&self, cluster: &str) -> Vec<ScheduleState> {
        self.states
            .lock()
            .expect("schedules lock")
            .get(cluster)
            .cloned()
            .unwrap_or_default()
    }

    /// Runs of `cluster`'s schedule `name` skipped because another server
    /// had claimed their slot, since start.
    pub fn claimed_elsewhere(&self, cluster: &str, name: &str) -> u64 {
        self.claimed
            .lock()
            .expect("claimed lock")
            .get(&(cluster.to_string(), name.to_string()))
            .copied()
            .unwrap_or_default()
    }

    fn count_claimed(&self, cluster: &str, name: &str) {
        *self
            .claimed
            .lock()
            .expect("claimed lock")
            .entry((cluster.to_string(), name.to_string()))
            .or_default() += 1;
    }

    fn notifier(&self, cluster: &str) -> Arc<tokio::sync::Notify> {
        self.reload
            .lock()
            .expect("reload lock")
            .entry(cluster.to_string())
            .or_default()
            .clone()
    }

    /// `cluster`'s schedules changed: its scheduler starts again with them.
    pub fn reload(&self, cluster: &str) {
        self.notifier(cluster).notify_one();
    }

    /// Mark a scheduled drill of `cluster` as running; false when one is.
    fn begin_drill(&self, cluster: &str) -> bool {
        self.drilling
            .lock()
            .expect("drilling lock")
            .insert(cluster.to_string())
    }

    fn end_drill(&self, cluster: &str) {
        self.drilling.lock().expect("drilling lock").remove(cluster);
    }

    fn update(&self, cluster: &str, i: usize, f: impl FnOnce(&mut ScheduleState)) {
        let mut all = self.states.lock().expect("schedules lock");
        if let Some(s) = all.get_mut(cluster).and_then(|v| v.get_mut(i)) {
            f(s);
        }
    }
}

/// What a scheduler needs.
#[derive(Clone)]
pub struct Context {
    pub services: Services,
    pub schedules: Arc<Schedules>,
}

/// The catalog key of a schedule's last fired run (drill schedules apart,
/// so a drill schedule named like a snapshot schedule keeps its own).
fn key(cluster: &str, kind: ScheduleKind, s: &Schedule) -> String {
    match kind {
        ScheduleKind::Snapshot => format!("{cluster}/{}", s.name),
        ScheduleKind::Drill => format!("{cluster}/drill/{}", s.name),
    }
}

/// A cluster's schedules: its snapshot schedules (the page's edit or the
/// file's), then its drill schedule.
fn entries(cluster: &ClusterConfig, catalog: &Catalog) -> Vec<(ScheduleKind, Schedule)> {
    let mut all: Vec<(ScheduleKind, Schedule)> = snapshot_schedules(cluster, catalog)
        .into_iter()
        .map(|s| (ScheduleKind::Snapshot, s))
        .collect();
    if let Some(s) = cluster.drill.as_ref().and_then(|d| d.schedule.clone()) {
        all.push((ScheduleKind::Drill, s));
    }
    all
}

/// The schedules' states as the catalog leaves them (at start, or for the
/// CLI while no server runs): the last run fired, the runs due since then
/// and not run (missed), the next run.
pub fn initial_states(
    cluster: &ClusterConfig,
    catalog: &Catalog,
    now: DateTime<Utc>,
) -> Vec<ScheduleState> {
    entries(cluster, catalog)
        .iter()
        .map(|(kind, s)| {
            let mut st = ScheduleState {
                name: s.name.clone(),
                kind: *kind,
                pattern: s.pattern.clone(),
                time_zone: s.tz.name().to_string(),
                next_run: s.next_after(now),
                ..Default::default()
            };
            if let Ok(Some(last)) = catalog.last_scheduled(&key(&cluster.name, *kind, s)) {
                st.last_run = Some(last);
                let (n, first) = s.missed(last, now);
                st.missed_while_down = n;
                st.first_missed = first;
            }
            st
        })
        .collect()
}

/// Run `cluster`'s schedules until the task is dropped, starting again
/// with the schedules that run whenever they change (an edit from the page).
pub async fn run(cluster: Arc<ClusterConfig>, ctx: Context) {
    let changed = ctx.schedules.notifier(&cluster.name);
    loop {
        tokio::select! {
            () = run_schedules(cluster.clone(), ctx.clone()) => changed.notified().await,
            () = changed.notified() => {}
        }
    }
}

async fn run_schedules(cluster: Arc<ClusterConfig>, ctx: Context) {
    let entries = entries(&cluster, &ctx.services.catalog);
    if entries.is_empty() {
        ctx.schedules
            .states
            .lock()
            .expect("schedules lock")
            .remove(&cluster.name);
        return;
    }
    let now = Utc::now();
    let states = initial_states(&cluster, &ctx.services.catalog, now);
    for st in states.iter().filter(|st| st.missed_while_down > 0) {
        let n = st.missed_while_down;
        tracing::warn!(
            "cluster {:?}, schedule {:?}: {n} run(s) missed while the server was down (first due {})",
            cluster.name,
            st.name,
            st.first_missed.map(|f| f.to_rfc3339()).unwrap_or_default()
        );
        audit::record(
            &ctx.services.catalog,
            now,
            "scheduler",
            "schedule.missed",
            Some(&cluster.name),
            None,
            &Err(format!(
                "{n} run(s) of {:?} missed while the server was down",
                st.name
            )),
        );
    }
    ctx.schedules
        .states
        .lock()
        .expect("schedules lock")
        .insert(cluster.name.clone(), states);

    // Catch-up at start: a snapshot when the newest is older than a period;
    // a drill when the newest drill is.
    let records: Vec<_> = ctx
        .services
        .catalog
        .snapshots()
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.cluster == cluster.name)
        .collect();
    let newest_snapshot = records.first().map(|r| r.started_at);
    let newest_drill = records
        .iter()
        .filter_map(|r| r.drill.as_ref().map(|d| d.at))
        .max();
    if let Some(i) = entries.iter().position(|(kind, s)| {
        *kind == ScheduleKind::Snapshot && s.catch_up_due(newest_snapshot, now)
    }) {
        // The slot of a catch-up is the schedule's latest due time, so two
        // servers starting together claim the same one.
        let slot = latest_due(&entries[i].1, now);
        fire(&cluster, &ctx, &entries, i, slot, "catch-up");
    }
    if let Some(i) = entries
        .iter()
        .position(|(kind, s)| *kind == ScheduleKind::Drill && s.catch_up_due(newest_drill, now))
    {
        fire(&cluster, &ctx, &entries, i, now, "catch-up");
    }

    let schedules: Vec<Schedule> = entries.iter().map(|(_, s)| s.clone()).collect();
    loop {
        let now = Utc::now();
        let Some((due, which)) = next_due(&schedules, now) else {
            return;
        };
        let wait = (due - now).to_std().unwrap_or_default();
        tokio::time::sleep(wait).await;
        for i in which {
            let (kind, s) = &entries[i];
            if let Err(e) = ctx
                .services
                .catalog
                .set_last_scheduled(&key(&cluster.name, *kind, s), due)
            {
                tracing::error!("recording the run of schedule {:?}: {e}", s.name);
            }
            ctx.schedules.update(&cluster.name, i, |st| {
                st.next_run = s.next_after(due);
            });
            fire(&cluster, &ctx, &entries, i, due, "scheduled");
        }
    }
}

/// The earliest due time after `now` and the schedules due then.
pub fn next_due(schedules: &[Schedule], now: DateTime<Utc>) -> Option<(DateTime<Utc>, Vec<usize>)> {
    let times: Vec<Option<DateTime<Utc>>> = schedules.iter().map(|s| s.next_after(now)).collect();
    let due = times.iter().flatten().min().copied()?;
    Some((
        due,
        (0..schedules.len())
            .filter(|&i| times[i] == Some(due))
            .collect(),
    ))
}

/// The schedule's latest due time at or before `now` (`now` when it has none).
pub fn latest_due(s: &Schedule, now: DateTime<Utc>) -> DateTime<Utc> {
    let Some(period) = s.period_at(now) else {
        return now;
    };
    // Periods vary (cron): start two of the local period back, bounded steps.
    let mut t = now - period * 2;
    let mut latest = None;
    for _ in 0..64 {
        match s.next_after(t) {
            Some(n) if n <= now => {
                latest = Some(n);
                t = n;
            }
            _ => break,
        }
    }
    latest.unwrap_or(now)
}

/// Start one run (in the background); an overlapping run is skipped and counted.
fn fire(
    cluster: &Arc<ClusterConfig>,
    ctx: &Context,
    entries: &[(ScheduleKind, Schedule)],
    i: usize,
    due: DateTime<Utc>,
    reason: &'static str,
) {
    match entries[i].0 {
        ScheduleKind::Snapshot => fire_snapshot(cluster, ctx, i, &entries[i].1.name, due, reason),
        ScheduleKind::Drill => fire_drill(cluster, ctx, i, due),
    }
}

fn fire_snapshot(
    cluster: &Arc<ClusterConfig>,
    ctx: &Context,
    i: usize,
    schedule: &str,
    due: DateTime<Utc>,
    reason: &'static str,
) {
    let job = match ctx.services.jobs.begin(cluster, reason, Utc::now()) {
        Ok(j) => j,
        Err(running) => {
            tracing::warn!(
                "cluster {:?}: the run due {} is skipped: snapshot {running} is still running",
                cluster.name,
                due.to_rfc3339()
            );
            ctx.schedules
                .update(&cluster.name, i, |st| st.skipped_overlapping += 1);
            ctx.services.metrics.run_skipped(&cluster.name);
            return;
        }
    };
    let cluster = cluster.clone();
    let ctx = ctx.clone();
    let schedule = schedule.to_string();
    tokio::spawn(async move {
        let server_id = ctx.services.leadership.server_id();
        let claim =
            ship::claim_slot(&cluster, &server_id, &schedule, due, &job.id, Utc::now()).await;
        if let SlotClaim::Lost { by } = claim {
            ctx.services.jobs.cancel(&job.id);
            ctx.services.metrics.run_claimed_elsewhere(&cluster.name);
            ctx.schedules.count_claimed(&cluster.name, &schedule);
            let result = format!(
                "skipped: slot {} claimed by {by}",
                crate::ship::claim::slot_name(due)
            );
            audit::note(
                &ctx.services.catalog,
                Utc::now(),
                "scheduler",
                "schedule.claimed_elsewhere",
                Some(&cluster.name),
                None,
                result.clone(),
            );
            ctx.schedules.update(&cluster.name, i, |st| {
                st.last_run = Some(due);
                st.last_result = Some(result);
                st.last_snapshot_id = None;
            });
            return;
        }
        let r = ctx
            .services
            .snapshot(&cluster, &job, reason, "scheduler")
            .await;
        let result = match &r {
            Ok(_) => "ok".to_string(),
            Err(e) => format!("failed at {}: {e}", e.stage.as_str()),
        };
        ctx.schedules.update(&cluster.name, i, |st| {
            st.last_run = Some(due);
            st.last_result = Some(result);
            st.last_snapshot_id = Some(job.id.clone());
        });
    });
}

/// A drill of the cluster's newest finished snapshot; one drill at a time
/// per cluster (a run due while one goes is skipped and counted).
fn fire_drill(cluster: &Arc<ClusterConfig>, ctx: &Context, i: usize, due: DateTime<Utc>) {
    if !ctx.schedules.begin_drill(&cluster.name) {
        tracing::warn!(
            "cluster {:?}: the drill due {} is skipped: the previous drill is still running",
            cluster.name,
            due.to_rfc3339()
        );
        ctx.schedules
            .update(&cluster.name, i, |st| st.skipped_overlapping += 1);
        return;
    }
    let cluster = cluster.clone();
    let ctx = ctx.clone();
    tokio::spawn(async move {
        let newest = ctx.services.catalog.snapshots().map(|all| {
            all.into_iter()
                .find(|r| r.cluster == cluster.name && r.status == SnapshotState::Done)
        });
        let (id, result) =
            match newest {
                Err(e) => (None, format!("failed: the catalog could not be read: {e}")),
                Ok(None) => (None, "skipped: no finished snapshot to drill".to_string()),
                Ok(Some(r)) => {
                    let result =
                        match drill::drill_snapshot(&ctx.services, &cluster, &r.id, "scheduler")
                            .await
                        {
                            Err(e) => format!("failed: {e}"),
                            Ok(d) => match d.verdict {
                                DrillVerdict::Passed => "ok".to_string(),
                                v => format!(
                                    "{}: {}",
                                    if v == DrillVerdict::CannotDrill {
                                        "cannot drill"
                                    } else {
                                        "failed"
                                    },
                                    d.error
                                        .clone()
                                        .or(d.failed_check.clone())
                                        .unwrap_or_default()
                                ),
                            },
                        };
                    (Some(r.id), result)
                }
            };
        ctx.schedules.end_drill(&cluster.name);
        ctx.schedules.update(&cluster.name, i, |st| {
            st.last_run = Some(due);
            st.last_result = Some(result);
            st.last_snapshot_id = id;
        });
    });
}
