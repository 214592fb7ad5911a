//! What a stream comes to: the status with the file's shape, or why a
//! streamed snapshot has none.

use serde::Serialize;

use crate::bolt::header::OpenError;
use crate::bolt::meta::Meta;
use crate::bolt::page::PageId;
use crate::bolt::{BoltError, Loc};
use crate::mvcc::RevisionError;
use crate::status::Status;

/// Why a streamed snapshot has no status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StreamStatusError {
    /// Not a bbolt database (no valid meta), too small, or truncated: the
    /// stream ended before the meta's high-water mark.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// A structural fault on a page the walk reached.
    #[error(transparent)]
    Bolt(#[from] BoltError),
    #[error(
        "page {page} at offset {offset}: with its overflow pages it spans {bytes} bytes, more than the {max} a streamed page may buffer"
    )]
    PageTooLarge {
        page: PageId,
        offset: u64,
        bytes: u64,
        max: u32,
    },
    #[error(
        "page {page} at offset {offset}: its elements' keys and values total {bytes} bytes, more than the page's {page_len}"
    )]
    ElementsExceedPage {
        page: PageId,
        offset: u64,
        bytes: u64,
        page_len: u64,
    },
    #[error(
        "page {page} at offset {offset}: {open} other pages' spans already cover its start, the most a stream follows at once"
    )]
    TooManyOverlapping {
        page: PageId,
        offset: u64,
        open: usize,
    },
    #[error("page {}, element {index} at offset {}: cannot parse revision key {key_hex}: {error}", at.page, at.offset)]
    RevisionKey {
        at: Loc,
        index: u16,
        key_hex: String,
        error: RevisionError,
    },
}

/// What a finished stream yields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StreamedStatus {
    /// `etcdctl snapshot status` 3.4 / `etcdutl snapshot status` 3.5.
    pub status: Status,
    /// Bytes of the bbolt database: the stream minus a SHA-256 trailer.
    pub database_len: u64,
    /// Whether the stream ends with a trailer, by etcd's rule.
    pub has_trailer: bool,
    /// The meta in force (its txid, root, high-water mark).
    pub meta: Meta,
}
