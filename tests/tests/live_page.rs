//! Scenario: an operator opens the Live tab of the page the companion server
//! serves, gives the API token once (a wrong one is refused; the right one
//! is kept in session storage, never in a URL), watches a real 3-member etcd
//! cluster (leader marked, bars against the quota, refreshed, pausable),
//! takes an age-encrypted snapshot, opens it in the inspector with the
//! identity (fetched into the tab's private storage and decrypted there: the
//! server never sees the identity) and sees the revision the API reported;
//! downloads it byte for byte; deletes it after a confirmation. A reload
//! keeps the token, sweeps the closed tab's fetched files, and a token the
//! server stops accepting is asked for again. And: the same page from a
//! static host, a server with no cluster, or clusters that do not answer
//! say so instead of failing.

use std::sync::Arc;
use std::time::Duration;

use age::secrecy::ExposeSecret;
use etcd_lens_e2e::browser::{Browser, Turn};
use etcd_lens_e2e::server::{Server, StaticHost, dist_dir};
use etcd_lens_server::config::{ClusterConfig, clusters};
use etcd_lens_testkit::cluster::{Cluster, ClusterOptions};
use fantoccini::Locator;
use sha2::{Digest, Sha256};

/// Where the page keeps the token (`app/src/web/session.rs`).
const TOKEN_KEY: &str = "etcd-lens.api-token";

/// The cluster as `etcd-lens serve --config FILE` would load it.
fn config_for(c: &Cluster, name: &str, recipient: &str, extra: &str) -> Arc<ClusterConfig> {
    let endpoints = c
        .endpoints()
        .iter()
        .map(|e| format!("\"{e}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let toml = format!(
        "[[cluster]]\nname = \"{name}\"\nendpoints = [{endpoints}]\nrecipients = [\"{recipient}\"]\ntimeout_seconds = 3\n{extra}"
    );
    let path = c.dir().join(format!("{name}.toml"));
    std::fs::write(&path, toml).unwrap();
    let mut all = clusters::load(&path).unwrap_or_else(|e| panic!("{e}"));
    Arc::new(all.remove(0))
}

async fn session_token(b: &Browser) -> Option<String> {
    b.client
        .execute(
            &format!("return sessionStorage.getItem('{TOKEN_KEY}');"),
            vec![],
        )
        .await
        .expect("reading session storage")
        .as_str()
        .map(str::to_string)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|c| format!("{c:02x}")).collect()
}

/// The names in the page's origin-private file system.
async fn private_files(b: &Browser) -> Vec<String> {
    let v = b
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             (async () => {
               const dir = await navigator.storage.getDirectory();
               const names = [];
               for await (const k of dir.keys()) names.push(k);
               return names.sort();
             })().then(done, e => done(['error: ' + e]));",
            vec![],
        )
        .await
        .expect("listing private storage");
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n.as_str().map(str::to_string))
        .collect()
}

/// Fetched files of this purpose (`open`, `download`), by tab.
fn fetched(names: &[String], purpose: &str) -> Vec<String> {
    names
        .iter()
        .filter(|n| n.starts_with("etcd-lens-fetched-") && n.contains(&format!("-{purpose}-")))
        .cloned()
        .collect()
}

/// The one fetched file of `purpose`, once there is exactly one (30 s at most).
async fn wait_fetched(b: &Browser, purpose: &str) -> String {
    for _ in 0..300 {
        let f = fetched(&private_files(b).await, purpose);
        if let [one] = f.as_slice() {
            return one.clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "no single {purpose} file in private storage: {:?}",
        private_files(b).await
    );
}

async fn count(b: &Browser, css: &str) -> usize {
    b.client.find_all(Locator::Css(css)).await.unwrap().len()
}

/// Wait until the member table shows `n` reachable members and exactly one
/// leader mark (an election may be under way for a moment).
async fn wait_members(b: &Browser, n: usize) {
    for _ in 0..300 {
        let rows = count(b, "[data-testid=live-member][data-reachable=true]").await;
        let leaders = count(b, "[data-testid=live-member][data-leader=true]").await;
        let marks = count(b, "[data-testid=leader-mark]").await;
        if rows == n && leaders == 1 && marks == 1 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "the member table never showed {n} reachable members and one leader; page says:\n{}",
        b.body_text().await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_tab_watches_a_cluster_and_opens_its_encrypted_snapshot_in_the_inspector() {
    let _turn = Turn::take();
    let c = Cluster::start(ClusterOptions {
        members: 3,
        ..Default::default()
    });
    for i in 0..10 {
        c.put(
            &format!("/registry/configmaps/default/cm-{i}"),
            &format!("value-{i}"),
        );
    }
    let identity = age::x25519::Identity::generate();
    // Drills with the same identity, restored by Debian's etcd 3.4; a daily
    // snapshot schedule and a daily drill schedule (neither due in the test).
    let key = c.dir().join("drill.key");
    std::fs::write(&key, format!("{}\n", identity.to_string().expose_secret())).unwrap();
    let drills = tempfile::tempdir().unwrap();
    let cfg = config_for(
        &c,
        "trio",
        &identity.to_public().to_string(),
        &format!(
            "[[cluster.schedule]]\nname = \"daily\"\ncron = \"0 3 * * *\"\n[cluster.drill]\nidentity = \"{}\"\nwork_dir = \"{}\"\nbinaries = {{ \"3.4\" = \"/usr/bin\" }}\n[cluster.drill.schedule]\ncron = \"0 4 * * *\"\n",
            key.display(),
            drills.path().display()
        ),
    );
    let server = Server::start_with_clusters(vec![cfg]).await;
    let b = Browser::start().await;

    // The tab is there before any file is open; the server asks for the token.
    b.goto(&server.url).await;
    b.click("tab-live").await;
    b.find("live-token").await;
    assert!(
        b.client
            .current_url()
            .await
            .unwrap()
            .as_str()
            .ends_with("#/live"),
        "the URL names the view"
    );

    // A wrong token is refused, said so, and not kept.
    b.type_into("live-token", "not-the-token").await;
    b.click("live-connect-submit").await;
    let notice = b.text("live-token-notice").await;
    assert!(notice.contains("refused"), "{notice}");
    assert_eq!(session_token(&b).await, None, "a refused token is not kept");

    // The right one: kept for the tab in session storage, never in a URL.
    b.type_into("live-token", &server.token).await;
    b.click("live-connect-submit").await;
    wait_members(&b, 3).await;
    assert_eq!(
        session_token(&b).await.as_deref(),
        Some(server.token.as_str())
    );
    assert_eq!(b.text("cluster-name").await, "trio");
    // No snapshot yet on a scheduled cluster: the stale-backup banner says so.
    let stale = b.text("backup-stale").await;
    assert!(stale.contains("no finished snapshot yet"), "{stale}");
    let leader_row = b
        .wait_css("[data-testid=live-member][data-leader=true]")
        .await;
    let leader_name = leader_row.attr("data-name").await.unwrap().unwrap();
    assert!(leader_name.starts_with("lens-"), "{leader_name}");
    let verdict = b
        .wait_attr("live-verdict", "data-verdict", |v| !v.is_empty())
        .await;
    assert!(
        verdict == "healthy" || verdict == "degraded",
        "quorum holds: {verdict}: {}",
        b.text("live-verdict").await
    );
    assert!(
        b.text("live-quorum")
            .await
            .starts_with("Quorum held: 3 of 3")
    );
    assert!(b.text("live-alarms").await.starts_with("No alarms"));

    // The Planner fills what the server knows: members, quorum, alarms, version.
    b.click("tab-planner").await;
    b.wait_prop("plan-use-live", "disabled", |v| v == "false")
        .await;
    b.click("plan-use-live").await;
    assert!(
        b.text("plan-live-source")
            .await
            .starts_with("trio: 3 voting")
    );
    b.click_css("[data-testid=planner] details summary").await;
    b.type_into("plan-upgrade-to", "3.6").await;
    b.wait_css("[data-testid=plan-upgrade] [data-item=quorum-healthy] .ok")
        .await;
    b.wait_css("[data-testid=plan-upgrade] [data-item=no-alarms] .ok")
        .await;
    let minor = b
        .wait_css("[data-testid=plan-upgrade] [data-item=one-minor-at-a-time]")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        minor.contains("3.4."),
        "the members' version is used: {minor}"
    );
    assert!(
        b.text("plan-summary")
            .await
            .starts_with("3 voting members need 2")
    );
    b.click("tab-live").await;
    wait_members(&b, 3).await;
    let size = b.text("member-db-size").await;
    assert!(
        size.contains(" of 2.0 GiB"),
        "db size against the default quota: {size}"
    );
    assert_eq!(
        count(&b, "[data-testid=db-size-bar]").await,
        3,
        "a bar per member"
    );
    assert_eq!(count(&b, "[data-testid=db-in-use-bar]").await, 3);

    // Refreshed every few seconds, with the time; paused, it asks nothing.
    let as_of = b.wait_text("live-as-of", |t| t.starts_with("as of ")).await;
    let clock = as_of.trim_start_matches("as of ");
    assert!(
        clock.len() == 8 && clock.as_bytes()[2] == b':' && clock.as_bytes()[5] == b':',
        "{as_of}"
    );
    b.wait_text("live-as-of", |t| t.starts_with("as of ") && t != as_of)
        .await;
    b.click("live-pause").await;
    b.wait_text("live-pause", |t| t == "Resume").await;
    b.requests_since_last_call().await;
    tokio::time::sleep(Duration::from_millis(6_500)).await;
    let asked = b.requests_since_last_call().await;
    assert!(
        !asked.iter().any(|u| u.contains("/status")),
        "paused, yet the page asked: {asked:?}"
    );
    b.click("live-pause").await;
    b.wait_text("live-pause", |t| t == "Pause").await;

    // Take a snapshot: progress, then done, then in the catalog.
    b.click("take-snapshot").await;
    let done = b
        .wait_attr("snapshot-progress", "data-status", |s| {
            s == "done" || s == "failed"
        })
        .await;
    assert_eq!(done, "done", "{}", b.text("snapshot-progress").await);
    let row = b
        .wait_css("[data-testid=catalog-row][data-status=done]")
        .await;
    let id = row.attr("data-id").await.unwrap().unwrap();
    let (status, api) = server.api_get(&format!("api/v1/snapshots/{id}")).await;
    assert_eq!(status, 200, "{api}");
    let revision = api["revision"].as_i64().expect("a revision");
    assert!(revision > 10, "{api}");
    assert_eq!(api["encrypted"], true);
    assert_eq!(
        row.attr("data-revision").await.unwrap().as_deref(),
        Some(revision.to_string().as_str())
    );
    assert!(
        b.text("snapshot-progress")
            .await
            .contains(&format!("done at revision {revision}"))
    );
    assert_eq!(b.text("snapshot-encrypted").await, "encrypted (age)");

    // Restore proven from the page: never restored until a drill passes.
    let row_css = format!("[data-testid=catalog-row][data-id=\"{id}\"]");
    let mark = format!("{row_css} [data-testid=snapshot-restore]");
    assert_eq!(
        b.wait_css(&mark)
            .await
            .attr("data-state")
            .await
            .unwrap()
            .as_deref(),
        Some("unverified")
    );
    assert_eq!(
        b.wait_css(&mark).await.text().await.unwrap(),
        "never restored"
    );
    b.find("drill-plaintext-note").await;
    b.click_css(&format!("{row_css} [data-testid=snapshot-drill]"))
        .await;
    let verified = format!("{mark}[data-state=verified]");
    let text = b.wait_css(&verified).await.text().await.unwrap();
    assert!(text.starts_with("restore verified "), "{text}");
    let (_, rec) = server.api_get(&format!("api/v1/snapshots/{id}")).await;
    assert_eq!(rec["drill"]["verdict"], "passed", "{rec}");
    let note = b.text("snapshot-row-note").await;
    assert!(
        note.starts_with("Restore verified: 6 of 6 comparisons agree"),
        "{note}"
    );

    // The schedules and the scorecard: both schedules listed; the drill
    // passed; the scorecard's verdicts are the API's.
    let kinds = b
        .client
        .find_all(Locator::Css("[data-testid=schedule-row]"))
        .await
        .unwrap();
    let mut seen = Vec::new();
    for k in kinds {
        seen.push(k.attr("data-kind").await.unwrap().unwrap_or_default());
    }
    assert_eq!(seen, ["snapshot", "drill"]);
    b.wait_css("[data-testid=scorecard-row][data-id=restore-drill][data-status=pass]")
        .await;
    let (_, card) = server.api_get("api/v1/clusters/trio/scorecard").await;
    for check in card["checks"].as_array().unwrap() {
        let id = check["id"].as_str().unwrap();
        if id == "disk-latency" {
            continue; // measured anew on each ask
        }
        let row = b
            .wait_css(&format!("[data-testid=scorecard-row][data-id={id}]"))
            .await;
        assert_eq!(
            row.attr("data-status").await.unwrap().as_deref(),
            check["status"].as_str(),
            "{id}: {check}"
        );
    }
    // Shipping is not configured here: the scorecard says so.
    assert_eq!(
        card["checks"][4]["status"], "fail",
        "snapshots-shipped: {card}"
    );
    b.wait_gone("backup-stale", "a fresh snapshot ends the banner")
        .await;

    // Schedules edited in the page win over the file's until reset; a bad
    // pattern is refused by the server, named, and nothing changes.
    assert!(
        b.text("schedules-source")
            .await
            .contains("configuration file"),
        "{}",
        b.text("schedules-source").await
    );
    b.click("schedules-edit").await;
    let first = "[data-testid=schedule-draft]:nth-of-type(1)";
    let cron = b
        .wait_css(&format!("{first} [data-testid=schedule-draft-cron]"))
        .await;
    assert_eq!(
        cron.prop("value").await.unwrap().as_deref(),
        Some("0 3 * * *")
    );
    cron.clear().await.unwrap();
    cron.send_keys("15 2 * * *").await.unwrap();
    let zone = b
        .wait_css(&format!("{first} [data-testid=schedule-draft-zone]"))
        .await;
    zone.clear().await.unwrap();
    zone.send_keys("Europe/Berlin").await.unwrap();
    b.click("schedule-add").await;
    let second = "[data-testid=schedule-draft]:nth-of-type(2)";
    b.wait_css(&format!("{second} [data-testid=schedule-draft-cron]"))
        .await
        .send_keys("61 * * * *")
        .await
        .unwrap();
    b.click("schedules-save").await;
    let refused = b.text("schedules-error").await;
    assert!(refused.contains("schedule 2: "), "{refused}");
    b.click_css(&format!("{second} [data-testid=schedule-draft-remove]"))
        .await;
    b.click("schedules-save").await;
    b.wait_css("[data-testid=schedule-row][data-kind=snapshot][data-pattern=\"15 2 * * *\"]")
        .await;
    let source = b.text("schedules-source").await;
    assert!(
        source.contains("edited in the page") && source.contains("(0 3 * * *)"),
        "{source}"
    );
    let (_, v) = server.api_get("api/v1/clusters/trio/schedules").await;
    assert_eq!(v["source"]["source"], "page", "{v}");
    assert_eq!(v["schedules"][0]["time_zone"], "Europe/Berlin", "{v}");
    assert_eq!(
        v["schedules"][1]["kind"], "drill",
        "the drill schedule stays: {v}"
    );
    b.click("schedules-reset").await;
    b.wait_css("[data-testid=schedule-row][data-kind=snapshot][data-pattern=\"0 3 * * *\"]")
        .await;
    assert!(
        b.text("schedules-source")
            .await
            .contains("configuration file")
    );

    // Open: fetched into the tab, handed to the inspector like a dropped
    // file; the identity goes to the existing unlock form.
    let row_css = format!("[data-testid=catalog-row][data-id=\"{id}\"]");
    b.click_css(&format!("{row_css} [data-testid=snapshot-open]"))
        .await;
    b.wait_text("unlock", |t| t.contains("X25519")).await;
    assert!(
        b.client
            .current_url()
            .await
            .unwrap()
            .as_str()
            .ends_with("#/overview"),
        "the inspector is shown"
    );
    b.type_into("age-identity", identity.to_string().expose_secret())
        .await;
    b.click("age-unlock").await;
    assert_eq!(
        b.wait_text("status-revision", |t| !t.is_empty()).await,
        revision.to_string(),
        "the inspector reads the revision the API reported"
    );
    assert_eq!(b.text("file-name").await, format!("{id}.db.age"));
    assert!(b.text("layers").await.contains("X25519"));
    b.wait_attr("trailer-status", "data-state", |s| s == "verified")
        .await;
    b.assert_no_csp_violations("the snapshot opened from the Live tab")
        .await;

    // It came through the tab's private storage, not memory.
    let opened = fetched(&private_files(&b).await, "open");
    assert_eq!(opened.len(), 1, "{opened:?}");

    // Back returns to the Live tab, still connected. Download: fetched the
    // same way, saved through an object URL.
    b.client.back().await.unwrap();
    b.find("live-members").await;
    b.click_css(&format!("{row_css} [data-testid=snapshot-download]"))
        .await;
    let downloaded = wait_fetched(&b, "download").await;
    b.wait_gone("fetch-progress", "the download ends").await;
    b.wait_gone("snapshot-row-error", "the download works")
        .await;
    // Saved under the stored file's name, byte for byte the stored file.
    let saved = b.downloads_dir().join(format!("{id}.db.age"));
    let mut bytes = Vec::new();
    for _ in 0..300 {
        bytes = std::fs::read(&saved).unwrap_or_default();
        if Some(bytes.len() as u64) == api["stored_bytes"].as_u64() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        hex(&Sha256::digest(&bytes)),
        api["stored_sha256"].as_str().unwrap(),
        "the download is the stored (encrypted) file"
    );
    assert!(bytes.starts_with(b"age-encryption.org/v1\n"));

    // A reload is another tab: the token is kept (this tab's session), and
    // the next fetch removes the files the closed one left.
    b.client.refresh().await.unwrap();
    wait_members(&b, 3).await;
    b.click("take-snapshot").await;
    b.wait_attr("snapshot-progress", "data-status", |s| s == "done")
        .await;
    let second = b
        .wait_css(&format!(
            "[data-testid=catalog-row][data-status=done]:not([data-id=\"{id}\"])"
        ))
        .await
        .attr("data-id")
        .await
        .unwrap()
        .unwrap();
    let second_css = format!("[data-testid=catalog-row][data-id=\"{second}\"]");
    b.click_css(&format!("{second_css} [data-testid=snapshot-download]"))
        .await;
    let now = loop {
        let d = wait_fetched(&b, "download").await;
        if d != downloaded {
            break d;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    b.wait_gone("fetch-progress", "the download ends").await;
    let names = private_files(&b).await;
    assert!(
        fetched(&names, "open").is_empty() && !names.contains(&downloaded),
        "the closed tab's files are swept ({opened:?}, {downloaded}): {names:?}"
    );
    assert!(names.contains(&now), "{names:?}");

    // Delete asks first: Keep keeps it; Delete removes file and entry.
    b.click_css(&format!("{second_css} [data-testid=snapshot-delete]"))
        .await;
    b.click_css(&format!(
        "{second_css} [data-testid=snapshot-delete-cancel]"
    ))
    .await;
    b.wait_css(&format!("{second_css} [data-testid=snapshot-open]"))
        .await;
    for (victim, left) in [(&second_css, 1), (&row_css, 0)] {
        b.click_css(&format!("{victim} [data-testid=snapshot-delete]"))
            .await;
        b.click_css(&format!("{victim} [data-testid=snapshot-delete-confirm]"))
            .await;
        for _ in 0..300 {
            if count(&b, "[data-testid=catalog-row]").await == left {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    b.find("catalog-empty").await;
    for gone in [&id, &second] {
        assert_eq!(
            server.api_get(&format!("api/v1/snapshots/{gone}")).await.0,
            404
        );
    }

    // A token the server refuses later is forgotten and asked for again.
    b.client
        .execute(
            &format!("sessionStorage.setItem('{TOKEN_KEY}', 'a-stale-token');"),
            vec![],
        )
        .await
        .unwrap();
    b.client.refresh().await.unwrap();
    let notice = b.text("live-token-notice").await;
    assert!(notice.contains("Enter the token again"), "{notice}");
    assert_eq!(session_token(&b).await, None, "the refused token is gone");

    // The token never went into a URL, and the page broke no CSP rule.
    let urls = b.requests_since_last_call().await;
    assert!(!urls.is_empty());
    assert!(urls.iter().all(|u| !u.contains(&server.token)), "{urls:?}");
    assert!(
        !b.client
            .current_url()
            .await
            .unwrap()
            .as_str()
            .contains(&server.token)
    );
    b.assert_no_csp_violations("the Live tab").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_tab_without_the_server_a_cluster_or_a_member_says_so() {
    let _turn = Turn::take();
    // A static host: no API behind the page.
    let host = StaticHost::start(&dist_dir()).await;
    let b = Browser::start().await;
    b.goto(&format!("{}#/live", host.url)).await;
    let said = b.text("live-no-server").await;
    assert!(
        said.contains("Live needs the etcd-lens server") && said.contains("etcd-lens serve"),
        "{said}"
    );
    // The inspector still works from there.
    b.click("tab-inspect").await;
    b.find("drop-zone").await;

    // The server with no cluster configured: its hint.
    let server = Server::start().await;
    b.goto(&format!("{}#/live", server.url)).await;
    b.type_into("live-token", &server.token).await;
    b.click("live-connect-submit").await;
    let hint = b.text("live-hint").await;
    assert!(hint.contains("--endpoints"), "{hint}");
    b.assert_no_csp_violations("the Live tab without a cluster")
        .await;
    drop(server);

    // Two clusters whose endpoints answer nothing, without recipients: a
    // picker, each member's error, no quorum, and the UNENCRYPTED warning.
    let dir = tempfile::tempdir().unwrap();
    let (p1, p2) = (etcd_lens_e2e::free_port(), etcd_lens_e2e::free_port());
    let path = dir.path().join("clusters.toml");
    std::fs::write(
        &path,
        format!(
            "[[cluster]]\nname = \"east\"\nendpoints = [\"http://127.0.0.1:{p1}\"]\ntimeout_seconds = 1\n\n\
             [[cluster]]\nname = \"west\"\nendpoints = [\"http://127.0.0.1:{p2}\"]\ntimeout_seconds = 1\n"
        ),
    )
    .unwrap();
    let configs = clusters::load(&path)
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(Arc::new)
        .collect();
    let server = Server::start_with_clusters(configs).await;
    b.goto(&format!("{}#/live", server.url)).await;
    b.type_into("live-token", &server.token).await;
    b.click("live-connect-submit").await;
    b.wait_attr("live-verdict", "data-verdict", |v| v == "no-quorum")
        .await;
    let err = b.text("member-error").await;
    assert!(
        err.starts_with("unreachable: ") && err.contains(&p1.to_string()),
        "{err}"
    );
    assert!(b.text("unencrypted-warning").await.contains("UNENCRYPTED"));
    assert_eq!(count(&b, "[data-testid=cluster-select] option").await, 2);
    b.client
        .find(Locator::Css("[data-testid=cluster-select]"))
        .await
        .unwrap()
        .select_by_value("west")
        .await
        .unwrap();
    b.wait_text("member-error", |t| t.contains(&p2.to_string()))
        .await;
    b.assert_no_csp_violations("the Live tab with unreachable clusters")
        .await;
}
