//! `etcd-lens defrag`: defragment a live cluster's members one at a time,
//! followers first and the leader last, where the rule says it is worth it
//! (or `--recover-nospace`: compact, defragment all, disarm the alarm).

use std::process::ExitCode;
use std::time::Duration;

use super::targets::TargetArgs;
use crate::ops::defrag::{self, Action, Rule};

#[derive(Debug, clap::Args)]
pub struct DefragArgs {
    #[command(flatten)]
    pub targets: TargetArgs,
    #[arg(long)]
    pub cluster: Option<String>,
    /// Decide and report; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Rule: defragment a member with at least this many free bytes… (default: the
    /// planner's rule — etcd's fragmentation alert, 200 MiB free, or back under 80 % of the quota)
    #[arg(long)]
    pub min_reclaimable_bytes: Option<u64>,
    /// …or whose database is at least this share of its quota (default with the above: 0.8).
    #[arg(long)]
    pub quota_ratio: Option<f64>,
    /// Pause after each member (milliseconds).
    #[arg(long, default_value_t = 1000)]
    pub pause_ms: u64,
    /// The NOSPACE recovery: compact to the current revision, defragment every member, disarm.
    #[arg(long, conflicts_with = "dry_run")]
    pub recover_nospace: bool,
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: DefragArgs) -> anyhow::Result<ExitCode> {
    let cluster = args.targets.one(args.cluster.as_deref())?;
    let rule = Rule::custom(args.min_reclaimable_bytes, args.quota_ratio);
    let pause = Duration::from_millis(args.pause_ms);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let report = if args.recover_nospace {
        rt.block_on(defrag::recover_nospace(&cluster, pause))
    } else {
        rt.block_on(defrag::run(&cluster, rule, args.dry_run, pause))
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for m in &report.members {
            let role = if m.is_leader { "leader" } else { "follower" };
            match m.action {
                Action::Defragmented => println!(
                    "{} ({role}): defragmented, {} → {} bytes, {} reclaimed",
                    m.name,
                    m.before_bytes,
                    m.after_bytes.unwrap_or(0),
                    m.reclaimed_bytes.unwrap_or(0)
                ),
                Action::WouldDefragment => {
                    println!("{} ({role}): would defragment: {}", m.name, m.reason)
                }
                Action::Skipped => println!("{} ({role}): skipped: {}", m.name, m.reason),
                Action::Failed => println!("{} ({role}): FAILED: {}", m.name, m.reason),
            }
        }
        if let Some(rev) = report.compacted_to {
            println!("compacted to revision {rev}");
        }
        if let Some(a) = &report.alarms_after {
            println!(
                "alarms after: {}",
                if a.is_empty() {
                    "none".to_string()
                } else {
                    a.join(", ")
                }
            );
        }
        if let Some(s) = &report.stopped {
            println!("stopped: {s}");
        }
        println!("{} bytes reclaimed", report.reclaimed_bytes);
    }
    Ok(if report.stopped.is_some() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
