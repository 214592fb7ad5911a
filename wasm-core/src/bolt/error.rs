//! Errors of the page layer. Every variant names the page it is about and an
//! absolute file offset, so a user can open the file in a hex editor at that spot.

use serde::Serialize;

use super::header::OpenError;
use super::page::PageId;

/// Where something was referenced or found: a page and an absolute file offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Loc {
    pub page: PageId,
    pub offset: u64,
}

impl Loc {
    pub fn new(page: PageId, offset: u64) -> Self {
        Self { page, offset }
    }
}

/// A structural problem met while reading pages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BoltError {
    #[error(transparent)]
    Open(#[from] OpenError),
    #[error("page {page}: cannot read {len} bytes at offset {offset}: {reason}")]
    Read {
        page: PageId,
        offset: u64,
        len: u64,
        reason: String,
    },
    #[error("page {page} (referenced from page {} at offset {}) is beyond the high-water mark {hwm}", from.page, from.offset)]
    OutOfBounds {
        page: PageId,
        from: Loc,
        hwm: PageId,
    },
    #[error(
        "page {page} at offset {offset}: its {overflow} overflow pages run past the high-water mark {hwm}"
    )]
    OverflowPastEnd {
        page: PageId,
        offset: u64,
        overflow: u32,
        hwm: PageId,
    },
    #[error("page {page} at offset {offset}: the page header says it is page {found}")]
    IdMismatch {
        page: PageId,
        offset: u64,
        found: PageId,
    },
    #[error("page {page} at offset {offset}: expected a {expected} page, found a {found} page")]
    PageType {
        page: PageId,
        offset: u64,
        expected: &'static str,
        found: String,
    },
    #[error(
        "page {page} at offset {offset}: {count} elements of 16 bytes do not fit in the page's {page_len} bytes"
    )]
    ElementsOverrun {
        page: PageId,
        offset: u64,
        count: u64,
        page_len: u64,
    },
    #[error(
        "page {page}, element {index} at offset {offset}: its key and value need {needed} bytes of the page but it has {page_len}"
    )]
    ElementOverrun {
        page: PageId,
        offset: u64,
        index: u16,
        needed: u64,
        page_len: u64,
    },
    #[error("page {page} at offset {offset}: a branch page with no elements")]
    EmptyBranch { page: PageId, offset: u64 },
    #[error("page {page} (referenced from page {} at offset {}) was already visited: a cycle or a shared subtree", from.page, from.offset)]
    MultipleReferences { page: PageId, from: Loc },
    #[error("page {page} (referenced from page {} at offset {}): the tree is deeper than {max}", from.page, from.offset)]
    TooDeep { page: PageId, from: Loc, max: u32 },
    #[error(
        "page {page}, element {index} at offset {offset}: a bucket value of {len} bytes; it needs at least 16"
    )]
    BadBucket {
        page: PageId,
        offset: u64,
        index: u16,
        len: u64,
    },
    #[error(
        "page {page} at offset {offset}: the freelist holds {count} ids that do not fit in its {page_len} bytes"
    )]
    FreelistOverrun {
        page: PageId,
        offset: u64,
        count: u64,
        page_len: u64,
    },
    #[error("page {page}, element {index} at offset {offset}: key {key} is a bucket, not a value")]
    NotAValue {
        page: PageId,
        offset: u64,
        index: u16,
        key: String,
    },
}

impl BoltError {
    /// The page this error is about, when there is one.
    pub fn page(&self) -> Option<PageId> {
        match self {
            Self::Open(_) => None,
            Self::Read { page, .. }
            | Self::OutOfBounds { page, .. }
            | Self::OverflowPastEnd { page, .. }
            | Self::IdMismatch { page, .. }
            | Self::PageType { page, .. }
            | Self::ElementsOverrun { page, .. }
            | Self::ElementOverrun { page, .. }
            | Self::EmptyBranch { page, .. }
            | Self::MultipleReferences { page, .. }
            | Self::TooDeep { page, .. }
            | Self::BadBucket { page, .. }
            | Self::FreelistOverrun { page, .. }
            | Self::NotAValue { page, .. } => Some(*page),
        }
    }
}
