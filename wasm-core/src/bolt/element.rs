//! Branch and leaf elements: the fixed 16-byte records after a page header
//! that point at the keys (and values, or child page ids) stored further on.
//!
//! ```text
//! page:  | header 16 | elem 0 | elem 1 | ... | elem n-1 | key/value bytes ... |
//!
//! branchPageElement (16 bytes)          leafPageElement (16 bytes)
//! 0      4       8          16          0       4      8       12      16
//! +------+-------+----------+           +-------+------+-------+-------+
//! | pos  | ksize | pgid u64 |           | flags | pos  | ksize | vsize |
//! +------+-------+----------+           +-------+------+-------+-------+
//! ```
//! `pos` is relative to the element's own first byte: the key starts at
//! `element offset + pos`, a leaf's value right after the key. Leaf `flags`
//! bit 0x01 marks a nested bucket, whose value is a [`BucketHeader`] (16 bytes)
//! optionally followed by an inline page.
//!
//! A [`PageView`] borrows the bytes of one page (overflow included) or of an
//! inline page inside a bucket value; every accessor checks lengths against
//! those bytes and returns a [`BoltError`] naming the page and absolute offset.

use super::error::BoltError;
use super::page::{FLAG_BRANCH, FLAG_LEAF, PAGE_HEADER_LEN, PageHeader, PageId};

pub const ELEMENT_LEN: u64 = 16;
/// Leaf element flag: the value is a nested bucket.
pub const BUCKET_LEAF_FLAG: u32 = 0x01;
/// `root u64 | sequence u64` at the start of a bucket value.
pub const BUCKET_HEADER_LEN: usize = 16;

// Leaf element fields.
const LEAF_FLAGS_AT: usize = 0;
const LEAF_POS_AT: usize = LEAF_FLAGS_AT + 4;
const LEAF_KSIZE_AT: usize = LEAF_POS_AT + 4;
const LEAF_VSIZE_AT: usize = LEAF_KSIZE_AT + 4;
// Branch element fields.
const BRANCH_POS_AT: usize = 0;
const BRANCH_KSIZE_AT: usize = BRANCH_POS_AT + 4;
const BRANCH_PGID_AT: usize = BRANCH_KSIZE_AT + 4;

fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}

fn u64_at(b: &[u8], o: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[o..o + 8]);
    u64::from_le_bytes(a)
}

/// One page's bytes, borrowed, with where they live in the file.
#[derive(Debug, Clone, Copy)]
pub struct PageView<'a> {
    /// The page these bytes belong to (for an inline page: the leaf page holding it).
    pub page: PageId,
    /// Absolute file offset of `bytes[0]`.
    pub base: u64,
    pub header: PageHeader,
    bytes: &'a [u8],
}

/// A leaf element: a key and either a value or a nested bucket.
#[derive(Debug, Clone, Copy)]
pub struct LeafElement<'a> {
    pub flags: u32,
    pub key: &'a [u8],
    pub value: &'a [u8],
    /// Absolute offset of the 16-byte element record.
    pub offset: u64,
    /// Absolute offset of the value bytes.
    pub value_offset: u64,
}

impl LeafElement<'_> {
    pub fn is_bucket(&self) -> bool {
        self.flags & BUCKET_LEAF_FLAG != 0
    }
}

/// A branch element: the first key of a child page and the child's id.
#[derive(Debug, Clone, Copy)]
pub struct BranchElement<'a> {
    pub key: &'a [u8],
    pub child: PageId,
    /// Absolute offset of the 16-byte element record.
    pub offset: u64,
}

/// The 16 bytes at the start of a bucket value (bbolt's `bucket` struct).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BucketHeader {
    /// Root page, or 0 for an inline bucket whose page follows the header.
    pub root: PageId,
    pub sequence: u64,
}

impl BucketHeader {
    pub fn parse(value: &[u8]) -> Option<Self> {
        let b = value.get(..BUCKET_HEADER_LEN)?;
        Some(Self {
            root: PageId(u64_at(b, 0)),
            sequence: u64_at(b, 8),
        })
    }

    pub fn encode(&self) -> [u8; BUCKET_HEADER_LEN] {
        let mut b = [0u8; BUCKET_HEADER_LEN];
        b[..8].copy_from_slice(&self.root.0.to_le_bytes());
        b[8..].copy_from_slice(&self.sequence.to_le_bytes());
        b
    }
}

impl<'a> PageView<'a> {
    /// View `bytes` as a page. Checks the header and that the element records fit.
    pub fn new(page: PageId, base: u64, bytes: &'a [u8]) -> Result<Self, BoltError> {
        let Some(h) = bytes.get(..PAGE_HEADER_LEN) else {
            return Err(BoltError::ElementsOverrun {
                page,
                offset: base,
                count: 0,
                page_len: bytes.len() as u64,
            });
        };
        let mut hb = [0u8; PAGE_HEADER_LEN];
        hb.copy_from_slice(h);
        let header = PageHeader::parse(&hb);
        let view = Self {
            page,
            base,
            header,
            bytes,
        };
        if header.flags == FLAG_BRANCH || header.flags == FLAG_LEAF {
            let need = PAGE_HEADER_LEN as u64 + u64::from(header.count) * ELEMENT_LEN;
            if need > bytes.len() as u64 {
                return Err(BoltError::ElementsOverrun {
                    page,
                    offset: base,
                    count: u64::from(header.count),
                    page_len: bytes.len() as u64,
                });
            }
        }
        Ok(view)
    }

    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    pub fn count(&self) -> u16 {
        self.header.count
    }

    pub fn is_leaf(&self) -> bool {
        self.header.flags == FLAG_LEAF
    }

    pub fn is_branch(&self) -> bool {
        self.header.flags == FLAG_BRANCH
    }

    fn element(&self, index: u16) -> (usize, &'a [u8]) {
        // `new` checked that all `count` records fit.
        let at = PAGE_HEADER_LEN + usize::from(index) * 16;
        (at, &self.bytes[at..at + 16])
    }

    fn slice(
        &self,
        index: u16,
        at: usize,
        pos: u32,
        len: u64,
    ) -> Result<(&'a [u8], usize), BoltError> {
        let start = at as u64 + u64::from(pos);
        let end = start + len; // both < 2^34: no overflow
        let overrun = || BoltError::ElementOverrun {
            page: self.page,
            offset: self.base + at as u64,
            index,
            needed: end,
            page_len: self.bytes.len() as u64,
        };
        if end > self.bytes.len() as u64 {
            return Err(overrun());
        }
        let s = usize::try_from(start).map_err(|_| overrun())?;
        let e = usize::try_from(end).map_err(|_| overrun())?;
        Ok((&self.bytes[s..e], s))
    }

    /// Leaf element `index` (< `count`).
    pub fn leaf(&self, index: u16) -> Result<LeafElement<'a>, BoltError> {
        let (at, e) = self.element(index);
        let (flags, pos) = (u32_at(e, LEAF_FLAGS_AT), u32_at(e, LEAF_POS_AT));
        let (ksize, vsize) = (
            u64::from(u32_at(e, LEAF_KSIZE_AT)),
            u64::from(u32_at(e, LEAF_VSIZE_AT)),
        );
        let (kv, start) = self.slice(index, at, pos, ksize + vsize)?;
        let k = usize::try_from(ksize).unwrap_or(kv.len());
        let (key, value) = kv.split_at(k);
        Ok(LeafElement {
            flags,
            key,
            value,
            offset: self.base + at as u64,
            value_offset: self.base + (start + k) as u64,
        })
    }

    /// Branch element `index` (< `count`).
    pub fn branch(&self, index: u16) -> Result<BranchElement<'a>, BoltError> {
        let (at, e) = self.element(index);
        let pos = u32_at(e, BRANCH_POS_AT);
        let ksize = u64::from(u32_at(e, BRANCH_KSIZE_AT));
        let child = PageId(u64_at(e, BRANCH_PGID_AT));
        let (key, _) = self.slice(index, at, pos, ksize)?;
        Ok(BranchElement {
            key,
            child,
            offset: self.base + at as u64,
        })
    }
}

#[cfg(test)]
// Test builders cast small, known lengths to the file's field widths.
#[allow(clippy::cast_possible_truncation)]
pub(crate) mod build {
    //! Byte builders for tests: pages laid out exactly as bbolt writes them.
    use super::*;

    /// A leaf page (or inline page) with the given entries: (flags, key, value).
    pub fn leaf(id: u64, entries: &[(u32, &[u8], &[u8])], len: usize) -> Vec<u8> {
        let mut p = vec![0u8; len];
        p[..8].copy_from_slice(&id.to_le_bytes());
        p[8..10].copy_from_slice(&FLAG_LEAF.to_le_bytes());
        p[10..12].copy_from_slice(&(entries.len() as u16).to_le_bytes());
        let mut data = PAGE_HEADER_LEN + entries.len() * 16;
        for (i, (flags, k, v)) in entries.iter().enumerate() {
            let at = PAGE_HEADER_LEN + i * 16;
            let pos = (data - at) as u32;
            p[at..at + 4].copy_from_slice(&flags.to_le_bytes());
            p[at + 4..at + 8].copy_from_slice(&pos.to_le_bytes());
            p[at + 8..at + 12].copy_from_slice(&(k.len() as u32).to_le_bytes());
            p[at + 12..at + 16].copy_from_slice(&(v.len() as u32).to_le_bytes());
            p[data..data + k.len()].copy_from_slice(k);
            p[data + k.len()..data + k.len() + v.len()].copy_from_slice(v);
            data += k.len() + v.len();
        }
        p.truncate(len.max(data));
        p
    }

    /// A branch page pointing at children: (first key, child id).
    pub fn branch(id: u64, entries: &[(&[u8], u64)], len: usize) -> Vec<u8> {
        let mut p = vec![0u8; len];
        p[..8].copy_from_slice(&id.to_le_bytes());
        p[8..10].copy_from_slice(&FLAG_BRANCH.to_le_bytes());
        p[10..12].copy_from_slice(&(entries.len() as u16).to_le_bytes());
        let mut data = PAGE_HEADER_LEN + entries.len() * 16;
        for (i, (k, child)) in entries.iter().enumerate() {
            let at = PAGE_HEADER_LEN + i * 16;
            p[at..at + 4].copy_from_slice(&((data - at) as u32).to_le_bytes());
            p[at + 4..at + 8].copy_from_slice(&(k.len() as u32).to_le_bytes());
            p[at + 8..at + 16].copy_from_slice(&child.to_le_bytes());
            p[data..data + k.len()].copy_from_slice(k);
            data += k.len();
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_leaf_elements_and_their_offsets() {
        let p = build::leaf(7, &[(0, b"a", b"one"), (1, b"bkt", &[0u8; 16])], 4096);
        let v = PageView::new(PageId(7), 7 * 4096, &p).unwrap();
        assert!(v.is_leaf());
        let e0 = v.leaf(0).unwrap();
        assert_eq!(
            (e0.key, e0.value, e0.is_bucket()),
            (&b"a"[..], &b"one"[..], false)
        );
        assert_eq!(e0.offset, 7 * 4096 + 16);
        let e1 = v.leaf(1).unwrap();
        assert!(e1.is_bucket());
        assert_eq!(
            BucketHeader::parse(e1.value),
            Some(BucketHeader {
                root: PageId(0),
                sequence: 0
            })
        );
    }

    #[test]
    fn reads_branch_elements() {
        let p = build::branch(3, &[(b"a", 4), (b"m", 5)], 4096);
        let v = PageView::new(PageId(3), 0, &p).unwrap();
        assert!(v.is_branch());
        assert_eq!(v.branch(1).unwrap().child, PageId(5));
        assert_eq!(v.branch(1).unwrap().key, b"m");
    }

    #[test]
    fn absurd_lengths_and_counts_are_errors_naming_the_element() {
        let mut p = build::leaf(2, &[(0, b"k", b"v")], 4096);
        p[16 + 12..16 + 16].copy_from_slice(&u32::MAX.to_le_bytes()); // vsize
        let v = PageView::new(PageId(2), 8192, &p).unwrap();
        let e = v.leaf(0).unwrap_err();
        assert!(
            matches!(
                e,
                BoltError::ElementOverrun {
                    index: 0,
                    offset: 8208,
                    ..
                }
            ),
            "{e:?}"
        );
        p[10..12].copy_from_slice(&u16::MAX.to_le_bytes()); // count
        let e = PageView::new(PageId(2), 8192, &p).unwrap_err();
        assert!(
            matches!(e, BoltError::ElementsOverrun { count: 65535, .. }),
            "{e:?}"
        );
        assert!(PageView::new(PageId(2), 0, &p[..10]).is_err());
    }
}
