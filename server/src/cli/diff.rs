//! `etcd-lens diff OLD NEW [--prefix P] [--json] [--summary] [--include-noise]
//! [--compare-values] [--encryption-config FILE]`: what changed between two
//! snapshots, key by key (`etcd_lens_core::diff`).
//!
//! Exit code as diff(1): 0 when no change is reported, 1 when some is, 2 on
//! an error. Both files are opened with the same global secrets (an identity
//! file may hold several keys).

use std::path::PathBuf;
use std::process::ExitCode;

use etcd_lens_core::diff::{self, Change, DiffOptions, Side};
use etcd_lens_core::snapshot::Snapshot;

use super::output::{key_text, out};
use super::{audit, input, k8s as cli_k8s};

#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// The older snapshot (or member db file); `-` for standard input.
    pub old: PathBuf,
    /// The newer snapshot.
    pub new: PathBuf,
    /// Only keys starting with this.
    #[arg(long, default_value = "")]
    pub prefix: String,
    /// One JSON object per changed key (or per resource and namespace with --summary).
    #[arg(long)]
    pub json: bool,
    /// Counts and bytes per resource and namespace instead of the keys.
    #[arg(long)]
    pub summary: bool,
    /// Also report objects whose only differences change on every write
    /// (managedFields times, Lease renewals, node heartbeats).
    #[arg(long)]
    pub include_noise: bool,
    /// Read and compare both values of every key, even when their revisions
    /// say they are the same write of the same cluster.
    #[arg(long)]
    pub compare_values: bool,
    /// The API server's EncryptionConfiguration: compare encrypted values by their plaintext.
    #[arg(long, value_name = "FILE")]
    pub encryption_config: Option<PathBuf>,
    #[command(flatten)]
    pub etcd_prefix: cli_k8s::PrefixArg,
}

fn sign(c: Change) -> char {
    match c {
        Change::Added => '+',
        Change::Removed => '-',
        Change::Modified => '~',
    }
}

pub fn run(args: &DiffArgs, unwrap: &input::UnwrapArgs) -> anyhow::Result<ExitCode> {
    let encryption = audit::encryption_config(args.encryption_config.as_deref())?;
    let old_src = input::open(&args.old, unwrap)?;
    let old = Snapshot::open(&old_src)?;
    let old_ix = old.key_index()?;
    let new_src = input::open(&args.new, unwrap)?;
    let new = Snapshot::open(&new_src)?;
    let new_ix = new.key_index()?;
    let opts = DiffOptions {
        prefix: args.prefix.as_bytes().to_vec(),
        etcd_prefix: args.etcd_prefix.etcd_prefix.clone(),
        include_noise: args.include_noise,
        compare_all_values: args.compare_values,
        encryption: encryption.as_ref(),
    };
    let d = diff::diff(
        Side {
            snap: &old,
            index: &old_ix,
        },
        Side {
            snap: &new,
            index: &new_ix,
        },
        &opts,
    )?;
    old_src.finish();
    new_src.finish();
    if args.summary {
        for g in &d.groups {
            if args.json {
                out(&serde_json::to_string(g)?)?;
            } else {
                out(&format!(
                    "{:<40} {:<24} +{} -{} ~{}  (+{} B, -{} B, ~{:+} B)",
                    g.resource.as_deref().unwrap_or("(not Kubernetes)"),
                    g.namespace.as_deref().unwrap_or("-"),
                    g.added,
                    g.removed,
                    g.modified,
                    g.added_bytes,
                    g.removed_bytes,
                    g.modified_bytes_delta
                ))?;
            }
        }
    } else {
        for c in &d.changes {
            if args.json {
                out(&serde_json::to_string(c)?)?;
            } else if c.change == Change::Modified {
                out(&format!("~ {}  ({})", key_text(&c.key), c.describe()))?;
            } else {
                out(&format!("{} {}", sign(c.change), key_text(&c.key)))?;
            }
        }
    }
    eprintln!(
        "etcd-lens: {} added, {} removed, {} modified; {} unchanged{}{} (revision {} → {})",
        d.count(Change::Added),
        d.count(Change::Removed),
        d.count(Change::Modified),
        d.unchanged,
        if d.same_cluster {
            format!(", {} of them by revision alone", d.unchanged_by_revision)
        } else {
            " (different clusters: every value compared)".into()
        },
        if d.noise_only > 0 {
            format!(
                "; {} changed only in noise fields (--include-noise lists them)",
                d.noise_only
            )
        } else {
            String::new()
        },
        d.old_revision,
        d.new_revision,
    );
    Ok(if d.is_equal() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
