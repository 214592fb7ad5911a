//! Start-up: open the catalog, clear what a killed process left, check the
//! clusters' credentials, bind the address, serve until SIGTERM or Ctrl-C.

use anyhow::Context;
use tokio::net::TcpListener;

use super::router::app;
use super::state::AppState;
use crate::catalog::Catalog;
use crate::config::Config;
use crate::config::coordination::default_server_id;
use crate::etcd::election::{self, Leadership};
use std::sync::Arc;

pub async fn serve(config: Config) -> anyhow::Result<()> {
    std::fs::create_dir_all(config.data_dir.join("snapshots"))
        .with_context(|| format!("creating {}", config.data_dir.display()))?;
    let catalog = Catalog::open(&config.data_dir)?;
    let mut folders = vec![config.data_dir.join("snapshots")];
    folders.extend(
        config
            .clusters
            .iter()
            .map(|c| c.snapshot_dir(&config.data_dir)),
    );
    for dir in folders {
        for p in crate::snapshot::remove_leftovers(&dir)
            .with_context(|| format!("clearing unfinished snapshots in {}", dir.display()))?
        {
            tracing::warn!(
                "removed {}: an unfinished snapshot left by a process that stopped mid-write",
                p.display()
            );
        }
    }
    // Drill folders a killed server left (their etcd too, when still running).
    let mut roots = vec![
        std::path::PathBuf::from("/dev/shm"),
        config.data_dir.join("drills"),
    ];
    roots.extend(
        config
            .clusters
            .iter()
            .filter_map(|c| c.drill.as_ref()?.work_dir.clone()),
    );
    for root in roots {
        for p in crate::drill::clean_leftovers(&root) {
            tracing::warn!(
                "removed {}: a restore drill's folder left by a process that stopped mid-drill",
                p.display()
            );
        }
    }
    for c in &config.clusters {
        crate::etcd::metrics::MetricsClient::new(c)
            .map_err(|e| anyhow::anyhow!("cluster {:?}: TLS configuration: {e}", c.name))?;
        if c.recipients.is_empty() {
            tracing::warn!(
                "cluster {:?} has no recipients: its snapshots are stored UNENCRYPTED (every Secret in plaintext)",
                c.name
            );
        }
    }
    for c in config.clusters.clone() {
        tokio::spawn(async move {
            match crate::etcd::connect::check_rights(&c).await {
                Ok(Some(note)) => tracing::warn!("cluster {:?}: {note}", c.name),
                Ok(None) => {}
                Err(e) => tracing::warn!(
                    "cluster {:?}: could not check the etcd user's rights now: {e}",
                    c.name
                ),
            }
        });
    }
    let state = AppState::new(
        config.dist.clone(),
        config.data_dir.clone(),
        config.token.clone(),
        catalog,
    )?
    .with_clusters(config.clusters.clone())
    .with_metrics_token(config.metrics_token.clone());
    // The retention election: with `[coordination]` this server
    // campaigns; without it, it is alone.
    let coordination = config.coordination.clone();
    let leadership = match &coordination {
        Some(c) => {
            let id = c.server_id_for(config.addr);
            let l = Arc::new(Leadership::coordinated(&id, &c.election));
            tokio::spawn(election::run(c.clone(), l.clone()));
            l
        }
        None => Arc::new(Leadership::alone(&default_server_id(config.addr))),
    };
    let mut state = state;
    state.services = state.services.clone().with_leadership(leadership.clone());
    if let Ok(all) = state.services.catalog.snapshots() {
        crate::metrics::seed(&state.services.metrics, &all);
    }
    // Probe each object store (logged), then retry what it is still owed.
    for c in config.clusters.iter().filter(|c| c.store.is_some()) {
        tokio::spawn(crate::ops::ship::at_start(
            c.clone(),
            state.services.clone(),
        ));
    }
    // Servers sharing a store: each catalog follows it (`ops::sync`).
    if let Some(c) = &coordination {
        for cluster in config.clusters.iter().filter(|c| c.store.is_some()) {
            tokio::spawn(crate::ops::sync::follow_every(
                cluster.clone(),
                state.services.clone(),
                c.catalog_sync,
            ));
        }
    }
    // Every cluster gets a scheduler: one without schedules waits for an
    // edit from the page.
    for c in &config.clusters {
        tokio::spawn(crate::ops::scheduler::run(
            c.clone(),
            state.scheduler_context(),
        ));
    }
    let listener = TcpListener::bind(config.addr)
        .await
        .with_context(|| format!("binding {}", config.addr))?;
    let addr = listener.local_addr()?;
    println!(
        "etcd-lens: serving http://{addr}/ (data in {}; {} cluster(s) configured)",
        config.data_dir.display(),
        config.clusters.len()
    );
    if config.token.is_some() {
        println!(
            "etcd-lens: API token in {}",
            config.data_dir.join("token").display()
        );
    }
    if config.metrics_token.is_some() {
        println!(
            "etcd-lens: /metrics token (read-only) in {}",
            config.data_dir.join("metrics-token").display()
        );
    }
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    // Leave the election, so another server takes over without waiting
    // for the lease to expire.
    if let Some(c) = &coordination {
        leadership.step_down(c.timeout).await;
    }
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
