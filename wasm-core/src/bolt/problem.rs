//! A problem found in a bbolt file: what kind, on which page. A leaf module:
//! the walk reports problems and the check collects them.

use serde::{Deserialize, Serialize};

use super::page::PageId;

/// What kind of problem: stable names for tests and JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    AlreadyFreed,
    OutOfBounds,
    MultipleReferences,
    ReachableFreed,
    InvalidType,
    UnreachableUnfreed,
    Freelist,
    FreedBeyondHighWater,
    Structure,
    Meta,
    KeyOrder,
}

/// One finding, with the page it is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    pub page: Option<PageId>,
    pub kind: ProblemKind,
    /// A sentence starting `page N:` when there is a page.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}
