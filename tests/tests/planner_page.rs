//! Scenario: an architect plans a cluster in the Planner tab with no file
//! open, shares the plan as a link, then sizes it from a real snapshot.
//! Real server, real headless Chromium, a real etcd for the snapshot; the
//! expected numbers come from etcd's own rules and `etcdctl snapshot status`.

use etcd_lens_e2e::browser::{Browser, Turn};
use etcd_lens_e2e::etcd::Etcd;
use etcd_lens_e2e::server::Server;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_planner_plans_without_a_file_keeps_its_plan_in_the_url_and_reads_a_snapshot() {
    let _turn = Turn::take();
    let server = Server::start().await;
    let b = Browser::start().await;
    b.goto(&format!("{}#/planner", server.url)).await;

    // No inputs: three members, majority 2, one failure tolerated.
    let summary = b.text("plan-summary").await;
    assert_eq!(
        summary,
        "3 voting members need 2 for quorum and tolerate 1 failure."
    );
    assert_eq!(
        b.wait_prop("plan-use-snapshot", "disabled", |_| true).await,
        "true",
        "no file is open"
    );

    // Three members in two zones: losing the zone with two loses quorum.
    b.type_into("plan-zones", "a=2,b=1").await;
    b.wait_text("loss-a-a", |t| t == "loses quorum").await;
    assert_eq!(b.text("loss-b-b").await, "keeps quorum");
    assert_eq!(b.text("loss-a-b").await, "loses quorum");
    assert!(
        b.text("zone-verdict")
            .await
            .contains("does not survive the loss")
    );
    b.wait_css("[data-testid=plan-warnings] [data-code=zone-loss-loses-quorum]")
        .await;

    // Five in three zones as 2/2/1 survives any one zone, and no pair.
    b.type_into("plan-zones", "a=2,b=2,c=1").await;
    b.wait_text("plan-summary", |t| t.starts_with("5 voting members need 3"))
        .await;
    for z in ["a", "b", "c"] {
        assert_eq!(
            b.text(&format!("loss-{z}-{z}")).await,
            "keeps quorum",
            "zone {z}"
        );
    }
    assert_eq!(b.text("loss-a-b").await, "loses quorum");
    assert_eq!(b.text("loss-b-c").await, "loses quorum");
    assert_eq!(
        b.text("zone-verdict").await,
        "This layout survives the loss of any one zone."
    );

    // 150 ms between members: the defaults (election 1000 ms) are unsafe; heartbeat ≈ RTT,
    // election ≥ 10 × RTT and ≥ 5 × heartbeat (etcd refuses to start below).
    b.type_into("plan-rtt-ms", "150").await;
    let rec = b
        .wait_text("plan-recommended", |t| t.contains("At 150 ms round trip"))
        .await;
    let flag = |name: &str| -> u64 {
        let at = rec.find(name).unwrap_or_else(|| panic!("{name} in {rec}"));
        rec[at + name.len()..]
            .trim_start_matches('=')
            .chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .unwrap()
    };
    let (heartbeat, election) = (flag("--heartbeat-interval"), flag("--election-timeout"));
    assert!(
        (75..=225).contains(&heartbeat),
        "heartbeat {heartbeat}: {rec}"
    );
    assert!(
        election >= 1500 && election >= 5 * heartbeat && election <= 50_000,
        "{rec}"
    );
    assert!(rec.contains("are not safe"), "{rec}");
    b.wait_css("[data-testid=plan-warnings] [data-code=rtt-unsafe-defaults]")
        .await;

    // A bad field is named, in place.
    b.type_into("plan-members", "4").await;
    let err = b.text("plan-error").await;
    assert!(err.contains("disagrees"), "{err}");
    b.type_into("plan-members", "5").await;
    b.wait_text("plan-summary", |t| t.starts_with("5 voting"))
        .await;

    // The link carries the plan: a fresh load shows the same inputs and results.
    let url = b.client.current_url().await.unwrap().to_string();
    assert!(
        url.contains("zones=a%3D2%2Cb%3D2%2Cc%3D1") && url.contains("rtt-ms=150"),
        "{url}"
    );
    let again = Browser::start().await;
    again.goto(&url).await;
    assert_eq!(
        again.wait_value("plan-zones", |_| true).await,
        "a=2,b=2,c=1"
    );
    assert_eq!(again.text("loss-c-c").await, "keeps quorum");
    assert_eq!(again.text("plan-recommended").await, rec);
    assert_eq!(
        again.text("plan-summary").await,
        b.text("plan-summary").await
    );
    let availability = b.text("availability-table").await;
    assert_eq!(again.text("availability-table").await, availability);
    assert!(availability.contains("(yours)"), "{availability}");
    again
        .assert_no_csp_violations("the planner from a shared link")
        .await;

    // Another tab and back: the inputs are kept.
    b.click("tab-live").await;
    b.click("tab-planner").await;
    assert_eq!(b.wait_value("plan-rtt-ms", |v| !v.is_empty()).await, "150");

    // From a real snapshot: history, a compaction and deleted values.
    let etcd = Etcd::start();
    let value = "v".repeat(2000);
    for i in 0..300 {
        etcd.put(
            &format!("/registry/configmaps/default/cm-{}", i % 60),
            &value,
        );
    }
    for i in 0..30 {
        etcd.delete(&format!("/registry/configmaps/default/cm-{i}"));
    }
    let compacted = etcd.revision() - 100;
    etcd.compact(compacted);
    let current = etcd.revision();
    let snap = etcd.dir().join("plan.db");
    etcd.snapshot(&snap);
    let status = etcd.snapshot_status(&snap);

    b.click("tab-inspect").await;
    b.pick_file(&snap).await;
    b.wait_attr("trailer-status", "data-state", |s| s == "verified")
        .await;
    b.click("tab-planner").await;
    b.wait_prop("plan-use-snapshot", "disabled", |v| v == "false")
        .await;
    b.click("plan-use-snapshot").await;
    assert_eq!(
        b.wait_attr("plan-db-size", "data-value", |_| true).await,
        status["totalSize"].to_string(),
        "db size is etcdctl's totalSize"
    );
    assert_eq!(
        b.wait_attr("plan-retained", "data-value", |_| true).await,
        (current - compacted).to_string()
    );
    let reclaimable: u64 = b
        .wait_attr("plan-reclaimable", "data-value", |_| true)
        .await
        .parse()
        .unwrap();
    let in_use: u64 = b
        .wait_attr("plan-in-use", "data-value", |_| true)
        .await
        .parse()
        .unwrap();
    assert_eq!(
        reclaimable + in_use,
        status["totalSize"].as_u64().unwrap(),
        "free + unreachable + in use pages make the database"
    );
    assert!(
        b.text("plan-snapshot-source")
            .await
            .contains(&format!("revision {current}"))
    );
    let url = b.client.current_url().await.unwrap().to_string();
    assert!(url.contains("snapshot=1"), "{url}");
    b.screenshot("planner").await;
    b.assert_no_csp_violations("the planner").await;
}
