//! Availability of a layout beyond the rules of thumb: the expected time per
//! year without quorum, how often quorum is lost, and the chance of at least
//! one loss in a year.
//!
//! # The model
//! Every member and every zone is a two-state component (up, down) that fails
//! at a constant rate and is repaired at a constant rate (exponential times):
//! a member fails `member_failures_per_year` times a year and takes
//! `member_repair_hours` to come back; a zone has `zone_outages_per_year`
//! outages lasting `zone_outage_hours`. A member *counts* when it and its zone
//! are up; quorum holds when the members that count are a majority
//! (⌊n/2⌋+1) of the voting members.
//!
//! Assumptions, each a simplification to keep in mind when reading the numbers:
//! - components fail and recover **independently** of each other (no shared
//!   power, network or bad deploy across zones; no correlated disk batches);
//! - times to failure and to repair are exponential (memoryless);
//! - a member down does not slow the repair of another (unlimited repair crews);
//! - only crash failures: no partitions that leave members up but apart, no
//!   slow disks, no human error, no data loss (a lost quorum is time, not data).
//!
//! Under independence the stationary distribution is the product of each
//! component's (`P(up) = μ/(λ+μ)`), so the chain is solved exactly by
//! enumerating all 2^(members+zones) states (n ≤ 9 members and ≤ 9 zones:
//! at most 2^18 states). The time without quorum is the probability mass of the
//! states without quorum; the frequency of losses is the frequency–duration
//! result `f = Σ_{s with quorum} π(s) · Σ_{failures s→s' losing it} rate`
//! (repairs never lose quorum: the system is monotone). The mean length of a
//! loss is `P(no quorum) / f`, and `1 − e^(−f·1 year)` is the probability of
//! at least one loss in a year **as a Poisson approximation** (losses are
//! treated as a Poisson process of rate f, which the chain is not quite).
//!
//! # Defaults: assumptions, stated so they can be changed
//! - `member_failures_per_year = 1`: Jeff Dean's "typical first year of a new
//!   cluster" (LADIS 2009 keynote) counts about 1000 individual machine failures
//!   in a cluster of about 1800 machines, about 0.5 a machine-year; we round up
//!   to 1 for the VM, kernel and etcd process failures that also take a member out.
//! - `member_repair_hours = 4`: an assumption (notice, then restart or replace
//!   the member); automated replacement is faster, a manual one slower.
//! - `zone_outages_per_year = 0.5`, `zone_outage_hours = 4`: assumptions; cloud
//!   providers publish no per-zone outage rate (their SLAs are credits, not
//!   failure statistics). Use your provider's incident history.

use serde::Serialize;

use super::domains::{Zone, layout_text, recommended_placement};
use super::quorum::{MAX_PLANNED_MEMBERS, Quorum};

/// 365.25 days.
pub const HOURS_PER_YEAR: f64 = 8766.0;
pub const MINUTES_PER_YEAR: f64 = HOURS_PER_YEAR * 60.0;

/// The most zones a layout may have in the enumeration (with ≤ 9 members, at
/// most 9 zones hold anyone; empty zones are left out).
const MAX_MODEL_ZONES: usize = 9;

/// Failure and repair rates of members and zones (see the module doc for the defaults).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rates {
    pub member_failures_per_year: f64,
    pub member_repair_hours: f64,
    pub zone_outages_per_year: f64,
    pub zone_outage_hours: f64,
}

impl Default for Rates {
    fn default() -> Self {
        Self {
            member_failures_per_year: 1.0,
            member_repair_hours: 4.0,
            zone_outages_per_year: 0.5,
            zone_outage_hours: 4.0,
        }
    }
}

/// Why a layout or rates cannot be modelled.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AvailabilityError {
    #[error("{field} must be a finite number ≥ 0 (got {value})")]
    BadRate { field: &'static str, value: f64 },
    #[error("{field} must be above 0 when failures happen (got {value})")]
    BadRepair { field: &'static str, value: f64 },
    #[error("a layout needs at least one member")]
    NoMembers,
    #[error("{members} members: the model enumerates at most {max}")]
    TooManyMembers { members: u32, max: u32 },
    #[error("{zones} zones with members: the model enumerates at most {max}")]
    TooManyZones { zones: usize, max: usize },
}

/// One component's rates per hour: (fail, repair).
#[derive(Debug, Clone, Copy)]
struct Component {
    fail_per_hour: f64,
    /// Stationary probability of being up.
    up: f64,
}

impl Component {
    fn new(
        failures_per_year: f64,
        repair_hours: f64,
        names: (&'static str, &'static str),
    ) -> Result<Self, AvailabilityError> {
        if !failures_per_year.is_finite() || failures_per_year < 0.0 {
            return Err(AvailabilityError::BadRate {
                field: names.0,
                value: failures_per_year,
            });
        }
        if failures_per_year == 0.0 {
            return Ok(Self {
                fail_per_hour: 0.0,
                up: 1.0,
            });
        }
        if !repair_hours.is_finite() || repair_hours <= 0.0 {
            return Err(AvailabilityError::BadRepair {
                field: names.1,
                value: repair_hours,
            });
        }
        let lambda = failures_per_year / HOURS_PER_YEAR;
        let mu = 1.0 / repair_hours;
        Ok(Self {
            fail_per_hour: lambda,
            up: mu / (lambda + mu),
        })
    }
}

impl Rates {
    fn components(&self) -> Result<(Component, Component), AvailabilityError> {
        Ok((
            Component::new(
                self.member_failures_per_year,
                self.member_repair_hours,
                ("member_failures_per_year", "member_repair_hours"),
            )?,
            Component::new(
                self.zone_outages_per_year,
                self.zone_outage_hours,
                ("zone_outages_per_year", "zone_outage_hours"),
            )?,
        ))
    }

    /// A member's long-run availability, `μ/(λ+μ)`.
    pub fn member_availability(&self) -> Result<f64, AvailabilityError> {
        Ok(self.components()?.0.up)
    }

    /// A zone's long-run availability.
    pub fn zone_availability(&self) -> Result<f64, AvailabilityError> {
        Ok(self.components()?.1.up)
    }
}

/// The exact result for one layout.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    /// Long-run share of time without quorum.
    pub p_no_quorum: f64,
    pub quorum_loss_minutes_per_year: f64,
    /// The frequency of quorum losses (frequency–duration), per year.
    pub quorum_losses_per_year: f64,
    /// `P(no quorum) / f`, in minutes; `None` when losses never happen.
    pub mean_loss_minutes: Option<f64>,
    /// `1 − e^(−f·1 year)`: the Poisson approximation.
    pub p_quorum_loss_per_year: f64,
}

/// Solve the model for members per zone (`zone_members[i]` members in zone i).
pub fn estimate(zone_members: &[u32], rates: &Rates) -> Result<Estimate, AvailabilityError> {
    let (member, zone) = rates.components()?;
    let n: u32 = zone_members.iter().sum();
    if n == 0 {
        return Err(AvailabilityError::NoMembers);
    }
    if n > MAX_PLANNED_MEMBERS {
        return Err(AvailabilityError::TooManyMembers {
            members: n,
            max: MAX_PLANNED_MEMBERS,
        });
    }
    // Empty zones change nothing: leave them out of the state space.
    let zones: Vec<u32> = zone_members.iter().copied().filter(|&m| m > 0).collect();
    if zones.len() > MAX_MODEL_ZONES {
        return Err(AvailabilityError::TooManyZones {
            zones: zones.len(),
            max: MAX_MODEL_ZONES,
        });
    }
    // zone_of[i]: the zone of member i.
    let zone_of: Vec<usize> = zones
        .iter()
        .enumerate()
        .flat_map(|(z, &m)| std::iter::repeat_n(z, m as usize))
        .collect();
    let members = zone_of.len();
    let majority = Quorum::of(n).needed;
    let (mut p_down, mut freq_per_hour) = (0.0f64, 0.0f64);
    // Bit k of `s` set: component k is down (members first, then zones).
    // members + zones ≤ 18, so the shift cannot overflow.
    for s in 0u32..(1u32 << (members + zones.len())) {
        let down = |k: usize| s & (1 << k) != 0;
        let mut pi = 1.0;
        for k in 0..members {
            pi *= if down(k) { 1.0 - member.up } else { member.up };
        }
        for z in 0..zones.len() {
            pi *= if down(members + z) {
                1.0 - zone.up
            } else {
                zone.up
            };
        }
        // Members that count, per zone.
        let mut counting = [0u32; MAX_MODEL_ZONES];
        for (k, &z) in zone_of.iter().enumerate() {
            if !down(k) && !down(members + z) {
                counting[z] += 1;
            }
        }
        let available: u32 = counting.iter().sum();
        if available < majority {
            p_down += pi;
            continue;
        }
        // Failures that would lose quorum from here.
        let mut loss_rate = 0.0;
        if available - 1 < majority {
            // Any counting member's failure loses it.
            loss_rate += f64::from(available) * member.fail_per_hour;
        }
        for (z, &c) in counting.iter().enumerate().take(zones.len()) {
            if !down(members + z) && available - c < majority {
                loss_rate += zone.fail_per_hour;
            }
        }
        freq_per_hour += pi * loss_rate;
    }
    let per_year = freq_per_hour * HOURS_PER_YEAR;
    Ok(Estimate {
        p_no_quorum: p_down,
        quorum_loss_minutes_per_year: p_down * MINUTES_PER_YEAR,
        quorum_losses_per_year: per_year,
        mean_loss_minutes: (freq_per_hour > 0.0).then(|| p_down / freq_per_hour * 60.0),
        p_quorum_loss_per_year: 1.0 - (-per_year).exp(),
    })
}

/// One candidate layout's line in the comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Availability {
    /// `3 in 2 zones (2/1)`, or the user's own layout as `a=2,b=2,c=1`.
    pub layout: String,
    /// The member cost.
    pub members: u32,
    pub zone_members: Vec<u32>,
    /// Whether this is the layout the plan was asked about.
    pub yours: bool,
    pub quorum_loss_minutes_per_year: f64,
    pub quorum_losses_per_year: f64,
    pub mean_loss_minutes: Option<f64>,
    /// `1 − e^(−f·1 year)` (Poisson approximation).
    pub p_quorum_loss_per_year: f64,
}

/// The layouts compared by default: the arguments people have (3 in 2 zones
/// or 3 in 3?) and the usual step up (5, 7 in 3 zones).
pub const STANDARD_LAYOUTS: [&[u32]; 5] = [&[3], &[2, 1], &[1, 1, 1], &[2, 2, 1], &[3, 2, 2]];

fn label(counts: &[u32]) -> String {
    let n: u32 = counts.iter().sum();
    let z = counts.len();
    format!(
        "{n} in {z} zone{}{}",
        if z == 1 { "" } else { "s" },
        if z == 1 {
            String::new()
        } else {
            format!(
                " ({})",
                counts
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join("/")
            )
        }
    )
}

fn sorted_desc(counts: &[u32]) -> Vec<u32> {
    let mut c: Vec<u32> = counts.iter().copied().filter(|&m| m > 0).collect();
    c.sort_unstable_by(|a, b| b.cmp(a));
    c
}

/// The comparison: the user's layout first (when zones were given), then the
/// standard layouts and the recommended placement of `members` over
/// `zones.max(3)` zones, each shape once.
pub fn compare(
    yours: Option<&[Zone]>,
    members: u32,
    rates: &Rates,
) -> Result<Vec<Availability>, AvailabilityError> {
    let mut rows: Vec<(String, Vec<u32>, bool)> = Vec::new();
    if let Some(z) = yours {
        rows.push((layout_text(z), z.iter().map(|z| z.members).collect(), true));
    }
    let zone_count = yours.map_or(3, |z| z.len().max(3));
    let recommended = recommended_placement(
        members.min(MAX_PLANNED_MEMBERS),
        u32::try_from(zone_count).unwrap_or(3),
    );
    for counts in STANDARD_LAYOUTS
        .iter()
        .map(|c| c.to_vec())
        .chain(std::iter::once(recommended))
    {
        let shape = sorted_desc(&counts);
        if shape.is_empty() || rows.iter().any(|(_, c, _)| sorted_desc(c) == shape) {
            continue;
        }
        rows.push((label(&counts), counts, false));
    }
    rows.into_iter()
        .map(|(layout, counts, yours)| {
            let e = estimate(&counts, rates)?;
            Ok(Availability {
                layout,
                members: counts.iter().sum(),
                zone_members: counts,
                yours,
                quorum_loss_minutes_per_year: e.quorum_loss_minutes_per_year,
                quorum_losses_per_year: e.quorum_losses_per_year,
                mean_loss_minutes: e.mean_loss_minutes,
                p_quorum_loss_per_year: e.p_quorum_loss_per_year,
            })
        })
        .collect()
}

/// The model beside its numbers, for the JSON and the page.
#[derive(Debug, Clone, Serialize)]
pub struct Model {
    pub rates: Rates,
    pub member_availability: f64,
    pub zone_availability: f64,
    pub description: &'static str,
    pub assumptions: [&'static str; 4],
    pub defaults: &'static str,
    pub p_quorum_loss_per_year_is: &'static str,
}

pub fn model(rates: &Rates) -> Result<Model, AvailabilityError> {
    Ok(Model {
        rates: *rates,
        member_availability: rates.member_availability()?,
        zone_availability: rates.zone_availability()?,
        description: "every member and zone fails and is repaired at constant rates; a member counts when it and its zone are up; the Markov chain of all member and zone states is solved exactly by enumeration; losses per year by the frequency–duration method",
        assumptions: [
            "members and zones fail and recover independently of each other",
            "exponential times to failure and to repair",
            "repairs proceed in parallel (a member down does not delay another's repair)",
            "crash failures only: no partitions, slow disks, bad deploys or human error",
        ],
        defaults: "1 member failure a year (Jeff Dean's LADIS 2009 figure of about 0.5 machine failures a machine-year, rounded up for VM and process failures), 4 h to repair a member, 0.5 zone outages a year of 4 h each (assumptions: providers publish no per-zone rate)",
        p_quorum_loss_per_year_is: "1 − e^(−f·1 year), a Poisson approximation from the frequency f of quorum losses",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rates giving a member availability `a` (λ = 1/h, μ = a/(1−a)/h) and a
    /// zone availability `b` (α = 0.5/h, β = 0.5·b/(1−b)/h); `b = 1` disables zones.
    fn rates_for(a: f64, b: f64) -> Rates {
        Rates {
            member_failures_per_year: HOURS_PER_YEAR,
            member_repair_hours: (1.0 - a) / a,
            zone_outages_per_year: if b >= 1.0 { 0.0 } else { 0.5 * HOURS_PER_YEAR },
            zone_outage_hours: if b >= 1.0 { 1.0 } else { (1.0 - b) / (0.5 * b) },
        }
    }

    fn close(x: f64, y: f64, rel: f64) -> bool {
        (x - y).abs() <= rel * y.abs().max(1e-300)
    }

    /// Three members, no zone failures. With q = 1 − a, quorum (2 of 3) is lost
    /// when two or three members are down:
    ///   P(F) = 3·a·q² + q³ = 3q² − 2q³.
    /// Quorum is lost from the states with exactly one member down (probability
    /// 3·a²·q), by a failure of either of the two members still up (rate 2λ):
    ///   f = 3·a²·q · 2λ = 6·λ·a²·q.
    /// The other direction agrees: states with exactly two down (3·a·q²) regain
    /// quorum by either repair (2μ): 6·μ·a·q², equal because λ·a = μ·q.
    #[test]
    fn three_members_closed_form() {
        for a in [0.9, 0.99, 1.0 - 4.0 / 8766.0] {
            let r = Rates {
                zone_outages_per_year: 0.0,
                ..rates_for(a, 1.0)
            };
            let q = 1.0 - a;
            let lambda = r.member_failures_per_year / HOURS_PER_YEAR;
            let e = estimate(&[3], &r).unwrap();
            assert!(
                close(e.p_no_quorum, 3.0 * q * q - 2.0 * q * q * q, 1e-9),
                "{e:?}"
            );
            let f = 6.0 * lambda * a * a * q * HOURS_PER_YEAR;
            assert!(close(e.quorum_losses_per_year, f, 1e-9), "{e:?} vs {f}");
            let mu = 1.0 / r.member_repair_hours;
            assert!(close(6.0 * mu * a * q * q * HOURS_PER_YEAR, f, 1e-9));
            assert!(close(e.p_quorum_loss_per_year, 1.0 - (-f).exp(), 1e-12));
        }
    }

    /// Three members in three zones, one each. A member counts when member and
    /// zone are up: a "unit" up with probability u = a·b, failing at rate λ+α
    /// when up. The units are independent, so the first closed form holds for
    /// units: P(F) = 3(1−u)² − 2(1−u)³ and f = 3·u²·(1−u) · 2(λ+α).
    #[test]
    fn three_in_three_zones_closed_form() {
        let (a, b) = (0.9, 0.95);
        let r = rates_for(a, b);
        let (lambda, alpha) = (1.0, 0.5);
        let u = a * b;
        let e = estimate(&[1, 1, 1], &r).unwrap();
        let pf = 3.0 * (1.0 - u).powi(2) - 2.0 * (1.0 - u).powi(3);
        assert!(close(e.p_no_quorum, pf, 1e-9), "{e:?} vs {pf}");
        let f = 6.0 * (lambda + alpha) * u * u * (1.0 - u) * HOURS_PER_YEAR;
        assert!(close(e.quorum_losses_per_year, f, 1e-9));
    }

    /// Three members in two zones: m1, m2 in zone A, m3 in zone B. Quorum (2)
    /// needs zone A up, and both of m1, m2 up, or one of them and m3 with B:
    ///   P(up) = b·[a² + 2a(1−a)·ab] = b·a²·(1 + 2(1−a)·b).
    /// Losing it, from the states with quorum (A up in all of them):
    /// - m1, m2 up, m3 and B up (b·a²·ab): only zone A's outage (α);
    /// - m1, m2 up, m3 or B down (b·a²·(1−ab)): A's outage, or m1 or m2 (α + 2λ);
    /// - one of m1, m2 up, m3 and B up (b·2a(1−a)·ab): A, B, or either member up (2α + 2λ).
    ///   f = b·a²·[ab·α + (1−ab)(α+2λ) + 2(1−a)·b·(2α+2λ)].
    #[test]
    fn three_in_two_zones_closed_form() {
        for (a, b) in [(0.9, 0.95), (0.999, 0.9995)] {
            let r = rates_for(a, b);
            let (lambda, alpha) = (1.0, 0.5);
            let e = estimate(&[2, 1], &r).unwrap();
            let up = b * a * a * (1.0 + 2.0 * (1.0 - a) * b);
            assert!(close(e.p_no_quorum, 1.0 - up, 1e-9), "{e:?}");
            let f = b
                * a
                * a
                * (a * b * alpha
                    + (1.0 - a * b) * (alpha + 2.0 * lambda)
                    + 2.0 * (1.0 - a) * b * (2.0 * alpha + 2.0 * lambda))
                * HOURS_PER_YEAR;
            assert!(close(e.quorum_losses_per_year, f, 1e-9), "{e:?} vs {f}");
        }
    }

    /// The published argument, in numbers: with the defaults, 3 members in 2
    /// zones lose quorum for about as long as the two-member zone is out
    /// (0.5 × 4 h = 120 min a year), 3 in 3 zones for under a minute.
    #[test]
    fn defaults_separate_the_layouts() {
        let r = Rates::default();
        let m = |c: &[u32]| estimate(c, &r).unwrap().quorum_loss_minutes_per_year;
        let (two, three, five) = (m(&[2, 1]), m(&[1, 1, 1]), m(&[2, 2, 1]));
        assert!((110.0..130.0).contains(&two), "{two}");
        assert!(three < 1.0, "{three}");
        assert!(five < three, "{five} vs {three}");
        assert!(m(&[3]) > two * 0.9);
    }

    #[test]
    fn comparison_lists_yours_first_and_each_shape_once() {
        let yours = [Zone::new("x", 1), Zone::new("y", 2), Zone::new("z", 2)];
        let rows = compare(Some(&yours), 5, &Rates::default()).unwrap();
        assert_eq!(rows[0].layout, "x=1,y=2,z=2");
        assert!(rows[0].yours);
        // 2/2/1 is yours already: not listed again.
        assert!(!rows.iter().skip(1).any(|r| r.zone_members == [2, 2, 1]));
        assert_eq!(
            rows.iter()
                .skip(1)
                .map(|r| r.layout.as_str())
                .collect::<Vec<_>>(),
            [
                "3 in 1 zone",
                "3 in 2 zones (2/1)",
                "3 in 3 zones (1/1/1)",
                "7 in 3 zones (3/2/2)"
            ]
        );
        let rows = compare(None, 9, &Rates::default()).unwrap();
        assert_eq!(rows.last().unwrap().layout, "9 in 3 zones (3/3/3)");
    }

    #[test]
    fn bad_inputs_are_errors() {
        let r = Rates {
            member_repair_hours: 0.0,
            ..Rates::default()
        };
        assert!(matches!(
            estimate(&[3], &r),
            Err(AvailabilityError::BadRepair { .. })
        ));
        let r = Rates {
            zone_outages_per_year: f64::NAN,
            ..Rates::default()
        };
        assert!(matches!(
            estimate(&[3], &r),
            Err(AvailabilityError::BadRate { .. })
        ));
        assert_eq!(
            estimate(&[], &Rates::default()),
            Err(AvailabilityError::NoMembers)
        );
        assert!(matches!(
            estimate(&[5, 5], &Rates::default()),
            Err(AvailabilityError::TooManyMembers { .. })
        ));
    }

    /// SplitMix64: a fixed-seed generator for the Monte Carlo checks.
    struct Rng(u64);
    impl Rng {
        fn next_f64(&mut self) -> f64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            (z >> 11) as f64 / (1u64 << 53) as f64
        }
        fn exp(&mut self, rate: f64) -> f64 {
            -(1.0 - self.next_f64()).ln() / rate
        }
    }

    fn has_quorum(zone_of: &[usize], member_down: &[bool], zone_down: &[bool]) -> bool {
        let up = zone_of
            .iter()
            .enumerate()
            .filter(|&(i, &z)| !member_down[i] && !zone_down[z])
            .count();
        let n = u32::try_from(zone_of.len()).unwrap();
        Quorum::of(n).met_by(u32::try_from(up).unwrap())
    }

    /// An event-driven simulation of the same chain at a member availability of
    /// 0.9 (λ = 1/h, μ = 9/h) and a zone availability of 0.95 (α = 0.5/h,
    /// β = 9.5/h): the share of time without quorum and the rate of losses
    /// must match the enumeration. Fixed seed, 20 000 simulated hours per
    /// layout (about 250 000 events each): well under a second.
    #[test]
    fn monte_carlo_agrees_at_member_availability_0_9() {
        let (a, b) = (0.9, 0.95);
        let r = rates_for(a, b);
        let (lambda, mu, alpha, beta) = (1.0, 9.0, 0.5, 9.5);
        let mut rng = Rng(0x5EED_0014);
        for counts in [&[2u32, 2, 1][..], &[3, 2, 2], &[2, 1], &[3, 3, 3]] {
            let exact = estimate(counts, &r).unwrap();
            let zone_of: Vec<usize> = counts
                .iter()
                .enumerate()
                .flat_map(|(z, &m)| std::iter::repeat_n(z, m as usize))
                .collect();
            let (n, z) = (zone_of.len(), counts.len());
            let mut member_down = vec![false; n];
            let mut zone_down = vec![false; z];
            let horizon = 20_000.0;
            let (mut t, mut down_time, mut losses) = (0.0, 0.0, 0u64);
            let mut quorum = true;
            while t < horizon {
                let rate = |d: bool, fail: f64, fix: f64| if d { fix } else { fail };
                let total: f64 = member_down
                    .iter()
                    .map(|&d| rate(d, lambda, mu))
                    .sum::<f64>()
                    + zone_down.iter().map(|&d| rate(d, alpha, beta)).sum::<f64>();
                let dt = rng.exp(total).min(horizon - t);
                if !quorum {
                    down_time += dt;
                }
                t += dt;
                // Pick the component that changes, in proportion to its rate.
                let mut pick = rng.next_f64() * total;
                let mut flipped = false;
                for d in member_down.iter_mut() {
                    pick -= rate(*d, lambda, mu);
                    if pick < 0.0 {
                        *d = !*d;
                        flipped = true;
                        break;
                    }
                }
                if !flipped {
                    for d in zone_down.iter_mut() {
                        pick -= rate(*d, alpha, beta);
                        if pick < 0.0 {
                            *d = !*d;
                            break;
                        }
                    }
                }
                let now = has_quorum(&zone_of, &member_down, &zone_down);
                if quorum && !now {
                    losses += 1;
                }
                quorum = now;
            }
            let p = down_time / horizon;
            let f = losses as f64 / horizon * HOURS_PER_YEAR;
            // 10 000 to 20 000 losses per run: the simulation lands within about
            // 1 % of the exact values; 5 % is several standard deviations.
            assert!(
                close(p, exact.p_no_quorum, 0.05),
                "{counts:?}: simulated {p}, exact {}",
                exact.p_no_quorum
            );
            assert!(
                close(f, exact.quorum_losses_per_year, 0.05),
                "{counts:?}: simulated {f}/year, exact {}",
                exact.quorum_losses_per_year
            );
        }
    }
}
