//! `Maintenance.HashKV(revision)` as a member restored from a snapshot
//! answers it: the oracle of a restore drill.
//!
//! What etcd computes (`HashByRev` in `mvcc/kvstore.go`, read at the tags
//! v3.4.23 and v3.5.1, where the code is the same):
//! - the store's revisions as its `restore()` sets them on boot: the compact
//!   revision is `meta/finishedCompactRev` (−1 when the store was never
//!   compacted), raised to `meta/scheduledCompactRev` when a compaction was
//!   scheduled and not finished and can be resumed (scheduled ≤ current); the
//!   current revision is the main revision of the last `key`-bucket entry
//!   (tombstones too), 1 for an empty bucket, at least the finished compact
//!   revision;
//! - `revision > 0 && revision <= compact` is `ErrCompacted` (so the compact
//!   revision itself cannot be hashed), `revision > current` is
//!   `ErrFutureRev`, 0 means the current revision;
//! - `keep`: the in-memory index's `Keep(revision)`: for every key, the latest
//!   revision ≤ `revision` of the generation that is alive then (a generation
//!   ends with its tombstone; one whose tombstone is ≤ `revision` is passed
//!   over, so no tombstone is ever kept). The index is rebuilt from the
//!   `key` bucket as `restoreIntoIndex` does: a key whose first entry is a
//!   tombstone is not indexed (until it is put again), and a tombstone on a
//!   key that is already deleted is dropped;
//! - CRC32-Castagnoli over the bucket name `key`, then, in bucket order, each
//!   entry's raw key and value when its main revision is ≤ `revision` and,
//!   if its revision is ≤ the compact revision, it is in `keep` — unless
//!   `keep` is empty, in which case etcd keeps every such entry ("don't skip
//!   if there isn't one").
//! - The response's `header.revision` is the current revision, not the one
//!   hashed; `compact_revision` is the compact revision above.
//!
//! Leases, auth, members and `meta` are not hashed, so restore (which rewrites
//! the membership buckets and the consistent index) keeps the hash, with one
//! exception of etcdctl 3.4's restore: it deletes the member ids from the
//! *key space* (`txn.DeleteRange(memberIdHex)`), so a user key spelled like a
//! member id in hex would get a tombstone at restore. Nested buckets inside
//! `key` (etcd writes none) are skipped, as [`Snapshot::key_index`] skips them.
//!
//! Which releases compute it this way: the functions involved (`HashByRev`,
//! `keyIndex.keep`/`doCompact`, `restoreIntoIndex`, `keyIndex.tombstone`,
//! `generation.walk`, the store's `restore`) are the same, apart from logging
//! and locking, in 3.4.0–3.4.26 and 3.5.0–3.5.4 (checked tag by tag in etcd's
//! repository). Later patch releases differ, and [`HashFamily::for_version`]
//! answers `None` for them:
//! - 3.5.5: a hash computed during each compaction is cached in memory and
//!   returned for that revision (a freshly booted member has none, unless it
//!   resumed a compaction at boot);
//! - 3.4.27 / 3.5.10: `revision == compact` is allowed (`rev < compactRev`);
//! - 3.4.34 / 3.5.16: compaction keeps a tombstone that sits exactly at the
//!   compact revision, `keep` passes over generations only when their
//!   tombstone is `< revision` and then drops a tombstone at `revision`, and
//!   the hash skips a tombstone whose main revision equals the compact
//!   revision — so old and new members agree;
//! - 3.4.32 / 3.5.14: boot raises the current revision to the scheduled
//!   compact revision when that is higher;
//! - 3.4.36 / 3.5.18: a key whose only entry is a tombstone is indexed
//!   (`restoreTombstone`).
//!
//! Compare two HashKVs only within one family and at equal compact revisions.

use std::collections::HashSet;
use std::ops::ControlFlow;

use serde::Serialize;

use super::index::KeyIndex;
use super::revision::{Revision, RevisionKey};
use crate::snapshot::{Snapshot, SnapshotError};
use crate::source::ReadAt;

/// The name of the bucket etcd hashes first.
const KEY_BUCKET: &[u8] = b"key";

/// Which etcd code computes the hash. The two release lines implemented
/// here compute it identically; they stay apart because their later patch
/// releases changed it at different points (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HashFamily {
    /// etcd 3.4.0–3.4.26 (checked against Debian's 3.4.23).
    V34,
    /// etcd 3.5.0–3.5.4 (checked against 3.5.1).
    V35,
}

impl HashFamily {
    /// The family of an etcd version as `Status` reports it (`3.4.23`, `v3.5.1`);
    /// `None` for releases whose HashKV this module does not implement
    /// (3.4.27+, 3.5.5+, 3.6+, pre-releases, anything unparsable).
    pub fn for_version(version: &str) -> Option<HashFamily> {
        let v = version.trim();
        let v = v.strip_prefix('v').unwrap_or(v);
        let mut parts = v.split('.');
        let mut num = || -> Option<u32> {
            let p = parts.next()?;
            // Digits only: "0-rc.1" or "23+deb" are not releases this module read.
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            p.parse().ok()
        };
        let (major, minor, patch) = (num()?, num()?, num()?);
        if parts.next().is_some() {
            return None;
        }
        match (major, minor, patch) {
            (3, 4, 0..=26) => Some(HashFamily::V34),
            (3, 5, 0..=4) => Some(HashFamily::V35),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            HashFamily::V34 => "3.4",
            HashFamily::V35 => "3.5",
        }
    }
}

/// What `Maintenance.HashKV` answers (etcdctl's `endpoint hashkv -w json`
/// prints `hash`, `compact_revision` and `header.revision`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HashKv {
    pub hash: u32,
    /// The store's compact revision, −1 when it was never compacted.
    pub compact_revision: i64,
    /// The response header's revision: the store's current revision (not
    /// the revision hashed).
    pub revision: i64,
}

/// The revisions a member restored from the snapshot boots with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StoreRevisions {
    /// `currentRev`.
    pub current: i64,
    /// `compactMainRev`: −1 when never compacted.
    pub compact: i64,
}

impl StoreRevisions {
    /// As etcd's `store.restore()` (3.4.0–3.4.31, 3.5.0–3.5.13) sets them.
    pub fn of<S: ReadAt>(snap: &Snapshot<S>, ix: &KeyIndex) -> Self {
        let meta = &snap.info.meta;
        let finished = meta.finished_compact_rev.unwrap_or(-1);
        // restoreIntoIndex starts at 1 and takes every entry's main revision.
        let last = ix.last.map_or(1, |l| l.rev.main);
        let current = last.max(finished);
        // A scheduled, unfinished compaction is resumed by compactLockfree,
        // which refuses a revision past the current one (ErrFutureRev).
        let compact = match meta.scheduled_compact_rev {
            Some(s) if s != 0 && s > finished && s <= current => s,
            _ => finished,
        };
        Self { current, compact }
    }
}

/// HashKV at `revision` (0: the current revision) of a member restored from `snap`.
pub fn hash_kv<S: ReadAt>(
    snap: &Snapshot<S>,
    revision: i64,
    family: HashFamily,
) -> Result<HashKv, SnapshotError> {
    let ix = snap.key_index()?;
    hash_kv_with_index(snap, &ix, revision, family)
}

/// [`hash_kv`] with an index the caller already built (one scan fewer).
pub fn hash_kv_with_index<S: ReadAt>(
    snap: &Snapshot<S>,
    ix: &KeyIndex,
    revision: i64,
    family: HashFamily,
) -> Result<HashKv, SnapshotError> {
    match family {
        // The same code in both lines (module doc); a later family gets its own arm.
        HashFamily::V34 | HashFamily::V35 => hash_by_rev_v34(snap, ix, revision),
    }
}

/// `HashByRev` of 3.4.0–3.4.26 and 3.5.0–3.5.4.
fn hash_by_rev_v34<S: ReadAt>(
    snap: &Snapshot<S>,
    ix: &KeyIndex,
    rev: i64,
) -> Result<HashKv, SnapshotError> {
    let revs = StoreRevisions::of(snap, ix);
    if rev > 0 && rev <= revs.compact {
        return Err(SnapshotError::Compacted {
            rev,
            compacted: revs.compact,
        });
    }
    if rev > 0 && rev > revs.current {
        return Err(SnapshotError::FutureRevision {
            rev,
            current: revs.current,
        });
    }
    let rev = if rev == 0 { revs.current } else { rev };
    let keep: HashSet<Revision> = ix
        .histories()
        .filter_map(|(_, h)| keep_v34(&generations(&h.revisions), rev))
        .collect();
    // Go's int64 arithmetic wraps; so does this (only a hostile file gets there).
    let upper = Revision {
        main: rev.wrapping_add(1),
        sub: 0,
    };
    let lower = Revision {
        main: revs.compact.wrapping_add(1),
        sub: 0,
    };
    let mut hash = crc32c::crc32c_append(0, KEY_BUCKET);
    let db = snap.db();
    if let Some(kb) = db.bucket(&db.root(), KEY_BUCKET)? {
        let mut failure = None;
        db.for_each(&kb, None, |e| {
            let Some(v) = e.value else {
                return ControlFlow::Continue(());
            };
            let kr = match Revision::parse(e.key) {
                Ok(r) => r,
                Err(error) => {
                    failure = Some(SnapshotError::RevisionKey {
                        at: e.loc,
                        key_hex: hex::encode(e.key),
                        error,
                    });
                    return ControlFlow::Break(());
                }
            };
            if upper <= kr {
                return ControlFlow::Continue(());
            }
            // "skip revisions that are scheduled for deletion due to
            // compacting; don't skip if there isn't one."
            if kr < lower && !keep.is_empty() && !keep.contains(&kr) {
                return ControlFlow::Continue(());
            }
            hash = crc32c::crc32c_append(hash, e.key);
            hash = crc32c::crc32c_append(hash, v);
            ControlFlow::Continue(())
        })?;
        if let Some(f) = failure {
            return Err(f);
        }
    }
    Ok(HashKv {
        hash,
        compact_revision: revs.compact,
        revision: revs.current,
    })
}

/// One key's generations as `restoreIntoIndex` rebuilds them from its
/// `key`-bucket entries (in bucket order): a tombstone closes the current
/// generation and opens an empty one. Empty when the key is not indexed.
pub(crate) fn generations(revisions: &[RevisionKey]) -> Vec<Vec<Revision>> {
    let mut gens: Vec<Vec<Revision>> = Vec::new();
    for rk in revisions {
        match gens.last_mut() {
            // Not indexed yet: a tombstone is ignored, a put restores the key.
            None => {
                if !rk.tombstone {
                    gens.push(vec![rk.rev]);
                }
            }
            Some(last) => {
                if rk.tombstone {
                    // keyIndex.tombstone on an empty generation fails
                    // (ErrRevisionNotFound) and restore ignores that.
                    if !last.is_empty() {
                        last.push(rk.rev);
                        gens.push(Vec::new());
                    }
                } else {
                    last.push(rk.rev);
                }
            }
        }
    }
    gens
}

/// `keyIndex.keep(atRev)` of 3.4.0–3.4.33 / 3.5.0–3.5.15: the revision it
/// adds to `available`, if any.
fn keep_v34(gens: &[Vec<Revision>], at: i64) -> Option<Revision> {
    // keyIndex.isEmpty: no generation, or one empty one.
    if gens.iter().all(Vec::is_empty) && gens.len() <= 1 {
        return None;
    }
    let last = gens.len() - 1;
    // "find first generation includes atRev or created after atRev"
    let mut gi = 0;
    while gi < last {
        // Only the last generation can be empty (see `generations`).
        let Some(tomb) = gens[gi].last() else { break };
        if tomb.main > at {
            break;
        }
        gi += 1;
    }
    let g = &gens[gi];
    // generation.walk: newest first, stop at the first revision ≤ atRev.
    let idx = g.iter().rposition(|r| r.main <= at)?;
    // "remove any tombstone": never true here (a generation ending ≤ atRev
    // was passed over), kept because etcd has it.
    if idx == g.len() - 1 && gi != last {
        return None;
    }
    Some(g[idx])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(main: i64) -> RevisionKey {
        RevisionKey {
            rev: Revision { main, sub: 0 },
            tombstone: false,
        }
    }

    fn del(main: i64) -> RevisionKey {
        RevisionKey {
            rev: Revision { main, sub: 0 },
            tombstone: true,
        }
    }

    fn r(main: i64) -> Revision {
        Revision { main, sub: 0 }
    }

    #[test]
    fn versions_map_to_the_families_read_and_nothing_else() {
        assert_eq!(HashFamily::for_version("3.4.23"), Some(HashFamily::V34));
        assert_eq!(HashFamily::for_version("v3.4.0"), Some(HashFamily::V34));
        assert_eq!(HashFamily::for_version("3.4.26"), Some(HashFamily::V34));
        assert_eq!(HashFamily::for_version("3.5.1"), Some(HashFamily::V35));
        assert_eq!(HashFamily::for_version(" 3.5.4 "), Some(HashFamily::V35));
        for other in [
            "3.4.27",
            "3.4.34",
            "3.5.5",
            "3.5.10",
            "3.5.16",
            "3.6.0",
            "3.3.27",
            "3.5",
            "3.5.1.2",
            "3.5.0-rc.1",
            "3.4.23+deb",
            "",
            "x.y.z",
            "3.5.-1",
        ] {
            assert_eq!(HashFamily::for_version(other), None, "{other:?}");
        }
    }

    #[test]
    fn generations_split_at_tombstones_like_restore_into_index() {
        // put 2, put 3, del 4, put 6, del 7
        let g = generations(&[put(2), put(3), del(4), put(6), del(7)]);
        assert_eq!(g, vec![vec![r(2), r(3), r(4)], vec![r(6), r(7)], vec![]]);
        // A leading tombstone is not indexed; a double tombstone is dropped.
        let g = generations(&[del(2), put(3), del(4), del(5), put(6)]);
        assert_eq!(g, vec![vec![r(3), r(4)], vec![r(6)]]);
        assert!(generations(&[del(2)]).is_empty());
    }

    #[test]
    fn keep_takes_the_latest_revision_of_the_generation_alive_then() {
        // {2, 3, 4(t)}, {6, 7(t)}, {}
        let g = generations(&[put(2), put(3), del(4), put(6), del(7)]);
        assert_eq!(keep_v34(&g, 1), None);
        assert_eq!(keep_v34(&g, 2), Some(r(2)));
        assert_eq!(keep_v34(&g, 3), Some(r(3)));
        // Deleted at 4 (tombstone ≤ atRev): the next generation, nothing ≤ 4 in it.
        assert_eq!(keep_v34(&g, 4), None);
        assert_eq!(keep_v34(&g, 5), None);
        assert_eq!(keep_v34(&g, 6), Some(r(6)));
        assert_eq!(keep_v34(&g, 7), None);
        assert_eq!(keep_v34(&g, 100), None);
        // A live key keeps its latest revision at any later atRev.
        let g = generations(&[put(2), put(5)]);
        assert_eq!(keep_v34(&g, 4), Some(r(2)));
        assert_eq!(keep_v34(&g, 9), Some(r(5)));
        assert_eq!(keep_v34(&[], 9), None);
    }
}
