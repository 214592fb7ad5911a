//! `etcd-lens snapshot save|ls`: the server's snapshot path without a
//! server, with the same code (`ops::snapshots`) and into the same catalog.
//! redb locks the catalog to one process, so while a server holds it these
//! exit with "catalog in use by a running server".

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use chrono::Utc;

use super::targets::TargetArgs;
use crate::catalog::Catalog;
use crate::config;
use std::sync::Arc;

use crate::ops::Services;

#[derive(Debug, clap::Subcommand)]
pub enum SnapshotCommand {
    /// Take a snapshot: verified, encrypted to the cluster's recipients, catalogued.
    Save(SaveArgs),
    /// List the catalogued snapshots, newest first.
    Ls(LsArgs),
}

#[derive(Debug, clap::Args)]
pub struct SaveArgs {
    #[command(flatten)]
    pub targets: TargetArgs,
    /// Which cluster of the configuration (default: the only one).
    #[arg(long)]
    pub cluster: Option<String>,
    /// Catalog and snapshots [default: $XDG_DATA_HOME/etcd-lens].
    #[arg(long, env = "ETCD_LENS_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// `manual`, or `pre-upgrade` (pinned: retention never prunes it by itself).
    #[arg(long, default_value = "manual")]
    pub reason: String,
    /// Print the catalog record as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct LsArgs {
    #[arg(long, env = "ETCD_LENS_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

pub fn run(cmd: SnapshotCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        SnapshotCommand::Save(a) => save(a),
        SnapshotCommand::Ls(a) => ls(a),
    }
}

fn save(args: SaveArgs) -> anyhow::Result<ExitCode> {
    if !matches!(args.reason.as_str(), "manual" | "pre-upgrade") {
        bail!(
            "--reason {:?}: expected `manual` or `pre-upgrade`",
            args.reason
        );
    }
    let cluster = args.targets.one(args.cluster.as_deref())?;
    let data_dir = args.data_dir.unwrap_or_else(config::default_data_dir);
    std::fs::create_dir_all(&data_dir)?;
    let catalog = Catalog::open(&data_dir)?;
    let services = Services::new(data_dir.clone(), Arc::new(catalog));
    let job = services
        .jobs
        .begin(&cluster, &args.reason, Utc::now())
        .map_err(|_| anyhow::anyhow!("a snapshot is already running"))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let record = rt
        .block_on(services.snapshot(&cluster, &job, &args.reason, "cli"))
        .map_err(|e| {
            anyhow::anyhow!(
                "snapshot of {:?} failed ({}): {e}",
                cluster.name,
                e.stage.as_str()
            )
        })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&record)?);
    } else {
        println!(
            "{}: revision {}, {} keys, {} bytes{} → {}",
            record.id,
            record.revision,
            record.total_keys,
            record.db_size_bytes,
            if record.encrypted {
                ", age-encrypted"
            } else {
                ", UNENCRYPTED (no recipients configured)"
            },
            data_dir.join(&record.path).display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn ls(args: LsArgs) -> anyhow::Result<ExitCode> {
    let data_dir = args.data_dir.unwrap_or_else(config::default_data_dir);
    let catalog = Catalog::open(&data_dir)?;
    let all = catalog.snapshots()?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&all)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<44} {:<12} {:>10} {:>12} {:<11} STARTED",
        "ID", "CLUSTER", "REVISION", "DB SIZE", "ENCRYPTED"
    );
    for r in &all {
        println!(
            "{:<44} {:<12} {:>10} {:>12} {:<11} {}",
            r.id,
            r.cluster,
            r.revision,
            r.db_size_bytes,
            if r.encrypted { "age" } else { "NO" },
            r.started_at.to_rfc3339()
        );
    }
    Ok(ExitCode::SUCCESS)
}
