//! What a stream comes to: the status with the file's shape, or why a
//! streamed snapshot has none.

use serde::Serialize;

use crate::bolt::header::OpenError;
use crate::bolt::meta::Meta;
use crate::bolt::page::PageId;
use crate::bolt::{BoltError, Loc};
use crate::mvcc::RevisionError;
use crate::status::{Compat, Status};

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
    /// A `key`-bucket key too short to be a revision (both conventions), or
    /// one etcd 3.6+ refuses ([`Revision::parse_v36`](crate::mvcc::Revision::parse_v36): 3.6's only).
    #[error("page {}, element {index} at offset {}: cannot parse revision key {key_hex}: {error}", at.page, at.offset)]
    RevisionKey {
        at: Loc,
        index: u16,
        key_hex: String,
        error: RevisionError,
    },
    /// 3.6's only: it decodes every `key`-bucket value to count live keys.
    #[error("page {}, element {index} at offset {}: the value of revision key {key_hex} is not an mvccpb.KeyValue: {reason}", at.page, at.offset)]
    KeyValue {
        at: Loc,
        index: u16,
        key_hex: String,
        reason: String,
    },
    /// 3.6's only: more distinct user keys than the stream numbers (2³¹).
    #[error(
        "page {}, element {index} at offset {}: more than 2^31 distinct user keys, the most a streamed status counts",
        at.page,
        at.offset
    )]
    TooManyUserKeys { at: Loc, index: u16 },
}

/// What a finished stream yields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StreamedStatus {
    /// What the `snapshot status` of the release that wrote the file prints,
    /// by [`Compat::of_file`]'s rule: etcdutl 3.6's numbers (and `version`)
    /// when the `meta` bucket holds a `storageVersion`, else etcdctl 3.4 /
    /// etcdutl 3.5's (`version` empty).
    pub status: Status,
    /// Whose numbers `status` holds.
    #[serde(serialize_with = "compat_name")]
    pub follows: Compat,
    /// The other convention's numbers, or why it has none (3.6 refuses keys
    /// and values 3.5 reads).
    pub other: Result<Status, StreamStatusError>,
    /// Bytes of the bbolt database: the stream minus a SHA-256 trailer.
    pub database_len: u64,
    /// Whether the stream ends with a trailer, by etcd's rule.
    pub has_trailer: bool,
    /// The meta in force (its txid, root, high-water mark).
    pub meta: Meta,
}

fn compat_name<S: serde::Serializer>(c: &Compat, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(match c {
        Compat::V35 => "3.5",
        Compat::V36 => "3.6",
    })
}
