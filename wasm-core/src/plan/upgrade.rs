//! The pre-upgrade checklist: each item `ok`, `fail` or `unknown` (what the
//! planner was not told), with how to find out.
//!
//! Rules and their sources:
//! - a fresh snapshot that verifies (SHA-256 trailer and bbolt's check),
//!   quorum healthy: etcd's upgrade guides ("Upgrade checklists":
//!   "the running cluster must be healthy"; "download the snapshot backup");
//! - one minor version at a time, latest patch first: etcd's upgrade policy
//!   ("Upgrading etcd clusters and applications": upgrades that skip a minor
//!   version are not supported);
//! - for 3.5 → 3.6, every 3.5 member on 3.5.32 or later: etcd's 3.5 → 3.6
//!   upgrade guide ("Update 3.5"). The floor was raised over time as upgrade
//!   blockers were found: 3.5.20 (May 2025, "too many learner members"),
//!   3.5.24 (Nov 2025), 3.5.26 (Dec 2025, zombie members), 3.5.32 (Aug 2026,
//!   `etcdutl check v2store` reads the WAL too);
//! - no alarms: a NOSPACE or CORRUPT alarm blocks writes (maintenance guide);
//! - disk headroom: room for two more copies of the database, one for the
//!   snapshot kept beside the member and one for a restored (or, at 3.6's
//!   first start, migrated and defragmented) copy. This factor is ours, stated
//!   as such: etcd documents no figure;
//! - etcd 3.5.0–3.5.2 can leave members inconsistent after a crash under load
//!   (etcd issue 13766, fixed in 3.5.3 by PR 13854; etcd's 3.6 announcement).

use serde::Serialize;

use super::warning::{Code, Warning};

/// A full etcd version, `3.5.21`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// A minor release line, `3.6`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Minor {
    pub major: u32,
    pub minor: u32,
}

impl std::fmt::Display for Minor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl Version {
    pub fn minor_line(&self) -> Minor {
        Minor {
            major: self.major,
            minor: self.minor,
        }
    }
}

fn numbers(s: &str) -> Option<Vec<u32>> {
    let s = s.trim();
    let s = s.strip_prefix('v').unwrap_or(s);
    // A pre-release or build suffix (`3.6.0-rc.1`) is ignored: the checklist is about release lines.
    let core = s.split(['-', '+']).next()?;
    core.split('.').map(|p| p.parse().ok()).collect()
}

/// `3.5.21` or `v3.5.21`.
pub fn parse_version(s: &str) -> Option<Version> {
    match numbers(s)?.as_slice() {
        &[major, minor, patch] => Some(Version {
            major,
            minor,
            patch,
        }),
        _ => None,
    }
}

/// `3.6`, or a full version (its line).
pub fn parse_minor(s: &str) -> Option<Minor> {
    match numbers(s)?.as_slice() {
        &[major, minor] | &[major, minor, _] => Some(Minor { major, minor }),
        _ => None,
    }
}

/// The 3.5 patch release etcd's 3.6 upgrade guide requires before 3.6.
pub const MIN_35_FOR_36: Version = Version {
    major: 3,
    minor: 5,
    patch: 32,
};

/// Above this age a snapshot is not "fresh" (our threshold: take it right
/// before the upgrade; a day-old one loses a day of writes on restore).
pub const FRESH_SNAPSHOT_MAX_HOURS: f64 = 24.0;

/// How much free disk the checklist asks for, in database sizes (ours; see the module doc).
pub const DISK_HEADROOM_DB_COPIES: u64 = 2;

/// What the trailer check found, as the checklist needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TrailerState {
    Verified,
    Absent,
    Mismatch,
}

/// What is known about the snapshot meant as the fallback.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SnapshotEvidence {
    pub trailer: TrailerState,
    pub check_problems: usize,
    /// Hours since it was taken (the file's modification time, when that is all there is).
    pub age_hours: Option<f64>,
    pub alarms: Vec<String>,
    pub db_size_bytes: u64,
}

/// Everything the checklist may know; `None` is "not told".
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UpgradeInput {
    /// The running version (the lowest of the members).
    pub current: Option<Version>,
    pub target: Minor,
    pub snapshot: Option<SnapshotEvidence>,
    pub quorum_healthy: Option<bool>,
    pub free_disk_bytes: Option<u64>,
    /// The alarms the running cluster reports now (from the companion
    /// server): they decide `no-alarms` over what a snapshot stored.
    pub live_alarms: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Ok,
    Fail,
    Unknown,
}

/// One line of the checklist.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item {
    /// Stable: `fresh-verified-snapshot`, `quorum-healthy`, `no-alarms`,
    /// `disk-headroom`, `one-minor-at-a-time`, `minimum-patch`.
    pub id: &'static str,
    pub state: State,
    pub message: String,
    pub source: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Checklist {
    pub current: Option<Version>,
    pub target: Minor,
    pub items: Vec<Item>,
    /// Whether every item is `ok`.
    pub ready: bool,
}

const SRC_GUIDE: &str = "etcd upgrade guide (Upgrade checklists: the cluster must be healthy; download a snapshot backup first)";
const SRC_POLICY: &str = "etcd upgrade policy (one minor version at a time; latest patch first)";
const SRC_36: &str =
    "etcd 3.5 → 3.6 upgrade guide (Update 3.5: all 3.5 members on 3.5.32 or later)";
const SRC_ALARMS: &str =
    "etcd maintenance guide (Space quota: an alarm blocks writes until disarmed)";
const SRC_DISK: &str = "etcd-lens's rule: room for two more copies of the database (a snapshot and a restored or migrated copy)";
const SRC_353: &str = "etcd 3.6 announcement: data inconsistency after a crash under load, introduced in 3.5.0, fixed in 3.5.3 (etcd issue 13766)";

fn snapshot_item(s: Option<&SnapshotEvidence>) -> Item {
    let (state, message) = match s {
        None => (
            State::Unknown,
            "no snapshot given: take one right before the upgrade (`etcd-lens snapshot save --reason pre-upgrade`) and verify it (`etcd-lens check FILE`)".to_string(),
        ),
        Some(s) if s.trailer == TrailerState::Mismatch => (
            State::Fail,
            "the snapshot's SHA-256 trailer does not match: it is no backup".to_string(),
        ),
        Some(s) if s.check_problems > 0 => (
            State::Fail,
            format!(
                "the snapshot fails bbolt's consistency check ({} problem{})",
                s.check_problems,
                if s.check_problems == 1 { "" } else { "s" }
            ),
        ),
        Some(s) if s.trailer == TrailerState::Absent => (
            State::Unknown,
            "the file has no SHA-256 trailer (a member's db file, not `etcdctl snapshot save` output): its integrity cannot be verified".to_string(),
        ),
        Some(s) => match s.age_hours {
            Some(h) if h > FRESH_SNAPSHOT_MAX_HOURS => (
                State::Fail,
                format!(
                    "the snapshot verifies but is {h:.0} hours old: take a fresh one right before the upgrade"
                ),
            ),
            Some(h) => (
                State::Ok,
                format!("the snapshot verifies (trailer and consistency check) and is {h:.1} hours old"),
            ),
            None => (
                State::Ok,
                "the snapshot verifies (trailer and consistency check); make sure it is the latest".to_string(),
            ),
        },
    };
    Item {
        id: "fresh-verified-snapshot",
        state,
        message,
        source: SRC_GUIDE,
    }
}

/// The checklist, and the warnings it raises.
pub fn checklist(input: &UpgradeInput) -> (Checklist, Vec<Warning>) {
    let mut items = vec![snapshot_item(input.snapshot.as_ref())];
    let mut warnings = Vec::new();

    items.push(Item {
        id: "quorum-healthy",
        state: match input.quorum_healthy {
            Some(true) => State::Ok,
            Some(false) => State::Fail,
            None => State::Unknown,
        },
        message: match input.quorum_healthy {
            Some(true) => "quorum is healthy".into(),
            Some(false) => "quorum is not healthy: fix the cluster before upgrading".into(),
            None => {
                "check with `etcd-lens cluster status` (or `etcdctl endpoint health`) right before"
                    .into()
            }
        },
        source: SRC_GUIDE,
    });

    let (state, message) = match (&input.live_alarms, &input.snapshot) {
        (Some(live), _) if !live.is_empty() => (
            State::Fail,
            format!(
                "the cluster reports alarms now: {} (disarm after fixing the cause)",
                live.join(", ")
            ),
        ),
        (Some(_), _) => (State::Ok, "the cluster reports no alarm now".to_string()),
        (None, Some(s)) if !s.alarms.is_empty() => (
            State::Fail,
            format!(
                "alarms are active: {} (disarm after fixing the cause)",
                s.alarms.join(", ")
            ),
        ),
        (None, Some(_)) => (State::Ok, "no alarm stored in the snapshot".to_string()),
        (None, None) => (
            State::Unknown,
            "check with `etcdctl alarm list` or `etcd-lens cluster status`".to_string(),
        ),
    };
    items.push(Item {
        id: "no-alarms",
        state,
        message,
        source: SRC_ALARMS,
    });

    let need = input
        .snapshot
        .as_ref()
        .map(|s| s.db_size_bytes.saturating_mul(DISK_HEADROOM_DB_COPIES));
    let (state, message) = match (need, input.free_disk_bytes) {
        (Some(need), Some(free)) if free >= need => (
            State::Ok,
            format!(
                "{} free, {} needed",
                crate::units::human_bytes(free),
                crate::units::human_bytes(need)
            ),
        ),
        (Some(need), Some(free)) => (
            State::Fail,
            format!(
                "{} free, {} needed",
                crate::units::human_bytes(free),
                crate::units::human_bytes(need)
            ),
        ),
        (Some(need), None) => (
            State::Unknown,
            format!(
                "make sure each member's data disk has {} free ({DISK_HEADROOM_DB_COPIES} × the database)",
                crate::units::human_bytes(need)
            ),
        ),
        (None, _) => (
            State::Unknown,
            format!(
                "make sure each member's data disk has {DISK_HEADROOM_DB_COPIES} × the database size free"
            ),
        ),
    };
    items.push(Item {
        id: "disk-headroom",
        state,
        message,
        source: SRC_DISK,
    });

    let t = input.target;
    let (state, message) = match input.current {
        None => (
            State::Unknown,
            format!("give the running version to check that {t} is the next minor release"),
        ),
        Some(c) if c.major != t.major || t.minor < c.minor => (
            State::Fail,
            format!(
                "{c} → {t} is not an upgrade by one minor version (a downgrade needs etcd's downgrade procedure)"
            ),
        ),
        Some(c) if t.minor == c.minor => (State::Ok, format!("{c} → {t}: a patch upgrade")),
        Some(c) if t.minor == c.minor + 1 => (State::Ok, format!("{c} → {t}: one minor version")),
        Some(c) => {
            warnings.push(Warning::new(
                Code::UpgradeSkipsMinor,
                format!(
                    "{c} → {t} skips {}: upgrade one minor version at a time ({}.{} first)",
                    if t.minor - c.minor == 2 {
                        "a minor version"
                    } else {
                        "minor versions"
                    },
                    c.major,
                    c.minor + 1
                ),
                SRC_POLICY,
            ));
            (
                State::Fail,
                format!(
                    "{c} → {t} skips a minor version: upgrade to {}.{} first",
                    c.major,
                    c.minor + 1
                ),
            )
        }
    };
    items.push(Item {
        id: "one-minor-at-a-time",
        state,
        message,
        source: SRC_POLICY,
    });

    let (state, message, source) = match input.current {
        Some(c)
            if c.minor_line() == MIN_35_FOR_36.minor_line()
                && t == (Minor { major: 3, minor: 6 }) =>
        {
            if c >= MIN_35_FOR_36 {
                (
                    State::Ok,
                    format!("{c} is at least {MIN_35_FOR_36}"),
                    SRC_36,
                )
            } else {
                warnings.push(Warning::new(
                    Code::UpgradePatchTooOld,
                    format!("{c}: update every 3.5 member to {MIN_35_FOR_36} or later before 3.6"),
                    SRC_36,
                ));
                (
                    State::Fail,
                    format!("{c} is below {MIN_35_FOR_36}: update every 3.5 member first"),
                    SRC_36,
                )
            }
        }
        Some(c) if t.minor == c.minor + 1 => (
            State::Unknown,
            format!(
                "update to the latest {}.{} patch release first",
                c.major, c.minor
            ),
            SRC_POLICY,
        ),
        _ => (
            State::Unknown,
            "update to the latest patch release of the running minor version first".to_string(),
            SRC_POLICY,
        ),
    };
    items.push(Item {
        id: "minimum-patch",
        state,
        message,
        source,
    });

    if let Some(c) = input.current {
        warnings.extend(version_warnings(c));
    }
    let ready = items.iter().all(|i| i.state == State::Ok);
    (
        Checklist {
            current: input.current,
            target: t,
            items,
            ready,
        },
        warnings,
    )
}

/// Warnings about a running version alone (whatever the target).
pub fn version_warnings(v: Version) -> Vec<Warning> {
    let first = Version {
        major: 3,
        minor: 5,
        patch: 0,
    };
    let fixed = Version {
        major: 3,
        minor: 5,
        patch: 3,
    };
    if (first..fixed).contains(&v) {
        vec![Warning::new(
            Code::Etcd35DataInconsistency,
            format!(
                "{v}: etcd 3.5.0–3.5.2 can leave members inconsistent after a crash under load; update to 3.5.3 or later"
            ),
            SRC_353,
        )]
    } else {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        parse_version(s).unwrap()
    }

    fn input(current: Option<&str>, target: &str) -> UpgradeInput {
        UpgradeInput {
            current: current.map(v),
            target: parse_minor(target).unwrap(),
            snapshot: None,
            quorum_healthy: None,
            free_disk_bytes: None,
            live_alarms: None,
        }
    }

    fn item<'a>(c: &'a Checklist, id: &str) -> &'a Item {
        c.items.iter().find(|i| i.id == id).unwrap()
    }

    fn codes(w: &[Warning]) -> Vec<Code> {
        w.iter().map(|w| w.code).collect()
    }

    #[test]
    fn versions_parse() {
        assert_eq!(
            v("v3.5.21"),
            Version {
                major: 3,
                minor: 5,
                patch: 21
            }
        );
        assert_eq!(v("3.6.0-rc.1").patch, 0);
        assert_eq!(parse_version("3.5"), None);
        assert_eq!(parse_version("x"), None);
        assert_eq!(parse_minor("3.6"), Some(Minor { major: 3, minor: 6 }));
        assert_eq!(parse_minor("3.6.4"), Some(Minor { major: 3, minor: 6 }));
    }

    #[test]
    fn three_five_to_three_six_needs_the_guides_patch() {
        for (current, ok) in [
            ("3.5.31", false),
            ("3.5.20", false),
            ("3.5.32", true),
            ("3.5.33", true),
        ] {
            let (c, w) = checklist(&input(Some(current), "3.6"));
            let state = item(&c, "minimum-patch").state;
            assert_eq!(state == State::Ok, ok, "{current}");
            assert_eq!(
                codes(&w).contains(&Code::UpgradePatchTooOld),
                !ok,
                "{current}"
            );
            assert_eq!(item(&c, "one-minor-at-a-time").state, State::Ok);
        }
    }

    #[test]
    fn skipping_a_minor_fails() {
        let (c, w) = checklist(&input(Some("3.4.23"), "3.6"));
        assert_eq!(item(&c, "one-minor-at-a-time").state, State::Fail);
        assert_eq!(codes(&w), [Code::UpgradeSkipsMinor]);
        let (c, _) = checklist(&input(Some("3.6.1"), "3.5"));
        assert_eq!(item(&c, "one-minor-at-a-time").state, State::Fail);
        let (c, _) = checklist(&input(Some("3.4.23"), "3.5"));
        assert_eq!(item(&c, "one-minor-at-a-time").state, State::Ok);
        assert_eq!(item(&c, "minimum-patch").state, State::Unknown);
    }

    #[test]
    fn the_3_5_3_fix() {
        for (s, warned) in [
            ("3.5.0", true),
            ("3.5.2", true),
            ("3.5.3", false),
            ("3.4.23", false),
            ("3.6.0", false),
        ] {
            assert_eq!(!version_warnings(v(s)).is_empty(), warned, "{s}");
        }
        let (_, w) = checklist(&input(Some("3.5.1"), "3.6"));
        assert_eq!(
            codes(&w),
            [Code::UpgradePatchTooOld, Code::Etcd35DataInconsistency]
        );
    }

    #[test]
    fn snapshot_and_disk_items() {
        let mut i = input(Some("3.5.32"), "3.6");
        let (c, _) = checklist(&i);
        assert!(!c.ready);
        assert_eq!(item(&c, "fresh-verified-snapshot").state, State::Unknown);
        i.snapshot = Some(SnapshotEvidence {
            trailer: TrailerState::Verified,
            check_problems: 0,
            age_hours: Some(0.5),
            alarms: vec![],
            db_size_bytes: 100,
        });
        i.quorum_healthy = Some(true);
        i.free_disk_bytes = Some(200);
        let (c, w) = checklist(&i);
        assert!(c.ready, "{c:?}");
        assert!(w.is_empty());
        i.free_disk_bytes = Some(199);
        assert_eq!(item(&checklist(&i).0, "disk-headroom").state, State::Fail);
        let mut s = i.snapshot.clone().unwrap();
        s.age_hours = Some(48.0);
        i.snapshot = Some(s.clone());
        assert_eq!(
            item(&checklist(&i).0, "fresh-verified-snapshot").state,
            State::Fail
        );
        s.trailer = TrailerState::Mismatch;
        s.age_hours = None;
        s.alarms = vec!["nospace on member 1".into()];
        i.snapshot = Some(s);
        let (c, _) = checklist(&i);
        assert_eq!(item(&c, "fresh-verified-snapshot").state, State::Fail);
        assert_eq!(item(&c, "no-alarms").state, State::Fail);
        // The running cluster's alarms (the companion server) decide over the snapshot's.
        i.live_alarms = Some(vec![]);
        let c = checklist(&i).0;
        assert_eq!(item(&c, "no-alarms").state, State::Ok);
        assert_eq!(
            item(&c, "no-alarms").message,
            "the cluster reports no alarm now"
        );
        i.live_alarms = Some(vec!["corrupt on member 2".into()]);
        let c = checklist(&i).0;
        assert_eq!(item(&c, "no-alarms").state, State::Fail);
        assert!(
            item(&c, "no-alarms")
                .message
                .contains("corrupt on member 2")
        );
    }
}
