//! The release `etcd-lens serve` under test (its token, the fleet API's path,
//! how long its answers are cached), and the sampler of its VmRSS.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use etcd_lens_bench::fleet::{http_get, percentile, proc_status_kib};
use etcd_lens_bench::free_port;

pub(crate) const TOKEN: &str = "fleet-bench-token";
pub(crate) const FLEET: &str = "/api/v1/clusters/status";
/// A page gives up on an answer after this long (counted as an error).
pub(crate) const HTTP_TIMEOUT: Duration = Duration::from_secs(30);
/// How often the server's VmRSS is sampled.
const RSS_EVERY: Duration = Duration::from_millis(100);
/// The server's cache keeps an answer this long (server/src/http/state.rs).
pub(crate) const SERVER_MAX_AGE: Duration = Duration::from_secs(2);

pub(crate) struct Server {
    child: Child,
    pub(crate) addr: String,
    pub(crate) log: PathBuf,
}

impl Server {
    pub(crate) fn start(bin: &Path, config: &Path, dir: &Path) -> Self {
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

    pub(crate) fn pid(&self) -> u32 {
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
pub(crate) struct RssSampler {
    samples: Arc<Mutex<Vec<(Instant, u64)>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RssSampler {
    pub(crate) fn start(pid: u32) -> Self {
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
    pub(crate) fn between(&self, from: Instant, to: Instant) -> (u64, u64) {
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
