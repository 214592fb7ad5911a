//! The page phase: everything after the two metas. Each page boundary below
//! the high-water mark is read as a possible page, its claimed span buffered
//! until complete, then reduced to its summary.

use super::head::Metas;
use super::outcome::StreamStatusError;
use super::summary::{Slot, summarize_page};
use super::users::Users;
use crate::bolt::BoltError;
use crate::bolt::meta::{Meta, MetaSlot};
use crate::bolt::page::{FLAG_BRANCH, FLAG_LEAF, PAGE_HEADER_LEN, PageHeader, PageId};

/// The most bytes one page (its overflow pages included) may span and still
/// be buffered: 256 MiB. etcd refuses requests over 1.5 MiB by default
/// (`--max-request-bytes`), so a real value spans a few hundred 4 KiB pages;
/// the limit keeps a stale or hostile header from making us buffer the file.
pub const DEFAULT_MAX_PAGE_BYTES: u32 = 256 << 20;

/// How many claimed page spans may cover one page's start. Real files
/// overlap only where a freed large value's stale header covers pages reused
/// since: two or three deep. The limit makes the work linear.
pub const MAX_OVERLAPPING_PAGES: usize = 64;

/// A huge chunk is taken this much at a time, so it is never copied whole.
const FEED_PIECE: usize = 1 << 20;

/// The first page after the two metas.
const FIRST_PAGE: u64 = 2;
/// A page span being received.
#[derive(Debug, Clone, Copy)]
pub(super) struct Open {
    id: u64,
    start: u64,
    end: u64,
}

/// The page phase: everything after the two metas.
pub(super) struct Pages {
    pub(super) page_size: u64,
    metas: [Meta; 2],
    in_force: MetaSlot,
    /// High-water mark: pages `0..hwm` are the database.
    pub(super) hwm: u64,
    /// `hwm × page_size`, or `u64::MAX` if that overflows (`finish` refuses it).
    end: u64,
    max_page_bytes: u32,
    /// Bytes `window_start..window_start + window.len()` of the file.
    pub(super) window: Vec<u8>,
    window_start: u64,
    /// The next page whose header has not been read.
    next: u64,
    /// Spans whose bytes are still arriving.
    pub(super) open: Vec<Open>,
    /// Ends of the accepted spans that reach past the last page start read
    /// (at most [`MAX_OVERLAPPING_PAGES`]).
    cover: Vec<u64>,
    /// Indexed by page id − [`FIRST_PAGE`].
    pub(super) slots: Vec<Slot>,
    /// The user keys of the leaves summarised so far (3.6's `totalKey`).
    pub(super) users: Users,
}

impl Pages {
    pub(super) fn new(m: Metas, max_page_bytes: u32) -> Self {
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
            users: Users::default(),
        }
    }

    /// Where the page phase starts, as an index into the head bytes.
    pub(super) fn first_offset(&self) -> usize {
        usize::try_from(FIRST_PAGE * self.page_size).unwrap_or(usize::MAX)
    }

    pub(super) fn meta(&self) -> &Meta {
        match self.in_force {
            MetaSlot::Meta0 => &self.metas[0],
            MetaSlot::Meta1 => &self.metas[1],
        }
    }

    pub(super) fn offset_of(&self, id: PageId) -> u64 {
        id.0.saturating_mul(self.page_size)
    }

    fn window_end(&self) -> u64 {
        self.window_start + self.window.len() as u64
    }

    /// The next bytes after the metas (in order). Bytes past the high-water
    /// mark are not pages (a member file's slack, the trailer) and are dropped.
    pub(super) fn feed(&mut self, bytes: &[u8]) {
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

    pub(super) fn slot(&self, id: PageId) -> Option<&Slot> {
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
    fn summarize(&mut self, o: Open) -> Slot {
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
        match summarize_page(page, o.start, bytes, &mut self.users) {
            Ok(s) => s,
            Err(e) => Slot::Bad(Box::new(e)),
        }
    }
}
