//! The bbolt header probe: is it a bbolt database, with which page size,
//! which meta in force, and is there a snapshot trailer to verify
//! ([`crate::inspect`] is the first look built on it).
//!
//! This reads only the two meta pages and the freelist page header, so it is
//! instant on any file size; the trailer hash is a separate, streamed pass
//! ([`crate::trailer`]).

use serde::{Deserialize, Serialize};

use super::meta::{self, META_LEN, Meta, MetaSlot};
use super::page::{FLAG_FREELIST, PAGE_HEADER_LEN, PageHeader, PageId};
use crate::source::{ReadAt, SourceError};
use crate::trailer;

/// Page sizes bbolt can write: its `DB.getPageSizeFromSecondMeta` probes
/// 1 KiB .. 16 KiB; 512 B and 64 KiB are allowed here too, being cheap to try.
pub(crate) const PAGE_SIZE_CANDIDATES: [u32; 8] =
    [512, 1024, 2048, 4096, 8192, 16384, 32768, 65536];

/// Why a file cannot be opened as a bbolt database.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OpenError {
    #[error("the file is empty")]
    Empty,
    #[error(
        "not an etcd snapshot or bbolt database: the file is {len} bytes, smaller than the two meta pages a bbolt file starts with"
    )]
    TooSmall { len: u64 },
    #[error("not an etcd snapshot or bbolt database: meta page 0: {meta0}; meta page 1: {meta1}")]
    NotBolt { meta0: String, meta1: String },
    #[error(
        "truncated: meta page {slot} says the database spans {needed_bytes} bytes ({pages} pages of {page_size}), but the file holds only {have_bytes}"
    )]
    Truncated {
        slot: u64,
        pages: u64,
        page_size: u32,
        needed_bytes: u64,
        have_bytes: u64,
    },
    #[error("{0}")]
    Source(#[from] SourceErrorData),
}

/// [`SourceError`] in a serialisable shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("cannot read {len} bytes at offset {offset}: {reason}")]
pub struct SourceErrorData {
    pub offset: u64,
    pub len: u64,
    pub reason: String,
}

impl From<SourceError> for OpenError {
    fn from(e: SourceError) -> Self {
        OpenError::Source(SourceErrorData {
            offset: e.offset,
            len: e.len,
            reason: e.reason,
        })
    }
}

/// One meta page as the user sees it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MetaReport {
    #[serde(flatten)]
    pub meta: Meta,
    pub valid: bool,
    /// Why it is not valid, when it is not.
    pub problem: Option<String>,
}

impl MetaReport {
    fn new(meta: Meta) -> Self {
        let problem = meta.validate().err().map(|e| e.to_string());
        Self {
            valid: problem.is_none(),
            meta,
            problem,
        }
    }
}

/// What the first look found.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Header {
    pub file_len: u64,
    /// Bytes of the bbolt database (the file minus any trailer).
    pub db_len: u64,
    pub has_trailer: bool,
    pub page_size: u32,
    pub metas: [MetaReport; 2],
    pub in_force: MetaSlot,
    /// Problems that do not stop reading, one sentence each.
    pub warnings: Vec<String>,
}

impl Header {
    /// The meta in force.
    pub fn meta(&self) -> &Meta {
        match self.in_force {
            MetaSlot::Meta0 => &self.metas[0].meta,
            MetaSlot::Meta1 => &self.metas[1].meta,
        }
    }
}

fn read_meta(src: &dyn ReadAt, slot: MetaSlot, offset: u64) -> Result<Option<Meta>, SourceError> {
    let mut page = [0u8; PAGE_HEADER_LEN + META_LEN];
    if offset + page.len() as u64 > src.len() {
        return Ok(None);
    }
    src.read_exact_at(offset, &mut page)?;
    Ok(Some(Meta::parse(slot, &page)))
}

/// Open a file: find the page size and the meta in force, and note problems.
pub fn open(src: &dyn ReadAt) -> Result<Header, OpenError> {
    let file_len = src.len();
    if file_len == 0 {
        return Err(OpenError::Empty);
    }
    let has_trailer = trailer::has_trailer(file_len);
    let db_len = trailer::database_len(file_len);
    let Some(m0) = read_meta(src, MetaSlot::Meta0, 0)? else {
        return Err(OpenError::TooSmall { len: file_len });
    };

    // Page size: from meta 0 when it is valid, else probe for a valid meta 1.
    let page_size = if m0.validate().is_ok() {
        Some(m0.page_size)
    } else {
        let mut found = None;
        for size in PAGE_SIZE_CANDIDATES {
            if let Some(m1) = read_meta(src, MetaSlot::Meta1, u64::from(size))?
                && m1.validate().is_ok()
                && m1.page_size == size
            {
                found = Some(size);
                break;
            }
        }
        found
    };
    let Some(page_size) = page_size.filter(|s| PAGE_SIZE_CANDIDATES.contains(s)) else {
        let meta0 = m0.validate().err().map_or_else(
            || "page size is not a power of two".into(),
            |e| e.to_string(),
        );
        return Err(OpenError::NotBolt {
            meta0,
            meta1: "no valid meta page at any page size".into(),
        });
    };
    if u64::from(page_size) * 2 > db_len {
        return Err(OpenError::TooSmall { len: file_len });
    }
    let Some(m1) = read_meta(src, MetaSlot::Meta1, u64::from(page_size))? else {
        return Err(OpenError::TooSmall { len: file_len });
    };
    let Some(slot) = meta::in_force(&m0, &m1) else {
        let why = |m: &Meta| {
            m.validate()
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        return Err(OpenError::NotBolt {
            meta0: why(&m0),
            meta1: why(&m1),
        });
    };

    let mut warnings = Vec::new();
    let metas = [MetaReport::new(m0), MetaReport::new(m1)];
    for r in &metas {
        if let Some(p) = &r.problem {
            warnings.push(format!(
                "meta page {} is invalid ({p}); the other meta is in force",
                r.meta.slot.page_id()
            ));
        } else if r.meta.page_size != page_size {
            warnings.push(format!(
                "meta page {} says page size {} but the file uses {page_size}",
                r.meta.slot.page_id(),
                r.meta.page_size
            ));
        }
    }
    let active = if slot == MetaSlot::Meta0 {
        &metas[0].meta
    } else {
        &metas[1].meta
    };

    let needed = active.pgid.0.checked_mul(u64::from(page_size));
    if needed.is_none_or(|n| n > db_len) {
        return Err(OpenError::Truncated {
            slot: active.slot.page_id().0,
            pages: active.pgid.0,
            page_size,
            needed_bytes: needed.unwrap_or(u64::MAX),
            have_bytes: db_len,
        });
    }
    if active.root.0 >= active.pgid.0 {
        warnings.push(format!(
            "the root bucket page {} is beyond the high-water mark {}",
            active.root, active.pgid
        ));
    }
    if active.freelist_persisted()
        && let Some(w) = check_freelist_page(src, active.freelist, active.pgid, page_size)?
    {
        warnings.push(w);
    }
    Ok(Header {
        file_len,
        db_len,
        has_trailer,
        page_size,
        metas,
        in_force: slot,
        warnings,
    })
}

/// The freelist a meta names must be a freelist page inside the file.
fn check_freelist_page(
    src: &dyn ReadAt,
    id: PageId,
    hwm: PageId,
    page_size: u32,
) -> Result<Option<String>, SourceError> {
    if id.0 >= hwm.0 {
        return Ok(Some(format!(
            "the freelist page {id} is beyond the high-water mark {hwm}"
        )));
    }
    let mut h = [0u8; PAGE_HEADER_LEN];
    src.read_exact_at(id.0 * u64::from(page_size), &mut h)?;
    let hdr = PageHeader::parse(&h);
    Ok((hdr.flags != FLAG_FREELIST).then(|| {
        format!(
            "the freelist page {id} named by the meta is not a freelist page (it is a {} page); free pages are derived by reachability instead",
            hdr.kind()
        )
    }))
}

#[cfg(test)]
// Test builders cast small, known lengths to the file's field widths.
#[allow(clippy::cast_possible_truncation)]
mod tests {
    use super::*;
    use crate::bolt::meta::{MAGIC, PGID_NO_FREELIST, VERSION};
    use crate::source::MemSource;

    /// A minimal bolt file: two metas, then `pages - 2` pages of zeros.
    fn build(page_size: u32, pages: u64, txids: [u64; 2], freelist: u64) -> Vec<u8> {
        let ps = page_size as usize;
        let mut f = vec![0u8; ps * pages as usize];
        for (i, txid) in txids.into_iter().enumerate() {
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
                page_size,
                flags: 0,
                root: PageId(3),
                sequence: 0,
                freelist: PageId(freelist),
                pgid: PageId(pages),
                txid,
                checksum: 0,
                computed_checksum: 0,
            };
            let at = i * ps;
            f[at..at + 8].copy_from_slice(&(i as u64).to_le_bytes());
            f[at + 8..at + 10].copy_from_slice(&4u16.to_le_bytes());
            f[at + 16..at + 16 + META_LEN].copy_from_slice(&m.encode());
        }
        f
    }

    #[test]
    fn opens_a_built_file_at_several_page_sizes() {
        for ps in [1024, 4096, 16384] {
            let f = build(ps, 4, [2, 3], PGID_NO_FREELIST);
            let h = open(&MemSource(&f)).unwrap();
            assert_eq!(h.page_size, ps);
            assert_eq!(h.in_force, MetaSlot::Meta1);
            assert!(h.warnings.is_empty(), "{:?}", h.warnings);
            assert!(!h.has_trailer);
        }
    }

    #[test]
    fn falls_back_to_meta1_when_meta0_is_corrupt_even_for_page_size() {
        let mut f = build(8192, 4, [5, 4], PGID_NO_FREELIST);
        f[16 + 20] ^= 0xff; // inside meta 0's root field: checksum breaks
        let h = open(&MemSource(&f)).unwrap();
        assert_eq!((h.page_size, h.in_force), (8192, MetaSlot::Meta1));
        assert!(!h.metas[0].valid);
        assert!(
            h.warnings[0].contains("meta page 0 is invalid"),
            "{:?}",
            h.warnings
        );
    }

    #[test]
    fn both_metas_bad_is_not_bolt() {
        let mut f = build(4096, 4, [1, 2], PGID_NO_FREELIST);
        f[16 + 20] ^= 0xff;
        f[4096 + 16 + 20] ^= 0xff;
        assert!(matches!(
            open(&MemSource(&f)),
            Err(OpenError::NotBolt { .. })
        ));
    }

    #[test]
    fn random_bytes_empty_and_tiny_files_are_clear_errors() {
        let junk: Vec<u8> = (0..1_000_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let e = open(&MemSource(&junk)).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("not an etcd snapshot or bbolt database"),
            "{e}"
        );
        assert_eq!(open(&MemSource(&[][..])).unwrap_err(), OpenError::Empty);
        assert!(matches!(
            open(&MemSource(&[0u8; 40][..])),
            Err(OpenError::TooSmall { .. })
        ));
    }

    #[test]
    fn truncation_is_detected_from_the_high_water_mark() {
        let f = build(4096, 6, [1, 2], PGID_NO_FREELIST);
        let e = open(&MemSource(&f[..4096 * 4])).unwrap_err();
        assert!(
            matches!(
                e,
                OpenError::Truncated {
                    needed_bytes: 24576,
                    have_bytes: 16384,
                    ..
                }
            ),
            "{e:?}"
        );
    }

    #[test]
    fn freelist_pointing_at_a_non_freelist_page_is_a_warning() {
        let mut f = build(4096, 4, [1, 2], 2);
        f[2 * 4096 + 8] = 0x02; // page 2 is a leaf
        let h = open(&MemSource(&f)).unwrap();
        assert!(
            h.warnings
                .iter()
                .any(|w| w.contains("freelist page 2") && w.contains("leaf")),
            "{:?}",
            h.warnings
        );
    }
}
