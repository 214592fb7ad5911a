//! `etcd-lens stats FILE [--json] [--top N] [--etcd-prefix ROOT]`: what fills the
//! database, per resource type and per namespace.
//!
//! One pass over the `key` bucket (bbolt orders it by revision). A key's entries are
//! history until a later one of the same key is met; the last one is live unless it
//! is a deletion. Memory: one size per key, never a value. Nothing is decoded.

use etcd_lens_core::units::human_bytes;
use std::collections::HashMap;
use std::ops::ControlFlow;
use std::process::ExitCode;

use anyhow::anyhow;
use etcd_lens_core::bolt::Db;
use etcd_lens_core::k8s::stats::Usage;
use etcd_lens_core::k8s::{DbStats, StatsBuilder};
use etcd_lens_core::mvcc::{KeyValue, RevisionKey};
use prost::Message;

use super::{input, k8s, out};

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

/// Feeds every `key`-bucket entry of `db` to a [`StatsBuilder`].
pub fn db_stats(db: &Db<'_>, prefix: &str, top: usize) -> anyhow::Result<DbStats> {
    let mut stats = StatsBuilder::new(prefix, top);
    // Latest entry seen per key: (value bytes, deleted).
    let mut last: HashMap<Vec<u8>, (u64, bool)> = HashMap::new();
    let mut failure = None;
    if let Some(kb) = db.bucket(&db.root(), b"key")? {
        db.for_each(&kb, None, |e| {
            let Some(v) = e.value else {
                return ControlFlow::Continue(());
            };
            let parsed = RevisionKey::parse(e.key)
                .map_err(|err| anyhow!("key bucket entry {}: {err}", hex::encode(e.key)))
                .and_then(|rk| {
                    KeyValue::decode(v)
                        .map(|kv| (rk, kv))
                        .map_err(|err| anyhow!("key bucket entry {}: {err}", hex::encode(e.key)))
                });
            let (rk, kv) = match parsed {
                Ok(p) => p,
                Err(err) => {
                    failure = Some(err);
                    return ControlFlow::Break(());
                }
            };
            let entry = (kv.value.len() as u64, rk.tombstone);
            if let Some((bytes, _)) = last.insert(kv.key.clone(), entry) {
                stats.add(&kv.key, bytes, false);
            }
            ControlFlow::Continue(())
        })?;
    }
    if let Some(f) = failure {
        return Err(f);
    }
    for (key, (bytes, deleted)) in last {
        stats.add(&key, bytes, !deleted);
    }
    Ok(stats.finish())
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

pub fn run(args: &StatsArgs) -> anyhow::Result<ExitCode> {
    let src = input::open(&args.file)?;
    let db = Db::open(&src)?;
    let s = db_stats(&db, &args.etcd_prefix.etcd_prefix, args.top);
    src.finish();
    let s = s?;
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
                n.namespace
                    .clone()
                    .unwrap_or_else(|| "(cluster-scoped / other)".into()),
                &n.usage,
            )
        })
        .collect();
    table("NAMESPACE", &rows)?;
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
