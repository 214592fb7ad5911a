//! One phase of a state: its samples sorted by kind of answer (cached,
//! refreshed live, refreshed down), the server's CPU and memory and the
//! members' gRPC calls around it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use etcd_lens_bench::fleet::{
    clock_ticks_per_sec, counter_delta, percentile, proc_cpu_ticks, refreshes_by_cluster,
};
use etcd_lens_testkit::cluster::Cluster;

use crate::args::Args;
use crate::clusters::grpc_counters;
use crate::pages::{PageResults, Sample, burst};
use crate::server::SERVER_MAX_AGE;
use crate::server::{RssSampler, Server};
use crate::units::fmt_ms;

/// Which kind of answer a sample was.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub(crate) enum Kind {
    /// No cluster with `age_ms` 0.
    Cached,
    /// Some reachable clusters refreshed, no unreachable one.
    RefreshedLive,
    /// An unreachable cluster refreshed (with or without others).
    RefreshedDown,
}

impl Kind {
    pub(crate) fn of(s: &Sample, down: &[String]) -> Self {
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

    pub(crate) fn label(self) -> &'static str {
        match self {
            Kind::Cached => "cached (no `age_ms` 0)",
            Kind::RefreshedLive => "refreshed reachable clusters only",
            Kind::RefreshedDown => "refreshed an unreachable cluster",
        }
    }
}

/// One measured stretch: what the pages saw and what it cost.
pub(crate) struct Phase {
    pub(crate) name: String,
    /// The clusters unreachable during it.
    pub(crate) down: Vec<String>,
    pub(crate) wall: Duration,
    pub(crate) results: PageResults,
    /// gRPC calls handled by the running members during it, by method.
    pub(crate) grpc: BTreeMap<String, f64>,
    pub(crate) server_cpu_s: f64,
    pub(crate) rss_median_kib: u64,
    pub(crate) rss_max_kib: u64,
}

impl Phase {
    pub(crate) fn latencies(&self) -> Vec<f64> {
        self.results.samples.iter().map(|s| s.latency_ms).collect()
    }

    pub(crate) fn p50(&self) -> Option<f64> {
        percentile(&self.latencies(), 50.0)
    }

    pub(crate) fn calls(&self, method: &str) -> f64 {
        self.grpc.get(method).copied().unwrap_or(0.0)
    }

    pub(crate) fn per_s(&self, v: f64) -> f64 {
        v / self.wall.as_secs_f64()
    }

    /// Distinct refreshes of the reachable clusters (summed) and of each unreachable one.
    pub(crate) fn refreshes(&self) -> (usize, Vec<(String, usize)>) {
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
pub(crate) struct Rig<'a> {
    pub(crate) server: &'a Server,
    pub(crate) rss: &'a RssSampler,
    /// Every member of these is running (scraped for gRPC counters).
    pub(crate) up: Vec<&'a Cluster>,
    pub(crate) down: Vec<String>,
}

impl Rig<'_> {
    pub(crate) fn run(&self, name: &str, body: impl FnOnce() -> PageResults) -> Phase {
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
pub(crate) fn bursts(rig: &Rig, a: &Args, n: usize, times: usize) -> (Vec<Phase>, Vec<Phase>) {
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
