//! The 20 clusters: started a few at a time (retried when a port is taken),
//! frozen with SIGSTOP, and measured: their members' CPU time, the load, the
//! gRPC counters and a `/metrics` fetch.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use etcd_lens_bench::fleet::{grpc_handled_by_method, http_get, pids_with_arg, proc_cpu_ticks};
use etcd_lens_testkit::cluster::{Cluster, ClusterOptions};

use crate::args::Args;
use crate::units::ms;

pub(crate) fn name(i: usize) -> String {
    format!("fleet-{i:02}")
}

/// Attempts per cluster. testkit picks each member's ports by binding port 0
/// and releasing it, so another cluster starting at the same time (or any
/// outgoing connection's ephemeral port) can take one first: etcd then exits
/// with "bind: address already in use". Seen in 4 of 5 starts of 20 clusters
/// at once and 1 of 2 at 4 at a time; a retry picks new ports.
const START_ATTEMPTS: usize = 4;

/// Start the clusters, `--start-parallel` at a time: the clusters, each
/// batch's time, and how many starts had to be retried.
pub(crate) fn start_clusters(a: &Args) -> (Vec<Cluster>, Vec<Duration>, usize) {
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
pub(crate) fn etcd_pids<'a>(clusters: impl IntoIterator<Item = &'a Cluster>) -> Vec<u32> {
    clusters
        .into_iter()
        .flat_map(|c| pids_with_arg(&format!("--data-dir={}/", c.dir().display())))
        .collect()
}

/// SIGSTOP every member of `c`: they keep their sockets, so connections are
/// accepted by the kernel and never answered.
pub(crate) fn freeze(c: &Cluster) {
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

pub(crate) fn cpu_ticks(pids: &[u32]) -> u64 {
    pids.iter().filter_map(|&p| proc_cpu_ticks(p)).sum()
}

pub(crate) fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// gRPC calls handled so far, by method, summed over the running members of `clusters`.
pub(crate) fn grpc_counters(clusters: &[&Cluster]) -> BTreeMap<String, f64> {
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
pub(crate) fn metrics_fetch(clusters: &[Cluster]) -> (Vec<f64>, f64) {
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
