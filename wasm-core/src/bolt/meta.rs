//! The two meta pages (ids 0 and 1) that tell where everything else is.
//!
//! ```text
//! page header (16) | meta (64 bytes):
//! 0       4         8          12      16                32            40       48      56         64
//! +-------+---------+----------+-------+-----------------+-------------+--------+-------+----------+
//! | magic | version | pageSize | flags | root bucket     | freelist    | pgid   | txid  | checksum |
//! |  u32  |   u32   |   u32    |  u32  | root u64, seq u64| pgid u64   | u64    | u64   | u64      |
//! +-------+---------+----------+-------+-----------------+-------------+--------+-------+----------+
//! ```
//! `checksum` is FNV-1a-64 over the 56 bytes before it. `pgid` is the
//! high-water mark: the first page id past the end of the used file.
//! bbolt writes the two metas alternately; the valid one with the higher txid
//! is in force, and the other is the fallback.

use serde::{Deserialize, Serialize};

use super::page::{PAGE_HEADER_LEN, PageHeader, PageId};

pub const MAGIC: u32 = 0xED0C_DAED;
pub const VERSION: u32 = 2;
pub const META_LEN: usize = 64;

const MAGIC_AT: usize = 0;
const VERSION_AT: usize = MAGIC_AT + 4;
const PAGE_SIZE_AT: usize = VERSION_AT + 4;
const FLAGS_AT: usize = PAGE_SIZE_AT + 4;
const ROOT_AT: usize = FLAGS_AT + 4;
const SEQUENCE_AT: usize = ROOT_AT + 8;
const FREELIST_AT: usize = SEQUENCE_AT + 8;
const PGID_AT: usize = FREELIST_AT + 8;
const TXID_AT: usize = PGID_AT + 8;
const CHECKSUM_AT: usize = TXID_AT + 8;
const _: () = assert!(CHECKSUM_AT + 8 == META_LEN);

/// The freelist id etcd writes when it does not persist the freelist
/// (`NoFreelistSync`): bbolt's `pgidNoFreelist`.
pub const PGID_NO_FREELIST: u64 = u64::MAX;

/// Which of the two meta pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MetaSlot {
    Meta0,
    Meta1,
}

impl MetaSlot {
    pub fn page_id(self) -> PageId {
        match self {
            Self::Meta0 => PageId(0),
            Self::Meta1 => PageId(1),
        }
    }
}

/// Why a meta page is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MetaError {
    #[error("magic is 0x{found:08x}, not bbolt's 0x{MAGIC:08x}")]
    Magic { found: u32 },
    #[error("version is {found}, bbolt writes {VERSION}")]
    Version { found: u32 },
    #[error("checksum is 0x{stored:016x} but the meta hashes to 0x{computed:016x}")]
    Checksum { stored: u64, computed: u64 },
}

/// A decoded meta page, valid or not (both are shown to the user).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    pub slot: MetaSlot,
    pub header: PageHeader,
    pub magic: u32,
    pub version: u32,
    pub page_size: u32,
    pub flags: u32,
    pub root: PageId,
    pub sequence: u64,
    pub freelist: PageId,
    /// High-water mark: first page id not in use.
    pub pgid: PageId,
    pub txid: u64,
    pub checksum: u64,
    pub computed_checksum: u64,
}

impl Meta {
    /// Decode the meta from a page's bytes (header included). `page` must hold at
    /// least the header and the 64 meta bytes.
    pub fn parse(slot: MetaSlot, page: &[u8; PAGE_HEADER_LEN + META_LEN]) -> Self {
        let (hdr, body) = page.split_at(PAGE_HEADER_LEN);
        let mut h = [0u8; PAGE_HEADER_LEN];
        h.copy_from_slice(hdr);
        let u32_at =
            |o: usize| u32::from_le_bytes([body[o], body[o + 1], body[o + 2], body[o + 3]]);
        let u64_at = |o: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&body[o..o + 8]);
            u64::from_le_bytes(b)
        };
        Self {
            slot,
            header: PageHeader::parse(&h),
            magic: u32_at(MAGIC_AT),
            version: u32_at(VERSION_AT),
            page_size: u32_at(PAGE_SIZE_AT),
            flags: u32_at(FLAGS_AT),
            root: PageId(u64_at(ROOT_AT)),
            sequence: u64_at(SEQUENCE_AT),
            freelist: PageId(u64_at(FREELIST_AT)),
            pgid: PageId(u64_at(PGID_AT)),
            txid: u64_at(TXID_AT),
            checksum: u64_at(CHECKSUM_AT),
            computed_checksum: fnv1a64(&body[..CHECKSUM_AT]),
        }
    }

    /// bbolt's `meta.validate`: magic, then version, then checksum.
    pub fn validate(&self) -> Result<(), MetaError> {
        if self.magic != MAGIC {
            return Err(MetaError::Magic { found: self.magic });
        }
        if self.version != VERSION {
            return Err(MetaError::Version {
                found: self.version,
            });
        }
        if self.checksum != self.computed_checksum {
            return Err(MetaError::Checksum {
                stored: self.checksum,
                computed: self.computed_checksum,
            });
        }
        Ok(())
    }

    /// Whether the freelist is persisted (etcd normally does not persist it).
    pub fn freelist_persisted(&self) -> bool {
        self.freelist.0 != PGID_NO_FREELIST
    }

    /// Serialise back to bytes (used by tests to build files).
    pub fn encode(&self) -> [u8; META_LEN] {
        let mut b = [0u8; META_LEN];
        b[MAGIC_AT..MAGIC_AT + 4].copy_from_slice(&self.magic.to_le_bytes());
        b[VERSION_AT..VERSION_AT + 4].copy_from_slice(&self.version.to_le_bytes());
        b[PAGE_SIZE_AT..PAGE_SIZE_AT + 4].copy_from_slice(&self.page_size.to_le_bytes());
        b[FLAGS_AT..FLAGS_AT + 4].copy_from_slice(&self.flags.to_le_bytes());
        b[ROOT_AT..ROOT_AT + 8].copy_from_slice(&self.root.0.to_le_bytes());
        b[SEQUENCE_AT..SEQUENCE_AT + 8].copy_from_slice(&self.sequence.to_le_bytes());
        b[FREELIST_AT..FREELIST_AT + 8].copy_from_slice(&self.freelist.0.to_le_bytes());
        b[PGID_AT..PGID_AT + 8].copy_from_slice(&self.pgid.0.to_le_bytes());
        b[TXID_AT..TXID_AT + 8].copy_from_slice(&self.txid.to_le_bytes());
        let sum = fnv1a64(&b[..CHECKSUM_AT]);
        b[CHECKSUM_AT..].copy_from_slice(&sum.to_le_bytes());
        b
    }
}

/// FNV-1a, 64 bit (Go's `hash/fnv.New64a`).
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes
        .iter()
        .fold(OFFSET, |h, &b| (h ^ u64::from(b)).wrapping_mul(PRIME))
}

/// Pick the meta in force the way bbolt's `DB.meta()` does: order by txid
/// (higher first), then take the first valid one.
pub fn in_force(m0: &Meta, m1: &Meta) -> Option<MetaSlot> {
    let (a, b) = if m1.txid > m0.txid {
        (m1, m0)
    } else {
        (m0, m1)
    };
    [a, b]
        .into_iter()
        .find(|m| m.validate().is_ok())
        .map(|m| m.slot)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_matches_go_reference_values() {
        // Go: fnv.New64a() over "" and "a".
        assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
    }

    pub(crate) fn sample(slot: MetaSlot, txid: u64) -> [u8; PAGE_HEADER_LEN + META_LEN] {
        let m = Meta {
            slot,
            header: PageHeader {
                id: slot.page_id(),
                flags: 0x04,
                count: 0,
                overflow: 0,
            },
            magic: MAGIC,
            version: VERSION,
            page_size: 4096,
            flags: 0,
            root: PageId(3),
            sequence: 0,
            freelist: PageId(PGID_NO_FREELIST),
            pgid: PageId(7),
            txid,
            checksum: 0,
            computed_checksum: 0,
        };
        let mut page = [0u8; PAGE_HEADER_LEN + META_LEN];
        page[..8].copy_from_slice(&slot.page_id().0.to_le_bytes());
        page[8..10].copy_from_slice(&0x04u16.to_le_bytes());
        page[PAGE_HEADER_LEN..].copy_from_slice(&m.encode());
        page
    }

    #[test]
    fn round_trip_and_validate() {
        let m = Meta::parse(MetaSlot::Meta0, &sample(MetaSlot::Meta0, 9));
        assert_eq!(m.validate(), Ok(()));
        assert_eq!(
            (m.page_size, m.root, m.pgid, m.txid),
            (4096, PageId(3), PageId(7), 9)
        );
        assert!(!m.freelist_persisted());
        assert_eq!(m.header.kind(), "meta");
    }

    #[test]
    fn each_field_is_checked() {
        let mut p = sample(MetaSlot::Meta0, 1);
        p[PAGE_HEADER_LEN + PGID_AT] ^= 1;
        assert!(matches!(
            Meta::parse(MetaSlot::Meta0, &p).validate(),
            Err(MetaError::Checksum { .. })
        ));
        let mut p = sample(MetaSlot::Meta0, 1);
        p[PAGE_HEADER_LEN] = 0;
        assert!(matches!(
            Meta::parse(MetaSlot::Meta0, &p).validate(),
            Err(MetaError::Magic { .. })
        ));
        let mut p = sample(MetaSlot::Meta0, 1);
        p[PAGE_HEADER_LEN + VERSION_AT] = 3;
        assert_eq!(
            Meta::parse(MetaSlot::Meta0, &p).validate(),
            Err(MetaError::Version { found: 3 })
        );
    }

    #[test]
    fn in_force_prefers_the_higher_valid_txid() {
        let m0 = Meta::parse(MetaSlot::Meta0, &sample(MetaSlot::Meta0, 4));
        let m1 = Meta::parse(MetaSlot::Meta1, &sample(MetaSlot::Meta1, 5));
        assert_eq!(in_force(&m0, &m1), Some(MetaSlot::Meta1));
        let mut bad = sample(MetaSlot::Meta1, 5);
        bad[PAGE_HEADER_LEN + CHECKSUM_AT] ^= 0xff;
        let m1 = Meta::parse(MetaSlot::Meta1, &bad);
        assert_eq!(in_force(&m0, &m1), Some(MetaSlot::Meta0));
    }
}
