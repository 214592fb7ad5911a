//! etcd's revision keys: the keys of the `key` bucket.
//!
//! ```text
//! 0                 8     9                 17    18
//! +-----------------+-----+-----------------+-----+
//! | main  u64 BE    | '_' | sub  u64 BE     | 't' |   ('t' only on tombstones)
//! +-----------------+-----+-----------------+-----+
//! ```
//! Big-endian so that bbolt's byte order is revision order. etcd stores the
//! numbers as int64 cast to uint64; the same two values are in
//! `meta/scheduledCompactRev` and `meta/finishedCompactRev` (17 bytes, no mark).

use serde::{Deserialize, Serialize};

pub const REV_LEN: usize = 17;
pub const MARKED_REV_LEN: usize = REV_LEN + 1;
const MAIN_AT: usize = 0;
const SEP_AT: usize = MAIN_AT + 8;
const SUB_AT: usize = SEP_AT + 1;
const _: () = assert!(SUB_AT + 8 == REV_LEN);
pub const SEPARATOR: u8 = b'_';
pub const TOMBSTONE_MARK: u8 = b't';

/// A revision: `main` counts transactions, `sub` the changes within one.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
pub struct Revision {
    pub main: i64,
    pub sub: i64,
}

/// A key of the `key` bucket: a revision, maybe marked as a tombstone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RevisionKey {
    pub rev: Revision,
    pub tombstone: bool,
}

/// Why bytes are not a revision key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RevisionError {
    #[error("a revision key is 17 or 18 bytes; this one is {len}")]
    Length { len: usize },
    #[error("byte 8 of a revision key is '_', found 0x{found:02x}")]
    Separator { found: u8 },
    #[error("byte 17 of a revision key is the tombstone mark 't', found 0x{found:02x}")]
    Mark { found: u8 },
    #[error("negative revision: main={main} sub={sub}")]
    Negative { main: i64, sub: i64 },
}

fn be_i64(b: &[u8]) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    // etcd writes int64 as uint64 big-endian: the cast is a reinterpretation.
    i64::from_be_bytes(a)
}

impl Revision {
    /// Decode the first 17 bytes. Like etcd's `BytesToRev`, only the two
    /// numbers matter here; the separator is checked by [`RevisionKey::parse`].
    pub fn parse(bytes: &[u8]) -> Result<Self, RevisionError> {
        let b = bytes
            .get(..REV_LEN)
            .ok_or(RevisionError::Length { len: bytes.len() })?;
        Ok(Self {
            main: be_i64(&b[MAIN_AT..SEP_AT]),
            sub: be_i64(&b[SUB_AT..REV_LEN]),
        })
    }

    pub fn encode(&self) -> [u8; REV_LEN] {
        let mut b = [0u8; REV_LEN];
        b[MAIN_AT..SEP_AT].copy_from_slice(&self.main.to_be_bytes());
        b[SEP_AT] = SEPARATOR;
        b[SUB_AT..].copy_from_slice(&self.sub.to_be_bytes());
        b
    }
}

impl Revision {
    /// What etcd 3.6 and later accept (`BytesToBucketKey`, which their
    /// etcdutl's `snapshot status` applies to every `key`-bucket key): 17 or
    /// 18 bytes, `'_'` at byte 8, neither number negative. Byte 17 may be
    /// anything (only `'t'` makes a tombstone). 3.4/3.5's `BytesToRev` checks
    /// none of this: [`Revision::parse`] is their rule.
    pub fn parse_v36(bytes: &[u8]) -> Result<Self, RevisionError> {
        if bytes.len() != REV_LEN && bytes.len() != MARKED_REV_LEN {
            return Err(RevisionError::Length { len: bytes.len() });
        }
        if bytes[SEP_AT] != SEPARATOR {
            return Err(RevisionError::Separator {
                found: bytes[SEP_AT],
            });
        }
        let rev = Revision::parse(bytes)?;
        if rev.main < 0 || rev.sub < 0 {
            return Err(RevisionError::Negative {
                main: rev.main,
                sub: rev.sub,
            });
        }
        Ok(rev)
    }
}

impl RevisionKey {
    /// Decode a `key`-bucket key, strictly.
    pub fn parse(bytes: &[u8]) -> Result<Self, RevisionError> {
        if bytes.len() != REV_LEN && bytes.len() != MARKED_REV_LEN {
            return Err(RevisionError::Length { len: bytes.len() });
        }
        if bytes[SEP_AT] != SEPARATOR {
            return Err(RevisionError::Separator {
                found: bytes[SEP_AT],
            });
        }
        let tombstone = match bytes.get(REV_LEN) {
            None => false,
            Some(&TOMBSTONE_MARK) => true,
            Some(&found) => return Err(RevisionError::Mark { found }),
        };
        Ok(Self {
            rev: Revision::parse(bytes)?,
            tombstone,
        })
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut v = self.rev.encode().to_vec();
        if self.tombstone {
            v.push(TOMBSTONE_MARK);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_orders_like_bytes() {
        let a = RevisionKey {
            rev: Revision { main: 5, sub: 0 },
            tombstone: false,
        };
        let b = RevisionKey {
            rev: Revision { main: 5, sub: 1 },
            tombstone: true,
        };
        let c = RevisionKey {
            rev: Revision { main: 256, sub: 0 },
            tombstone: false,
        };
        for k in [a, b, c] {
            assert_eq!(RevisionKey::parse(&k.encode()).unwrap(), k);
        }
        assert!(a.encode() < b.encode() && b.encode() < c.encode());
        assert_eq!(&b.encode()[..], b"\0\0\0\0\0\0\0\x05_\0\0\0\0\0\0\0\x01t");
    }

    #[test]
    fn the_3_6_rule_rejects_what_etcd_3_6_panics_on() {
        let ok = Revision { main: 7, sub: 2 };
        assert_eq!(Revision::parse_v36(&ok.encode()), Ok(ok));
        // Any mark byte: only 't' makes a tombstone, none is an error.
        let mut marked = ok.encode().to_vec();
        marked.push(b'x');
        assert_eq!(Revision::parse_v36(&marked), Ok(ok));
        marked.push(b'y');
        assert_eq!(
            Revision::parse_v36(&marked),
            Err(RevisionError::Length { len: 19 })
        );
        assert_eq!(Revision::parse(&marked), Ok(ok), "3.5 reads it");
        let mut sep = ok.encode();
        sep[8] = b'.';
        assert_eq!(
            Revision::parse_v36(&sep),
            Err(RevisionError::Separator { found: b'.' })
        );
        for (main, sub) in [(-1, 0), (0, -1)] {
            let neg = Revision { main, sub }.encode();
            assert_eq!(
                Revision::parse_v36(&neg),
                Err(RevisionError::Negative { main, sub })
            );
            assert_eq!(Revision::parse(&neg), Ok(Revision { main, sub }));
        }
    }

    #[test]
    fn rejects_bad_lengths_separators_and_marks() {
        assert_eq!(
            RevisionKey::parse(b"short"),
            Err(RevisionError::Length { len: 5 })
        );
        let mut k = Revision { main: 1, sub: 0 }.encode().to_vec();
        k[8] = b'-';
        assert_eq!(
            RevisionKey::parse(&k),
            Err(RevisionError::Separator { found: b'-' })
        );
        k[8] = b'_';
        k.push(b'x');
        assert_eq!(
            RevisionKey::parse(&k),
            Err(RevisionError::Mark { found: b'x' })
        );
    }
}
