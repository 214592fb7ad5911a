//! Scenario: an operator opens last night's snapshot, compares it with this
//! morning's (age-encrypted, unlocked in the tab), sees what changed per
//! resource and namespace, reads a Secret's line diff masked until revealed,
//! and downloads a deleted ConfigMap for `kubectl apply`. Nothing is sent
//! over the network while comparing.

use std::collections::BTreeSet;

use base64::Engine;
use etcd_lens_e2e::browser::{Browser, Turn};
use etcd_lens_e2e::etcd::Etcd;
use etcd_lens_e2e::server::Server;
use etcd_lens_testkit::age::{Format, encrypt, passphrase};
use serde_json::{Value, json};

fn cm(name: &str, data: Value) -> String {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "app", "uid": format!("uid-{name}"), "creationTimestamp": "2026-11-30T10:00:00Z"},
        "data": data})
    .to_string()
}

fn secret(password: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(password);
    json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "db", "namespace": "app", "uid": "uid-db"},
        "data": {"password": b64}, "type": "Opaque"})
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compare_two_snapshots_and_recover_a_deleted_object() {
    let _turn = Turn::take();
    let etcd = Etcd::start();
    etcd.put(
        "/registry/configmaps/app/keep",
        &cm("keep", json!({"k": "v"})),
    );
    etcd.put(
        "/registry/configmaps/app/edit",
        &cm("edit", json!({"a": "1"})),
    );
    etcd.put(
        "/registry/configmaps/app/gone",
        &cm("gone", json!({"restore": "me"})),
    );
    etcd.put("/registry/secrets/app/db", &secret("old-hunter2"));
    let dir = etcd.dir().to_path_buf();
    let old = dir.join("night.db");
    etcd.snapshot(&old);
    etcd.put(
        "/registry/configmaps/app/edit",
        &cm("edit", json!({"a": "2"})),
    );
    etcd.delete("/registry/configmaps/app/gone");
    etcd.put("/registry/secrets/app/db", &secret("new-hunter3"));
    etcd.put("/registry/configmaps/other/new", &cm("new", json!({})));
    let new_plain = dir.join("morning.db");
    etcd.snapshot(&new_plain);
    let r = passphrase("compare me");
    let new = dir.join("morning.db.age");
    std::fs::write(
        &new,
        encrypt(&[&r], &std::fs::read(&new_plain).unwrap(), Format::Binary),
    )
    .unwrap();

    let server = Server::start().await;
    let b = Browser::start().await;
    b.open_snapshot(&server.url, &old).await;
    b.click("tab-compare").await;
    b.wait_prop("compare-file-input", "disabled", |d| d == "false")
        .await;
    b.requests_since_last_call().await;
    b.pick_file_into("compare-file-input", &new).await;
    b.wait_text("unlock", |t| t.contains("passphrase")).await;
    b.type_into("age-passphrase", "compare me").await;
    b.click("age-unlock").await;
    let summary = b
        .wait_text("compare-summary", |t| t.contains("added"))
        .await;
    assert!(
        summary.starts_with("night.db (revision")
            && summary.contains("→ morning.db.age (revision")
            && summary.contains("1 added, 1 removed, 2 modified; 1 unchanged"),
        "{summary}"
    );
    assert!(
        b.text("compare-how")
            .await
            .contains("One cluster's history")
    );
    // Per resource and namespace.
    let groups = b.text("compare-groups").await;
    for row in [
        "configmaps app 0 1 1",
        "configmaps other 1 0 0",
        "secrets app 0 0 1",
    ] {
        assert!(groups.contains(row), "{row:?} in {groups}");
    }
    // The changed keys, and the filter.
    let changes = b.text("compare-changes").await;
    let keys: BTreeSet<&str> = changes
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from([
            "/registry/configmaps/app/edit",
            "/registry/configmaps/app/gone",
            "/registry/configmaps/other/new",
            "/registry/secrets/app/db",
        ]),
        "{changes}"
    );
    b.click("compare-filter-removed").await;
    b.wait_text("compare-changes", |t| {
        t.contains("/registry/configmaps/app/gone") && !t.contains("/edit")
    })
    .await;
    b.click("compare-filter-all").await;

    // The Secret's line diff: masked, then one value revealed.
    b.wait_text("compare-changes", |t| {
        t.contains("/registry/secrets/app/db")
    })
    .await;
    b.click_containing(
        "[data-testid=compare-change] button",
        "/registry/secrets/app/db",
    )
    .await;
    let diff = b.wait_text("diff", |t| t.contains("password")).await;
    for plain in ["old-hunter2", "new-hunter3"] {
        let b64 = base64::engine::general_purpose::STANDARD.encode(plain);
        assert!(
            !diff.contains(plain) && !diff.contains(&b64),
            "masked: {diff}"
        );
    }
    assert!(diff.contains("masked"), "{diff}");
    b.click("diff-reveal-data.password").await;
    // Revealed as stored (base64), as the history diff shows it.
    let b64 = |p: &str| base64::engine::general_purpose::STANDARD.encode(p);
    let shown = b
        .wait_text("diff", |t| t.contains(&b64("new-hunter3")))
        .await;
    assert!(
        shown.contains(&format!("-  password: {}", b64("old-hunter2"))),
        "{shown}"
    );

    // The deleted ConfigMap back, from the older file (the open one).
    b.click_containing(
        "[data-testid=compare-change] button",
        "/registry/configmaps/app/gone",
    )
    .await;
    b.wait_text("compare-key", |t| {
        t.contains("/registry/configmaps/app/gone (removed)")
    })
    .await;
    b.click("apply-button").await;
    let yaml = String::from_utf8(b.downloaded("gone.yaml").await).unwrap();
    assert!(
        yaml.contains("kind: ConfigMap") && yaml.contains("name: gone"),
        "{yaml}"
    );
    assert!(yaml.contains("restore: me"), "{yaml}");
    assert!(
        !yaml.contains("uid") && !yaml.contains("creationTimestamp"),
        "{yaml}"
    );
    etcd_lens_testkit::apply_check::assert_k8s_applies(&yaml);
    assert!(
        b.text("apply-commands")
            .await
            .contains("kubectl apply -f gone.yaml")
    );

    // Nothing left the tab.
    let sent = b.requests_since_last_call().await;
    assert!(sent.is_empty(), "requests while comparing: {sent:?}");
    b.assert_accessible("the comparison").await;
}

/// Scenario: a ConfigMap was deleted between two catalogued snapshots; the
/// Live tab asks the server which stored snapshot still holds it, and the
/// server (reading them with the cluster's drill identity) names the older.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_tab_names_the_newest_snapshot_still_holding_a_deleted_key() {
    let _turn = Turn::take();
    use etcd_lens_server::config::clusters;
    let etcd = Etcd::start();
    let c = etcd.cluster();
    etcd.put(
        "/registry/configmaps/app/gone",
        &cm("gone", json!({"restore": "me"})),
    );
    etcd.put("/registry/configmaps/app/keep", &cm("keep", json!({})));
    let identity = age::x25519::Identity::generate();
    let id_file = c.dir().join("drill-identity.txt");
    {
        use age::secrecy::ExposeSecret;
        std::fs::write(
            &id_file,
            format!("{}\n", identity.to_string().expose_secret()),
        )
        .unwrap();
    }
    let toml = format!(
        "[[cluster]]\nname = \"one\"\nendpoints = [\"{}\"]\nrecipients = [\"{}\"]\ntimeout_seconds = 3\n[cluster.drill]\nidentity = \"{}\"\nbinaries = {{}}\n",
        etcd.endpoint,
        identity.to_public(),
        id_file.display()
    );
    let cfg_path = c.dir().join("one.toml");
    std::fs::write(&cfg_path, toml).unwrap();
    let cfg = std::sync::Arc::new(
        clusters::load(&cfg_path)
            .unwrap_or_else(|e| panic!("{e}"))
            .remove(0),
    );
    let server = Server::start_with_clusters(vec![cfg]).await;
    let b = Browser::start().await;
    b.goto(&server.url).await;
    b.click("tab-live").await;
    b.type_into("live-token", &server.token).await;
    b.click("live-connect-submit").await;
    b.wait_text("cluster-name", |t| t == "one").await;
    let take = async |n: usize| {
        b.click("take-snapshot").await;
        b.wait_attr("snapshot-progress", "data-status", |s| s == "done")
            .await;
        for _ in 0..300 {
            let (_, list) = server.api_get("api/v1/snapshots").await;
            let done: Vec<String> = list["snapshots"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|s| s["status"] == "done")
                .map(|s| s["id"].as_str().unwrap().to_string())
                .collect();
            if done.len() == n {
                return done;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("snapshot {n} not catalogued");
    };
    let first = take(1).await.remove(0);
    etcd.delete("/registry/configmaps/app/gone");
    let all = take(2).await;
    let second = all.iter().find(|i| **i != first).unwrap().clone();

    b.type_into("holding-key", "/registry/configmaps/app/gone")
        .await;
    b.click("holding-find").await;
    let found = b.wait_text("holding-found", |t| !t.is_empty()).await;
    assert!(found.contains(&format!("is {first}")), "{found}");
    let looked = b.text("holding-looked").await;
    let lines: Vec<&str> = looked.lines().collect();
    assert_eq!(lines.len(), 2, "{looked}");
    assert!(
        lines[0].starts_with(&second) && lines[0].contains("deleted at revision"),
        "{looked}"
    );
    assert!(
        lines[1].starts_with(&first) && lines[1].contains("holds it"),
        "{looked}"
    );
    // A key no snapshot ever held.
    b.type_into("holding-key", "/registry/configmaps/app/never")
        .await;
    b.click("holding-find").await;
    b.wait_text("holding-found", |t| t.contains("No stored snapshot"))
        .await;
}
