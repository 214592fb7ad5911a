//! Every practice met, then each broken alone: exactly its check moves.

use super::*;

const NOW: i64 = 1_800_000_000;
const H: i64 = 3600;

fn member(name: &str, version: &str) -> MemberFacts {
    MemberFacts {
        name: name.into(),
        reachable: true,
        is_learner: false,
        version: Some(version.into()),
        db_size_bytes: Some(100 << 20),
        quota_bytes: Some(2 << 30),
        wal_fsync: Some(Latency {
            p99_ms: 2.0,
            observations: 500.0,
        }),
        backend_commit: Some(Latency {
            p99_ms: 4.0,
            observations: 500.0,
        }),
    }
}

fn snap(id: &str, taken: i64, version: &str, reason: &str) -> SnapshotFacts {
    SnapshotFacts {
        id: id.into(),
        taken_unix: taken,
        done: true,
        reason: reason.into(),
        encrypted: true,
        shipped: Shipped::Done {
            at_unix: taken + 60,
        },
        etcd_version: version.into(),
        drill: None,
    }
}

/// A cluster that follows every practice.
fn good() -> Facts {
    let mut newest = snap("s4", NOW - H / 2, "3.5.2", "scheduled");
    newest.drill = Some(DrillFacts {
        at_unix: NOW - H / 4,
        passed: true,
        verdict: "passed".into(),
        detail: None,
    });
    Facts {
        cluster: "prod".into(),
        now_unix: NOW,
        live: Ok(LiveFacts {
            voting_members: 3,
            learners: 0,
            members: vec![
                member("a", "3.5.2"),
                member("b", "3.5.2"),
                member("c", "3.5.2"),
            ],
            alarms: vec![],
        }),
        schedules: vec![ScheduleFacts {
            name: "hourly".into(),
            period_seconds: Some(H),
            last_run_unix: Some(NOW - H / 2),
            last_result: Some("ok".into()),
            missed_while_down: 0,
        }],
        snapshots: vec![
            newest,
            snap("s3", NOW - 3 * H / 2, "3.5.2", "scheduled"),
            snap("s2", NOW - 2 * H, "3.5.1", "pre-upgrade"),
            snap("s1", NOW - 3 * H, "3.5.1", "scheduled"),
        ],
        recipients: 1,
        store: Some("s3://backups".into()),
        drills_enabled: true,
        drill_schedule: Some("0 4 * * *".into()),
        secrets: Ok(SecretsFacts {
            snapshot_id: "s4".into(),
            taken_unix: NOW - H / 2,
            secrets_total: 12,
            plaintext: 0,
            encrypted: 12,
            unreadable: 0,
            per_provider: [("aescbc".to_string(), 12)].into(),
        }),
        drill_max_age_seconds: DEFAULT_DRILL_MAX_AGE_SECONDS,
        stale_after_seconds: None,
    }
}

fn statuses(card: &Scorecard) -> Vec<(&str, Status)> {
    card.checks
        .iter()
        .map(|c| (c.id.as_str(), c.status))
        .collect()
}

/// Only `id` differs from all-pass, and it has `want`.
fn only(f: &Facts, id: &str, want: Status, evidence_has: &str) {
    let card = score(f);
    for (cid, st) in statuses(&card) {
        if cid == id {
            let c = card.checks.iter().find(|c| c.id == id).unwrap();
            assert_eq!(st, want, "{id}: {c:?}");
            assert!(
                c.evidence.contains(evidence_has),
                "{id}: {:?} lacks {evidence_has:?}",
                c.evidence
            );
        } else {
            assert_eq!(
                st,
                Status::Pass,
                "{cid} moved when {id} was broken: {card:#?}"
            );
        }
    }
}

#[test]
fn every_practice_met_passes_with_evidence() {
    let card = score(&good());
    let ids: Vec<&str> = card.checks.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, CHECK_IDS);
    for c in &card.checks {
        assert_eq!(c.status, Status::Pass, "{c:?}");
        assert!(!c.evidence.is_empty() && !c.fix.is_empty(), "{c:?}");
    }
    assert_eq!(card.worst, Status::Pass);
    assert_eq!(card.counts.get(&Status::Pass), Some(&9));
    let pre = &card.checks[5];
    assert_eq!(
        pre.evidence,
        "etcd 3.5.1 → 3.5.2 (first seen 1 h 30 min ago): snapshot s2 (pre-upgrade, pinned) was taken at 3.5.1"
    );
    assert_eq!(
        card.checks[8].evidence,
        "largest: a, 100.0 MiB of 2.0 GiB (5 %)"
    );
}

fn live(f: &mut Facts) -> &mut LiveFacts {
    f.live.as_mut().unwrap()
}

#[test]
fn each_practice_broken_alone() {
    let mut f = good();
    live(&mut f).voting_members = 4;
    only(
        &f,
        "member-count",
        Status::Warn,
        "4 members tolerate 1 failure",
    );

    let mut f = good();
    live(&mut f).members[1].wal_fsync = Some(Latency {
        p99_ms: 32.0,
        observations: 100.0,
    });
    only(
        &f,
        "disk-latency",
        Status::Fail,
        "b: WAL fsync p99 32.0 ms > 10 ms",
    );
    let mut f = good();
    live(&mut f).members[2].backend_commit = Some(Latency {
        p99_ms: 90.0,
        observations: 5.0,
    });
    only(&f, "disk-latency", Status::Unknown, "not measured on c");

    let mut f = good();
    f.schedules.clear();
    only(
        &f,
        "snapshot-schedule",
        Status::Fail,
        "no snapshot schedule",
    );
    let mut f = good();
    f.now_unix += 2 * H; // the newest is now 2 h 30 min old, the period 1 h
    f.snapshots[0].drill.as_mut().unwrap().at_unix += 2 * H;
    f.snapshots[0].shipped = Shipped::Done {
        at_unix: f.now_unix,
    };
    only(
        &f,
        "snapshot-schedule",
        Status::Fail,
        "is 2 h 30 min old, more than 1 h 30 min allowed",
    );
    let mut f = good();
    f.stale_after_seconds = Some(20 * 60);
    only(
        &f,
        "snapshot-schedule",
        Status::Fail,
        "is 30 min old, more than 20 min allowed",
    );
    let mut f = good();
    f.schedules[0].last_result = Some("failed at stream: member down".into());
    only(&f, "snapshot-schedule", Status::Fail, "failed at stream");
    let mut f = good();
    f.schedules[0].missed_while_down = 3;
    only(
        &f,
        "snapshot-schedule",
        Status::Warn,
        "3 run(s) were missed",
    );

    let mut f = good();
    f.recipients = 0;
    only(&f, "snapshots-encrypted", Status::Fail, "unencrypted");
    let mut f = good();
    f.snapshots[3].encrypted = false;
    only(
        &f,
        "snapshots-encrypted",
        Status::Warn,
        "1 older snapshot(s)",
    );

    let mut f = good();
    f.store = None;
    only(&f, "snapshots-shipped", Status::Fail, "no object store");
    let mut f = good();
    f.snapshots[0].shipped = Shipped::Pending {
        error: Some("403 Forbidden".into()),
    };
    only(&f, "snapshots-shipped", Status::Fail, "403 Forbidden");
    let mut f = good();
    f.snapshots[0].shipped = Shipped::Pending { error: None };
    only(
        &f,
        "snapshots-shipped",
        Status::Warn,
        "the one before (s3) is there",
    );

    let mut f = good();
    f.snapshots[2].reason = "scheduled".into();
    only(
        &f,
        "pre-upgrade-snapshot",
        Status::Warn,
        "no pre-upgrade snapshot, only the scheduled snapshot s2 taken at 3.5.1",
    );
    // An upgrade seen only on the live members, after the newest snapshot.
    let mut f = good();
    live(&mut f).members[0].version = Some("3.5.10".into());
    only(
        &f,
        "pre-upgrade-snapshot",
        Status::Warn,
        "etcd 3.5.2 → 3.5.10 (seen on the live members now)",
    );

    let mut f = good();
    f.drills_enabled = false;
    only(&f, "restore-drill", Status::Fail, "not enabled");
    let mut f = good();
    f.snapshots[0].drill = None;
    only(
        &f,
        "restore-drill",
        Status::Fail,
        "no drill has run (drill schedule 0 4 * * *)",
    );
    let mut f = good();
    f.snapshots[0].drill = Some(DrillFacts {
        at_unix: NOW - 60,
        passed: false,
        verdict: "failed".into(),
        detail: Some("hash_kv_recorded_at_save".into()),
    });
    f.snapshots[1].drill = Some(DrillFacts {
        at_unix: NOW - H,
        passed: true,
        verdict: "passed".into(),
        detail: None,
    });
    only(
        &f,
        "restore-drill",
        Status::Fail,
        "failed: hash_kv_recorded_at_save",
    );
    let mut f = good();
    f.drill_max_age_seconds = 60;
    only(&f, "restore-drill", Status::Fail, "older than 1 min");

    let mut f = good();
    let s = f.secrets.as_mut().unwrap();
    s.plaintext = 2;
    s.encrypted = 10;
    only(
        &f,
        "secrets-encrypted",
        Status::Fail,
        "2 of 12 Secrets in the newest snapshot (s4) are stored in plaintext",
    );
    let mut f = good();
    f.secrets = Err("no drill identity to read the stored snapshots".into());
    only(
        &f,
        "secrets-encrypted",
        Status::Unknown,
        "no drill identity",
    );

    let mut f = good();
    live(&mut f).members[1].db_size_bytes = Some(1800 << 20);
    only(
        &f,
        "quota",
        Status::Warn,
        "largest: b, 1.8 GiB of 2.0 GiB (88 %)",
    );
    let mut f = good();
    live(&mut f).alarms.push("NOSPACE".into());
    only(&f, "quota", Status::Fail, "NOSPACE");
}

#[test]
fn an_unreachable_cluster_is_unknown_not_guessed() {
    let mut f = good();
    f.live = Err("every endpoint refused the connection".into());
    let card = score(&f);
    for id in ["member-count", "disk-latency", "quota"] {
        let c = card.checks.iter().find(|c| c.id == id).unwrap();
        assert_eq!(c.status, Status::Unknown, "{c:?}");
        assert!(c.evidence.contains("refused"), "{c:?}");
    }
    // The snapshots still show the version change and its pre-upgrade snapshot.
    assert_eq!(card.checks[5].status, Status::Pass);
    assert_eq!(card.worst, Status::Unknown);
}
