//! What every handler shares: the app's folder, the token, the catalog, the
//! clusters with their status cache and snapshot jobs, the page's CSP header
//! and a request counter.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use axum::http::HeaderValue;

use crate::catalog::Catalog;
use crate::config::ClusterConfig;
use crate::etcd::cache::StatusCache;
use crate::ops::Services;
use crate::ops::scheduler::Schedules;

/// A status answer younger than this is served from the cache.
pub const STATUS_MAX_AGE: Duration = Duration::from_secs(2);

#[derive(Clone)]
pub struct AppState {
    pub dist: PathBuf,
    pub token: Option<String>,
    /// The data folder, catalog, jobs, metrics and alerts.
    pub services: Services,
    pub clusters: Arc<Vec<Arc<ClusterConfig>>>,
    pub status: Arc<StatusCache>,
    pub schedules: Arc<Schedules>,
    /// The read-only token of `GET /metrics` (`None`: no check).
    pub metrics_token: Option<String>,
    /// Requests served since start: tests use it to prove inspection sends none.
    pub requests: Arc<AtomicU64>,
    pub(crate) csp: HeaderValue,
}

impl AppState {
    pub fn new(
        dist: PathBuf,
        data_dir: PathBuf,
        token: Option<String>,
        catalog: Catalog,
    ) -> anyhow::Result<Self> {
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
            services: Services::new(data_dir, Arc::new(catalog)),
            clusters: Arc::default(),
            status: Arc::new(StatusCache::new(&[], STATUS_MAX_AGE)),
            schedules: Arc::default(),
            metrics_token: None,
            requests: Arc::default(),
            csp,
        })
    }

    /// The read-only token `GET /metrics` asks for.
    pub fn with_metrics_token(mut self, token: Option<String>) -> Self {
        self.metrics_token = token;
        self
    }

    /// The clusters to watch (none by default).
    pub fn with_clusters(mut self, clusters: Vec<Arc<ClusterConfig>>) -> Self {
        self.status = Arc::new(StatusCache::new(&clusters, STATUS_MAX_AGE));
        self.clusters = Arc::new(clusters);
        self
    }

    /// What a scheduler task needs.
    pub fn scheduler_context(&self) -> crate::ops::scheduler::Context {
        crate::ops::scheduler::Context {
            services: self.services.clone(),
            schedules: self.schedules.clone(),
        }
    }

    pub fn cluster(&self, name: &str) -> Option<&Arc<ClusterConfig>> {
        self.clusters.iter().find(|c| c.name == name)
    }

    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
}
