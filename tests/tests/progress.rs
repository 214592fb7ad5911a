//! Scenarios: a large file shows its overview before the slow passes end,
//! the list and tree work while the SHA-256 still runs, Cancel stops the
//! work, a long list stays virtualised and keyboard-driven, and a loaded page
//! inspects files with the network cut off.

use std::io::Write;

use etcd_lens_e2e::browser::{Browser, Turn};
use etcd_lens_e2e::etcd::Etcd;
use etcd_lens_e2e::server::Server;
use fantoccini::Locator;
use fantoccini::key::Key;
use sha2::{Digest, Sha256};

const KEYS: usize = 1500;

/// A snapshot of `KEYS` configmaps spread over three namespaces, and one Secret.
fn many_keys_snapshot(etcd: &Etcd) -> std::path::PathBuf {
    let pairs: Vec<(String, String)> = (0..KEYS)
        .map(|i| {
            let ns = ["alpha", "beta", "gamma"][i % 3];
            (
                format!("/registry/configmaps/{ns}/cm-{i:05}"),
                format!("v{i}"),
            )
        })
        .collect();
    etcd.put_many(&pairs);
    etcd.put("/registry/secrets/alpha/token", "plain");
    let snap = etcd.dir().join("many.db");
    etcd.snapshot(&snap);
    snap
}

/// The same database followed by `extra` zero bytes (beyond bbolt's
/// high-water mark, so no pass but the SHA-256 reads them) and a new trailer:
/// a file whose hashing takes a while, with the overview and keys of a small one.
fn padded(snap: &std::path::Path, extra: usize) -> std::path::PathBuf {
    let bytes = std::fs::read(snap).unwrap();
    let db = &bytes[..bytes.len() - 32];
    let out = snap.with_extension("padded.db");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&out).unwrap());
    let mut h = Sha256::new();
    h.update(db);
    f.write_all(db).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..extra / zeros.len() {
        h.update(&zeros);
        f.write_all(&zeros).unwrap();
    }
    f.write_all(&h.finalize()).unwrap();
    f.flush().unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overview_and_keys_come_before_the_hash_and_cancel_stops_it() {
    let _turn = Turn::take();
    let etcd = Etcd::start();
    let snap = many_keys_snapshot(&etcd);
    let big = padded(&snap, 1024 << 20);
    let expected: serde_json::Value = etcd.snapshot_status(&snap);
    let server = Server::start().await;
    let b = Browser::start().await;
    b.goto(&server.url).await;
    b.pick_file(&big).await;

    // The overview is up while the SHA-256 pass still runs.
    assert_eq!(b.text("status-hash").await, expected["hash"].to_string());
    assert_eq!(
        b.text("status-total-key").await,
        expected["totalKey"].to_string()
    );
    // etcdutl 3.6's count (the live keys), from the parts' key index.
    let tool = b.text("status-tool").await;
    assert!(tool.ends_with(&format!("counts {})", KEYS + 1)), "{tool}");
    b.wait_attr("pass-status", "data-state", |s| s == "done")
        .await;
    // A file this large is walked in parts by several workers (their parts
    // combine into the hash above); one reader here means the parts failed.
    assert_readers(&b, "pass-status", "status walked by").await;
    b.wait_attr("pass-hashing", "data-state", |s| s == "running")
        .await;
    let running = b
        .wait_text("pass-hashing", |t| t.contains("% ") || t.contains("%)"))
        .await;
    assert!(running.contains("read ("), "{running}");
    // The key list answers while hashing.
    b.click_css("[data-testid=tab-browse]").await;
    b.wait_text("key-count", |t| {
        t.ends_with(&format!("of {} keys", KEYS + 1))
    })
    .await;
    assert_eq!(
        b.wait_attr("pass-hashing", "data-state", |_| true).await,
        "running",
        "the hash finished before the list could be shown: make the padding larger"
    );
    // The key index came from the part walkers' entries (no second read of
    // the file), and lists every key (the count above).
    b.wait_attr("pass-index", "data-state", |s| s == "done")
        .await;
    assert_readers(&b, "pass-index", "index from").await;
    // Cancel stops the work and says so; the next file opens normally.
    b.click_css("[data-testid=cancel]").await;
    b.wait_text("error", |t| t.starts_with("Cancelled")).await;
    b.wait_gone("cancel", "Cancel is still offered").await;
    b.pick_file(&snap).await;
    // The file's report is in the Overview (the Browse tab stays chosen).
    b.click("tab-overview").await;
    b.wait_attr("trailer-status", "data-state", |s| s == "verified")
        .await;
    b.wait_attr("pass-hashing", "data-state", |s| s == "done")
        .await;
    for pass in ["status", "index", "check", "space"] {
        b.wait_attr(&format!("pass-{pass}"), "data-state", |s| s == "done")
            .await;
    }
    b.assert_no_csp_violations("overview_and_keys_come_before_the_hash_and_cancel_stops_it")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_list_is_virtualised_and_the_tree_counts_keys() {
    let _turn = Turn::take();
    let etcd = Etcd::start();
    let snap = many_keys_snapshot(&etcd);
    let server = Server::start().await;
    let b = Browser::start().await;
    b.goto(&server.url).await;
    b.pick_file(&snap).await;
    b.click_css("[data-testid=tab-browse]").await;
    b.wait_text("key-count", |t| {
        t.ends_with(&format!("of {} keys", KEYS + 1))
    })
    .await;

    // Only the rows near the view are in the page.
    let rendered = b
        .client
        .find_all(Locator::Css("[data-testid=key-row]"))
        .await
        .unwrap()
        .len();
    assert!(
        rendered > 10 && rendered < 200,
        "{rendered} rows rendered for {KEYS} keys"
    );
    // End jumps to the last key; it is fetched and focused.
    let viewport = b
        .client
        .find(Locator::Css("[data-testid=keys-viewport]"))
        .await
        .unwrap();
    viewport.send_keys(&Key::End.to_string()).await.unwrap();
    let last = "/registry/secrets/alpha/token".to_string();
    let focused = wait_focused_key(&b, |k| k == last).await;
    assert_eq!(focused, last);
    // Up moves to the key before it; Enter opens it.
    b.client
        .execute(
            "window.__keys = []; document.addEventListener('keydown', e => window.__keys.push(e.key + '@' + (e.target.getAttribute && e.target.getAttribute('data-index'))), true)",
            vec![],
        )
        .await
        .unwrap();
    b.client
        .active_element()
        .await
        .unwrap()
        .send_keys(&Key::Up.to_string())
        .await
        .unwrap();
    let before = format!("/registry/configmaps/gamma/cm-{:05}", KEYS - 1);
    wait_focused_key(&b, |k| k == before).await;
    b.client
        .active_element()
        .await
        .unwrap()
        .send_keys(&Key::Enter.to_string())
        .await
        .unwrap();
    b.wait_text("detail-key", |t| t == before).await;

    // The tree: /registry/ › configmaps/ › three namespaces of 500 keys.
    let root = b
        .wait_attr("tree-node", "data-prefix", |p| p == "/registry/")
        .await;
    assert_eq!(root, "/registry/");
    b.click_css("[data-prefix='/registry/'] [data-testid=tree-toggle]")
        .await;
    b.click_css("[data-prefix='/registry/configmaps/'] [data-testid=tree-toggle]")
        .await;
    // The node's children arrive from the worker: wait for them.
    let ns = b
        .wait_css("[data-prefix='/registry/configmaps/beta/']")
        .await;
    let count = ns
        .find(Locator::Css("[data-testid=tree-count]"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(count.starts_with(&format!("{} keys", KEYS / 3)), "{count}");
    // Choosing a node filters the list to its prefix.
    ns.click().await.unwrap();
    b.wait_text("key-count", |t| {
        t.ends_with(&format!("of {} keys", KEYS / 3))
    })
    .await;
    let first = b
        .client
        .find(Locator::Css("[data-testid=key-row]"))
        .await
        .unwrap()
        .attr("data-key")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first, "/registry/configmaps/beta/cm-00001");

    // The space view draws the revisions histogram: every key has one revision.
    b.click_css("[data-testid=tab-space]").await;
    let ones = b.wait_attr("revisions-bin", "data-keys", |_| true).await;
    assert_eq!(ones, (KEYS + 1).to_string());
    b.assert_no_csp_violations("a_long_list_is_virtualised_and_the_tree_counts_keys")
        .await;
}

/// Pass `pass` came from two readers or more: the file was walked in parts
/// by several workers (one reader means the parts failed and it was walked once).
async fn assert_readers(b: &Browser, pass: &str, what: &str) {
    let readers = b.wait_attr(pass, "data-readers", |_| true).await;
    assert!(
        readers.parse::<u32>().is_ok_and(|n| n >= 2),
        "{what} {readers} reader(s)"
    );
}

async fn wait_focused_key(b: &Browser, ok: impl Fn(&str) -> bool) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let key = b
            .client
            .execute(
                "return document.activeElement && document.activeElement.getAttribute('data-key')",
                vec![],
            )
            .await
            .unwrap();
        if let Some(k) = key.as_str()
            && ok(k)
        {
            return k.to_string();
        }
        if std::time::Instant::now() > deadline {
            let around = b
                .client
                .execute(
                    "const a = document.activeElement; return [a && a.getAttribute('data-index'), [...document.querySelectorAll('[data-testid=key-row]')].slice(-5).map(e => e.getAttribute('data-index') + ' ' + e.getAttribute('data-key'))]",
                    vec![],
                )
                .await
                .unwrap();
            let keys = b
                .client
                .execute("return window.__keys", vec![])
                .await
                .unwrap();
            panic!("focus is on {key:?}: {around} {keys}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loaded_page_inspects_files_offline() {
    let _turn = Turn::take();
    let etcd = Etcd::start();
    let snap = many_keys_snapshot(&etcd);
    let server = Server::start().await;
    let b = Browser::start().await;
    b.goto(&server.url).await;
    b.wait_attr("worker-ready", "data-ready", |v| v == "true")
        .await;
    b.set_offline(true).await;
    let before = server.state.requests();
    drop(server);

    b.pick_file(&snap).await;
    b.wait_attr("trailer-status", "data-state", |s| s == "verified")
        .await;
    b.click_css("[data-testid=tab-browse]").await;
    b.wait_text("key-count", |t| {
        t.ends_with(&format!("of {} keys", KEYS + 1))
    })
    .await;
    b.click_css("[data-testid=key-row]").await;
    b.wait_text("detail-key", |t| {
        t.starts_with("/registry/configmaps/alpha/")
    })
    .await;
    b.click_css("[data-testid=tab-audit]").await;
    b.click_css("[data-testid=run-audit]").await;
    b.wait_text("finding-count", |t| t.ends_with("findings"))
        .await;
    assert!(before > 0, "the page was loaded from the server");
    b.assert_no_csp_violations("a_loaded_page_inspects_files_offline")
        .await;
}

/// Names in the page's origin-private file system.
async fn private_files(b: &Browser) -> Vec<String> {
    let v = b
        .client
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
               navigator.storage.getDirectory()
                 .then(async d => { const names = []; for await (const k of d.keys()) names.push(k); done(names); })
                 .catch(e => done(['error: ' + e]));"#,
            vec![],
        )
        .await
        .unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gzip_backup_is_spooled_to_private_storage_and_deleted_on_close() {
    let _turn = Turn::take();
    let etcd = Etcd::start();
    let snap = many_keys_snapshot(&etcd);
    let gz = snap.with_extension("db.gz");
    let out = std::process::Command::new("gzip")
        .args(["-c", snap.to_str().unwrap()])
        .output()
        .expect("running gzip");
    assert!(out.status.success());
    std::fs::write(&gz, &out.stdout).unwrap();
    let expected: serde_json::Value = etcd.snapshot_status(&snap);
    let server = Server::start().await;
    let b = Browser::start().await;
    b.goto(&server.url).await;
    b.wait_attr("worker-ready", "data-ready", |v| v == "true")
        .await;
    b.pick_file(&gz).await;
    let layers = b
        .wait_text("layers", |t| t.contains("private storage"))
        .await;
    assert!(
        layers.contains(&format!(
            "gzip (decompressed to the browser's private storage: {} bytes",
            std::fs::metadata(&snap).unwrap().len()
        )),
        "{layers}"
    );
    assert_eq!(b.text("status-hash").await, expected["hash"].to_string());
    b.wait_attr("trailer-status", "data-state", |s| s == "verified")
        .await;
    let spooled = private_files(&b).await;
    assert_eq!(spooled.len(), 1, "{spooled:?}");
    assert!(spooled[0].starts_with("etcd-lens-spool-"), "{spooled:?}");

    // Opening the next file closes this one and deletes its spool.
    b.pick_file(&snap).await;
    b.wait_attr("trailer-status", "data-state", |s| s == "verified")
        .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let left = private_files(&b).await;
        if left.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "spool not deleted: {left:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    b.assert_no_csp_violations("a_gzip_backup_is_spooled_to_private_storage_and_deleted_on_close")
        .await;
}

/// One worker opens a ~100 MiB snapshot ten times: each file's layers and
/// block cache go with it, so the worker's memory (which never shrinks)
/// stops growing after the first opens instead of holding every file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opening_file_after_file_frees_the_previous_one() {
    let _turn = Turn::take();
    let etcd = Etcd::start();
    etcd.put("/registry/configmaps/default/a", "x");
    let snap = etcd.dir().join("small.db");
    etcd.snapshot(&snap);
    let big = padded(&snap, 100 << 20);
    let server = Server::start().await;
    let b = Browser::start().await;
    b.goto(&server.url).await;
    let mut sizes = Vec::new();
    for _ in 0..10 {
        b.pick_file(&big).await;
        let bytes = b
            .wait_attr("worker-memory", "data-bytes", |v| v != "0")
            .await;
        sizes.push(bytes.parse::<u64>().unwrap());
        b.wait_attr("trailer-status", "data-state", |s| s == "verified")
            .await;
    }
    let (second, tenth) = (sizes[1], sizes[9]);
    assert!(
        tenth <= second + (32 << 20),
        "the worker's memory grew from {} MiB after the 2nd open to {} MiB after the 10th: {:?} MiB",
        second >> 20,
        tenth >> 20,
        sizes.iter().map(|s| s >> 20).collect::<Vec<_>>()
    );
    // A file this large is hashed in a worker of its own: a byte flipped in
    // it is found there too, and both digests are named.
    let mut bytes = std::fs::read(&big).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x01;
    let bad = etcd.dir().join("flipped.padded.db");
    std::fs::write(&bad, &bytes).unwrap();
    b.pick_file(&bad).await;
    b.wait_attr("trailer-status", "data-state", |s| s == "mismatch")
        .await;
    let trailer = b.text("trailer-status").await;
    let hex = |d: &[u8]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let stored = hex(&bytes[bytes.len() - 32..]);
    let computed = hex(&Sha256::digest(&bytes[..bytes.len() - 32]));
    assert!(
        trailer.contains(&stored) && trailer.contains(&computed),
        "{trailer}"
    );
    b.assert_no_csp_violations("ten opens").await;
}
