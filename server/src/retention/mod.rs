//! Which snapshots to keep: pure decisions over catalog facts and a clock
//! passed in. Nothing here deletes; `ops` applies a plan.
//!
//! The rules, each of which can only *keep* a snapshot (a snapshot is
//! deleted when no rule keeps it):
//! - `pinned`: pinned and `pre-upgrade` snapshots are never pruned by retention;
//! - `newest-verified`: the newest verified snapshot of the cluster, always;
//! - `keep-last`: the newest N;
//! - `keep-within`: everything younger than a duration;
//! - grandfather-father-son (`gfs-*`): everything younger than `all`, then the
//!   newest per UTC hour for the next `hourly` hours, per UTC day for the
//!   next `daily` days, per ISO week for the next `weekly` weeks, per month
//!   for the next `monthly` months (the windows follow one another, measured
//!   from now);
//! - `min-verified`: if fewer than N verified snapshots survive, the newest
//!   verified ones are kept until N do.
//!
//! Order is by the catalog's `started_at` (then id), never by file names or
//! modification times. A snapshot counts as verified when its trailer digest
//! matched at save (every catalogued snapshot) and no restore drill has
//! failed it (`verified` is the caller's fact).
//!
//! With no rule configured, nothing is deleted.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Duration, Utc};
use serde::{Deserialize, Serialize};

/// A cluster's retention policy (`[cluster.retention]` in the config).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub keep_last: Option<usize>,
    pub keep_within_hours: Option<u32>,
    pub gfs: Option<Gfs>,
    /// Never fewer verified snapshots than this (default 1: the newest one).
    #[serde(default = "one")]
    pub min_verified: usize,
}

fn one() -> usize {
    1
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            keep_last: None,
            keep_within_hours: None,
            gfs: None,
            min_verified: 1,
        }
    }
}

/// Grandfather-father-son windows, one after another from now.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Gfs {
    /// Every snapshot for this many hours.
    #[serde(default = "h24")]
    pub all_hours: u32,
    /// Then the newest per hour for this many hours.
    #[serde(default = "h24")]
    pub hourly_hours: u32,
    /// Then the newest per day for this many days.
    #[serde(default = "d7")]
    pub daily_days: u32,
    /// Then the newest per ISO week for this many weeks.
    #[serde(default = "w4")]
    pub weekly_weeks: u32,
    /// Then the newest per month for this many months (30 days each).
    #[serde(default = "m12")]
    pub monthly_months: u32,
}

fn h24() -> u32 {
    24
}
fn d7() -> u32 {
    7
}
fn w4() -> u32 {
    4
}
fn m12() -> u32 {
    12
}

impl Default for Gfs {
    fn default() -> Self {
        Self {
            all_hours: 24,
            hourly_hours: 24,
            daily_days: 7,
            weekly_weeks: 4,
            monthly_months: 12,
        }
    }
}

impl Policy {
    /// Whether any pruning rule is set (otherwise retention keeps everything).
    pub fn prunes(&self) -> bool {
        self.keep_last.is_some() || self.keep_within_hours.is_some() || self.gfs.is_some()
    }
}

/// What retention needs to know of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub id: String,
    pub taken_at: DateTime<Utc>,
    pub verified: bool,
    /// Pinned by hand or taken `pre-upgrade`.
    pub pinned: bool,
}

/// The verdict on one snapshot, with every rule that keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub id: String,
    pub taken_at: DateTime<Utc>,
    pub keep: bool,
    /// Rule codes that keep it (`pinned`, `newest-verified`, `keep-last`,
    /// `keep-within`, `gfs-all`, `gfs-hourly`, `gfs-daily`, `gfs-weekly`,
    /// `gfs-monthly`, `min-verified`); empty when it is deleted.
    pub kept_by: Vec<&'static str>,
    /// Why it goes, when it goes.
    pub reason: Option<String>,
}

/// Decide, newest first. `now` is the time the plan is for.
pub fn plan(snapshots: &[Candidate], policy: &Policy, now: DateTime<Utc>) -> Vec<Decision> {
    let mut order: Vec<&Candidate> = snapshots.iter().collect();
    order.sort_by(|a, b| (b.taken_at, &b.id).cmp(&(a.taken_at, &a.id)));
    let mut kept: Vec<Vec<&'static str>> = vec![Vec::new(); order.len()];
    let prunes = policy.prunes();

    for (i, c) in order.iter().enumerate() {
        if c.pinned {
            kept[i].push("pinned");
        }
        if !prunes {
            kept[i].push("no-policy");
        }
    }
    if let Some(i) = order.iter().position(|c| c.verified) {
        kept[i].push("newest-verified");
    }
    if let Some(n) = policy.keep_last {
        for k in kept.iter_mut().take(n) {
            k.push("keep-last");
        }
    }
    if let Some(h) = policy.keep_within_hours {
        let since = now - Duration::hours(i64::from(h));
        for (i, c) in order.iter().enumerate() {
            if c.taken_at >= since {
                kept[i].push("keep-within");
            }
        }
    }
    if let Some(g) = &policy.gfs {
        gfs(&order, g, now, &mut kept);
    }
    // min-verified: newest verified first until enough survive.
    let survivors = |kept: &[Vec<&'static str>]| {
        order
            .iter()
            .zip(kept)
            .filter(|(c, k)| c.verified && !k.is_empty())
            .count()
    };
    let mut have = survivors(&kept);
    for (i, c) in order.iter().enumerate() {
        if have >= policy.min_verified {
            break;
        }
        if c.verified && kept[i].is_empty() {
            kept[i].push("min-verified");
            have += 1;
        }
    }

    order
        .iter()
        .zip(kept)
        .map(|(c, kept_by)| Decision {
            id: c.id.clone(),
            taken_at: c.taken_at,
            keep: !kept_by.is_empty(),
            reason: kept_by.is_empty().then(|| describe(c, policy, now)),
            kept_by,
        })
        .collect()
}

fn gfs(order: &[&Candidate], g: &Gfs, now: DateTime<Utc>, kept: &mut [Vec<&'static str>]) {
    let all_end = now - Duration::hours(i64::from(g.all_hours));
    let hourly_end = all_end - Duration::hours(i64::from(g.hourly_hours));
    let daily_end = hourly_end - Duration::days(i64::from(g.daily_days));
    let weekly_end = daily_end - Duration::weeks(i64::from(g.weekly_weeks));
    let monthly_end = weekly_end - Duration::days(30 * i64::from(g.monthly_months));
    // Newest first, so the first snapshot seen in a bucket is its newest.
    let mut seen: BTreeSet<(&'static str, i64)> = BTreeSet::new();
    for (i, c) in order.iter().enumerate() {
        let t = c.taken_at;
        let (rule, bucket) = if t > now {
            // From the future (a clock step): keep, it is not ours to judge.
            ("gfs-all", 0)
        } else if t >= all_end {
            ("gfs-all", 0)
        } else if t >= hourly_end {
            ("gfs-hourly", t.timestamp().div_euclid(3600))
        } else if t >= daily_end {
            ("gfs-daily", i64::from(t.num_days_from_ce()))
        } else if t >= weekly_end {
            let w = t.iso_week();
            (
                "gfs-weekly",
                i64::from(w.year()) * 100 + i64::from(w.week()),
            )
        } else if t >= monthly_end {
            (
                "gfs-monthly",
                i64::from(t.year()) * 100 + i64::from(t.month()),
            )
        } else {
            continue;
        };
        if rule == "gfs-all" || seen.insert((rule, bucket)) {
            kept[i].push(rule);
        }
    }
}

fn describe(c: &Candidate, policy: &Policy, now: DateTime<Utc>) -> String {
    let age_h = (now - c.taken_at).num_minutes() as f64 / 60.0;
    let mut why = vec![format!("{age_h:.1} h old")];
    if let Some(n) = policy.keep_last {
        why.push(format!("not among the newest {n}"));
    }
    if let Some(h) = policy.keep_within_hours {
        why.push(format!("older than {h} h"));
    }
    if policy.gfs.is_some() {
        why.push("not the newest of its GFS bucket, or older than every GFS window".into());
    }
    if !c.verified {
        why.push("not verified".into());
    }
    why.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    /// Hourly snapshots for 400 days before `now` (a little over the GFS windows).
    fn hourly_for_a_year(now: DateTime<Utc>) -> Vec<Candidate> {
        (0..400 * 24)
            .map(|h| {
                let t = now - Duration::hours(h);
                Candidate {
                    id: format!("s-{h:05}"),
                    taken_at: t,
                    verified: true,
                    pinned: false,
                }
            })
            .collect()
    }

    fn kept(d: &[Decision]) -> Vec<&str> {
        d.iter().filter(|d| d.keep).map(|d| d.id.as_str()).collect()
    }

    #[test]
    fn no_policy_keeps_everything() {
        let now = at("2026-12-01T00:00:00Z");
        let s = hourly_for_a_year(now);
        let d = plan(&s, &Policy::default(), now);
        assert!(d.iter().all(|d| d.keep));
    }

    #[test]
    fn keep_last_and_the_newest_verified() {
        let now = at("2026-12-01T00:00:00Z");
        let mut s = hourly_for_a_year(now)[..10].to_vec();
        // The two newest are unverified: the newest verified is kept beyond keep-last.
        s[0].verified = false;
        s[1].verified = false;
        let p = Policy {
            keep_last: Some(2),
            min_verified: 1,
            ..Default::default()
        };
        let d = plan(&s, &p, now);
        assert_eq!(kept(&d), ["s-00000", "s-00001", "s-00002"]);
        assert_eq!(d[2].kept_by, ["newest-verified"]);
        assert!(
            d[3].reason
                .as_deref()
                .unwrap()
                .contains("not among the newest 2")
        );
    }

    #[test]
    fn pinned_snapshots_and_min_verified_survive() {
        let now = at("2026-12-01T00:00:00Z");
        let mut s = hourly_for_a_year(now)[..48].to_vec();
        s[40].pinned = true;
        let p = Policy {
            keep_within_hours: Some(3),
            min_verified: 6,
            ..Default::default()
        };
        let d = plan(&s, &p, now);
        // Ages 0..=3 h within (4) and the pinned one (verified too) make 5 verified
        // survivors; min-verified adds the next newest (age 4 h) to reach 6.
        assert_eq!(
            kept(&d),
            [
                "s-00000", "s-00001", "s-00002", "s-00003", "s-00004", "s-00040"
            ]
        );
        assert_eq!(d[4].kept_by, ["min-verified"]);
        assert_eq!(d[40].kept_by, ["pinned"]);
    }

    #[test]
    fn order_is_by_time_not_by_name() {
        // Names sorting the other way round (a renamed node) do not fool it.
        let now = at("2026-12-01T00:00:00Z");
        let s = vec![
            Candidate {
                id: "z-old".into(),
                taken_at: now - Duration::hours(5),
                verified: true,
                pinned: false,
            },
            Candidate {
                id: "a-new".into(),
                taken_at: now - Duration::hours(1),
                verified: true,
                pinned: false,
            },
        ];
        let d = plan(
            &s,
            &Policy {
                keep_last: Some(1),
                ..Default::default()
            },
            now,
        );
        assert_eq!(kept(&d), ["a-new"]);
    }

    /// Hourly snapshots for 400 days (back to 2025-10-27T01:00), the default GFS
    /// windows, now at midnight UTC (a Tuesday, 2026-12-01). Survivors counted by hand:
    /// - gfs-all, ages 0..=24 h (≥ now − 24 h): 25 snapshots (24 h down to 0 inclusive);
    /// - gfs-hourly, ages 25..=48 h: one per hour, 24;
    /// - gfs-daily, ages (48 h, 48 h + 7 d]: days 2026-11-22 … 2026-11-28 fully inside
    ///   (7 days, the newest of each at 23:00), plus 2026-11-21 23:00? No: the window
    ///   ends at 2026-11-22T00:00 (48 h + 7 d = 9 d before now), and ≥ is inclusive,
    ///   so 2026-11-22T00:00 is in it as a member of day 11-22 (whose newest, 23:00,
    ///   is kept already): 7 snapshots;
    /// - gfs-weekly, from 2026-11-22T00:00 back 4 weeks to 2026-10-25T00:00: ISO weeks
    ///   whose newest snapshot falls in the window — week 47 (11-16…11-22) has its
    ///   newest at 11-21T23:00 (11-22 is daily's), week 46, 45, 44 (10-26…11-01), and
    ///   week 43, whose Sunday 10-25 lies wholly in the window (it starts at
    ///   10-25T00:00): its newest, 10-25T23:00: 5;
    /// - gfs-monthly, from 2026-10-25 back 360 days to 2025-10-30T00:00: the newest
    ///   of October 2026 (10-24T23:00), then September 2026 … November 2025 (11
    ///   months' newest), and October 2025's newest within the window (10-31T23:00): 13;
    /// - older than 2025-10-30T00:00 (10-27T01:00 … 10-29T23:00): no window, deleted.
    ///
    /// Total 25 + 24 + 7 + 5 + 13 = 74.
    #[test]
    fn grandfather_father_son_over_a_year() {
        let now = at("2026-12-01T00:00:00Z");
        let s = hourly_for_a_year(now);
        let p = Policy {
            gfs: Some(Gfs::default()),
            min_verified: 1,
            ..Default::default()
        };
        let d = plan(&s, &p, now);
        let count = |rule: &str| d.iter().filter(|d| d.kept_by.contains(&rule)).count();
        assert_eq!(
            [
                count("gfs-all"),
                count("gfs-hourly"),
                count("gfs-daily"),
                count("gfs-weekly"),
                count("gfs-monthly")
            ],
            [25, 24, 7, 5, 13]
        );
        let survivors: Vec<String> = d
            .iter()
            .filter(|d| {
                d.keep && !d.kept_by.contains(&"gfs-all") && !d.kept_by.contains(&"gfs-hourly")
            })
            .map(|d| d.taken_at.format("%Y-%m-%dT%H").to_string())
            .collect();
        assert_eq!(
            survivors,
            [
                // daily: the newest of 11-28 … 11-22
                "2026-11-28T23",
                "2026-11-27T23",
                "2026-11-26T23",
                "2026-11-25T23",
                "2026-11-24T23",
                "2026-11-23T23",
                "2026-11-22T23",
                // weekly: ISO weeks 47, 46, 45, 44, 43
                "2026-11-21T23",
                "2026-11-15T23",
                "2026-11-08T23",
                "2026-11-01T23",
                "2026-10-25T23",
                // monthly
                "2026-10-24T23",
                "2026-09-30T23",
                "2026-08-31T23",
                "2026-07-31T23",
                "2026-06-30T23",
                "2026-05-31T23",
                "2026-04-30T23",
                "2026-03-31T23",
                "2026-02-28T23",
                "2026-01-31T23",
                "2025-12-31T23",
                "2025-11-30T23",
                "2025-10-31T23",
            ]
        );
        assert_eq!(d.iter().filter(|d| d.keep).count(), 74);
        let gone = d.iter().find(|d| !d.keep).unwrap();
        assert!(gone.reason.is_some() && gone.kept_by.is_empty());
        assert!(
            !d.last().unwrap().keep,
            "the oldest, outside every window, goes"
        );
    }
}
