//! Memory of the Chromium processes: the resident set of its process group
//! (all and renderers only), sampled from /proc in the background.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Resident bytes of every process in group `pgid`: (all, renderers only).
pub(crate) fn group_rss(pgid: i32, cmdlines: &mut HashMap<u32, bool>) -> (u64, u64) {
    let page = 4096u64;
    let (mut all, mut renderer) = (0, 0);
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return (0, 0);
    };
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // After the `(comm)`: state ppid pgrp …
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        let pgrp: i32 = rest
            .split_whitespace()
            .nth(2)
            .and_then(|v| v.parse().ok())
            .unwrap_or(-1);
        if pgrp != pgid {
            continue;
        }
        let Ok(statm) = std::fs::read_to_string(format!("/proc/{pid}/statm")) else {
            continue;
        };
        let rss = statm
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            * page;
        all += rss;
        let is_renderer = *cmdlines.entry(pid).or_insert_with(|| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains("--type=renderer"))
                .unwrap_or(false)
        });
        if is_renderer {
            renderer += rss;
        }
    }
    (all, renderer)
}

pub(crate) struct Sampler {
    stop: Arc<AtomicBool>,
    handle: std::thread::JoinHandle<(u64, u64)>,
}

impl Sampler {
    pub(crate) fn start(pgid: i32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut cmdlines = HashMap::new();
            let (mut pa, mut pr) = (0, 0);
            while !s.load(Ordering::Relaxed) {
                let (a, r) = group_rss(pgid, &mut cmdlines);
                pa = pa.max(a);
                pr = pr.max(r);
                std::thread::sleep(Duration::from_millis(50));
            }
            (pa, pr)
        });
        Self { stop, handle }
    }

    pub(crate) fn finish(self) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().unwrap()
    }
}
