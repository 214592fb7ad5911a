//! `etcd-lens stats FILE [--json] [--top N] [--etcd-prefix ROOT]`: what fills the
//! database, per resource type and per namespace.
//!
//! One pass over the `key` bucket: `etcd_lens_core::k8s::stats::scan`, as the page
//! counts it.

use std::process::ExitCode;

use etcd_lens_core::bolt::Db;
use etcd_lens_core::k8s::stats::{self, NO_NAMESPACE, UNDECODABLE, Usage};
use etcd_lens_core::units::human_bytes;

use super::output::out;
use super::{input, k8s};

#[derive(Debug, clap::Args)]
pub struct StatsArgs {
    /// Snapshot or member db file, or `-` for standard input.
    pub file: std::path::PathBuf,
    /// One JSON object: total, resources, namespaces, largest.
    #[arg(long)]
    pub json: bool,
    /// How many of the largest live values to list.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub top: usize,
    #[command(flatten)]
    pub etcd_prefix: k8s::PrefixArg,
}

fn table(title: &str, rows: &[(String, &Usage)]) -> anyhow::Result<()> {
    let w = rows
        .iter()
        .map(|(n, _)| n.chars().count())
        .chain([title.len()])
        .max()
        .unwrap_or(0);
    out(&format!(
        "{title:<w$}  {:>8}  {:>11}  {:>9}  {:>13}",
        "OBJECTS", "LIVE", "REVISIONS", "HISTORY"
    ))?;
    for (name, u) in rows {
        out(&format!(
            "{name:<w$}  {:>8}  {:>11}  {:>9}  {:>13}",
            u.objects,
            human_bytes(u.live_value_bytes),
            u.history_revisions,
            human_bytes(u.history_value_bytes)
        ))?;
    }
    Ok(())
}

pub fn run(args: &StatsArgs, unwrap: &input::UnwrapArgs) -> anyhow::Result<ExitCode> {
    let src = input::open(&args.file, unwrap)?;
    let db = Db::open(&src)?;
    let s = stats::scan(&db, &args.etcd_prefix.etcd_prefix, args.top)?;
    src.finish();
    if args.json {
        out(&serde_json::to_string(&s)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    let t = &s.total;
    out(&format!(
        "{} live objects, {} of live values; {} retained older revisions, {} of history",
        t.objects,
        human_bytes(t.live_value_bytes),
        t.history_revisions,
        human_bytes(t.history_value_bytes)
    ))?;
    out("")?;
    let rows: Vec<(String, &Usage)> = s
        .resources
        .iter()
        .map(|r| (r.resource.clone(), &r.usage))
        .collect();
    table("RESOURCE", &rows)?;
    out("")?;
    let rows: Vec<(String, &Usage)> = s
        .namespaces
        .iter()
        .map(|n| {
            (
                n.namespace.clone().unwrap_or_else(|| NO_NAMESPACE.into()),
                &n.usage,
            )
        })
        .collect();
    table("NAMESPACE", &rows)?;
    if s.undecodable.entries > 0 {
        out("")?;
        out(&format!(
            "{UNDECODABLE}: {} entries, {} (not counted above)",
            s.undecodable.entries,
            human_bytes(s.undecodable.bytes)
        ))?;
    }
    if !s.largest.is_empty() {
        out("")?;
        let w = s
            .largest
            .iter()
            .map(|l| l.value_bytes.to_string().len())
            .max()
            .unwrap_or(0)
            .max("BYTES".len());
        out(&format!("{:>w$}  LARGEST LIVE VALUES", "BYTES"))?;
        for l in &s.largest {
            out(&format!("{:>w$}  {}", l.value_bytes, l.key))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
