//! Helpers of the fleet benchmark (`src/bin/fleet/`): a minimal HTTP/1.1
//! GET over loopback, etcd's gRPC counters from a `/metrics` page, a fleet
//! answer reduced to what the bench reports, percentiles, and a process's
//! memory and CPU time from `/proc`.
//!
//! What it does not: keep-alive, chunked decoding beyond cutting the JSON
//! out of the body, anything but 127.0.0.1. The parsers take text and return
//! values (no I/O), so they are tested below without a server.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// One `GET` with `Connection: close`: (status code, body). The body of a
/// chunked answer is cut to its outermost `{…}` (our answers are one JSON
/// object). `None` on any transport error.
pub fn http_get(
    addr: &str,
    path: &str,
    token: Option<&str>,
    timeout: Duration,
) -> Option<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&addr.parse().ok()?, timeout).ok()?;
    s.set_read_timeout(Some(timeout)).ok()?;
    let auth = token.map_or_else(String::new, |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n"
    )
    .ok()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).ok()?;
    let text = String::from_utf8_lossy(&raw);
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        match (body.find('{'), body.rfind('}')) {
            (Some(a), Some(b)) if a <= b => &body[a..=b],
            _ => body,
        }
    } else {
        body
    };
    Some((status, body.to_string()))
}

/// `grpc_server_handled_total` summed over codes and services, by
/// `grpc_method` (Status, MemberList, Range, Alarm…).
pub fn grpc_handled_by_method(metrics: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for line in metrics.lines() {
        let Some(rest) = line.strip_prefix("grpc_server_handled_total{") else {
            continue;
        };
        let Some((labels, value)) = rest.rsplit_once("} ") else {
            continue;
        };
        let Some(method) = label(labels, "grpc_method") else {
            continue;
        };
        let Ok(v) = value.trim().parse::<f64>() else {
            continue;
        };
        *out.entry(method.to_string()).or_insert(0.0) += v;
    }
    out
}

/// The value of `name="…"` in a Prometheus label set (etcd's values hold no quotes).
fn label<'a>(labels: &'a str, name: &str) -> Option<&'a str> {
    let start = labels.find(&format!("{name}=\""))? + name.len() + 2;
    let len = labels[start..].find('"')?;
    Some(&labels[start..start + len])
}

/// `b - a` per method (methods only in `b` count from zero).
pub fn counter_delta(
    a: &BTreeMap<String, f64>,
    b: &BTreeMap<String, f64>,
) -> BTreeMap<String, f64> {
    b.iter()
        .map(|(k, v)| (k.clone(), v - a.get(k).copied().unwrap_or(0.0)))
        .collect()
}

/// What the bench keeps of one cluster in a fleet answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterAnswer {
    pub name: String,
    /// 0 when refreshed for this request, or served less than 1 ms after a
    /// refresh (the server rounds down to whole milliseconds).
    pub age_ms: i64,
    pub verdict: String,
    pub verdict_reason: String,
    /// How long the refresh that made this answer took.
    pub took_ms: u64,
    /// When that refresh was asked for: equal values are the same refresh.
    pub checked_at: String,
    /// The cluster's `warnings` and every member's, in order.
    pub warnings: Vec<String>,
    /// `wal_fsync.observations` of each member whose WAL fsync p99 is above guidance:
    /// how many fsyncs the p99 behind such a warning was computed from.
    pub wal_above_guidance_observations: Vec<f64>,
}

/// What the bench keeps of one fleet answer.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetAnswer {
    /// In the answer's order (the configuration's).
    pub clusters: Vec<ClusterAnswer>,
}

impl FleetAnswer {
    /// Parse `{"clusters": [{cluster, age_ms, verdict, took_ms, checked_at, …}, …]}`.
    pub fn parse(body: &str) -> Result<Self, String> {
        let v: serde_json::Value =
            serde_json::from_str(body).map_err(|e| format!("{e}: {body:.200}"))?;
        let list = v["clusters"]
            .as_array()
            .ok_or_else(|| format!("no `clusters` array: {body:.200}"))?;
        let field = |c: &serde_json::Value, f: &str| {
            c.get(f)
                .cloned()
                .ok_or_else(|| format!("a cluster without `{f}`: {body:.200}"))
        };
        let clusters = list
            .iter()
            .map(|c| {
                let bad = |f: &str| format!("`{f}` of the wrong type: {body:.200}");
                Ok(ClusterAnswer {
                    name: field(c, "cluster")?
                        .as_str()
                        .ok_or_else(|| bad("cluster"))?
                        .to_string(),
                    age_ms: field(c, "age_ms")?.as_i64().ok_or_else(|| bad("age_ms"))?,
                    verdict: field(c, "verdict")?
                        .as_str()
                        .ok_or_else(|| bad("verdict"))?
                        .to_string(),
                    verdict_reason: c["verdict_reason"].as_str().unwrap_or_default().to_string(),
                    took_ms: field(c, "took_ms")?
                        .as_u64()
                        .ok_or_else(|| bad("took_ms"))?,
                    checked_at: field(c, "checked_at")?
                        .as_str()
                        .ok_or_else(|| bad("checked_at"))?
                        .to_string(),
                    warnings: warnings(c),
                    wal_above_guidance_observations: c["members"]
                        .as_array()
                        .map(|ms| {
                            ms.iter()
                                .map(|m| &m["wal_fsync"])
                                .filter(|w| w["above_guidance"].as_bool() == Some(true))
                                .filter_map(|w| w["observations"].as_f64())
                                .collect()
                        })
                        .unwrap_or_default(),
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Self { clusters })
    }

    /// Clusters with `age_ms` 0.
    pub fn refreshed(&self) -> usize {
        self.clusters.iter().filter(|c| c.age_ms == 0).count()
    }

    pub fn cluster(&self, name: &str) -> Option<&ClusterAnswer> {
        self.clusters.iter().find(|c| c.name == name)
    }
}

fn warnings(cluster: &serde_json::Value) -> Vec<String> {
    let strings = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .map(|l| {
                l.iter()
                    .filter_map(|w| w.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut out = strings(&cluster["warnings"]);
    if let Some(members) = cluster["members"].as_array() {
        for m in members {
            out.extend(strings(&m["warnings"]));
        }
    }
    out
}

/// A warning with its numbers replaced by `#`, so like warnings group together.
pub fn warning_kind(w: &str) -> String {
    let mut out = String::with_capacity(w.len());
    let mut in_number = false;
    for ch in w.chars() {
        if ch.is_ascii_digit() || (in_number && ch == '.') {
            if !in_number {
                out.push('#');
            }
            in_number = true;
        } else {
            in_number = false;
            out.push(ch);
        }
    }
    out
}

/// How many distinct refreshes (`checked_at` values) of each cluster these answers show.
pub fn refreshes_by_cluster<'a>(
    answers: impl IntoIterator<Item = &'a FleetAnswer>,
) -> BTreeMap<String, usize> {
    let mut seen: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    for a in answers {
        for c in &a.clusters {
            seen.entry(c.name.clone())
                .or_default()
                .insert(c.checked_at.clone());
        }
    }
    seen.into_iter().map(|(k, v)| (k, v.len())).collect()
}

/// Nearest-rank percentile (`p` in 0..=100) of unsorted values; `None` when empty.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    Some(v[rank.clamp(1, v.len()) - 1])
}

/// A `kB` field of `/proc/PID/status` (`VmRSS`, `VmHWM`), in KiB.
pub fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status_field_kib(&text, field)
}

fn status_field_kib(status: &str, field: &str) -> Option<u64> {
    status.lines().find_map(|l| {
        let rest = l.strip_prefix(field)?.strip_prefix(':')?;
        rest.trim().strip_suffix("kB")?.trim().parse().ok()
    })
}

/// User + system CPU time of a process so far, in clock ticks (`/proc/PID/stat` fields 14 and 15).
pub fn proc_cpu_ticks(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat_cpu_ticks(&text)
}

fn stat_cpu_ticks(stat: &str) -> Option<u64> {
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    let after = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    // `after` starts at field 3 (state), so utime (14) and stime (15) are at 11 and 12.
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// Clock ticks per second (`sysconf(_SC_CLK_TCK)`).
pub fn clock_ticks_per_sec() -> f64 {
    // SAFETY: sysconf reads a constant.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as f64 } else { 100.0 }
}

/// The pids of processes whose command line has an argument containing `needle`.
pub fn pids_with_arg(needle: &str) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut pids: Vec<u32> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|pid: &u32| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
                c.split(|b| *b == 0)
                    .any(|a| String::from_utf8_lossy(a).contains(needle))
            })
        })
        .collect();
    pids.sort_unstable();
    pids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_counters_by_method() {
        let m = "# HELP grpc_server_handled_total Total number of RPCs completed on the server.\n\
grpc_server_handled_total{grpc_code=\"OK\",grpc_method=\"Status\",grpc_service=\"etcdserverpb.Maintenance\",grpc_type=\"unary\"} 12\n\
grpc_server_handled_total{grpc_code=\"Unavailable\",grpc_method=\"Status\",grpc_service=\"etcdserverpb.Maintenance\",grpc_type=\"unary\"} 3\n\
grpc_server_handled_total{grpc_code=\"OK\",grpc_method=\"Range\",grpc_service=\"etcdserverpb.KV\",grpc_type=\"unary\"} 7\n\
grpc_server_started_total{grpc_method=\"Status\",grpc_service=\"etcdserverpb.Maintenance\",grpc_type=\"unary\"} 99\n";
        let c = grpc_handled_by_method(m);
        assert_eq!(c.get("Status"), Some(&15.0));
        assert_eq!(c.get("Range"), Some(&7.0));
        assert_eq!(c.len(), 2);
        let later = grpc_handled_by_method(&m.replace("} 12", "} 20"));
        assert_eq!(counter_delta(&c, &later).get("Status"), Some(&8.0));
    }

    #[test]
    fn fleet_answer() {
        let body = r#"{"clusters":[
            {"cluster":"c00","age_ms":0,"verdict":"healthy","took_ms":4,"checked_at":"2026-12-01T13:00:00.000Z"},
            {"cluster":"c01","age_ms":812,"verdict":"no_quorum","took_ms":2001,"checked_at":"2026-12-01T12:59:59.188Z"}]}"#;
        let a = FleetAnswer::parse(body).unwrap();
        assert_eq!(a.refreshed(), 1);
        assert_eq!(a.cluster("c01").map(|c| c.took_ms), Some(2001));
        let b = FleetAnswer::parse(&body.replace("13:00:00.000Z", "13:00:02.000Z")).unwrap();
        let r = refreshes_by_cluster([&a, &b]);
        assert_eq!((r["c00"], r["c01"]), (2, 1));
        assert_eq!(
            warning_kind("WAL fsync p99 12.5 ms is above etcd's guidance of 10 ms"),
            "WAL fsync p# # ms is above etcd's guidance of # ms"
        );
        let err = FleetAnswer::parse(r#"{"clusters":[{"cluster":"x"}]}"#).unwrap_err();
        assert!(err.contains("`age_ms`"), "{err}");
    }

    #[test]
    fn percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), Some(50.0));
        assert_eq!(percentile(&v, 99.0), Some(99.0));
        assert_eq!(percentile(&v, 100.0), Some(100.0));
        assert_eq!(percentile(&[3.0], 99.0), Some(3.0));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn proc_fields() {
        assert_eq!(
            status_field_kib("Name:\tx\nVmHWM:\t   12345 kB\nVmRSS:\t  100 kB\n", "VmHWM"),
            Some(12345)
        );
        assert_eq!(status_field_kib("VmRSS:\t100 kB\n", "VmHWM"), None);
        let stat = "42 (etcd lens) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 8 0 1 2 3";
        assert_eq!(stat_cpu_ticks(stat), Some(300));
    }
}
