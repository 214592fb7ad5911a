//! An open bbolt file: the meta in force, page reads through a bounded cache,
//! bucket lookup and point reads.
//!
//! Reads are checked against the high-water mark (`meta.pgid`), which `open`
//! already checked against the file length, so no page read can run past the
//! file or allocate more than it holds.

use std::sync::{Arc, Mutex};

use super::cache::{DEFAULT_CACHE_BYTES, PageCache};
use super::element::{BUCKET_HEADER_LEN, BucketHeader, PageView};
use super::error::{BoltError, Loc};
use super::header::{self as inspect, Header};
use super::meta::Meta;
use super::page::{PAGE_HEADER_LEN, PageHeader, PageId};
use crate::source::ReadAt;

/// How deep a descent may go (branch levels plus bucket nesting). A bbolt tree
/// of fan-out ≥ 2 needs fewer than 40 levels for any file that fits in 2^64
/// bytes; the limit stops cycles and keeps recursion off the wasm stack's edge.
pub const MAX_DEPTH: u32 = 64;

/// A bucket: its header and, for an inline bucket, the bytes of its page.
#[derive(Debug, Clone)]
pub struct Bucket {
    pub header: BucketHeader,
    /// The inline page (everything after the 16-byte header), when `header.root` is 0.
    pub inline: Option<Arc<[u8]>>,
    /// Where the bucket value sits (for the root bucket: the meta page).
    pub loc: Loc,
}

impl Bucket {
    /// Decode a bucket value found at `loc`.
    pub fn from_value(value: &[u8], loc: Loc, index: u16) -> Result<Self, BoltError> {
        let header = BucketHeader::parse(value).ok_or(BoltError::BadBucket {
            page: loc.page,
            offset: loc.offset,
            index,
            len: value.len() as u64,
        })?;
        let inline = (header.root.0 == 0).then(|| Arc::from(&value[BUCKET_HEADER_LEN..]));
        Ok(Self {
            header,
            inline,
            loc,
        })
    }

    pub fn is_inline(&self) -> bool {
        self.inline.is_some()
    }
}

/// A leaf element found by [`Db::get_raw`].
#[derive(Debug, Clone)]
pub struct Found {
    pub flags: u32,
    /// The value bytes (for a nested bucket: its header and inline page).
    pub value: Vec<u8>,
    /// Where the value starts.
    pub at: Loc,
    /// The element's index in its leaf page.
    pub index: u16,
}

impl Found {
    pub fn is_bucket(&self) -> bool {
        self.flags & super::element::BUCKET_LEAF_FLAG != 0
    }
}

/// An open bbolt database over a byte source it owns (`&T` is a source too,
/// so a borrowed one works as before).
pub struct Db<S> {
    src: S,
    header: Header,
    page_size: u64,
    cache: Mutex<PageCache>,
}

impl<S> std::fmt::Debug for Db<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("header", &self.header)
            .finish_non_exhaustive()
    }
}

impl<S: ReadAt> Db<S> {
    /// Open with the default cache budget.
    pub fn open(src: S) -> Result<Self, BoltError> {
        Self::open_with_cache(src, DEFAULT_CACHE_BYTES)
    }

    /// Open with a page cache of at most `cache_bytes`.
    pub fn open_with_cache(src: S, cache_bytes: u64) -> Result<Self, BoltError> {
        let header = inspect::open(&src)?;
        let page_size = u64::from(header.page_size);
        Ok(Self {
            src,
            header,
            page_size,
            cache: Mutex::new(PageCache::new(cache_bytes)),
        })
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The meta in force.
    pub fn meta(&self) -> &Meta {
        self.header.meta()
    }

    pub fn page_size(&self) -> u64 {
        self.page_size
    }

    /// The high-water mark: pages `0..hwm` are the database.
    pub fn hwm(&self) -> PageId {
        self.meta().pgid
    }

    pub fn source(&self) -> &S {
        &self.src
    }

    /// The root bucket (its tree holds the top-level buckets).
    pub fn root(&self) -> Bucket {
        let m = self.meta();
        Bucket {
            header: BucketHeader {
                root: m.root,
                sequence: m.sequence,
            },
            inline: None,
            loc: Loc::new(
                m.slot.page_id(),
                m.slot.page_id().0 * self.page_size + PAGE_HEADER_LEN as u64 + 16,
            ),
        }
    }

    /// Absolute file offset of a page.
    pub fn offset_of(&self, id: PageId) -> u64 {
        id.0.saturating_mul(self.page_size)
    }

    fn read(&self, id: PageId, offset: u64, buf: &mut [u8]) -> Result<(), BoltError> {
        self.src
            .read_exact_at(offset, buf)
            .map_err(|e| BoltError::Read {
                page: id,
                offset: e.offset,
                len: e.len,
                reason: e.reason,
            })
    }

    /// Read only a page's 16-byte header.
    pub fn page_header(&self, id: PageId, from: Loc) -> Result<PageHeader, BoltError> {
        if id.0 >= self.hwm().0 {
            return Err(BoltError::OutOfBounds {
                page: id,
                from,
                hwm: self.hwm(),
            });
        }
        let mut h = [0u8; PAGE_HEADER_LEN];
        self.read(id, self.offset_of(id), &mut h)?;
        Ok(PageHeader::parse(&h))
    }

    /// Read a whole page, its overflow pages included, checking its id and extent.
    pub fn page(&self, id: PageId, from: Loc) -> Result<Arc<[u8]>, BoltError> {
        // Only pages read whole are cached: a miss checks the bounds.
        if let Some(p) = self.cache.lock().ok().and_then(|mut c| c.get(id.0)) {
            return Ok(p);
        }
        let page = self.page_uncached(id, from)?;
        if let Ok(mut c) = self.cache.lock() {
            c.insert(id.0, page.clone());
        }
        Ok(page)
    }

    /// [`Db::page`] without the page cache: for a walk, which reads each page
    /// once (caching them would only evict the pages lookups come back to,
    /// and make threads walking at once wait for each other).
    pub fn page_uncached(&self, id: PageId, from: Loc) -> Result<Arc<[u8]>, BoltError> {
        let hwm = self.hwm();
        if id.0 >= hwm.0 {
            return Err(BoltError::OutOfBounds {
                page: id,
                from,
                hwm,
            });
        }
        let offset = self.offset_of(id);
        let ps = usize::try_from(self.page_size).unwrap_or(usize::MAX);
        let mut buf = vec![0u8; ps];
        self.read(id, offset, &mut buf)?;
        let mut hb = [0u8; PAGE_HEADER_LEN];
        hb.copy_from_slice(&buf[..PAGE_HEADER_LEN]);
        let h = PageHeader::parse(&hb);
        if h.id != id {
            return Err(BoltError::IdMismatch {
                page: id,
                offset,
                found: h.id,
            });
        }
        if h.overflow > 0 {
            let pages = u64::from(h.overflow) + 1;
            if id.0 + pages > hwm.0 {
                return Err(BoltError::OverflowPastEnd {
                    page: id,
                    offset,
                    overflow: h.overflow,
                    hwm,
                });
            }
            // Within the high-water mark, which `open` checked against the file.
            let total = pages * self.page_size;
            let more = usize::try_from(total - self.page_size).map_err(|_| BoltError::Read {
                page: id,
                offset,
                len: total,
                reason: "too large for this platform's memory".into(),
            })?;
            buf.resize(ps + more, 0);
            self.read(id, offset + self.page_size, &mut buf[ps..])?;
        }
        Ok(Arc::from(buf))
    }

    /// Look a key up in a bucket: its leaf element (value or nested bucket), or `None`.
    pub fn get_raw(&self, bucket: &Bucket, key: &[u8]) -> Result<Option<Found>, BoltError> {
        if let Some(inline) = &bucket.inline {
            let view = PageView::new(
                bucket.loc.page,
                bucket.loc.offset + BUCKET_HEADER_LEN as u64,
                inline,
            )?;
            return leaf_lookup(&view, key);
        }
        let mut id = bucket.header.root;
        let mut from = bucket.loc;
        for _ in 0..MAX_DEPTH {
            let page = self.page(id, from)?;
            let view = PageView::new(id, self.offset_of(id), &page)?;
            if view.is_leaf() {
                return leaf_lookup(&view, key);
            }
            if !view.is_branch() {
                return Err(BoltError::PageType {
                    page: id,
                    offset: view.base,
                    expected: "branch or leaf",
                    found: view.header.kind(),
                });
            }
            if view.count() == 0 {
                return Err(BoltError::EmptyBranch {
                    page: id,
                    offset: view.base,
                });
            }
            // bbolt's searchBranch: the last element whose key is <= `key`.
            let mut chosen = view.branch(0)?;
            for i in 1..view.count() {
                let e = view.branch(i)?;
                if e.key > key {
                    break;
                }
                chosen = e;
            }
            from = Loc::new(id, chosen.offset);
            id = chosen.child;
        }
        Err(BoltError::TooDeep {
            page: id,
            from,
            max: MAX_DEPTH,
        })
    }

    /// The last key of a bucket, by one descent along the rightmost branch
    /// elements (what a walk meets last, on a tree whose keys are in order).
    /// `None` for an empty bucket or when the rightmost leaf is empty.
    pub fn last_key(&self, bucket: &Bucket) -> Result<Option<Vec<u8>>, BoltError> {
        let last_of = |view: &PageView<'_>| -> Result<Option<Vec<u8>>, BoltError> {
            match view.count() {
                0 => Ok(None),
                n => Ok(Some(view.leaf(n - 1)?.key.to_vec())),
            }
        };
        if let Some(inline) = &bucket.inline {
            let view = PageView::new(
                bucket.loc.page,
                bucket.loc.offset + BUCKET_HEADER_LEN as u64,
                inline,
            )?;
            return last_of(&view);
        }
        let mut id = bucket.header.root;
        let mut from = bucket.loc;
        for _ in 0..MAX_DEPTH {
            let page = self.page(id, from)?;
            let view = PageView::new(id, self.offset_of(id), &page)?;
            if view.is_leaf() {
                return last_of(&view);
            }
            if !view.is_branch() {
                return Err(BoltError::PageType {
                    page: id,
                    offset: view.base,
                    expected: "branch or leaf",
                    found: view.header.kind(),
                });
            }
            let Some(last) = view.count().checked_sub(1) else {
                return Err(BoltError::EmptyBranch {
                    page: id,
                    offset: view.base,
                });
            };
            let e = view.branch(last)?;
            from = Loc::new(id, e.offset);
            id = e.child;
        }
        Err(BoltError::TooDeep {
            page: id,
            from,
            max: MAX_DEPTH,
        })
    }

    /// A value in a bucket (`None` when absent; an error when the key names a nested bucket).
    pub fn get(&self, bucket: &Bucket, key: &[u8]) -> Result<Option<Vec<u8>>, BoltError> {
        match self.get_raw(bucket, key)? {
            None => Ok(None),
            Some(f) if f.is_bucket() => Err(BoltError::NotAValue {
                page: f.at.page,
                offset: f.at.offset,
                index: f.index,
                key: String::from_utf8_lossy(key).into_owned(),
            }),
            Some(f) => Ok(Some(f.value)),
        }
    }

    /// A nested bucket by name (`None` when absent or not a bucket).
    pub fn bucket(&self, parent: &Bucket, name: &[u8]) -> Result<Option<Bucket>, BoltError> {
        match self.get_raw(parent, name)? {
            Some(f) if f.is_bucket() => Bucket::from_value(&f.value, f.at, f.index).map(Some),
            _ => Ok(None),
        }
    }
}

/// Binary search over a leaf page (bbolt's `searchLeaf`); on a page whose keys
/// are out of order it may miss a key, as bbolt would: `check` reports the order.
fn leaf_lookup(view: &PageView<'_>, key: &[u8]) -> Result<Option<Found>, BoltError> {
    if !view.is_leaf() {
        return Err(BoltError::PageType {
            page: view.page,
            offset: view.base,
            expected: "leaf",
            found: view.header.kind(),
        });
    }
    let (mut lo, mut hi) = (0u16, view.count());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let e = view.leaf(mid)?;
        match e.key.cmp(key) {
            std::cmp::Ordering::Less => lo = mid + 1,
            std::cmp::Ordering::Greater => hi = mid,
            std::cmp::Ordering::Equal => {
                return Ok(Some(Found {
                    flags: e.flags,
                    value: e.value.to_vec(),
                    at: Loc::new(view.page, e.value_offset),
                    index: mid,
                }));
            }
        }
    }
    Ok(None)
}
