//! Pages polling the fleet answer: one page on its ticks, many pages
//! staggered over one interval, and a burst released at the same instant.

use std::sync::Barrier;
use std::time::{Duration, Instant};

use etcd_lens_bench::fleet::{FleetAnswer, http_get};

use crate::server::{FLEET, HTTP_TIMEOUT, TOKEN};
use crate::units::ms;

/// One fleet answer as a page saw it.
pub(crate) struct Sample {
    pub(crate) latency_ms: f64,
    pub(crate) answer: FleetAnswer,
}

/// What the pages of a phase saw.
#[derive(Default)]
pub(crate) struct PageResults {
    pub(crate) samples: Vec<Sample>,
    /// Non-200 answers, transport errors, unparsable bodies.
    pub(crate) errors: Vec<String>,
}

fn fetch_fleet(addr: &str) -> Result<Sample, String> {
    let t = Instant::now();
    let (code, body) = http_get(addr, FLEET, Some(TOKEN), HTTP_TIMEOUT)
        .ok_or_else(|| format!("no answer within {HTTP_TIMEOUT:?}"))?;
    let latency_ms = ms(t.elapsed());
    if code != 200 {
        return Err(format!("HTTP {code}: {body:.200}"));
    }
    Ok(Sample {
        latency_ms,
        answer: FleetAnswer::parse(&body)?,
    })
}

/// A page refreshing every `interval` from `offset` on for `duration`; a
/// request is never sent while the previous one is unanswered.
pub(crate) fn page(
    addr: &str,
    interval: Duration,
    offset: Duration,
    duration: Duration,
) -> PageResults {
    let start = Instant::now() + offset;
    let end = start + duration;
    let mut out = PageResults::default();
    let mut tick: u32 = 0;
    loop {
        let due = start + interval * tick;
        if due >= end {
            return out;
        }
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        match fetch_fleet(addr) {
            Ok(s) => out.samples.push(s),
            Err(e) => out.errors.push(e),
        }
        // The next tick not yet passed.
        let elapsed = Instant::now().saturating_duration_since(start);
        let passed =
            u32::try_from(elapsed.as_nanos() / interval.as_nanos().max(1)).unwrap_or(u32::MAX);
        tick = (tick + 1).max(passed.saturating_add(1));
    }
}

/// `n` pages at once, staggered over one interval.
pub(crate) fn pages(addr: &str, n: usize, interval: Duration, duration: Duration) -> PageResults {
    let all: Vec<PageResults> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..n)
            .map(|i| {
                let offset =
                    interval * u32::try_from(i).unwrap_or(0) / u32::try_from(n).unwrap_or(1);
                s.spawn(move || page(addr, interval, offset, duration))
            })
            .collect();
        hs.into_iter()
            .map(|h| h.join().expect("page thread"))
            .collect()
    });
    let mut out = PageResults::default();
    for r in all {
        out.samples.extend(r.samples);
        out.errors.extend(r.errors);
    }
    out
}

/// `n` requests released at the same instant.
pub(crate) fn burst(addr: &str, n: usize) -> PageResults {
    let barrier = Barrier::new(n);
    let all: Vec<Result<Sample, String>> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..n)
            .map(|_| {
                let b = &barrier;
                s.spawn(move || {
                    b.wait();
                    fetch_fleet(addr)
                })
            })
            .collect();
        hs.into_iter()
            .map(|h| h.join().expect("burst thread"))
            .collect()
    });
    let mut out = PageResults::default();
    for r in all {
        match r {
            Ok(s) => out.samples.push(s),
            Err(e) => out.errors.push(e),
        }
    }
    out
}
