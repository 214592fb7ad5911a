//! `etcd-lens cluster status`: the live status the server's
//! `GET /api/v1/clusters/{name}/status` answers, without a server.

use std::process::ExitCode;

use chrono::Utc;

use super::targets::TargetArgs;
use crate::etcd::status::{PreviousScrapes, Verdict, cluster_status};

#[derive(Debug, clap::Subcommand)]
pub enum ClusterCommand {
    /// Members, leader, quorum, alarms, sizes and disk latency of a live cluster.
    Status(StatusArgs),
}

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub targets: TargetArgs,
    /// Which cluster of the configuration (default: the only one).
    #[arg(long)]
    pub cluster: Option<String>,
    /// The JSON the API answers (default: a table).
    #[arg(long)]
    pub json: bool,
}

pub fn run(cmd: ClusterCommand) -> anyhow::Result<ExitCode> {
    let ClusterCommand::Status(args) = cmd;
    let cluster = args.targets.one(args.cluster.as_deref())?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let status = rt.block_on(cluster_status(
        &cluster,
        &mut PreviousScrapes::default(),
        Utc::now(),
    ));
    if args.json {
        println!("{}", serde_json::to_string_pretty(&status)?);
    } else {
        println!(
            "cluster {} ({}): {}",
            status.cluster,
            status.cluster_id.as_deref().unwrap_or("id unknown"),
            status.verdict_reason
        );
        println!(
            "{:<18} {:<16} {:<28} {:>6} {:>9} {:>12} {:>12}  ERROR",
            "ID", "NAME", "ENDPOINT", "LEADER", "VERSION", "DB SIZE", "IN USE"
        );
        for m in &status.members {
            println!(
                "{:<18} {:<16} {:<28} {:>6} {:>9} {:>12} {:>12}  {}",
                m.id,
                m.name,
                m.endpoint.as_deref().unwrap_or("-"),
                if m.is_leader {
                    "yes"
                } else if m.is_learner {
                    "learner"
                } else {
                    ""
                },
                m.version.as_deref().unwrap_or("-"),
                m.db_size_bytes.map(|b| b.to_string()).unwrap_or("-".into()),
                m.db_size_in_use_bytes
                    .map(|b| b.to_string())
                    .unwrap_or("-".into()),
                m.error.as_deref().unwrap_or("")
            );
        }
        for a in &status.alarms {
            println!("alarm {} on member {}", a.alarm, a.member_id);
        }
        for w in status
            .warnings
            .iter()
            .chain(status.members.iter().flat_map(|m| &m.warnings))
        {
            println!("warning: {w}");
        }
    }
    Ok(match status.verdict {
        Verdict::Healthy => ExitCode::SUCCESS,
        Verdict::Degraded | Verdict::NoQuorum => ExitCode::from(1),
    })
}
