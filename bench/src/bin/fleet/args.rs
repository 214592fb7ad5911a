//! The benchmark's command-line arguments and their defaults.

use std::path::{Path, PathBuf};
use std::time::Duration;

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

pub(crate) struct Args {
    pub(crate) clusters: usize,
    pub(crate) members: usize,
    pub(crate) start_parallel: usize,
    pub(crate) down: usize,
    pub(crate) frozen: usize,
    pub(crate) timeout_secs: u64,
    pub(crate) interval: Duration,
    pub(crate) healthy: Duration,
    pub(crate) page: Duration,
    pub(crate) frozen_time: Duration,
    pub(crate) pages: usize,
    pub(crate) pages_time: Duration,
    pub(crate) bursts: usize,
    pub(crate) etcdctl_runs: usize,
    /// Only start the clusters and measure them idle.
    pub(crate) start_only: bool,
    pub(crate) server: PathBuf,
    pub(crate) etcdctl: PathBuf,
}

impl Args {
    pub(crate) fn parse() -> Self {
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
