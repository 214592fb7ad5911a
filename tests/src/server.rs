//! The real etcd-lens router served on a loopback port inside the test process.

use std::path::PathBuf;

use etcd_lens_server::AppState;
use etcd_lens_server::catalog::Catalog;
use tempfile::TempDir;

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
        let data = tempfile::tempdir().expect("temp dir");
        let token = "e2e-test-token-0123456789abcdef0123456789".to_string();
        let catalog = Catalog::open(data.path()).expect("catalog");
        let state = AppState::new(dist_dir(), data.path().to_path_buf(), Some(token.clone()), catalog).expect("app state");
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

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}
