//! Failure domains: members per zone (or rack, or region) → which losses of
//! one or two whole zones keep quorum, whether the layout survives the loss
//! of any one zone, the smallest change that makes it survive, and a
//! recommended placement.
//!
//! The rule is quorum arithmetic only (etcd's FAQ: a majority, ⌊n/2⌋+1, must
//! remain): losing zone z keeps quorum iff `n − members(z) ≥ majority(n)`, so
//! a layout survives any single-zone loss iff its largest zone holds at most
//! the failures tolerated. Zones keep the order they were given in; nothing
//! here sorts them, so output follows input.
//!
//! "Smallest fix" ranks single changes by what they cost, cheapest first:
//! moving a member between existing zones (free), adding one member to an
//! existing zone (a machine), moving a member to a new zone (a failure domain,
//! often harder to get than a machine: many regions have three zones), adding
//! a member in a new zone (both). When no single change is enough (one
//! member; everything in one zone) the fix is the recommended placement.

use serde::Serialize;

use super::quorum::Quorum;

/// How many zones and members per zone a layout may have: availability
/// enumerates 2^(members+zones) states, and a zone list this long is a typo.
pub const MAX_ZONES: usize = 9;

/// The name given to a zone the fix proposes to add (`new-2`, `new-3`… when
/// the layout already has a zone of that name).
pub const NEW_ZONE: &str = "new";

/// A zone and its voting members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Zone {
    pub name: String,
    pub members: u32,
}

impl Zone {
    pub fn new(name: &str, members: u32) -> Self {
        Self {
            name: name.to_string(),
            members,
        }
    }
}

/// `a=2,b=2,c=1`: the layout's text form (what `--zones` takes and the page's URL holds).
pub fn layout_text(zones: &[Zone]) -> String {
    zones
        .iter()
        .map(|z| format!("{}={}", z.name, z.members))
        .collect::<Vec<_>>()
        .join(",")
}

/// Why a `--zones` text is not a layout.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ZonesError {
    #[error("no zones given")]
    Empty,
    #[error("zone {index} ({text:?}): expected NAME=MEMBERS, e.g. a=2")]
    Syntax { index: usize, text: String },
    #[error("zone {name:?}: {text:?} is not a member count (0..=9)")]
    Count { name: String, text: String },
    #[error("zone {name:?} is given twice")]
    Duplicate { name: String },
    #[error("{zones} zones: at most {max} are modelled")]
    TooManyZones { zones: usize, max: usize },
    #[error("{members} members in all: at most {max} are modelled")]
    TooManyMembers { members: u32, max: u32 },
}

/// Parse `a=2,b=2,c=1` (spaces around items are ignored). Names are kept as
/// given; counts are 0..=9 and their sum at most [`super::quorum::MAX_PLANNED_MEMBERS`].
pub fn parse_zones(text: &str) -> Result<Vec<Zone>, ZonesError> {
    let mut zones: Vec<Zone> = Vec::new();
    for (i, item) in text.split(',').map(str::trim).enumerate() {
        if item.is_empty() && text.trim().is_empty() {
            return Err(ZonesError::Empty);
        }
        let Some((name, count)) = item.split_once('=') else {
            return Err(ZonesError::Syntax {
                index: i + 1,
                text: item.to_string(),
            });
        };
        let (name, count) = (name.trim(), count.trim());
        if name.is_empty() {
            return Err(ZonesError::Syntax {
                index: i + 1,
                text: item.to_string(),
            });
        }
        let members = count
            .parse::<u32>()
            .ok()
            .filter(|m| *m <= super::quorum::MAX_PLANNED_MEMBERS)
            .ok_or_else(|| ZonesError::Count {
                name: name.to_string(),
                text: count.to_string(),
            })?;
        if zones.iter().any(|z| z.name == name) {
            return Err(ZonesError::Duplicate {
                name: name.to_string(),
            });
        }
        zones.push(Zone::new(name, members));
    }
    check_size(&zones)?;
    Ok(zones)
}

/// The modelled limits: at most [`MAX_ZONES`] zones and 9 members in all.
pub fn check_size(zones: &[Zone]) -> Result<(), ZonesError> {
    if zones.is_empty() {
        return Err(ZonesError::Empty);
    }
    if zones.len() > MAX_ZONES {
        return Err(ZonesError::TooManyZones {
            zones: zones.len(),
            max: MAX_ZONES,
        });
    }
    let members = total(zones);
    if members > super::quorum::MAX_PLANNED_MEMBERS {
        return Err(ZonesError::TooManyMembers {
            members,
            max: super::quorum::MAX_PLANNED_MEMBERS,
        });
    }
    Ok(())
}

fn total(zones: &[Zone]) -> u32 {
    zones.iter().map(|z| z.members).sum()
}

/// One zone's loss.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ZoneReport {
    pub name: String,
    pub members: u32,
    /// Whether the other zones still hold a majority.
    pub loss_keeps_quorum: bool,
}

/// The loss of two zones at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PairLoss {
    pub zones: [String; 2],
    pub members_lost: u32,
    pub keeps_quorum: bool,
}

/// A single change that makes the layout survive any one zone's loss.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fix {
    /// Move one member from `from` to `to` ([`NEW_ZONE`] when `new_zone`).
    Move {
        from: String,
        to: String,
        new_zone: bool,
        /// The layout after the change, as `a=1,b=1,c=1` (a zone emptied stays, as `a=0`).
        layout: String,
        description: String,
    },
    /// Add one member in `zone` ([`NEW_ZONE`] when `new_zone`).
    Add {
        zone: String,
        new_zone: bool,
        layout: String,
        description: String,
    },
    /// No single change is enough: lay the members out again like this.
    Relayout {
        members: u32,
        zones: Vec<u32>,
        layout: String,
        description: String,
    },
}

impl Fix {
    /// What to do, in words.
    pub fn description(&self) -> &str {
        match self {
            Fix::Move { description, .. }
            | Fix::Add { description, .. }
            | Fix::Relayout { description, .. } => description,
        }
    }

    /// The layout after the change (`a=1,b=1,c=1`).
    pub fn layout(&self) -> &str {
        match self {
            Fix::Move { layout, .. } | Fix::Add { layout, .. } | Fix::Relayout { layout, .. } => {
                layout
            }
        }
    }
}

/// What a layout's zones mean for quorum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Domains {
    pub members: u32,
    pub zones: Vec<ZoneReport>,
    /// Every pair of zones, in input order (`a+b`, `a+c`, `b+c`).
    pub zone_pairs: Vec<PairLoss>,
    pub survives_any_zone_loss: bool,
    pub survives_any_two_zone_loss: bool,
    /// `None` when the layout already survives any one zone's loss.
    pub smallest_fix: Option<Fix>,
}

/// Whether losing `lost` of `n` members keeps a majority.
fn keeps(n: u32, lost: u32) -> bool {
    Quorum::of(n).met_by(n.saturating_sub(lost))
}

/// Whether a layout (members per zone) survives the loss of any one zone.
/// A single zone never does: its loss is the loss of everything.
pub fn survives_any_zone_loss(counts: &[u32]) -> bool {
    let n: u32 = counts.iter().sum();
    n > 0 && counts.iter().all(|&m| keeps(n, m))
}

/// Analyse a layout.
pub fn analyse(zones: &[Zone]) -> Domains {
    let n = total(zones);
    let reports: Vec<ZoneReport> = zones
        .iter()
        .map(|z| ZoneReport {
            name: z.name.clone(),
            members: z.members,
            loss_keeps_quorum: keeps(n, z.members),
        })
        .collect();
    let mut pairs = Vec::new();
    for (i, a) in zones.iter().enumerate() {
        for b in &zones[i + 1..] {
            let lost = a.members + b.members;
            pairs.push(PairLoss {
                zones: [a.name.clone(), b.name.clone()],
                members_lost: lost,
                keeps_quorum: keeps(n, lost),
            });
        }
    }
    let counts: Vec<u32> = zones.iter().map(|z| z.members).collect();
    let survives = survives_any_zone_loss(&counts);
    Domains {
        members: n,
        survives_any_two_zone_loss: zones.len() >= 2 && pairs.iter().all(|p| p.keeps_quorum),
        zones: reports,
        zone_pairs: pairs,
        survives_any_zone_loss: survives,
        smallest_fix: (!survives).then(|| smallest_fix(zones)),
    }
}

fn with_new_zone(zones: &[Zone]) -> Vec<Zone> {
    let taken = |n: &str| zones.iter().any(|z| z.name == n);
    let name = std::iter::once(NEW_ZONE.to_string())
        .chain((2..).map(|i| format!("{NEW_ZONE}-{i}")))
        .find(|n| !taken(n))
        .unwrap_or_default();
    let mut v = zones.to_vec();
    v.push(Zone::new(&name, 0));
    v
}

fn counts_of(zones: &[Zone]) -> Vec<u32> {
    zones.iter().map(|z| z.members).collect()
}

/// The cheapest single change that makes `zones` survive any one zone's loss
/// (see the module doc for the ranking); ties go to the first zone in input
/// order, moving from the largest zone and adding to the smallest.
pub fn smallest_fix(zones: &[Zone]) -> Fix {
    let n = total(zones);
    // Candidate indices: from the largest zone, to the smallest (stable on input order).
    let mut by_size: Vec<usize> = (0..zones.len()).collect();
    by_size.sort_by_key(|&i| std::cmp::Reverse(zones[i].members));
    let mut smallest_first: Vec<usize> = (0..zones.len()).collect();
    smallest_first.sort_by_key(|&i| zones[i].members);

    let try_move = |zs: &[Zone], new_zone: bool| -> Option<Fix> {
        for &from in &by_size {
            if zs[from].members == 0 {
                continue;
            }
            let targets: Vec<usize> = if new_zone {
                vec![zs.len() - 1]
            } else {
                smallest_first.clone()
            };
            for to in targets {
                if to == from {
                    continue;
                }
                let mut after = zs.to_vec();
                after[from].members -= 1;
                after[to].members += 1;
                if survives_any_zone_loss(&counts_of(&after)) {
                    let to_name = zs[to].name.clone();
                    return Some(Fix::Move {
                        description: format!(
                            "move one member from {} to {}",
                            zs[from].name,
                            if new_zone {
                                "a new zone".to_string()
                            } else {
                                to_name.clone()
                            }
                        ),
                        from: zs[from].name.clone(),
                        to: to_name,
                        new_zone,
                        layout: layout_text(&after),
                    });
                }
            }
        }
        None
    };
    let try_add = |zs: &[Zone], new_zone: bool| -> Option<Fix> {
        let targets: Vec<usize> = if new_zone {
            vec![zs.len() - 1]
        } else {
            smallest_first.clone()
        };
        for to in targets {
            let mut after = zs.to_vec();
            after[to].members += 1;
            if survives_any_zone_loss(&counts_of(&after)) {
                return Some(Fix::Add {
                    description: format!(
                        "add one member in {} ({} members in all)",
                        if new_zone {
                            "a new zone".to_string()
                        } else {
                            zs[to].name.clone()
                        },
                        n + 1
                    ),
                    zone: zs[to].name.clone(),
                    new_zone,
                    layout: layout_text(&after),
                });
            }
        }
        None
    };
    let grown = with_new_zone(zones);
    let fits_model = n < super::quorum::MAX_PLANNED_MEMBERS;
    try_move(zones, false)
        .or_else(|| fits_model.then(|| try_add(zones, false)).flatten())
        .or_else(|| {
            (zones.len() < MAX_ZONES)
                .then(|| try_move(&grown, true))
                .flatten()
        })
        .or_else(|| {
            (fits_model && zones.len() < MAX_ZONES)
                .then(|| try_add(&grown, true))
                .flatten()
        })
        .unwrap_or_else(|| relayout(n, zones.len()))
}

/// The fallback fix: at least 3 members over at least 3 zones.
fn relayout(n: u32, zones: usize) -> Fix {
    let members = n.max(3) | 1; // odd, at least 3
    let members = members.min(super::quorum::MAX_PLANNED_MEMBERS);
    let z = u32::try_from(zones).unwrap_or(u32::MAX).max(3);
    let counts = recommended_placement(members, z);
    let layout = counts
        .iter()
        .enumerate()
        .map(|(i, c)| format!("zone-{}={c}", i + 1))
        .collect::<Vec<_>>()
        .join(",");
    Fix::Relayout {
        description: format!(
            "no single change is enough: run {members} members over {} zones ({})",
            counts.len(),
            counts
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join("/")
        ),
        members,
        zones: counts,
        layout,
    }
}

/// Spread `members` over `zones` as evenly as possible, largest first (the
/// counts differ by at most one; with more zones than members, one each).
/// The even spread minimises the largest zone, so it survives a single-zone
/// loss whenever any placement of these counts does, and likewise minimises
/// the largest pair for two-zone losses.
pub fn recommended_placement(members: u32, zones: u32) -> Vec<u32> {
    if members == 0 || zones == 0 {
        return Vec::new();
    }
    let z = zones.min(members);
    let (base, extra) = (members / z, members % z);
    (0..z).map(|i| base + u32::from(i < extra)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(s: &str) -> Vec<Zone> {
        parse_zones(s).unwrap()
    }

    #[test]
    fn three_in_two_zones_fails_a_zone_loss_three_in_three_survives() {
        let d = analyse(&layout("a=2,b=1"));
        assert!(!d.survives_any_zone_loss);
        assert_eq!(
            d.zones
                .iter()
                .map(|z| (z.name.as_str(), z.loss_keeps_quorum))
                .collect::<Vec<_>>(),
            [("a", false), ("b", true)]
        );
        let d = analyse(&layout("a=1,b=1,c=1"));
        assert!(d.survives_any_zone_loss);
        assert!(d.smallest_fix.is_none());
        assert!(!d.survives_any_two_zone_loss);
    }

    #[test]
    fn five_in_three_zones_as_2_2_1_survives_any_one_zone() {
        let d = analyse(&layout("a=2,b=2,c=1"));
        assert!(d.survives_any_zone_loss);
        assert!(d.zones.iter().all(|z| z.loss_keeps_quorum));
        // Two zones: a+b leave 1 of 5, a+c and b+c leave 2: all lose quorum.
        assert_eq!(d.zone_pairs.len(), 3);
        assert!(d.zone_pairs.iter().all(|p| !p.keeps_quorum));
        // 3/1/1 does not survive the loss of the zone with 3.
        assert!(!analyse(&layout("a=3,b=1,c=1")).survives_any_zone_loss);
    }

    #[test]
    fn two_zone_losses_of_seven_over_five_zones() {
        // 2/2/1/1/1: losing two single zones leaves 5 of 7 (quorum 4); two big ones leave 3.
        let d = analyse(&layout("a=2,b=2,c=1,d=1,e=1"));
        assert!(d.survives_any_zone_loss);
        let keep = |x: &str, y: &str| {
            d.zone_pairs
                .iter()
                .find(|p| p.zones == [x.to_string(), y.to_string()])
                .unwrap()
                .keeps_quorum
        };
        assert!(keep("c", "d"));
        assert!(keep("a", "c"));
        assert!(!keep("a", "b"));
        assert!(!d.survives_any_two_zone_loss);
        // 9 over 9 zones, one each: any two lost leave 7 of 9 (quorum 5).
        let nine: Vec<Zone> = (1..=9).map(|i| Zone::new(&format!("z{i}"), 1)).collect();
        assert!(analyse(&nine).survives_any_two_zone_loss);
    }

    #[test]
    fn smallest_fixes_follow_the_cost_ranking() {
        // 3/1/1 → move one from a to b (free).
        let f = analyse(&layout("a=3,b=1,c=1")).smallest_fix.unwrap();
        assert!(
            matches!(&f, Fix::Move { from, to, new_zone: false, layout, .. } if from == "a" && to == "b" && layout == "a=2,b=2,c=1"),
            "{f:?}"
        );
        // 2/1 → no move or add within two zones works: move one to a new zone.
        let f = analyse(&layout("a=2,b=1")).smallest_fix.unwrap();
        assert!(
            matches!(&f, Fix::Move { from, new_zone: true, layout, .. } if from == "a" && layout == "a=1,b=1,new=1"),
            "{f:?}"
        );
        // 2/1/1 → adding one member in b (5 members, 2/2/1) beats needing a fourth zone.
        let f = analyse(&layout("a=2,b=1,c=1")).smallest_fix.unwrap();
        assert!(
            matches!(&f, Fix::Add { zone, new_zone: false, layout, .. } if zone == "b" && layout == "a=2,b=2,c=1"),
            "{f:?}"
        );
        // 2/2 → only a member in a new zone (2/2/1) works.
        let f = analyse(&layout("a=2,b=2")).smallest_fix.unwrap();
        assert!(
            matches!(&f, Fix::Add { new_zone: true, layout, .. } if layout == "a=2,b=2,new=1"),
            "{f:?}"
        );
        // Every proposed layout does survive.
        for s in [
            "a=3",
            "a=2,b=1",
            "a=3,b=2",
            "a=4,b=3",
            "a=2,b=1,c=1",
            "a=1",
            "a=9",
        ] {
            let f = analyse(&layout(s)).smallest_fix.unwrap();
            let after = match &f {
                Fix::Move { layout, .. } | Fix::Add { layout, .. } => {
                    counts_of(&parse_zones(layout).unwrap())
                }
                Fix::Relayout { zones, .. } => zones.clone(),
            };
            assert!(survives_any_zone_loss(&after), "{s}: {f:?}");
        }
    }

    #[test]
    fn one_member_or_one_zone_needs_a_relayout() {
        let f = analyse(&layout("a=1")).smallest_fix.unwrap();
        assert!(
            matches!(&f, Fix::Relayout { members: 3, zones, .. } if zones == &[1, 1, 1]),
            "{f:?}"
        );
        // 3 in one zone: moving one to a new zone gives 2/1, still failing; two changes are needed.
        let f = analyse(&layout("a=3")).smallest_fix.unwrap();
        assert!(matches!(&f, Fix::Relayout { members: 3, .. }), "{f:?}");
    }

    #[test]
    fn placements_are_even() {
        assert_eq!(recommended_placement(3, 3), [1, 1, 1]);
        assert_eq!(recommended_placement(5, 3), [2, 2, 1]);
        assert_eq!(recommended_placement(7, 3), [3, 2, 2]);
        assert_eq!(recommended_placement(3, 2), [2, 1]);
        assert_eq!(recommended_placement(3, 5), [1, 1, 1]);
        assert_eq!(recommended_placement(0, 3), Vec::<u32>::new());
        for n in 1..=9 {
            for z in 1..=9 {
                let p = recommended_placement(n, z);
                assert_eq!(p.iter().sum::<u32>(), n);
                // Survives iff any placement of n over z zones can.
                let best_possible = (1..=n.min(z)).any(|zz| {
                    let even = recommended_placement(n, zz);
                    survives_any_zone_loss(&even)
                });
                assert_eq!(survives_any_zone_loss(&p), best_possible, "{n} over {z}");
            }
        }
    }

    #[test]
    fn parsing() {
        assert_eq!(
            parse_zones(" a=2, b=2 ,c=1").unwrap(),
            [Zone::new("a", 2), Zone::new("b", 2), Zone::new("c", 1)]
        );
        assert_eq!(parse_zones(""), Err(ZonesError::Empty));
        assert!(matches!(
            parse_zones("a"),
            Err(ZonesError::Syntax { index: 1, .. })
        ));
        assert!(matches!(parse_zones("a=x"), Err(ZonesError::Count { .. })));
        assert!(matches!(parse_zones("=1"), Err(ZonesError::Syntax { .. })));
        assert!(matches!(
            parse_zones("a=1,a=2"),
            Err(ZonesError::Duplicate { .. })
        ));
        assert!(matches!(
            parse_zones("a=5,b=5"),
            Err(ZonesError::TooManyMembers { members: 10, .. })
        ));
        assert_eq!(layout_text(&parse_zones("a=2,b=1").unwrap()), "a=2,b=1");
    }
}
