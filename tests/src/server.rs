//! The real etcd-lens router served on a loopback port inside the test
//! process (optionally watching clusters), and a plain static host serving
//! the same built app without any API, as a page host without the server would.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use etcd_lens_server::AppState;
use etcd_lens_server::catalog::Catalog;
use etcd_lens_server::config::ClusterConfig;
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::workspace_root;

/// Where `scripts/test.sh` builds the app for the tests (override: `ETCD_LENS_E2E_DIST`).
pub fn dist_dir() -> PathBuf {
    let d = std::env::var_os("ETCD_LENS_E2E_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/e2e-dist"));
    assert!(
        d.join("index.html").exists(),
        "no built app in {} — run `trunk build --dist target/e2e-dist` (scripts/test.sh does)",
        d.display()
    );
    d
}

pub struct Server {
    pub url: String,
    pub state: AppState,
    pub token: String,
    _data: TempDir,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Serve the built app and API on 127.0.0.1, a fresh data dir, a known token.
    pub async fn start() -> Self {
        Self::start_with_clusters(Vec::new()).await
    }

    /// [`Self::start`], watching `clusters` (as `etcd-lens serve --config` would).
    pub async fn start_with_clusters(clusters: Vec<Arc<ClusterConfig>>) -> Self {
        let data = tempfile::tempdir().expect("temp dir");
        let token = "e2e-test-token-0123456789abcdef0123456789".to_string();
        let catalog = Catalog::open(data.path()).expect("catalog");
        let state = AppState::new(
            dist_dir(),
            data.path().to_path_buf(),
            Some(token.clone()),
            catalog,
        )
        .expect("app state")
        .with_clusters(clusters);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/", listener.local_addr().expect("addr"));
        let app = etcd_lens_server::app(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            url,
            state,
            token,
            _data: data,
            task,
        }
    }
}

impl Server {
    /// `GET path` (e.g. `api/v1/snapshots/ID`) with the token, as a client
    /// other than the page sees it: the status and the body as JSON (`Null`
    /// when it is not JSON).
    pub async fn api_get(&self, path: &str) -> (u16, serde_json::Value) {
        let url = url::Url::parse(&self.url).expect("the server's URL");
        let addr = format!(
            "{}:{}",
            url.host_str().expect("a host"),
            url.port().expect("a port")
        );
        let mut conn = tokio::net::TcpStream::connect(&addr)
            .await
            .expect("connecting to the server");
        let req = format!(
            "GET /{} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
            path.trim_start_matches('/'),
            self.token
        );
        conn.write_all(req.as_bytes()).await.expect("sending");
        let mut raw = Vec::new();
        conn.read_to_end(&mut raw)
            .await
            .expect("reading the answer");
        let text = String::from_utf8_lossy(&raw);
        let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP answer");
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status in {head}"));
        (
            status,
            serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The built app from a plain static file server: no `/api`, no CSP header.
pub struct StaticHost {
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

impl StaticHost {
    pub async fn start(dist: &Path) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/", listener.local_addr().expect("addr"));
        let app = axum::Router::new().fallback_service(tower_http::services::ServeDir::new(dist));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, task }
    }
}

impl Drop for StaticHost {
    fn drop(&mut self) {
        self.task.abort();
    }
}
