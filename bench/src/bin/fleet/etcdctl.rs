//! The baseline: `etcdctl endpoint status --cluster` over every cluster, one
//! after another, as a script would.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use etcd_lens_bench::fleet::percentile;
use etcd_lens_testkit::cluster::Cluster;

use crate::args::Args;
use crate::units::ms;

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
pub(crate) struct Baseline {
    pub(crate) state: String,
    /// Median wall time of a loop over every cluster, ms.
    pub(crate) loop_ms: f64,
    /// Median time spent on the clusters that answered, ms.
    pub(crate) answered_ms: f64,
    /// Clusters that failed in the last loop.
    pub(crate) failed: usize,
}

pub(crate) fn etcdctl_baseline(a: &Args, clusters: &[Cluster], state: &str) -> Baseline {
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
