//! The fleet benchmark (issue #13): one `etcd-lens serve` watching 20 real
//! 3-member etcd clusters on loopback, first all up, then one cluster's
//! members killed, then also another's frozen. Results: bench/README.md.
//!
//! ```sh
//! cargo build --release -p etcd-lens-server
//! cd bench && cargo run --release --bin fleet -- [--clusters 20] [--start-parallel 4]
//! ```
//!
//! 1. Starts `--clusters` clusters of `--members` members of Debian's etcd
//!    3.4 (testkit's `Cluster`, with etcd's default heartbeat 100 ms /
//!    election 1000 ms), `--start-parallel` clusters at a time, and measures
//!    the CPU and memory of the idle members.
//! 2. Writes a config with one `[[cluster]]` per cluster (`timeout_seconds`
//!    `--timeout-secs`) and starts the release server on a loopback port.
//! 3. States, in order: all clusters up; every member of cluster `--down`
//!    killed (SIGKILL: its ports refuse connections at once); then also every
//!    member of cluster `--frozen` stopped with SIGSTOP (the kernel still
//!    accepts connections, nothing answers: a hung or partitioned host, which
//!    costs the full timeout). In each state:
//!    - `etcdctl endpoint status --cluster -w json` for every cluster one after
//!      another, as a script would (`--dial-timeout`/`--command-timeout` equal
//!      to the server's timeout), `--etcdctl-runs` loops;
//!    - *one page*: `GET /api/v1/clusters/status` every `--interval-ms`,
//!      never two at once (a late answer moves the next request to the next
//!      tick), for `--healthy-secs` / `--page-secs` / `--frozen-secs`;
//!    - after a stop: *`--pages` pages* at once for `--pages-secs`, their ticks
//!      staggered over one interval as independently opened pages would be,
//!      and `--bursts` times, each on a stale cache, one request alone and then
//!      `--pages` requests released at the same instant.
//!
//!    Around each phase the gRPC counters (`grpc_server_handled_total` by
//!    method) of every running member are scraped from its `/metrics`; the
//!    server's VmRSS is sampled every 100 ms throughout, its CPU time read
//!    from `/proc`.
//!
//! An answer is *refreshed* for a cluster when its `age_ms` is 0 (the server
//! asked etcd for this request; also an answer served within 1 ms of a
//! refresh), *cached* otherwise; the number of distinct `checked_at` values
//! counts the refreshes themselves. Latency is the client's: connect to the
//! last byte, `Connection: close`. Progress goes to stderr, the tables to stdout.
//!
//! The parts: `args.rs` the arguments, `clusters.rs` starting and measuring
//! the clusters, `server.rs` the server (its token, API path, timeouts) and
//! its memory, `pages.rs` the pages polling it, `phases.rs` one phase's
//! results, `etcdctl.rs` the baseline, `report.rs` the tables, `units.rs`
//! durations and sizes as printed; `main` runs the states in order.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};

use etcd_lens_bench::fleet::{clock_ticks_per_sec, percentile, proc_status_kib, warning_kind};

mod args;
mod clusters;
mod etcdctl;
mod pages;
mod phases;
mod report;
mod server;
mod units;

use args::Args;
use clusters::{cpu_ticks, etcd_pids, freeze, loadavg, metrics_fetch, name, start_clusters};
use etcdctl::etcdctl_baseline;
use pages::{page, pages};
use phases::{Phase, Rig, bursts};
use report::{burst_row, latency_rows, load_row, took};
use server::{RssSampler, SERVER_MAX_AGE, Server};
use units::{fmt_ms, mib};

fn main() {
    let a = Args::parse();
    let (down, frozen) = (name(a.down), name(a.frozen));
    let ticks = clock_ticks_per_sec();
    eprintln!("load average before: {}", loadavg());

    // 1. Clusters, and what they cost idle.
    let t = Instant::now();
    let (clusters, batches, retries) = start_clusters(&a);
    let start_wall = t.elapsed();
    for (i, c) in clusters.iter().enumerate() {
        let n = etcd_pids([c]).len();
        if n != c.len() {
            let running: Vec<bool> = (0..c.len()).map(|m| c.is_running(m)).collect();
            let logs: Vec<String> = c
                .members()
                .iter()
                .map(|m| {
                    let log = std::fs::read_to_string(&m.log).unwrap_or_default();
                    let tail: Vec<&str> = log.lines().rev().take(5).collect();
                    format!("{}: {}", m.name, tail.join("\n"))
                })
                .collect();
            panic!(
                "{}: {n} etcd processes of {} after start (running: {running:?})\n{}",
                name(i),
                c.len(),
                logs.join("\n")
            );
        }
    }
    let pids = etcd_pids(&clusters);
    std::thread::sleep(Duration::from_secs(3));
    let idle = Duration::from_secs(10);
    let c0 = cpu_ticks(&pids);
    std::thread::sleep(idle);
    let etcd_idle_cores = cpu_ticks(&pids).saturating_sub(c0) as f64 / ticks / idle.as_secs_f64();
    let rss_etcd: u64 = pids
        .iter()
        .filter_map(|&p| proc_status_kib(p, "VmRSS"))
        .sum();
    let load_idle = loadavg();
    eprintln!(
        "{} members idle: {etcd_idle_cores:.2} cores, {} RSS in all; load average {load_idle}",
        pids.len(),
        mib(rss_etcd)
    );
    let (metrics_ms, metrics_kib) = metrics_fetch(&clusters);
    if a.start_only {
        println!(
            "{} clusters × {} members, {} at a time: {:.1} s (batches: {}; {retries} retried); idle {etcd_idle_cores:.2} cores, {}; load average {load_idle}",
            a.clusters,
            a.members,
            a.start_parallel,
            start_wall.as_secs_f64(),
            batches
                .iter()
                .map(|b| format!("{:.1}", b.as_secs_f64()))
                .collect::<Vec<_>>()
                .join(" / "),
            mib(rss_etcd)
        );
        return;
    }

    // 2. Config and server.
    let dir = tempfile::Builder::new()
        .prefix("etcd-lens-fleet-")
        .tempdir()
        .expect("temp dir");
    let config = dir.path().join("fleet.toml");
    let mut toml = String::from("# Written by bench/src/bin/fleet.rs\n");
    for (i, c) in clusters.iter().enumerate() {
        let eps: Vec<String> = c.endpoints().iter().map(|e| format!("\"{e}\"")).collect();
        toml.push_str(&format!(
            "\n[[cluster]]\nname = \"{}\"\nendpoints = [{}]\ntimeout_seconds = {}\n",
            name(i),
            eps.join(", "),
            a.timeout_secs
        ));
    }
    std::fs::File::create(&config)
        .and_then(|mut f| f.write_all(toml.as_bytes()))
        .expect("writing the config");
    let server = Server::start(&a.server, &config, dir.path());
    let rss_start = proc_status_kib(server.pid(), "VmRSS").unwrap_or(0);
    let rss = RssSampler::start(server.pid());
    eprintln!(
        "server {} on {} (RSS {})",
        server.pid(),
        server.addr,
        mib(rss_start)
    );
    let addr = server.addr.clone();
    let rig = |skip: &[usize], down: &[&String]| Rig {
        server: &server,
        rss: &rss,
        up: clusters
            .iter()
            .enumerate()
            .filter(|(i, _)| !skip.contains(i))
            .map(|(_, c)| c)
            .collect(),
        down: down.iter().map(|d| (*d).clone()).collect(),
    };
    let mut phases: Vec<Phase> = Vec::new();
    let mut baselines = Vec::new();
    let mut burst_rows = Vec::new();

    // 3a. All up.
    baselines.push(etcdctl_baseline(&a, &clusters, "all up"));
    let r = rig(&[], &[]);
    phases.push(r.run("all up, 1 page", || {
        page(&addr, a.interval, Duration::ZERO, a.healthy)
    }));

    // 3b. One cluster killed.
    for m in 0..clusters[a.down].len() {
        clusters[a.down].stop(m);
    }
    eprintln!("killed every member of {down}");
    std::thread::sleep(SERVER_MAX_AGE);
    let r = rig(&[a.down], &[&down]);
    phases.push(r.run(&format!("{down} killed, 1 page"), || {
        page(&addr, a.interval, Duration::ZERO, a.page)
    }));
    phases.push(r.run(&format!("{down} killed, {} pages", a.pages), || {
        pages(&addr, a.pages, a.interval, a.pages_time)
    }));
    let (one, many) = bursts(&r, &a, a.pages, a.bursts);
    burst_rows.push(burst_row(&format!("{down} killed"), &one, &many));
    let killed_bursts: Vec<Phase> = one.into_iter().chain(many).collect();
    baselines.push(etcdctl_baseline(&a, &clusters, &format!("{down} killed")));

    // 3c. And one cluster frozen.
    freeze(&clusters[a.frozen]);
    eprintln!("froze (SIGSTOP) every member of {frozen}");
    std::thread::sleep(SERVER_MAX_AGE);
    let r = rig(&[a.down, a.frozen], &[&down, &frozen]);
    phases.push(r.run(&format!("+ {frozen} frozen, 1 page"), || {
        page(&addr, a.interval, Duration::ZERO, a.frozen_time)
    }));
    phases.push(r.run(&format!("+ {frozen} frozen, {} pages", a.pages), || {
        pages(&addr, a.pages, a.interval, a.pages_time)
    }));
    let (one, many) = bursts(&r, &a, a.pages, a.bursts);
    burst_rows.push(burst_row(&format!("+ {frozen} frozen"), &one, &many));
    let frozen_bursts: Vec<Phase> = one.into_iter().chain(many).collect();
    baselines.push(etcdctl_baseline(
        &a,
        &clusters,
        &format!("{down} killed, {frozen} frozen"),
    ));

    let rss_end = proc_status_kib(server.pid(), "VmRSS").unwrap_or(0);
    let hwm = proc_status_kib(server.pid(), "VmHWM").unwrap_or(0);
    let server_log = std::fs::read_to_string(&server.log).unwrap_or_default();
    drop(r);
    drop(rss);
    drop(server);

    // ---- report
    println!(
        "## Fleet status: {} clusters × {} members on loopback",
        a.clusters, a.members
    );
    println!();
    println!(
        "Start: {} at a time, {:.1} s in all (batches: {} s; {retries} cluster starts retried after a port clash). {} idle members: {etcd_idle_cores:.2} cores, {} RSS in all; load average then {load_idle}.",
        a.start_parallel,
        start_wall.as_secs_f64(),
        batches
            .iter()
            .map(|b| format!("{:.1}", b.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(" / "),
        pids.len(),
        mib(rss_etcd)
    );
    println!();
    println!(
        "Fleet answer latency (`--interval-ms {}`):",
        a.interval.as_millis()
    );
    println!();
    println!("| phase | answers | n | p50 | p99 | max |");
    println!("|---|---|---|---|---|---|");
    let mut by_name: Vec<(String, Vec<&Phase>)> = Vec::new();
    for p in phases.iter().chain(&killed_bursts).chain(&frozen_bursts) {
        let key = if p.name.starts_with("stale") {
            format!(
                "{} ({})",
                p.name,
                if p.down.len() > 1 {
                    "+ frozen"
                } else {
                    "killed"
                }
            )
        } else {
            p.name.clone()
        };
        match by_name.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(p),
            None => by_name.push((key, vec![p])),
        }
    }
    for (k, ps) in &by_name {
        for row in latency_rows(k, ps) {
            println!("{row}");
        }
    }
    println!();
    println!("Load on etcd and the server:");
    println!();
    println!(
        "| phase | wall | answers | Status calls/s | gRPC calls/s (by method) | refreshes/s per reachable cluster | refreshes/s of the unreachable | server CPU (of one core) | server RSS median / max |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for p in &phases {
        println!("{}", load_row(p));
    }
    println!();
    println!(
        "Bursts on a stale cache ({} times each; Status calls counted on every running member; refreshes = distinct `checked_at`, reachable clusters summed + each unreachable one):",
        a.bursts
    );
    println!();
    println!(
        "| state | Status calls, 1 request | Status calls, {n} at once | refreshes, 1 request | refreshes, {n} at once | latency p50 / max, 1 request | latency p50 / max, {n} at once |",
        n = a.pages
    );
    println!("|---|---|---|---|---|---|---|");
    for r in &burst_rows {
        println!("{r}");
    }
    let after_stop: Vec<&Phase> = phases
        .iter()
        .skip(1)
        .chain(&killed_bursts)
        .chain(&frozen_bursts)
        .collect();
    let mut verdicts: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    let mut warned: BTreeMap<String, usize> = BTreeMap::new();
    let mut wal_obs: Vec<f64> = Vec::new();
    for p in &after_stop {
        for s in &p.results.samples {
            for c in &s.answer.clusters {
                let who = if p.down.contains(&c.name) {
                    c.name.clone()
                } else {
                    "reachable".into()
                };
                if who == "reachable" && c.verdict != "healthy" {
                    *reasons.entry(c.verdict_reason.clone()).or_insert(0) += 1;
                    for w in &c.warnings {
                        *warned.entry(warning_kind(w)).or_insert(0) += 1;
                    }
                    wal_obs.extend(&c.wal_above_guidance_observations);
                }
                *verdicts.entry((who, c.verdict.clone())).or_insert(0) += 1;
            }
        }
    }
    println!();
    println!("Verdicts after the kill (cluster answers): {verdicts:?}.");
    for (r, n) in &reasons {
        println!("- a reachable cluster not healthy ({n}×): {r}");
    }
    for (w, n) in &warned {
        println!("  - warning ({n}×): {w}");
    }
    if !wal_obs.is_empty() {
        println!(
            "  - fsyncs behind a WAL fsync p99 above guidance (`wal_fsync.observations`): p50 {:.0}, p99 {:.0}, max {:.0}",
            percentile(&wal_obs, 50.0).unwrap_or(0.0),
            percentile(&wal_obs, 99.0).unwrap_or(0.0),
            percentile(&wal_obs, 100.0).unwrap_or(0.0)
        );
    }
    let (td, tl, th) = (
        took(&after_stop, true),
        took(&after_stop, false),
        took(&[&phases[0]], false),
    );
    println!(
        "Refresh `took_ms` (answers with `age_ms` 0): unreachable clusters p50 {} max {} (n {}); reachable after the kill p50 {} p99 {} max {} (n {}); all up p50 {} p99 {} (n {}).",
        fmt_ms(percentile(&td, 50.0)),
        fmt_ms(percentile(&td, 100.0)),
        td.len(),
        fmt_ms(percentile(&tl, 50.0)),
        fmt_ms(percentile(&tl, 99.0)),
        fmt_ms(percentile(&tl, 100.0)),
        tl.len(),
        fmt_ms(percentile(&th, 50.0)),
        fmt_ms(percentile(&th, 99.0)),
        th.len()
    );
    println!();
    println!(
        "Server memory: RSS {} after start, {} at the end; peak (VmHWM) {}.",
        mib(rss_start),
        mib(rss_end),
        mib(hwm)
    );
    println!();
    println!(
        "| state | etcdctl loop over {} clusters (median of {}) | clusters failed | fleet answer p50, 1 page (ratio) | p50 of the answers that refreshed (ratio) |",
        a.clusters, a.etcdctl_runs
    );
    println!("|---|---|---|---|---|");
    let one_page: Vec<&Phase> = phases
        .iter()
        .filter(|p| p.name.ends_with(", 1 page"))
        .collect();
    for (b, p) in baselines.iter().zip(&one_page) {
        let p50 = p.p50().unwrap_or(0.0);
        let refreshed: Vec<f64> = p
            .results
            .samples
            .iter()
            .filter(|s| s.answer.refreshed() > 0)
            .map(|s| s.latency_ms)
            .collect();
        let r50 = percentile(&refreshed, 50.0).unwrap_or(0.0);
        println!(
            "| {} | {:.0} ms (answering clusters: {:.0} ms) | {} | {p50:.1} ms ({:.4}) | {r50:.1} ms ({:.3}) |",
            b.state,
            b.loop_ms,
            b.answered_ms,
            b.failed,
            p50 / b.loop_ms,
            r50 / b.loop_ms
        );
    }
    println!();
    println!(
        "One `/metrics` page of a member: p50 {} to fetch, {:.0} KiB (the server scrapes every reachable member's at each refresh).",
        fmt_ms(percentile(&metrics_ms, 50.0)),
        metrics_kib
    );
    let warnings: Vec<&str> = server_log
        .lines()
        .filter(|l| l.contains("WARN") || l.contains("ERROR"))
        .collect();
    println!();
    println!(
        "Server log: {} lines, {} WARN/ERROR; the first:",
        server_log.lines().count(),
        warnings.len()
    );
    for w in warnings.iter().take(3) {
        println!("    {}", w.chars().take(240).collect::<String>());
    }
    eprintln!("load average after: {}", loadavg());
}
