//! Step 2: the app, served by `etcd-lens serve`: one run in a fresh page with
//! its markers' times and memory, its status against etcdctl's, the log line.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use etcd_lens_bench::{drop_cache, free_port};
use serde_json::Value;

use crate::chromium::{Browser, wait_for_port};
use crate::memory::{Sampler, group_rss};

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
  if (m.marks.first === undefined && (q('[data-testid="status-first"]') || q('[data-testid="status"]'))) m.marks.first = t;
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
  // The secret audit runs by itself once the passes are done: the Secrets
  // chip says "checking… N%" while it runs, then its answer.
  const chip = txt("chip-secrets-value");
  if (chip !== null && m.marks.status !== undefined) {
    if (chip.startsWith("checking") && chip.includes("%") && m.marks.auditStart === undefined) m.marks.auditStart = t;
    if (!chip.startsWith("checking") && m.marks.audit === undefined) { m.marks.audit = t; m.texts.audit = chip; }
  }
};
new MutationObserver(check).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
q('[data-testid="file-input"]').addEventListener("change", () => { m.marks.change = performance.now(); }, { capture: true });
m.t0 = performance.now();
return true;
"#;

#[derive(Default, Clone)]
pub(crate) struct AppRun {
    /// Milliseconds from time zero: the overview's first numbers (revision,
    /// size, version: before the walk), then the final status.
    pub(crate) first: Option<f64>,
    pub(crate) status: Option<f64>,
    pub(crate) keys: Option<f64>,
    pub(crate) sha: Option<f64>,
    /// The secret audit's answer on the Secrets chip (when waited for).
    pub(crate) audit: Option<f64>,
    audit_start: Option<f64>,
    pub(crate) audit_text: String,
    change: Option<f64>,
    header: Option<f64>,
    hash_start: Option<f64>,
    pub(crate) trailer: String,
    pub(crate) error: Option<String>,
    pub(crate) status_fields: Value,
    /// Peak minus baseline, bytes: all Chromium processes, renderers.
    pub(crate) mem_all: u64,
    pub(crate) mem_renderer: u64,
    /// The worker's wasm linear memory once its passes are done (it never
    /// shrinks, so this is its peak): the share of the renderers' growth
    /// that is the engine's own heap (key index, caches) in the main worker.
    pub(crate) worker_wasm: u64,
    /// Wall time of the whole run (page load to done).
    wall: Duration,
}

pub(crate) async fn app_run(
    b: &Browser,
    url: &str,
    snap: &Path,
    cold: bool,
    limit: Duration,
    wait_audit: bool,
) -> AppRun {
    let wall = Instant::now();
    b.load_app(url).await;
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
            || (marks.get("trailer").is_some()
                && marks.get("keys").is_some()
                && (!wait_audit || marks.get("audit").is_some()));
        if done || t0.elapsed() > limit {
            if !done {
                eprintln!("  timed out after {limit:?}");
            }
            break m;
        }
        if said.elapsed() > Duration::from_secs(30) {
            said = Instant::now();
            let seen: Vec<&String> = marks
                .as_object()
                .map(|o| o.keys().collect())
                .unwrap_or_default();
            let tr = b
                .js(r#"const e = document.querySelector('[data-testid="trailer-status"]'); return e ? e.textContent : "";"#)
                .await;
            eprintln!(
                "  … {:.0} s: seen {seen:?}; trailer {tr}",
                t0.elapsed().as_secs_f64()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // The worker says its memory when its last pass is done (after the index
    // and space passes, which may end after the markers above).
    let wasm_at = Instant::now();
    let worker_wasm = loop {
        let v = b
            .js(r#"const e = document.querySelector('[data-testid="worker-memory"]'); return e ? Number(e.getAttribute("data-bytes")) : 0;"#)
            .await
            .as_u64()
            .unwrap_or(0);
        if v > 0 || wasm_at.elapsed() > Duration::from_secs(120) {
            break v;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let (peak_all, peak_r) = sampler.finish();
    let zero = m["t0"].as_f64().unwrap_or(0.0);
    let at = |k: &str| m["marks"][k].as_f64().map(|t| t - zero);
    AppRun {
        first: at("first"),
        status: at("status"),
        keys: at("keys"),
        sha: at("trailer"),
        audit: at("audit"),
        audit_start: at("auditStart"),
        audit_text: m["texts"]["audit"].as_str().unwrap_or("—").to_string(),
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
        worker_wasm,
        wall: wall.elapsed(),
    }
}

pub(crate) fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), |v| format!("{:.2} s", v / 1000.0))
}

pub(crate) fn log_run(label: &str, r: &AppRun) {
    eprintln!(
        "  {label} ({:.1} s with page load): change {} header {} first numbers {} status {} hash-start {} SHA-256 {} ({}) keys {} audit {} → {} ({}); mem +{} MiB (renderers +{} MiB; the worker's wasm memory {} MiB){}",
        r.wall.as_secs_f64(),
        ms(r.change),
        ms(r.header),
        ms(r.first),
        ms(r.status),
        ms(r.hash_start),
        ms(r.sha),
        r.trailer,
        ms(r.keys),
        ms(r.audit_start),
        ms(r.audit),
        r.audit_text,
        r.mem_all >> 20,
        r.mem_renderer >> 20,
        r.worker_wasm >> 20,
        r.error
            .as_ref()
            .map(|e| format!("; ERROR {e}"))
            .unwrap_or_default()
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
pub(crate) fn compare_status(page: &Value, etcdctl_json: &str) -> (bool, String) {
    let e: Value = serde_json::from_str(etcdctl_json).unwrap_or(Value::Null);
    let mut all = true;
    let mut out = Vec::new();
    out.push(format!(
        "totalKey {} (live keys, as etcdutl 3.6; etcdctl 3.4 counts all bucket entries: {})",
        lead_num(&page["totalKey"]).map_or("—".into(), |v| v.to_string()),
        e["totalKey"].as_u64().map_or("—".into(), |v| v.to_string())
    ));
    for (p, k) in [
        ("revision", "revision"),
        ("hash", "hash"),
        ("totalSize", "totalSize"),
    ] {
        let ours = lead_num(&page[p]);
        let theirs = e[k].as_u64();
        let same = ours.is_some() && ours == theirs;
        all &= same;
        out.push(format!(
            "{k} {}{}",
            ours.map_or("—".into(), |v| v.to_string()),
            if same {
                " =".to_string()
            } else {
                format!(
                    " ≠ etcdctl {}",
                    theirs.map_or("—".into(), |v| v.to_string())
                )
            }
        ));
    }
    (all, out.join(", "))
}

pub(crate) fn med_opt(v: &[AppRun], f: impl Fn(&AppRun) -> Option<f64>) -> Option<f64> {
    let mut xs: Vec<f64> = v.iter().filter_map(&f).collect();
    if xs.len() < v.len() || xs.is_empty() {
        return None;
    }
    xs.sort_by(f64::total_cmp);
    Some(xs[xs.len() / 2])
}

pub(crate) struct Server(Child);

impl Server {
    pub(crate) fn start(bin: &Path, dist: &Path, data: &Path) -> (Self, u16) {
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
