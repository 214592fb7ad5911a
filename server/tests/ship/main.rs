//! Shipping snapshots off the cluster, against a real S3-compatible server
//! and a local folder: uploads (sizes and SHA-256 equal to the local file,
//! metadata object = the catalog record), the catalog rebuilt from the
//! bucket after the data folder is deleted, retention deleting remotely
//! (and a failed remote delete kept, visible and retried), an upload cut
//! mid-multipart (no metadata object, completed by the next run), wrong
//! credentials (a clear error in the record, the log and the metrics) and
//! restore drills of the bucket's copy (its size and SHA-256 checked first).
//!
//! The S3 server is `s3s-fs` (a library: its `FileSystem` behind `s3s`'s
//! service, SigV4 checked against one access key) on 127.0.0.1 inside each
//! test, behind a thin hyper layer that can drop connections on cue — the
//! way a server that dies mid-upload looks to the client. Each test has its
//! own etcd (testkit, one member), S3 server and folders, so tests run in
//! parallel with each other and with other test binaries.
//!
//! One test binary: this file holds the shared helpers (config, state, API
//! calls, one run, what a shipped record must look like); `s3_server.rs` the
//! S3 server; `s3_upload.rs`, `s3_faults.rs`, `s3_drill.rs` (restore drills
//! of the bucket's copy) and `local_folder.rs` the tests.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use chrono::Utc;
use etcd_lens_server::catalog::{Catalog, SnapshotRecord};
use etcd_lens_server::config::ClusterConfig;
use etcd_lens_server::config::clusters;
use etcd_lens_server::ops::Services;
use etcd_lens_server::{AppState, app};
use etcd_lens_testkit::cli::Lens;
use etcd_lens_testkit::cluster::{Cluster, ClusterOptions};
use http_body_util::BodyExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};
use sha2::Digest;
use tower::ServiceExt;

mod local_folder;
mod s3_drill;
mod s3_faults;
mod s3_server;
mod s3_upload;

use s3_server::S3;

const LENS: Lens = Lens(env!("CARGO_BIN_EXE_etcd-lens"));
const TOKEN: &str = "ship-test-token-0123456789abcdef0123456789";
const ACCESS_KEY: &str = "lens-test-access";
const SECRET_KEY: &str = "lens-test-secret-0123456789";
const BUCKET: &str = "lens";
const PREFIX: &str = "backups";

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Everything the server logs, captured once for the whole binary; tests
/// look for lines naming their own cluster.
fn logs() -> &'static Mutex<Vec<u8>> {
    static LOGS: OnceLock<&'static Mutex<Vec<u8>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buf: &'static Mutex<Vec<u8>> = Box::leak(Box::new(Mutex::new(Vec::new())));
        struct W(&'static Mutex<Vec<u8>>);
        impl std::io::Write for W {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "info,s3s=off,s3s_fs=off",
            ))
            .with_ansi(false)
            .with_writer(move || W(buf))
            .try_init();
        buf
    })
}

fn log_lines_with(needle: &str) -> Vec<String> {
    String::from_utf8_lossy(&logs().lock().unwrap())
        .lines()
        .filter(|l| l.contains(needle))
        .map(str::to_string)
        .collect()
}

/// A `[[cluster]]` file for `c` with `store` (and `extra`) tables.
fn config(
    c: &Cluster,
    name: &str,
    recipient: &str,
    extra: &str,
    store: &str,
) -> (PathBuf, Arc<ClusterConfig>) {
    let toml = format!(
        "[[cluster]]\nname = \"{name}\"\nendpoints = [\"{}\"]\ntimeout_seconds = 5\nrecipients = [\"{recipient}\"]\n{extra}\n[cluster.store]\n{store}",
        c.endpoints()[0]
    );
    let path = c.dir().join(format!("{name}.toml"));
    std::fs::write(&path, toml).unwrap();
    let mut all = clusters::load(&path).unwrap_or_else(|e| panic!("{e}"));
    (path, Arc::new(all.remove(0)))
}

/// A `[cluster.store]` body for the test S3 server; `secret` is what the
/// credentials file says.
fn s3_store(c: &Cluster, s3: &S3, name: &str, secret: &str) -> String {
    let creds = c.dir().join(format!("{name}.credentials"));
    std::fs::write(
        &creds,
        format!("[default]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {secret}\n"),
    )
    .unwrap();
    format!(
        "kind = \"s3\"\nendpoint = \"{}\"\nbucket = \"{BUCKET}\"\nprefix = \"{PREFIX}\"\npath_style = true\nallow_http = true\ncredentials_file = \"{}\"\nupload_attempts = 2\nretry_timeout_seconds = 1\n",
        s3.endpoint(),
        creds.display()
    )
}

fn state(data: &Path, clusters: Vec<Arc<ClusterConfig>>) -> AppState {
    let dist = data.join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(dist.join("index.html"), "<!DOCTYPE html><html></html>").unwrap();
    let catalog = Catalog::open(data).unwrap();
    AppState::new(dist, data.to_path_buf(), Some(TOKEN.into()), catalog)
        .unwrap()
        .with_clusters(clusters)
}

async fn api(s: &AppState, method: Method, path: &str) -> (StatusCode, serde_json::Value) {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .body(Body::empty())
        .unwrap();
    let res = app(s.clone()).oneshot(req).await.unwrap();
    let status = res.status();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
    )
}

/// One run, as the API and the scheduler do it: take, ship, retention, retries.
async fn run(s: &Services, cfg: &Arc<ClusterConfig>) -> SnapshotRecord {
    let job = s.jobs.begin(cfg, "manual", Utc::now()).unwrap();
    s.snapshot(cfg, &job, "manual", "test")
        .await
        .unwrap_or_else(|f| panic!("snapshot of {} failed: {f}", cfg.name))
}

async fn keys_under(store: &dyn ObjectStore, prefix: &str) -> Vec<(String, u64)> {
    use futures::TryStreamExt;
    let mut v: Vec<(String, u64)> = store
        .list(Some(&ObjectPath::from(prefix)))
        .map_ok(|m| (m.location.to_string(), m.size))
        .try_collect()
        .await
        .unwrap();
    v.sort();
    v
}

async fn get(store: &dyn ObjectStore, key: &str) -> Option<Vec<u8>> {
    match store.get(&ObjectPath::from(key)).await {
        Ok(r) => Some(r.bytes().await.unwrap().to_vec()),
        Err(object_store::Error::NotFound { .. }) => None,
        Err(e) => panic!("{key}: {e}"),
    }
}

/// The record's objects are in the store: data = the local file (size and
/// SHA-256), metadata = the catalog record.
async fn assert_shipped(store: &dyn ObjectStore, data_dir: &Path, r: &SnapshotRecord) {
    let sh = r
        .shipped
        .as_ref()
        .unwrap_or_else(|| panic!("{} has no shipping state", r.id));
    assert!(
        sh.at.is_some() && sh.error.is_none(),
        "{} not shipped: {sh:?}",
        r.id
    );
    let local = std::fs::read(data_dir.join(&r.path)).unwrap();
    let remote = get(store, &sh.key)
        .await
        .unwrap_or_else(|| panic!("no {}", sh.key));
    assert_eq!(remote.len() as u64, r.stored_bytes);
    assert_eq!(sh.bytes, Some(r.stored_bytes));
    assert!(remote == local, "{} differs from the local file", sh.key);
    assert_eq!(hex::encode(sha2::Sha256::digest(&remote)), r.stored_sha256);
    let meta = get(store, &sh.metadata_key)
        .await
        .unwrap_or_else(|| panic!("no {}", sh.metadata_key));
    let meta: SnapshotRecord = serde_json::from_slice(&meta).unwrap();
    assert_eq!(&meta, r, "the metadata object is the catalog record");
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn started(opts: ClusterOptions) -> Cluster {
    let c = Cluster::start(opts);
    for i in 0..10 {
        c.put(
            &format!("/registry/configmaps/default/cm-{i}"),
            &format!("value-{i}"),
        );
    }
    c
}
