//! Raft quorum for a set of voting members. Learners do not vote and are
//! never counted here.

use serde::Serialize;

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
}
