//! The plan: every rule of this module applied to one set of inputs, as one
//! serialisable value (what `etcd-lens plan --json` prints and the page will
//! render). Sections the inputs do not reach are `null` (`timing` without an
//! RTT, `snapshot` without a file, `upgrade` without a target, `hardware`
//! without clients, requests or data); the shape never changes.
//!
//! Warnings come in a fixed order: member count, zones, timing, snapshot,
//! running version and upgrade.

use serde::Serialize;

use super::availability::{self, Availability, AvailabilityError, Model, Rates};
use super::domains::{self, Fix, PairLoss, Zone, ZoneReport, ZonesError};
use super::hardware::{self, Hardware, Load};
use super::headroom::{self, Headroom, HeadroomError, HeadroomInputs, SnapshotFacts};
use super::quorum::{self, MAX_PLANNED_MEMBERS, Quorum, QuorumRow};
use super::timing::{self, Timing, TimingError};
use super::upgrade::{
    self, Checklist, Minor, SnapshotEvidence, TrailerState, UpgradeInput, Version,
};
use super::warning::{Code, Warning};

/// Members planned for when neither a count nor zones are given.
pub const DEFAULT_MEMBERS: u32 = 3;

/// Everything the planner may be told.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlanInput {
    /// Voting members; `None`: the sum of `zones`, else [`DEFAULT_MEMBERS`].
    pub members: Option<u32>,
    /// Learners: listed, never counted in quorum.
    pub learners: u32,
    pub zones: Option<Vec<Zone>>,
    pub rtt_ms: Option<f64>,
    pub clients: Option<u64>,
    pub requests_per_second: Option<u64>,
    pub rates: Rates,
    pub snapshot: Option<SnapshotFacts>,
    /// The snapshot's trailer and age, for the upgrade checklist.
    pub snapshot_trailer: Option<TrailerState>,
    pub snapshot_age_hours: Option<f64>,
    pub headroom: HeadroomInputs,
    /// The running etcd version (the lowest member's).
    pub etcd_version: Option<Version>,
    pub upgrade_to: Option<Minor>,
    pub quorum_healthy: Option<bool>,
    pub free_disk_bytes: Option<u64>,
    /// What the companion server knows of the running cluster: it fills the
    /// member count, learners, version and quorum where those were not given,
    /// and decides the checklist's alarms.
    pub live: Option<LiveFacts>,
}

/// A running cluster as the companion server sees it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LiveFacts {
    pub cluster: String,
    pub voting_members: u32,
    pub learners: u32,
    /// The lowest member version (the one an upgrade starts from).
    pub lowest_version: Option<Version>,
    pub quorum_held: bool,
    pub alarms: Vec<String>,
}

impl LiveFacts {
    /// The lowest of the members' versions that parse (`3.5.21`).
    pub fn lowest<'a>(versions: impl IntoIterator<Item = &'a str>) -> Option<Version> {
        versions
            .into_iter()
            .filter_map(upgrade::parse_version)
            .min()
    }
}

/// Why there is no plan.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    #[error("--members {members} disagrees with --zones, which hold {in_zones}")]
    MembersDisagree { members: u32, in_zones: u32 },
    #[error("plan for 1 to {max} voting members (got {members})")]
    MemberCount { members: u32, max: u32 },
    #[error(transparent)]
    Zones(#[from] ZonesError),
    #[error(transparent)]
    Availability(#[from] AvailabilityError),
    #[error(transparent)]
    Timing(#[from] TimingError),
    #[error(transparent)]
    Headroom(#[from] HeadroomError),
}

/// A rule and where it comes from, for the page's "sources" list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Source {
    pub rule: &'static str,
    pub source: &'static str,
}

/// Every rule the plan applies, in plain words.
pub const SOURCES: [Source; 9] = [
    Source {
        rule: "quorum ⌊n/2⌋+1; odd counts; at most 7 members",
        source: "etcd FAQ (Why an odd number of cluster members? What is maximum cluster size?)",
    },
    Source {
        rule: "a zone's loss keeps quorum iff the other zones hold a majority",
        source: "quorum arithmetic on the etcd FAQ's majority rule",
    },
    Source {
        rule: "availability: exact Markov enumeration, frequency–duration, Poisson approximation",
        source: "etcd-lens's model; default rates are assumptions (member rate after Jeff Dean, LADIS 2009)",
    },
    Source {
        rule: "heartbeat 0.5–1.5 × RTT, election ≥ 10 × RTT, ≤ 50 000 ms, ≥ 5 × heartbeat",
        source: timing::SOURCE,
    },
    Source {
        rule: "hardware tiers, 50 / 500 sequential IOPS",
        source: hardware::SOURCE,
    },
    Source {
        rule: "WAL fsync p99 < 10 ms, backend commit p99 < 25 ms",
        source: "etcd hardware and tuning guides; etcd FAQ (disk latency is part of leader liveness)",
    },
    Source {
        rule: "2 GiB default quota, 8 GiB suggested maximum, warn above 80 %",
        source: "etcd system limits and maintenance guide (Space quota)",
    },
    Source {
        rule: "defrag when in use < 50 % of the size and > 100 MiB, or ≥ 200 MiB reclaimable",
        source: "etcd's monitoring mixin (etcdDatabaseHighFragmentationRatio); ahrtr/etcd-defrag's example rule",
    },
    Source {
        rule: "one minor at a time; 3.5.32+ before 3.6; 3.5.0–3.5.2 data inconsistency",
        source: "etcd upgrade policy and 3.5 → 3.6 upgrade guide; etcd 3.6 announcement",
    },
];

/// The plan.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub quorum: QuorumRow,
    pub learners: u32,
    pub quorum_table: Vec<QuorumRow>,
    pub warnings: Vec<Warning>,
    /// Per zone, in the order given; empty without zones.
    pub zones: Vec<ZoneReport>,
    pub zone_pairs: Vec<PairLoss>,
    /// `None` without zones.
    pub survives_any_zone_loss: Option<bool>,
    pub survives_any_two_zone_loss: Option<bool>,
    /// `None` when none is needed (or no zones were given).
    pub smallest_fix: Option<Fix>,
    /// The members spread as evenly as possible over the given zones (over 3
    /// when none were given), largest first.
    pub recommended_placement: Vec<u32>,
    /// Whether that placement survives the loss of any one zone (it cannot
    /// over fewer than 3 zones, or with fewer than 3 members).
    pub recommended_placement_survives_zone_loss: bool,
    pub availability: Vec<Availability>,
    pub availability_model: Model,
    pub timing: Option<Timing>,
    pub hardware: Option<Hardware>,
    pub snapshot: Option<Headroom>,
    pub upgrade: Option<Checklist>,
    /// The running cluster the plan was filled from, if any.
    pub live: Option<LiveFacts>,
    pub sources: [Source; 9],
}

/// Apply every rule.
pub fn plan(input: &PlanInput) -> Result<Plan, PlanError> {
    // Live facts fill what was not given (and never override it).
    let input = &{
        let mut i = input.clone();
        if let Some(l) = &input.live {
            if i.members.is_none() && i.zones.is_none() && l.voting_members > 0 {
                i.members = Some(l.voting_members);
            }
            if i.learners == 0 {
                i.learners = l.learners;
            }
            i.etcd_version = i.etcd_version.or(l.lowest_version);
            i.quorum_healthy = i.quorum_healthy.or(Some(l.quorum_held));
        }
        i
    };
    if let Some(z) = &input.zones {
        domains::check_size(z)?;
    }
    let in_zones = input
        .zones
        .as_ref()
        .map(|z| z.iter().map(|z| z.members).sum::<u32>());
    let members = match (input.members, in_zones) {
        (Some(m), Some(z)) if m != z => {
            return Err(PlanError::MembersDisagree {
                members: m,
                in_zones: z,
            });
        }
        (Some(m), _) | (None, Some(m)) => m,
        (None, None) => DEFAULT_MEMBERS,
    };
    if members == 0 || members > MAX_PLANNED_MEMBERS {
        return Err(PlanError::MemberCount {
            members,
            max: MAX_PLANNED_MEMBERS,
        });
    }
    let mut warnings = quorum::member_count_warnings(members);

    let analysis = input.zones.as_deref().map(domains::analyse);
    if let Some(d) = &analysis
        && !d.survives_any_zone_loss
    {
        let losing: Vec<String> = d
            .zones
            .iter()
            .filter(|z| !z.loss_keeps_quorum)
            .map(|z| {
                format!(
                    "{} ({} member{})",
                    z.name,
                    z.members,
                    if z.members == 1 { "" } else { "s" }
                )
            })
            .collect();
        let fix = d.smallest_fix.as_ref().map_or(String::new(), |f| {
            format!("; smallest fix: {}", f.description())
        });
        warnings.push(Warning::new(
            Code::ZoneLossLosesQuorum,
            format!(
                "losing {} loses quorum ({} of {members} needed){fix}",
                losing.join(" or "),
                Quorum::of(members).needed
            ),
            "quorum arithmetic on the etcd FAQ's majority rule",
        ));
    }
    let zone_count = input.zones.as_ref().map_or(3, |z| z.len().max(1));
    let recommended_placement =
        domains::recommended_placement(members, u32::try_from(zone_count).unwrap_or(3));

    let availability = availability::compare(input.zones.as_deref(), members, &input.rates)?;
    let availability_model = availability::model(&input.rates)?;

    let timing = input.rtt_ms.map(timing::recommend).transpose()?;
    if let Some(t) = &timing {
        if !t.defaults_safe {
            warnings.push(Warning::new(
                Code::RttUnsafeDefaults,
                format!(
                    "at {} ms RTT etcd's defaults (heartbeat {} ms, election {} ms) are unsafe: the election timeout must be at least {} ms; use {}",
                    t.rtt_ms,
                    timing::DEFAULT_HEARTBEAT_MS,
                    timing::DEFAULT_ELECTION_TIMEOUT_MS,
                    t.election_timeout_min_ms,
                    t.flags
                ),
                timing::SOURCE,
            ));
        }
        if !t.within_guidance {
            warnings.push(Warning::new(
                Code::RttTooHigh,
                format!(
                    "at {} ms RTT no election timeout etcd accepts (at most {} ms) is 10 × the RTT: expect elections; bring the members closer",
                    t.rtt_ms,
                    timing::MAX_ELECTION_TIMEOUT_MS
                ),
                timing::SOURCE,
            ));
        }
    }

    let snapshot = input
        .snapshot
        .as_ref()
        .map(|f| headroom::headroom(f, &input.headroom))
        .transpose()?;
    if let Some(h) = &snapshot {
        warnings.extend(headroom::warnings(h));
    }

    let hardware = hardware::tier_for(&Load {
        clients: input.clients,
        requests_per_second: input.requests_per_second,
        data_bytes: snapshot.as_ref().map(|h| h.db_size_in_use_bytes),
    });

    let upgrade = match input.upgrade_to {
        Some(target) => {
            let (c, w) = upgrade::checklist(&UpgradeInput {
                current: input.etcd_version,
                target,
                snapshot: snapshot.as_ref().map(|h| SnapshotEvidence {
                    trailer: input.snapshot_trailer.unwrap_or(TrailerState::Absent),
                    check_problems: h.check_problems,
                    age_hours: input.snapshot_age_hours,
                    alarms: h.alarms.clone(),
                    db_size_bytes: h.db_size_bytes,
                }),
                quorum_healthy: input.quorum_healthy,
                free_disk_bytes: input.free_disk_bytes,
                live_alarms: input.live.as_ref().map(|l| l.alarms.clone()),
            });
            warnings.extend(w);
            Some(c)
        }
        None => {
            if let Some(v) = input.etcd_version {
                warnings.extend(upgrade::version_warnings(v));
            }
            None
        }
    };

    Ok(Plan {
        quorum: Quorum::of(members).row(),
        learners: input.learners,
        quorum_table: quorum::table(),
        warnings,
        zones: analysis
            .as_ref()
            .map(|d| d.zones.clone())
            .unwrap_or_default(),
        zone_pairs: analysis
            .as_ref()
            .map(|d| d.zone_pairs.clone())
            .unwrap_or_default(),
        survives_any_zone_loss: analysis.as_ref().map(|d| d.survives_any_zone_loss),
        survives_any_two_zone_loss: analysis.as_ref().map(|d| d.survives_any_two_zone_loss),
        smallest_fix: analysis.and_then(|d| d.smallest_fix),
        recommended_placement_survives_zone_loss: domains::survives_any_zone_loss(
            &recommended_placement,
        ),
        recommended_placement,
        availability,
        availability_model,
        timing,
        hardware,
        snapshot,
        upgrade,
        live: input.live.clone(),
        sources: SOURCES,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::domains::parse_zones;

    fn codes(p: &Plan) -> Vec<Code> {
        p.warnings.iter().map(|w| w.code).collect()
    }

    #[test]
    fn defaults_plan_three_members() {
        let p = plan(&PlanInput::default()).unwrap();
        assert_eq!(
            p.quorum,
            QuorumRow {
                members: 3,
                majority: 2,
                tolerates: 1
            }
        );
        assert_eq!(p.quorum_table.len(), 9);
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        assert_eq!(p.survives_any_zone_loss, None);
        assert!(p.zones.is_empty());
        assert!(
            p.timing.is_none()
                && p.snapshot.is_none()
                && p.hardware.is_none()
                && p.upgrade.is_none()
        );
        assert_eq!(p.recommended_placement, [1, 1, 1]);
        assert!(!p.availability.is_empty());
    }

    #[test]
    fn live_facts_fill_what_was_not_given() {
        let live = LiveFacts {
            cluster: "prod".into(),
            voting_members: 4,
            learners: 1,
            lowest_version: LiveFacts::lowest(["3.5.21", "3.5.1", "bogus"]),
            quorum_held: false,
            alarms: vec!["nospace on member 2".into()],
        };
        assert_eq!(live.lowest_version.unwrap().to_string(), "3.5.1");
        let p = plan(&PlanInput {
            live: Some(live.clone()),
            upgrade_to: upgrade::parse_minor("3.6"),
            ..PlanInput::default()
        })
        .unwrap();
        assert_eq!((p.quorum.members, p.learners), (4, 1));
        assert!(codes(&p).contains(&Code::EvenMembers), "{:?}", codes(&p));
        let c = p.upgrade.unwrap();
        let state = |id: &str| c.items.iter().find(|i| i.id == id).unwrap().state;
        assert_eq!(state("quorum-healthy"), upgrade::State::Fail);
        assert_eq!(state("no-alarms"), upgrade::State::Fail);
        assert_eq!(c.current.unwrap().to_string(), "3.5.1");
        // What the user typed wins over the live cluster.
        let p = plan(&PlanInput {
            members: Some(5),
            live: Some(live),
            ..PlanInput::default()
        })
        .unwrap();
        assert_eq!(p.quorum.members, 5);
        assert_eq!(p.live.unwrap().cluster, "prod");
    }

    #[test]
    fn three_in_two_zones_warns_and_fixes() {
        let p = plan(&PlanInput {
            zones: Some(parse_zones("a=2,b=1").unwrap()),
            ..PlanInput::default()
        })
        .unwrap();
        assert_eq!(codes(&p), [Code::ZoneLossLosesQuorum]);
        assert_eq!(p.survives_any_zone_loss, Some(false));
        assert!(p.smallest_fix.is_some());
        assert!(
            p.warnings[0].message.contains("losing a (2 members)"),
            "{}",
            p.warnings[0].message
        );
        assert!(p.availability[0].yours);
    }

    #[test]
    fn the_issues_codes_appear_where_they_should() {
        let p = plan(&PlanInput {
            members: Some(8),
            rtt_ms: Some(250.0),
            ..PlanInput::default()
        })
        .unwrap();
        assert_eq!(
            codes(&p),
            [
                Code::EvenMembers,
                Code::OverSevenMembers,
                Code::RttUnsafeDefaults
            ]
        );
        assert_eq!(p.timing.as_ref().unwrap().election_timeout_ms, 2500);
    }

    #[test]
    fn members_must_agree_with_zones() {
        let e = plan(&PlanInput {
            members: Some(3),
            zones: Some(parse_zones("a=2,b=2").unwrap()),
            ..PlanInput::default()
        })
        .unwrap_err();
        assert_eq!(
            e,
            PlanError::MembersDisagree {
                members: 3,
                in_zones: 4
            }
        );
        assert!(
            plan(&PlanInput {
                members: Some(0),
                ..PlanInput::default()
            })
            .is_err()
        );
        assert!(
            plan(&PlanInput {
                members: Some(10),
                ..PlanInput::default()
            })
            .is_err()
        );
    }

    #[test]
    fn json_has_the_issues_shape() {
        let p = plan(&PlanInput {
            zones: Some(parse_zones("a=2,b=2,c=1").unwrap()),
            rtt_ms: Some(50.0),
            clients: Some(10),
            requests_per_second: Some(100),
            ..PlanInput::default()
        })
        .unwrap();
        let j = serde_json::to_value(&p).unwrap();
        assert_eq!(
            j["quorum"],
            serde_json::json!({"members": 5, "majority": 3, "tolerates": 2})
        );
        assert_eq!(
            j["quorum_table"][8],
            serde_json::json!({"members": 9, "majority": 5, "tolerates": 4})
        );
        assert_eq!(j["warnings"], serde_json::json!([]));
        assert_eq!(
            j["zones"][2],
            serde_json::json!({"name": "c", "members": 1, "loss_keeps_quorum": true})
        );
        assert_eq!(j["survives_any_zone_loss"], true);
        assert_eq!(j["smallest_fix"], serde_json::Value::Null);
        let a = &j["availability"][0];
        for k in [
            "layout",
            "members",
            "quorum_loss_minutes_per_year",
            "p_quorum_loss_per_year",
        ] {
            assert!(!a[k].is_null(), "{k}");
        }
        assert_eq!(a["layout"], "a=2,b=2,c=1");
        assert_eq!(j["timing"]["heartbeat_ms"], 50);
        assert_eq!(j["timing"]["election_timeout_ms"], 1000);
        assert_eq!(j["hardware"]["tier"], "small");
        assert_eq!(j["snapshot"], serde_json::Value::Null);
        let w = serde_json::to_value(Warning::new(Code::QuotaNear, "m".into(), "s")).unwrap();
        assert_eq!(
            w,
            serde_json::json!({"code": "quota-near", "message": "m", "source": "s"})
        );
    }
}
