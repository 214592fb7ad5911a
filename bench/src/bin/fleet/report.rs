//! The tables on stdout: latency percentiles per kind of answer, load, bursts.

use std::collections::BTreeMap;

use etcd_lens_bench::fleet::percentile;

use crate::phases::{Kind, Phase};
use crate::units::{fmt_ms, mib};

struct Stats {
    n: usize,
    p50: Option<f64>,
    p99: Option<f64>,
    max: Option<f64>,
}

fn stats(v: &[f64]) -> Stats {
    Stats {
        n: v.len(),
        p50: percentile(v, 50.0),
        p99: percentile(v, 99.0),
        max: percentile(v, 100.0),
    }
}

/// Latency rows of phases of one name (bursts repeat), by kind, then all.
pub(crate) fn latency_rows(name: &str, ps: &[&Phase]) -> Vec<String> {
    let mut by_kind: BTreeMap<Kind, Vec<f64>> = BTreeMap::new();
    let mut all = Vec::new();
    for p in ps {
        for s in &p.results.samples {
            by_kind
                .entry(Kind::of(s, &p.down))
                .or_default()
                .push(s.latency_ms);
            all.push(s.latency_ms);
        }
    }
    let errors: usize = ps.iter().map(|p| p.results.errors.len()).sum();
    let row = |label: &str, st: Stats| {
        format!(
            "| {name} | {label} | {} | {} | {} | {} |",
            st.n,
            fmt_ms(st.p50),
            fmt_ms(st.p99),
            fmt_ms(st.max)
        )
    };
    let mut rows: Vec<String> = by_kind
        .iter()
        .map(|(k, v)| row(k.label(), stats(v)))
        .collect();
    let errs = if errors > 0 {
        format!(" ({errors} errors)")
    } else {
        String::new()
    };
    rows.push(row(&format!("**all**{errs}"), stats(&all)));
    rows
}

pub(crate) fn load_row(p: &Phase) -> String {
    let (live, down) = p.refreshes();
    let n_live = p
        .results
        .samples
        .first()
        .map_or(0, |s| s.answer.clusters.len() - p.down.len());
    let methods = p
        .grpc
        .iter()
        .filter(|(_, v)| **v > 0.0)
        .map(|(k, v)| format!("{k} {v:.0}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "| {} | {:.1} s | {} | {:.1} | {:.1} ({methods}) | {:.2} | {} | {:.1} % | {} / {} |",
        p.name,
        p.wall.as_secs_f64(),
        p.results.samples.len(),
        p.per_s(p.calls("Status")),
        p.per_s(p.grpc.values().sum()),
        p.per_s(live as f64) / n_live.max(1) as f64,
        if down.is_empty() {
            "–".to_string()
        } else {
            down.iter()
                .map(|(d, n)| format!("{d}: {:.2}", p.per_s(*n as f64)))
                .collect::<Vec<_>>()
                .join(", ")
        },
        100.0 * p.server_cpu_s / p.wall.as_secs_f64(),
        mib(p.rss_median_kib),
        mib(p.rss_max_kib)
    )
}

pub(crate) fn burst_row(state: &str, one: &[Phase], many: &[Phase]) -> String {
    let calls = |ps: &[Phase]| {
        ps.iter()
            .map(|p| format!("{:.0}", p.calls("Status")))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let lat = |ps: &[Phase]| {
        let v: Vec<f64> = ps.iter().flat_map(|p| p.latencies()).collect();
        format!(
            "{} / {}",
            fmt_ms(percentile(&v, 50.0)),
            fmt_ms(percentile(&v, 100.0))
        )
    };
    // Refreshes per burst, as the answers' distinct `checked_at` show them.
    let refreshes = |ps: &[Phase]| {
        ps.iter()
            .map(|p| {
                let (live, down) = p.refreshes();
                let d: Vec<String> = down.iter().map(|(_, n)| n.to_string()).collect();
                format!("{live}+{}", d.join("+"))
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    format!(
        "| {state} | {} | {} | {} | {} | {} | {} |",
        calls(one),
        calls(many),
        refreshes(one),
        refreshes(many),
        lat(one),
        lat(many)
    )
}

pub(crate) fn took(ps: &[&Phase], of_down: bool) -> Vec<f64> {
    ps.iter()
        .flat_map(|p| {
            p.results.samples.iter().flat_map(move |s| {
                s.answer
                    .clusters
                    .iter()
                    .filter(move |c| c.age_ms == 0 && p.down.contains(&c.name) == of_down)
                    .map(|c| c.took_ms as f64)
            })
        })
        .collect()
}
