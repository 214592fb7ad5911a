//! `etcd-lens drill`: a restore drill of a catalogued snapshot (`--snapshot
//! ID`, with the cluster's `[cluster.drill]`), or of a bare file (`--file F
//! --etcd-version V --bin-dir DIR`, compared with the engine's reading only:
//! a bare file has no facts recorded at save).
//!
//! A catalogued snapshot is drilled from its stored file here, or from its
//! shipped object when the file is not here (retention, a lost disk, a
//! record from `catalog rebuild`); `--from-store` drills the shipped object
//! even when the file is here.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};

use super::targets::TargetArgs;
use crate::catalog::{Catalog, DrillVerdict};
use crate::config;
use crate::drill::{self, Binaries, DrillInputs, Stored};
use crate::ops::drill::DrillSource;
use crate::ops::{Services, drill as ops_drill};

#[derive(Debug, clap::Args)]
pub struct DrillArgs {
    #[command(flatten)]
    pub targets: TargetArgs,
    #[arg(long)]
    pub cluster: Option<String>,
    #[arg(long, env = "ETCD_LENS_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// A catalogued snapshot's id.
    #[arg(long, conflicts_with = "file")]
    pub snapshot: Option<String>,
    /// With --snapshot: drill the copy in the cluster's object store (fetched,
    /// checked against the record's size and SHA-256), even when the stored
    /// file is here.
    #[arg(long, requires = "snapshot")]
    pub from_store: bool,
    /// A snapshot file (plain; or age-encrypted with --age-identity).
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// With --file: the version of the etcd that wrote it (3.4.x / 3.5.x).
    #[arg(long, requires = "file")]
    pub etcd_version: Option<String>,
    /// With --file: the folder holding that release's etcd and etcdctl/etcdutl.
    #[arg(long, requires = "file")]
    pub bin_dir: Option<PathBuf>,
    /// With --file: an age identity file, when the file is age-encrypted.
    #[arg(long, requires = "file")]
    pub age_identity: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: DrillArgs) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let data_dir = args
        .data_dir
        .clone()
        .unwrap_or_else(config::default_data_dir);
    let record = if let Some(id) = &args.snapshot {
        let cluster = args.targets.one(args.cluster.as_deref())?;
        let services = Services::new(data_dir.clone(), Arc::new(Catalog::open(&data_dir)?));
        let source = if args.from_store {
            DrillSource::Store
        } else {
            DrillSource::Auto
        };
        rt.block_on(ops_drill::drill_snapshot_from(
            &services, &cluster, id, "cli", source,
        ))
        .map_err(|e| anyhow::anyhow!(e))?
    } else if let Some(file) = &args.file {
        let version = args
            .etcd_version
            .clone()
            .context("--file needs --etcd-version (3.4.x or 3.5.x)")?;
        let dir = args
            .bin_dir
            .clone()
            .context("--file needs --bin-dir (a folder with etcd and etcdctl/etcdutl)")?;
        let family: String = version.split('.').take(2).collect::<Vec<_>>().join(".");
        let bins = Binaries {
            by_family: [(family, dir)].into_iter().collect(),
        };
        let identities: Vec<age::x25519::Identity> = match &args.age_identity {
            None => Vec::new(),
            Some(p) => std::fs::read_to_string(p)
                .with_context(|| format!("reading {}", p.display()))?
                .lines()
                .map(str::trim)
                .filter(|l| l.starts_with("AGE-SECRET-KEY-"))
                .map(|l| {
                    l.parse::<age::x25519::Identity>()
                        .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))
                })
                .collect::<anyhow::Result<_>>()?,
        };
        let id = format!("file-{}", std::process::id());
        let work = ops_drill::work_root(None, &data_dir, std::fs::metadata(file)?.len());
        rt.block_on(drill::drill(
            &bins,
            DrillInputs {
                id: &id,
                stored: Stored::Local(file),
                encrypted: !identities.is_empty(),
                // `etcd-lens snapshot save` names compressed files `….zst[.age]`.
                compressed: file
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.ends_with(".zst") || n.ends_with(".zst.age")),
                identities: &identities,
                plaintext_sha256: None,
                revision: None,
                hash_kv: None,
                etcd_version: &version,
                work_root: &work,
            },
        ))
    } else {
        bail!("give --snapshot ID or --file FILE");
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&record)?);
    } else {
        println!("verdict: {:?} (source: {})", record.verdict, record.source);
        for c in &record.checks {
            println!(
                "{} {}: expected {}, got {}",
                if c.ok { "ok  " } else { "FAIL" },
                c.name,
                c.expected,
                c.actual
            );
        }
        if let Some(e) = &record.error {
            println!("error: {e}");
        }
        println!("timings (ms): {:?}", record.timings_ms);
    }
    Ok(match record.verdict {
        DrillVerdict::Passed => ExitCode::SUCCESS,
        _ => ExitCode::from(1),
    })
}
