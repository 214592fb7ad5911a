//! `etcd-lens catalog rebuild|remote-deletes`: the catalog from the bucket
//! when the server's disk is lost, and the remote deletes still owed.
//!
//! `rebuild --from CLUSTER` reads that cluster's metadata objects from its
//! `[cluster.store]` and records every snapshot whose data object is there
//! with the recorded size (and SHA-256 with `--verify-sha256`); the others
//! are printed, not recorded. Records already in the catalog are kept as
//! they are. Snapshot files are not downloaded: a rebuilt record's local
//! file is missing until one is fetched from the store.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};

use crate::catalog::Catalog;
use crate::config::{self, clusters};
use crate::ship::{Store, rebuild};

#[derive(Debug, clap::Subcommand)]
pub enum CatalogCommand {
    /// Rebuild the catalog's records from a cluster's object store (its metadata objects).
    Rebuild(RebuildArgs),
    /// Snapshots deleted here whose objects are still to be deleted from the store.
    RemoteDeletes(RemoteDeletesArgs),
}

#[derive(Debug, clap::Args)]
pub struct RebuildArgs {
    /// The cluster whose `[cluster.store]` to read (and whose snapshots to restore).
    #[arg(long = "from", value_name = "CLUSTER")]
    pub from: String,
    /// Cluster configuration file (TOML, `[[cluster]]` tables).
    #[arg(long, env = "ETCD_LENS_CONFIG")]
    pub config: PathBuf,
    /// Catalog and snapshots [default: $XDG_DATA_HOME/etcd-lens].
    #[arg(long, env = "ETCD_LENS_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Also download every data object and check its SHA-256 against the record.
    #[arg(long)]
    pub verify_sha256: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct RemoteDeletesArgs {
    #[arg(long, env = "ETCD_LENS_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

pub fn run(cmd: CatalogCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        CatalogCommand::Rebuild(a) => rebuild(a),
        CatalogCommand::RemoteDeletes(a) => remote_deletes(a),
    }
}

fn rebuild(args: RebuildArgs) -> anyhow::Result<ExitCode> {
    let all = clusters::load(&args.config)?;
    let cluster = all.iter().find(|c| c.name == args.from).with_context(|| {
        format!(
            "no cluster named {:?} in {}",
            args.from,
            args.config.display()
        )
    })?;
    let Some(cfg) = &cluster.store else {
        bail!(
            "cluster {:?} has no [cluster.store] in {}",
            cluster.name,
            args.config.display()
        );
    };
    let store = Store::open(cfg)?;
    let data_dir = args.data_dir.unwrap_or_else(config::default_data_dir);
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let catalog = Catalog::open(&data_dir)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let found = rt.block_on(rebuild::read_back(
        &store,
        &cluster.name,
        args.verify_sha256,
    ))?;
    let mut restored = Vec::new();
    let mut present = Vec::new();
    for r in &found.records {
        if catalog.snapshot(&r.id)?.is_some() {
            present.push(r.id.clone());
        } else {
            catalog.put_snapshot(r)?;
            restored.push(r.id.clone());
        }
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "cluster": cluster.name,
                "store": store.name(),
                "restored": restored,
                "already_catalogued": present,
                "problems": found.problems,
            }))?
        );
    } else {
        for id in &restored {
            println!("restored  {id}");
        }
        for id in &present {
            println!("kept      {id}  (already in the catalog)");
        }
        for p in &found.problems {
            println!("SKIPPED   {}: {}", p.key, p.problem);
        }
        println!(
            "{} restored, {} already catalogued, {} problem(s) in {}",
            restored.len(),
            present.len(),
            found.problems.len(),
            store.name()
        );
    }
    Ok(if found.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn remote_deletes(args: RemoteDeletesArgs) -> anyhow::Result<ExitCode> {
    let data_dir = args.data_dir.unwrap_or_else(config::default_data_dir);
    let catalog = Catalog::open(&data_dir)?;
    let all = catalog.remote_deletes()?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&all)?);
    } else {
        for p in &all {
            println!(
                "{}  {}  {} attempt(s){}",
                p.snapshot_id,
                p.store,
                p.attempts,
                p.error
                    .as_deref()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default()
            );
        }
        println!("{} pending remote delete(s)", all.len());
    }
    Ok(ExitCode::SUCCESS)
}
