//! `etcd-lens retention plan`: the dry run — which snapshots the cluster's
//! policy would delete now, and which rule keeps each of the others.

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::Utc;

use super::targets::TargetArgs;
use crate::catalog::Catalog;
use crate::config;
use crate::ops::retention;

#[derive(Debug, clap::Subcommand)]
pub enum RetentionCommand {
    /// What retention would delete now, and why (deletes nothing).
    Plan(PlanArgs),
}

#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub targets: TargetArgs,
    #[arg(long)]
    pub cluster: Option<String>,
    #[arg(long, env = "ETCD_LENS_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

pub fn run(cmd: RetentionCommand) -> anyhow::Result<ExitCode> {
    let RetentionCommand::Plan(args) = cmd;
    let cluster = args.targets.one(args.cluster.as_deref())?;
    let data_dir = args.data_dir.unwrap_or_else(config::default_data_dir);
    let catalog = Catalog::open(&data_dir)?;
    let plan =
        retention::dry_run(&cluster, &catalog, Utc::now()).map_err(|e| anyhow::anyhow!(e))?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "cluster": cluster.name,
                "policy": cluster.retention,
                "decisions": plan,
            }))?
        );
    } else {
        for d in &plan {
            if d.keep {
                println!(
                    "keep    {}  {}  ({})",
                    d.id,
                    d.taken_at.to_rfc3339(),
                    d.kept_by.join(", ")
                );
            } else {
                println!(
                    "DELETE  {}  {}  ({})",
                    d.id,
                    d.taken_at.to_rfc3339(),
                    d.reason.as_deref().unwrap_or("")
                );
            }
        }
        let n = plan.iter().filter(|d| !d.keep).count();
        println!("{n} of {} snapshot(s) would be deleted", plan.len());
    }
    Ok(ExitCode::SUCCESS)
}
