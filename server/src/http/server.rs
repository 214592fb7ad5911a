//! Start-up: open the catalog, bind the address, serve until SIGTERM or Ctrl-C.

use anyhow::Context;
use tokio::net::TcpListener;

use super::router::app;
use super::state::AppState;
use crate::catalog::Catalog;
use crate::config::Config;

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
