//! Command-line interface. Each subcommand parses its input, calls the core and
//! prints; exit codes: 0 success, 1 a finding/problem, 2 an error.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub mod audit;
pub mod catalog;
pub mod check;
pub mod cluster;
pub mod defrag;
pub mod diff;
pub mod drill;
pub mod export;
pub mod get;
pub mod input;
pub mod k8s;
pub mod ls;
pub mod output;
pub mod plan;
pub mod restore_plan;
pub mod retention;
pub mod scorecard;
pub mod serve;
pub mod snapshot;
pub mod stats;
pub mod status;
pub mod targets;

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
    pub unwrap: input::UnwrapArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the app (and the companion API) on a loopback address.
    Serve(serve::ServeArgs),
    /// `snapshot status` numbers (hash, revision, totalKey, totalSize), as etcdctl/etcdutl compute them.
    Status(status::StatusArgs),
    /// List live keys in key order.
    Ls(ls::LsArgs),
    /// One key's value, at a revision, or its whole retained history.
    Get(get::GetArgs),
    /// What changed between two snapshots: added, removed and modified keys (exit 1 when any).
    Diff(diff::DiffArgs),
    /// Objects as YAML for `kubectl apply`: namespaces and CRDs in one file, the rest in another.
    Export(export::ExportArgs),
    /// Verify the SHA-256 trailer and the bbolt structure (like `bbolt check`).
    Check(check::CheckArgs),
    /// Secret audit: which Secrets the snapshot exposes, as a report and a CI gate.
    Audit(audit::AuditArgs),
    /// What fills the database: objects and bytes (live and history) per resource and namespace.
    Stats(stats::StatsArgs),
    /// Sizing planner: quorum, zones, availability, timing, hardware and a snapshot's headroom.
    Plan(plan::PlanArgs),
    /// The restore runbook: exact per-member `snapshot restore` commands and the steps around them.
    RestorePlan(restore_plan::RestorePlanArgs),
    /// Live clusters (through the configured endpoints).
    #[command(subcommand)]
    Cluster(cluster::ClusterCommand),
    /// Take and list catalogued snapshots of live clusters.
    #[command(subcommand)]
    Snapshot(snapshot::SnapshotCommand),
    /// A restore drill: restore a snapshot into a throwaway etcd and compare what it serves.
    Drill(drill::DrillArgs),
    /// Defragment a live cluster's members, one at a time, the leader last.
    Defrag(defrag::DefragArgs),
    /// The operations scorecard: each practice pass / warn / fail / unknown, with its evidence.
    Scorecard(scorecard::ScorecardArgs),
    /// The retention policy's dry run.
    #[command(subcommand)]
    Retention(retention::RetentionCommand),
    /// Rebuild the catalog from a cluster's object store; list pending remote deletes.
    #[command(subcommand)]
    Catalog(catalog::CatalogCommand),
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let result = match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Status(args) => status::run(&args, &cli.unwrap),
        Command::Ls(args) => ls::run(&args, &cli.unwrap),
        Command::Get(args) => get::run(&args, &cli.unwrap),
        Command::Check(args) => check::run(&args, &cli.unwrap),
        Command::Diff(args) => diff::run(&args, &cli.unwrap),
        Command::Export(args) => export::run(&args, &cli.unwrap),
        Command::Audit(args) => audit::run(&args, &cli.unwrap),
        Command::Stats(args) => stats::run(&args, &cli.unwrap),
        Command::Plan(args) => plan::run(&args, &cli.unwrap),
        Command::RestorePlan(args) => restore_plan::run(&args, &cli.unwrap),
        Command::Cluster(cmd) => cluster::run(cmd),
        Command::Snapshot(cmd) => snapshot::run(cmd),
        Command::Retention(cmd) => retention::run(cmd),
        Command::Catalog(cmd) => catalog::run(cmd, &cli.unwrap),
        Command::Defrag(args) => defrag::run(args),
        Command::Drill(args) => drill::run(args),
        Command::Scorecard(args) => scorecard::run(args),
    };
    match result {
        Err(e) if e.downcast_ref::<output::OutputClosed>().is_some() => Ok(ExitCode::SUCCESS),
        r => r,
    }
}
