//! A digest of the live key space at one revision: what a restore drill
//! compares between the snapshot and the member restored from it.
//!
//! The server computes the same digest from a `Range` over every key at that
//! revision on the restored member (`etcdctl get "" --from-key --rev R`),
//! feeding [`LiveDigestBuilder`] the response's key-value pairs in the order
//! they come (etcd sorts them by key, bytewise ascending). Byte layout, with
//! the keys in strictly ascending bytewise order, for each live key:
//!
//! ```text
//! +----------------+---------+-------------------+------------------+-----------+
//! | key_len u32 BE | key     | mod_revision i64 BE | value_len u32 BE | value     |
//! | 4 bytes        | key_len | 8 bytes             | 4 bytes          | value_len |
//! +----------------+---------+-------------------+------------------+-----------+
//! ```
//! `sha256` is SHA-256 over the concatenation of those records (SHA-256 of no
//! bytes when no key is live), `keys` the number of records. `mod_revision`
//! is the `mod_revision` field of the stored `mvccpb.KeyValue`, as `Range`
//! returns it. Lengths fit 32 bits: bbolt stores every value's length as a
//! `u32`, and a key lies inside its value.
//!
//! "Live at R": the key's latest `key`-bucket entry with main revision ≤ R is
//! not a tombstone. `R` follows `Range`'s rules on a member restored from the
//! snapshot: 0 or less is the current revision, `R < compact` is compacted
//! (`R == compact` is readable), `R > current` is a future revision.
//!
//! Leases are not read: a member booted from the snapshot revokes expired
//! leases and deletes their keys at new revisions, so compare at R, never at
//! the latest revision.

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::hashkv::StoreRevisions;
use super::index::KeyIndex;
use crate::snapshot::{Snapshot, SnapshotError};
use crate::source::ReadAt;

/// The live keys at a revision, counted and hashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LiveDigest {
    pub keys: u64,
    #[serde(with = "hex_bytes")]
    pub sha256: [u8; 32],
}

mod hex_bytes {
    pub fn serialize<S: serde::Serializer>(b: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(b))
    }
}

/// A key given out of order: the digest would not be the snapshot's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error(
    "key {index} (0-based) is not greater than the key before it: give keys in ascending bytewise order, each once"
)]
pub struct OutOfOrder {
    pub index: u64,
}

/// Builds a [`LiveDigest`] from key-value pairs given in ascending key order.
#[derive(Debug, Clone, Default)]
pub struct LiveDigestBuilder {
    sha: Sha256,
    keys: u64,
    last_key: Option<Vec<u8>>,
}

/// A length as the digest writes it. bbolt's element headers hold lengths
/// as `u32`, so nothing read from a file exceeds it; a caller's longer slice
/// (impossible from etcd, whose request limit is far lower) saturates.
fn len_u32(b: &[u8]) -> [u8; 4] {
    u32::try_from(b.len()).unwrap_or(u32::MAX).to_be_bytes()
}

impl LiveDigestBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add one live key. Keys must come in strictly ascending bytewise order.
    pub fn add(&mut self, key: &[u8], mod_revision: i64, value: &[u8]) -> Result<(), OutOfOrder> {
        if self.last_key.as_deref().is_some_and(|last| last >= key) {
            return Err(OutOfOrder { index: self.keys });
        }
        self.last_key = Some(key.to_vec());
        self.push(key, mod_revision, value);
        Ok(())
    }

    /// One record, for a caller whose keys are ascending by construction.
    fn push(&mut self, key: &[u8], mod_revision: i64, value: &[u8]) {
        self.sha.update(len_u32(key));
        self.sha.update(key);
        self.sha.update(mod_revision.to_be_bytes());
        self.sha.update(len_u32(value));
        self.sha.update(value);
        self.keys += 1;
    }

    pub fn finish(self) -> LiveDigest {
        LiveDigest {
            keys: self.keys,
            sha256: self.sha.finalize().into(),
        }
    }
}

/// The digest of the keys live at `revision` (0: the current revision).
pub fn live_digest<S: ReadAt>(
    snap: &Snapshot<S>,
    revision: i64,
) -> Result<LiveDigest, SnapshotError> {
    let ix = snap.key_index()?;
    live_digest_with_index(snap, &ix, revision)
}

/// [`live_digest`] with an index the caller already built (one scan fewer).
/// Values are read back one by one, by revision, so memory stays with the index.
pub fn live_digest_with_index<S: ReadAt>(
    snap: &Snapshot<S>,
    ix: &KeyIndex,
    revision: i64,
) -> Result<LiveDigest, SnapshotError> {
    let revs = StoreRevisions::of(snap, ix);
    let rev = if revision <= 0 {
        revs.current
    } else {
        revision
    };
    if rev < revs.compact {
        return Err(SnapshotError::Compacted {
            rev,
            compacted: revs.compact,
        });
    }
    if rev > revs.current {
        return Err(SnapshotError::FutureRevision {
            rev,
            current: revs.current,
        });
    }
    let mut b = LiveDigestBuilder::new();
    // The index is a BTreeMap of byte strings: bytewise key order, as etcd's.
    for (key, h) in ix.histories() {
        let Some(rk) = h.revisions.iter().rev().find(|r| r.rev.main <= rev) else {
            continue;
        };
        if rk.tombstone {
            continue;
        }
        let Some(kv) = snap.value(*rk)? else {
            // Listed by the scan, gone at lookup: the source changed under us.
            return Err(missing(snap, rk));
        };
        // Keys come from a BTreeMap: ascending and distinct, no check needed.
        b.push(key, kv.mod_revision, &kv.value);
    }
    Ok(b.finish())
}

fn missing<S: ReadAt>(snap: &Snapshot<S>, rk: &super::RevisionKey) -> SnapshotError {
    let db = snap.db();
    let at = db
        .bucket(&db.root(), b"key")
        .ok()
        .flatten()
        .map_or_else(|| db.root().loc, |b| b.loc);
    SnapshotError::KeyValue {
        at,
        key_hex: hex::encode(rk.encode()),
        reason: "listed by the key-bucket scan, not found when read back".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_length_prefixed_big_endian() {
        let mut b = LiveDigestBuilder::new();
        b.add(b"a", 2, b"xy").unwrap();
        b.add(b"b/c", 0x0102, b"").unwrap();
        let d = b.finish();
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&[0, 0, 0, 1, b'a']);
        bytes.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 2]);
        bytes.extend_from_slice(&[0, 0, 0, 2, b'x', b'y']);
        bytes.extend_from_slice(&[0, 0, 0, 3, b'b', b'/', b'c']);
        bytes.extend_from_slice(&[0, 0, 0, 0, 0, 0, 1, 2]);
        bytes.extend_from_slice(&[0, 0, 0, 0]);
        assert_eq!(d.keys, 2);
        assert_eq!(d.sha256, <[u8; 32]>::from(Sha256::digest(&bytes)));
    }

    #[test]
    fn empty_is_the_sha256_of_nothing() {
        let d = LiveDigestBuilder::new().finish();
        assert_eq!(d.keys, 0);
        assert_eq!(
            hex::encode(d.sha256),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn keys_out_of_order_or_repeated_are_refused() {
        let mut b = LiveDigestBuilder::new();
        b.add(b"b", 1, b"").unwrap();
        assert_eq!(b.add(b"a", 1, b""), Err(OutOfOrder { index: 1 }));
        assert_eq!(b.add(b"b", 1, b""), Err(OutOfOrder { index: 1 }));
        b.add(b"b\0", 1, b"").unwrap();
    }
}
