//! Scenario: an operator opens a snapshot of a real 3-member etcd cluster and
//! unfolds the Overview's restore runbook: the cluster's members are there
//! with their peer URLs, and the version with where it came from. Moving the
//! members to new loopback URLs (and data dirs with `{name}`) prints exactly
//! the restore and start commands that `etcd-lens restore-plan FILE --members
//! … --data-dir-pattern … --json` prints for the same input — the CLI binary
//! is the oracle — with the same steps in the same order. A wrong member shows
//! the same refusal as the CLI, next to the field, and no runbook. The open
//! runbook passes axe-core and fits a 768 px window; Copy all answers (copied,
//! or the browser's reason).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use etcd_lens_e2e::browser::{Browser, Turn};
use etcd_lens_e2e::server::Server;
use etcd_lens_e2e::{free_port, workspace_root};
use etcd_lens_testkit::cluster::{Cluster, ClusterOptions};
use fantoccini::Locator;
use serde_json::Value;

/// The `etcd-lens` binary. This crate links the server's library, not its
/// binary (`CARGO_BIN_EXE_*` is set only for the server's own tests), so it
/// takes the one beside the test binaries (`target/debug/etcd-lens`, which
/// `cargo test --workspace` builds) when it is newer than every source of the
/// server and the core, and asks Cargo to build it otherwise.
fn lens() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let beside = std::env::current_exe()
            .ok()
            .and_then(|exe| Some(exe.parent()?.parent()?.join("etcd-lens")));
        if let Some(bin) = beside
            && let Ok(built) = std::fs::metadata(&bin).and_then(|m| m.modified())
            && newest_source() <= built
        {
            return bin;
        }
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let out = Command::new(cargo)
            .current_dir(workspace_root())
            .args([
                "build",
                "--locked",
                "-p",
                "etcd-lens-server",
                "--bin",
                "etcd-lens",
                "--message-format=json",
            ])
            .output()
            .expect("running cargo build");
        assert!(
            out.status.success(),
            "cargo build --bin etcd-lens: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "etcd-lens")
            .and_then(|m| m["executable"].as_str().map(PathBuf::from))
            .expect("cargo names the etcd-lens executable")
    })
}

/// When the binary's inputs last changed: the server's and the core's files and the lock file.
fn newest_source() -> std::time::SystemTime {
    fn walk(p: &Path, newest: &mut std::time::SystemTime) {
        let Ok(meta) = std::fs::metadata(p) else {
            return;
        };
        if meta.is_dir() {
            for e in std::fs::read_dir(p).into_iter().flatten().flatten() {
                walk(&e.path(), newest);
            }
        } else if let Ok(m) = meta.modified() {
            *newest = (*newest).max(m);
        }
    }
    let root = workspace_root();
    let mut newest = std::time::SystemTime::UNIX_EPOCH;
    for p in [
        "server/src",
        "server/Cargo.toml",
        "wasm-core/src",
        "wasm-core/Cargo.toml",
        "Cargo.lock",
        "Cargo.toml",
    ] {
        walk(&root.join(p), &mut newest);
    }
    newest
}

fn restore_plan(args: &[&str]) -> std::process::Output {
    Command::new(lens())
        .arg("restore-plan")
        .args(args)
        .output()
        .expect("running etcd-lens restore-plan")
}

/// `(member, shell line)` of every per-member command of one step, as the page shows them.
async fn page_commands(b: &Browser, step: &str) -> Vec<(String, String)> {
    let css = format!("[data-testid=runbook-command][data-step={step}]");
    let mut out = Vec::new();
    for el in b.client.find_all(Locator::Css(&css)).await.unwrap() {
        let member = el.attr("data-member").await.unwrap().unwrap_or_default();
        let shell = el
            .find(Locator::Css("[data-testid=runbook-shell]"))
            .await
            .unwrap()
            .prop("textContent")
            .await
            .unwrap()
            .unwrap_or_default();
        out.push((member, shell));
    }
    out
}

/// `(member, shell line)` of one command of every member of the CLI's plan.
fn cli_commands(plan: &Value, which: &str) -> Vec<(String, String)> {
    plan["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap().to_string(),
                m[which]["shell"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn sorted(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s.split(',').map(str::to_string).collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runbook_starts_from_the_clusters_members_and_prints_what_the_cli_prints() {
    let _turn = Turn::take();
    let c = Cluster::start(ClusterOptions {
        members: 3,
        ..Default::default()
    });
    c.put("/registry/configmaps/default/settings", "v1");
    c.put("/app/plain", "v");
    let snap = c.dir().join("trio.db");
    c.snapshot(&snap);
    let snap = snap.canonicalize().unwrap();
    let server = Server::start().await;
    let b = Browser::start().await;
    b.open_snapshot(&server.url, &snap).await;
    b.click("runbook-toggle").await;

    // The cluster's own members and peer URLs, from the file.
    let theirs: Vec<String> = c
        .members()
        .iter()
        .map(|m| format!("{}={}", m.name, m.peer_url))
        .collect();
    let shown = b.wait_value("runbook-members", |v| !v.is_empty()).await;
    let mut want = theirs.clone();
    want.sort();
    assert_eq!(sorted(&shown), want, "prefilled members");
    assert!(
        b.text("runbook-members-source")
            .await
            .contains("members bucket (3 members)")
    );
    let version = b.wait_value("runbook-version", |v| !v.is_empty()).await;
    assert!(
        b.text("runbook-version-source")
            .await
            .contains(&format!("cluster/clusterVersion {version}.0")),
        "the version shows its source"
    );
    // Three members on 127.0.0.1 and one data dir: the core's refusal, at its field.
    assert!(
        b.text("runbook-data-dir-error")
            .await
            .contains("put {name} in the data-dir pattern")
    );

    // Moved to new loopback URLs, each with its own data dir.
    let new_members = ["r1", "r2", "r3"]
        .iter()
        .map(|n| format!("{n}=http://127.0.0.1:{}", free_port()))
        .collect::<Vec<_>>()
        .join(",");
    let data_dir = format!("{}/restored-{{name}}", c.dir().display());
    b.type_into("runbook-members", &new_members).await;
    b.type_into("runbook-data-dir", &data_dir).await;
    // The CLI's default path is the file's own; the page cannot know it.
    b.type_into("runbook-snapshot-path", snap.to_str().unwrap())
        .await;
    b.find("runbook-plan").await;

    let out = restore_plan(&[
        snap.to_str().unwrap(),
        "--members",
        &new_members,
        "--data-dir-pattern",
        &data_dir,
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    let restores = page_commands(&b, "restore").await;
    assert_eq!(restores, cli_commands(&plan, "restore"));
    assert_eq!(restores.len(), 3);
    assert!(restores[0].1.contains("snapshot restore"), "{restores:?}");
    assert_eq!(
        page_commands(&b, "start_etcd").await,
        cli_commands(&plan, "start")
    );
    assert_eq!(
        page_commands(&b, "move_data_dirs_aside").await,
        cli_commands(&plan, "move_aside")
    );
    assert_eq!(
        b.text("runbook-initial-cluster").await,
        plan["initial_cluster"].as_str().unwrap()
    );
    // The same steps, in the same order (the Kubernetes ones too: the file has /registry/ keys).
    let mut titles = Vec::new();
    for el in b
        .client
        .find_all(Locator::Css("[data-testid=runbook-step] h4"))
        .await
        .unwrap()
    {
        titles.push(el.text().await.unwrap());
    }
    let cli_titles: Vec<&str> = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, cli_titles);
    assert!(cli_titles.contains(&"Stop the Kubernetes API servers"));

    b.assert_accessible("the restore runbook, open").await;
    // Long command lines wrap: the page never scrolls sideways.
    for width in [1400, 768] {
        b.set_size(width, 900).await;
        b.client
            .execute(
                "document.querySelector('[data-testid=runbook-plan]').scrollIntoView();",
                vec![],
            )
            .await
            .unwrap();
        b.screenshot(&format!("restore-runbook-{width}")).await;
        let overflow = b
            .client
            .execute(
                "const e = document.scrollingElement; return e.scrollWidth - e.clientWidth;",
                vec![],
            )
            .await
            .unwrap()
            .as_f64()
            .unwrap();
        assert!(overflow <= 1.0, "{width} px: {overflow} px too wide");
    }
    b.click("runbook-copy-all").await;
    let copied = b
        .wait_attr("runbook-copy-all-status", "data-state", |s| !s.is_empty())
        .await;
    let said = b.text("runbook-copy-all-status").await;
    match copied.as_str() {
        "copied" => assert_eq!(said, "Copied"),
        _ => assert!(said.starts_with("Could not copy: "), "{said}"),
    }

    // A wrong member: the CLI's refusal, next to the field, and no runbook.
    let wrong = format!("{new_members},broken");
    b.type_into("runbook-members", &wrong).await;
    let error = b.text("runbook-members-error").await;
    assert_eq!(error, "\"broken\" is not name=peer-url");
    b.wait_gone("runbook-plan", "no runbook for input that does not parse")
        .await;
    b.find("runbook-invalid").await;
    let out = restore_plan(&[snap.to_str().unwrap(), "--members", &wrong]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&error), "{stderr}");
    b.assert_no_csp_violations("the restore runbook").await;
}
