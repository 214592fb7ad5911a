//! Raft quorum for a set of voting members, and etcd's advice on how many to
//! run. Learners do not vote and are never counted here (the planner lists
//! them apart).
//!
//! Source: etcd's FAQ ("Why an odd number of cluster members?", "What is
//! maximum cluster size?"): quorum is ⌊n/2⌋+1; an even count tolerates no more
//! failures than the odd count below it; more than seven members cost
//! replication without buying tolerance anyone needs.

use serde::Serialize;

use super::rules;
use super::warning::{Code, Warning};

/// The largest member count the planner tabulates and models (etcd advises
/// at most 7; 9 leaves room to show why).
pub const MAX_PLANNED_MEMBERS: u32 = 9;

/// Quorum facts for `voting` members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Quorum {
    pub voting_members: u32,
    /// A majority: ⌊n/2⌋ + 1 (0 members need 0, and hold nothing).
    pub needed: u32,
    /// Members that may fail while a majority remains.
    pub failures_tolerated: u32,
}

impl Quorum {
    pub fn of(voting_members: u32) -> Self {
        let needed = if voting_members == 0 {
            0
        } else {
            voting_members / 2 + 1
        };
        Self {
            voting_members,
            needed,
            failures_tolerated: voting_members - needed,
        }
    }

    /// Whether `up` voting members are a majority.
    pub fn met_by(&self, up: u32) -> bool {
        self.voting_members > 0 && up >= self.needed
    }

    /// The planner's row: `{members, majority, tolerates}`.
    pub fn row(&self) -> QuorumRow {
        QuorumRow {
            members: self.voting_members,
            majority: self.needed,
            tolerates: self.failures_tolerated,
        }
    }
}

/// One line of the quorum table, in the planner's JSON names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct QuorumRow {
    pub members: u32,
    pub majority: u32,
    pub tolerates: u32,
}

/// The quorum table for 1..=[`MAX_PLANNED_MEMBERS`] voting members.
pub fn table() -> Vec<QuorumRow> {
    (1..=MAX_PLANNED_MEMBERS)
        .map(|n| Quorum::of(n).row())
        .collect()
}

/// etcd's member-count advice for `voting` members, as warnings.
pub fn member_count_warnings(voting: u32) -> Vec<Warning> {
    let q = Quorum::of(voting);
    let mut w = Vec::new();
    if voting < 3 {
        w.push(Warning::new(
            Code::NoFaultTolerance,
            format!(
                "{voting} voting member{} tolerate{} no failure: any member down stops writes; run 3 or 5",
                if voting == 1 { "" } else { "s" },
                if voting == 1 { "s" } else { "" }
            ),
            "etcd FAQ: What is failure tolerance?",
        ));
    }
    if voting > 0 && voting.is_multiple_of(2) {
        w.push(Warning::new(
            Code::EvenMembers,
            format!(
                "{voting} members tolerate {} failure{}, no more than {}: the extra member costs replication and adds a member that can fail",
                q.failures_tolerated,
                if q.failures_tolerated == 1 { "" } else { "s" },
                voting - 1
            ),
            "etcd FAQ: Why an odd number of cluster members?",
        ));
    }
    if voting > rules::MAX_ADVISED_MEMBERS {
        w.push(Warning::new(
            Code::OverSevenMembers,
            format!(
                "{voting} members: etcd advises at most {}; every write is replicated to a majority ({}) of them, so writes slow down",
                rules::MAX_ADVISED_MEMBERS,
                q.needed
            ),
            "etcd FAQ: What is maximum cluster size?",
        ));
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majorities() {
        let cases = [
            (0, 0, 0),
            (1, 1, 0),
            (2, 2, 0),
            (3, 2, 1),
            (4, 3, 1),
            (5, 3, 2),
            (7, 4, 3),
        ];
        for (n, needed, tolerated) in cases {
            let q = Quorum::of(n);
            assert_eq!(
                (q.needed, q.failures_tolerated),
                (needed, tolerated),
                "n = {n}"
            );
        }
        assert!(Quorum::of(3).met_by(2));
        assert!(!Quorum::of(3).met_by(1));
        assert!(!Quorum::of(0).met_by(0));
    }

    /// etcd's FAQ table ("Cluster Size / Majority / Failure Tolerance"), 1..9.
    #[test]
    fn the_table_is_the_faqs() {
        let faq = [
            (1, 1, 0),
            (2, 2, 0),
            (3, 2, 1),
            (4, 3, 1),
            (5, 3, 2),
            (6, 4, 2),
            (7, 4, 3),
            (8, 5, 3),
            (9, 5, 4),
        ];
        let t = table();
        assert_eq!(t.len(), faq.len());
        for (row, (members, majority, tolerates)) in t.iter().zip(faq) {
            assert_eq!(
                *row,
                QuorumRow {
                    members,
                    majority,
                    tolerates
                }
            );
        }
    }

    #[test]
    fn member_count_advice() {
        let codes = |n| {
            member_count_warnings(n)
                .into_iter()
                .map(|w| w.code)
                .collect::<Vec<_>>()
        };
        assert_eq!(codes(3), vec![]);
        assert_eq!(codes(5), vec![]);
        assert_eq!(codes(7), vec![]);
        assert_eq!(codes(1), vec![Code::NoFaultTolerance]);
        assert_eq!(codes(2), vec![Code::NoFaultTolerance, Code::EvenMembers]);
        assert_eq!(codes(4), vec![Code::EvenMembers]);
        assert_eq!(codes(8), vec![Code::EvenMembers, Code::OverSevenMembers]);
        assert_eq!(codes(9), vec![Code::OverSevenMembers]);
    }
}
