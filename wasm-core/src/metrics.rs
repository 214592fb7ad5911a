//! Prometheus' text exposition format, as much as etcd's `/metrics` needs:
//! samples (name, labels, value), and the quantile of a histogram over the
//! interval between two scrapes, computed as PromQL's `histogram_quantile`
//! does over `rate(…_bucket[…])`.
//!
//! What it does not do: types, help texts, exemplars, timestamps (ignored).
//! Input is untrusted text from a member: a line it cannot read is skipped,
//! never a panic.

use std::collections::BTreeMap;

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// Every sample of a scrape, in the order given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scrape {
    pub samples: Vec<Sample>,
}

impl Scrape {
    pub fn parse(text: &str) -> Self {
        Self {
            samples: text.lines().filter_map(parse_line).collect(),
        }
    }

    /// The first sample called `name` (gauges and counters without labels).
    pub fn value(&self, name: &str) -> Option<f64> {
        self.samples
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.value)
    }

    /// A histogram's cumulative buckets: `(le, count)` sorted by `le`, `+Inf` last.
    pub fn buckets(&self, histogram: &str) -> Vec<(f64, f64)> {
        let name = format!("{histogram}_bucket");
        let mut out: Vec<(f64, f64)> = self
            .samples
            .iter()
            .filter(|s| s.name == name)
            .filter_map(|s| Some((parse_float(s.labels.get("le")?)?, s.value)))
            .collect();
        out.sort_by(|a, b| a.0.total_cmp(&b.0));
        out
    }
}

fn parse_line(line: &str) -> Option<Sample> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let (name_end, labels, rest) = match line.find(['{', ' ']) {
        Some(i) if line.as_bytes()[i] == b'{' => {
            let close = line[i..].find('}')? + i;
            (i, parse_labels(&line[i + 1..close])?, &line[close + 1..])
        }
        Some(i) => (i, BTreeMap::new(), &line[i..]),
        None => return None,
    };
    let value = parse_float(rest.split_whitespace().next()?)?;
    Some(Sample {
        name: line[..name_end].to_string(),
        labels,
        value,
    })
}

/// `a="x",b="y"` with `\"`, `\\` and `\n` escapes.
fn parse_labels(s: &str) -> Option<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        let eq = rest.find('=')?;
        let key = rest[..eq].trim().to_string();
        let after = rest[eq + 1..].trim_start().strip_prefix('"')?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            let (i, c) = chars.next()?;
            match c {
                '\\' => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                '"' => break i,
                c => value.push(c),
            }
        };
        out.insert(key, value);
        rest = after[end + 1..].trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
    }
    Some(out)
}

fn parse_float(s: &str) -> Option<f64> {
    match s {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        s => s.parse().ok(),
    }
}

/// A quantile and the bucket bounds it fell between (the true value is
/// somewhere in there; the interpolation assumes a uniform spread).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Quantile {
    pub value: f64,
    pub bucket_low: f64,
    pub bucket_high: f64,
    /// Observations in the interval.
    pub observations: f64,
}

/// The `q` quantile of the observations made between `before` and `after`
/// (cumulative buckets as [`Scrape::buckets`] returns them). `None` when the
/// interval saw no observations or the buckets do not line up (a restarted
/// member resets its counters: then `after` alone is used, as `rate` does).
pub fn quantile_between(q: f64, before: &[(f64, f64)], after: &[(f64, f64)]) -> Option<Quantile> {
    let same_bounds = before.len() == after.len()
        && before
            .iter()
            .zip(after)
            .all(|(b, a)| b.0 == a.0 && a.1 >= b.1);
    let delta: Vec<(f64, f64)> = if same_bounds {
        after
            .iter()
            .zip(before)
            .map(|(a, b)| (a.0, a.1 - b.1))
            .collect()
    } else {
        after.to_vec()
    };
    histogram_quantile(q, &delta)
}

/// PromQL's `histogram_quantile` over cumulative buckets sorted by bound,
/// the last being `+Inf`: linear interpolation inside the bucket where the
/// rank falls; the lowest bucket starts at 0; a rank in the `+Inf` bucket
/// answers the highest finite bound.
pub fn histogram_quantile(q: f64, buckets: &[(f64, f64)]) -> Option<Quantile> {
    if !(0.0..=1.0).contains(&q) || buckets.len() < 2 {
        return None;
    }
    let &(last_le, total) = buckets.last()?;
    if last_le != f64::INFINITY || total.is_nan() || total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let i = buckets.iter().position(|&(_, count)| count >= rank)?;
    if i == buckets.len() - 1 {
        let high = buckets[i - 1].0;
        return Some(Quantile {
            value: high,
            bucket_low: high,
            bucket_high: f64::INFINITY,
            observations: total,
        });
    }
    let (high, count) = buckets[i];
    let (low, below) = if i == 0 {
        (0.0_f64.min(high), 0.0)
    } else {
        buckets[i - 1]
    };
    let in_bucket = count - below;
    let value = if in_bucket <= 0.0 {
        high
    } else {
        low + (high - low) * ((rank - below) / in_bucket)
    };
    Some(Quantile {
        value,
        bucket_low: low,
        bucket_high: high,
        observations: total,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"# HELP etcd_disk_wal_fsync_duration_seconds The latency distributions of fsync called by WAL.
# TYPE etcd_disk_wal_fsync_duration_seconds histogram
etcd_disk_wal_fsync_duration_seconds_bucket{le="0.001"} 10
etcd_disk_wal_fsync_duration_seconds_bucket{le="0.002"} 20
etcd_disk_wal_fsync_duration_seconds_bucket{le="0.004"} 90
etcd_disk_wal_fsync_duration_seconds_bucket{le="+Inf"} 100
etcd_disk_wal_fsync_duration_seconds_sum 0.2
etcd_disk_wal_fsync_duration_seconds_count 100
etcd_server_quota_backend_bytes 2.147483648e+09
etcd_server_version{server_version="3.4.23"} 1
weird{a="x\"y",b="2"} 7 1700000000
"#;

    #[test]
    fn parses_samples_and_labels() {
        let s = Scrape::parse(TEXT);
        assert_eq!(
            s.value("etcd_server_quota_backend_bytes"),
            Some(2147483648.0)
        );
        let w = s.samples.iter().find(|s| s.name == "weird").unwrap();
        assert_eq!(w.labels["a"], "x\"y");
        assert_eq!(w.value, 7.0);
        assert_eq!(s.buckets("etcd_disk_wal_fsync_duration_seconds").len(), 4);
    }

    #[test]
    fn quantile_interpolates_like_promql() {
        let b = Scrape::parse(TEXT).buckets("etcd_disk_wal_fsync_duration_seconds");
        // rank 50 falls in (0.002, 0.004] holding 70 (from 20 to 90): 0.002 + 0.002·30/70.
        let q = histogram_quantile(0.5, &b).unwrap();
        assert!((q.value - (0.002 + 0.002 * 30.0 / 70.0)).abs() < 1e-12);
        assert_eq!((q.bucket_low, q.bucket_high), (0.002, 0.004));
        // rank 99 lands in +Inf: the highest finite bound.
        let q = histogram_quantile(0.99, &b).unwrap();
        assert_eq!(q.value, 0.004);
        // rank 5 in the first bucket: from 0.
        let q = histogram_quantile(0.05, &b).unwrap();
        assert!((q.value - 0.0005).abs() < 1e-12);
    }

    #[test]
    fn interval_uses_the_difference_or_restarts() {
        let before = [(0.001, 10.0), (0.002, 20.0), (f64::INFINITY, 20.0)];
        let after = [(0.001, 10.0), (0.002, 30.0), (f64::INFINITY, 30.0)];
        // All 10 new observations are in (0.001, 0.002].
        let q = quantile_between(0.99, &before, &after).unwrap();
        assert_eq!(
            (q.bucket_low, q.bucket_high, q.observations),
            (0.001, 0.002, 10.0)
        );
        assert!(
            quantile_between(0.99, &after, &after).is_none(),
            "no new observations"
        );
        // A counter reset (after < before) falls back to the absolute counts.
        let q = quantile_between(0.5, &after, &before).unwrap();
        assert_eq!(q.observations, 20.0);
    }
}
