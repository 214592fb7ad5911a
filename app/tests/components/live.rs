//! The Live tab: a cluster's status (leader, bars, why a member is down) and
//! its snapshot catalog (unencrypted ones marked, delete asks first).

use leptos::prelude::*;
use serde_json::json;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::Element;

use crate::{attr, by_id, by_id_opt, click, mount, settle, text};

fn live_status(v: serde_json::Value) -> etcd_lens_app::live::ClusterStatus {
    serde_json::from_value(v).expect("a ClusterStatus as the server sends it")
}

#[wasm_bindgen_test]
async fn live_status_marks_the_leader_draws_bars_and_says_why_a_member_is_down() {
    use etcd_lens_app::components::live_status::LiveStatusView;
    let quota: u64 = 8 * 1024 * 1024;
    let status = RwSignal::new(Some(live_status(json!({
        "cluster": "trio", "verdict": "degraded",
        "verdict_reason": "quorum held; 1 of 3 members unreachable",
        "leader_id": "a1",
        "quorum": {"voting_members": 3, "needed": 2, "reachable": 2, "held": true, "failures_tolerated": 0},
        "alarms": [{"member_id": "b2", "alarm": "NOSPACE"}], "alarms_source": "status+alarm",
        "warnings": ["member lens-2 did not answer"],
        "checked_at": "2026-12-01T13:15:07.5Z", "age_ms": 0,
        "members": [
            {"id": "a1", "name": "lens-0", "reachable": true, "is_leader": true, "latency_ms": 1.5,
             "db_size_bytes": quota / 2, "db_size_in_use_bytes": quota / 4, "quota_bytes": quota,
             "wal_fsync": {"p99_ms": 3.1, "bucket_low_ms": 2.0, "bucket_high_ms": 4.0,
                           "observations": 50.0, "guidance_ms": 10.0, "above_guidance": false},
             "backend_commit_p99_ms": 30.0},
            {"id": "b2", "name": "lens-1", "reachable": true, "db_size_bytes": quota + quota / 10,
             "quota_bytes": quota, "metrics_note": "not enough data yet"},
            {"id": "c3", "name": "lens-2", "reachable": false,
             "error": "connection refused (127.0.0.1:2379)"}
        ]
    }))));
    let m = mount(move || view! { <LiveStatusView status /> });
    settle().await;
    let root: &Element = &m.root;
    let verdict = by_id(root, "live-verdict");
    assert_eq!(attr(&verdict, "data-verdict"), "degraded");
    assert!(attr(&verdict, "class").contains("degraded"));
    assert!(text(root, "live-verdict").starts_with("Degraded: quorum held"));
    assert!(text(root, "live-quorum").starts_with("Quorum held: 2 of 3"));
    assert_eq!(text(root, "live-alarm"), "NOSPACE on member lens-1");

    let rows = root
        .query_selector_all("[data-testid=live-member]")
        .unwrap();
    assert_eq!(rows.length(), 3);
    let row = |i: u32| -> Element { rows.item(i).unwrap().unchecked_into() };
    assert_eq!(attr(&row(0), "data-leader"), "true");
    assert_eq!(
        root.query_selector_all("[data-testid=leader-mark]")
            .unwrap()
            .length(),
        1
    );
    assert!(text(&row(0), "leader-mark").contains("leader"));
    // Bars against the quota: half, a quarter; over the quota the bar is
    // full and the figure says by how much.
    assert_eq!(attr(&by_id(&row(0), "db-size-bar"), "value"), "50.00");
    assert_eq!(attr(&by_id(&row(0), "db-in-use-bar"), "value"), "25.00");
    assert!(text(&row(0), "member-db-size").contains("(50% of 8.0 MiB)"));
    let over = by_id(&row(1), "db-size-bar");
    assert_eq!(
        (
            attr(&over, "value").as_str(),
            attr(&over, "data-percent").as_str()
        ),
        ("100.00", "110.00")
    );
    assert_eq!(text(&row(0), "member-answer"), "answered in 1.5 ms");
    assert_eq!(
        text(&row(0), "member-disk"),
        "WAL fsync 3.1 ms (2–4 ms bucket); backend commit 30.0 ms"
    );
    assert_eq!(text(&row(1), "member-disk"), "not enough data yet");
    // The member that did not answer: its error, no bars, no role.
    assert_eq!(
        text(&row(2), "member-error"),
        "unreachable: connection refused (127.0.0.1:2379)"
    );
    assert!(by_id_opt(&row(2), "db-size-bar").is_none());
    assert_eq!(attr(&row(2), "data-reachable"), "false");

    status.set(Some(live_status(
        json!({"verdict": "no_quorum", "verdict_reason": "0 of 3 reachable",
        "quorum": {"voting_members": 3, "needed": 2, "reachable": 0, "held": false}}),
    )));
    settle().await;
    assert_eq!(
        attr(&by_id(root, "live-verdict"), "data-verdict"),
        "no-quorum"
    );
    assert!(text(root, "live-quorum").starts_with("Quorum NOT held"));
    assert!(text(root, "live-alarms").starts_with("No alarms"));
    // A server alone: no word of an election or of following a store.
    assert!(by_id_opt(root, "live-coordination").is_none());
    assert!(by_id_opt(root, "live-catalog-sync").is_none());

    // Servers sharing a bucket: this one's role, and the catalog's last pass.
    status.set(Some(live_status(json!({
        "verdict": "healthy",
        "coordination": {"role": "follower", "coordinated": true, "server_id": "lens-b",
                         "leader_id": "lens-a"},
        "catalog_sync": {"at": "2026-12-02T18:00:00Z", "imported": ["a-1", "a-2"],
                         "deleted": ["b-1"], "missing": [], "kept_pinned": [], "problems": []}
    }))));
    settle().await;
    let c = by_id(root, "live-coordination");
    assert_eq!(attr(&c, "data-role"), "follower");
    assert!(
        text(root, "live-coordination").starts_with("This server (lens-b) follows lens-a"),
        "{}",
        text(root, "live-coordination")
    );
    assert!(
        text(root, "live-catalog-sync").contains("2 catalogued from other servers, 1 deleted here"),
        "{}",
        text(root, "live-catalog-sync")
    );
    assert!(!attr(&by_id(root, "live-catalog-sync"), "class").contains("bad"));
    // Out of the election: said, and marked.
    status.set(Some(live_status(json!({
        "coordination": {"role": "none", "coordinated": true, "server_id": "lens-b",
                         "error": "connection refused"},
        "catalog_sync": {"at": "2026-12-02T18:00:01Z", "error": "listing: refused"}
    }))));
    settle().await;
    assert!(attr(&by_id(root, "live-coordination"), "class").contains("bad"));
    assert!(text(root, "live-coordination").contains("(connection refused)"));
    assert!(attr(&by_id(root, "live-catalog-sync"), "class").contains("bad"));
}

#[wasm_bindgen_test]
async fn live_catalog_marks_unencrypted_snapshots_and_delete_asks_first() {
    use etcd_lens_app::components::live_snapshots::LiveSnapshots;
    use etcd_lens_app::live::{ClusterSummary, Snapshot};
    use etcd_lens_app::pages::live::LiveState;
    let live = LiveState::new();
    live.selected.set(Some("plain".into()));
    let snap = |v: serde_json::Value| -> Snapshot { serde_json::from_value(v).unwrap() };
    live.catalog.set(vec![
        snap(
            json!({"id": "plain-1", "cluster": "plain", "status": "done", "revision": 42,
            "db_size_bytes": 20480, "stored_bytes": 20512, "encrypted": false,
            "started_at": "2026-12-01T13:15:07Z", "path": "snapshots/plain/plain-1.db"}),
        ),
        snap(
            json!({"id": "plain-2", "cluster": "plain", "status": "failed",
            "error": "the snapshot stream broke: reset", "started_at": "2026-12-01T13:16:00Z"}),
        ),
        snap(
            json!({"id": "other-1", "cluster": "other", "status": "done", "revision": 7,
            "encrypted": true, "started_at": "2026-12-01T13:15:07Z"}),
        ),
    ]);
    let m = mount(move || {
        let summary = Memo::new(|_| {
            Some(ClusterSummary {
                name: "plain".into(),
                encrypted_snapshots: false,
                ..ClusterSummary::default()
            })
        });
        view! { <LiveSnapshots live summary on_open=|_f: web_sys::File| {} /> }
    });
    settle().await;
    let root: &Element = &m.root;
    assert!(text(root, "unencrypted-warning").contains("UNENCRYPTED"));
    let rows = root
        .query_selector_all("[data-testid=catalog-row]")
        .unwrap();
    assert_eq!(rows.length(), 2, "only the selected cluster's snapshots");
    let done: Element = rows.item(0).unwrap().unchecked_into();
    let failed: Element = rows.item(1).unwrap().unchecked_into();
    let marker = by_id(&done, "snapshot-unencrypted");
    assert_eq!(marker.text_content().unwrap(), "UNENCRYPTED");
    assert!(attr(&marker, "class").contains("bad"), "in red");
    assert_eq!(text(&done, "snapshot-revision"), "42");
    assert_eq!(
        text(&failed, "snapshot-state"),
        "failed: the snapshot stream broke: reset"
    );
    assert!(
        by_id_opt(&failed, "snapshot-open").is_none(),
        "a failed snapshot has no file to open"
    );

    // Delete asks first; Keep keeps it.
    click(&by_id(&done, "snapshot-delete"));
    settle().await;
    assert!(by_id_opt(&done, "snapshot-open").is_none());
    click(&by_id(&done, "snapshot-delete-cancel"));
    settle().await;
    assert!(by_id_opt(&done, "snapshot-delete-confirm").is_none());
    assert!(by_id_opt(&done, "snapshot-open").is_some());
}
