//! The summaries kept by page id: what is left of each page once all its
//! bytes have passed (a branch's children, a leaf's CRCs and counts, its
//! nested-bucket elements), and how a complete page is reduced to one.

use super::crc::Crc;
use super::outcome::StreamStatusError;
use crate::bolt::element::{BUCKET_HEADER_LEN, BucketHeader, LeafElement, PageView};
use crate::bolt::page::PageId;
use crate::bolt::{BoltError, Loc};
use crate::mvcc::{Revision, RevisionError};

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
    /// `extra.bad_revision` is `None`).
    pub(super) last_main: i64,
    pub(super) extra: Option<Box<LeafExtra>>,
}

/// The rarer parts of a leaf summary.
#[derive(Debug, Default)]
pub(super) struct LeafExtra {
    /// The first key too short to be a revision (an error in the `key` bucket only).
    pub(super) bad_revision: Option<BadRevision>,
    /// The first nested-bucket value too short for a bucket header.
    pub(super) bad_bucket: Option<BoltError>,
    /// The nested-bucket elements, in order: what the leaf holds if it is in the root tree.
    pub(super) buckets: Vec<BucketRef>,
}

impl LeafExtra {
    fn is_empty(&self) -> bool {
        self.bad_revision.is_none() && self.bad_bucket.is_none() && self.buckets.is_empty()
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
    /// Named `key`: etcd's revisions.
    pub(super) is_key: bool,
    /// Where the bucket value sits.
    pub(super) at: Loc,
    pub(super) child: Child,
}

#[derive(Debug)]
pub(super) enum Child {
    Page(PageId),
    Inline(Box<Leaf>),
    Bad(Box<StreamStatusError>),
}

/// A complete branch or leaf page (`bytes` spans its overflow pages).
pub(super) fn summarize_page(
    page: PageId,
    base: u64,
    bytes: &[u8],
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
    let mut leaf = scan_leaf(&view, true)?;
    leaf.overflow = overflow;
    Ok(Slot::Leaf(leaf))
}

/// Summarise a leaf page. `buckets`: also what it holds as a root-tree leaf
/// (the keys alone and its nested-bucket elements, inline pages summarised);
/// false for an inline page, which is never in the root tree.
fn scan_leaf(view: &PageView<'_>, buckets: bool) -> Result<Leaf, StreamStatusError> {
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
    let mut extra = LeafExtra::default();
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
                if extra.bad_revision.is_none() {
                    extra.bad_revision = Some(BadRevision {
                        index: i,
                        at: Loc::new(view.page, e.offset),
                        key: e.key.to_vec(),
                        error,
                    });
                }
            }
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
            if extra.bad_bucket.is_none() {
                extra.bad_bucket = Some(BoltError::BadBucket {
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
                inline_child(view, &e)
            } else {
                Child::Page(header.root)
            };
            extra.buckets.push(BucketRef {
                lead: Crc {
                    crc: keys,
                    len: len32(keys_len)?,
                },
                is_key: e.key == b"key",
                at: Loc::new(view.page, e.value_offset),
                child,
            });
            (keys, keys_len) = (0, 0);
        }
    }
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
        extra: (!extra.is_empty()).then(|| Box::new(extra)),
    })
}

/// The inline page after a bucket header (`e.value` is at least 16 bytes).
fn inline_child(view: &PageView<'_>, e: &LeafElement<'_>) -> Child {
    let bytes = e.value.get(BUCKET_HEADER_LEN..).unwrap_or_default();
    let base = e.value_offset + BUCKET_HEADER_LEN as u64;
    let scanned = PageView::new(view.page, base, bytes)
        .map_err(StreamStatusError::from)
        .and_then(|inline| {
            if inline.is_leaf() {
                scan_leaf(&inline, false)
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
