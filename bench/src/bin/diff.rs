//! `etcd-lens diff OLD NEW` on two large snapshots of one real etcd, against
//! reading both with `etcdctl snapshot status` (there is no etcdctl diff:
//! the baseline is what etcdctl needs to read the same two files once).
//!
//! ```sh
//! cargo build --release -p etcd-lens-server
//! cd bench && cargo run --release --bin diff -- [--keys 1000000] [--value-bytes 1024] [--runs 5]
//! ```
//! The pair is made once (the second after 1 % of the keys are overwritten,
//! 0.5 % deleted and 0.5 % added) and cached beside the status benchmark's
//! snapshot. Warm runs, alternating, one discarded each; medians, the spread,
//! ratios and peak RSS (`wait4`).

use std::path::Path;
use std::time::Duration;

use etcd_lens_bench::{arg, bench_dir, make_snapshots, measure, measure_exiting, median};

fn main() {
    let keys = arg("--keys", 1_000_000);
    let value_bytes = usize::try_from(arg("--value-bytes", 1024)).unwrap();
    let runs = usize::try_from(arg("--runs", 5)).unwrap();
    let old = bench_dir().join(format!("diff-old-{keys}x{value_bytes}.db"));
    let new = bench_dir().join(format!("diff-new-{keys}x{value_bytes}.db"));
    if !old.exists() || !new.exists() {
        make_snapshots(&old, Some(&new), keys, value_bytes);
    }
    let lens = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/etcd-lens");
    assert!(lens.exists(), "build it first: cargo build --release -p etcd-lens-server");
    let (o, n) = (old.to_str().unwrap(), new.to_str().unwrap());
    let ours = [lens.to_str().unwrap(), "diff", o, n, "--summary", "--json"];
    let all_values = [lens.to_str().unwrap(), "diff", o, n, "--summary", "--json", "--compare-values"];
    let status = |f: &str| ["/usr/bin/etcdctl", "snapshot", "status", f, "-w", "json"].map(String::from);
    let theirs = |_: ()| {
        let (a, ra, _) = measure(&status(o).iter().map(String::as_str).collect::<Vec<_>>());
        let (b, rb, _) = measure(&status(n).iter().map(String::as_str).collect::<Vec<_>>());
        (a + b, ra.max(rb))
    };
    // Discarded warm-up runs.
    let (_, _, summary) = measure_exiting(&ours, &[0, 1]);
    measure_exiting(&all_values, &[0, 1]);
    theirs(());
    let (mut t_ours, mut t_all, mut t_theirs) = (Vec::new(), Vec::new(), Vec::new());
    let (mut rss_ours, mut rss_all, mut rss_theirs) = (0, 0, 0);
    for _ in 0..runs {
        let (t, r, _) = measure_exiting(&ours, &[0, 1]);
        t_ours.push(t);
        rss_ours = rss_ours.max(r);
        let (t, r, _) = measure_exiting(&all_values, &[0, 1]);
        t_all.push(t);
        rss_all = rss_all.max(r);
        let (t, r) = theirs(());
        t_theirs.push(t);
        rss_theirs = rss_theirs.max(r);
    }
    let size = std::fs::metadata(&old).unwrap().len() + std::fs::metadata(&new).unwrap().len();
    let spread = |v: &[Duration]| {
        let min = v.iter().min().unwrap();
        let max = v.iter().max().unwrap();
        format!("{:.2}–{:.2} s", min.as_secs_f64(), max.as_secs_f64())
    };
    let base = median(t_theirs.clone()).as_secs_f64();
    println!("two snapshots of {keys} keys × {value_bytes} B: {} MiB together; {runs} warm runs each", size >> 20);
    println!("| command | median | spread | ratio to etcdctl (both files) | peak RSS |");
    println!("|---|---|---|---|---|");
    for (name, t, rss) in [
        ("etcd-lens diff --summary", &t_ours, rss_ours),
        ("etcd-lens diff --summary --compare-values", &t_all, rss_all),
        ("etcdctl snapshot status, both files", &t_theirs, rss_theirs),
    ] {
        let m = median(t.clone()).as_secs_f64();
        println!(
            "| {name} | {m:.2} s | {} | {:.2} | {} MiB ({:.1} % of both files) |",
            spread(t),
            m / base,
            rss >> 10,
            (rss << 10) as f64 * 100.0 / size as f64
        );
    }
    let groups = summary.lines().count();
    eprintln!("diff --summary: {groups} groups; first: {}", summary.lines().next().unwrap_or_default());
}
