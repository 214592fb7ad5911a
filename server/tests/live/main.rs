//! The companion server against real etcd clusters on loopback: live
//! status through member loss and quorum loss, a real NOSPACE alarm,
//! snapshots through the API (encrypted, verified, equal to etcdctl's
//! status, no plaintext on disk), mutual TLS and etcd auth with a short
//! token TTL. One cluster per test, shared by its steps; the tests run in
//! parallel.
//!
//! One test binary: this file holds what the tests share (the server's
//! state for a cluster, API calls, a snapshot through the API end to end,
//! the real server process's CLI and HTTP); each module holds one concern's
//! tests.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use chrono::Utc;
use etcd_lens_server::catalog::Catalog;
use etcd_lens_server::config::ClusterConfig;
use etcd_lens_server::config::clusters;
use etcd_lens_server::etcd::status::{ClusterStatus, PreviousScrapes, cluster_status};
use etcd_lens_server::{AppState, app};
use etcd_lens_testkit::cluster::Cluster;
use http_body_util::BodyExt;
use tower::ServiceExt;

mod compression;
mod coordination;
mod defrag;
mod drills;
mod kill_nine;
mod schedules;
mod scorecard;
mod stream_36;
mod three_members;
mod tls_auth;

const TOKEN: &str = "live-test-token-0123456789abcdef0123456789";
const CANARY: &str = "CANARY-plaintext-7c1d9e-must-never-reach-the-disk";

/// Write a TOML file for `c` and load it as the server would.
fn config_for(c: &Cluster, name: &str, extra: &str) -> Arc<ClusterConfig> {
    let mut toml = format!(
        "[[cluster]]\nname = \"{name}\"\nendpoints = [{}]\ntimeout_seconds = 5\n",
        c.endpoints()
            .iter()
            .map(|e| format!("\"{e}\""))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if let Some(t) = c.tls() {
        toml += &format!(
            "ca = \"{}\"\ncert = \"{}\"\nkey = \"{}\"\n",
            t.ca.display(),
            t.client_cert.display(),
            t.client_key.display()
        );
    }
    toml += extra;
    let path = c.dir().join(format!("{name}.toml"));
    std::fs::write(&path, toml).unwrap();
    let mut all = clusters::load(&path).unwrap_or_else(|e| panic!("{e}"));
    Arc::new(all.remove(0))
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn status_of(cfg: &ClusterConfig) -> ClusterStatus {
    rt().block_on(cluster_status(
        cfg,
        &mut PreviousScrapes::default(),
        Utc::now(),
    ))
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

async fn call(s: &AppState, method: Method, path: &str) -> (StatusCode, Vec<u8>) {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .body(Body::empty())
        .unwrap();
    let res = app(s.clone()).oneshot(req).await.unwrap();
    let status = res.status();
    (
        status,
        res.into_body().collect().await.unwrap().to_bytes().to_vec(),
    )
}

async fn json(s: &AppState, method: Method, path: &str) -> (StatusCode, serde_json::Value) {
    let (st, body) = call(s, method, path).await;
    let v = serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("{path}: {e}: {}", String::from_utf8_lossy(&body)));
    (st, v)
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn decrypt(bytes: &[u8], id: &age::x25519::Identity) -> Vec<u8> {
    use std::io::Read;
    let d = age::Decryptor::new(bytes).expect("an age file");
    let mut r = d
        .decrypt(std::iter::once(id as &dyn age::Identity))
        .expect("decrypts with the test identity");
    let mut out = Vec::new();
    r.read_to_end(&mut out).unwrap();
    out
}

/// A snapshot through the API, end to end, on a healthy cluster.
async fn snapshot_through_the_api(
    c: &Cluster,
    s: &AppState,
    name: &str,
    identity: &age::x25519::Identity,
) -> serde_json::Value {
    let (st, v) = json(
        s,
        Method::POST,
        &format!("/api/v1/clusters/{name}/snapshots"),
    )
    .await;
    assert_eq!(st, StatusCode::ACCEPTED, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    // Scan the data folder for the canary while the snapshot runs, and after.
    let deadline = Instant::now() + Duration::from_secs(60);
    let record = loop {
        for f in files_under(&s.services.data_dir) {
            if let Ok(b) = std::fs::read(&f) {
                assert!(
                    !contains(&b, CANARY.as_bytes()),
                    "plaintext canary in {}",
                    f.display()
                );
            }
        }
        let (st, v) = json(s, Method::GET, &format!("/api/v1/snapshots/{id}")).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        match v["status"].as_str() {
            Some("running") => {}
            Some("done") => break v,
            other => panic!("snapshot {other:?}: {v}"),
        }
        assert!(Instant::now() < deadline, "snapshot still running: {v}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    for f in files_under(&s.services.data_dir) {
        let b = std::fs::read(&f).unwrap();
        assert!(
            !contains(&b, CANARY.as_bytes()),
            "plaintext canary in {}",
            f.display()
        );
        assert!(
            !f.to_string_lossy().ends_with(".part"),
            "a .part file stayed: {}",
            f.display()
        );
    }
    assert_eq!(record["encrypted"], true, "{record}");
    assert_eq!(record["reason"], "manual");
    let stored = s.services.data_dir.join(record["path"].as_str().unwrap());
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&stored).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "snapshot file mode");
    }
    let sealed = std::fs::read(&stored).unwrap();
    assert_eq!(
        sealed.len() as u64,
        record["stored_bytes"].as_u64().unwrap()
    );
    {
        use sha2::Digest;
        assert_eq!(
            hex::encode(sha2::Sha256::digest(&sealed)),
            record["stored_sha256"]
        );
    }
    // The download is the stored file, byte for byte.
    let (st, body) = call(s, Method::GET, &format!("/api/v1/snapshots/{id}/download")).await;
    assert_eq!(st, StatusCode::OK);
    assert!(body == sealed, "download differs from the stored file");

    // Decrypted, it is what `etcdctl snapshot save` writes: data + SHA-256 trailer.
    let plain = decrypt(&sealed, identity);
    assert_eq!(plain.len() % 512, 32, "data plus a 32-byte digest");
    let (data, trailer) = plain.split_at(plain.len() - 32);
    {
        use sha2::Digest;
        assert_eq!(
            sha2::Sha256::digest(data).as_slice(),
            trailer,
            "trailer verifies"
        );
        assert_eq!(hex::encode(trailer), record["plaintext_sha256"]);
    }
    assert!(
        contains(&plain, CANARY.as_bytes()),
        "the canary is in the snapshot (else the scan proves nothing)"
    );
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("decrypted.db");
    std::fs::write(&file, &plain).unwrap();
    let oracle = c.snapshot_status(&file);
    assert_eq!(
        record["revision"], oracle["revision"],
        "{record} vs {oracle}"
    );
    assert_eq!(
        record["total_keys"], oracle["totalKey"],
        "{record} vs {oracle}"
    );
    assert_eq!(
        record["db_size_bytes"], oracle["totalSize"],
        "{record} vs {oracle}"
    );
    assert_eq!(
        record["status_hash"], oracle["hash"],
        "{record} vs {oracle}"
    );
    let rev = c.revision();
    assert!(record["revision"].as_i64().unwrap() <= rev);
    assert_eq!(record["hash_kv"]["revision"], record["revision"]);
    assert!(record["hash_kv_error"].is_null(), "{record}");
    assert!(!record["etcd_version"].as_str().unwrap().is_empty());
    record
}

/// A minimal HTTP/1.1 call to the real server process: (status, body).
fn http(addr: &str, method: &str, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    // Chunked bodies: keep the JSON between the first `{` and the last `}`.
    let body = match (body.find('{'), body.rfind('}')) {
        (Some(a), Some(b)) if a <= b => body[a..=b].to_string(),
        _ => body,
    };
    (status, body)
}

fn lens_cmd(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_etcd-lens"))
        .args(args)
        .output()
        .unwrap()
}

fn lens(args: &[&str]) -> std::process::Output {
    lens_cmd(args)
}

/// `GET /metrics`, parsed by the core's Prometheus text parser.
async fn metrics(s: &AppState, token: Option<&str>) -> Parsed {
    let mut req = Request::builder().uri("/metrics");
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let res = app(s.clone())
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body = res.into_body().collect().await.unwrap().to_bytes();
    Parsed(etcd_lens_core::metrics::Scrape::parse(
        &String::from_utf8_lossy(&body),
    ))
}

#[derive(Debug)]
struct Parsed(etcd_lens_core::metrics::Scrape);

impl Parsed {
    /// The first sample called `name` whose labels include `labels`.
    fn value_of(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.0
            .samples
            .iter()
            .find(|s| {
                s.name == name
                    && labels
                        .iter()
                        .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|s| s.value)
    }
}
