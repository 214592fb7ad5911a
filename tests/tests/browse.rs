//! Scenarios: an operator browses a snapshot; an auditor sees a Secret masked
//! until asked; nothing leaves the tab while inspecting.

use etcd_lens_e2e::browser::{Browser, Turn};
use etcd_lens_e2e::etcd::Etcd;
use etcd_lens_e2e::server::Server;
use etcd_lens_testkit::cluster::Flavor;
use fantoccini::Locator;
use std::time::Duration;

/// A snapshot with history, a deletion, a lease and a JSON-encoded Secret.
fn make_snapshot(etcd: &Etcd) -> std::path::PathBuf {
    for v in 1..=3 {
        etcd.put(
            "/registry/configmaps/default/settings",
            &format!("value-{v}"),
        );
    }
    etcd.put("/registry/configmaps/kube-system/coredns", "corefile");
    etcd.put("/registry/configmaps/default/gone", "bye");
    etcd.delete("/registry/configmaps/default/gone");
    let lease = etcd.grant_lease(600);
    etcd.put_with_lease("/registry/leases/kube-node-lease/node-1", "held", &lease);
    etcd.put(
        "/registry/secrets/default/db-password",
        r#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"db-password","namespace":"default"},"type":"Opaque","data":{"password":"aHVudGVyMg=="}}"#,
    );
    let snap = etcd.dir().join("browse.db");
    etcd.snapshot(&snap);
    snap
}

async fn key_in_browser(b: &Browser, server: &Server, key: &str) {
    let hex: String = key.bytes().map(|c| format!("{c:02x}")).collect();
    b.goto(&format!("{}#/browse/{hex}", server.url)).await;
    b.wait_text("detail-key", |t| t == key).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overview_matches_etcdctl_and_a_key_shows_its_history() {
    let _turn = Turn::take();
    let etcd = Etcd::start();
    let snap = make_snapshot(&etcd);
    let expected: serde_json::Value = etcd.snapshot_status(&snap);

    let server = Server::start().await;
    let b = Browser::start().await;
    b.goto(&server.url).await;
    b.pick_file(&snap).await;
    assert_eq!(b.text("status-hash").await, expected["hash"].to_string());
    assert_eq!(
        b.text("status-revision").await,
        expected["revision"].to_string()
    );
    assert_eq!(
        b.text("status-total-key").await,
        expected["totalKey"].to_string(),
        "no storage version: the page counts as etcdctl 3.4 / etcdutl 3.5 do"
    );
    assert!(
        b.text("status-tool")
            .await
            .starts_with("etcdctl 3.4 / etcdutl 3.5")
    );
    assert!(
        b.text("status-total-size")
            .await
            .starts_with(&expected["totalSize"].to_string())
    );
    b.wait_text("live-keys", |t| t == "4").await;
    assert_eq!(b.text("leases").await, "1");
    b.wait_text("check-result", |t| {
        t.starts_with("Consistency check passed")
    })
    .await;
    assert!(b.text("auth-enabled").await.contains("disabled"));
    b.wait_attr("trailer-status", "data-state", |s| s == "verified")
        .await;

    // Browse: filter by prefix, pick the key, see its three revisions.
    b.client
        .find(Locator::Css("[data-testid=tab-browse]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait_text("key-count", |t| t.ends_with("of 4 keys")).await;
    let prefix = b
        .client
        .find(Locator::Css("[data-testid=filter-prefix]"))
        .await
        .unwrap();
    prefix.send_keys("/registry/configmaps/").await.unwrap();
    b.wait_text("key-count", |t| t == "1–2 of 2 keys").await;
    let row = b
        .client
        .find(Locator::Css(
            "[data-testid=key-row][data-key='/registry/configmaps/default/settings']",
        ))
        .await
        .unwrap();
    row.click().await.unwrap();
    b.wait_text("detail-key", |t| {
        t == "/registry/configmaps/default/settings"
    })
    .await;
    assert_eq!(b.text("detail-version").await, "3");
    let history = b
        .client
        .find_all(Locator::Css("[data-testid=history-row]"))
        .await
        .unwrap();
    assert_eq!(history.len(), 3);
    b.client
        .find(Locator::Css("[data-testid=fmt-text]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait_text("detail-value", |t| t == "value-3").await;
    b.client
        .find(Locator::Css("[data-testid=show-diff]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let diff = b.wait_text("diff", |t| !t.is_empty()).await;
    assert!(
        diff.contains("-value-2") && diff.contains("+value-3"),
        "{diff}"
    );

    // The URL names the key: back goes to the list, forward to the key again.
    let url = b.client.current_url().await.unwrap();
    assert!(
        url.fragment()
            .unwrap()
            .starts_with("/browse/2f7265676973747279"),
        "{url}"
    );
    b.client.back().await.unwrap();
    b.wait_text("key-count", |_| true).await;
    b.client.forward().await.unwrap();
    b.wait_text("detail-key", |t| {
        t == "/registry/configmaps/default/settings"
    })
    .await;

    // A deleted key is not live, and a deep link to it shows its tombstone.
    key_in_browser(&b, &server, "/registry/configmaps/default/gone").await;
    assert_eq!(b.text("detail-mod").await, "— (deleted)");
    assert_eq!(
        b.client
            .find_all(Locator::Css("[data-testid=history-row]"))
            .await
            .unwrap()
            .len(),
        2
    );
    b.assert_no_csp_violations("overview and browse").await;

    // The list's columns order it: the worker sorts every match, ties stay
    // in key order, and pressing the current order again turns it around.
    b.goto(&server.url).await;
    b.pick_file(&snap).await;
    b.click("tab-browse").await;
    b.wait_text("key-count", |t| t == "1–4 of 4 keys").await;
    // Read in one script: the rows may be rendered again between two calls.
    let order = || async {
        let keys = b
            .client
            .execute(
                "return [...document.querySelectorAll('[data-testid=key-row]')].map(e => e.dataset.key)",
                vec![],
            )
            .await
            .unwrap();
        serde_json::from_value::<Vec<String>>(keys).unwrap()
    };
    let settings = "/registry/configmaps/default/settings";
    let coredns = "/registry/configmaps/kube-system/coredns";
    let lease = "/registry/leases/kube-node-lease/node-1";
    let secret = "/registry/secrets/default/db-password";
    let wait_order = |want: Vec<&'static str>, why: &'static str| {
        let order = &order;
        async move {
            let started = std::time::Instant::now();
            loop {
                let got = order().await;
                if got == want {
                    return;
                }
                assert!(
                    started.elapsed() < Duration::from_secs(20),
                    "{why}: {got:?}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    wait_order(vec![settings, coredns, lease, secret], "key order").await;
    b.click("sort-size").await;
    assert_eq!(
        b.find("sort-size")
            .await
            .attr("aria-pressed")
            .await
            .unwrap()
            .as_deref(),
        Some("true")
    );
    // Sizes: the Secret's JSON, then "corefile" (8 bytes), "value-3" (7), "held" (4).
    wait_order(
        vec![secret, coredns, settings, lease],
        "largest value first",
    )
    .await;
    b.click("sort-version").await;
    wait_order(
        vec![settings, coredns, lease, secret],
        "most written first, ties in key order",
    )
    .await;
    b.click("sort-version").await;
    wait_order(
        vec![coredns, lease, secret, settings],
        "pressed again: fewest writes first",
    )
    .await;
    b.click("sort-key").await;
    wait_order(vec![settings, coredns, lease, secret], "by key, ascending").await;
    b.click("sort-key").await;
    wait_order(vec![secret, lease, coredns, settings], "by key, backwards").await;

    // A snapshot of etcd 3.6 (built from its Go modules): it has a storage
    // version, so the page shows etcdutl 3.6's numbers, as that etcdutl prints them.
    let Some(v36) = Flavor::Etcd36.installed() else {
        return;
    };
    let etcd = Etcd::start_with(&v36.etcd, &v36.etcdctl);
    etcd_lens_testkit::wait_for("the storage version", Duration::from_secs(30), || {
        let st = etcd.cluster().endpoint_status();
        (st[0]["Status"]["storageVersion"] == "3.6.0").then_some(())
    });
    let snap = make_snapshot(&etcd);
    let out = std::process::Command::new(v36.etcdutl.as_ref().expect("3.6 ships etcdutl"))
        .args(["snapshot", "status", "-w", "json"])
        .arg(&snap)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    b.goto(&server.url).await;
    b.pick_file(&snap).await;
    b.wait_text("status-version", |t| t == "3.6.0").await;
    assert_eq!(b.text("status-hash").await, expected["hash"].to_string());
    assert_eq!(
        b.text("status-revision").await,
        expected["revision"].to_string()
    );
    assert_eq!(
        b.text("status-total-key").await,
        expected["totalKey"].to_string()
    );
    assert!(b.text("status-tool").await.starts_with("etcdutl 3.6 ("));
    assert_eq!(b.text("storage-version").await, "3.6.0");
    b.wait_text("live-keys", |t| t == "4").await;
    b.assert_no_csp_violations("a 3.6 snapshot's overview")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_values_are_masked_until_revealed_and_nothing_is_sent() {
    let _turn = Turn::take();
    let etcd = Etcd::start();
    let snap = make_snapshot(&etcd);
    let server = Server::start().await;
    let b = Browser::start().await;
    b.goto(&server.url).await;
    b.wait_attr("worker-ready", "data-ready", |v| v == "true")
        .await;
    let requests_before = server.state.requests();
    let resources_before = resource_count(&b).await;
    // The log sees the page's own loading, so an empty log later means something.
    let loading = b.requests_since_last_call().await;
    assert!(
        loading.iter().any(|u| u.starts_with(&server.url)),
        "the performance log missed the page load: {loading:?}"
    );

    b.pick_file(&snap).await;
    b.wait_attr("trailer-status", "data-state", |s| s == "verified")
        .await;
    key_in_browser(&b, &server, "/registry/secrets/default/db-password").await;
    assert_eq!(b.text("detail-kind").await, "v1 Secret");
    let masked = b.text("secret-data.password").await;
    assert!(masked.contains("masked"), "{masked}");
    for fmt in ["fmt-yaml", "fmt-json", "fmt-text", "fmt-hex"] {
        b.client
            .find(Locator::Css(&format!("[data-testid={fmt}]")))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let body = b.body_text().await;
        assert!(
            !body.contains("hunter2") && !body.contains("aHVudGVyMg=="),
            "{fmt} shows the secret:\n{body}"
        );
        // The hex view spaces its bytes and wraps lines: compare without
        // whitespace (hex of "aHVudGVy", the base64 of the value).
        let squeezed: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        assert!(
            !squeezed.contains("6148567564475679"),
            "{fmt} shows the secret's hex"
        );
    }
    b.client
        .find(Locator::Css("[data-testid='reveal-data.password']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait_text("secret-data.password", |t| t == "hunter2")
        .await;

    // The audit names the plaintext Secret and that the file itself was not encrypted.
    b.client
        .find(Locator::Css("[data-testid=tab-audit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait_text("finding-count", |t| t.ends_with("findings"))
        .await;
    let findings = b
        .client
        .find_all(Locator::Css("[data-testid=finding]"))
        .await
        .unwrap();
    let mut seen = Vec::new();
    for f in findings {
        seen.push((
            f.attr("data-rule").await.unwrap().unwrap(),
            f.attr("data-key").await.unwrap().unwrap(),
        ));
    }
    assert!(
        seen.contains(&(
            "secret-plaintext".into(),
            "/registry/secrets/default/db-password".into()
        )),
        "{seen:?}"
    );
    assert!(
        seen.iter().any(|(r, _)| r == "snapshot-not-encrypted"),
        "{seen:?}"
    );
    assert!(
        seen.iter().any(|(r, _)| r == "etcd-auth-disabled"),
        "{seen:?}"
    );
    let body = b.body_text().await;
    assert!(
        !body.contains("hunter2") && !body.contains("aHVudGVyMg=="),
        "the audit shows a Secret value:\n{body}"
    );
    // The SARIF export is made when asked for, and saved at once.
    b.click("export-sarif-button").await;
    let export = b.find("export-sarif").await;
    assert!(
        export
            .attr("href")
            .await
            .unwrap()
            .unwrap()
            .starts_with("data:application/sarif+json")
    );
    let saved = b.downloads_dir().join("audit.sarif");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !saved.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "audit.sarif was not saved"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&saved).unwrap()).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert!(
        results.iter().any(|r| r["ruleId"] == "secret-plaintext"),
        "{results:?}"
    );
    let artifact = sarif.to_string();
    assert!(
        artifact.contains("browse.db"),
        "the file's own name: {artifact}"
    );

    // Everything above ran in the tab: not one request reached the server or left the page.
    assert_eq!(
        server.state.requests(),
        requests_before,
        "the page sent requests while inspecting"
    );
    assert_eq!(
        resource_count(&b).await,
        resources_before,
        "the page fetched resources while inspecting"
    );
    let sent = b.requests_since_last_call().await;
    assert!(
        sent.is_empty(),
        "Chrome's performance log shows requests while inspecting: {sent:?}"
    );
    b.assert_no_csp_violations("a Secret and the audit").await;
}

/// Resource fetches the page has made (Resource Timing), worker scripts included.
async fn resource_count(b: &Browser) -> u64 {
    b.client
        .execute(
            "return performance.getEntriesByType('resource').length",
            vec![],
        )
        .await
        .unwrap()
        .as_u64()
        .unwrap()
}
