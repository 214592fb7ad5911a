//! One function per practice: the facts it reads, the rule, the evidence.
//! Thresholds come from the planner's rule table (`plan::rules`).

use super::{Check, Facts, Shipped, SnapshotFacts, Status};
use crate::plan::quorum::member_count_warnings;
use crate::plan::rules;
use crate::units::human_bytes;

fn check(id: &str, title: &str, status: Status, evidence: String, fix: &str) -> Check {
    Check {
        id: id.to_string(),
        title: title.to_string(),
        status,
        evidence,
        fix: fix.to_string(),
    }
}

/// "3 h 5 min", "2 d 4 h", "40 s": an age for a person.
pub(super) fn age(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        3600..86_400 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

/// The live facts, or the check `unknown` with why they are missing.
fn live_or_unknown<'a>(
    f: &'a Facts,
    id: &str,
    title: &str,
    fix: &str,
    what: &str,
) -> Result<&'a super::LiveFacts, Check> {
    f.live
        .as_ref()
        .map_err(|e| check(id, title, Status::Unknown, format!("{what}: {e}"), fix))
}

fn done(f: &Facts) -> impl Iterator<Item = &SnapshotFacts> {
    f.snapshots.iter().filter(|s| s.done)
}

pub(super) fn member_count(f: &Facts) -> Check {
    const ID: &str = "member-count";
    const TITLE: &str = "An odd number of voting members, at most 7";
    const FIX: &str = "https://etcd.io/docs/v3.5/faq/#why-an-odd-number-of-cluster-members";
    let live = match live_or_unknown(f, ID, TITLE, FIX, "the member list was not read") {
        Ok(l) => l,
        Err(unknown) => return unknown,
    };
    let n = live.voting_members;
    let learners = if live.learners > 0 {
        format!(" (and {} learner(s), which do not vote)", live.learners)
    } else {
        String::new()
    };
    let warnings = member_count_warnings(n);
    if warnings.is_empty() {
        check(
            ID,
            TITLE,
            Status::Pass,
            format!("{n} voting members{learners}"),
            FIX,
        )
    } else {
        let why: Vec<String> = warnings.into_iter().map(|w| w.message).collect();
        check(ID, TITLE, Status::Warn, why.join("; ") + &learners, FIX)
    }
}

pub(super) fn disk_latency(f: &Facts) -> Check {
    const ID: &str = "disk-latency";
    const TITLE: &str = "Disk latency within etcd's guidance";
    const FIX: &str = "https://etcd.io/docs/v3.5/op-guide/hardware/#disks";
    let live = match live_or_unknown(f, ID, TITLE, FIX, "the members were not read") {
        Ok(l) => l,
        Err(unknown) => return unknown,
    };
    let mut over = Vec::new();
    let mut within = Vec::new();
    let mut unmeasured = Vec::new();
    for m in live.members.iter().filter(|m| !m.is_learner) {
        let mut measured = 0;
        for (what, lat, max) in [
            ("WAL fsync", m.wal_fsync, rules::WAL_FSYNC_P99_MAX_MS),
            (
                "backend commit",
                m.backend_commit,
                rules::BACKEND_COMMIT_P99_MAX_MS,
            ),
        ] {
            let Some(l) = lat.filter(|l| l.observations >= rules::LATENCY_MIN_OBSERVATIONS) else {
                continue;
            };
            measured += 1;
            if l.p99_ms > max {
                over.push(format!(
                    "{}: {what} p99 {:.1} ms > {max} ms",
                    m.name, l.p99_ms
                ));
            }
        }
        if measured == 2 {
            within.push(m.name.clone());
        } else {
            unmeasured.push(m.name.clone());
        }
    }
    if !over.is_empty() {
        return check(ID, TITLE, Status::Fail, over.join("; "), FIX);
    }
    if !unmeasured.is_empty() || within.is_empty() {
        return check(
            ID,
            TITLE,
            Status::Unknown,
            format!(
                "not measured on {} (no metrics, or fewer than {} observations since the last look){}",
                if unmeasured.is_empty() {
                    "any member".to_string()
                } else {
                    unmeasured.join(", ")
                },
                rules::LATENCY_MIN_OBSERVATIONS,
                if within.is_empty() {
                    String::new()
                } else {
                    format!("; within the guidance on {}", within.join(", "))
                }
            ),
            FIX,
        );
    }
    check(
        ID,
        TITLE,
        Status::Pass,
        format!(
            "WAL fsync p99 ≤ {} ms and backend commit p99 ≤ {} ms on {}",
            rules::WAL_FSYNC_P99_MAX_MS,
            rules::BACKEND_COMMIT_P99_MAX_MS,
            within.join(", ")
        ),
        FIX,
    )
}

pub(super) fn snapshot_schedule(f: &Facts) -> Check {
    const ID: &str = "snapshot-schedule";
    const TITLE: &str = "Snapshots on a schedule that is being met";
    const FIX: &str = "[[cluster.schedule]] in the server's configuration (etcd-lens.example.toml)";
    if f.schedules.is_empty() {
        return check(
            ID,
            TITLE,
            Status::Fail,
            "no snapshot schedule is configured".into(),
            FIX,
        );
    }
    if let Some(s) = f
        .schedules
        .iter()
        .find(|s| s.last_result.as_deref().is_some_and(|r| r != "ok"))
    {
        return check(
            ID,
            TITLE,
            Status::Fail,
            format!(
                "the last run of {:?} {}",
                s.name,
                s.last_result.as_deref().unwrap_or_default()
            ),
            FIX,
        );
    }
    let Some(period) = f.schedules.iter().filter_map(|s| s.period_seconds).min() else {
        return check(
            ID,
            TITLE,
            Status::Unknown,
            "the schedules have no next run".into(),
            FIX,
        );
    };
    // A run may take a while (15 min timeout by default): a period and a
    // half, unless the operator set the threshold.
    let allowed = f.stale_after_seconds.unwrap_or(period + period / 2);
    let newest = done(f).next();
    let Some(newest) = newest else {
        return check(
            ID,
            TITLE,
            Status::Fail,
            format!(
                "no finished snapshot yet; the schedule runs every {}",
                age(period)
            ),
            FIX,
        );
    };
    let old = f.now_unix - newest.taken_unix;
    if old > allowed {
        return check(
            ID,
            TITLE,
            Status::Fail,
            format!(
                "the newest finished snapshot ({}) is {} old, more than {} allowed; the schedule runs every {}",
                newest.id,
                age(old),
                age(allowed),
                age(period)
            ),
            FIX,
        );
    }
    let missed: u32 = f.schedules.iter().map(|s| s.missed_while_down).sum();
    let evidence = format!(
        "the newest finished snapshot ({}) is {} old; the schedule runs every {}",
        newest.id,
        age(old),
        age(period)
    );
    if missed > 0 {
        return check(
            ID,
            TITLE,
            Status::Warn,
            format!("{evidence}; {missed} run(s) were missed while the server was down"),
            FIX,
        );
    }
    check(ID, TITLE, Status::Pass, evidence, FIX)
}

pub(super) fn snapshots_encrypted(f: &Facts) -> Check {
    const ID: &str = "snapshots-encrypted";
    const TITLE: &str = "Snapshots encrypted";
    const FIX: &str = "`recipients` (age) of the cluster in the server's configuration";
    if f.recipients == 0 {
        return check(
            ID,
            TITLE,
            Status::Fail,
            "no age recipients are configured: snapshots are stored unencrypted, a plaintext copy of every Secret".into(),
            FIX,
        );
    }
    let plain: Vec<&str> = done(f)
        .filter(|s| !s.encrypted)
        .map(|s| s.id.as_str())
        .collect();
    match done(f).next() {
        Some(n) if !n.encrypted => check(
            ID,
            TITLE,
            Status::Fail,
            format!("the newest snapshot ({}) is stored unencrypted", n.id),
            FIX,
        ),
        _ if !plain.is_empty() => check(
            ID,
            TITLE,
            Status::Warn,
            format!(
                "encrypted to {} recipient(s) now, but {} older snapshot(s) are stored unencrypted: {}",
                f.recipients,
                plain.len(),
                plain.join(", ")
            ),
            FIX,
        ),
        _ => check(
            ID,
            TITLE,
            Status::Pass,
            format!(
                "encrypted to {} age recipient(s); {} stored snapshot(s), all encrypted",
                f.recipients,
                done(f).count()
            ),
            FIX,
        ),
    }
}

pub(super) fn snapshots_shipped(f: &Facts) -> Check {
    const ID: &str = "snapshots-shipped";
    const TITLE: &str = "Snapshots shipped off the cluster";
    const FIX: &str =
        "[cluster.store] in the server's configuration (a local folder on another disk, or S3)";
    let Some(store) = &f.store else {
        return check(
            ID,
            TITLE,
            Status::Fail,
            "no object store is configured: the snapshots stay on this server's disk".into(),
            FIX,
        );
    };
    let Some(newest) = done(f).next() else {
        return check(
            ID,
            TITLE,
            Status::Unknown,
            format!("shipping to {store:?} is configured; no snapshot yet"),
            FIX,
        );
    };
    let previous_shipped = done(f).skip(1).find_map(|s| match s.shipped {
        Shipped::Done { at_unix } => Some((s.id.as_str(), at_unix)),
        _ => None,
    });
    match &newest.shipped {
        Shipped::Done { at_unix } => check(
            ID,
            TITLE,
            Status::Pass,
            format!(
                "the newest snapshot ({}) was shipped to {store:?} {} ago",
                newest.id,
                age(f.now_unix - at_unix)
            ),
            FIX,
        ),
        Shipped::Pending { error: Some(e) } => check(
            ID,
            TITLE,
            Status::Fail,
            format!(
                "the newest snapshot ({}) is not shipped to {store:?}: {e}",
                newest.id
            ),
            FIX,
        ),
        Shipped::Pending { error: None } => check(
            ID,
            TITLE,
            Status::Warn,
            format!(
                "the newest snapshot ({}) is being shipped to {store:?}{}",
                newest.id,
                previous_shipped
                    .map(|(id, _)| format!("; the one before ({id}) is there"))
                    .unwrap_or_default()
            ),
            FIX,
        ),
        Shipped::No => check(
            ID,
            TITLE,
            Status::Fail,
            format!(
                "the newest snapshot ({}) was not shipped to {store:?}",
                newest.id
            ),
            FIX,
        ),
    }
}

pub(super) fn pre_upgrade_snapshot(f: &Facts) -> Check {
    const ID: &str = "pre-upgrade-snapshot";
    const TITLE: &str = "A snapshot taken before the last version change";
    const FIX: &str = "`etcd-lens snapshot save --reason pre-upgrade` (or POST …/snapshots?reason=pre-upgrade) before every upgrade; https://etcd.io/docs/v3.5/upgrades/";
    // Versions seen over time, oldest first: the snapshots' source members,
    // then the live members now.
    let mut seen: Vec<(i64, String, Option<&SnapshotFacts>)> = done(f)
        .filter(|s| !s.etcd_version.is_empty())
        .map(|s| (s.taken_unix, s.etcd_version.clone(), Some(s)))
        .collect();
    seen.reverse();
    if let Ok(live) = &f.live {
        // During a rolling upgrade the members differ: the highest is the new one.
        if let Some(v) = live
            .members
            .iter()
            .filter_map(|m| m.version.clone())
            .max_by(|a, b| version_cmp(a, b))
        {
            seen.push((f.now_unix, v, None));
        }
    }
    if seen.is_empty() {
        return check(
            ID,
            TITLE,
            Status::Unknown,
            "no version seen: no snapshot with its member's version, and the cluster was not read"
                .into(),
            FIX,
        );
    }
    let Some(i) = (1..seen.len()).rev().find(|&i| seen[i].1 != seen[i - 1].1) else {
        return check(
            ID,
            TITLE,
            Status::Pass,
            format!(
                "no version change seen: etcd {} in every snapshot since {} ago{}",
                seen[0].1,
                age(f.now_unix - seen[0].0),
                if f.live.is_ok() {
                    " and on the live members"
                } else {
                    ""
                }
            ),
            FIX,
        );
    };
    let (old, new, changed_by) = (&seen[i - 1].1, &seen[i].1, seen[i].0);
    let before: Vec<&SnapshotFacts> = seen[..i]
        .iter()
        .rev()
        .take_while(|(_, v, _)| v == old)
        .filter_map(|(_, _, s)| *s)
        .collect();
    let when = if seen[i].2.is_none() {
        "seen on the live members now".to_string()
    } else {
        format!("first seen {} ago", age(f.now_unix - changed_by))
    };
    if let Some(p) = before.iter().find(|s| s.reason == "pre-upgrade") {
        return check(
            ID,
            TITLE,
            Status::Pass,
            format!(
                "etcd {old} → {new} ({when}): snapshot {} (pre-upgrade, pinned) was taken at {old}",
                p.id
            ),
            FIX,
        );
    }
    let last = before.first();
    check(
        ID,
        TITLE,
        Status::Warn,
        format!(
            "etcd {old} → {new} ({when}): no pre-upgrade snapshot{}; retention may prune it",
            last.map(|s| format!(", only the {} snapshot {} taken at {old}", s.reason, s.id))
                .unwrap_or_default()
        ),
        FIX,
    )
}

/// Order etcd versions numerically ("3.5.10" after "3.5.9").
fn version_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let parts = |v: &str| -> Vec<u64> {
        v.trim_start_matches('v')
            .split(['.', '-', '+'])
            .map(|p| p.parse().unwrap_or(0))
            .collect()
    };
    parts(a).cmp(&parts(b))
}

pub(super) fn restore_drill(f: &Facts) -> Check {
    const ID: &str = "restore-drill";
    const TITLE: &str = "A restore drill passed recently";
    const FIX: &str = "[cluster.drill] with a schedule in the server's configuration; `etcd-lens drill --snapshot ID`";
    if !f.drills_enabled {
        return check(
            ID,
            TITLE,
            Status::Fail,
            "restore drills are not enabled for this cluster: no snapshot has been proven to restore".into(),
            FIX,
        );
    }
    let max = f.drill_max_age_seconds;
    let mut drills: Vec<(&SnapshotFacts, &super::DrillFacts)> = f
        .snapshots
        .iter()
        .filter_map(|s| s.drill.as_ref().map(|d| (s, d)))
        .collect();
    drills.sort_by_key(|(_, d)| std::cmp::Reverse(d.at_unix));
    let schedule = f
        .drill_schedule
        .as_ref()
        .map(|p| format!(" (drill schedule {p})"))
        .unwrap_or_else(|| " (no drill schedule)".into());
    let Some((s, newest)) = drills.first() else {
        return check(
            ID,
            TITLE,
            Status::Fail,
            format!("no drill has run{schedule}"),
            FIX,
        );
    };
    if !newest.passed {
        return check(
            ID,
            TITLE,
            Status::Fail,
            format!(
                "the newest drill (snapshot {}, {} ago) {}: {}",
                s.id,
                age(f.now_unix - newest.at_unix),
                newest.verdict.replace('_', " "),
                newest.detail.as_deref().unwrap_or("no detail")
            ),
            FIX,
        );
    }
    let old = f.now_unix - newest.at_unix;
    let evidence = format!(
        "snapshot {} restored and verified {} ago{schedule}",
        s.id,
        age(old)
    );
    if old > max {
        return check(
            ID,
            TITLE,
            Status::Fail,
            format!("{evidence}: older than {}", age(max)),
            FIX,
        );
    }
    check(ID, TITLE, Status::Pass, evidence, FIX)
}

pub(super) fn secrets_encrypted(f: &Facts) -> Check {
    const ID: &str = "secrets-encrypted";
    const TITLE: &str = "Secrets encrypted at rest";
    const FIX: &str = "https://kubernetes.io/docs/tasks/administer-cluster/encrypt-data/ (then rewrite every Secret: kubectl get secrets -A -o json | kubectl replace -f -)";
    let s = match &f.secrets {
        Err(e) => {
            return check(ID, TITLE, Status::Unknown, e.clone(), FIX);
        }
        Ok(s) => s,
    };
    let newest = done(f).next().map(|n| n.id.as_str());
    let of = if newest == Some(s.snapshot_id.as_str()) {
        format!("in the newest snapshot ({})", s.snapshot_id)
    } else {
        format!(
            "in snapshot {} ({} old; not the newest)",
            s.snapshot_id,
            age(f.now_unix - s.taken_unix)
        )
    };
    if s.secrets_total == 0 {
        return check(ID, TITLE, Status::Pass, format!("no Secrets {of}"), FIX);
    }
    if s.plaintext > 0 {
        return check(
            ID,
            TITLE,
            Status::Fail,
            format!(
                "{} of {} Secrets {of} are stored in plaintext",
                s.plaintext, s.secrets_total
            ),
            FIX,
        );
    }
    let providers: Vec<String> = s
        .per_provider
        .iter()
        .map(|(p, n)| format!("{p}: {n}"))
        .collect();
    if s.unreadable > 0 {
        return check(
            ID,
            TITLE,
            Status::Warn,
            format!(
                "{} of {} Secrets {of} are neither plaintext nor a known envelope ({})",
                s.unreadable,
                s.secrets_total,
                providers.join(", ")
            ),
            FIX,
        );
    }
    check(
        ID,
        TITLE,
        Status::Pass,
        format!(
            "all {} Secrets {of} are encrypted ({})",
            s.secrets_total,
            providers.join(", ")
        ),
        FIX,
    )
}

pub(super) fn quota(f: &Facts) -> Check {
    const ID: &str = "quota";
    const TITLE: &str = "Database size well under the quota";
    const FIX: &str = "https://etcd.io/docs/v3.5/op-guide/maintenance/#space-quota (compact and defragment: `etcd-lens defrag`; or raise --quota-backend-bytes)";
    let live = match live_or_unknown(f, ID, TITLE, FIX, "the members were not read") {
        Ok(l) => l,
        Err(unknown) => return unknown,
    };
    if live
        .alarms
        .iter()
        .any(|a| a.eq_ignore_ascii_case("NOSPACE"))
    {
        return check(
            ID,
            TITLE,
            Status::Fail,
            "a NOSPACE alarm is raised: the cluster takes no writes".into(),
            FIX,
        );
    }
    let mut worst: Option<(f64, &str, u64, u64)> = None;
    let mut unknown = Vec::new();
    for m in &live.members {
        match (m.db_size_bytes, m.quota_bytes) {
            (Some(db), Some(q)) if q > 0 => {
                let r = db as f64 / q as f64;
                if worst.is_none_or(|w| r > w.0) {
                    worst = Some((r, m.name.as_str(), db, q));
                }
            }
            _ => unknown.push(m.name.as_str()),
        }
    }
    let Some((r, name, db, q)) = worst else {
        return check(
            ID,
            TITLE,
            Status::Unknown,
            "no member reported both its database size and its quota (the quota comes from its metrics)".into(),
            FIX,
        );
    };
    let evidence = format!(
        "largest: {name}, {} of {} ({:.0} %){}",
        human_bytes(db),
        human_bytes(q),
        r * 100.0,
        if unknown.is_empty() {
            String::new()
        } else {
            format!("; not reported by {}", unknown.join(", "))
        }
    );
    let status = if r >= 1.0 {
        Status::Fail
    } else if r > rules::QUOTA_WARN_RATIO {
        Status::Warn
    } else if unknown.is_empty() {
        Status::Pass
    } else {
        Status::Unknown
    };
    check(ID, TITLE, status, evidence, FIX)
}
