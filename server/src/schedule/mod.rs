//! Cron schedules: when the next run is, and which runs were missed.
//! Pure: every answer is for a `now` the caller passes in.
//!
//! Patterns are 5 fields (minute granularity) or 6 (with seconds first),
//! parsed by `croner`, evaluated in the schedule's IANA time zone
//! (`chrono-tz`; default UTC), so "02:00 Europe/Berlin" stays 02:00 across
//! daylight-saving changes (a time that does not exist that day, skipped by
//! the clock change, runs at the first instant after the gap, as Vixie cron
//! does: the day's snapshot is not lost).

use std::str::FromStr;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds};
use serde::{Deserialize, Serialize};

/// How many missed runs are counted at most (a server down for a year on a
/// per-second schedule must not loop for long).
pub const MAX_MISSED_COUNTED: u32 = 10_000;

/// A `[[cluster.schedule]]` table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleSpec {
    /// A name for the page and the logs (default: the pattern).
    pub name: Option<String>,
    /// `0 * * * *` (5 fields) or `*/10 * * * * *` (6, seconds first).
    pub cron: String,
    /// IANA name, e.g. `Europe/Berlin` (default `UTC`).
    pub time_zone: Option<String>,
    /// At start, take one snapshot when the last one is older than the
    /// schedule's period (the runs missed while the server was down).
    #[serde(default)]
    pub catch_up: bool,
}

/// A parsed schedule.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub name: String,
    pub pattern: String,
    pub tz: Tz,
    pub catch_up: bool,
    cron: Cron,
}

impl Schedule {
    pub fn parse(spec: &ScheduleSpec) -> Result<Self, String> {
        let fields = spec.cron.split_whitespace().count();
        if !(fields == 5 || fields == 6) {
            return Err(format!(
                "{:?}: a cron pattern has 5 fields (minute hour day month weekday) or 6 (seconds first), not {fields}",
                spec.cron
            ));
        }
        let cron = CronParser::builder()
            .seconds(Seconds::Optional)
            .build()
            .parse(&spec.cron)
            .map_err(|e| format!("{:?}: {e}", spec.cron))?;
        let tz = match &spec.time_zone {
            None => Tz::UTC,
            Some(z) => Tz::from_str(z).map_err(|_| {
                format!("{z:?} is not an IANA time zone (e.g. `Europe/Berlin`, `UTC`)")
            })?,
        };
        Ok(Self {
            name: spec.name.clone().unwrap_or_else(|| spec.cron.clone()),
            pattern: spec.cron.clone(),
            tz,
            catch_up: spec.catch_up,
            cron,
        })
    }

    /// The first run strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron
            .find_next_occurrence(&t.with_timezone(&self.tz), false)
            .ok()
            .map(|n| n.with_timezone(&Utc))
    }

    /// Runs due in `(since, until]` that did not happen (the server was
    /// down): their count (at most [`MAX_MISSED_COUNTED`]) and the first.
    pub fn missed(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> (u32, Option<DateTime<Utc>>) {
        let mut n = 0;
        let mut first = None;
        let mut t = since;
        while let Some(next) = self.next_after(t) {
            if next > until || n >= MAX_MISSED_COUNTED {
                break;
            }
            first.get_or_insert(next);
            n += 1;
            t = next;
        }
        (n, first)
    }

    /// The interval between the two runs after `t`: the schedule's period
    /// there (cron periods vary; this is the local one).
    pub fn period_at(&self, t: DateTime<Utc>) -> Option<chrono::Duration> {
        let a = self.next_after(t)?;
        let b = self.next_after(a)?;
        Some(b - a)
    }

    /// Whether a catch-up snapshot is due at start: the newest snapshot is
    /// older than the schedule's period (or there is none).
    pub fn catch_up_due(&self, newest: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
        if !self.catch_up {
            return false;
        }
        match (newest, self.period_at(now)) {
            (None, _) => true,
            (Some(t), Some(p)) => now - t > p,
            (Some(_), None) => false,
        }
    }
}

/// What a schedule runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleKind {
    /// Take a snapshot (then retention).
    #[default]
    Snapshot,
    /// A restore drill of the cluster's newest snapshot.
    Drill,
}

/// A schedule's state, as the page shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ScheduleState {
    pub name: String,
    pub kind: ScheduleKind,
    pub pattern: String,
    pub time_zone: String,
    pub next_run: Option<DateTime<Utc>>,
    pub last_run: Option<DateTime<Utc>>,
    /// `ok`, or the failure.
    pub last_result: Option<String>,
    /// The snapshot the last run took (or drilled).
    pub last_snapshot_id: Option<String>,
    /// Runs skipped because the previous one was still going.
    pub skipped_overlapping: u64,
    /// Runs due while the server was down (counted at start).
    pub missed_while_down: u32,
    pub first_missed: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn spec(cron: &str, tz: Option<&str>) -> ScheduleSpec {
        ScheduleSpec {
            name: None,
            cron: cron.into(),
            time_zone: tz.map(str::to_string),
            catch_up: true,
        }
    }

    #[test]
    fn five_and_six_fields() {
        let s = Schedule::parse(&spec("0 * * * *", None)).unwrap();
        assert_eq!(
            s.next_after(at("2026-12-01T10:15:00Z")),
            Some(at("2026-12-01T11:00:00Z"))
        );
        let s = Schedule::parse(&spec("*/10 * * * * *", None)).unwrap();
        assert_eq!(
            s.next_after(at("2026-12-01T10:15:03Z")),
            Some(at("2026-12-01T10:15:10Z"))
        );
        assert!(
            Schedule::parse(&spec("* * * *", None))
                .unwrap_err()
                .contains("5 fields")
        );
        assert!(Schedule::parse(&spec("61 * * * *", None)).is_err());
        assert!(
            Schedule::parse(&spec("0 * * * *", Some("Mars/Olympus")))
                .unwrap_err()
                .contains("IANA")
        );
    }

    #[test]
    fn time_zones_and_daylight_saving() {
        // 02:30 in Berlin: on 2026-03-29 clocks jump 02:00 → 03:00, so that day has no 02:30.
        let s = Schedule::parse(&spec("30 2 * * *", Some("Europe/Berlin"))).unwrap();
        assert_eq!(
            s.next_after(at("2026-12-01T00:00:00Z")),
            Some(at("2026-12-01T01:30:00Z")),
            "CET = UTC+1"
        );
        // No 02:30 that day: it runs at 03:00 CEST (01:00 UTC), right after the gap.
        assert_eq!(
            s.next_after(at("2026-03-28T02:00:00Z")),
            Some(at("2026-03-29T01:00:00Z"))
        );
        // Summer time: 02:30 CEST = 00:30 UTC.
        assert_eq!(
            s.next_after(at("2026-06-01T12:00:00Z")),
            Some(at("2026-06-02T00:30:00Z"))
        );
    }

    #[test]
    fn missed_runs_and_catch_up() {
        let s = Schedule::parse(&spec("0 * * * *", None)).unwrap();
        let (n, first) = s.missed(at("2026-12-01T10:30:00Z"), at("2026-12-01T14:10:00Z"));
        assert_eq!((n, first), (4, Some(at("2026-12-01T11:00:00Z"))));
        assert_eq!(
            s.period_at(at("2026-12-01T10:30:00Z")),
            Some(chrono::Duration::hours(1))
        );
        let now = at("2026-12-01T14:10:00Z");
        assert!(s.catch_up_due(Some(at("2026-12-01T12:59:00Z")), now));
        assert!(!s.catch_up_due(Some(at("2026-12-01T13:30:00Z")), now));
        assert!(s.catch_up_due(None, now));
        let every_second = Schedule::parse(&spec("* * * * * *", None)).unwrap();
        let (n, _) = every_second.missed(at("2026-01-01T00:00:00Z"), at("2026-12-01T00:00:00Z"));
        assert_eq!(n, MAX_MISSED_COUNTED, "bounded");
    }
}
