use super::*;

#[test]
fn sizes_against_the_quota() {
    assert_eq!(percent_of(Some(50), Some(200)), Some(25.0));
    assert_eq!(
        percent_of(Some(300), Some(200)),
        Some(150.0),
        "over the quota"
    );
    assert_eq!(percent_of(Some(1), Some(0)), None);
    assert_eq!(percent_of(None, Some(1)), None);
    assert_eq!(percent_of(Some(-1), Some(1)), None);
    assert_eq!(percent_of(Some(1), None), None);
    assert_eq!(percent_text(0.123), "0.1%");
    assert_eq!(percent_text(42.4), "42%");
    assert_eq!(percent_text(112.0), "112%");
    let q = 2 * 1024 * 1024 * 1024;
    assert_eq!(
        size_text(Some(1024 * 1024), Some(q)),
        format!(
            "{} ({} of {})",
            human_bytes(1024 * 1024),
            percent_text(100.0 / 2048.0),
            human_bytes(q)
        )
    );
    assert!(size_text(Some(10), None).ends_with("(quota unknown)"));
    assert_eq!(size_text(None, Some(q)), "—");
}

#[test]
fn latencies() {
    assert_eq!(ms_text(0.4213), "0.42 ms");
    assert_eq!(ms_text(3.06), "3.1 ms");
    assert_eq!(ms_text(250.4), "250 ms");
    let l = LatencyP99 {
        p99_ms: 3.1,
        bucket_low_ms: 2.0,
        bucket_high_ms: Some(4.0),
        ..LatencyP99::default()
    };
    assert_eq!(p99_text(&l), "3.1 ms (2–4 ms bucket)");
    let l = LatencyP99 {
        p99_ms: 0.7,
        bucket_low_ms: 0.5,
        bucket_high_ms: Some(1.0),
        ..LatencyP99::default()
    };
    assert_eq!(p99_text(&l), "0.70 ms (0.5–1 ms bucket)");
    let top = LatencyP99 {
        p99_ms: 9000.0,
        bucket_low_ms: 8192.0,
        bucket_high_ms: None,
        ..LatencyP99::default()
    };
    assert_eq!(p99_text(&top), "≥ 8192 ms");
}

#[test]
fn server_times() {
    assert_eq!(utc_millis("1970-01-01T00:00:00Z"), Some(0.0));
    assert_eq!(utc_millis("1970-01-02T00:00:01.5Z"), Some(86_401_500.0));
    // chrono writes nanoseconds; 2026-12-01 is day 20788.
    assert_eq!(
        utc_millis("2026-12-01T13:15:07.123456789Z"),
        Some(((20_788.0 * 24.0 + 13.0) * 60.0 + 15.0) * 60_000.0 + 7_123.0)
    );
    assert_eq!(
        utc_millis("2000-03-01T00:00:00+00:00"),
        Some(951_868_800_000.0)
    );
    for bad in [
        "",
        "2026-12-01",
        "2026-12-01T13:15:07",
        "2026-13-01T13:15:07Z",
        "2026-12-01T13:15:07+02:00",
        "2026-12-01T13:15:07.Z",
        "2026-12-01T1a:15:07Z",
    ] {
        assert_eq!(utc_millis(bad), None, "{bad}");
    }
    assert_eq!(clock_text(9, 5, 3), "09:05:03");
    assert_eq!(datetime_text(2026, 12, 1, 9, 5, 3), "2026-12-01 09:05:03");
}

#[test]
fn snapshot_lines_and_names() {
    let mut s = Snapshot {
        id: "prod-20261201T131507Z-ab12".into(),
        status: SnapshotState::Running,
        ..Snapshot::default()
    };
    assert!(progress_text(&s).contains("waiting for the first bytes"));
    s.bytes_received = 2048;
    assert_eq!(
        progress_text(&s),
        format!(
            "Snapshot prod-20261201T131507Z-ab12: running, {} received…",
            human_bytes(2048)
        )
    );
    s.status = SnapshotState::Done;
    s.revision = Some(42);
    assert!(progress_text(&s).contains("done at revision 42"));
    assert!(progress_text(&s).contains("UNENCRYPTED"));
    s.status = SnapshotState::Failed;
    s.error = Some("the snapshot stream broke: reset".into());
    assert!(progress_text(&s).ends_with("failed: the snapshot stream broke: reset"));

    assert_eq!(s.file_name(), "prod-20261201T131507Z-ab12.db");
    s.encrypted = true;
    assert_eq!(s.file_name(), "prod-20261201T131507Z-ab12.db.age");
    s.path = Some("snapshots/prod/prod-20261201T131507Z-ab12.db.age".into());
    assert_eq!(s.file_name(), "prod-20261201T131507Z-ab12.db.age");
    assert_eq!(fetch_progress_text(0, Some(0)), human_bytes(0));
}

#[test]
fn paths_are_segments() {
    assert_eq!(
        paths::status("prod-1.eu_west"),
        "api/v1/clusters/prod-1.eu_west/status"
    );
    assert_eq!(segment("a/b c?"), "a%2Fb%20c%3F");
    assert_eq!(paths::download("x"), "api/v1/snapshots/x/download");
}

#[test]
fn reads_the_servers_json_leniently() {
    let st: ClusterStatus = serde_json::from_value(serde_json::json!({
        "cluster": "c", "verdict": "no_quorum", "verdict_reason": "1 of 3 reachable",
        "leader_id": null, "checked_at": "2026-12-01T13:15:07Z", "age_ms": 12,
        "quorum": {"voting_members": 3, "needed": 2, "reachable": 1, "held": false, "failures_tolerated": 1},
        "alarms": [{"member_id": "8e9e05c52164694d", "alarm": "NOSPACE"}],
        "members": [{"id": "8e9e05c52164694d", "name": "m0", "reachable": true, "is_leader": false,
            "db_size_bytes": 20480, "quota_bytes": 2147483648u64, "future_field": 1}],
        "something_new": {"x": 1}
    }))
    .unwrap();
    assert_eq!(st.verdict, Verdict::NoQuorum);
    assert_eq!(st.verdict.class(), "no-quorum");
    assert_eq!(st.members[0].role(), "follower");
    assert_eq!(st.alarms[0].alarm, "NOSPACE");
    let facts = st.plan_facts();
    assert_eq!((facts.voting_members, facts.quorum_held), (3, false));
    assert_eq!(facts.alarms, ["NOSPACE on member 8e9e05c52164694d"]);
    assert_eq!(facts.lowest_version, None, "no member said its version");
    let v: Verdict = serde_json::from_str("\"on_fire\"").unwrap();
    assert_eq!(v, Verdict::Unknown);
    let snaps: SnapshotList = serde_json::from_value(serde_json::json!({"snapshots": [
        {"id": "a", "cluster": "c", "status": "running", "started_at": "2026-12-01T13:15:07Z",
         "bytes_received": 10, "revision": null, "encrypted": true},
        {"id": "b", "cluster": "c", "status": "done", "revision": 7, "db_size_bytes": 20480,
         "stored_bytes": 20700, "encrypted": false, "path": "snapshots/c/b.db", "pinned": false}
    ]}))
    .unwrap();
    assert_eq!(snaps.snapshots[0].status, SnapshotState::Running);
    assert_eq!(snaps.snapshots[1].revision, Some(7));
}

#[test]
fn restore_marks() {
    let mut s = Snapshot::default();
    assert_eq!(RestoreMark::of(&s), RestoreMark::Unverified);
    assert_eq!(RestoreMark::of(&s).class(), "warn");
    s.drill = Some(DrillSummary {
        at: "2026-12-02T03:00:00Z".into(),
        verdict: "passed".into(),
        source: "local".into(),
        ..Default::default()
    });
    assert_eq!(
        RestoreMark::of(&s),
        RestoreMark::Verified {
            at: "2026-12-02T03:00:00Z".into()
        }
    );
    s.drill = Some(DrillSummary {
        verdict: "failed".into(),
        failed_check: Some("hash_kv_recorded_at_save".into()),
        ..Default::default()
    });
    assert_eq!(RestoreMark::of(&s).class(), "bad");
    assert!(
        matches!(RestoreMark::of(&s), RestoreMark::Failed { why, .. } if why == "hash_kv_recorded_at_save")
    );
    s.drill = Some(DrillSummary {
        verdict: "cannot_drill".into(),
        error: Some("cannot drill: no etcd 3.6 here".into()),
        ..Default::default()
    });
    assert_eq!(RestoreMark::of(&s).state(), "cannot-drill");
    // The server's record shape reads.
    let rec: Snapshot = serde_json::from_str(
        r#"{"id":"a","drill":{"at":"2026-12-02T03:00:00Z","verdict":"passed","failed_check":null,"checks":[{"name":"trailer","expected":"x","actual":"x","ok":true}],"timings_ms":{"boot":3},"error":null,"etcd_version":"3.4.23","source":"store:s3://b/p"}}"#,
    )
    .unwrap();
    assert_eq!(rec.drill.unwrap().source, "store:s3://b/p");
    let a: DrillAnswer = serde_json::from_str(
        r#"{"verdict":"failed","failed_check":"decrypt","error":"bad header","checks":[]}"#,
    )
    .unwrap();
    assert_eq!(a.describe(), "The drill failed at decrypt: bad header");
}

#[test]
fn schedule_drafts_become_specs() {
    let rows = vec![
        ScheduleDraft {
            name: " hourly ".into(),
            cron: " 0  *  * * * ".into(),
            time_zone: "Europe/Berlin".into(),
            catch_up: true,
        },
        ScheduleDraft::default(),
        ScheduleDraft {
            cron: "*/10 * * * * *".into(),
            ..Default::default()
        },
    ];
    let specs = ScheduleDraft::specs(&rows);
    assert_eq!(specs.len(), 2, "the blank row is dropped");
    assert_eq!(specs[0].name.as_deref(), Some("hourly"));
    assert_eq!(specs[0].cron, "0 * * * *");
    assert_eq!(specs[0].time_zone.as_deref(), Some("Europe/Berlin"));
    assert!(specs[0].catch_up);
    assert_eq!(
        (specs[1].name.as_deref(), specs[1].time_zone.as_deref()),
        (None, None)
    );
    assert_eq!(
        serde_json::to_value(&ScheduleEditBody { schedules: specs }).unwrap(),
        serde_json::json!({"schedules": [
            {"name": "hourly", "cron": "0 * * * *", "time_zone": "Europe/Berlin", "catch_up": true},
            {"cron": "*/10 * * * * *", "catch_up": false},
        ]})
    );
    let back = ScheduleDraft::of(&ScheduleSpec {
        name: None,
        cron: "0 3 * * *".into(),
        time_zone: None,
        catch_up: false,
    });
    assert_eq!((back.name.as_str(), back.time_zone.as_str()), ("", ""));
}

/// The role and the catalog's pass, as the server's status sends them.
#[test]
fn coordination_and_catalog_sync() {
    let s: ClusterStatus = serde_json::from_value(serde_json::json!({
        "cluster": "main",
        "coordination": {"role": "follower", "coordinated": true, "server_id": "lens-b",
                         "leader_id": "lens-a", "election": "etcd-lens/retention", "error": null},
        "catalog_sync": {"at": "2026-12-02T18:00:00Z", "imported": ["main-1"], "deleted": [],
                         "missing": ["main-0"], "kept_pinned": [], "problems": [], "error": null}
    }))
    .unwrap();
    let c = s.coordination.unwrap();
    assert_eq!(
        c.sentence().unwrap(),
        "This server (lens-b) follows lens-a: the leader applies retention; this server snapshots the slots it claims."
    );
    let (text, bad) = s.catalog_sync.unwrap().sentence();
    assert!(bad, "a snapshot missing from the store is a problem");
    assert_eq!(
        text,
        "The catalog follows the store (last pass 2026-12-02T18:00:00Z): 1 catalogued from other servers, 0 deleted here after another server deleted them; 1 shipped from here but gone from the store without a tombstone, kept: main-0."
    );
    // A server alone says nothing of an election; a failed pass says why.
    let alone: ClusterStatus = serde_json::from_value(serde_json::json!({
        "coordination": {"role": "none", "coordinated": false, "server_id": "x"},
        "catalog_sync": null
    }))
    .unwrap();
    assert_eq!(alone.coordination.unwrap().sentence(), None);
    assert!(alone.catalog_sync.is_none());
    let failed = CatalogSync {
        at: Some("t".into()),
        error: Some("listing: refused".into()),
        ..CatalogSync::default()
    };
    assert_eq!(
        failed.sentence(),
        (
            "The catalog could not follow the store at t: listing: refused".into(),
            true
        )
    );
}
