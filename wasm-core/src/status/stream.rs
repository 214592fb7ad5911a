//! `snapshot status` from a stream: the numbers [`super::status`] computes
//! (hash, revision, totalKey, totalSize, and 3.6's version), derived while the
//! bytes of a snapshot pass by once, in file order, in chunks of any size. For
//! a caller that can never read the plaintext again, such as a server
//! encrypting etcd's `Maintenance.Snapshot` stream on the fly.
//!
//! Like the file-based status it follows the file ([`Compat::of_file`]'s
//! rule): etcdutl 3.6's numbers when the `meta` bucket holds a
//! `storageVersion` (etcd 3.6 and later write one), else etcdctl 3.4 /
//! etcdutl 3.5's. Which it is can be known only at the end (the `meta`
//! bucket's page or the root leaf holding it inline may come last in page
//! order, and only the walk says which copy is live), so both conventions'
//! numbers are computed in the one pass and the file's own is picked at
//! [`StreamStatus::finish`]; the other one comes beside it
//! ([`StreamedStatus::other`]). The two differ in `totalKey` (3.5: every entry
//! of every top-level bucket; 3.6: live user keys), `version`, and the keys
//! and values 3.6 refuses.
//!
//! [`Compat::of_file`]: super::Compat::of_file
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
//!   last key, the CRC of its keys alone (what a leaf of the root tree adds),
//!   per nested-bucket element the bucket's root page id or the summary of
//!   its inline page; and, when every key is a revision and every value an
//!   `mvccpb.KeyValue` (a `key`-bucket leaf, live or stale), per element its
//!   user key's id and whether it is a tombstone; the value of a
//!   `storageVersion` element;
//! - anything else: why it is not a tree page, for the error if it is reached.
//!
//! [`StreamStatus::finish`] walks from the meta in force through the summaries
//! in key order and joins the CRCs: CRC-32C is linear, so crc(A‖B) follows
//! from crc(A), crc(B) and the length of B. That gives exactly `status.rs`'s
//! hash. Replaying the `key` bucket's (id, tombstone) pairs in the same order
//! gives exactly 3.6's set of live keys: a put inserts, a tombstone removes.
//!
//! Every page boundary below the high-water mark is read as a possible page:
//! a freed page keeps a stale header whose overflow may cover pages that were
//! reused since, so a page's claimed span cannot be skipped. Each claimed span
//! is buffered until complete (overlapping spans share one window); only
//! reachable pages matter at the end.
//!
//! # Memory
//! Mostly proportional to the page count, not the data: 48 bytes per page id
//! (`Slot`), plus 8 bytes per branch child, plus one bit per page for the
//! visited set at `finish` (a 1.5 GB snapshot, ~400k pages: about 23 MB).
//! Leaves that hold nested-bucket elements, or keys too short to be revision
//! keys (etcd's small buckets), also keep a small record for those. For 3.6's
//! `totalKey` (computed for every stream, as the convention is known only at
//! the end) each `key`-bucket leaf keeps 4 bytes per element plus a 24-byte
//! record, and every distinct user key is kept once with its id (its bytes and
//! about 40 more): bounded by the input, and small beside the values. The bytes
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
//!   `key` bucket too short to be a revision; and, for 3.6's numbers only, a
//!   `key`-bucket key 3.6 refuses or value it cannot decode, a `storageVersion`
//!   that is a bucket. Where a file holds several faults it may name another
//!   than `status` does.
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

use crate::bolt::header::{OpenError, PAGE_SIZE_CANDIDATES};

mod crc;
mod head;
mod outcome;
mod pages;
mod summary;
mod users;
mod walk;

use head::{Decision, decide};
pub use outcome::{StreamStatusError, StreamedStatus};
use pages::Pages;
pub use pages::{DEFAULT_MAX_PAGE_BYTES, MAX_OVERLAPPING_PAGES};

/// Bytes kept before the page size is known: both metas at the largest size.
const HEAD_MAX: usize = 2 * 65536;
const _: () = assert!(PAGE_SIZE_CANDIDATES[PAGE_SIZE_CANDIDATES.len() - 1] == 65536);

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

#[cfg(test)]
mod tests;
