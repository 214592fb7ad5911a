//! `etcd-lens status` vs `etcdctl snapshot status` on a large real snapshot.
//!
//! ```sh
//! cargo build --release -p etcd-lens-server          # the binary under test
//! cd bench && cargo run --release -- [--keys 1000000] [--value-bytes 1024]
//! ```
//! The snapshot is made once with a real etcd and cached (see the library).
//! Then both tools run alternately, one discarded warm-up each and
//! five timed runs: warm (file in the page cache) and cold (the file's cached
//! pages dropped with `posix_fadvise(DONTNEED)` before every run). Prints
//! medians, the ratio and both peak RSS figures (from `wait4`).

use std::path::Path;

use etcd_lens_bench::{arg, drop_cache, measure, median, snapshot};

fn main() {
    let keys = arg("--keys", 1_000_000);
    let value_bytes = usize::try_from(arg("--value-bytes", 1024)).unwrap();
    let runs = usize::try_from(arg("--runs", 5)).unwrap();
    let snap = snapshot(keys, value_bytes);
    let size = std::fs::metadata(&snap).unwrap().len();
    let lens = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/etcd-lens");
    assert!(
        lens.exists(),
        "build it first: cargo build --release -p etcd-lens-server"
    );
    let s = snap.to_str().unwrap();
    let ours_cmd = [lens.to_str().unwrap(), "status", s, "--json"];
    let theirs_cmd = ["/usr/bin/etcdctl", "snapshot", "status", s, "-w", "json"];
    println!(
        "snapshot: {} ({} MiB, {keys} keys of {value_bytes} bytes)",
        snap.display(),
        size >> 20
    );

    for cold in [false, true] {
        // One discarded run each.
        let (_, _, a) = measure(&ours_cmd);
        let (_, _, b) = measure(&theirs_cmd);
        assert_eq!(a, b, "etcd-lens and etcdctl disagree");
        let (mut ot, mut tt, mut orss, mut trss) = (Vec::new(), Vec::new(), 0, 0);
        for _ in 0..runs {
            if cold {
                drop_cache(&snap);
            }
            let (t, rss, _) = measure(&ours_cmd);
            ot.push(t);
            orss = orss.max(rss);
            if cold {
                drop_cache(&snap);
            }
            let (t, rss, _) = measure(&theirs_cmd);
            tt.push(t);
            trss = trss.max(rss);
        }
        let (om, tm) = (median(ot), median(tt));
        println!(
            "{}: etcd-lens {:.3}s, etcdctl {:.3}s, ratio {:.2}; peak RSS etcd-lens {} MiB ({:.1}% of the file), etcdctl {} MiB",
            if cold { "cold" } else { "warm" },
            om.as_secs_f64(),
            tm.as_secs_f64(),
            om.as_secs_f64() / tm.as_secs_f64(),
            orss >> 10,
            (orss * 1024) as f64 * 100.0 / size as f64,
            trss >> 10
        );
    }
}
