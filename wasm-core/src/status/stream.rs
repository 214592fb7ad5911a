//! `snapshot status` from a stream: the numbers [`super::status`] computes for
//! [`Compat::V35`](super::Compat::V35) (hash, revision, totalKey, totalSize),
//! derived while the bytes of a snapshot pass by once, in file order, in
//! chunks of any size. For a caller that can never read the plaintext again,
//! such as a server encrypting etcd's `Maintenance.Snapshot` stream on the fly.
//!
//! # How
//! etcd's stream is bbolt's `tx.WriteTo`: meta pages 0 and 1, then every page
//! up to the high-water mark in page-id order (then, from etcd, the 32-byte
//! SHA-256 trailer). Which pages are live, and which bucket a leaf belongs to,
//! is known only once the tree can be walked, so each page is reduced, as soon
//! as all its bytes have arrived, to a summary kept by page id:
//! - a branch: its children's ids;
//! - a leaf: the CRC-32C and length of its `key ‖ value ‖ key ‖ value …`
//!   sequence as `status.rs` hashes a top-level bucket's entries (a nested
//!   bucket adds its key only), its element count, the main revision of its
//!   last key, the CRC of its keys alone (what a leaf of the root tree adds)
//!   and, per nested-bucket element, the bucket's root page id or the summary
//!   of its inline page;
//! - anything else: why it is not a tree page, for the error if it is reached.
//!
//! [`StreamStatus::finish`] walks from the meta in force through the summaries
//! in key order and joins the CRCs: CRC-32C is linear, so crc(A‖B) follows
//! from crc(A), crc(B) and the length of B. That gives exactly `status.rs`'s hash.
//!
//! Every page boundary below the high-water mark is read as a possible page:
//! a freed page keeps a stale header whose overflow may cover pages that were
//! reused since, so a page's claimed span cannot be skipped. Each claimed span
//! is buffered until complete (overlapping spans share one window); only
//! reachable pages matter at the end.
//!
//! # Memory
//! Proportional to the page count, not the data: 48 bytes per page id
//! (`Slot`), plus 8 bytes per branch child, plus one bit per page for the
//! visited set at `finish` (a 1.5 GB snapshot, ~400k pages: about 23 MB).
//! Leaves that hold nested-bucket elements, or keys too short to be revision
//! keys (etcd's small buckets), also keep a small record for those. The bytes
//! held at once are the pages still being received: one page with its
//! overflow, or a few overlapping claimed spans, each at most
//! `max_page_bytes` ([`DEFAULT_MAX_PAGE_BYTES`]).
//!
//! # What it does not do
//! - It is **not** bbolt's consistency check. `status::status` runs
//!   `tx.Check()` first and fails on any problem; this looks neither at the
//!   freelist nor at key order, and it does not descend below the top-level
//!   buckets' own trees (nested buckets' trees do not enter the numbers). It
//!   can therefore return numbers for a file `status` refuses (the auger
//!   fixture with its bogus freelist pointer is one). It fails only on the
//!   faults it meets on its way: a reached page that is missing, beyond the
//!   high-water mark, of the wrong type, reached twice (a cycle), with
//!   elements past its end; a truncated stream; no valid meta; a key of the
//!   `key` bucket too short to be a revision.
//! - No 3.6 numbers. 3.6's `totalKey` counts live user keys: whether a key is
//!   live depends on its last revision, which lies in whichever leaf comes
//!   last in key order, known only at the end. Doing it exactly would mean
//!   keeping every user key (data-sized, not page-sized); a hash of each
//!   would not be exact. Without it, 3.6's `version` alone is not worth a half status.
//! - It does not verify the SHA-256 trailer ([`crate::trailer`] does); it only
//!   applies etcd's rule for whether there is one (`len % 512 == 32`) and
//!   never reads trailer bytes as pages.
//!
//! # Invariants
//! Untrusted bytes never panic. Every loop over file structure is bounded:
//! by an element count, the visited set, [`MAX_DEPTH`], or an overflow
//! checked against the high-water mark. Work is linear in the input: a page's
//! keys and values may not total more than the page (bbolt never writes
//! that), and a page whose start is already covered by
//! [`MAX_OVERLAPPING_PAGES`] claimed spans is not followed, so no byte is
//! summarised more than that many times over. A page refused by these limits
//! is an error only if the walk reaches it; whether it is refused depends on
//! the file only, never on where the chunks end.

use serde::Serialize;

use super::Status;
use crate::bolt::db::MAX_DEPTH;
use crate::bolt::element::{BUCKET_HEADER_LEN, BucketHeader, LeafElement, PageView};
use crate::bolt::header::{OpenError, PAGE_SIZE_CANDIDATES};
use crate::bolt::meta::{self, META_LEN, Meta, MetaSlot};
use crate::bolt::page::{FLAG_BRANCH, FLAG_LEAF, PAGE_HEADER_LEN, PageHeader, PageId};
use crate::bolt::{BoltError, Loc, PageSet};
use crate::mvcc::{Revision, RevisionError};
use crate::trailer;

mod crc;
use crc::{Crc, combine};

/// The most bytes one page (its overflow pages included) may span and still
/// be buffered: 256 MiB. etcd refuses requests over 1.5 MiB by default
/// (`--max-request-bytes`), so a real value spans a few hundred 4 KiB pages;
/// the limit keeps a stale or hostile header from making us buffer the file.
pub const DEFAULT_MAX_PAGE_BYTES: u32 = 256 << 20;

/// How many claimed page spans may cover one page's start. Real files
/// overlap only where a freed large value's stale header covers pages reused
/// since: two or three deep. The limit makes the work linear.
pub const MAX_OVERLAPPING_PAGES: usize = 64;

/// Bytes kept before the page size is known: both metas at the largest size.
const HEAD_MAX: usize = 2 * 65536;
const _: () = assert!(PAGE_SIZE_CANDIDATES[PAGE_SIZE_CANDIDATES.len() - 1] == 65536);

/// A huge chunk is taken this much at a time, so it is never copied whole.
const FEED_PIECE: usize = 1 << 20;

/// The first page after the two metas.
const FIRST_PAGE: u64 = 2;

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

/// The streaming status: [`update`](Self::update) with every byte of the file
/// in order, then [`finish`](Self::finish).
pub struct StreamStatus {
    fed: u64,
    max_page_bytes: u32,
    phase: Phase,
}

impl std::fmt::Debug for StreamStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let phase = match &self.phase {
            Phase::Head(_) => "reading the metas",
            Phase::Pages(_) => "reading pages",
            Phase::Failed(_) => "failed",
        };
        f.debug_struct("StreamStatus")
            .field("fed", &self.fed)
            .field("phase", &phase)
            .finish_non_exhaustive()
    }
}

enum Phase {
    /// The first bytes, until the page size and the meta in force are known.
    Head(Vec<u8>),
    Pages(Box<Pages>),
    /// Nothing more can come of it (no valid meta); later bytes are counted only.
    Failed(StreamStatusError),
}

impl Default for StreamStatus {
    fn default() -> Self {
        Self::new()
    }
}

impl StreamStatus {
    pub fn new() -> Self {
        Self::with_max_page_bytes(DEFAULT_MAX_PAGE_BYTES)
    }

    /// Buffer at most `max_page_bytes` for one page (overflow included); a
    /// larger page is an error if the walk reaches it.
    pub fn with_max_page_bytes(max_page_bytes: u32) -> Self {
        Self {
            fed: 0,
            max_page_bytes,
            phase: Phase::Head(Vec::new()),
        }
    }

    /// Bytes fed so far.
    pub fn bytes_seen(&self) -> u64 {
        self.fed
    }

    /// The error [`finish`](Self::finish) will return, when it is already
    /// certain (the stream is not a bbolt database).
    pub fn error(&self) -> Option<&StreamStatusError> {
        match &self.phase {
            Phase::Failed(e) => Some(e),
            _ => None,
        }
    }

    /// Feed the next bytes of the file (in order, from offset 0; any size).
    pub fn update(&mut self, chunk: &[u8]) {
        self.fed = self.fed.saturating_add(chunk.len() as u64);
        let rest = match &mut self.phase {
            Phase::Failed(_) => return,
            Phase::Pages(p) => {
                p.feed(chunk);
                return;
            }
            Phase::Head(head) => {
                let take = chunk.len().min(HEAD_MAX.saturating_sub(head.len()));
                head.extend_from_slice(&chunk[..take]);
                let rest = &chunk[take..];
                match decide(head, false) {
                    // Only while the head is short of HEAD_MAX, so `rest` is empty.
                    Decision::NeedMore => return,
                    Decision::Fail(e) => {
                        self.phase = Phase::Failed(e);
                        return;
                    }
                    Decision::Ready(m) => {
                        let mut p = Pages::new(m, self.max_page_bytes);
                        p.feed(head.get(p.first_offset()..).unwrap_or_default());
                        self.phase = Phase::Pages(Box::new(p));
                    }
                }
                rest
            }
        };
        if let Phase::Pages(p) = &mut self.phase {
            p.feed(rest);
        }
    }

    /// The status, once every byte has been fed.
    pub fn finish(self) -> Result<StreamedStatus, StreamStatusError> {
        let pages = match self.phase {
            Phase::Failed(e) => return Err(e),
            Phase::Pages(p) => p,
            Phase::Head(head) => match decide(&head, true) {
                Decision::Ready(m) => {
                    let mut p = Pages::new(m, self.max_page_bytes);
                    p.feed(head.get(p.first_offset()..).unwrap_or_default());
                    Box::new(p)
                }
                Decision::Fail(e) => return Err(e),
                // `decide` at the end of the stream always decides.
                Decision::NeedMore => {
                    return Err(OpenError::TooSmall {
                        len: head.len() as u64,
                    }
                    .into());
                }
            },
        };
        pages.finish(self.fed)
    }
}

/// The metas, once the page size is known.
struct Metas {
    page_size: u32,
    metas: [Meta; 2],
    in_force: MetaSlot,
}

enum Decision {
    NeedMore,
    Ready(Metas),
    Fail(StreamStatusError),
}

fn meta_at(head: &[u8], slot: MetaSlot, offset: usize) -> Option<Meta> {
    let bytes = head.get(offset..offset.checked_add(PAGE_HEADER_LEN + META_LEN)?)?;
    let mut page = [0u8; PAGE_HEADER_LEN + META_LEN];
    page.copy_from_slice(bytes);
    Some(Meta::parse(slot, &page))
}

/// bbolt's (and `bolt::header::open`'s) choice of page size and meta, from
/// the first bytes; `ended`: they are the whole file.
fn decide(head: &[u8], ended: bool) -> Decision {
    let len = head.len() as u64;
    let short = |ended: bool| {
        if !ended {
            Decision::NeedMore
        } else if len == 0 {
            Decision::Fail(OpenError::Empty.into())
        } else {
            Decision::Fail(OpenError::TooSmall { len }.into())
        }
    };
    let Some(m0) = meta_at(head, MetaSlot::Meta0, 0) else {
        return short(ended);
    };
    // From meta 0 when it is valid, else the first size with a valid meta 1 there.
    let page_size = if m0.validate().is_ok() {
        Some(m0.page_size)
    } else {
        let mut found = None;
        for size in PAGE_SIZE_CANDIDATES {
            let Ok(at) = usize::try_from(size) else {
                continue;
            };
            match meta_at(head, MetaSlot::Meta1, at) {
                None if !ended => return Decision::NeedMore,
                Some(m1) if m1.validate().is_ok() && m1.page_size == size => {
                    found = Some(size);
                    break;
                }
                _ => {}
            }
        }
        found
    };
    let Some(page_size) = page_size.filter(|s| PAGE_SIZE_CANDIDATES.contains(s)) else {
        let meta0 = m0.validate().err().map_or_else(
            || "page size is not a power of two".into(),
            |e| e.to_string(),
        );
        return Decision::Fail(
            OpenError::NotBolt {
                meta0,
                meta1: "no valid meta page at any page size".into(),
            }
            .into(),
        );
    };
    let Ok(ps) = usize::try_from(page_size) else {
        return short(true);
    };
    if head.len() < 2 * ps {
        return short(ended);
    }
    let Some(m1) = meta_at(head, MetaSlot::Meta1, ps) else {
        return short(true);
    };
    let Some(in_force) = meta::in_force(&m0, &m1) else {
        let why = |m: &Meta| {
            m.validate()
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        return Decision::Fail(
            OpenError::NotBolt {
                meta0: why(&m0),
                meta1: why(&m1),
            }
            .into(),
        );
    };
    Decision::Ready(Metas {
        page_size,
        metas: [m0, m1],
        in_force,
    })
}

/// What is kept of one page id.
#[derive(Debug)]
enum Slot {
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
struct Leaf {
    /// `key ‖ value` of every element, a nested bucket's key alone: the
    /// leaf's part of the hash when it holds a top-level bucket's entries.
    entries: Crc,
    /// The keys after the last nested-bucket element: what a root-tree leaf
    /// hashes last (`status.rs` hashes only keys at the top level).
    tail: Crc,
    count: u16,
    overflow: u32,
    /// The main revision of the last key (meaningful when `count > 0` and
    /// `extra.bad_revision` is `None`).
    last_main: i64,
    extra: Option<Box<LeafExtra>>,
}

/// The rarer parts of a leaf summary.
#[derive(Debug, Default)]
struct LeafExtra {
    /// The first key too short to be a revision (an error in the `key` bucket only).
    bad_revision: Option<BadRevision>,
    /// The first nested-bucket value too short for a bucket header.
    bad_bucket: Option<BoltError>,
    /// The nested-bucket elements, in order: what the leaf holds if it is in the root tree.
    buckets: Vec<BucketRef>,
}

impl LeafExtra {
    fn is_empty(&self) -> bool {
        self.bad_revision.is_none() && self.bad_bucket.is_none() && self.buckets.is_empty()
    }
}

#[derive(Debug)]
struct BadRevision {
    index: u16,
    /// The element record.
    at: Loc,
    /// Shorter than a revision key (17 bytes): that is why it failed.
    key: Vec<u8>,
    error: RevisionError,
}

/// A nested-bucket element.
#[derive(Debug)]
struct BucketRef {
    /// The keys since the previous bucket element, then this bucket's name.
    lead: Crc,
    /// Named `key`: etcd's revisions.
    is_key: bool,
    /// Where the bucket value sits.
    at: Loc,
    child: Child,
}

#[derive(Debug)]
enum Child {
    Page(PageId),
    Inline(Box<Leaf>),
    Bad(Box<StreamStatusError>),
}

/// A page span being received.
#[derive(Debug, Clone, Copy)]
struct Open {
    id: u64,
    start: u64,
    end: u64,
}

/// The page phase: everything after the two metas.
struct Pages {
    page_size: u64,
    metas: [Meta; 2],
    in_force: MetaSlot,
    /// High-water mark: pages `0..hwm` are the database.
    hwm: u64,
    /// `hwm × page_size`, or `u64::MAX` if that overflows (`finish` refuses it).
    end: u64,
    max_page_bytes: u32,
    /// Bytes `window_start..window_start + window.len()` of the file.
    window: Vec<u8>,
    window_start: u64,
    /// The next page whose header has not been read.
    next: u64,
    /// Spans whose bytes are still arriving.
    open: Vec<Open>,
    /// Ends of the accepted spans that reach past the last page start read
    /// (at most [`MAX_OVERLAPPING_PAGES`]).
    cover: Vec<u64>,
    /// Indexed by page id − [`FIRST_PAGE`].
    slots: Vec<Slot>,
}

impl Pages {
    fn new(m: Metas, max_page_bytes: u32) -> Self {
        let page_size = u64::from(m.page_size);
        let meta = match m.in_force {
            MetaSlot::Meta0 => &m.metas[0],
            MetaSlot::Meta1 => &m.metas[1],
        };
        let hwm = meta.pgid.0;
        Self {
            page_size,
            in_force: m.in_force,
            hwm,
            end: hwm.saturating_mul(page_size),
            metas: m.metas,
            max_page_bytes,
            window: Vec::new(),
            window_start: FIRST_PAGE * page_size,
            next: FIRST_PAGE,
            open: Vec::new(),
            cover: Vec::new(),
            slots: Vec::new(),
        }
    }

    /// Where the page phase starts, as an index into the head bytes.
    fn first_offset(&self) -> usize {
        usize::try_from(FIRST_PAGE * self.page_size).unwrap_or(usize::MAX)
    }

    fn meta(&self) -> &Meta {
        match self.in_force {
            MetaSlot::Meta0 => &self.metas[0],
            MetaSlot::Meta1 => &self.metas[1],
        }
    }

    fn offset_of(&self, id: PageId) -> u64 {
        id.0.saturating_mul(self.page_size)
    }

    fn window_end(&self) -> u64 {
        self.window_start + self.window.len() as u64
    }

    /// The next bytes after the metas (in order). Bytes past the high-water
    /// mark are not pages (a member file's slack, the trailer) and are dropped.
    fn feed(&mut self, bytes: &[u8]) {
        let room = self.end.saturating_sub(self.window_end());
        let take = usize::try_from(room).map_or(bytes.len(), |r| r.min(bytes.len()));
        for piece in bytes[..take].chunks(FEED_PIECE) {
            self.window.extend_from_slice(piece);
            self.advance();
        }
    }

    fn advance(&mut self) {
        let have = self.window_end();
        // Every open span that is now complete: summarise it.
        let mut i = 0;
        while i < self.open.len() {
            if self.open[i].end > have {
                i += 1;
                continue;
            }
            let o = self.open.swap_remove(i);
            self.close(o);
        }
        // Every page whose 16-byte header has arrived: what does it claim?
        // A span already complete is summarised at once.
        while self.next < self.hwm {
            let Some(start) = self.next.checked_mul(self.page_size) else {
                break;
            };
            let Some(at) = start
                .checked_sub(self.window_start)
                .and_then(|a| usize::try_from(a).ok())
            else {
                break;
            };
            let Some(bytes) = self.window.get(at..at.saturating_add(PAGE_HEADER_LEN)) else {
                break;
            };
            let mut h = [0u8; PAGE_HEADER_LEN];
            h.copy_from_slice(bytes);
            let slot = self.classify(self.next, start, &PageHeader::parse(&h));
            if self.slots.len() == self.slots.capacity() {
                // Double, as `push` would, but never past the high-water mark:
                // the vector ends at exactly one slot per page.
                let left = usize::try_from(self.hwm - self.next).unwrap_or(usize::MAX);
                self.slots.reserve_exact(left.min(self.slots.len().max(64)));
            }
            self.slots.push(slot);
            self.next += 1;
            if let Some(o) = self.open.last().copied()
                && o.end <= have
            {
                self.open.pop();
                self.close(o);
            }
        }
        // Drop the bytes no page needs any more.
        let next_start = self.next.saturating_mul(self.page_size);
        let keep = self
            .open
            .iter()
            .map(|o| o.start)
            .fold(next_start, u64::min)
            .min(have);
        let drop = usize::try_from(keep.saturating_sub(self.window_start))
            .unwrap_or(usize::MAX)
            .min(self.window.len());
        if drop > 0 {
            self.window.drain(..drop);
            self.window_start += drop as u64;
        }
    }

    /// Summarise a complete span into its slot.
    fn close(&mut self, o: Open) {
        let slot = self.summarize(o);
        if let Some(s) = self.slot_mut(o.id) {
            *s = slot;
        }
    }

    fn slot_mut(&mut self, id: u64) -> Option<&mut Slot> {
        let i = usize::try_from(id.checked_sub(FIRST_PAGE)?).ok()?;
        self.slots.get_mut(i)
    }

    fn slot(&self, id: PageId) -> Option<&Slot> {
        let i = usize::try_from(id.0.checked_sub(FIRST_PAGE)?).ok()?;
        self.slots.get(i)
    }

    /// What the header at page `id`'s offset claims; opens its span if it is a tree page.
    fn classify(&mut self, id: u64, start: u64, h: &PageHeader) -> Slot {
        let page = PageId(id);
        let bad = |e: StreamStatusError| Slot::Bad(Box::new(e));
        if h.id != page {
            return Slot::NotAPage { found: h.id };
        }
        if h.flags != FLAG_BRANCH && h.flags != FLAG_LEAF {
            return Slot::NotTree { flags: h.flags };
        }
        let pages = u64::from(h.overflow) + 1;
        if id.checked_add(pages).is_none_or(|e| e > self.hwm) {
            return bad(BoltError::OverflowPastEnd {
                page,
                offset: start,
                overflow: h.overflow,
                hwm: PageId(self.hwm),
            }
            .into());
        }
        let bytes = pages.saturating_mul(self.page_size);
        if bytes > u64::from(self.max_page_bytes) {
            return bad(StreamStatusError::PageTooLarge {
                page,
                offset: start,
                bytes,
                max: self.max_page_bytes,
            });
        }
        // How many accepted spans cover this page's start: a property of the
        // file, not of where the chunks happen to end.
        self.cover.retain(|&end| end > start);
        if self.cover.len() >= MAX_OVERLAPPING_PAGES {
            return bad(StreamStatusError::TooManyOverlapping {
                page,
                offset: start,
                open: self.cover.len(),
            });
        }
        let end = start + bytes;
        self.cover.push(end);
        self.open.push(Open { id, start, end });
        Slot::Pending
    }

    /// Summarise a complete page (its bytes are in the window).
    fn summarize(&self, o: Open) -> Slot {
        let page = PageId(o.id);
        let range = usize::try_from(o.start - self.window_start)
            .ok()
            .zip(usize::try_from(o.end - self.window_start).ok());
        let Some(bytes) = range.and_then(|(s, e)| self.window.get(s..e)) else {
            // The window always holds the open spans; a read error if not.
            return Slot::Bad(Box::new(
                BoltError::Read {
                    page,
                    offset: o.start,
                    len: o.end - o.start,
                    reason: "the page's bytes were not kept".into(),
                }
                .into(),
            ));
        };
        match summarize_page(page, o.start, bytes) {
            Ok(s) => s,
            Err(e) => Slot::Bad(Box::new(e)),
        }
    }

    fn finish(&self, total: u64) -> Result<StreamedStatus, StreamStatusError> {
        let db_len = trailer::database_len(total);
        if 2 * self.page_size > db_len {
            return Err(OpenError::TooSmall { len: total }.into());
        }
        let meta = self.meta();
        let needed = self.hwm.checked_mul(self.page_size);
        if needed.is_none_or(|n| n > db_len) {
            return Err(OpenError::Truncated {
                slot: meta.slot.page_id().0,
                pages: self.hwm,
                page_size: u32::try_from(self.page_size).unwrap_or(u32::MAX),
                needed_bytes: needed.unwrap_or(u64::MAX),
                have_bytes: db_len,
            }
            .into());
        }
        let mut walk = Walk {
            pages: self,
            seen: PageSet::new(PageId(self.hwm)),
            hash: 0,
            revision: 0,
            total_key: 0,
        };
        walk.seen.insert(PageId(0));
        walk.seen.insert(PageId(1));
        // Where the root bucket's page id sits in the meta (as `Db::root`).
        let slot_page = meta.slot.page_id();
        let from = Loc::new(
            slot_page,
            self.offset_of(slot_page) + PAGE_HEADER_LEN as u64 + 16,
        );
        walk.tree(meta.root, from, 0, Role::Root)?;
        Ok(StreamedStatus {
            status: Status {
                hash: walk.hash,
                revision: walk.revision,
                total_key: walk.total_key,
                total_size: self.hwm.saturating_mul(self.page_size),
                version: String::new(),
            },
            database_len: db_len,
            has_trailer: trailer::has_trailer(total),
            meta: meta.clone(),
        })
    }
}

/// A complete branch or leaf page (`bytes` spans its overflow pages).
fn summarize_page(page: PageId, base: u64, bytes: &[u8]) -> Result<Slot, StreamStatusError> {
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

/// Which tree a page is in.
#[derive(Debug, Clone, Copy)]
enum Role {
    /// The root bucket's: its entries are the top-level buckets.
    Root,
    /// A top-level bucket's; `key`: etcd's revisions.
    Bucket { key: bool },
}

/// The walk at `finish`, in `status.rs`'s order, over the summaries.
struct Walk<'p> {
    pages: &'p Pages,
    seen: PageSet,
    hash: u32,
    revision: i64,
    total_key: u64,
}

impl Walk<'_> {
    fn tree(
        &mut self,
        id: PageId,
        from: Loc,
        depth: u32,
        role: Role,
    ) -> Result<(), StreamStatusError> {
        if depth >= MAX_DEPTH {
            return Err(BoltError::TooDeep {
                page: id,
                from,
                max: MAX_DEPTH,
            }
            .into());
        }
        let pages = self.pages;
        let hwm = PageId(pages.hwm);
        if id.0 >= hwm.0 {
            return Err(BoltError::OutOfBounds {
                page: id,
                from,
                hwm,
            }
            .into());
        }
        // The metas are marked, so the slot lookup below is for ids >= 2.
        if !self.seen.insert(id) {
            return Err(BoltError::MultipleReferences { page: id, from }.into());
        }
        let offset = pages.offset_of(id);
        match pages.slot(id) {
            None | Some(Slot::Pending) => Err(BoltError::Read {
                page: id,
                offset,
                len: pages.page_size,
                reason: "the stream ended inside this page".into(),
            }
            .into()),
            Some(Slot::NotAPage { found }) => Err(BoltError::IdMismatch {
                page: id,
                offset,
                found: *found,
            }
            .into()),
            Some(Slot::NotTree { flags }) => Err(BoltError::PageType {
                page: id,
                offset,
                expected: "branch or leaf",
                found: PageHeader {
                    id,
                    flags: *flags,
                    count: 0,
                    overflow: 0,
                }
                .kind(),
            }
            .into()),
            Some(Slot::Bad(e)) => Err((**e).clone()),
            Some(Slot::Branch { children, overflow }) => {
                self.overflow(id, *overflow, from)?;
                for (i, child) in children.iter().enumerate() {
                    let at = offset + PAGE_HEADER_LEN as u64 + 16 * i as u64;
                    self.tree(*child, Loc::new(id, at), depth + 1, role)?;
                }
                Ok(())
            }
            Some(Slot::Leaf(leaf)) => {
                self.overflow(id, leaf.overflow, from)?;
                match role {
                    Role::Root => self.root_leaf(leaf, depth),
                    Role::Bucket { key } => self.entries(leaf, key),
                }
            }
        }
    }

    /// Mark a page's overflow pages (bounded: `classify` checked them against the hwm).
    fn overflow(&mut self, id: PageId, overflow: u32, from: Loc) -> Result<(), StreamStatusError> {
        for i in 1..=u64::from(overflow) {
            let page = PageId(id.0 + i);
            if !self.seen.insert(page) {
                return Err(BoltError::MultipleReferences { page, from }.into());
            }
        }
        Ok(())
    }

    /// A root-tree leaf: top-level bucket names (and any plain keys) are
    /// hashed, each bucket's entries after its name.
    fn root_leaf(&mut self, leaf: &Leaf, depth: u32) -> Result<(), StreamStatusError> {
        if let Some(x) = &leaf.extra {
            if let Some(e) = &x.bad_bucket {
                return Err(e.clone().into());
            }
            for b in &x.buckets {
                self.hash = combine(self.hash, b.lead);
                match &b.child {
                    Child::Page(root) => {
                        self.tree(*root, b.at, depth + 1, Role::Bucket { key: b.is_key })?;
                    }
                    Child::Inline(inline) => self.entries(inline, b.is_key)?,
                    Child::Bad(e) => return Err((**e).clone()),
                }
            }
        }
        self.hash = combine(self.hash, leaf.tail);
        Ok(())
    }

    /// A leaf of a top-level bucket: its entries.
    fn entries(&mut self, leaf: &Leaf, key_bucket: bool) -> Result<(), StreamStatusError> {
        if let Some(x) = &leaf.extra {
            if let Some(e) = &x.bad_bucket {
                return Err(e.clone().into());
            }
            if key_bucket && let Some(b) = &x.bad_revision {
                return Err(StreamStatusError::RevisionKey {
                    at: b.at,
                    index: b.index,
                    key_hex: hex::encode(&b.key),
                    error: b.error.clone(),
                });
            }
        }
        self.hash = combine(self.hash, leaf.entries);
        self.total_key += u64::from(leaf.count);
        if key_bucket && leaf.count > 0 {
            self.revision = leaf.last_main;
        }
        Ok(())
    }
}

#[cfg(test)]
// Test builders cast small, known lengths to the file's field widths.
#[allow(clippy::cast_possible_truncation)]
mod tests {
    use super::*;
    use crate::MemSource;
    use crate::bolt::Db;
    use crate::bolt::element::build;
    use crate::bolt::meta::{MAGIC, PGID_NO_FREELIST, VERSION};
    use crate::mvcc::RevisionKey;
    use crate::status::{Compat, status};

    #[test]
    fn a_page_summary_stays_small() {
        // The memory promise of the module doc: 48 bytes per page id.
        assert!(
            std::mem::size_of::<Slot>() <= 48,
            "{}",
            std::mem::size_of::<Slot>()
        );
    }

    const PS: usize = 1024;

    fn rev(main: i64, tombstone: bool) -> Vec<u8> {
        RevisionKey {
            rev: Revision { main, sub: 0 },
            tombstone,
        }
        .encode()
    }

    fn bucket_value(root: u64, inline: &[u8]) -> Vec<u8> {
        let mut v = BucketHeader {
            root: PageId(root),
            sequence: 0,
        }
        .encode()
        .to_vec();
        v.extend_from_slice(inline);
        v
    }

    fn put_page(file: &mut [u8], id: usize, page: &[u8]) {
        file[id * PS..id * PS + page.len()].copy_from_slice(page);
    }

    fn put_metas(file: &mut [u8], root: u64, pgid: u64) {
        for (i, txid) in [(0usize, 1u64), (1, 2)] {
            let slot = if i == 0 {
                MetaSlot::Meta0
            } else {
                MetaSlot::Meta1
            };
            let m = Meta {
                slot,
                header: PageHeader {
                    id: PageId(i as u64),
                    flags: 4,
                    count: 0,
                    overflow: 0,
                },
                magic: MAGIC,
                version: VERSION,
                page_size: PS as u32,
                flags: 0,
                root: PageId(root),
                sequence: 0,
                freelist: PageId(PGID_NO_FREELIST),
                pgid: PageId(pgid),
                txid,
                checksum: 0,
                computed_checksum: 0,
            };
            let at = i * PS;
            file[at..at + 8].copy_from_slice(&(i as u64).to_le_bytes());
            file[at + 8..at + 10].copy_from_slice(&4u16.to_le_bytes());
            file[at + 16..at + 16 + META_LEN].copy_from_slice(&m.encode());
        }
    }

    /// A 9-page file with what bbolt-made files rarely show on demand:
    /// ```text
    /// 2  root leaf: "a" → 4, "inl" (inline: x, y), "key" → 6, "plain" (a value at the top level)
    /// 3  a freed leaf whose stale header claims 3 overflow pages (3..=6), reused since
    /// 4  bucket a: one 1500-byte value, overflow 1 (4..=5)
    /// 6  bucket key: a branch over 7 and 8
    /// 7  leaf: revisions 1, 2      8  leaf: revision 3, then 4 (a tombstone)
    /// ```
    fn built() -> Vec<u8> {
        let mut f = vec![0u8; 9 * PS];
        put_metas(&mut f, 2, 9);
        // An inline page is exactly as long as its elements: 16 + 2 × 16 + 2 + 3.
        let inline = build::leaf(0, &[(0, b"x", b"1"), (0, b"y", b"22")], 53);
        let inl = bucket_value(0, &inline);
        let (a, key) = (bucket_value(4, &[]), bucket_value(6, &[]));
        let root = build::leaf(
            2,
            &[
                (1, b"a", &a),
                (1, b"inl", &inl),
                (1, b"key", &key),
                (0, b"plain", b"top-level value"),
            ],
            PS,
        );
        put_page(&mut f, 2, &root);
        let mut stale = build::leaf(3, &[(0, b"old", &[7u8; 600])], PS);
        stale[12..16].copy_from_slice(&3u32.to_le_bytes());
        put_page(&mut f, 3, &stale);
        let mut big = build::leaf(4, &[(0, b"big", &[9u8; 1500])], 2 * PS);
        big[12..16].copy_from_slice(&1u32.to_le_bytes());
        put_page(&mut f, 4, &big);
        put_page(
            &mut f,
            6,
            &build::branch(6, &[(&rev(1, false), 7), (&rev(3, false), 8)], PS),
        );
        let (r1, r2, r3, r4) = (rev(1, false), rev(2, false), rev(3, false), rev(4, true));
        put_page(
            &mut f,
            7,
            &build::leaf(7, &[(0, &r1, b"v1"), (0, &r2, b"v2")], PS),
        );
        put_page(
            &mut f,
            8,
            &build::leaf(8, &[(0, &r3, b"v3"), (0, &r4, b"")], PS),
        );
        f
    }

    fn stream(bytes: &[u8], chunk: usize) -> Result<StreamedStatus, StreamStatusError> {
        let mut s = StreamStatus::new();
        for c in bytes.chunks(chunk.max(1)) {
            s.update(c);
        }
        assert_eq!(s.bytes_seen(), bytes.len() as u64);
        s.finish()
    }

    fn reference(bytes: &[u8]) -> Status {
        let src = MemSource(bytes);
        let db = Db::open(&src).unwrap();
        status(&db, Compat::V35).unwrap()
    }

    #[test]
    fn built_file_matches_status_split_anywhere() {
        let f = built();
        let want = reference(&f);
        assert_eq!((want.revision, want.total_key), (4, 7));
        let whole = stream(&f, f.len()).unwrap();
        assert_eq!(whole.status, want);
        assert_eq!(
            (whole.database_len, whole.has_trailer),
            (f.len() as u64, false)
        );
        assert_eq!(whole.meta.txid, 2);
        for split in 0..=f.len() {
            let mut s = StreamStatus::new();
            s.update(&f[..split]);
            s.update(&f[split..]);
            assert_eq!(s.finish().unwrap().status, want, "split at {split}");
        }
        for chunk in [1, 7, 16, 1000, PS, PS + 1] {
            assert_eq!(stream(&f, chunk).unwrap().status, want, "chunk {chunk}");
        }
    }

    #[test]
    fn the_hash_is_one_crc_over_names_keys_and_values_in_bbolt_order() {
        // Independent of status.rs: the byte sequence `etcdctl snapshot status` hashes.
        let mut seq: Vec<u8> = Vec::new();
        seq.extend_from_slice(b"a");
        seq.extend_from_slice(b"big");
        seq.extend_from_slice(&[9u8; 1500]);
        seq.extend_from_slice(b"inlx1y22key");
        for (main, tombstone, value) in [
            (1, false, &b"v1"[..]),
            (2, false, b"v2"),
            (3, false, b"v3"),
            (4, true, b""),
        ] {
            seq.extend_from_slice(&rev(main, tombstone));
            seq.extend_from_slice(value);
        }
        seq.extend_from_slice(b"plain");
        let got = stream(&built(), 4096).unwrap().status;
        assert_eq!(got.hash, crc32c::crc32c(&seq));
        assert_eq!(got.total_size, 9 * PS as u64);
    }

    #[test]
    fn a_trailer_and_slack_past_the_high_water_mark_are_not_pages() {
        let mut f = built();
        let want = reference(&f);
        // A member file grown past its high-water mark, with garbage there.
        f.extend_from_slice(&[0xAB; 2 * PS]);
        assert_eq!(stream(&f, 100).unwrap().status, want);
        // An `etcdctl snapshot save` trailer.
        let mut t = built();
        t.extend_from_slice(&[0x55; 32]);
        let got = stream(&t, 33).unwrap();
        assert_eq!(got.status, want);
        assert_eq!((got.database_len, got.has_trailer), (9 * PS as u64, true));
    }

    fn set_u64(f: &mut [u8], at: usize, v: u64) {
        f[at..at + 8].copy_from_slice(&v.to_le_bytes());
    }

    /// Offset of branch element `i`'s child id on page `id`.
    fn child_at(id: usize, i: usize) -> usize {
        id * PS + 16 + 16 * i + 8
    }

    type Edit = Box<dyn Fn(&mut Vec<u8>)>;
    type Expect = Box<dyn Fn(&StreamStatusError) -> bool>;

    #[test]
    fn structural_faults_name_the_page() {
        let f = built();
        let cases: Vec<(&str, Edit, Expect)> = vec![
            (
                "a branch cycle",
                Box::new(|f| set_u64(f, child_at(6, 1), 6)),
                Box::new(
                    |e| matches!(e, StreamStatusError::Bolt(BoltError::MultipleReferences { page: PageId(6), from }) if from.page == PageId(6)),
                ),
            ),
            (
                "a child inside another page's overflow",
                Box::new(|f| set_u64(f, child_at(6, 1), 5)),
                Box::new(|e| {
                    matches!(
                        e,
                        StreamStatusError::Bolt(BoltError::MultipleReferences {
                            page: PageId(5),
                            ..
                        })
                    )
                }),
            ),
            (
                "a missing page (zeroed)",
                Box::new(|f| f[8 * PS..9 * PS].fill(0)),
                Box::new(|e| {
                    matches!(
                        e,
                        StreamStatusError::Bolt(BoltError::IdMismatch {
                            page: PageId(8),
                            found: PageId(0),
                            ..
                        })
                    )
                }),
            ),
            (
                "a child beyond the high-water mark",
                Box::new(|f| set_u64(f, child_at(6, 0), 9)),
                Box::new(|e| {
                    matches!(
                        e,
                        StreamStatusError::Bolt(BoltError::OutOfBounds {
                            page: PageId(9),
                            ..
                        })
                    )
                }),
            ),
            (
                "a meta page as a child",
                Box::new(|f| set_u64(f, child_at(6, 0), 1)),
                Box::new(|e| {
                    matches!(
                        e,
                        StreamStatusError::Bolt(BoltError::MultipleReferences {
                            page: PageId(1),
                            ..
                        })
                    )
                }),
            ),
            (
                "a reached page claiming overflow past the end",
                Box::new(|f| f[7 * PS + 12..7 * PS + 16].copy_from_slice(&5u32.to_le_bytes())),
                Box::new(|e| {
                    matches!(
                        e,
                        StreamStatusError::Bolt(BoltError::OverflowPastEnd {
                            page: PageId(7),
                            overflow: 5,
                            ..
                        })
                    )
                }),
            ),
            (
                "a reached page of the wrong type",
                Box::new(|f| f[8 * PS + 8..8 * PS + 10].copy_from_slice(&0x10u16.to_le_bytes())),
                Box::new(
                    |e| matches!(e, StreamStatusError::Bolt(BoltError::PageType { page: PageId(8), found, .. }) if found == "freelist"),
                ),
            ),
            (
                "elements past the page",
                Box::new(|f| f[7 * PS + 10..7 * PS + 12].copy_from_slice(&u16::MAX.to_le_bytes())),
                Box::new(|e| {
                    matches!(
                        e,
                        StreamStatusError::Bolt(BoltError::ElementsOverrun {
                            page: PageId(7),
                            ..
                        })
                    )
                }),
            ),
            (
                "values overlapping each other",
                // Both elements' vsize 900: each stays inside the page, together they exceed it.
                Box::new(|f| {
                    for i in 0..2 {
                        let at = 7 * PS + 16 + 16 * i + 12;
                        f[at..at + 4].copy_from_slice(&900u32.to_le_bytes());
                    }
                }),
                Box::new(|e| {
                    matches!(
                        e,
                        StreamStatusError::ElementsExceedPage {
                            page: PageId(7),
                            ..
                        }
                    )
                }),
            ),
            (
                "a short key in the key bucket",
                // Element 0's ksize 17 → 5: the key is the first 5 bytes.
                Box::new(|f| {
                    f[8 * PS + 16 + 8..8 * PS + 16 + 12].copy_from_slice(&5u32.to_le_bytes())
                }),
                Box::new(
                    |e| matches!(e, StreamStatusError::RevisionKey { at, index: 0, error: RevisionError::Length { len: 5 }, .. } if at.page == PageId(8)),
                ),
            ),
            (
                "the root bucket's page beyond the high-water mark",
                Box::new(|f| {
                    // Both metas: root 40, checksums recomputed.
                    put_metas(f, 40, 9);
                }),
                Box::new(
                    |e| matches!(e, StreamStatusError::Bolt(BoltError::OutOfBounds { page: PageId(40), from, .. }) if from.page == PageId(1)),
                ),
            ),
        ];
        for (name, edit, expect) in cases {
            let mut g = f.clone();
            edit(&mut g);
            for chunk in [1, 7, 4096, g.len()] {
                let e = stream(&g, chunk).unwrap_err();
                assert!(expect(&e), "{name}, chunk {chunk}: {e:?}");
                assert!(e.to_string().contains("page "), "{name}: {e}");
            }
        }
    }

    #[test]
    fn an_unreachable_stale_page_may_claim_anything() {
        let mut f = built();
        let want = reference(&f);
        // Page 3 is free: past the end, too large, or garbage, it does not matter.
        for overflow in [5u32, u32::MAX] {
            f[3 * PS + 12..3 * PS + 16].copy_from_slice(&overflow.to_le_bytes());
            assert_eq!(stream(&f, 512).unwrap().status, want, "overflow {overflow}");
        }
        f[3 * PS + 10..3 * PS + 12].copy_from_slice(&u16::MAX.to_le_bytes());
        assert_eq!(stream(&f, 512).unwrap().status, want);
    }

    /// A file of `pages` (id, bytes), metas naming `root` and `hwm`.
    fn file(pages: &[(usize, Vec<u8>)], root: u64, hwm: u64) -> Vec<u8> {
        let mut f = vec![0u8; hwm as usize * PS];
        put_metas(&mut f, root, hwm);
        for (id, p) in pages {
            put_page(&mut f, *id, p);
        }
        f
    }

    /// A key bucket (root leaf at 2) whose branch at 3 holds `n` (≤ 30) leaves from page `first`.
    fn many_leaves(n: usize, first: usize) -> Vec<(usize, Vec<u8>)> {
        let key = bucket_value(3, &[]);
        let mut pages = vec![(2, build::leaf(2, &[(1, b"key", &key)], PS))];
        let firsts: Vec<Vec<u8>> = (0..n).map(|i| rev(i as i64 + 1, false)).collect();
        let children: Vec<(&[u8], u64)> = firsts
            .iter()
            .enumerate()
            .map(|(i, k)| (k.as_slice(), (first + i) as u64))
            .collect();
        pages.push((3, build::branch(3, &children, PS)));
        for (i, k) in firsts.iter().enumerate() {
            let id = first + i;
            pages.push((id, build::leaf(id as u64, &[(0, k, b"value")], PS)));
        }
        pages
    }

    #[test]
    fn one_slot_per_page_and_no_bytes_kept_after_the_last_page() {
        let mut pages = many_leaves(30, 104);
        pages.extend((4..104).map(|id| (id, build::leaf(id as u64, &[], PS))));
        let f = file(&pages, 2, 134);
        let mut s = StreamStatus::new();
        for c in f.chunks(PS) {
            s.update(c);
        }
        let Phase::Pages(p) = &s.phase else {
            panic!("{s:?}")
        };
        assert_eq!((p.slots.len(), p.slots.capacity()), (132, 132));
        assert!(p.window.is_empty() && p.open.is_empty(), "{:?}", p.open);
    }

    #[test]
    fn regression_many_whole_pages_in_one_chunk_are_not_overlapping() {
        // One chunk brought 130 headers at once; complete pages once counted as
        // open spans, so the live leaves after 100 free ones were refused.
        let mut pages = many_leaves(30, 104);
        pages.extend((4..104).map(|id| (id, build::leaf(id as u64, &[], PS))));
        let f = file(&pages, 2, 134);
        let want = reference(&f);
        assert_eq!(want.total_key, 30);
        for chunk in [f.len(), 3 * PS, PS, 7] {
            assert_eq!(stream(&f, chunk).unwrap().status, want, "chunk {chunk}");
        }
    }

    #[test]
    fn overlapping_stale_spans_are_followed_up_to_the_limit_whatever_the_chunks() {
        // `stale` freed pages from 4 on, each claiming overflow up to the
        // high-water mark, then the key bucket's live leaves.
        let build_with = |stale: usize| {
            let first = 4 + stale;
            let mut pages = many_leaves(3, first);
            let hwm = first + 3;
            for id in 4..first {
                let mut p = build::leaf(id as u64, &[], PS);
                p[12..16].copy_from_slice(&((hwm - id - 1) as u32).to_le_bytes());
                pages.push((id, p));
            }
            file(&pages, 2, hwm as u64)
        };
        let f = build_with(MAX_OVERLAPPING_PAGES - 1);
        let want = reference(&f);
        for chunk in [f.len(), PS, 100, 16] {
            assert_eq!(stream(&f, chunk).unwrap().status, want, "chunk {chunk}");
        }
        // One more: the first live leaf's start is covered by the limit's worth of spans.
        let f = build_with(MAX_OVERLAPPING_PAGES);
        let first = PageId(4 + MAX_OVERLAPPING_PAGES as u64);
        for chunk in [f.len(), PS, 100, 16] {
            let e = stream(&f, chunk).unwrap_err();
            assert!(
                matches!(e, StreamStatusError::TooManyOverlapping { page, open: MAX_OVERLAPPING_PAGES, .. } if page == first),
                "chunk {chunk}: {e:?}"
            );
        }
    }

    #[test]
    fn a_page_over_the_buffer_limit_is_refused_only_when_reached() {
        let f = built();
        let mut s = StreamStatus::with_max_page_bytes(PS as u32);
        s.update(&f);
        // Page 4 (two pages) is bucket a's root.
        let e = s.finish().unwrap_err();
        assert!(
            matches!(
                e,
                StreamStatusError::PageTooLarge {
                    page: PageId(4),
                    bytes: 2048,
                    ..
                }
            ),
            "{e:?}"
        );
    }

    #[test]
    fn truncated_streams_say_how_much_is_missing() {
        let f = built();
        for cut in [9 * PS - 1, 8 * PS, 4 * PS + 100, 2 * PS] {
            let e = stream(&f[..cut], 300).unwrap_err();
            assert!(
                matches!(e, StreamStatusError::Open(OpenError::Truncated { needed_bytes, have_bytes, .. })
                    if needed_bytes == 9 * PS as u64 && have_bytes == cut as u64),
                "cut {cut}: {e:?}"
            );
        }
        for cut in [PS + 100, 79] {
            let e = stream(&f[..cut], 300).unwrap_err();
            assert!(
                matches!(e, StreamStatusError::Open(OpenError::TooSmall { .. })),
                "cut {cut}: {e:?}"
            );
        }
        assert_eq!(
            stream(&[], 1).unwrap_err(),
            StreamStatusError::Open(OpenError::Empty)
        );
    }

    #[test]
    fn a_bad_meta_falls_back_like_bbolt_and_two_are_not_bolt() {
        let mut f = built();
        let want = reference(&f);
        f[PS + 16 + 20] ^= 0xFF; // meta 1 (in force): its checksum fails
        let got = stream(&f, 10).unwrap();
        assert_eq!(got.meta.slot, MetaSlot::Meta0);
        assert_eq!(got.status, want, "both metas name the same tree");
        assert_eq!(got.status, reference(&f));
        f[16 + 20] ^= 0xFF;
        // Meta 0 invalid: bbolt probes larger page sizes for a meta 1, so the
        // verdict waits for 64 KiB or the end of the stream.
        let mut s = StreamStatus::new();
        s.update(&f);
        assert!(s.error().is_none());
        let e = s.finish().unwrap_err();
        assert!(
            matches!(&e, StreamStatusError::Open(OpenError::NotBolt { meta0, .. }) if meta0.contains("checksum")),
            "{e:?}"
        );
        let mut s = StreamStatus::new();
        s.update(&[0x5Au8; 200_000]);
        assert!(
            matches!(
                s.error(),
                Some(StreamStatusError::Open(OpenError::NotBolt { .. }))
            ),
            "{s:?}"
        );
        s.update(&[0; 10]);
        assert_eq!(s.bytes_seen(), 200_010);
        assert!(s.finish().is_err());
    }

    #[test]
    fn meta0_broken_probes_the_page_size_from_meta1() {
        let mut f = built();
        f[16] ^= 0xFF; // meta 0's magic
        let want = reference(&f);
        for chunk in [1, 100, f.len()] {
            let got = stream(&f, chunk).unwrap();
            assert_eq!(
                (got.status.clone(), got.meta.slot),
                (want.clone(), MetaSlot::Meta1)
            );
        }
    }
}
