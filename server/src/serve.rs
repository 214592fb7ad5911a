//! The HTTP server: the built app with strict headers, and the token-guarded API.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tower_http::services::{ServeDir, ServeFile};

use crate::catalog::Catalog;
use crate::config::Config;

#[derive(Clone)]
pub struct AppState {
    pub dist: PathBuf,
    pub token: Option<String>,
    pub catalog: Arc<Catalog>,
    /// Requests served since start: tests use it to prove inspection sends none.
    pub requests: Arc<AtomicU64>,
    csp: HeaderValue,
}

impl AppState {
    pub fn new(dist: PathBuf, token: Option<String>, catalog: Catalog) -> anyhow::Result<Self> {
        let index = dist.join("index.html");
        let html = std::fs::read_to_string(&index).with_context(|| {
            format!(
                "reading {} (build the app first: `trunk build --release`)",
                index.display()
            )
        })?;
        let csp = HeaderValue::from_str(&crate::csp::policy_for(&html))?;
        Ok(Self {
            dist,
            token,
            catalog: Arc::new(catalog),
            requests: Arc::default(),
            csp,
        })
    }

    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
}

/// The router: `/healthz`, `/api/*` behind the token, everything else the app.
pub fn app(state: AppState) -> Router {
    let api = Router::new().route("/health", get(api_health)).route_layer(
        middleware::from_fn_with_state(state.clone(), crate::auth::require_token),
    );
    let files = ServeDir::new(&state.dist).fallback(ServeFile::new(state.dist.join("index.html")));
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .nest("/api", api)
        .fallback_service(files)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            count_and_secure,
        ))
        .with_state(state)
}

async fn api_health(State(state): State<AppState>) -> Response {
    match state.catalog.snapshot_count() {
        Ok(n) => axum::Json(serde_json::json!({ "ok": true, "snapshots": n })).into_response(),
        Err(e) => {
            tracing::error!("catalog: {e:#}");
            (
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "catalog unavailable\n",
            )
                .into_response()
        }
    }
}

/// Count the request and set the security headers on every response.
async fn count_and_secure(State(state): State<AppState>, req: Request, next: Next) -> Response {
    state.requests.fetch_add(1, Ordering::Relaxed);
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, state.csp.clone());
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    res
}

/// Serve until SIGTERM or Ctrl-C.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    std::fs::create_dir_all(config.data_dir.join("snapshots"))
        .with_context(|| format!("creating {}", config.data_dir.display()))?;
    let catalog = Catalog::open(&config.data_dir)?;
    let state = AppState::new(config.dist.clone(), config.token.clone(), catalog)?;
    let listener = TcpListener::bind(config.addr)
        .await
        .with_context(|| format!("binding {}", config.addr))?;
    let addr = listener.local_addr()?;
    println!(
        "etcd-lens: serving http://{addr}/ (data in {})",
        config.data_dir.display()
    );
    if config.token.is_some() {
        println!(
            "etcd-lens: API token in {}",
            config.data_dir.join("token").display()
        );
    }
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}
