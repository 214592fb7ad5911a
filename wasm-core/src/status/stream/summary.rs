//! The summaries kept by page id: what is left of each page once all its
//! bytes have passed (a branch's children, a leaf's CRCs and counts, its
//! nested-bucket elements, its elements' user keys for 3.6's live-key count,
//! a `storageVersion` value), and how a complete page is reduced to one.

use super::crc::Crc;
use super::outcome::StreamStatusError;
use super::users::{Users, entry};
use crate::bolt::element::{BUCKET_HEADER_LEN, BucketHeader, LeafElement, PageView};
use crate::bolt::page::PageId;
use crate::bolt::{BoltError, Loc};
use crate::mvcc::{KeyValue, Revision, RevisionError, RevisionKey};
use prost::Message;

/// What is kept of one page id.
#[derive(Debug)]
pub(super) enum Slot {
    /// A page whose bytes are still arriving.
    Pending,
    /// The header at this page's offset names another page: the middle of an
    /// overflow run, or garbage.
    NotAPage {
        found: PageId,
    },
    /// A meta, freelist or unknown page.
    NotTree {
        flags: u16,
    },
    /// Unusable if reached.
    Bad(Box<StreamStatusError>),
    Branch {
        children: Box<[PageId]>,
        overflow: u32,
    },
    Leaf(Leaf),
}

/// A leaf page (or an inline bucket's page), summarised.
#[derive(Debug)]
pub(super) struct Leaf {
    /// `key ‖ value` of every element, a nested bucket's key alone: the
    /// leaf's part of the hash when it holds a top-level bucket's entries.
    pub(super) entries: Crc,
    /// The keys after the last nested-bucket element: what a root-tree leaf
    /// hashes last (`status.rs` hashes only keys at the top level).
    pub(super) tail: Crc,
    pub(super) count: u16,
    pub(super) overflow: u32,
    /// The main revision of the last key (meaningful when `count > 0` and
    /// there is no `bad_revision`).
    pub(super) last_main: i64,
    pub(super) extra: Option<Box<LeafExtra>>,
}

/// What a leaf holds beyond its CRCs: kept only when there is something.
#[derive(Debug, Default)]
pub(super) struct LeafExtra {
    /// Per element, in order, its [`users::entry`]: etcd 3.6's live-key
    /// replay, should the leaf be the `key` bucket's. Empty unless every key
    /// parses as a revision and every value as an `mvccpb.KeyValue`.
    pub(super) users: Box<[u32]>,
    pub(super) rare: Option<Box<Rare>>,
}

/// The rarer parts of a leaf summary.
#[derive(Debug, Default)]
pub(super) struct Rare {
    /// The first key too short to be a revision (an error in the `key` bucket only).
    pub(super) bad_revision: Option<BadRevision>,
    /// The first nested-bucket value too short for a bucket header.
    pub(super) bad_bucket: Option<BoltError>,
    /// The nested-bucket elements, in order: what the leaf holds if it is in the root tree.
    pub(super) buckets: Vec<BucketRef>,
    /// The first key etcd 3.6 refuses ([`Revision::parse_v36`]) though 3.5
    /// reads it: fails 3.6's status only, in the `key` bucket.
    pub(super) v36_key: Option<StreamStatusError>,
    /// The first value that is not an `mvccpb.KeyValue` (3.6 decodes each to
    /// count live keys): fails 3.6's status only, in the `key` bucket.
    pub(super) v36_value: Option<StreamStatusError>,
    /// The first element named `storageVersion`: its value, or why it has
    /// none (a nested bucket, which `Db::get` refuses). Read in `meta` only.
    pub(super) storage_version: Option<Result<Vec<u8>, BoltError>>,
}

impl Rare {
    fn is_empty(&self) -> bool {
        self.bad_revision.is_none()
            && self.bad_bucket.is_none()
            && self.buckets.is_empty()
            && self.v36_key.is_none()
            && self.v36_value.is_none()
            && self.storage_version.is_none()
    }
}

impl Leaf {
    pub(super) fn rare(&self) -> Option<&Rare> {
        self.extra.as_ref()?.rare.as_deref()
    }

    pub(super) fn users(&self) -> &[u32] {
        self.extra.as_ref().map_or(&[], |x| &x.users)
    }
}

#[derive(Debug)]
pub(super) struct BadRevision {
    pub(super) index: u16,
    /// The element record.
    pub(super) at: Loc,
    /// Shorter than a revision key (17 bytes): that is why it failed.
    pub(super) key: Vec<u8>,
    pub(super) error: RevisionError,
}

/// A nested-bucket element.
#[derive(Debug)]
pub(super) struct BucketRef {
    /// The keys since the previous bucket element, then this bucket's name.
    pub(super) lead: Crc,
    /// Which of etcd's buckets, as far as the numbers care.
    pub(super) kind: Kind,
    /// Where the bucket value sits.
    pub(super) at: Loc,
    pub(super) child: Child,
}

/// A top-level bucket, as far as the numbers care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// `key`: etcd's revisions (the revision, 3.6's live keys).
    Key,
    /// `meta`: where 3.6+ record `storageVersion`.
    Meta,
    Other,
}

impl Kind {
    fn of(name: &[u8]) -> Self {
        match name {
            b"key" => Kind::Key,
            b"meta" => Kind::Meta,
            _ => Kind::Other,
        }
    }
}

#[derive(Debug)]
pub(super) enum Child {
    Page(PageId),
    Inline(Box<Leaf>),
    Bad(Box<StreamStatusError>),
}

/// A complete branch or leaf page (`bytes` spans its overflow pages); new
/// user keys go into `users`.
pub(super) fn summarize_page(
    page: PageId,
    base: u64,
    bytes: &[u8],
    users: &mut Users,
) -> Result<Slot, StreamStatusError> {
    let view = PageView::new(page, base, bytes)?;
    let overflow = view.header.overflow;
    if view.is_branch() {
        if view.count() == 0 {
            return Err(BoltError::EmptyBranch { page, offset: base }.into());
        }
        let mut children = Vec::with_capacity(usize::from(view.count()));
        for i in 0..view.count() {
            children.push(view.branch(i)?.child);
        }
        return Ok(Slot::Branch {
            children: children.into_boxed_slice(),
            overflow,
        });
    }
    let mut leaf = scan_leaf(&view, true, users)?;
    leaf.overflow = overflow;
    Ok(Slot::Leaf(leaf))
}

/// The key etcd 3.6+ write their storage version under, in `meta`.
const STORAGE_VERSION: &[u8] = b"storageVersion";

/// Summarise a leaf page. `buckets`: also what it holds as a root-tree leaf
/// (the keys alone and its nested-bucket elements, inline pages summarised);
/// false for an inline page, which is never in the root tree.
fn scan_leaf(
    view: &PageView<'_>,
    buckets: bool,
    users: &mut Users,
) -> Result<Leaf, StreamStatusError> {
    let page_len = view.bytes().len() as u64;
    let too_much = |bytes: u64| StreamStatusError::ElementsExceedPage {
        page: view.page,
        offset: view.base,
        bytes,
        page_len,
    };
    // Lengths are bounded by `page_len`, itself at most `max_page_bytes` (a u32).
    let len32 = |n: u64| u32::try_from(n).map_err(|_| too_much(n));
    let mut used = 0u64;
    let (mut entries, mut entries_len) = (0u32, 0u64);
    let (mut keys, mut keys_len) = (0u32, 0u64);
    let mut last_main = 0i64;
    let mut rare = Rare::default();
    for i in 0..view.count() {
        let e = view.leaf(i)?;
        let (klen, vlen) = (e.key.len() as u64, e.value.len() as u64);
        used += klen + vlen;
        if used > page_len {
            return Err(too_much(used));
        }
        entries = crc32c::crc32c_append(entries, e.key);
        entries_len += klen;
        match Revision::parse(e.key) {
            Ok(r) => last_main = r.main,
            Err(error) => {
                if rare.bad_revision.is_none() {
                    rare.bad_revision = Some(BadRevision {
                        index: i,
                        at: Loc::new(view.page, e.offset),
                        key: e.key.to_vec(),
                        error,
                    });
                }
            }
        }
        if e.key == STORAGE_VERSION && rare.storage_version.is_none() {
            rare.storage_version = Some(if e.is_bucket() {
                Err(BoltError::NotAValue {
                    page: view.page,
                    offset: e.value_offset,
                    index: i,
                    key: String::from_utf8_lossy(e.key).into_owned(),
                })
            } else {
                Ok(e.value.to_vec())
            });
        }
        if buckets {
            keys = crc32c::crc32c_append(keys, e.key);
            keys_len += klen;
        }
        if !e.is_bucket() {
            entries = crc32c::crc32c_append(entries, e.value);
            entries_len += vlen;
            continue;
        }
        let Some(header) = BucketHeader::parse(e.value) else {
            if rare.bad_bucket.is_none() {
                rare.bad_bucket = Some(BoltError::BadBucket {
                    page: view.page,
                    offset: e.value_offset,
                    index: i,
                    len: vlen,
                });
            }
            continue;
        };
        if buckets {
            let child = if header.root.0 == 0 {
                inline_child(view, &e, users)
            } else {
                Child::Page(header.root)
            };
            rare.buckets.push(BucketRef {
                lead: Crc {
                    crc: keys,
                    len: len32(keys_len)?,
                },
                kind: Kind::of(e.key),
                at: Loc::new(view.page, e.value_offset),
                child,
            });
            (keys, keys_len) = (0, 0);
        }
    }
    // A key too short to be a revision fails both conventions in the `key`
    // bucket, and rules the leaf out of it anywhere else: no replay needed.
    let users = if rare.bad_revision.is_none() {
        v36_entries(view, &mut rare, users)?
    } else {
        Box::default()
    };
    let rare = (!rare.is_empty()).then(|| Box::new(rare));
    let extra = (rare.is_some() || !users.is_empty()).then(|| Box::new(LeafExtra { users, rare }));
    Ok(Leaf {
        entries: Crc {
            crc: entries,
            len: len32(entries_len)?,
        },
        tail: Crc {
            crc: keys,
            len: len32(keys_len)?,
        },
        count: view.count(),
        overflow: 0,
        last_main,
        extra,
    })
}

/// What `status.rs`'s 3.6 walk takes from each element of the `key` bucket,
/// for a leaf that may be one of its: whether 3.6 accepts the key, the
/// value's user key (as an id) and whether the key marks a tombstone. At the
/// first value that is not an `mvccpb.KeyValue` the replay is dropped (3.6
/// fails there if the leaf is the `key` bucket's).
fn v36_entries(
    view: &PageView<'_>,
    rare: &mut Rare,
    users: &mut Users,
) -> Result<Box<[u32]>, StreamStatusError> {
    let mut out = Vec::with_capacity(usize::from(view.count()));
    for i in 0..view.count() {
        let e = view.leaf(i)?;
        let at = Loc::new(view.page, e.offset);
        if rare.v36_key.is_none()
            && let Err(error) = Revision::parse_v36(e.key)
        {
            rare.v36_key = Some(StreamStatusError::RevisionKey {
                at,
                index: i,
                key_hex: hex::encode(e.key),
                error,
            });
        }
        // bbolt's ForEach gives a nested bucket a nil value, which decodes as empty.
        let value = if e.is_bucket() { &[][..] } else { e.value };
        let kv = match KeyValue::decode(value) {
            Ok(kv) => kv,
            Err(err) => {
                rare.v36_value = Some(StreamStatusError::KeyValue {
                    at,
                    index: i,
                    key_hex: hex::encode(e.key),
                    reason: err.to_string(),
                });
                return Ok(Box::default());
            }
        };
        let Some(id) = users.id(&kv.key) else {
            rare.v36_value = Some(StreamStatusError::TooManyUserKeys { at, index: i });
            return Ok(Box::default());
        };
        // etcd's IsTombstone, as `status.rs`: an 18-byte key ending in 't'.
        let tombstone = RevisionKey::parse(e.key).is_ok_and(|k| k.tombstone);
        out.push(entry(id, tombstone));
    }
    Ok(out.into_boxed_slice())
}

/// The inline page after a bucket header (`e.value` is at least 16 bytes).
fn inline_child(view: &PageView<'_>, e: &LeafElement<'_>, users: &mut Users) -> Child {
    let bytes = e.value.get(BUCKET_HEADER_LEN..).unwrap_or_default();
    let base = e.value_offset + BUCKET_HEADER_LEN as u64;
    let scanned = PageView::new(view.page, base, bytes)
        .map_err(StreamStatusError::from)
        .and_then(|inline| {
            if inline.is_leaf() {
                scan_leaf(&inline, false, users)
            } else {
                Err(BoltError::PageType {
                    page: inline.page,
                    offset: inline.base,
                    expected: "inline leaf",
                    found: inline.header.kind(),
                }
                .into())
            }
        });
    match scanned {
        Ok(leaf) => Child::Inline(Box::new(leaf)),
        Err(e) => Child::Bad(Box::new(e)),
    }
}
