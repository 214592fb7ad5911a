//! Snapshot schedules edited from the page. Which wins: while an edit is
//! in the catalog, its schedules replace the configuration file's
//! `[[cluster.schedule]]` tables for that cluster (the file is never
//! rewritten: it is the operator's); resetting the edit returns to the
//! file's. Every edit and reset is in the audit log, and the cluster's
//! scheduler restarts with the new schedules at once.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Services, audit};
use crate::catalog::Catalog;
use crate::config::ClusterConfig;
use crate::records::ScheduleEdit;
use crate::schedule::{Schedule, ScheduleSpec};

/// At most this many snapshot schedules per cluster from the page.
pub const MAX_SCHEDULES: usize = 16;

/// Where a cluster's snapshot schedules come from, for the page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    /// `file` or `page`.
    pub source: &'static str,
    pub edited_at: Option<DateTime<Utc>>,
    pub edited_by: Option<String>,
    /// What the configuration file says (shown beside an edit).
    pub file: Vec<ScheduleSpec>,
    /// What runs.
    pub effective: Vec<ScheduleSpec>,
}

/// A schedule as the spec that makes it.
pub fn spec_of(s: &Schedule) -> ScheduleSpec {
    ScheduleSpec {
        name: Some(s.name.clone()),
        cron: s.pattern.clone(),
        time_zone: Some(s.tz.name().to_string()),
        catch_up: s.catch_up,
    }
}

/// Check specs as the configuration loader does: every pattern and zone
/// parses, names are unique, not too many.
pub fn validate(specs: &[ScheduleSpec]) -> Result<Vec<Schedule>, String> {
    if specs.len() > MAX_SCHEDULES {
        return Err(format!(
            "{} schedules: at most {MAX_SCHEDULES}",
            specs.len()
        ));
    }
    let mut out: Vec<Schedule> = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let s = Schedule::parse(spec).map_err(|m| format!("schedule {}: {m}", i + 1))?;
        if out.iter().any(|o| o.name == s.name) {
            return Err(format!(
                "schedule {}: a second schedule is named {:?}",
                i + 1,
                s.name
            ));
        }
        out.push(s);
    }
    Ok(out)
}

/// The snapshot schedules that run for `cluster`: the page's edit when
/// there is one (and it still parses), else the file's.
pub fn snapshot_schedules(cluster: &ClusterConfig, catalog: &Catalog) -> Vec<Schedule> {
    match catalog.schedule_edit(&cluster.name) {
        Ok(Some(edit)) => match validate(&edit.schedules) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(
                    "cluster {:?}: the page's schedules no longer parse ({e}); the file's run",
                    cluster.name
                );
                cluster.schedules.clone()
            }
        },
        Ok(None) => cluster.schedules.clone(),
        Err(e) => {
            tracing::error!(
                "cluster {:?}: the schedule edit could not be read ({e}); the file's run",
                cluster.name
            );
            cluster.schedules.clone()
        }
    }
}

/// Where the schedules of `cluster` come from.
pub fn source(cluster: &ClusterConfig, catalog: &Catalog) -> Source {
    let edit = catalog.schedule_edit(&cluster.name).ok().flatten();
    Source {
        source: if edit.is_some() { "page" } else { "file" },
        edited_at: edit.as_ref().map(|e| e.at),
        edited_by: edit.as_ref().map(|e| e.actor.clone()),
        file: cluster.schedules.iter().map(spec_of).collect(),
        effective: snapshot_schedules(cluster, catalog)
            .iter()
            .map(spec_of)
            .collect(),
    }
}

/// Keep `specs` as `cluster`'s schedules (`Some`), or return to the file's
/// (`None`). `Err` is the reason a spec is refused (nothing changed).
pub fn set(
    services: &Services,
    cluster: &ClusterConfig,
    specs: Option<Vec<ScheduleSpec>>,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(), String> {
    let keep = |edit: Option<&ScheduleEdit>| {
        services
            .catalog
            .set_schedule_edit(&cluster.name, edit)
            .map(|_| ())
            .map_err(|e| format!("the catalog could not keep it: {e}"))
    };
    // A refused edit is in the audit log too, with its reason.
    let result = match &specs {
        Some(specs) => validate(specs).and_then(|_| {
            keep(Some(&ScheduleEdit {
                schedules: specs.clone(),
                at: now,
                actor: actor.to_string(),
            }))
        }),
        None => keep(None),
    };
    audit::record(
        &services.catalog,
        now,
        actor,
        if specs.is_some() {
            "schedule.edit"
        } else {
            "schedule.reset"
        },
        Some(&cluster.name),
        None,
        &result,
    );
    result
}
