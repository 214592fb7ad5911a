//! Running each cluster's schedules: at every due time a snapshot (reason
//! `scheduled`) through the same path as the API's, then retention. One run
//! at a time per cluster (the job registry refuses a second): a run due
//! while the previous one still streams is skipped and counted. The due
//! time of the last run fired is kept in the catalog, so runs missed while
//! the server was down are counted at start and reported (log, audit log,
//! the schedule's state); with `catch_up` one snapshot is taken at start
//! when the newest is older than the schedule's period.
//!
//! Which wins: schedules come from the configuration file (edits from the
//! page are not written back to it; the file is the operator's).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use crate::config::ClusterConfig;
use crate::ops::{Services, audit};
use crate::schedule::{Schedule, ScheduleState};

/// Every cluster's schedule states, shared with the API.
#[derive(Default)]
pub struct Schedules {
    states: Mutex<BTreeMap<String, Vec<ScheduleState>>>,
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

fn key(cluster: &str, s: &Schedule) -> String {
    format!("{cluster}/{}", s.name)
}

/// Run `cluster`'s schedules until the task is dropped.
pub async fn run(cluster: Arc<ClusterConfig>, ctx: Context) {
    if cluster.schedules.is_empty() {
        return;
    }
    let now = Utc::now();
    let mut states = Vec::new();
    for s in &cluster.schedules {
        let mut st = ScheduleState {
            name: s.name.clone(),
            pattern: s.pattern.clone(),
            time_zone: s.tz.name().to_string(),
            next_run: s.next_after(now),
            ..Default::default()
        };
        if let Ok(Some(last)) = ctx.services.catalog.last_scheduled(&key(&cluster.name, s)) {
            st.last_run = Some(last);
            let (n, first) = s.missed(last, now);
            st.missed_while_down = n;
            st.first_missed = first;
            if n > 0 {
                tracing::warn!(
                    "cluster {:?}, schedule {:?}: {n} run(s) missed while the server was down (first due {})",
                    cluster.name,
                    s.name,
                    first.map(|f| f.to_rfc3339()).unwrap_or_default()
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
                        s.name
                    )),
                );
            }
        }
        states.push(st);
    }
    ctx.schedules
        .states
        .lock()
        .expect("schedules lock")
        .insert(cluster.name.clone(), states);

    // Catch-up: one snapshot at start when the newest is older than a period.
    let newest = ctx.services.catalog.snapshots().ok().and_then(|all| {
        all.into_iter()
            .find(|r| r.cluster == cluster.name)
            .map(|r| r.started_at)
    });
    if let Some(i) = cluster
        .schedules
        .iter()
        .position(|s| s.catch_up_due(newest, now))
    {
        fire(&cluster, &ctx, i, now, "catch-up");
    }

    loop {
        let now = Utc::now();
        let Some((due, which)) = next_due(&cluster.schedules, now) else {
            return;
        };
        let wait = (due - now).to_std().unwrap_or_default();
        tokio::time::sleep(wait).await;
        for i in which {
            let s = &cluster.schedules[i];
            if let Err(e) = ctx
                .services
                .catalog
                .set_last_scheduled(&key(&cluster.name, s), due)
            {
                tracing::error!("recording the run of schedule {:?}: {e}", s.name);
            }
            ctx.schedules.update(&cluster.name, i, |st| {
                st.next_run = s.next_after(due);
            });
            fire(&cluster, &ctx, i, due, "scheduled");
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

/// Start one run (in the background); an overlapping run is skipped and counted.
fn fire(
    cluster: &Arc<ClusterConfig>,
    ctx: &Context,
    i: usize,
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
            return;
        }
    };
    let cluster = cluster.clone();
    let ctx = ctx.clone();
    tokio::spawn(async move {
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
