//! The 16-byte header every bbolt page starts with.
//!
//! ```text
//! 0        8      10     12         16
//! +--------+------+------+----------+---------------
//! | id u64 |flags |count | overflow | elements / meta / freelist ...
//! |        | u16  | u16  |   u32    |
//! +--------+------+------+----------+---------------
//! ```
//! All integers are little-endian (bbolt writes native order; etcd ships for
//! little-endian platforms only).

use serde::{Deserialize, Serialize};

/// A page id (bbolt's `pgid`): a page's offset divided by the page size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PageId(pub u64);

impl std::fmt::Display for PageId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

pub const PAGE_HEADER_LEN: usize = 16;
const ID: usize = 0;
const FLAGS: usize = ID + 8;
const COUNT: usize = FLAGS + 2;
const OVERFLOW: usize = COUNT + 2;
const _: () = assert!(OVERFLOW + 4 == PAGE_HEADER_LEN);

pub const FLAG_BRANCH: u16 = 0x01;
pub const FLAG_LEAF: u16 = 0x02;
pub const FLAG_META: u16 = 0x04;
pub const FLAG_FREELIST: u16 = 0x10;

/// A decoded page header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageHeader {
    pub id: PageId,
    pub flags: u16,
    pub count: u16,
    pub overflow: u32,
}

impl PageHeader {
    pub fn parse(bytes: &[u8; PAGE_HEADER_LEN]) -> Self {
        let u16_at = |o: usize| u16::from_le_bytes([bytes[o], bytes[o + 1]]);
        let mut id = [0u8; 8];
        id.copy_from_slice(&bytes[ID..ID + 8]);
        let mut ov = [0u8; 4];
        ov.copy_from_slice(&bytes[OVERFLOW..OVERFLOW + 4]);
        Self {
            id: PageId(u64::from_le_bytes(id)),
            flags: u16_at(FLAGS),
            count: u16_at(COUNT),
            overflow: u32::from_le_bytes(ov),
        }
    }

    /// bbolt's name for the page type, or `unknown(0x..)`.
    pub fn kind(&self) -> String {
        match self.flags {
            FLAG_BRANCH => "branch".into(),
            FLAG_LEAF => "leaf".into(),
            FLAG_META => "meta".into(),
            FLAG_FREELIST => "freelist".into(),
            f => format!("unknown(0x{f:02x})"),
        }
    }
}
