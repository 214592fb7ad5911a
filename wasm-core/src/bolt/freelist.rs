//! The persisted freelist page (only when the freelist is synced: etcd on
//! Linux never syncs it, the meta then says `0xFFFF_FFFF_FFFF_FFFF`).
//!
//! ```text
//! | header 16 (flags 0x10, count) | [real count u64 if count == 0xFFFF] | pgid u64 × n |
//! ```
//! The header's u16 count cannot hold 65535 or more ids; bbolt then writes
//! 0xFFFF there and the real count in the first u64. The ids may span the
//! page's overflow pages. Nothing here trusts a count: it must fit the page.

use super::db::Db;
use super::error::{BoltError, Loc};
use super::page::{FLAG_FREELIST, PAGE_HEADER_LEN, PageId};
use crate::ReadAt;

/// bbolt's escape value in the header's count field.
pub const COUNT_ESCAPE: u16 = 0xFFFF;

/// A decoded freelist page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Freelist {
    pub page: PageId,
    /// Overflow pages the freelist itself spans.
    pub overflow: u32,
    /// The free page ids, as stored (bbolt sorts them on load).
    pub ids: Vec<PageId>,
}

/// Decode the ids of a freelist page's bytes (overflow included).
pub fn parse(page: PageId, base: u64, bytes: &[u8]) -> Result<Vec<PageId>, BoltError> {
    let Some(h) = bytes.get(..PAGE_HEADER_LEN) else {
        return Err(BoltError::FreelistOverrun {
            page,
            offset: base,
            count: 0,
            page_len: bytes.len() as u64,
        });
    };
    let flags = u16::from_le_bytes([h[8], h[9]]);
    if flags & FLAG_FREELIST == 0 {
        let mut hb = [0u8; PAGE_HEADER_LEN];
        hb.copy_from_slice(h);
        let kind = super::page::PageHeader::parse(&hb).kind();
        return Err(BoltError::PageType {
            page,
            offset: base,
            expected: "freelist",
            found: kind,
        });
    }
    let count = u16::from_le_bytes([h[10], h[11]]);
    let body = &bytes[PAGE_HEADER_LEN..];
    let read_u64 = |i: usize| -> Option<u64> {
        let b = body.get(i * 8..i * 8 + 8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Some(u64::from_le_bytes(a))
    };
    let (skip, n) = if count == COUNT_ESCAPE {
        let Some(n) = read_u64(0) else {
            return Err(BoltError::FreelistOverrun {
                page,
                offset: base,
                count: 1,
                page_len: bytes.len() as u64,
            });
        };
        (1u64, n)
    } else {
        (0, u64::from(count))
    };
    let fits = (body.len() / 8) as u64;
    if n > fits.saturating_sub(skip) {
        return Err(BoltError::FreelistOverrun {
            page,
            offset: base,
            count: n,
            page_len: bytes.len() as u64,
        });
    }
    // n <= body.len() / 8: the conversions below cannot fail.
    let (skip, n) = (
        usize::try_from(skip).unwrap_or(0),
        usize::try_from(n).unwrap_or(0),
    );
    Ok((skip..skip + n).filter_map(read_u64).map(PageId).collect())
}

/// Read the freelist page `id` named by the meta in force.
pub fn read(db: &Db<impl ReadAt>, id: PageId) -> Result<Freelist, BoltError> {
    let from = Loc::new(
        db.meta().slot.page_id(),
        db.offset_of(db.meta().slot.page_id()),
    );
    let hdr = db.page_header(id, from)?;
    if hdr.flags & FLAG_FREELIST == 0 {
        return Err(BoltError::PageType {
            page: id,
            offset: db.offset_of(id),
            expected: "freelist",
            found: hdr.kind(),
        });
    }
    let bytes = db.page(id, from)?;
    let ids = parse(id, db.offset_of(id), &bytes)?;
    Ok(Freelist {
        page: id,
        overflow: hdr.overflow,
        ids,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(count: u16, ids: &[u64], len: usize) -> Vec<u8> {
        let mut p = vec![0u8; len];
        p[8..10].copy_from_slice(&FLAG_FREELIST.to_le_bytes());
        p[10..12].copy_from_slice(&count.to_le_bytes());
        for (i, id) in ids.iter().enumerate() {
            p[16 + i * 8..24 + i * 8].copy_from_slice(&id.to_le_bytes());
        }
        p
    }

    #[test]
    fn plain_and_escaped_counts() {
        let p = page(3, &[5, 9, 7], 4096);
        assert_eq!(
            parse(PageId(2), 0, &p).unwrap(),
            vec![PageId(5), PageId(9), PageId(7)]
        );
        // Escape: the first u64 is the count.
        let p = page(COUNT_ESCAPE, &[2, 11, 12], 4096);
        assert_eq!(
            parse(PageId(2), 0, &p).unwrap(),
            vec![PageId(11), PageId(12)]
        );
    }

    #[test]
    fn counts_beyond_the_page_are_errors() {
        let p = page(600, &[], 4096); // 600 × 8 > 4080
        assert!(matches!(
            parse(PageId(2), 8192, &p),
            Err(BoltError::FreelistOverrun {
                count: 600,
                offset: 8192,
                ..
            })
        ));
        let p = page(COUNT_ESCAPE, &[u64::MAX], 4096);
        assert!(matches!(
            parse(PageId(2), 0, &p),
            Err(BoltError::FreelistOverrun { .. })
        ));
        let mut leaf = page(0, &[], 64);
        leaf[8] = 0x02;
        assert!(matches!(
            parse(PageId(2), 0, &leaf),
            Err(BoltError::PageType {
                expected: "freelist",
                ..
            })
        ));
    }
}
