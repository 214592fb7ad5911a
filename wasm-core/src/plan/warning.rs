//! The planner's warnings: a stable code, one sentence, and where the rule
//! comes from. Codes are part of the JSON contract (the README lists them):
//! a code is never renamed or reused for another rule.

use serde::Serialize;

/// A stable warning code; serialised as [`Code::as_str`] (`even-members`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Code {
    /// Fewer than 3 voting members: no failure is tolerated.
    NoFaultTolerance,
    /// An even member count: no more tolerance than one member fewer.
    EvenMembers,
    /// More than 7 voting members.
    OverSevenMembers,
    /// Losing one of the zones loses quorum.
    ZoneLossLosesQuorum,
    /// etcd's 100 ms / 1000 ms defaults are unsafe at the entered RTT.
    RttUnsafeDefaults,
    /// The RTT is so high that no election timeout etcd accepts is 10× it.
    RttTooHigh,
    /// The database is above 80 % of the quota.
    QuotaNear,
    /// The configured quota is above etcd's suggested 8 GiB maximum.
    QuotaAboveSuggestedMax,
    /// Free and unreachable pages are worth a defrag.
    DefragWorthwhile,
    /// The snapshot failed bbolt's consistency check.
    SnapshotInconsistent,
    /// The snapshot holds active alarms (NOSPACE, CORRUPT).
    AlarmActive,
    /// etcd 3.5.0–3.5.2: the data-inconsistency bug fixed in 3.5.3.
    Etcd35DataInconsistency,
    /// A 3.5 member below the patch release etcd's 3.6 upgrade guide requires.
    UpgradePatchTooOld,
    /// An upgrade that skips a minor version.
    UpgradeSkipsMinor,
}

impl Code {
    /// The code as it appears in the JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::NoFaultTolerance => "no-fault-tolerance",
            Code::EvenMembers => "even-members",
            Code::OverSevenMembers => "over-seven-members",
            Code::ZoneLossLosesQuorum => "zone-loss-loses-quorum",
            Code::RttUnsafeDefaults => "rtt-unsafe-defaults",
            Code::RttTooHigh => "rtt-too-high",
            Code::QuotaNear => "quota-near",
            Code::QuotaAboveSuggestedMax => "quota-above-suggested-max",
            Code::DefragWorthwhile => "defrag-worthwhile",
            Code::SnapshotInconsistent => "snapshot-inconsistent",
            Code::AlarmActive => "alarm-active",
            Code::Etcd35DataInconsistency => "etcd-3-5-data-inconsistency",
            Code::UpgradePatchTooOld => "upgrade-patch-too-old",
            Code::UpgradeSkipsMinor => "upgrade-skips-minor",
        }
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One warning: `{code, message, source}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Warning {
    pub code: Code,
    pub message: String,
    /// Where the rule comes from, in plain words.
    pub source: &'static str,
}

impl Warning {
    pub fn new(code: Code, message: String, source: &'static str) -> Self {
        Self {
            code,
            message,
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every code, for tests.
    pub(crate) const ALL: [Code; 14] = [
        Code::NoFaultTolerance,
        Code::EvenMembers,
        Code::OverSevenMembers,
        Code::ZoneLossLosesQuorum,
        Code::RttUnsafeDefaults,
        Code::RttTooHigh,
        Code::QuotaNear,
        Code::QuotaAboveSuggestedMax,
        Code::DefragWorthwhile,
        Code::SnapshotInconsistent,
        Code::AlarmActive,
        Code::Etcd35DataInconsistency,
        Code::UpgradePatchTooOld,
        Code::UpgradeSkipsMinor,
    ];

    #[test]
    fn codes_are_stable_kebab_case_and_distinct() {
        // The codes issue #14 names, spelled as the README documents them.
        for (c, s) in [
            (Code::EvenMembers, "even-members"),
            (Code::OverSevenMembers, "over-seven-members"),
            (Code::ZoneLossLosesQuorum, "zone-loss-loses-quorum"),
            (Code::RttUnsafeDefaults, "rtt-unsafe-defaults"),
            (Code::QuotaNear, "quota-near"),
            (Code::DefragWorthwhile, "defrag-worthwhile"),
        ] {
            assert_eq!(serde_json::to_value(c).unwrap(), serde_json::json!(s));
        }
        let mut seen = std::collections::HashSet::new();
        for c in ALL {
            let s = c.as_str();
            assert!(seen.insert(s), "{s} twice");
            assert!(
                s.chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-'),
                "{s}"
            );
        }
    }
}
