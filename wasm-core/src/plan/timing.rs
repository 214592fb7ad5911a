//! Heartbeat interval and election timeout from the round-trip time between
//! members.
//!
//! Rules, from etcd's tuning guide ("Time parameters"):
//! - the heartbeat interval should be around the round-trip time, "normally
//!   around 0.5-1.5x the round-trip time";
//! - the election timeout must be at least 10 times the round-trip time;
//! - the upper limit of the election timeout is 50 000 ms.
//!
//! And from etcd's configuration check (`embed.Config.Validate`): etcd refuses
//! to start unless `election-timeout ≥ 5 × heartbeat-interval` and
//! `election-timeout ≤ 50 000 ms`. Nothing here ever recommends a pair etcd
//! would refuse ([`etcd_accepts`]).
//!
//! Our choices on top, each within the rules:
//! - heartbeat = the RTT rounded to a whole millisecond (at least 1, at most
//!   10 000 so that 5 × heartbeat fits under 50 000);
//! - election = the largest of 10 × RTT, 5 × heartbeat and etcd's 1000 ms
//!   default, rounded up to a whole number of heartbeats (etcd counts the
//!   election timeout in heartbeat ticks, so a remainder is dropped) and
//!   capped at 50 000. The floor at the default: the guide's 10 × RTT is a
//!   minimum, and below 1 s a WAL fsync stall or a GC pause (etcd's FAQ: disk
//!   latency is part of leader liveness) starts elections for no gain but a
//!   faster failover.

use serde::Serialize;

/// etcd's default `--heartbeat-interval`.
pub const DEFAULT_HEARTBEAT_MS: u64 = 100;
/// etcd's default `--election-timeout`.
pub const DEFAULT_ELECTION_TIMEOUT_MS: u64 = 1000;
/// etcd refuses an election timeout above this (`maxElectionMs`).
pub const MAX_ELECTION_TIMEOUT_MS: u64 = 50_000;
/// etcd refuses an election timeout below this many heartbeats.
pub const MIN_ELECTION_HEARTBEATS: u64 = 5;
/// The tuning guide: election timeout ≥ this × RTT.
pub const ELECTION_RTT_FACTOR: f64 = 10.0;
/// The tuning guide: heartbeat within these multiples of the RTT.
pub const HEARTBEAT_RTT_RANGE: (f64, f64) = (0.5, 1.5);

pub const SOURCE: &str = "etcd tuning guide (Time parameters); etcd's configuration check refuses election < 5 × heartbeat or > 50 000 ms";

/// Why there is no recommendation.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TimingError {
    #[error("the round-trip time must be a number of milliseconds above 0 (got {rtt_ms})")]
    BadRtt { rtt_ms: f64 },
}

/// The recommendation for one RTT.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timing {
    pub rtt_ms: f64,
    pub heartbeat_ms: u64,
    pub election_timeout_ms: u64,
    /// 0.5–1.5 × RTT.
    pub heartbeat_range_ms: [f64; 2],
    /// 10 × RTT.
    pub election_timeout_min_ms: f64,
    /// Whether etcd's 100 ms / 1000 ms defaults meet the rules at this RTT.
    pub defaults_safe: bool,
    /// Whether the recommendation meets every rule (false only when the RTT
    /// is so high that 10 × RTT exceeds the 50 000 ms etcd accepts; below
    /// 1 ms RTT the 1 ms heartbeat counts as meeting the heartbeat rule).
    pub within_guidance: bool,
    /// The flags to pass.
    pub flags: String,
    pub source: &'static str,
}

/// Whether etcd starts with this pair (its configuration check).
pub fn etcd_accepts(heartbeat_ms: u64, election_timeout_ms: u64) -> bool {
    heartbeat_ms > 0
        && election_timeout_ms >= MIN_ELECTION_HEARTBEATS * heartbeat_ms
        && election_timeout_ms <= MAX_ELECTION_TIMEOUT_MS
}

/// Whether the defaults meet the guide's election rule at `rtt_ms` (the
/// heartbeat rule only trades CPU against detection time; the election rule
/// decides whether members start elections on a healthy leader).
pub fn defaults_safe(rtt_ms: f64) -> bool {
    DEFAULT_ELECTION_TIMEOUT_MS as f64 >= ELECTION_RTT_FACTOR * rtt_ms
}

/// `x` milliseconds rounded up, as an integer in `lo..=hi`.
fn whole_ms(x: f64, lo: u64, hi: u64) -> u64 {
    let r = x.ceil().clamp(lo as f64, hi as f64);
    // Clamped to lo..=hi (≤ 50 000), so the conversion is exact.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let v = r as u64;
    v
}

/// The recommendation for `rtt_ms`.
pub fn recommend(rtt_ms: f64) -> Result<Timing, TimingError> {
    if !rtt_ms.is_finite() || rtt_ms <= 0.0 {
        return Err(TimingError::BadRtt { rtt_ms });
    }
    let max_heartbeat = MAX_ELECTION_TIMEOUT_MS / MIN_ELECTION_HEARTBEATS;
    let heartbeat = whole_ms(rtt_ms.round(), 1, max_heartbeat);
    let wanted = (ELECTION_RTT_FACTOR * rtt_ms)
        .max((MIN_ELECTION_HEARTBEATS * heartbeat) as f64)
        .max(DEFAULT_ELECTION_TIMEOUT_MS as f64);
    let mut election = whole_ms(wanted, 1, MAX_ELECTION_TIMEOUT_MS);
    // A whole number of heartbeat ticks, rounding up unless that passes the cap.
    let ticks = election.div_ceil(heartbeat);
    election = if ticks * heartbeat <= MAX_ELECTION_TIMEOUT_MS {
        ticks * heartbeat
    } else {
        (MAX_ELECTION_TIMEOUT_MS / heartbeat) * heartbeat
    };
    let range = [
        HEARTBEAT_RTT_RANGE.0 * rtt_ms,
        HEARTBEAT_RTT_RANGE.1 * rtt_ms,
    ];
    // Below 1 ms the 1 ms floor (etcd takes whole milliseconds) is the closest there is.
    let heartbeat_ok =
        (range[0]..=range[1]).contains(&(heartbeat as f64)) || (heartbeat == 1 && rtt_ms < 1.0);
    let within = (election as f64) >= ELECTION_RTT_FACTOR * rtt_ms && heartbeat_ok;
    Ok(Timing {
        rtt_ms,
        heartbeat_ms: heartbeat,
        election_timeout_ms: election,
        heartbeat_range_ms: range,
        election_timeout_min_ms: ELECTION_RTT_FACTOR * rtt_ms,
        defaults_safe: defaults_safe(rtt_ms),
        within_guidance: within,
        flags: format!("--heartbeat-interval={heartbeat} --election-timeout={election}"),
        source: SOURCE,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules_hold(t: &Timing) {
        assert!(etcd_accepts(t.heartbeat_ms, t.election_timeout_ms), "{t:?}");
        assert_eq!(t.election_timeout_ms % t.heartbeat_ms, 0, "{t:?}");
    }

    /// The bounds at RTT 1, 50 and 500 ms: heartbeat within 0.5–1.5 × RTT,
    /// election ≥ 10 × RTT and ≥ 5 × heartbeat, ≤ 50 000 ms.
    #[test]
    fn bounds_at_1_50_and_500_ms() {
        for (rtt, hb, el, safe) in [
            (1.0, 1, 1000, true),
            (50.0, 50, 1000, true),
            (500.0, 500, 5000, false),
        ] {
            let t = recommend(rtt).unwrap();
            assert_eq!((t.heartbeat_ms, t.election_timeout_ms), (hb, el), "{t:?}");
            assert!(
                (0.5 * rtt..=1.5 * rtt).contains(&(t.heartbeat_ms as f64)),
                "{t:?}"
            );
            assert!(t.election_timeout_ms as f64 >= 10.0 * rtt);
            assert!(t.election_timeout_ms >= 5 * t.heartbeat_ms);
            assert!(t.election_timeout_ms <= 50_000);
            assert_eq!(t.defaults_safe, safe, "{t:?}");
            assert!(t.within_guidance);
            rules_hold(&t);
        }
    }

    #[test]
    fn defaults_become_unsafe_above_100_ms() {
        assert!(defaults_safe(100.0));
        assert!(!defaults_safe(100.5));
        assert!(etcd_accepts(
            DEFAULT_HEARTBEAT_MS,
            DEFAULT_ELECTION_TIMEOUT_MS
        ));
    }

    #[test]
    fn never_recommends_what_etcd_refuses() {
        let mut rtt = 0.01;
        while rtt < 100_000.0 {
            let t = recommend(rtt).unwrap();
            rules_hold(&t);
            assert!(t.heartbeat_ms >= 1);
            if rtt <= 5000.0 {
                assert!(t.within_guidance, "{t:?}");
                assert!(t.election_timeout_ms as f64 >= 10.0 * rtt, "{t:?}");
            }
            rtt *= 1.37;
        }
        // Past 5 s no election timeout etcd accepts is 10 × RTT: capped, and said so.
        let t = recommend(8000.0).unwrap();
        assert_eq!((t.heartbeat_ms, t.election_timeout_ms), (8000, 48_000));
        assert!(!t.within_guidance);
        let t = recommend(60_000.0).unwrap();
        assert_eq!((t.heartbeat_ms, t.election_timeout_ms), (10_000, 50_000));
        // Ticks: 33 ms heartbeats make 1023, not 1000 (etcd would drop the remainder).
        assert_eq!(recommend(33.0).unwrap().election_timeout_ms, 1023);
    }

    #[test]
    fn bad_rtts() {
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(recommend(bad).is_err());
        }
    }
}
