//! Shipping snapshots off the cluster, against a real S3-compatible server
//! and a local folder: uploads (sizes and SHA-256 equal to the local file,
//! metadata object = the catalog record), the catalog rebuilt from the
//! bucket after the data folder is deleted, retention deleting remotely
//! (and a failed remote delete kept, visible and retried), an upload cut
//! mid-multipart (no metadata object, completed by the next run) and wrong
//! credentials (a clear error in the record, the log and the metrics).
//!
//! The S3 server is `s3s-fs` (a library: its `FileSystem` behind `s3s`'s
//! service, SigV4 checked against one access key) on 127.0.0.1 inside each
//! test, behind a thin hyper layer that can drop connections on cue — the
//! way a server that dies mid-upload looks to the client. Each test has its
//! own etcd (testkit, one member), S3 server and folders, so tests run in
//! parallel with each other and with other test binaries.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use chrono::Utc;
use etcd_lens_server::catalog::{Catalog, SnapshotRecord};
use etcd_lens_server::config::ClusterConfig;
use etcd_lens_server::config::clusters;
use etcd_lens_server::ops::Services;
use etcd_lens_server::ship::{Store, rebuild};
use etcd_lens_server::{AppState, app};
use etcd_lens_testkit::cli::Lens;
use etcd_lens_testkit::cluster::{Cluster, ClusterOptions};
use http_body_util::BodyExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use sha2::Digest;
use tower::ServiceExt;

const LENS: Lens = Lens(env!("CARGO_BIN_EXE_etcd-lens"));
const TOKEN: &str = "ship-test-token-0123456789abcdef0123456789";
const ACCESS_KEY: &str = "lens-test-access";
const SECRET_KEY: &str = "lens-test-secret-0123456789";
const BUCKET: &str = "lens";
const PREFIX: &str = "backups";

// ---- the S3 server -------------------------------------------------------

/// When the S3 server drops connections instead of answering.
#[derive(Default)]
struct Faults {
    /// Every request.
    all: AtomicBool,
    /// Deletes (`DELETE`, and bulk `POST ?delete`).
    deletes: AtomicBool,
    /// Once this many multipart parts were accepted: then `all`.
    after_parts: AtomicU64,
    parts_seen: AtomicU64,
    dropped: AtomicU64,
}

impl Faults {
    fn new() -> Self {
        Self {
            after_parts: AtomicU64::new(u64::MAX),
            ..Default::default()
        }
    }

    fn clear(&self) {
        self.all.store(false, Ordering::SeqCst);
        self.deletes.store(false, Ordering::SeqCst);
        self.after_parts.store(u64::MAX, Ordering::SeqCst);
    }

    fn refuses<B>(&self, req: &hyper::Request<B>) -> bool {
        let query = req.uri().query().unwrap_or("");
        if req.method() == hyper::Method::PUT && query.contains("partNumber=") {
            let seen = self.parts_seen.fetch_add(1, Ordering::SeqCst);
            if seen >= self.after_parts.load(Ordering::SeqCst) {
                self.all.store(true, Ordering::SeqCst);
            }
        }
        let delete = req.method() == hyper::Method::DELETE
            || (req.method() == hyper::Method::POST
                && query.split('&').any(|q| q == "delete" || q == "delete="));
        let refuse =
            self.all.load(Ordering::SeqCst) || (delete && self.deletes.load(Ordering::SeqCst));
        if refuse {
            self.dropped.fetch_add(1, Ordering::SeqCst);
        }
        refuse
    }
}

/// The error that makes hyper drop the connection.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("dropped by the test")
    }
}

impl std::error::Error for Dropped {}

/// s3s's service, or a dropped connection when [`Faults`] says so.
#[derive(Clone)]
struct Faulty {
    inner: s3s::service::S3Service,
    faults: Arc<Faults>,
}

type Answer = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<s3s::HttpResponse, s3s::HttpError>> + Send>,
>;

impl hyper::service::Service<hyper::Request<hyper::body::Incoming>> for Faulty {
    type Response = s3s::HttpResponse;
    type Error = s3s::HttpError;
    type Future = Answer;

    fn call(&self, req: hyper::Request<hyper::body::Incoming>) -> Answer {
        if self.faults.refuses(&req) {
            return Box::pin(async { Err(s3s::HttpError::new(Box::new(Dropped))) });
        }
        hyper::service::Service::call(&self.inner, req)
    }
}

struct S3 {
    addr: SocketAddr,
    faults: Arc<Faults>,
    _root: tempfile::TempDir,
}

impl S3 {
    /// s3s-fs on a random 127.0.0.1 port, serving bucket `lens` from a temp folder.
    fn start(rt: &tokio::runtime::Runtime) -> Self {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join(BUCKET)).unwrap();
        let fs = s3s_fs::FileSystem::new(root.path()).unwrap();
        let mut b = s3s::service::S3ServiceBuilder::new(fs);
        b.set_auth(s3s::auth::SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        let service = b.build();
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let faults = Arc::new(Faults::new());
        let f = faults.clone();
        rt.spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                let handler = Faulty {
                    inner: service.clone(),
                    faults: f.clone(),
                };
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(socket), handler)
                        .await;
                });
            }
        });
        Self {
            addr,
            faults,
            _root: root,
        }
    }

    fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Our own client of the bucket, to look at what the server shipped.
    fn client(&self) -> Arc<dyn ObjectStore> {
        // reqwest here has rustls without a provider (see ship::store).
        let _ = rustls::crypto::ring::default_provider().install_default();
        Arc::new(
            object_store::aws::AmazonS3Builder::new()
                .with_endpoint(self.endpoint())
                .with_bucket_name(BUCKET)
                .with_region("us-east-1")
                .with_access_key_id(ACCESS_KEY)
                .with_secret_access_key(SECRET_KEY)
                .with_allow_http(true)
                .build()
                .unwrap(),
        )
    }
}

// ---- helpers -------------------------------------------------------------

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

// ---- tests ---------------------------------------------------------------

#[test]
fn s3_upload_listing_and_rebuild_after_the_data_folder_is_lost() {
    logs();
    let c = started(ClusterOptions::default());
    let identity = age::x25519::Identity::generate();
    let rt = rt();
    let s3 = S3::start(&rt);
    let store_toml = s3_store(&c, &s3, "lost", SECRET_KEY);
    let (cfg_path, cfg) = config(
        &c,
        "lost",
        &identity.to_public().to_string(),
        "",
        &store_toml,
    );
    let bucket = s3.client();
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().join("data");

    // The probe: conditional writes honoured, no versioning.
    let probe = rt
        .block_on(Store::open(cfg.store.as_ref().unwrap()).unwrap().probe("t"))
        .unwrap();
    assert!(probe.conditional_put && !probe.versioned, "{probe:?}");

    let s = state(&data_dir, vec![cfg.clone()]);
    let originals: Vec<SnapshotRecord> = rt.block_on(async {
        let mut v = Vec::new();
        for _ in 0..4 {
            v.push(run(&s.services, &cfg).await);
        }
        for r in &v {
            assert_shipped(&*bucket, &data_dir, r).await;
            assert!(r.encrypted);
            // Visible in the API's snapshot JSON.
            let (st, j) = api(&s, Method::GET, &format!("/api/v1/snapshots/{}", r.id)).await;
            assert_eq!(st, StatusCode::OK);
            assert_eq!(
                j["shipped"]["key"],
                format!("{PREFIX}/lost/{}.db.age", r.id),
                "{j}"
            );
            assert!(j["shipped"]["at"].is_string(), "{j}");
            assert_eq!(j["shipped"]["store"], format!("s3://{BUCKET}/{PREFIX}"));
        }
        // Listing: exactly a data and a metadata object per snapshot (no probe left).
        let listed = keys_under(&*bucket, "").await;
        assert_eq!(listed.len(), 8, "{listed:?}");
        v
    });
    let m = s.services.metrics.encode();
    assert!(
        m.contains("etcd_lens_uploads_total{cluster=\"lost\"} 4"),
        "{m}"
    );
    assert!(
        !m.contains("etcd_lens_upload_failures_total{cluster=\"lost\"}"),
        "{m}"
    );

    // Damage two snapshots in the bucket and leave an orphan data object.
    let (a, b, gone, cut) = (&originals[0], &originals[1], &originals[2], &originals[3]);
    rt.block_on(async {
        let key = |r: &SnapshotRecord| r.shipped.clone().unwrap().key;
        bucket.delete(&ObjectPath::from(key(gone))).await.unwrap();
        let bytes = get(&*bucket, &key(cut)).await.unwrap();
        bucket
            .put(
                &ObjectPath::from(key(cut)),
                PutPayload::from(bytes[..bytes.len() / 2].to_vec()),
            )
            .await
            .unwrap();
        bucket
            .put(
                &ObjectPath::from(format!("{PREFIX}/lost/half-done.db.age")),
                PutPayload::from_static(b"x"),
            )
            .await
            .unwrap();
    });

    // The server's disk is lost.
    drop(s);
    std::fs::remove_dir_all(&data_dir).unwrap();
    let out = LENS.run(&[
        "catalog",
        "rebuild",
        "--from",
        "lost",
        "--config",
        cfg_path.to_str().unwrap(),
        "--data-dir",
        data_dir.to_str().unwrap(),
        "--verify-sha256",
        "--json",
    ]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(
        out.status.code(),
        Some(1),
        "problems found: exit 1; {report}"
    );
    let mut want = vec![a.id.clone(), b.id.clone()];
    want.sort();
    assert_eq!(report["restored"], serde_json::json!(want), "{report}");
    let problems: Vec<(String, String)> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["key"].as_str().unwrap().to_string(),
                p["problem"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(problems.len(), 3, "{report}");
    assert!(
        problems
            .iter()
            .any(|(k, p)| k.ends_with(&format!("{}.json", gone.id)) && p.contains("is missing")),
        "{report}"
    );
    assert!(
        problems
            .iter()
            .any(|(k, p)| k.ends_with(&format!("{}.json", cut.id))
                && p.contains(&format!("the record says {}", cut.stored_bytes))),
        "{report}"
    );
    assert!(
        problems
            .iter()
            .any(|(k, p)| k.ends_with("half-done.db.age") && p.contains("no metadata object")),
        "{report}"
    );
    // The rebuilt records are the originals, field for field.
    let catalog = Catalog::open(&data_dir).unwrap();
    let mut rebuilt = catalog.snapshots().unwrap();
    rebuilt.sort_by(|x, y| x.id.cmp(&y.id));
    let mut expected = vec![a.clone(), b.clone()];
    expected.sort_by(|x, y| x.id.cmp(&y.id));
    assert_eq!(rebuilt, expected);
    drop(catalog);

    // A second rebuild keeps what is there.
    let out = LENS.run(&[
        "catalog",
        "rebuild",
        "--from",
        "lost",
        "--config",
        cfg_path.to_str().unwrap(),
        "--data-dir",
        data_dir.to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("0 restored, 2 already catalogued, 3 problem(s)"),
        "{text}"
    );
}

#[test]
fn s3_retention_deletes_remotely_and_a_failed_delete_is_kept_and_retried() {
    logs();
    let c = started(ClusterOptions::default());
    let identity = age::x25519::Identity::generate();
    let rt = rt();
    let s3 = S3::start(&rt);
    let store_toml = s3_store(&c, &s3, "keep1", SECRET_KEY);
    let (_, cfg) = config(
        &c,
        "keep1",
        &identity.to_public().to_string(),
        "[cluster.retention]\nkeep_last = 1\nmin_verified = 1\n",
        &store_toml,
    );
    let bucket = s3.client();
    let data = tempfile::tempdir().unwrap();
    let s = state(data.path(), vec![cfg.clone()]);
    let folder = format!("{PREFIX}/keep1");
    // The snapshot ids the bucket holds objects of, sorted.
    let ids = |v: &[(String, u64)]| -> Vec<String> {
        let mut ids: Vec<String> = v
            .iter()
            .map(|(k, _)| {
                k.rsplit('/')
                    .next()
                    .unwrap()
                    .split('.')
                    .next()
                    .unwrap()
                    .to_string()
            })
            .collect();
        ids.sort();
        ids.dedup();
        ids
    };
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    rt.block_on(async {
        let first = run(&s.services, &cfg).await;
        assert_shipped(&*bucket, data.path(), &first).await;
        let second = run(&s.services, &cfg).await;
        assert_shipped(&*bucket, data.path(), &second).await;
        // keep_last = 1: the first is gone here and in the bucket.
        assert!(s.services.catalog.snapshot(&first.id).unwrap().is_none());
        assert!(!data.path().join(&first.path).exists());
        assert_eq!(
            ids(&keys_under(&*bucket, &folder).await),
            vec![second.id.clone()]
        );
        assert!(s.services.catalog.remote_deletes().unwrap().is_empty());

        // The store refuses deletes: the local delete happens, the remote one waits.
        s3.faults.deletes.store(true, Ordering::SeqCst);
        let third = run(&s.services, &cfg).await;
        assert_shipped(&*bucket, data.path(), &third).await;
        assert!(s.services.catalog.snapshot(&second.id).unwrap().is_none());
        let pending = s.services.catalog.remote_deletes().unwrap();
        assert_eq!(pending.len(), 1, "{pending:?}");
        assert_eq!(pending[0].snapshot_id, second.id);
        assert_eq!(
            pending[0].keys[0],
            format!("{folder}/{}.json", second.id),
            "metadata first"
        );
        assert!(
            pending[0].error.is_some() && pending[0].attempts == 1,
            "{pending:?}"
        );
        assert_eq!(
            ids(&keys_under(&*bucket, &folder).await),
            sorted(vec![second.id.clone(), third.id.clone()])
        );
        let m = s.services.metrics.encode();
        assert!(
            m.contains("etcd_lens_remote_deletes_pending{cluster=\"keep1\"} 1"),
            "{m}"
        );
        assert!(
            m.contains("etcd_lens_remote_delete_failures_total{cluster=\"keep1\"} 1"),
            "{m}"
        );
        assert!(
            !log_lines_with(&format!("deleting snapshot {} of \"keep1\"", second.id)).is_empty(),
            "the failed delete is logged"
        );
        let (_, log) = api(&s, Method::GET, "/api/v1/audit-log").await;
        assert!(
            log["entries"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["action"] == "snapshot.remote_delete"
                    && e["snapshot_id"] == second.id.as_str()
                    && e["result"].as_str().unwrap().starts_with("error:")),
            "{log}"
        );

        // The next run retries it: only the newest remains, nothing pending.
        s3.faults.clear();
        let fourth = run(&s.services, &cfg).await;
        assert_eq!(
            ids(&keys_under(&*bucket, &folder).await),
            vec![fourth.id.clone()]
        );
        assert!(s.services.catalog.remote_deletes().unwrap().is_empty());
        let m = s.services.metrics.encode();
        assert!(
            m.contains("etcd_lens_remote_deletes_pending{cluster=\"keep1\"} 0"),
            "{m}"
        );

        // An API delete removes the objects too (in the background).
        let (st, v) = api(
            &s,
            Method::DELETE,
            &format!("/api/v1/snapshots/{}?force=true", fourth.id),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while !keys_under(&*bucket, &folder).await.is_empty() {
            assert!(Instant::now() < deadline, "the API delete left the objects");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
}

/// Random bytes (xorshift): incompressible, so the snapshot is as large as the data.
fn noise(seed: u64, n: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[test]
fn s3_upload_cut_mid_multipart_leaves_no_metadata_and_the_next_run_completes_it() {
    logs();
    let c = started(ClusterOptions::default());
    // ~7 MiB of values: a snapshot of two parts (5 MiB each at most).
    for i in 0..7 {
        c.put_bytes(
            &format!("/registry/secrets/default/big-{i}"),
            &noise(i + 1, 1024 * 1024),
        );
    }
    let identity = age::x25519::Identity::generate();
    let rt = rt();
    let s3 = S3::start(&rt);
    let store_toml = s3_store(&c, &s3, "cut", SECRET_KEY);
    let (_, cfg) = config(
        &c,
        "cut",
        &identity.to_public().to_string(),
        "",
        &store_toml,
    );
    let bucket = s3.client();
    let data = tempfile::tempdir().unwrap();
    let s = state(data.path(), vec![cfg.clone()]);
    rt.block_on(async {
        // The server "dies" once the first part is in.
        s3.faults.after_parts.store(1, Ordering::SeqCst);
        let cut = run(&s.services, &cfg).await;
        assert!(
            cut.stored_bytes > 5 * 1024 * 1024,
            "{} bytes: not a multipart upload",
            cut.stored_bytes
        );
        assert!(
            s3.faults.parts_seen.load(Ordering::SeqCst) >= 2,
            "cut mid-multipart"
        );
        assert!(s3.faults.dropped.load(Ordering::SeqCst) > 0);
        let sh = cut.shipped.clone().unwrap();
        assert!(sh.at.is_none(), "{sh:?}");
        assert_eq!(sh.attempts, 2, "{sh:?}");
        assert!(sh.error.is_some(), "{sh:?}");
        // Still catalogued here, marked as not shipped.
        let here = s.services.catalog.snapshot(&cut.id).unwrap().unwrap();
        assert_eq!(here.shipped, Some(sh.clone()));
        assert!(data.path().join(&here.path).exists());
        let m = s.services.metrics.encode();
        assert!(
            m.contains("etcd_lens_upload_failures_total{cluster=\"cut\"} 1"),
            "{m}"
        );
        let lines = log_lines_with(&format!("shipping snapshot {} of \"cut\"", cut.id));
        assert!(
            lines
                .iter()
                .any(|l| l.contains("attempt 1 of 2 failed") && l.contains("uploading a part of")),
            "the cut part is named in the log: {lines:#?}"
        );

        // The server is back: nothing of the cut upload is visible as a snapshot.
        s3.faults.clear();
        assert!(
            get(&*bucket, &sh.metadata_key).await.is_none(),
            "no metadata object"
        );
        assert!(
            get(&*bucket, &sh.key).await.is_none(),
            "no data object either"
        );

        // The next run ships its own snapshot and completes the cut one.
        let next = run(&s.services, &cfg).await;
        assert_shipped(&*bucket, data.path(), &next).await;
        let done = s.services.catalog.snapshot(&cut.id).unwrap().unwrap();
        assert_shipped(&*bucket, data.path(), &done).await;
        assert_eq!(
            done.shipped.as_ref().unwrap().attempts,
            3,
            "{:?}",
            done.shipped
        );
        let folder = format!("{PREFIX}/cut/");
        assert_eq!(keys_under(&*bucket, &folder).await.len(), 4);
    });
}

#[test]
fn s3_wrong_credentials_are_a_clear_error_in_the_record_the_log_and_the_metrics() {
    logs();
    let c = started(ClusterOptions::default());
    let identity = age::x25519::Identity::generate();
    let rt = rt();
    let s3 = S3::start(&rt);
    let store_toml = s3_store(&c, &s3, "badkey", "not-the-secret");
    let (_, cfg) = config(
        &c,
        "badkey",
        &identity.to_public().to_string(),
        "",
        &store_toml,
    );
    let data = tempfile::tempdir().unwrap();
    let s = state(data.path(), vec![cfg.clone()]);
    rt.block_on(async {
        let t0 = Instant::now();
        let r = run(&s.services, &cfg).await;
        let sh = r.shipped.clone().unwrap();
        let err = sh.error.clone().unwrap();
        assert!(sh.at.is_none());
        assert!(err.contains("refused our credentials"), "{err}");
        assert!(
            err.contains("credentials_file"),
            "says where to look: {err}"
        );
        assert!(
            !err.contains("not-the-secret"),
            "no secret in the message: {err}"
        );
        assert_eq!(
            sh.attempts, 1,
            "not retried: another attempt cannot cure it"
        );
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "failed fast: {:?}",
            t0.elapsed()
        );
        let (_, j) = api(&s, Method::GET, &format!("/api/v1/snapshots/{}", r.id)).await;
        assert_eq!(j["shipped"]["error"], err.as_str(), "{j}");
        assert!(j["shipped"]["at"].is_null(), "{j}");
        let lines = log_lines_with(&format!("snapshot {} of \"badkey\" NOT shipped", r.id));
        assert_eq!(lines.len(), 1, "logged once per failed upload");
        assert!(
            lines[0].contains("refused our credentials") && lines[0].contains("WARN"),
            "{}",
            lines[0]
        );
        let m = s.services.metrics.encode();
        assert!(
            m.contains("etcd_lens_upload_failures_total{cluster=\"badkey\"} 1"),
            "{m}"
        );
    });
}

#[test]
fn local_folder_upload_delete_and_read_back() {
    logs();
    let c = started(ClusterOptions::default());
    let identity = age::x25519::Identity::generate();
    let rt = rt();
    let target = tempfile::tempdir().unwrap();
    let (_, cfg) = config(
        &c,
        "folder",
        &identity.to_public().to_string(),
        "",
        &format!(
            "kind = \"local\"\npath = \"{}\"\nprefix = \"{PREFIX}\"\n",
            target.path().display()
        ),
    );
    let store = Store::open(cfg.store.as_ref().unwrap()).unwrap();
    let probe = rt.block_on(store.probe("t")).unwrap();
    assert!(
        probe.conditional_put && !probe.versioned && probe.local,
        "{probe:?}"
    );
    let local: Arc<dyn ObjectStore> =
        Arc::new(object_store::local::LocalFileSystem::new_with_prefix(target.path()).unwrap());
    let data = tempfile::tempdir().unwrap();
    let s = state(data.path(), vec![cfg.clone()]);
    rt.block_on(async {
        let a = run(&s.services, &cfg).await;
        let b = run(&s.services, &cfg).await;
        for r in [&a, &b] {
            assert_shipped(&*local, data.path(), r).await;
            let file = target
                .path()
                .join(PREFIX)
                .join("folder")
                .join(format!("{}.db.age", r.id));
            assert_eq!(std::fs::metadata(&file).unwrap().len(), r.stored_bytes);
            assert!(
                target
                    .path()
                    .join(PREFIX)
                    .join("folder")
                    .join(format!("{}.json", r.id))
                    .exists()
            );
        }
        let back = rebuild::read_back(&store, "folder", true).await.unwrap();
        assert!(back.problems.is_empty(), "{:?}", back.problems);
        let mut want = vec![a.clone(), b.clone()];
        want.sort_by(|x, y| x.id.cmp(&y.id));
        assert_eq!(back.records, want);

        // An API delete removes both objects (metadata first).
        let (st, v) = api(&s, Method::DELETE, &format!("/api/v1/snapshots/{}", a.id)).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        let gone = target
            .path()
            .join(PREFIX)
            .join("folder")
            .join(format!("{}.db.age", a.id));
        let deadline = Instant::now() + Duration::from_secs(20);
        while gone.exists() {
            assert!(
                Instant::now() < deadline,
                "the API delete left {}",
                gone.display()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(
            !target
                .path()
                .join(PREFIX)
                .join("folder")
                .join(format!("{}.json", a.id))
                .exists()
        );
        assert_shipped(&*local, data.path(), &b).await;
        // ops::snapshots::delete alone queues the remote delete in the same transaction.
        etcd_lens_server::ops::snapshots::delete(data.path(), &s.services.catalog, &b.id, false)
            .unwrap();
        let pending = s.services.catalog.remote_deletes().unwrap();
        assert_eq!(pending.len(), 1, "{pending:?}");
        etcd_lens_server::ops::ship::drain_deletes(&cfg, &store, &s.services, "test").await;
        assert!(s.services.catalog.remote_deletes().unwrap().is_empty());
        assert!(
            files_under(target.path()).is_empty(),
            "{:?}",
            files_under(target.path())
        );
    });
}
