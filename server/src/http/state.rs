//! What every handler shares: the app's folder, the token, the catalog, the
//! page's CSP header and a request counter.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context;
use axum::http::HeaderValue;

use crate::catalog::Catalog;

#[derive(Clone)]
pub struct AppState {
    pub dist: PathBuf,
    pub token: Option<String>,
    pub catalog: Arc<Catalog>,
    /// Requests served since start: tests use it to prove inspection sends none.
    pub requests: Arc<AtomicU64>,
    pub(crate) csp: HeaderValue,
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
        let csp = HeaderValue::from_str(&super::csp::policy_for(&html))?;
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
