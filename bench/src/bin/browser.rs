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

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use etcd_lens_bench::{drop_cache, free_port, measure, median, snapshot};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const MIB: f64 = 1_048_576.0;

// ---------------------------------------------------------------- arguments

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

fn wait_for_port(what: &str, port: u16, limit: Duration) {
    let t0 = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(t0.elapsed() < limit, "{what} did not listen on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

// ---------------------------------------------------------------- browser

struct Browser {
    client: Client,
    driver: Child,
    profile: PathBuf,
}

impl Browser {
    async fn start() -> Self {
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group: the memory sampler finds every browser
            // process by it, and the end kills exactly this group.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {CHROMEDRIVER}: {e}"));
        wait_for_port("chromedriver", port, Duration::from_secs(20));
        let profile = std::env::temp_dir().join(format!("etcd-lens-bench-profile-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&profile);
        std::fs::create_dir_all(&profile).unwrap();
        let caps = json!({
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--no-first-run", "--disable-quic", "--window-size=1280,900",
                    // A reloaded page must not stay alive (with its worker's memory) in the bfcache.
                    "--disable-features=BackForwardCache",
                    format!("--user-data-dir={}", profile.display()),
                ]
            }
        });
        let Value::Object(caps) = caps else {
            unreachable!()
        };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a chromedriver session");
        Self {
            client,
            driver,
            profile,
        }
    }

    fn pgid(&self) -> i32 {
        i32::try_from(self.driver.id()).unwrap()
    }

    async fn js(&self, script: &str) -> Value {
        self.client
            .execute(script, Vec::new())
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Poll `script` (which returns a boolean) until true.
    async fn wait_js(&self, what: &str, script: &str, limit: Duration) {
        let t0 = Instant::now();
        while self.js(script).await != Value::Bool(true) {
            assert!(t0.elapsed() < limit, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn pick(&self, css: &str, file: &Path) {
        let input = self
            .client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"));
        input
            .send_keys(file.to_str().expect("utf-8 path"))
            .await
            .expect("choosing the file");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // chromedriver and the browsers it started: exactly our process group.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.driver.id())])
            .status();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

// ---------------------------------------------------------------- memory

/// Resident bytes of every process in group `pgid`: (all, renderers only).
fn group_rss(pgid: i32, cmdlines: &mut HashMap<u32, bool>) -> (u64, u64) {
    let page = 4096u64;
    let (mut all, mut renderer) = (0, 0);
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return (0, 0);
    };
    for entry in dir.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // After the `(comm)`: state ppid pgrp …
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        let pgrp: i32 = rest.split_whitespace().nth(2).and_then(|v| v.parse().ok()).unwrap_or(-1);
        if pgrp != pgid {
            continue;
        }
        let Ok(statm) = std::fs::read_to_string(format!("/proc/{pid}/statm")) else {
            continue;
        };
        let rss = statm.split_whitespace().nth(1).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0) * page;
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

struct Sampler {
    stop: Arc<AtomicBool>,
    handle: std::thread::JoinHandle<(u64, u64)>,
}

impl Sampler {
    fn start(pgid: i32) -> Self {
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

    fn finish(self) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().unwrap()
    }
}

// ---------------------------------------------------------------- FileReaderSync

const READER_PAGE: &str = r#"<!doctype html><meta charset="utf-8"><title>FileReaderSync throughput</title>
<input type="file" id="f">
<script>
const w = new Worker("reader.js");
w.onmessage = (e) => { window.__result = e.data; };
window.readPass = (slice, limit) => {
  window.__result = null;
  w.postMessage({ file: document.getElementById("f").files[0], slice, limit });
};
</script>
"#;

const READER_WORKER: &str = r#"// Read the whole file in order, one Blob.slice at a time, as the app's worker does.
onmessage = (e) => {
  const { file, slice, limit } = e.data;
  const stop = Math.min(file.size, limit);
  const reader = new FileReaderSync();
  const t0 = performance.now();
  let off = 0, calls = 0, touch = 0;
  try {
    while (off < stop) {
      const end = Math.min(off + slice, stop);
      const ab = reader.readAsArrayBuffer(file.slice(off, end));
      if (ab.byteLength !== end - off) throw new Error(`short read at ${off}: ${ab.byteLength}`);
      touch ^= new Uint8Array(ab)[ab.byteLength - 1];
      off = end;
      calls++;
    }
    postMessage({ bytes: off, ms: performance.now() - t0, calls, touch });
  } catch (err) {
    postMessage({ error: String(err), bytes: off });
  }
};
"#;

/// Serve the two files above on a loopback port, forever (a thread).
fn serve_reader_page() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let line = String::from_utf8_lossy(&req);
            let path = line.split_whitespace().nth(1).unwrap_or("/");
            let (status, ctype, body) = match path {
                "/" => ("200 OK", "text/html", READER_PAGE),
                "/reader.js" => ("200 OK", "text/javascript", READER_WORKER),
                _ => ("404 Not Found", "text/plain", "not found"),
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: {ctype}; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

/// At most this many reads per pass: small slices read only the file's start.
const MAX_CALLS: u64 = 16384;

/// One pass over the file (or its first `MAX_CALLS` slices) at `slice` bytes: MiB/s.
async fn read_pass(b: &Browser, slice: u64) -> f64 {
    let limit = slice * MAX_CALLS;
    b.js(&format!("window.readPass({slice}, {limit}); return true;")).await;
    let t0 = Instant::now();
    loop {
        let r = b.js("return window.__result;").await;
        if let Some(err) = r.get("error") {
            panic!("FileReaderSync pass at {slice} bytes failed: {err}");
        }
        if let (Some(bytes), Some(ms)) = (r["bytes"].as_f64(), r["ms"].as_f64()) {
            return bytes / MIB / (ms / 1000.0);
        }
        assert!(t0.elapsed() < Duration::from_secs(1800), "FileReaderSync pass timed out");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

struct Throughput {
    slice: u64,
    warm: f64,
    cold: f64,
}

async fn throughput(b: &Browser, snap: &Path, slices: &[u64], passes: usize) -> Vec<Throughput> {
    let port = serve_reader_page();
    b.client
        .goto(&format!("http://127.0.0.1:{port}/"))
        .await
        .expect("the reader page");
    b.pick("#f", snap).await;
    b.wait_js("the file", "return document.getElementById('f').files.length === 1;", Duration::from_secs(10))
        .await;
    // Discarded: brings the file into the page cache and warms the worker up.
    read_pass(b, 4 << 20).await;
    let mut warm: HashMap<u64, Vec<f64>> = HashMap::new();
    let mut cold: HashMap<u64, Vec<f64>> = HashMap::new();
    for _ in 0..passes {
        for &s in slices {
            let v = read_pass(b, s).await;
            eprintln!("  FileReaderSync warm {:>6} KiB: {v:.0} MiB/s", s >> 10);
            warm.entry(s).or_default().push(v);
        }
    }
    for _ in 0..passes {
        for &s in slices {
            drop_cache(snap);
            let v = read_pass(b, s).await;
            eprintln!("  FileReaderSync cold {:>6} KiB: {v:.0} MiB/s", s >> 10);
            cold.entry(s).or_default().push(v);
        }
    }
    let med = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    slices
        .iter()
        .map(|&s| Throughput {
            slice: s,
            warm: med(warm.remove(&s).unwrap()),
            cold: med(cold.remove(&s).unwrap()),
        })
        .collect()
}

// ---------------------------------------------------------------- the app

/// Installed in the page just before the file is picked: time zero, and the
/// moment each marker first appears.
const OBSERVE: &str = r#"
const m = { marks: {}, texts: {}, clicked: false };
window.__m = m;
const q = (s) => document.querySelector(s);
const txt = (id) => { const e = q(`[data-testid="${id}"]`); return e ? e.textContent.trim() : null; };
const check = () => {
  const t = performance.now();
  if (m.marks.status === undefined) {
    if (q('[data-testid="status"]')) {
      m.marks.status = t;
      m.texts.status = { hash: txt("status-hash"), revision: txt("status-revision"),
        totalKey: txt("status-total-key"), totalSize: txt("status-total-size") };
    } else if (q('[data-testid="status-error"]')) {
      m.marks.status = t;
      m.texts.statusError = txt("status-error");
    }
  }
  if (m.marks.header === undefined && q('[data-testid="page-size"]')) m.marks.header = t;
  if (m.marks.tabs === undefined && q('[data-testid="tab-browse"]')) m.marks.tabs = t;
  // The key list renders on the Browse tab only: open it once the status was seen.
  if (m.marks.status !== undefined && !m.clicked) {
    const tab = q('[data-testid="tab-browse"]');
    if (tab) { m.clicked = true; m.marks.browseClick = t; tab.click(); }
  }
  if (m.marks.keys === undefined && q('[data-testid="key-row"]')) m.marks.keys = t;
  const tr = q('[data-testid="trailer-status"]');
  if (tr) {
    const st = tr.getAttribute("data-state");
    if (st === "hashing" && m.marks.hashStart === undefined) m.marks.hashStart = t;
    if (["verified", "mismatch", "absent"].includes(st) && m.marks.trailer === undefined) {
      m.marks.trailer = t;
      m.texts.trailer = st;
      m.texts.trailerText = tr.textContent.trim();
    }
  }
  if (m.marks.error === undefined && q('[data-testid="error"]')) { m.marks.error = t; m.texts.error = txt("error"); }
};
new MutationObserver(check).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
q('[data-testid="file-input"]').addEventListener("change", () => { m.marks.change = performance.now(); }, { capture: true });
m.t0 = performance.now();
return true;
"#;

#[derive(Default, Clone)]
struct AppRun {
    /// Milliseconds from time zero.
    status: Option<f64>,
    keys: Option<f64>,
    sha: Option<f64>,
    change: Option<f64>,
    header: Option<f64>,
    hash_start: Option<f64>,
    trailer: String,
    error: Option<String>,
    status_fields: Value,
    /// Peak minus baseline, bytes: all Chromium processes, renderers.
    mem_all: u64,
    mem_renderer: u64,
    /// Wall time of the whole run (page load to done).
    wall: Duration,
}

async fn app_run(b: &Browser, url: &str, snap: &Path, cold: bool, limit: Duration) -> AppRun {
    let wall = Instant::now();
    b.client.goto(url).await.expect("the app");
    b.wait_js(
        "the worker",
        r#"const e = document.querySelector('[data-testid="worker-ready"]'); return !!e && e.getAttribute("data-ready") === "true";"#,
        Duration::from_secs(60),
    )
    .await;
    if cold {
        drop_cache(snap);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut cmdlines = HashMap::new();
    let (base_all, base_r) = group_rss(b.pgid(), &mut cmdlines);
    let sampler = Sampler::start(b.pgid());
    b.js(OBSERVE).await;
    b.pick(r#"[data-testid="file-input"]"#, snap).await;
    let t0 = Instant::now();
    let mut said = Instant::now();
    let m = loop {
        let m = b.js("return window.__m;").await;
        let marks = &m["marks"];
        let done = marks.get("error").is_some()
            || (marks.get("trailer").is_some() && marks.get("keys").is_some());
        if done || t0.elapsed() > limit {
            if !done {
                eprintln!("  timed out after {limit:?}");
            }
            break m;
        }
        if said.elapsed() > Duration::from_secs(30) {
            said = Instant::now();
            let seen: Vec<&String> = marks.as_object().map(|o| o.keys().collect()).unwrap_or_default();
            let tr = b
                .js(r#"const e = document.querySelector('[data-testid="trailer-status"]'); return e ? e.textContent : "";"#)
                .await;
            eprintln!("  … {:.0} s: seen {seen:?}; trailer {tr}", t0.elapsed().as_secs_f64());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let (peak_all, peak_r) = sampler.finish();
    let zero = m["t0"].as_f64().unwrap_or(0.0);
    let at = |k: &str| m["marks"][k].as_f64().map(|t| t - zero);
    AppRun {
        status: at("status"),
        keys: at("keys"),
        sha: at("trailer"),
        change: at("change"),
        header: at("header"),
        hash_start: at("hashStart"),
        trailer: m["texts"]["trailer"].as_str().unwrap_or("—").to_string(),
        error: m["texts"]["error"]
            .as_str()
            .or(m["texts"]["statusError"].as_str())
            .map(str::to_string),
        status_fields: m["texts"]["status"].clone(),
        mem_all: peak_all.saturating_sub(base_all),
        mem_renderer: peak_r.saturating_sub(base_r),
        wall: wall.elapsed(),
    }
}

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), |v| format!("{:.2} s", v / 1000.0))
}

fn log_run(label: &str, r: &AppRun) {
    eprintln!(
        "  {label} ({:.1} s with page load): change {} header {} status {} hash-start {} SHA-256 {} ({}) keys {}; mem +{} MiB (renderers +{} MiB){}",
        r.wall.as_secs_f64(),
        ms(r.change),
        ms(r.header),
        ms(r.status),
        ms(r.hash_start),
        ms(r.sha),
        r.trailer,
        ms(r.keys),
        r.mem_all >> 20,
        r.mem_renderer >> 20,
        r.error.as_ref().map(|e| format!("; ERROR {e}")).unwrap_or_default()
    );
}

/// The leading integer of a page text such as "1519157248 (1.41 GiB)".
fn lead_num(v: &Value) -> Option<u64> {
    v.as_str()?.split_whitespace().next()?.parse().ok()
}

/// Compare the page's status with etcdctl's JSON; a line saying which fields agree.
/// The page shows etcdutl 3.6's numbers, whose `totalKey` counts live user keys,
/// where etcdctl 3.4 counts every entry of every bucket: that field is shown,
/// not compared.
fn compare_status(page: &Value, etcdctl_json: &str) -> (bool, String) {
    let e: Value = serde_json::from_str(etcdctl_json).unwrap_or(Value::Null);
    let mut all = true;
    let mut out = Vec::new();
    out.push(format!(
        "totalKey {} (live keys, as etcdutl 3.6; etcdctl 3.4 counts all bucket entries: {})",
        lead_num(&page["totalKey"]).map_or("—".into(), |v| v.to_string()),
        e["totalKey"].as_u64().map_or("—".into(), |v| v.to_string())
    ));
    for (p, k) in [("revision", "revision"), ("hash", "hash"), ("totalSize", "totalSize")] {
        let ours = lead_num(&page[p]);
        let theirs = e[k].as_u64();
        let same = ours.is_some() && ours == theirs;
        all &= same;
        out.push(format!(
            "{k} {}{}",
            ours.map_or("—".into(), |v| v.to_string()),
            if same { " =".to_string() } else { format!(" ≠ etcdctl {}", theirs.map_or("—".into(), |v| v.to_string())) }
        ));
    }
    (all, out.join(", "))
}

fn med_opt(v: &[AppRun], f: impl Fn(&AppRun) -> Option<f64>) -> Option<f64> {
    let mut xs: Vec<f64> = v.iter().filter_map(&f).collect();
    if xs.len() < v.len() || xs.is_empty() {
        return None;
    }
    xs.sort_by(f64::total_cmp);
    Some(xs[xs.len() / 2])
}

struct Server(Child);

impl Server {
    fn start(bin: &Path, dist: &Path, data: &Path) -> (Self, u16) {
        let port = free_port();
        let child = Command::new(bin)
            .arg("serve")
            .arg("--dist")
            .arg(dist)
            .args(["--addr", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
        wait_for_port("etcd-lens serve", port, Duration::from_secs(20));
        (Self(child), port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let keys = num("--keys", 1_000_000);
    let value_bytes = usize::try_from(num("--value-bytes", 1024)).unwrap();
    let runs = usize::try_from(num("--runs", 5)).unwrap();
    let limit = Duration::from_secs(num("--timeout-secs", 900));
    let dist = opt("--dist").map_or_else(|| repo_path("dist"), PathBuf::from);
    let server = opt("--server").map_or_else(|| repo_path("target/release/etcd-lens"), PathBuf::from);
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

    assert!(dist.join("index.html").exists(), "no {}/index.html: trunk build --release", dist.display());
    assert!(server.exists(), "no {}: cargo build --release -p etcd-lens-server --bin etcd-lens", server.display());
    let snap = opt("--snapshot").map_or_else(|| snapshot(keys, value_bytes), PathBuf::from);
    let size = std::fs::metadata(&snap).unwrap().len();
    let etcdctl_version = Command::new(&etcdctl)
        .arg("version")
        .env("ETCDCTL_API", "3")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).lines().next().unwrap_or("").to_string())
        .unwrap_or_default();
    let chromium_version = Command::new(CHROMIUM)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    println!("snapshot: {} ({size} bytes, {:.0} MiB)", snap.display(), size as f64 / MIB);
    println!("{chromium_version}; {etcdctl}: {etcdctl_version}");
    println!("app: {} served by {}", dist.display(), server.display());

    let browser = Browser::start().await;
    let mut report = String::new();

    if !skip_throughput {
        eprintln!("FileReaderSync throughput, whole file, sequential:");
        let t = throughput(&browser, &snap, &slices, usize::try_from(num("--passes", 3)).unwrap()).await;
        report += &format!("\n### Raw FileReaderSync throughput (dedicated worker, sequential; median of {})\n\n", num("--passes", 3));
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

    let data_dir = std::env::temp_dir().join(format!("etcd-lens-bench-serve-{}", std::process::id()));
    std::fs::create_dir_all(&data_dir).unwrap();
    let (srv, port) = Server::start(&server, &dist, &data_dir);
    let url = format!("http://127.0.0.1:{port}/");

    if !skip_app {
        let s = snap.to_str().unwrap();
        let theirs = [etcdctl.as_str(), "snapshot", "status", s, "-w", "json"];
        let mut section = format!(
            "\n### The app vs `etcdctl snapshot status` (median of {runs} run(s){}; memory: worst run)\n\n\
             | mode | overview (status) | first key list | SHA-256 verified | etcdctl | overview ÷ etcdctl | peak memory, Chromium (renderers) | etcdctl peak RSS |\n\
             |---|---|---|---|---|---|---|---|\n",
            if no_discard { ", no discarded app run" } else { ", after one discarded run" }
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
                let r = app_run(&browser, &url, &snap, cold, limit).await;
                log_run("discarded", &r);
            }
            let (mut apps, mut ctl, mut ctl_rss) = (Vec::new(), Vec::new(), 0);
            for i in 0..runs {
                let r = app_run(&browser, &url, &snap, cold, limit).await;
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
            }
            let ctl_med = median(ctl).as_secs_f64();
            let st = med_opt(&apps, |r| r.status);
            let mem_all = apps.iter().map(|r| r.mem_all).max().unwrap_or(0);
            let mem_r = apps.iter().map(|r| r.mem_renderer).max().unwrap_or(0);
            section += &format!(
                "| {mode} | {} | {} | {} | {:.2} s | {} | +{} MiB (+{} MiB) | {} MiB |\n",
                ms(st),
                ms(med_opt(&apps, |r| r.keys)),
                ms(med_opt(&apps, |r| r.sha)),
                ctl_med,
                st.map_or("—".into(), |s| format!("{:.2}", s / 1000.0 / ctl_med)),
                mem_all >> 20,
                mem_r >> 20,
                ctl_rss >> 10,
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
        eprintln!("big snapshot {} ({bsize} bytes) ready after {:?}", bsnap.display(), t.elapsed());
        let s = bsnap.to_str().unwrap();
        let (t_ctl, rss, out) = measure(&[etcdctl.as_str(), "snapshot", "status", s, "-w", "json"]);
        let r = app_run(&browser, &url, &bsnap, false, Duration::from_secs(3600)).await;
        log_run("big", &r);
        let (agree, line) = compare_status(&r.status_fields, &out);
        let section = format!(
            "\n### Larger than a wasm32 address space (one run, file in the page cache)\n\n\
             {} keys × {} bytes: {bsize} bytes ({:.2} GiB). The page: overview {}, first key list {}, SHA-256 {} ({}), \
             peak memory +{} MiB (renderers +{} MiB){}. etcdctl {:.2} s, {} MiB RSS. Status {}: {line}.\n",
            big_keys,
            big_value,
            bsize as f64 / MIB / 1024.0,
            ms(r.status),
            ms(r.keys),
            ms(r.sha),
            r.trailer,
            r.mem_all >> 20,
            r.mem_renderer >> 20,
            r.error.as_ref().map(|e| format!(", error: {e}")).unwrap_or_default(),
            t_ctl.as_secs_f64(),
            rss >> 10,
            if agree { "agrees with etcdctl" } else { "DIFFERS from etcdctl" },
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
