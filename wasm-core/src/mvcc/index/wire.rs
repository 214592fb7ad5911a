//! An [`IndexBuilder`] as bytes, so a worker that walked one part of the
//! `key` bucket (a browser's Web Worker, which shares no memory) can hand its
//! entries to the one that holds the index, which appends the parts in
//! bucket order ([`IndexBuilder::append_bytes`]): the same index as one scan.
//!
//! ```text
//! magic "ELX1"
//! u64 keys           n: distinct user keys, in the order first met
//! u64 entries        m: entries, in bucket order
//! u64 arena          bytes of all n keys together
//! u8  has_last       then, if 1: the last entry's revision key (as below)
//! arena bytes        the keys, one after another
//! n × u32            each key's length
//! n × 4 × i64        each key's latest create_revision, mod_revision, version, lease
//! m × entry          u32 key (0..n), i64 main, i64 sub, u8 tombstone, u32 value bytes
//! ```
//! Integers are little-endian. Reading never panics and never allocates
//! more than the bytes justify: the counts must account for every byte
//! before anything is read.

use super::{IndexBuilder, Latest};
use crate::mvcc::revision::{Revision, RevisionKey};

const MAGIC: &[u8; 4] = b"ELX1";
const HEADER: usize = MAGIC.len() + 3 * 8 + 1;
const REV: usize = 8 + 8 + 1;
const PER_KEY: usize = 4 + 4 * 8;
const PER_ENTRY: usize = 4 + REV + 4;

/// Why bytes are not an index part.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IndexBytesError {
    #[error("not an index part (no ELX1 magic)")]
    Magic,
    #[error("the index part is {got} bytes where its counts say {want}")]
    Length { got: usize, want: u128 },
    #[error("the index part's key lengths add up to {got} bytes, its keys are {want}")]
    Keys { got: u64, want: u64 },
    #[error("the index part's entry {entry} names key {key} of {keys}")]
    KeyOutOfRange { entry: u64, key: u32, keys: u64 },
    #[error("the index part's revision key tombstone mark is {0}, not 0 or 1")]
    Mark(u8),
}

fn put_rev(out: &mut Vec<u8>, rk: RevisionKey) {
    out.extend_from_slice(&rk.rev.main.to_le_bytes());
    out.extend_from_slice(&rk.rev.sub.to_le_bytes());
    out.push(u8::from(rk.tombstone));
}

/// Reads fixed-size fields from bytes whose length was checked in advance.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> &'a [u8] {
        let (a, b) = self.bytes.split_at(n);
        self.bytes = b;
        a
    }
    fn u8(&mut self) -> u8 {
        self.take(1)[0]
    }
    fn u32(&mut self) -> u32 {
        let mut b = [0; 4];
        b.copy_from_slice(self.take(4));
        u32::from_le_bytes(b)
    }
    fn u64(&mut self) -> u64 {
        let mut b = [0; 8];
        b.copy_from_slice(self.take(8));
        u64::from_le_bytes(b)
    }
    fn i64(&mut self) -> i64 {
        self.u64() as i64
    }
    fn rev(&mut self) -> Result<RevisionKey, IndexBytesError> {
        let (main, sub) = (self.i64(), self.i64());
        let tombstone = match self.u8() {
            0 => false,
            1 => true,
            m => return Err(IndexBytesError::Mark(m)),
        };
        Ok(RevisionKey {
            rev: Revision { main, sub },
            tombstone,
        })
    }
}

impl IndexBuilder {
    /// The entries added so far, as bytes (the layout above).
    pub fn to_bytes(&self) -> Vec<u8> {
        let (n, m) = (self.ends.len(), self.entry_ids.len());
        let mut out =
            Vec::with_capacity(HEADER + REV + self.arena.len() + n * PER_KEY + m * PER_ENTRY);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(n as u64).to_le_bytes());
        out.extend_from_slice(&(m as u64).to_le_bytes());
        out.extend_from_slice(&(self.arena.len() as u64).to_le_bytes());
        match self.last {
            Some(rk) => {
                out.push(1);
                put_rev(&mut out, rk);
            }
            None => out.push(0),
        }
        out.extend_from_slice(&self.arena);
        let mut start = 0;
        for &end in &self.ends {
            // A key is at most a bbolt key: far below 4 GiB.
            out.extend_from_slice(&u32::try_from(end - start).unwrap_or(u32::MAX).to_le_bytes());
            start = end;
        }
        for l in &self.latest {
            for v in [l.create_revision, l.mod_revision, l.version, l.lease] {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        for ((&id, &rk), &size) in self
            .entry_ids
            .iter()
            .zip(&self.entry_revs)
            .zip(&self.entry_sizes)
        {
            out.extend_from_slice(&id.to_le_bytes());
            put_rev(&mut out, rk);
            out.extend_from_slice(&size.to_le_bytes());
        }
        out
    }

    /// Append the entries of a part that follows the ones added so far in
    /// bucket order, given as [`Self::to_bytes`] wrote them. Nothing is
    /// added when the bytes are not a whole, well-formed part.
    pub fn append_bytes(&mut self, bytes: &[u8]) -> Result<(), IndexBytesError> {
        let mut r = Reader { bytes };
        if bytes.len() < HEADER || r.take(MAGIC.len()) != MAGIC {
            return Err(IndexBytesError::Magic);
        }
        let (n, m, arena) = (r.u64(), r.u64(), r.u64());
        let has_last = r.u8();
        let want = HEADER as u128
            + if has_last == 1 { REV as u128 } else { 0 }
            + u128::from(arena)
            + u128::from(n) * PER_KEY as u128
            + u128::from(m) * PER_ENTRY as u128;
        if want != bytes.len() as u128 {
            return Err(IndexBytesError::Length {
                got: bytes.len(),
                want,
            });
        }
        // Every count fits in memory now: the bytes hold them all.
        let size = |v: u64| {
            usize::try_from(v).map_err(|_| IndexBytesError::Length {
                got: bytes.len(),
                want,
            })
        };
        let (n, m, arena) = (size(n)?, size(m)?, size(arena)?);
        let last = if has_last == 1 { Some(r.rev()?) } else { None };
        let keys = r.take(arena);
        let mut lens = Reader {
            bytes: r.take(n * 4),
        };
        let lens: Vec<usize> = (0..n).map(|_| lens.u32() as usize).collect();
        let total: u64 = lens.iter().map(|&l| l as u64).sum();
        if total != arena as u64 {
            return Err(IndexBytesError::Keys {
                got: total,
                want: arena as u64,
            });
        }
        let latest = r.take(n * 4 * 8);
        let mut entries = Reader { bytes: r.bytes };
        // Check every entry before changing anything.
        for e in 0..m {
            let key = entries.u32();
            if key as usize >= n {
                return Err(IndexBytesError::KeyOutOfRange {
                    entry: e as u64,
                    key,
                    keys: n as u64,
                });
            }
            entries.rev()?;
            entries.u32();
        }
        // Room for all of it at once: no array grows by doubling (a wasm
        // heap keeps its peak), at most `n` keys new.
        self.arena.reserve(arena);
        self.ends.reserve(n);
        self.latest.reserve(n);
        self.ids.reserve(n, |&id| {
            use std::hash::BuildHasher;
            self.hasher
                .hash_one(super::key_of(&self.arena, &self.ends, id))
        });
        self.entry_ids.reserve(m);
        self.entry_revs.reserve(m);
        self.entry_sizes.reserve(m);
        let mut ids = Vec::with_capacity(n);
        let mut at = 0;
        let mut latest = Reader { bytes: latest };
        for len in lens {
            let id = self.id_of(&keys[at..at + len]);
            at += len;
            self.latest[id as usize] = Latest {
                create_revision: latest.i64(),
                mod_revision: latest.i64(),
                version: latest.i64(),
                lease: latest.i64(),
            };
            ids.push(id);
        }
        let mut entries = Reader { bytes: r.bytes };
        for _ in 0..m {
            let key = entries.u32();
            let rk = entries.rev()?;
            let size = entries.u32();
            self.push(ids[key as usize], rk, size);
        }
        self.last = last.or(self.last);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mvcc::{KeyIndex, KeyValue};

    fn entries() -> Vec<(RevisionKey, KeyValue)> {
        (0..500i64)
            .map(|i| {
                let key = format!("/registry/pods/ns-{}/p-{}", i % 3, (i * 7) % 61);
                let rk = RevisionKey {
                    rev: Revision {
                        main: i + 2,
                        sub: i % 2,
                    },
                    tombstone: i % 9 == 0,
                };
                let kv = KeyValue {
                    key: key.into_bytes(),
                    create_revision: i,
                    mod_revision: i + 2,
                    version: i % 5,
                    value: vec![b'v'; (i % 17) as usize],
                    lease: i % 4,
                };
                (rk, kv)
            })
            .collect()
    }

    fn same(a: &KeyIndex, b: &KeyIndex) {
        let all = |ix: &KeyIndex| -> Vec<_> {
            ix.histories()
                .map(|(k, h)| {
                    (
                        k.to_vec(),
                        h.revisions.to_vec(),
                        h.value_sizes.to_vec(),
                        h.live,
                    )
                })
                .collect()
        };
        assert_eq!(all(a), all(b));
        assert_eq!(
            (a.last, a.entries, a.live_count()),
            (b.last, b.entries, b.live_count())
        );
    }

    #[test]
    fn parts_appended_in_order_are_the_one_scan() {
        let e = entries();
        let whole = KeyIndex::of(e.iter().map(|(rk, kv)| (*rk, kv)));
        for cuts in [
            vec![0, 500],
            vec![0, 1, 500],
            vec![0, 170, 171, 400, 500],
            vec![0, 0, 500, 500],
        ] {
            let mut b = IndexBuilder::default();
            for w in cuts.windows(2) {
                let mut part = IndexBuilder::default();
                for (rk, kv) in &e[w[0]..w[1]] {
                    part.add(*rk, kv);
                }
                b.append_bytes(&part.to_bytes()).unwrap();
            }
            same(&b.finish(), &whole);
        }
    }

    #[test]
    fn damaged_parts_are_refused_whole() {
        let e = entries();
        let mut part = IndexBuilder::default();
        for (rk, kv) in &e {
            part.add(*rk, kv);
        }
        let bytes = part.to_bytes();
        let mut b = IndexBuilder::default();
        assert_eq!(b.append_bytes(b"ELX0"), Err(IndexBytesError::Magic));
        assert!(matches!(
            b.append_bytes(&bytes[..bytes.len() - 1]),
            Err(IndexBytesError::Length { .. })
        ));
        // Each byte of the header and a sample of the rest flipped: refused or
        // read, never a panic; a refused part adds nothing.
        for at in (0..bytes.len()).step_by(7).chain(0..HEADER + REV) {
            let mut d = bytes.clone();
            d[at] ^= 0x41;
            let mut b = IndexBuilder::default();
            if b.append_bytes(&d).is_err() {
                assert_eq!(b.entries(), 0, "byte {at}");
                assert_eq!(b.ends.len(), 0, "byte {at}");
            }
        }
        // An entry naming a key past the part's keys.
        let mut d = bytes.clone();
        let first_entry = d.len() - e.len() * PER_ENTRY;
        d[first_entry..first_entry + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            IndexBuilder::default().append_bytes(&d),
            Err(IndexBytesError::KeyOutOfRange { entry: 0, .. })
        ));
    }
}
