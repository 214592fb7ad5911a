//! `etcd-lens restore-plan FILE [--members name=peer-url,…] [--version 3.4|3.5|3.6]
//! [--data-dir-pattern '/var/lib/etcd-{name}'] [--json]`: the restore runbook
//! (`etcd_lens_core::restore`) for a snapshot, its members read from the file
//! unless given.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use etcd_lens_core::ReadAt;
use etcd_lens_core::mvcc::hashkv::StoreRevisions;
use etcd_lens_core::restore::{
    self, EtcdVersion, MembersSource, RestoreInput, RestorePlan, VersionSource,
};
use etcd_lens_core::snapshot::Snapshot;
use etcd_lens_core::trailer;

use super::input;
use super::output::out;

#[derive(Debug, clap::Args)]
pub struct RestorePlanArgs {
    /// Snapshot file (plain, or age-encrypted / compressed: then give --snapshot-path).
    pub file: PathBuf,
    /// The restored cluster's members, `name=peer-url,…` (a name repeated for several
    /// peer URLs); default: the members recorded in the snapshot.
    #[arg(long, value_name = "NAME=PEER_URL,…")]
    pub members: Option<String>,
    /// etcd release of the restored cluster: 3.4 (etcdctl restores) or 3.5, 3.6 (etcdutl),
    /// optionally with the patch (3.4.23) to know whether --bump-revision exists.
    /// Default: the snapshot's cluster version (`cluster/clusterVersion`, major.minor only).
    #[arg(long, value_name = "VERSION")]
    pub version: Option<String>,
    /// Each member's data dir; `{name}` becomes the member's name.
    #[arg(long, default_value = "/var/lib/etcd", value_name = "PATTERN")]
    pub data_dir_pattern: String,
    /// `--initial-cluster-token` of the restored cluster. Default: `etcd-restore-r<revision>`.
    #[arg(long, value_name = "TOKEN")]
    pub initial_cluster_token: Option<String>,
    /// Where the plain snapshot file will lie on every member. Default: FILE's absolute path.
    #[arg(long, value_name = "PATH")]
    pub snapshot_path: Option<String>,
    /// Add `--bump-revision N --mark-compacted` (etcdctl 3.4.27+, etcdutl 3.5.10+).
    #[arg(long, value_name = "N")]
    pub bump_revision: Option<u64>,
    /// The plan as one JSON object (commands as argv arrays and shell lines).
    #[arg(long)]
    pub json: bool,
}

/// FILE without the extension of the layer around the snapshot, if it has one.
fn unwrapped_name(file: &Path) -> String {
    let s = std::fs::canonicalize(file)
        .unwrap_or_else(|_| file.to_path_buf())
        .display()
        .to_string();
    for ext in [".age", ".gz", ".zst", ".zip", ".asc"] {
        if let Some(base) = s.strip_suffix(ext) {
            return base.to_string();
        }
    }
    format!("{s}.db")
}

pub fn run(args: &RestorePlanArgs, unwrap: &input::UnwrapArgs) -> anyhow::Result<ExitCode> {
    let src = input::open(&args.file, unwrap)?;
    let plain_len = src.len();
    let wrapped = args.file != Path::new("-")
        && std::fs::metadata(&args.file)
            .with_context(|| format!("reading {}", args.file.display()))?
            .len()
            != plain_len;
    let snap = Snapshot::open(&src)?;
    let ix = snap.key_index()?;
    src.finish();

    let (members, members_source) = match &args.members {
        Some(m) => (restore::parse_members(m)?, MembersSource::Given),
        None => (
            restore::members_from_snapshot(&snap.info.members).context("the snapshot's members")?,
            MembersSource::Snapshot,
        ),
    };
    let (version, version_source) = match (&args.version, &snap.info.cluster_version) {
        (Some(v), _) => (EtcdVersion::parse(v)?, VersionSource::Given),
        (None, Some(cv)) => {
            let v = EtcdVersion::parse(cv)
                .with_context(|| format!("the snapshot's cluster version {cv:?}"))?;
            // clusterVersion is major.minor.0: the patch of the binaries is not in it.
            (
                EtcdVersion { patch: None, ..v },
                VersionSource::ClusterVersion,
            )
        }
        (None, None) => bail!(
            "the snapshot has no cluster version (cluster/clusterVersion): give --version 3.4, 3.5 or 3.6"
        ),
    };
    let mut warnings = Vec::new();
    let snapshot_path = match &args.snapshot_path {
        Some(p) => p.clone(),
        None if args.file == Path::new("-") => {
            bail!("the snapshot came from standard input: give --snapshot-path")
        }
        None if wrapped => {
            let p = unwrapped_name(&args.file);
            warnings.push(format!(
                "{} is encrypted or compressed: decrypt/decompress it to {p} (the plain snapshot) and copy that, or give --snapshot-path",
                args.file.display()
            ));
            p
        }
        // The same path on every member: absolute, so it means one thing there.
        None => std::fs::canonicalize(&args.file)
            .unwrap_or_else(|_| args.file.clone())
            .display()
            .to_string(),
    };
    let revision = StoreRevisions::of(&snap, &ix).current;
    let input = RestoreInput {
        members,
        members_source,
        version,
        version_source,
        data_dir_pattern: args.data_dir_pattern.clone(),
        initial_cluster_token: args
            .initial_cluster_token
            .clone()
            .unwrap_or_else(|| format!("etcd-restore-r{revision}")),
        snapshot_path,
        skip_hash_check: !trailer::has_trailer(plain_len),
        revision,
        kubernetes: ix.live_with_prefix(b"/registry/").next().is_some(),
        bump_revision: args.bump_revision,
    };
    let mut plan = restore::plan(&input)?;
    plan.warnings.extend(warnings);
    if args.json {
        out(&serde_json::to_string_pretty(&plan)?)?;
    } else {
        print_text(&plan)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn print_text(p: &RestorePlan) -> anyhow::Result<()> {
    let source = match p.members_source {
        MembersSource::Snapshot => "from the snapshot",
        MembersSource::Given => "as given",
    };
    let version = match p.version_source {
        VersionSource::Given => "",
        VersionSource::ClusterVersion => " (the snapshot's cluster version)",
    };
    out(&format!(
        "Restore runbook: etcd {}{version}, {} restores; {} members {source}; snapshot revision {}",
        p.version,
        p.tool.program(),
        p.members.len(),
        p.revision
    ))?;
    out(&format!("initial cluster: {}", p.initial_cluster))?;
    out(&format!("token:           {}", p.initial_cluster_token))?;
    for (i, s) in p.steps.iter().enumerate() {
        out("")?;
        out(&format!("{}. {}", i + 1, s.title))?;
        out(&format!("   {}", s.detail))?;
        for c in &s.commands {
            out(&format!("   [{}] {}", c.member, c.command.shell))?;
        }
        for e in &s.examples {
            out(&format!("   e.g. {e}"))?;
        }
    }
    out("")?;
    out(&format!(
        "--bump-revision / --mark-compacted: {}",
        p.bump_revision.note
    ))?;
    for w in &p.warnings {
        out(&format!("warning: {w}"))?;
    }
    Ok(())
}
