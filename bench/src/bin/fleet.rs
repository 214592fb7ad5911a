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

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use etcd_lens_bench::fleet::{
    FleetAnswer, clock_ticks_per_sec, counter_delta, grpc_handled_by_method, http_get, percentile,
    pids_with_arg, proc_cpu_ticks, proc_status_kib, refreshes_by_cluster, warning_kind,
};
use etcd_lens_bench::free_port;
use etcd_lens_testkit::cluster::{Cluster, ClusterOptions};

const TOKEN: &str = "fleet-bench-token";
const FLEET: &str = "/api/v1/clusters/status";
/// A page gives up on an answer after this long (counted as an error).
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);
/// How often the server's VmRSS is sampled.
const RSS_EVERY: Duration = Duration::from_millis(100);
/// The server's cache keeps an answer this long (server/src/http/state.rs).
const SERVER_MAX_AGE: Duration = Duration::from_secs(2);

// ---------------------------------------------------------------- arguments

fn opt(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn num(name: &str, default: u64) -> u64 {
    opt(name).map_or(default, |v| {
        v.parse()
            .unwrap_or_else(|_| panic!("{name} takes a number"))
    })
}

fn usize_arg(name: &str, default: usize) -> usize {
    usize::try_from(num(name, default as u64)).expect("fits usize")
}

fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel)
}

struct Args {
    clusters: usize,
    members: usize,
    start_parallel: usize,
    down: usize,
    frozen: usize,
    timeout_secs: u64,
    interval: Duration,
    healthy: Duration,
    page: Duration,
    frozen_time: Duration,
    pages: usize,
    pages_time: Duration,
    bursts: usize,
    etcdctl_runs: usize,
    /// Only start the clusters and measure them idle.
    start_only: bool,
    server: PathBuf,
    etcdctl: PathBuf,
}

impl Args {
    fn parse() -> Self {
        let a = Self {
            clusters: usize_arg("--clusters", 20),
            members: usize_arg("--members", 3),
            start_parallel: usize_arg("--start-parallel", 4).max(1),
            down: usize_arg("--down", 10),
            frozen: usize_arg("--frozen", 15),
            timeout_secs: num("--timeout-secs", 2),
            interval: Duration::from_millis(num("--interval-ms", 500)),
            healthy: Duration::from_secs(num("--healthy-secs", 20)),
            page: Duration::from_secs(num("--page-secs", 60)),
            frozen_time: Duration::from_secs(num("--frozen-secs", 30)),
            pages: usize_arg("--pages", 10),
            pages_time: Duration::from_secs(num("--pages-secs", 20)),
            bursts: usize_arg("--bursts", 5),
            etcdctl_runs: usize_arg("--etcdctl-runs", 3),
            start_only: std::env::args().any(|a| a == "--start-only"),
            server: opt("--server")
                .map_or_else(|| repo_path("target/release/etcd-lens"), PathBuf::from),
            etcdctl: opt("--etcdctl")
                .map_or_else(|| PathBuf::from("/usr/bin/etcdctl"), PathBuf::from),
        };
        assert!(
            a.down < a.clusters && a.frozen < a.clusters && a.down != a.frozen,
            "--down and --frozen must name two different clusters of the {}",
            a.clusters
        );
        assert!(
            a.server.exists(),
            "no {}: cargo build --release -p etcd-lens-server",
            a.server.display()
        );
        a
    }
}

fn name(i: usize) -> String {
    format!("fleet-{i:02}")
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn fmt_ms(v: Option<f64>) -> String {
    v.map_or_else(|| "–".into(), |v| format!("{v:.1} ms"))
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

// ---------------------------------------------------------------- clusters

/// Attempts per cluster. testkit picks each member's ports by binding port 0
/// and releasing it, so another cluster starting at the same time (or any
/// outgoing connection's ephemeral port) can take one first: etcd then exits
/// with "bind: address already in use". Seen in 4 of 5 starts of 20 clusters
/// at once and 1 of 2 at 4 at a time; a retry picks new ports.
const START_ATTEMPTS: usize = 4;

/// Start the clusters, `--start-parallel` at a time: the clusters, each
/// batch's time, and how many starts had to be retried.
fn start_clusters(a: &Args) -> (Vec<Cluster>, Vec<Duration>, usize) {
    let opts = ClusterOptions {
        members: a.members,
        // etcd's defaults, not testkit's quicker 50/500: 60 members share 2 cores.
        heartbeat_ms: 100,
        election_timeout_ms: 1000,
        ..Default::default()
    };
    let retries = std::sync::atomic::AtomicUsize::new(0);
    let start_one = || {
        for attempt in 1..=START_ATTEMPTS {
            // testkit panics (with the member's log tail) when a member exits
            // while it waits, but returns when one exited before it began
            // waiting (its wait skips members not running): check both.
            let failed = match std::panic::catch_unwind(|| Cluster::start(opts.clone())) {
                Ok(c) if (0..c.len()).all(|m| c.is_running(m)) => return c,
                Ok(c) => {
                    let dead: Vec<String> = (0..c.len())
                        .filter(|&m| !c.is_running(m))
                        .map(|m| log_tail_line(&c.member(m).log))
                        .collect();
                    format!("returned with a member exited: {}", dead.join(" | "))
                }
                Err(e) if attempt < START_ATTEMPTS => format!("panicked: {}", panic_text(&e)),
                Err(e) => std::panic::resume_unwind(e),
            };
            assert!(
                attempt < START_ATTEMPTS,
                "no cluster after {START_ATTEMPTS} attempts: {failed}"
            );
            retries.fetch_add(1, Ordering::Relaxed);
            eprintln!("cluster start attempt {attempt} failed ({failed}); retrying with new ports");
        }
        unreachable!("the last attempt returns or panics")
    };
    let mut clusters = Vec::with_capacity(a.clusters);
    let mut batches = Vec::new();
    let ids: Vec<usize> = (0..a.clusters).collect();
    for batch in ids.chunks(a.start_parallel) {
        let t = Instant::now();
        let started: Vec<Cluster> = std::thread::scope(|s| {
            let handles: Vec<_> = batch.iter().map(|_| s.spawn(start_one)).collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .expect("a cluster did not start (its log tail is above)")
                })
                .collect()
        });
        batches.push(t.elapsed());
        eprintln!(
            "clusters {:?} healthy after {:.2} s",
            batch.iter().map(|&i| name(i)).collect::<Vec<_>>(),
            t.elapsed().as_secs_f64()
        );
        clusters.extend(started);
    }
    (clusters, batches, retries.into_inner())
}

/// The last `"error"` a member logged, or its last line.
fn log_tail_line(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let line = text
        .lines()
        .rev()
        .find(|l| l.contains("\"error\""))
        .or(text.lines().last())
        .unwrap_or("");
    let error = line
        .split_once("\"error\":\"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map_or(line, |(e, _)| e);
    error.chars().take(160).collect()
}

fn panic_text(e: &Box<dyn std::any::Any + Send>) -> String {
    let text = e
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| e.downcast_ref::<&str>().copied())
        .unwrap_or("?");
    text.lines().next().unwrap_or("").to_string()
}

/// The pids of every etcd member of these clusters that is running.
fn etcd_pids<'a>(clusters: impl IntoIterator<Item = &'a Cluster>) -> Vec<u32> {
    clusters
        .into_iter()
        .flat_map(|c| pids_with_arg(&format!("--data-dir={}/", c.dir().display())))
        .collect()
}

/// SIGSTOP every member of `c`: they keep their sockets, so connections are
/// accepted by the kernel and never answered.
fn freeze(c: &Cluster) {
    let pids = etcd_pids([c]);
    assert_eq!(
        pids.len(),
        c.len(),
        "found {} etcd pids to freeze",
        pids.len()
    );
    for pid in pids {
        let pid = i32::try_from(pid).expect("pid fits i32");
        // SAFETY: kill(2) on a pid of our own child; no memory is involved.
        let r = unsafe { libc::kill(pid, libc::SIGSTOP) };
        assert_eq!(r, 0, "kill -STOP {pid}");
    }
}

fn cpu_ticks(pids: &[u32]) -> u64 {
    pids.iter().filter_map(|&p| proc_cpu_ticks(p)).sum()
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// gRPC calls handled so far, by method, summed over the running members of `clusters`.
fn grpc_counters(clusters: &[&Cluster]) -> BTreeMap<String, f64> {
    let mut total = BTreeMap::new();
    for c in clusters {
        for m in c.members() {
            let addr = m.metrics_url.trim_start_matches("http://");
            let (code, body) = http_get(addr, "/metrics", None, Duration::from_secs(10))
                .unwrap_or_else(|| panic!("scraping {}/metrics", m.metrics_url));
            assert_eq!(code, 200, "{}/metrics answered {code}", m.metrics_url);
            for (k, v) in grpc_handled_by_method(&body) {
                *total.entry(k).or_insert(0.0) += v;
            }
        }
    }
    total
}

/// How long one member's `/metrics` takes to fetch (each member once), and its mean size in KiB.
fn metrics_fetch(clusters: &[Cluster]) -> (Vec<f64>, f64) {
    let (mut times, mut bytes) = (Vec::new(), 0usize);
    for m in clusters.iter().flat_map(|c| c.members()) {
        let t = Instant::now();
        let (_, body) = http_get(
            m.metrics_url.trim_start_matches("http://"),
            "/metrics",
            None,
            Duration::from_secs(10),
        )
        .unwrap_or_else(|| panic!("scraping {}/metrics", m.metrics_url));
        times.push(ms(t.elapsed()));
        bytes += body.len();
    }
    let kib = bytes as f64 / 1024.0 / times.len().max(1) as f64;
    (times, kib)
}

// ---------------------------------------------------------------- server

struct Server {
    child: Child,
    addr: String,
    log: PathBuf,
}

impl Server {
    fn start(bin: &Path, config: &Path, dir: &Path) -> Self {
        let dist = dir.join("dist");
        std::fs::create_dir_all(&dist).expect("dist dir");
        std::fs::write(dist.join("index.html"), "<!DOCTYPE html><html></html>")
            .expect("index.html");
        let addr = format!("127.0.0.1:{}", free_port());
        let log = dir.join("server.log");
        let child = Command::new(bin)
            .args(["serve", "--addr", &addr, "--token", TOKEN])
            .arg("--config")
            .arg(config)
            .arg("--dist")
            .arg(&dist)
            .arg("--data-dir")
            .arg(dir.join("data"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("server log"))
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
        let me = Self { child, addr, log };
        let t = Instant::now();
        loop {
            if let Some((200, _)) =
                http_get(&me.addr, "/api/v1/clusters", Some(TOKEN), HTTP_TIMEOUT)
            {
                break;
            }
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "etcd-lens serve did not answer on {}; its log:\n{}",
                me.addr,
                std::fs::read_to_string(&me.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        me
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Samples the server's VmRSS every [`RSS_EVERY`] until dropped.
struct RssSampler {
    samples: Arc<Mutex<Vec<(Instant, u64)>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RssSampler {
    fn start(pid: u32) -> Self {
        let samples = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (samples.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !st.load(Ordering::Relaxed) {
                if let Some(kib) = proc_status_kib(pid, "VmRSS") {
                    s.lock().expect("rss samples").push((Instant::now(), kib));
                }
                std::thread::sleep(RSS_EVERY);
            }
        });
        Self {
            samples,
            stop,
            thread: Some(thread),
        }
    }

    /// (median, max) of the samples between `from` and `to`, in KiB.
    fn between(&self, from: Instant, to: Instant) -> (u64, u64) {
        let s = self.samples.lock().expect("rss samples");
        let v: Vec<f64> = s
            .iter()
            .filter(|(t, _)| *t >= from && *t <= to)
            .map(|(_, k)| *k as f64)
            .collect();
        let med = percentile(&v, 50.0).unwrap_or(0.0) as u64;
        let max = v.iter().copied().fold(0.0, f64::max) as u64;
        (med, max)
    }
}

impl Drop for RssSampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ---------------------------------------------------------------- pages

/// One fleet answer as a page saw it.
struct Sample {
    latency_ms: f64,
    answer: FleetAnswer,
}

/// What the pages of a phase saw.
#[derive(Default)]
struct PageResults {
    samples: Vec<Sample>,
    /// Non-200 answers, transport errors, unparsable bodies.
    errors: Vec<String>,
}

fn fetch_fleet(addr: &str) -> Result<Sample, String> {
    let t = Instant::now();
    let (code, body) = http_get(addr, FLEET, Some(TOKEN), HTTP_TIMEOUT)
        .ok_or_else(|| format!("no answer within {HTTP_TIMEOUT:?}"))?;
    let latency_ms = ms(t.elapsed());
    if code != 200 {
        return Err(format!("HTTP {code}: {body:.200}"));
    }
    Ok(Sample {
        latency_ms,
        answer: FleetAnswer::parse(&body)?,
    })
}

/// A page refreshing every `interval` from `offset` on for `duration`; a
/// request is never sent while the previous one is unanswered.
fn page(addr: &str, interval: Duration, offset: Duration, duration: Duration) -> PageResults {
    let start = Instant::now() + offset;
    let end = start + duration;
    let mut out = PageResults::default();
    let mut tick: u32 = 0;
    loop {
        let due = start + interval * tick;
        if due >= end {
            return out;
        }
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        match fetch_fleet(addr) {
            Ok(s) => out.samples.push(s),
            Err(e) => out.errors.push(e),
        }
        // The next tick not yet passed.
        let elapsed = Instant::now().saturating_duration_since(start);
        let passed =
            u32::try_from(elapsed.as_nanos() / interval.as_nanos().max(1)).unwrap_or(u32::MAX);
        tick = (tick + 1).max(passed.saturating_add(1));
    }
}

/// `n` pages at once, staggered over one interval.
fn pages(addr: &str, n: usize, interval: Duration, duration: Duration) -> PageResults {
    let all: Vec<PageResults> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..n)
            .map(|i| {
                let offset =
                    interval * u32::try_from(i).unwrap_or(0) / u32::try_from(n).unwrap_or(1);
                s.spawn(move || page(addr, interval, offset, duration))
            })
            .collect();
        hs.into_iter()
            .map(|h| h.join().expect("page thread"))
            .collect()
    });
    let mut out = PageResults::default();
    for r in all {
        out.samples.extend(r.samples);
        out.errors.extend(r.errors);
    }
    out
}

/// `n` requests released at the same instant.
fn burst(addr: &str, n: usize) -> PageResults {
    let barrier = Barrier::new(n);
    let all: Vec<Result<Sample, String>> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..n)
            .map(|_| {
                let b = &barrier;
                s.spawn(move || {
                    b.wait();
                    fetch_fleet(addr)
                })
            })
            .collect();
        hs.into_iter()
            .map(|h| h.join().expect("burst thread"))
            .collect()
    });
    let mut out = PageResults::default();
    for r in all {
        match r {
            Ok(s) => out.samples.push(s),
            Err(e) => out.errors.push(e),
        }
    }
    out
}

// ---------------------------------------------------------------- phases

/// Which kind of answer a sample was.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Kind {
    /// No cluster with `age_ms` 0.
    Cached,
    /// Some reachable clusters refreshed, no unreachable one.
    RefreshedLive,
    /// An unreachable cluster refreshed (with or without others).
    RefreshedDown,
}

impl Kind {
    fn of(s: &Sample, down: &[String]) -> Self {
        if s.answer
            .clusters
            .iter()
            .any(|c| c.age_ms == 0 && down.contains(&c.name))
        {
            Kind::RefreshedDown
        } else if s.answer.refreshed() > 0 {
            Kind::RefreshedLive
        } else {
            Kind::Cached
        }
    }

    fn label(self) -> &'static str {
        match self {
            Kind::Cached => "cached (no `age_ms` 0)",
            Kind::RefreshedLive => "refreshed reachable clusters only",
            Kind::RefreshedDown => "refreshed an unreachable cluster",
        }
    }
}

/// One measured stretch: what the pages saw and what it cost.
struct Phase {
    name: String,
    /// The clusters unreachable during it.
    down: Vec<String>,
    wall: Duration,
    results: PageResults,
    /// gRPC calls handled by the running members during it, by method.
    grpc: BTreeMap<String, f64>,
    server_cpu_s: f64,
    rss_median_kib: u64,
    rss_max_kib: u64,
}

impl Phase {
    fn latencies(&self) -> Vec<f64> {
        self.results.samples.iter().map(|s| s.latency_ms).collect()
    }

    fn p50(&self) -> Option<f64> {
        percentile(&self.latencies(), 50.0)
    }

    fn calls(&self, method: &str) -> f64 {
        self.grpc.get(method).copied().unwrap_or(0.0)
    }

    fn per_s(&self, v: f64) -> f64 {
        v / self.wall.as_secs_f64()
    }

    /// Distinct refreshes of the reachable clusters (summed) and of each unreachable one.
    fn refreshes(&self) -> (usize, Vec<(String, usize)>) {
        let r = refreshes_by_cluster(self.results.samples.iter().map(|s| &s.answer));
        let live = r
            .iter()
            .filter(|(k, _)| !self.down.contains(k))
            .map(|(_, v)| v)
            .sum();
        let down = self
            .down
            .iter()
            .map(|d| (d.clone(), r.get(d).copied().unwrap_or(0)))
            .collect();
        (live, down)
    }
}

/// Everything a phase needs to measure.
struct Rig<'a> {
    server: &'a Server,
    rss: &'a RssSampler,
    /// Every member of these is running (scraped for gRPC counters).
    up: Vec<&'a Cluster>,
    down: Vec<String>,
}

impl Rig<'_> {
    fn run(&self, name: &str, body: impl FnOnce() -> PageResults) -> Phase {
        eprintln!("phase {name}…");
        let before = grpc_counters(&self.up);
        let cpu0 = proc_cpu_ticks(self.server.pid()).unwrap_or(0);
        let t0 = Instant::now();
        let results = body();
        let t1 = Instant::now();
        let cpu1 = proc_cpu_ticks(self.server.pid()).unwrap_or(0);
        let after = grpc_counters(&self.up);
        let (rss_median_kib, rss_max_kib) = self.rss.between(t0, t1);
        let p = Phase {
            name: name.to_string(),
            down: self.down.clone(),
            wall: t1 - t0,
            grpc: counter_delta(&before, &after),
            results,
            server_cpu_s: cpu1.saturating_sub(cpu0) as f64 / clock_ticks_per_sec(),
            rss_median_kib,
            rss_max_kib,
        };
        eprintln!(
            "  {} answers, {} errors in {:.1} s; p50 {}; Status {:.1}/s",
            p.results.samples.len(),
            p.results.errors.len(),
            p.wall.as_secs_f64(),
            fmt_ms(p.p50()),
            p.per_s(p.calls("Status"))
        );
        for e in p.results.errors.iter().take(5) {
            eprintln!("  error: {e}");
        }
        p
    }
}

/// Bursts on a stale cache: one request, then `n` at once, `times` times.
fn bursts(rig: &Rig, a: &Args, n: usize, times: usize) -> (Vec<Phase>, Vec<Phase>) {
    let addr = rig.server.addr.as_str();
    // Past the cache's age, and past a refresh of an unreachable cluster still running.
    let stale =
        SERVER_MAX_AGE + Duration::from_secs(2 * a.timeout_secs) + Duration::from_millis(500);
    let (mut one, mut many) = (Vec::new(), Vec::new());
    for _ in 0..times {
        std::thread::sleep(stale);
        one.push(rig.run("stale, 1 request", || burst(addr, 1)));
        std::thread::sleep(stale);
        many.push(rig.run(&format!("stale, {n} at once"), || burst(addr, n)));
    }
    (one, many)
}

// ---------------------------------------------------------------- etcdctl

/// One loop of `etcdctl endpoint status --cluster -w json` over every
/// cluster: per cluster (time, answered for every member).
fn etcdctl_loop(a: &Args, clusters: &[Cluster]) -> Vec<(Duration, bool)> {
    let t = format!("{}s", a.timeout_secs);
    clusters
        .iter()
        .map(|c| {
            let t0 = Instant::now();
            let out = Command::new(&a.etcdctl)
                .env("ETCDCTL_API", "3")
                .arg(format!("--endpoints={}", c.endpoints().join(",")))
                .arg(format!("--dial-timeout={t}"))
                .arg(format!("--command-timeout={t}"))
                .args(["endpoint", "status", "--cluster", "-w", "json"])
                .stdin(Stdio::null())
                .output()
                .unwrap_or_else(|e| panic!("running {}: {e}", a.etcdctl.display()));
            let ok = out.status.success()
                && serde_json::from_slice::<serde_json::Value>(&out.stdout)
                    .is_ok_and(|v| v.as_array().is_some_and(|l| l.len() == c.len()));
            (t0.elapsed(), ok)
        })
        .collect()
}

/// `runs` loops of [`etcdctl_loop`].
struct Baseline {
    state: String,
    /// Median wall time of a loop over every cluster, ms.
    loop_ms: f64,
    /// Median time spent on the clusters that answered, ms.
    answered_ms: f64,
    /// Clusters that failed in the last loop.
    failed: usize,
}

fn etcdctl_baseline(a: &Args, clusters: &[Cluster], state: &str) -> Baseline {
    eprintln!("etcdctl loops, {state}…");
    let (mut walls, mut answered) = (Vec::new(), Vec::new());
    let mut failed = 0;
    for run in 0..a.etcdctl_runs {
        let l = etcdctl_loop(a, clusters);
        let wall: Duration = l.iter().map(|(d, _)| *d).sum();
        let ok: Duration = l.iter().filter(|(_, ok)| *ok).map(|(d, _)| *d).sum();
        failed = l.iter().filter(|(_, ok)| !ok).count();
        eprintln!(
            "  loop {run}: {:.0} ms ({failed} failed; the answering ones {:.0} ms)",
            ms(wall),
            ms(ok)
        );
        walls.push(ms(wall));
        answered.push(ms(ok));
    }
    Baseline {
        state: state.to_string(),
        loop_ms: percentile(&walls, 50.0).unwrap_or(0.0),
        answered_ms: percentile(&answered, 50.0).unwrap_or(0.0),
        failed,
    }
}

// ---------------------------------------------------------------- report

struct Stats {
    n: usize,
    p50: Option<f64>,
    p99: Option<f64>,
    max: Option<f64>,
}

fn stats(v: &[f64]) -> Stats {
    Stats {
        n: v.len(),
        p50: percentile(v, 50.0),
        p99: percentile(v, 99.0),
        max: percentile(v, 100.0),
    }
}

/// Latency rows of phases of one name (bursts repeat), by kind, then all.
fn latency_rows(name: &str, ps: &[&Phase]) -> Vec<String> {
    let mut by_kind: BTreeMap<Kind, Vec<f64>> = BTreeMap::new();
    let mut all = Vec::new();
    for p in ps {
        for s in &p.results.samples {
            by_kind
                .entry(Kind::of(s, &p.down))
                .or_default()
                .push(s.latency_ms);
            all.push(s.latency_ms);
        }
    }
    let errors: usize = ps.iter().map(|p| p.results.errors.len()).sum();
    let row = |label: &str, st: Stats| {
        format!(
            "| {name} | {label} | {} | {} | {} | {} |",
            st.n,
            fmt_ms(st.p50),
            fmt_ms(st.p99),
            fmt_ms(st.max)
        )
    };
    let mut rows: Vec<String> = by_kind
        .iter()
        .map(|(k, v)| row(k.label(), stats(v)))
        .collect();
    let errs = if errors > 0 {
        format!(" ({errors} errors)")
    } else {
        String::new()
    };
    rows.push(row(&format!("**all**{errs}"), stats(&all)));
    rows
}

fn load_row(p: &Phase) -> String {
    let (live, down) = p.refreshes();
    let n_live = p
        .results
        .samples
        .first()
        .map_or(0, |s| s.answer.clusters.len() - p.down.len());
    let methods = p
        .grpc
        .iter()
        .filter(|(_, v)| **v > 0.0)
        .map(|(k, v)| format!("{k} {v:.0}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "| {} | {:.1} s | {} | {:.1} | {:.1} ({methods}) | {:.2} | {} | {:.1} % | {} / {} |",
        p.name,
        p.wall.as_secs_f64(),
        p.results.samples.len(),
        p.per_s(p.calls("Status")),
        p.per_s(p.grpc.values().sum()),
        p.per_s(live as f64) / n_live.max(1) as f64,
        if down.is_empty() {
            "–".to_string()
        } else {
            down.iter()
                .map(|(d, n)| format!("{d}: {:.2}", p.per_s(*n as f64)))
                .collect::<Vec<_>>()
                .join(", ")
        },
        100.0 * p.server_cpu_s / p.wall.as_secs_f64(),
        mib(p.rss_median_kib),
        mib(p.rss_max_kib)
    )
}

fn burst_row(state: &str, one: &[Phase], many: &[Phase]) -> String {
    let calls = |ps: &[Phase]| {
        ps.iter()
            .map(|p| format!("{:.0}", p.calls("Status")))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let lat = |ps: &[Phase]| {
        let v: Vec<f64> = ps.iter().flat_map(|p| p.latencies()).collect();
        format!(
            "{} / {}",
            fmt_ms(percentile(&v, 50.0)),
            fmt_ms(percentile(&v, 100.0))
        )
    };
    // Refreshes per burst, as the answers' distinct `checked_at` show them.
    let refreshes = |ps: &[Phase]| {
        ps.iter()
            .map(|p| {
                let (live, down) = p.refreshes();
                let d: Vec<String> = down.iter().map(|(_, n)| n.to_string()).collect();
                format!("{live}+{}", d.join("+"))
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    format!(
        "| {state} | {} | {} | {} | {} | {} | {} |",
        calls(one),
        calls(many),
        refreshes(one),
        refreshes(many),
        lat(one),
        lat(many)
    )
}

fn took(ps: &[&Phase], of_down: bool) -> Vec<f64> {
    ps.iter()
        .flat_map(|p| {
            p.results.samples.iter().flat_map(move |s| {
                s.answer
                    .clusters
                    .iter()
                    .filter(move |c| c.age_ms == 0 && p.down.contains(&c.name) == of_down)
                    .map(|c| c.took_ms as f64)
            })
        })
        .collect()
}

// ---------------------------------------------------------------- main

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
