//! `etcd-lens scorecard --cluster NAME [--json]`: the operations practices of
//! one cluster, each pass / warn / fail / unknown with its evidence, from the
//! live cluster, the catalog (read while no server holds it) and the
//! configuration. Exit 1 when any check fails.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use chrono::Utc;
use etcd_lens_core::scorecard::Status;

use super::targets::TargetArgs;
use crate::catalog::Catalog;
use crate::config;
use crate::etcd::status::{PreviousScrapes, cluster_status};
use crate::ops::{Services, scheduler, scorecard};

#[derive(Debug, clap::Args)]
pub struct ScorecardArgs {
    #[command(flatten)]
    pub targets: TargetArgs,
    #[arg(long)]
    pub cluster: Option<String>,
    #[arg(long, env = "ETCD_LENS_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: ScorecardArgs) -> anyhow::Result<ExitCode> {
    let cluster = args.targets.one(args.cluster.as_deref())?;
    let data_dir = args.data_dir.unwrap_or_else(config::default_data_dir);
    let catalog = Arc::new(Catalog::open(&data_dir)?);
    let services = Services::new(data_dir, catalog.clone());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let now = Utc::now();
    let status = rt.block_on(cluster_status(
        &cluster,
        &mut PreviousScrapes::default(),
        now,
    ));
    let schedules = scheduler::initial_states(&cluster, &catalog, now);
    let card = rt
        .block_on(scorecard::scorecard(
            &services,
            &cluster,
            Ok(status),
            &schedules,
            now,
        ))
        .map_err(|e| anyhow::anyhow!(e))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&card)?);
    } else {
        println!("scorecard of cluster {:?}", card.cluster);
        for c in &card.checks {
            println!(
                "{:<7} {:<22} {}",
                c.status.as_str().to_uppercase(),
                c.id,
                c.evidence
            );
            if c.status != Status::Pass {
                println!("{:<30} fix: {}", "", c.fix);
            }
        }
    }
    Ok(if card.worst == Status::Fail {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
