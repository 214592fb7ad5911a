//! Command-line interface. Each subcommand parses its input, calls the core and
//! prints; exit codes: 0 success, 1 a finding/problem, 2 an error.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{self, Config};

// Declared here so the file commands stay beside the CLI that dispatches them.
#[path = "commands/mod.rs"]
pub mod commands;

#[derive(Debug, Parser)]
#[command(
    name = "etcd-lens",
    version,
    about = "Inspect etcd snapshots; serve the etcd-lens page"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Secrets for age-encrypted input, limits for compressed input (file commands).
    #[command(flatten)]
    pub unwrap: commands::input::UnwrapArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the app (and the companion API) on a loopback address.
    Serve(ServeArgs),
    /// `snapshot status` numbers (hash, revision, totalKey, totalSize), as etcdctl/etcdutl compute them.
    Status(commands::status::StatusArgs),
    /// List live keys in key order.
    Ls(commands::ls::LsArgs),
    /// One key's value, at a revision, or its whole retained history.
    Get(commands::get::GetArgs),
    /// Verify the SHA-256 trailer and the bbolt structure (like `bbolt check`).
    Check(commands::check::CheckArgs),
    /// Secret audit: which Secrets the snapshot exposes, as a report and a CI gate.
    Audit(commands::audit::AuditArgs),
    /// What fills the database: objects and bytes (live and history) per resource and namespace.
    Stats(commands::stats::StatsArgs),
}

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
    /// Allow a non-loopback address.
    #[arg(long)]
    pub allow_remote: bool,
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    commands::input::set_unwrap_args(cli.unwrap);
    match cli.command {
        Command::Serve(args) => {
            config::check_addr(args.addr, args.allow_remote)?;
            let data_dir = args.data_dir.unwrap_or_else(config::default_data_dir);
            std::fs::create_dir_all(&data_dir)?;
            let token = match (args.insecure_no_token, args.token) {
                (true, _) => None,
                (false, Some(t)) => Some(t),
                (false, None) => Some(config::load_or_create_token(&data_dir)?),
            };
            tracing_subscriber::fmt()
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| "info".into()),
                )
                .with_writer(std::io::stderr)
                .init();
            let cfg = Config {
                addr: args.addr,
                dist: args.dist,
                data_dir,
                token,
            };
            tokio::runtime::Runtime::new()?.block_on(crate::serve::serve(cfg))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Status(args) => commands::status::run(&args),
        Command::Ls(args) => commands::ls::run(&args),
        Command::Get(args) => commands::get::run(&args),
        Command::Check(args) => commands::check::run(&args),
        Command::Audit(args) => commands::audit::run(&args),
        Command::Stats(args) => commands::stats::run(&args),
    }
}
