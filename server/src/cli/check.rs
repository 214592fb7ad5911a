//! `etcd-lens check FILE [--json]`: the SHA-256 trailer and bbolt consistency.
//! Exit 0 when clean, 1 when any problem is found (warnings do not count).

use std::process::ExitCode;

use etcd_lens_core::bolt::{self, Db};
use etcd_lens_core::trailer::{self, TrailerStatus};

use super::input;
use super::output::out;

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Snapshot or member db file, or `-` for standard input.
    pub file: std::path::PathBuf,
    /// One JSON object: trailer, problems, warnings, freelist, page statistics.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &CheckArgs, unwrap: &input::UnwrapArgs) -> anyhow::Result<ExitCode> {
    let src = input::open(&args.file, unwrap)?;
    let trailer = trailer::verify(&src, 1 << 20, |_| {})?;
    let db = Db::open(&src)?;
    let report = bolt::check(&db);
    src.finish();
    let trailer_bad = matches!(trailer, TrailerStatus::Mismatch { .. });
    let ok = report.is_ok() && !trailer_bad;
    if args.json {
        let v = serde_json::json!({
            "ok": ok,
            "trailer": trailer,
            "problems": report.problems,
            "warnings": report.warnings,
            "freelist": report.freelist,
            "stats": report.stats,
        });
        out(&v.to_string())?;
    } else {
        out(&format!("trailer: {}", trailer.describe()))?;
        for p in &report.problems {
            out(&format!("problem: {p}"))?;
        }
        for w in &report.warnings {
            out(&format!("warning: {w}"))?;
        }
        let s = &report.stats;
        out(&format!(
            "pages: {} × {} bytes; in use {}, free {}, unreachable {}; branch {}, leaf {}, overflow {}",
            s.high_water,
            s.page_size,
            s.in_use_pages,
            s.free_pages,
            s.unreachable_pages,
            s.branch_pages,
            s.leaf_pages,
            s.overflow_pages
        ))?;
        out(if ok { "ok" } else { "FAILED" })?;
    }
    if !ok {
        let n = report.problems.len() + usize::from(trailer_bad);
        eprintln!("etcd-lens: check found {n} problem(s)");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
