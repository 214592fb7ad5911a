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

use etcd_lens_core::mvcc::Presence;
use etcd_lens_core::snapshot::Snapshot;

use super::input;
use crate::catalog::Catalog;
use crate::config::{self, clusters};
use crate::ops::find::newest_holding;
use crate::ship::{Store, rebuild};

#[derive(Debug, clap::Subcommand)]
pub enum CatalogCommand {
    /// Rebuild the catalog's records from a cluster's object store (its metadata objects).
    Rebuild(RebuildArgs),
    /// Snapshots deleted here whose objects are still to be deleted from the store.
    RemoteDeletes(RemoteDeletesArgs),
    /// The newest catalogued snapshot that still holds a key (a deleted object's last copy).
    Find(FindArgs),
}

#[derive(Debug, clap::Args)]
pub struct FindArgs {
    /// The key (`/registry/configmaps/default/app`).
    pub key: String,
    /// Only snapshots of this cluster.
    #[arg(long)]
    pub cluster: Option<String>,
    /// Catalog and snapshots [default: $XDG_DATA_HOME/etcd-lens].
    #[arg(long, env = "ETCD_LENS_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Look through every snapshot, not only down to the newest that holds the key.
    #[arg(long)]
    pub all: bool,
    /// One JSON object per snapshot looked at.
    #[arg(long)]
    pub json: bool,
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

pub fn run(cmd: CatalogCommand, unwrap: &input::UnwrapArgs) -> anyhow::Result<ExitCode> {
    match cmd {
        CatalogCommand::Rebuild(a) => rebuild(a),
        CatalogCommand::RemoteDeletes(a) => remote_deletes(a),
        CatalogCommand::Find(a) => find(a, unwrap),
    }
}

/// Newest first, each snapshot opened (decrypted with `--identity`) and
/// indexed, until one holds the key live (or all with `--all`). Exit 0 when
/// one does, 1 when none does.
fn find(args: FindArgs, unwrap: &input::UnwrapArgs) -> anyhow::Result<ExitCode> {
    let data_dir = args.data_dir.unwrap_or_else(config::default_data_dir);
    let catalog = Catalog::open(&data_dir)?;
    let records = catalog.snapshots()?;
    if records.is_empty() {
        bail!("no snapshot in the catalog at {}", data_dir.display());
    }
    let found = newest_holding(
        records,
        &data_dir,
        args.cluster.as_deref(),
        args.key.as_bytes(),
        args.all,
        |path, _, key| {
            let presence = || -> anyhow::Result<Presence> {
                let src = input::open(path, unwrap)?;
                let snap = Snapshot::open(&src)?;
                Ok(snap.key_index()?.presence(key))
            };
            presence().map_err(|e| format!("{e:#}"))
        },
    );
    for l in &found.looked {
        if args.json {
            println!("{}", serde_json::to_string(l)?);
            continue;
        }
        let line = match (&l.presence, &l.error) {
            (Some(Presence::Live { mod_revision }), _) => {
                format!("holds it (written at revision {mod_revision})")
            }
            (
                Some(Presence::Deleted {
                    deleted_at,
                    before: Some(b),
                }),
                _,
            ) => format!(
                "deleted at revision {deleted_at}; the version of revision {b} is retained (get --before-delete)"
            ),
            (
                Some(Presence::Deleted {
                    deleted_at,
                    before: None,
                }),
                _,
            ) => {
                format!("deleted at revision {deleted_at}; no earlier version retained")
            }
            (Some(Presence::Absent), _) => "not in it".into(),
            (None, e) => format!("not readable: {}", e.clone().unwrap_or_default()),
        };
        println!("{}  {}  revision {}  {line}", l.id, l.cluster, l.revision);
    }
    let holding = found
        .holding
        .as_ref()
        .and_then(|id| found.looked.iter().find(|l| &l.id == id));
    match holding {
        Some(l) => {
            eprintln!(
                "etcd-lens: the newest snapshot holding {:?} is {}: etcd-lens get {} {:?} --for-apply",
                args.key,
                l.id,
                l.path.display(),
                args.key
            );
            Ok(ExitCode::SUCCESS)
        }
        None => {
            if found.looked.is_empty() {
                eprintln!(
                    "etcd-lens: no finished snapshot in the catalog{}",
                    args.cluster
                        .as_ref()
                        .map(|c| format!(" for cluster {c:?}"))
                        .unwrap_or_default()
                );
            } else {
                eprintln!("etcd-lens: no catalogued snapshot holds {:?}", args.key);
            }
            Ok(ExitCode::from(1))
        }
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
