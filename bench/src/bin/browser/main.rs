//! The browser benchmark: the built app in headless Chromium against
//! `etcdctl snapshot status` on the same snapshot, in the same run.
//!
//! ```sh
//! trunk build --release                                   # dist/ (worker: profile `worker`)
//! cargo build --release --locked -p etcd-lens-server --bin etcd-lens
//! cd bench && cargo run --release --bin browser -- [--dist ../dist] [--server ../target/release/etcd-lens]
//! ```
//!
//! 1. Raw `FileReaderSync` throughput: a tiny page served by this program (its
//!    own loopback HTTP server; the app's CSP forbids ad-hoc workers) hands the
//!    file to a plain JS dedicated worker that reads it whole, sequentially, in
//!    `Blob.slice`s of 4 KiB (a bbolt page), 64 KiB, 1, 4 and 16 MiB (at most
//!    16384 reads a pass: small slices read the file's start). Warm: one discarded pass, then
//!    the median of 3 passes per size. Cold: the file's pages are dropped before
//!    every pass.
//! 2. The app: `etcd-lens serve` on a loopback port; for every run the page is
//!    loaded afresh, a `MutationObserver` records `performance.now()` when each
//!    marker first appears, time zero is taken in the page just before the
//!    file's path is sent to the file input. Markers: `[data-testid=status]`
//!    (overview: the `etcdutl snapshot status` fields), the first
//!    `[data-testid=key-row]` (the Browse tab is clicked from the observer as
//!    soon as the status is shown), `[data-testid=trailer-status]` reaching
//!    `verified`/`mismatch`/`absent` (SHA-256 done). Memory: the resident set
//!    of every Chromium process (all are in chromedriver's process group) is
//!    sampled from /proc every 50 ms; the figure is the peak minus the level
//!    just before the file is picked, for all processes together and for the
//!    renderer processes (where the page and its worker run).
//!    `etcdctl snapshot status -w json` runs alternately with the page: one
//!    discarded run each, then `--runs` timed runs; warm, then cold (pages
//!    dropped with `posix_fadvise(DONTNEED)` before every run of either).
//! 3. With `--big`: once, a snapshot larger than 4 GiB (made with a real etcd,
//!    `--big-keys` values of `--big-value-bytes`) is opened in the page and its
//!    status compared with etcdctl's; deleted afterwards unless `--keep-big`.
//! 4. With `--latency` (`--latency-runs N`, 3; `--latency-every-ms`, 250): input
//!    latency while the passes and the audit run, in a fresh page each run
//!    (`latency.rs` says what is sent and measured).
//!
//! The parts: `chromium.rs` the browser, `memory.rs` its resident set,
//! `reader.rs` step 1, `app.rs` step 2's runs and the server, `latency.rs`
//! step 4; `main` runs the steps and writes the report.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use etcd_lens_bench::{drop_cache, k8s_snapshot, measure, measure_exiting, median, snapshot};

mod app;
mod chromium;
mod latency;
mod memory;
mod reader;

use app::{AppRun, Server, app_run, compare_status, log_run, med_opt, ms};
use chromium::{Browser, CHROMIUM};
use reader::{MAX_CALLS, MIB, throughput};

fn opt(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn flag(name: &str) -> bool {
    std::env::args().any(|a| a == name)
}

fn num(name: &str, default: u64) -> u64 {
    opt(name).map_or(default, |v| v.parse().expect("a number"))
}

fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let keys = num("--keys", 1_000_000);
    let value_bytes = usize::try_from(num("--value-bytes", 1024)).unwrap();
    let runs = usize::try_from(num("--runs", 5)).unwrap();
    let limit = Duration::from_secs(num("--timeout-secs", 900));
    let dist = opt("--dist").map_or_else(|| repo_path("dist"), PathBuf::from);
    let server =
        opt("--server").map_or_else(|| repo_path("target/release/etcd-lens"), PathBuf::from);
    let etcdctl = opt("--etcdctl").unwrap_or_else(|| "/usr/bin/etcdctl".into());
    let slices: Vec<u64> = opt("--slices-kib")
        .unwrap_or_else(|| "4,64,1024,4096,16384".into())
        .split(',')
        .map(|s| s.trim().parse::<u64>().expect("KiB") << 10)
        .collect();
    let skip_throughput = flag("--skip-throughput");
    let skip_app = flag("--skip-app");
    let big = flag("--big");
    // Skip the app's discarded run (one run can take minutes on a busy machine).
    let no_discard = flag("--no-discard");
    let modes: Vec<bool> = opt("--modes")
        .unwrap_or_else(|| "warm,cold".into())
        .split(',')
        .map(|m| match m {
            "warm" => false,
            "cold" => true,
            _ => panic!("--modes takes warm and/or cold"),
        })
        .collect();

    assert!(
        dist.join("index.html").exists(),
        "no {}/index.html: trunk build --release",
        dist.display()
    );
    assert!(
        server.exists(),
        "no {}: cargo build --release -p etcd-lens-server --bin etcd-lens",
        server.display()
    );
    // `--audit`: wait for the page's secret audit too, and time the CLI's
    // `etcd-lens audit` on the same file in the same runs. `--k8s N`: a
    // snapshot of N Kubernetes objects (ConfigMaps of `--config-bytes`,
    // a tenth Secrets) instead of the plain keys.
    let audit = flag("--audit");
    let snap = match (opt("--snapshot"), opt("--k8s")) {
        (Some(p), _) => PathBuf::from(p),
        (None, Some(n)) => k8s_snapshot(
            n.parse().expect("a number"),
            usize::try_from(num("--config-bytes", 3072)).unwrap(),
        ),
        (None, None) => snapshot(keys, value_bytes),
    };
    let size = std::fs::metadata(&snap).unwrap().len();
    let etcdctl_version = Command::new(&etcdctl)
        .arg("version")
        .env("ETCDCTL_API", "3")
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .unwrap_or("")
                .to_string()
        })
        .unwrap_or_default();
    let chromium_version = Command::new(CHROMIUM)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    println!(
        "snapshot: {} ({size} bytes, {:.0} MiB)",
        snap.display(),
        size as f64 / MIB
    );
    println!("{chromium_version}; {etcdctl}: {etcdctl_version}");
    println!("app: {} served by {}", dist.display(), server.display());

    let browser = Browser::start().await;
    let mut report = String::new();

    if !skip_throughput {
        eprintln!("FileReaderSync throughput, whole file, sequential:");
        let t = throughput(
            &browser,
            &snap,
            &slices,
            usize::try_from(num("--passes", 3)).unwrap(),
        )
        .await;
        report += &format!(
            "\n### Raw FileReaderSync throughput (dedicated worker, sequential; median of {})\n\n",
            num("--passes", 3)
        );
        report += "| slice | bytes per pass | warm | cold | per read, warm | whole file at this rate, warm |\n|---|---|---|---|---|---|\n";
        for r in &t {
            let read = size.min(r.slice * MAX_CALLS);
            report += &format!(
                "| {} KiB | {} MiB | {:.0} MiB/s | {:.0} MiB/s | {:.1} µs | {:.2} s |\n",
                r.slice >> 10,
                read >> 20,
                r.warm,
                r.cold,
                r.slice as f64 / MIB / r.warm * 1e6,
                size as f64 / MIB / r.warm
            );
        }
        print!("{report}");
    }

    let data_dir =
        std::env::temp_dir().join(format!("etcd-lens-bench-serve-{}", std::process::id()));
    std::fs::create_dir_all(&data_dir).unwrap();
    let (srv, port) = Server::start(&server, &dist, &data_dir);
    let url = format!("http://127.0.0.1:{port}/");

    if !skip_app {
        let s = snap.to_str().unwrap();
        let theirs = [etcdctl.as_str(), "snapshot", "status", s, "-w", "json"];
        let mut section = format!(
            "\n### The app vs `etcdctl snapshot status` (median of {runs} run(s){}; memory: worst run)\n\n\
             | mode | overview, first numbers | first ÷ etcdctl | overview, final status (spread) | final ÷ etcdctl | first key list | SHA-256 verified | secret audit done | `etcd-lens audit` (CLI; peak RSS) | page audit ÷ CLI | etcdctl | peak memory, Chromium (renderers) | the worker's wasm memory | etcdctl peak RSS |\n\
             |---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
            if no_discard {
                ", no discarded app run"
            } else {
                ", after one discarded run"
            }
        );
        for &cold in &modes {
            let mode = if cold { "cold" } else { "warm" };
            eprintln!("{mode} runs (first of each discarded):");
            if cold {
                drop_cache(&snap);
            }
            // The discarded etcdctl run also brings the file into the page cache (warm).
            let (t, _, out) = measure(&theirs);
            eprintln!("  discarded etcdctl {:.2} s", t.as_secs_f64());
            if !no_discard {
                if cold {
                    drop_cache(&snap);
                }
                let r = app_run(&browser, &url, &snap, cold, limit, audit).await;
                log_run("discarded", &r);
            }
            let (mut apps, mut ctl, mut ctl_rss) = (Vec::new(), Vec::new(), 0);
            let (mut cli_audit, mut cli_audit_rss) = (Vec::new(), 0);
            let audit_cmd = [server.to_str().unwrap(), "audit", s, "--format", "json"];
            for i in 0..runs {
                let r = app_run(&browser, &url, &snap, cold, limit, audit).await;
                log_run(&format!("run {}", i + 1), &r);
                let (agree, line) = compare_status(&r.status_fields, &out);
                eprintln!("  status: {line}");
                if !agree {
                    println!("WARNING: the page's status differs from etcdctl's: {line}");
                }
                apps.push(r);
                if cold {
                    drop_cache(&snap);
                }
                let (t, rss, _) = measure(&theirs);
                eprintln!("  etcdctl {:.2} s, {} MiB", t.as_secs_f64(), rss >> 10);
                ctl.push(t);
                ctl_rss = ctl_rss.max(rss);
                if audit {
                    if cold {
                        drop_cache(&snap);
                    }
                    // Exit 0 or, with findings at the default threshold, 1.
                    let (t, rss, _) = measure_exiting(&audit_cmd, &[0, 1]);
                    eprintln!(
                        "  etcd-lens audit {:.2} s, {} MiB",
                        t.as_secs_f64(),
                        rss >> 10
                    );
                    cli_audit.push(t);
                    cli_audit_rss = cli_audit_rss.max(rss);
                }
            }
            let ctl_med = median(ctl).as_secs_f64();
            let st = med_opt(&apps, |r| r.status);
            let first = med_opt(&apps, |r| r.first);
            let spread = |f: &dyn Fn(&AppRun) -> Option<f64>| {
                let xs: Vec<f64> = apps.iter().filter_map(f).collect();
                let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = xs.iter().copied().fold(0.0, f64::max);
                if xs.is_empty() {
                    String::new()
                } else {
                    format!(" ({:.2}–{:.2})", lo / 1000.0, hi / 1000.0)
                }
            };
            let page_audit = med_opt(&apps, |r| r.audit);
            let cli = (!cli_audit.is_empty()).then(|| median(cli_audit).as_secs_f64());
            let mem_all = apps.iter().map(|r| r.mem_all).max().unwrap_or(0);
            let mem_r = apps.iter().map(|r| r.mem_renderer).max().unwrap_or(0);
            let wasm = apps.iter().map(|r| r.worker_wasm).max().unwrap_or(0);
            section += &format!(
                "| {mode} | {} | {} | {}{} | {} | {} | {} | {}{} | {} | {} | {:.2} s | +{} MiB (+{} MiB) | {} MiB | {} MiB |\n",
                ms(first),
                first.map_or("—".into(), |s| format!("{:.2}", s / 1000.0 / ctl_med)),
                ms(st),
                spread(&|r| r.status),
                st.map_or("—".into(), |s| format!("{:.2}", s / 1000.0 / ctl_med)),
                ms(med_opt(&apps, |r| r.keys)),
                ms(med_opt(&apps, |r| r.sha)),
                ms(page_audit),
                spread(&|r| r.audit),
                cli.map_or("—".into(), |c| format!(
                    "{c:.2} s; {} MiB",
                    cli_audit_rss >> 10
                )),
                match (page_audit, cli) {
                    (Some(p), Some(c)) => format!("{:.2}", p / 1000.0 / c),
                    _ => "—".into(),
                },
                ctl_med,
                mem_all >> 20,
                mem_r >> 20,
                wasm >> 20,
                ctl_rss >> 10,
            );
        }
        print!("{section}");
        report += &section;
    }

    if flag("--latency") {
        let every = Duration::from_millis(num("--latency-every-ms", 250));
        let runs = usize::try_from(num("--latency-runs", 3)).unwrap();
        let mut section = format!(
            "\n### Input latency while the passes run ({runs} fresh page(s), an input every {} ms; goal: under 100 ms)\n\n",
            every.as_millis()
        );
        for i in 0..runs {
            eprintln!("latency run {}:", i + 1);
            let l = latency::latency_run(&browser, &url, &snap, every, limit).await;
            section += &format!(
                "Run {}: {} interactions sent{}.\n\n{}\n",
                i + 1,
                l.sent,
                if l.done {
                    ""
                } else {
                    " (TIMED OUT before the passes and the audit ended)"
                },
                latency::table(&l)
            );
        }
        print!("{section}");
        report += &section;
    }

    if big {
        let big_keys = num("--big-keys", 4400);
        let big_value = usize::try_from(num("--big-value-bytes", 1 << 20)).unwrap();
        let t = Instant::now();
        let bsnap = snapshot(big_keys, big_value);
        let bsize = std::fs::metadata(&bsnap).unwrap().len();
        eprintln!(
            "big snapshot {} ({bsize} bytes) ready after {:?}",
            bsnap.display(),
            t.elapsed()
        );
        let s = bsnap.to_str().unwrap();
        let (t_ctl, rss, out) = measure(&[etcdctl.as_str(), "snapshot", "status", s, "-w", "json"]);
        let r = app_run(
            &browser,
            &url,
            &bsnap,
            false,
            Duration::from_secs(3600),
            audit,
        )
        .await;
        log_run("big", &r);
        let (agree, line) = compare_status(&r.status_fields, &out);
        let section = format!(
            "\n### Larger than a wasm32 address space (one run, file in the page cache)\n\n\
             {} keys × {} bytes: {bsize} bytes ({:.2} GiB). The page: overview first numbers {}, final {}, first key list {}, SHA-256 {} ({}), \
             peak memory +{} MiB (renderers +{} MiB){}. etcdctl {:.2} s, {} MiB RSS. Status {}: {line}.\n",
            big_keys,
            big_value,
            bsize as f64 / MIB / 1024.0,
            ms(r.first),
            ms(r.status),
            ms(r.keys),
            ms(r.sha),
            r.trailer,
            r.mem_all >> 20,
            r.mem_renderer >> 20,
            r.error
                .as_ref()
                .map(|e| format!(", error: {e}"))
                .unwrap_or_default(),
            t_ctl.as_secs_f64(),
            rss >> 10,
            if agree {
                "agrees with etcdctl"
            } else {
                "DIFFERS from etcdctl"
            },
        );
        print!("{section}");
        report += &section;
        if !flag("--keep-big") {
            std::fs::remove_file(&bsnap).unwrap();
            eprintln!("removed {}", bsnap.display());
        }
    }

    drop(srv);
    drop(browser);
    let _ = std::fs::remove_dir_all(&data_dir);
    println!("\n## Summary\n{report}");
}
