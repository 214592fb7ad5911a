//! `etcd-lens export FILE --for-apply [--prefix P] [--namespace N] [--resource R]
//! [--rev N] [-d DIR]`: objects as YAML ready for `kubectl apply`, in two files
//! (`etcd_lens_core::apply::export`), and the commands that apply them.
//!
//! The files are written with mode 0600 (they may hold Secret data when asked
//! for), and never over existing ones.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use etcd_lens_core::apply::ApplyOptions;
use etcd_lens_core::apply::export::{self, ExportOptions, Selection};
use etcd_lens_core::snapshot::Snapshot;

use super::output::{key_text, out};
use super::{audit, input, k8s as cli_k8s};

/// The first file: Namespaces and CustomResourceDefinitions.
pub const FIRST_FILE: &str = "01-namespaces-and-crds.yaml";
/// The second file: everything else.
pub const SECOND_FILE: &str = "02-objects.yaml";

/// How objects are prepared for `kubectl apply` (shared with `get --for-apply`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ApplyFlags {
    /// Write Secret data (refused otherwise: Secrets are left out, or `get` fails).
    #[arg(long)]
    pub include_secret_data: bool,
    /// Keep Service clusterIP/clusterIPs (default: dropped, the cluster assigns new ones).
    #[arg(long)]
    pub keep_cluster_ip: bool,
    /// Keep Service nodePorts and healthCheckNodePort (default: dropped).
    #[arg(long)]
    pub keep_node_ports: bool,
    /// Keep PersistentVolume claimRef whole (default: its uid and resourceVersion are
    /// dropped, so the volume binds to the restored claim).
    #[arg(long)]
    pub keep_claim_ref: bool,
    /// Keep Pod spec.nodeName (default: dropped, the scheduler places the Pod again).
    #[arg(long)]
    pub keep_node_name: bool,
    /// Keep the kubectl.kubernetes.io/last-applied-configuration annotation (default:
    /// dropped: `kubectl apply` writes it anew from what it applies).
    #[arg(long)]
    pub keep_last_applied: bool,
    /// Keep every ownerReference (default: those whose owner is not exported are
    /// dropped, or the garbage collector deletes the restored object).
    #[arg(long)]
    pub keep_owner_references: bool,
}

impl ApplyFlags {
    pub fn options(&self) -> ApplyOptions {
        ApplyOptions {
            include_secret_data: self.include_secret_data,
            keep_cluster_ip: self.keep_cluster_ip,
            keep_node_ports: self.keep_node_ports,
            keep_claim_ref: self.keep_claim_ref,
            keep_node_name: self.keep_node_name,
            keep_last_applied: self.keep_last_applied,
            keep_owner_references: self.keep_owner_references,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Snapshot or member db file, or `-` for standard input.
    pub file: PathBuf,
    /// YAML for `kubectl apply` (the only form for now; required so a later form is a choice).
    #[arg(long, required = true)]
    pub for_apply: bool,
    /// Only keys starting with this.
    #[arg(long, default_value = "")]
    pub prefix: String,
    /// Objects of this namespace (and the Namespace itself).
    #[arg(long, short = 'n')]
    pub namespace: Option<String>,
    /// Objects of this resource: `plural` or `plural.group` (`deployments`, `foos.example.com`).
    #[arg(long)]
    pub resource: Option<String>,
    /// The objects as of this revision (default: the latest).
    #[arg(long)]
    pub rev: Option<i64>,
    /// Folder for the two files (created if missing; existing files are never overwritten).
    #[arg(long, short = 'd', default_value = "etcd-lens-export")]
    pub output_dir: PathBuf,
    /// Also export objects a controller in the export owns (they are recreated by it).
    #[arg(long)]
    pub include_owned: bool,
    /// Also export what the cluster writes itself (Events, Leases, Nodes, managed endpoints…).
    #[arg(long)]
    pub include_cluster_managed: bool,
    /// Print every key left out, with its reason.
    #[arg(long)]
    pub list_skipped: bool,
    /// The API server's EncryptionConfiguration: export encrypted objects decrypted.
    #[arg(long, value_name = "FILE")]
    pub encryption_config: Option<PathBuf>,
    #[command(flatten)]
    pub apply: ApplyFlags,
    #[command(flatten)]
    pub etcd_prefix: cli_k8s::PrefixArg,
}

/// Create `path` with mode 0600; an existing file is an error.
fn write_new(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| {
            format!(
                "creating {} (an existing file is never overwritten)",
                path.display()
            )
        })?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .with_context(|| format!("writing {}", path.display()))
}

pub fn run(args: &ExportArgs, unwrap: &input::UnwrapArgs) -> anyhow::Result<ExitCode> {
    let encryption = audit::encryption_config(args.encryption_config.as_deref())?;
    let src = input::open(&args.file, unwrap)?;
    let snap = Snapshot::open(&src)?;
    let ix = snap.key_index()?;
    let etcd_prefix = &args.etcd_prefix.etcd_prefix;
    let selection = Selection {
        prefix: if args.prefix.is_empty() {
            etcd_prefix.as_bytes().to_vec()
        } else {
            args.prefix.as_bytes().to_vec()
        },
        namespace: args.namespace.clone(),
        resource: args.resource.clone(),
    };
    let candidates = export::collect(
        &snap,
        &ix,
        &selection,
        etcd_prefix,
        args.rev,
        encryption.as_ref(),
    )?;
    src.finish();
    if candidates.is_empty() {
        bail!(
            "no key matches the selection (prefix {:?})",
            String::from_utf8_lossy(&selection.prefix)
        );
    }
    let opts = ExportOptions {
        apply: args.apply.options(),
        include_owned: args.include_owned,
        include_cluster_managed: args.include_cluster_managed,
    };
    let e = export::build(candidates, etcd_prefix, &opts);
    std::fs::create_dir_all(&args.output_dir)
        .with_context(|| format!("creating {}", args.output_dir.display()))?;
    let first = args.output_dir.join(FIRST_FILE);
    let second = args.output_dir.join(SECOND_FILE);
    if !e.first.is_empty() {
        write_new(&first, &export::to_yaml(&e.first))?;
    }
    if !e.second.is_empty() {
        write_new(&second, &export::to_yaml(&e.second))?;
    }
    let mut by_reason = std::collections::BTreeMap::<String, usize>::new();
    for s in &e.skipped {
        if args.list_skipped {
            eprintln!(
                "etcd-lens: left out {}: {}",
                key_text(&s.key),
                s.skip.describe()
            );
        }
        let reason = match &s.skip {
            export::Skip::Undecodable { .. } => {
                "not decodable (encrypted without the key, or not a Kubernetes object)".to_string()
            }
            other => other.describe(),
        };
        *by_reason.entry(reason).or_default() += 1;
    }
    eprintln!(
        "etcd-lens: {} objects in {}, {} in {}; {} left out{}",
        e.first.len(),
        first.display(),
        e.second.len(),
        second.display(),
        e.skipped.len(),
        if e.skipped.is_empty() || args.list_skipped {
            String::new()
        } else {
            " (--list-skipped names them)".into()
        }
    );
    for (reason, n) in &by_reason {
        eprintln!("etcd-lens:   {n} × {reason}");
    }
    let notes: usize = e.first.iter().chain(&e.second).map(|x| x.notes.len()).sum();
    if notes > 0 {
        eprintln!("etcd-lens: {notes} notes on changed fields are in the files, as comments");
    }
    for c in export::commands(
        &e,
        &first.display().to_string(),
        &second.display().to_string(),
    ) {
        out(&c)?;
    }
    Ok(ExitCode::SUCCESS)
}
