//! `etcd-lens serve`: flags and environment into a [`Config`], then the server.

use std::path::PathBuf;
use std::process::ExitCode;

use super::targets::TargetArgs;
use crate::config::{self, Config};

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "ETCD_LENS_ADDR", default_value = config::DEFAULT_ADDR)]
    pub addr: std::net::SocketAddr,
    /// The built app (Trunk's output).
    #[arg(long, env = "ETCD_LENS_DIST", default_value = "dist")]
    pub dist: PathBuf,
    /// Catalog, snapshots and API token [default: $XDG_DATA_HOME/etcd-lens].
    #[arg(long, env = "ETCD_LENS_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// API token (default: generated once into DATA_DIR/token).
    #[arg(long, env = "ETCD_LENS_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Serve the API without a token. Only for throwaway local setups.
    #[arg(long)]
    pub insecure_no_token: bool,
    /// The read-only token of GET /metrics (default: generated once into DATA_DIR/metrics-token).
    #[arg(long, env = "ETCD_LENS_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Allow a non-loopback address.
    #[arg(long)]
    pub allow_remote: bool,
    /// The clusters to watch: --config FILE or --endpoints (none: the app only).
    #[command(flatten)]
    pub targets: TargetArgs,
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    config::check_addr(args.addr, args.allow_remote)?;
    // A configuration mistake stops start-up before anything listens.
    let (clusters, coordination) = args.targets.load_settings()?;
    let data_dir = args.data_dir.unwrap_or_else(config::default_data_dir);
    std::fs::create_dir_all(&data_dir)?;
    let token = match (args.insecure_no_token, args.token) {
        (true, _) => None,
        (false, Some(t)) => Some(t),
        (false, None) => Some(config::load_or_create_token(&data_dir)?),
    };
    let metrics_token = match (args.insecure_no_token, args.metrics_token) {
        (true, _) => None,
        (false, Some(t)) => Some(t),
        (false, None) => Some(config::load_or_create_metrics_token(&data_dir)?),
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    if !args.addr.ip().is_loopback() {
        tracing::warn!(
            "LISTENING ON {} — NOT A LOOPBACK ADDRESS: anyone who can reach it and holds the token can take and download snapshots",
            args.addr
        );
    }
    let cfg = Config {
        addr: args.addr,
        dist: args.dist,
        data_dir,
        token,
        metrics_token,
        clusters,
        coordination,
    };
    tokio::runtime::Runtime::new()?.block_on(crate::http::server::serve(cfg))?;
    Ok(ExitCode::SUCCESS)
}
