//! `etcd-lens plan [--members N] [--zones a=2,b=2,c=1] [--rtt-ms X] [--clients N --rps N]
//! [--snapshot FILE] [--json]`: the sizing planner (`etcd_lens_core::plan`).
//!
//! Parses the flags, opens the snapshot the way every file command does (age,
//! gzip/zstd/zip, `-` for stdin), measures it, and prints the core's plan as
//! text or as one JSON object. The only facts found here rather than in the
//! core: the trailer's SHA-256 (a streamed read) and the file's age (its
//! modification time), for the upgrade checklist. Exit 0 with a plan (its
//! warnings are advice, not failures), 2 on bad input.

use std::process::ExitCode;

use anyhow::Context;
use etcd_lens_core::plan::availability::Rates;
use etcd_lens_core::plan::domains;
use etcd_lens_core::plan::headroom::{self, HeadroomInputs};
use etcd_lens_core::plan::upgrade::{self, State, TrailerState};
use etcd_lens_core::plan::{Plan, PlanInput, plan};
use etcd_lens_core::snapshot::Snapshot;
use etcd_lens_core::trailer::{self, TrailerStatus};
use etcd_lens_core::units::human_bytes;

use super::input;
use super::output::out;

#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// Voting members (default: the sum of --zones, else 3).
    #[arg(long, value_name = "N")]
    pub members: Option<u32>,
    /// Learners (non-voting members): listed, never counted in quorum.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub learners: u32,
    /// Members per zone (or rack, or region), e.g. `a=2,b=2,c=1`.
    #[arg(long, value_name = "NAME=N,…")]
    pub zones: Option<String>,
    /// Round-trip time between members, in milliseconds: heartbeat and election timeout.
    #[arg(long, value_name = "MS")]
    pub rtt_ms: Option<f64>,
    /// Clients the cluster serves (hardware tier).
    #[arg(long, value_name = "N")]
    pub clients: Option<u64>,
    /// Requests per second the cluster serves (hardware tier).
    #[arg(long, value_name = "N")]
    pub rps: Option<u64>,
    /// A snapshot or member db file (or `-`): size against the quota, defrag, backlog, restore time.
    #[arg(long, value_name = "FILE")]
    pub snapshot: Option<std::path::PathBuf>,
    /// The member's `--quota-backend-bytes`.
    #[arg(long, value_name = "BYTES", default_value_t = etcd_lens_core::plan::rules::DEFAULT_QUOTA_BYTES)]
    pub quota_bytes: u64,
    /// Disk throughput for the restore estimate, in MB/s (10^6 bytes).
    #[arg(long, value_name = "MB/S", default_value_t = headroom::DEFAULT_DISK_BYTES_PER_SECOND / 1e6)]
    pub disk_mb_per_s: f64,
    /// Network bandwidth for the transfer estimate, in MB/s.
    #[arg(long, value_name = "MB/S", default_value_t = headroom::DEFAULT_NETWORK_BYTES_PER_SECOND / 1e6)]
    pub network_mb_per_s: f64,
    /// Availability model: failures of one member per year (an assumption; see the README).
    #[arg(long, value_name = "RATE", default_value_t = Rates::default().member_failures_per_year)]
    pub member_failures_per_year: f64,
    /// Availability model: hours to bring a failed member back.
    #[arg(long, value_name = "HOURS", default_value_t = Rates::default().member_repair_hours)]
    pub member_repair_hours: f64,
    /// Availability model: outages of one zone per year.
    #[arg(long, value_name = "RATE", default_value_t = Rates::default().zone_outages_per_year)]
    pub zone_outages_per_year: f64,
    /// Availability model: hours a zone outage lasts.
    #[arg(long, value_name = "HOURS", default_value_t = Rates::default().zone_outage_hours)]
    pub zone_outage_hours: f64,
    /// The running etcd version (the lowest member's), e.g. 3.5.21.
    #[arg(long, value_name = "X.Y.Z")]
    pub etcd_version: Option<String>,
    /// The minor version to upgrade to (e.g. 3.6): adds the pre-upgrade checklist.
    #[arg(long, value_name = "X.Y")]
    pub upgrade_to: Option<String>,
    /// Free bytes on each member's data disk, for the checklist's disk headroom.
    #[arg(long, value_name = "BYTES")]
    pub free_disk_bytes: Option<u64>,
    /// One JSON object (documented in the README, "Planning").
    #[arg(long)]
    pub json: bool,
}

/// Hours since the file was modified (`None` for stdin or an unreadable time).
fn age_hours(path: &std::path::Path) -> Option<f64> {
    if path == std::path::Path::new("-") {
        return None;
    }
    let modified = std::fs::metadata(path).ok()?.modified().ok()?;
    let age = std::time::SystemTime::now().duration_since(modified).ok()?;
    Some(age.as_secs_f64() / 3600.0)
}

pub fn run(args: &PlanArgs, unwrap: &input::UnwrapArgs) -> anyhow::Result<ExitCode> {
    let zones = args
        .zones
        .as_deref()
        .map(domains::parse_zones)
        .transpose()
        .context("--zones")?;
    let etcd_version = args
        .etcd_version
        .as_deref()
        .map(|s| {
            upgrade::parse_version(s)
                .with_context(|| format!("--etcd-version {s:?}: expected X.Y.Z"))
        })
        .transpose()?;
    let upgrade_to = args
        .upgrade_to
        .as_deref()
        .map(|s| {
            upgrade::parse_minor(s).with_context(|| format!("--upgrade-to {s:?}: expected X.Y"))
        })
        .transpose()?;
    let mut input = PlanInput {
        members: args.members,
        learners: args.learners,
        zones,
        rtt_ms: args.rtt_ms,
        clients: args.clients,
        requests_per_second: args.rps,
        rates: Rates {
            member_failures_per_year: args.member_failures_per_year,
            member_repair_hours: args.member_repair_hours,
            zone_outages_per_year: args.zone_outages_per_year,
            zone_outage_hours: args.zone_outage_hours,
        },
        headroom: HeadroomInputs {
            quota_bytes: args.quota_bytes,
            disk_bytes_per_second: args.disk_mb_per_s * 1e6,
            network_bytes_per_second: args.network_mb_per_s * 1e6,
        },
        etcd_version,
        upgrade_to,
        free_disk_bytes: args.free_disk_bytes,
        ..PlanInput::default()
    };
    if let Some(path) = &args.snapshot {
        let src = input::open(path, unwrap)?;
        let name = path.display();
        let trailer =
            trailer::verify(&src, 1 << 20, |_| {}).with_context(|| format!("reading {name}"))?;
        let snap = Snapshot::open(&src).with_context(|| format!("opening {name}"))?;
        input.snapshot = Some(headroom::measure(&snap));
        src.finish();
        input.snapshot_trailer = Some(match trailer {
            TrailerStatus::Verified { .. } => TrailerState::Verified,
            TrailerStatus::Absent => TrailerState::Absent,
            TrailerStatus::Mismatch { .. } => TrailerState::Mismatch,
        });
        input.snapshot_age_hours = age_hours(path);
    }
    let p = plan(&input)?;
    if args.json {
        out(&serde_json::to_string(&p)?)?;
    } else {
        print_text(&p, args)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "NO" }
}

fn counts(c: &[u32]) -> String {
    c.iter().map(u32::to_string).collect::<Vec<_>>().join("/")
}

fn print_text(p: &Plan, args: &PlanArgs) -> anyhow::Result<()> {
    let q = &p.quorum;
    out(&format!(
        "quorum: {} voting members need {} (a majority) and tolerate {} failure{}{}",
        q.members,
        q.majority,
        q.tolerates,
        if q.tolerates == 1 { "" } else { "s" },
        if p.learners > 0 {
            format!("; {} learner(s) do not vote", p.learners)
        } else {
            String::new()
        }
    ))?;
    out("  members   majority  tolerates")?;
    for r in &p.quorum_table {
        out(&format!(
            "  {:>7}   {:>8}  {:>9}{}",
            r.members,
            r.majority,
            r.tolerates,
            if r.members == q.members { "   ←" } else { "" }
        ))?;
    }

    if let Some(survives) = p.survives_any_zone_loss {
        out("")?;
        out(&format!(
            "zones: survives the loss of any one zone: {}",
            yes(survives)
        ))?;
        for z in &p.zones {
            out(&format!(
                "  {:<12} {} member{}   its loss keeps quorum: {}",
                z.name,
                z.members,
                if z.members == 1 { " " } else { "s" },
                yes(z.loss_keeps_quorum)
            ))?;
        }
        for pair in &p.zone_pairs {
            out(&format!(
                "  {} + {} lost together ({} members): keeps quorum: {}",
                pair.zones[0],
                pair.zones[1],
                pair.members_lost,
                yes(pair.keeps_quorum)
            ))?;
        }
        if let Some(f) = &p.smallest_fix {
            out(&format!(
                "  smallest fix: {} → {}",
                f.description(),
                f.layout()
            ))?;
        }
    }
    out(&format!(
        "recommended placement: {} ({} one zone's loss)",
        counts(&p.recommended_placement),
        if p.recommended_placement_survives_zone_loss {
            "survives"
        } else {
            "does not survive"
        }
    ))?;

    out("")?;
    let r = &p.availability_model.rates;
    out(&format!(
        "availability (member: {} failure(s)/year, {} h to repair; zone: {} outage(s)/year of {} h; independent failures):",
        r.member_failures_per_year,
        r.member_repair_hours,
        r.zone_outages_per_year,
        r.zone_outage_hours
    ))?;
    out(
        "  layout                     members  min/year without quorum  losses/year  P(≥1 loss in a year)*",
    )?;
    for a in &p.availability {
        out(&format!(
            "  {:<26} {:>7}  {:>23.3}  {:>11.5}  {:>21.5}",
            if a.yours {
                format!("{} (yours)", a.layout)
            } else {
                a.layout.clone()
            },
            a.members,
            a.quorum_loss_minutes_per_year,
            a.quorum_losses_per_year,
            a.p_quorum_loss_per_year
        ))?;
    }
    out("  * 1 − e^(−losses/year): a Poisson approximation")?;

    if let Some(t) = &p.timing {
        out("")?;
        out(&format!(
            "timing at {} ms RTT: {}   (heartbeat {}–{} ms, election ≥ {} ms; defaults 100/1000 {})",
            t.rtt_ms,
            t.flags,
            t.heartbeat_range_ms[0],
            t.heartbeat_range_ms[1],
            t.election_timeout_min_ms,
            if t.defaults_safe {
                "are safe"
            } else {
                "are UNSAFE"
            }
        ))?;
    }

    if let Some(h) = &p.hardware {
        out("")?;
        let m = &h.machines;
        out(&format!(
            "hardware: {} tier (by {}; e.g. {}): {} vCPU, {} GB memory, {} max concurrent IOPS, {} MB/s disk — {} {} or {} {}",
            h.tier.name(),
            h.based_on.join(", "),
            h.example_workload,
            h.vcpus,
            h.memory_gb,
            h.max_concurrent_iops,
            h.disk_bandwidth_mb_per_s,
            m[0].provider,
            m[0].instance_type,
            m[1].provider,
            m[1].instance_type
        ))?;
        out(&format!(
            "  disks: at least {} sequential IOPS ({} under heavy load); WAL fsync p99 < {} ms, backend commit p99 < {} ms",
            h.sequential_iops_min,
            h.sequential_iops_heavy_load,
            h.wal_fsync_p99_max_ms,
            h.backend_commit_p99_max_ms
        ))?;
    }

    if let Some(s) = &p.snapshot {
        out("")?;
        let name = args
            .snapshot
            .as_ref()
            .map_or_else(String::new, |p| p.display().to_string());
        out(&format!("snapshot {name}:"))?;
        out(&format!(
            "  size {} ({} bytes) of a {} quota: {:.1} %, {} headroom",
            human_bytes(s.db_size_bytes),
            s.db_size_bytes,
            human_bytes(s.quota_bytes),
            s.quota_used_ratio * 100.0,
            human_bytes(s.headroom_bytes)
        ))?;
        out(&format!(
            "  in use {}; a defrag would reclaim about {} ({} free + {} unreachable pages, {:.0} %)",
            human_bytes(s.db_size_in_use_bytes),
            human_bytes(s.reclaimable_bytes),
            s.free_pages,
            s.unreachable_pages,
            s.reclaimable_ratio * 100.0
        ))?;
        out(&format!(
            "  revisions retained: {} (current {}, compacted {})",
            s.revisions_retained, s.current_revision, s.compacted_revision
        ))?;
        out(&format!(
            "  restore ≈ {:.1} s at {} MB/s disk; transfer ≈ {:.1} s at {} MB/s network (estimates: measure yours)",
            s.estimated_restore_seconds,
            s.disk_bytes_per_second / 1e6,
            s.estimated_transfer_seconds,
            s.network_bytes_per_second / 1e6
        ))?;
    }

    if let Some(u) = &p.upgrade {
        out("")?;
        out(&format!(
            "upgrade {} → {}: {}",
            u.current.map_or_else(|| "?".to_string(), |v| v.to_string()),
            u.target,
            if u.ready { "ready" } else { "not ready" }
        ))?;
        for i in &u.items {
            let mark = match i.state {
                State::Ok => "ok",
                State::Fail => "FAIL",
                State::Unknown => "?",
            };
            out(&format!("  [{mark:^4}] {}: {}", i.id, i.message))?;
        }
    }

    out("")?;
    if p.warnings.is_empty() {
        out("warnings: none")?;
    } else {
        out("warnings:")?;
        for w in &p.warnings {
            out(&format!("  {}: {}  ({})", w.code, w.message, w.source))?;
        }
    }
    Ok(())
}
