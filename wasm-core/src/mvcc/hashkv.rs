//! `Maintenance.HashKV(revision)` as a member restored from a snapshot
//! answers it: the oracle of a restore drill.
//!
//! What etcd 3.4/3.5 compute (`HashByRev` in `mvcc/kvstore.go`, read at the
//! tags v3.4.23 and v3.5.1, where the code is the same):
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
//! What etcd 3.6/3.7 compute (`hashStorage.HashByRev` and `kvHasher` in
//! `server/storage/mvcc/hash.go`, `store.hashByRev`, `restore`,
//! `restoreIntoIndex` in `kvstore.go`, `keyIndex.keep`/`doCompact`/
//! `restoreTombstone` in `key_index.go`, read at v3.6.16 and v3.7.3): the
//! same, except that
//! - boot raises the current revision to `meta/scheduledCompactRev` too, so
//!   a scheduled, unfinished compaction is always resumed (compact revision =
//!   scheduled when it is above the finished one);
//! - only `revision < compact` is `ErrCompacted`: the compact revision itself
//!   is hashed;
//! - a key whose first entry is a tombstone is indexed (`restoreTombstone`:
//!   a generation holding just that tombstone, then an empty one);
//! - `keep` passes over a generation only when its tombstone is `< revision`,
//!   and then drops the revision it found when that is the generation's
//!   tombstone (so a tombstone at exactly `revision` is not kept either);
//! - the hash also skips every tombstone whose main revision equals the
//!   compact revision (3.5.16+/3.4.34+ compactions keep such a tombstone in
//!   the bucket; older ones deleted it);
//! - every key hashed must be a valid bucket key (`BytesToBucketKey`: 17 or
//!   18 bytes, `'_'` at byte 8, no negative number), else the member panics
//!   (here: an error);
//! - a hash computed by a compaction is cached in memory for its revision
//!   and answered instead (`hashStorage.Store`) — but only when the previous
//!   compaction had finished (`checkPrevCompactionCompleted`), which is never
//!   the case for the compaction a booting member resumes. A member freshly
//!   booted from the snapshot has no cached hash, so none is modelled here;
//!   a member that ran the compaction itself answers `HashKV(compact)` from
//!   its cache (a hash of the entries before that compaction, with the
//!   previous compact revision), which differs.
//!
//! Leases, auth, members and `meta` are not hashed, so restore (which rewrites
//! the membership buckets and the consistent index) keeps the hash, with one
//! exception of etcdctl 3.4's restore: it deletes the member ids from the
//! *key space* (`txn.DeleteRange(memberIdHex)`), so a user key spelled like a
//! member id in hex would get a tombstone at restore. Nested buckets inside
//! `key` (etcd writes none) are skipped, as [`Snapshot::key_index`] skips them.
//!
//! Which releases compute it which way:
//! - the 3.4/3.5 way: the functions involved (`HashByRev`,
//!   `keyIndex.keep`/`doCompact`, `restoreIntoIndex`, `keyIndex.tombstone`,
//!   `generation.walk`, the store's `restore`) are the same, apart from
//!   logging and locking, in 3.4.0–3.4.26 and 3.5.0–3.5.4 (checked tag by
//!   tag in etcd's repository);
//! - the 3.6/3.7 way: the functions above and `kvHasher`,
//!   `hashStorage.HashByRev`/`Store`, `store.compact`/`updateCompactRev`/
//!   `checkPrevCompactionCompleted`, `scheduleCompaction`,
//!   `treeIndex.Keep`/`Compact`, `keyIndex.put`/`restore`/`compact`,
//!   `BytesToBucketKey` and the gRPC `HashKV` handler are the same, apart
//!   from logging, failpoints and the proto library, in 3.6.0–3.6.16 and
//!   3.7.0–3.7.3 (checked tag by tag, and in the released Go modules of
//!   3.6.15, 3.6.16, 3.7.2 and 3.7.3).
//!
//! Releases between the two differ, and [`HashFamily::for_version`] answers
//! `None` for them:
//! - 3.5.5: the compaction hash cache above;
//! - 3.4.27 / 3.5.10: `revision == compact` is allowed (`rev < compactRev`);
//! - 3.4.34 / 3.5.16: compaction keeps a tombstone that sits exactly at the
//!   compact revision, `keep` as in 3.6, and the hash skips a tombstone whose
//!   main revision equals the compact revision — so old and new members agree;
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
use super::revision::{MARKED_REV_LEN, Revision, RevisionKey, TOMBSTONE_MARK};
use crate::snapshot::{Snapshot, SnapshotError};
use crate::source::ReadAt;

/// The name of the bucket etcd hashes first.
const KEY_BUCKET: &[u8] = b"key";

/// Which etcd code computes the hash. Lines that compute it identically
/// (3.4 and 3.5; 3.6 and 3.7) stay apart because their later patch
/// releases may change it at different points (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HashFamily {
    /// etcd 3.4.0–3.4.26 (checked against Debian's 3.4.23).
    V34,
    /// etcd 3.5.0–3.5.4 (checked against 3.5.1).
    V35,
    /// etcd 3.6.0–3.6.16 (checked against 3.6.16).
    V36,
    /// etcd 3.7.0–3.7.3 (checked against 3.7.3).
    V37,
}

/// The two ways of computing it (module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Code {
    /// 3.4.0–3.4.26, 3.5.0–3.5.4.
    V34,
    /// 3.6.0–3.6.16, 3.7.0–3.7.3.
    V36,
}

impl HashFamily {
    /// The family of an etcd version as `Status` reports it (`3.4.23`, `v3.5.1`);
    /// `None` for releases whose HashKV this module does not implement
    /// (3.4.27+, 3.5.5+, 3.6.17+, 3.7.4+, 3.8+, pre-releases, anything
    /// unparsable): the upper bounds are the last releases whose source was
    /// read, not known changes.
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
            (3, 6, 0..=16) => Some(HashFamily::V36),
            (3, 7, 0..=3) => Some(HashFamily::V37),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            HashFamily::V34 => "3.4",
            HashFamily::V35 => "3.5",
            HashFamily::V36 => "3.6",
            HashFamily::V37 => "3.7",
        }
    }

    fn code(self) -> Code {
        match self {
            HashFamily::V34 | HashFamily::V35 => Code::V34,
            HashFamily::V36 | HashFamily::V37 => Code::V36,
        }
    }
}

/// What `Maintenance.HashKV` answers (etcdctl's `endpoint hashkv -w json`
/// prints `hash`, `compact_revision` and `header.revision`; 3.6+ also
/// `hash_revision`, the revision hashed, which is not kept here).
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

    /// As `store.restore()` of 3.6.0–3.6.16 and 3.7.0–3.7.3 sets them: the
    /// current revision is raised to the scheduled compact revision too
    /// (etcd issue 17780), so a scheduled compaction above the finished one
    /// is always resumed.
    pub fn of_v36<S: ReadAt>(snap: &Snapshot<S>, ix: &KeyIndex) -> Self {
        let meta = &snap.info.meta;
        let finished = meta.finished_compact_rev.unwrap_or(-1);
        // UnsafeReadScheduledCompact answers 0 when the key is absent.
        let scheduled = meta.scheduled_compact_rev.unwrap_or(0);
        let last = ix.last.map_or(1, |l| l.rev.main);
        let current = last.max(finished).max(scheduled);
        // "if scheduledCompact <= s.compactMainRev { scheduledCompact = 0 }",
        // then compactLockfree(scheduledCompact) when it is not 0.
        let compact = if scheduled != 0 && scheduled > finished {
            scheduled
        } else {
            finished
        };
        Self { current, compact }
    }

    /// As the family's `store.restore()` sets them.
    pub fn for_family<S: ReadAt>(snap: &Snapshot<S>, ix: &KeyIndex, family: HashFamily) -> Self {
        match family.code() {
            Code::V34 => Self::of(snap, ix),
            Code::V36 => Self::of_v36(snap, ix),
        }
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
    hash_by_rev(snap, ix, revision, family.code())
}

/// `HashByRev` of the two codes (module doc); where they differ, `code` says.
fn hash_by_rev<S: ReadAt>(
    snap: &Snapshot<S>,
    ix: &KeyIndex,
    rev: i64,
    code: Code,
) -> Result<HashKv, SnapshotError> {
    let revs = match code {
        Code::V34 => StoreRevisions::of(snap, ix),
        Code::V36 => StoreRevisions::of_v36(snap, ix),
    };
    // 3.4/3.5: `rev <= compactRev`; 3.6/3.7: `rev < compactRev`.
    let compacted = match code {
        Code::V34 => rev <= revs.compact,
        Code::V36 => rev < revs.compact,
    };
    if rev > 0 && compacted {
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
    let keep: HashSet<Revision> = match code {
        Code::V34 => ix
            .histories()
            .filter_map(|(_, h)| keep_v34(&generations(h.revisions), rev))
            .collect(),
        Code::V36 => ix
            .histories()
            .filter_map(|(_, h)| keep_v36(&generations_v36(h.revisions), rev))
            .collect(),
    };
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
            // 3.4/3.5's BytesToRev reads the two numbers; 3.6's panics on
            // anything that is not a bucket key.
            let parsed = match code {
                Code::V34 => Revision::parse(e.key),
                Code::V36 => Revision::parse_v36(e.key),
            };
            let kr = match parsed {
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
            // 3.6: "if the compacted revision is a tombstone, older versions
            // will delete the tombstone … so we should skip the tombstone".
            if code == Code::V36 && kr.main == revs.compact && is_tombstone_v36(e.key) {
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

/// etcd 3.6's `isTombstone`: 18 bytes, the last one `'t'`.
fn is_tombstone_v36(key: &[u8]) -> bool {
    key.len() == MARKED_REV_LEN && key[MARKED_REV_LEN - 1] == TOMBSTONE_MARK
}

/// One key's generations as `restoreIntoIndex` of 3.4.0–3.4.35 / 3.5.0–3.5.17
/// rebuilds them from its `key`-bucket entries (in bucket order): a
/// tombstone closes the current generation and opens an empty one. Empty
/// when the key is not indexed.
pub(crate) fn generations(revisions: &[RevisionKey]) -> Vec<Vec<Revision>> {
    generations_with(revisions, false)
}

/// [`generations`] as 3.6/3.7 rebuild them: a key whose first entry is a
/// tombstone is indexed (`restoreTombstone`: `{tombstone}, {}`).
fn generations_v36(revisions: &[RevisionKey]) -> Vec<Vec<Revision>> {
    generations_with(revisions, true)
}

fn generations_with(revisions: &[RevisionKey], restore_tombstone: bool) -> Vec<Vec<Revision>> {
    let mut gens: Vec<Vec<Revision>> = Vec::new();
    for rk in revisions {
        match gens.last_mut() {
            // Not indexed yet: a put restores the key; a tombstone is
            // ignored before 3.6 and restored as a closed generation since.
            None => {
                if !rk.tombstone {
                    gens.push(vec![rk.rev]);
                } else if restore_tombstone {
                    gens.push(vec![rk.rev]);
                    gens.push(Vec::new());
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

/// `keyIndex.keep(atRev)` of 3.6.0–3.6.16 / 3.7.0–3.7.3: a generation is
/// passed over only when its tombstone is below `atRev`; a tombstone found
/// at `atRev` is then deleted from `available` ("if the given `atRev` is a
/// tombstone, we need to skip it").
fn keep_v36(gens: &[Vec<Revision>], at: i64) -> Option<Revision> {
    // keyIndex.isEmpty: one empty generation (no generation: not indexed).
    if gens.is_empty() || (gens.len() == 1 && gens[0].is_empty()) {
        return None;
    }
    let last = gens.len() - 1;
    let mut gi = 0;
    while gi < last {
        // Only the last generation can be empty (see `generations_with`).
        let Some(tomb) = gens[gi].last() else { break };
        if tomb.main >= at {
            break;
        }
        gi += 1;
    }
    let g = &gens[gi];
    let idx = g.iter().rposition(|r| r.main <= at)?;
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
        assert_eq!(HashFamily::for_version("3.6.0"), Some(HashFamily::V36));
        assert_eq!(HashFamily::for_version("v3.6.16"), Some(HashFamily::V36));
        assert_eq!(HashFamily::for_version("3.7.0"), Some(HashFamily::V37));
        assert_eq!(HashFamily::for_version("3.7.3"), Some(HashFamily::V37));
        for other in [
            "3.4.27",
            "3.4.34",
            "3.5.5",
            "3.5.10",
            "3.5.16",
            "3.6.17",
            "3.7.4",
            "3.8.0",
            "3.6.0-rc.5",
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

    #[test]
    fn generations_v36_index_a_leading_tombstone() {
        // restoreTombstone: {t}, {}; a second tombstone is dropped; a put reopens.
        assert_eq!(generations_v36(&[del(2)]), vec![vec![r(2)], vec![]]);
        let g = generations_v36(&[del(2), del(3), put(4)]);
        assert_eq!(g, vec![vec![r(2)], vec![r(4)]]);
        // Otherwise as before 3.6.
        let revs = [put(2), put(3), del(4), put(6), del(7)];
        assert_eq!(generations_v36(&revs), generations(&revs));
    }

    #[test]
    fn keep_v36_passes_over_a_generation_only_below_its_tombstone() {
        // {2, 3, 4(t)}, {6, 7(t)}, {}
        let g = generations_v36(&[put(2), put(3), del(4), put(6), del(7)]);
        assert_eq!(keep_v36(&g, 1), None);
        assert_eq!(keep_v36(&g, 2), Some(r(2)));
        assert_eq!(keep_v36(&g, 3), Some(r(3)));
        // The tombstone at atRev is found, then deleted from `available`.
        assert_eq!(keep_v36(&g, 4), None);
        assert_eq!(keep_v36(&g, 5), None);
        assert_eq!(keep_v36(&g, 6), Some(r(6)));
        assert_eq!(keep_v36(&g, 7), None);
        assert_eq!(keep_v36(&g, 100), None);
        // A key restored from its tombstone alone keeps nothing.
        let g = generations_v36(&[del(5)]);
        for at in [4, 5, 6] {
            assert_eq!(keep_v36(&g, at), None, "{at}");
        }
        let g = generations_v36(&[put(2), put(5)]);
        assert_eq!(keep_v36(&g, 4), Some(r(2)));
        assert_eq!(keep_v36(&g, 9), Some(r(5)));
        assert_eq!(keep_v36(&[], 9), None);
        assert_eq!(keep_v36(&[vec![]], 9), None);
    }

    #[test]
    fn keep_v36_answers_as_keep_v34_on_every_rebuilt_index() {
        // Every history of up to 7 puts and deletes (2^7 · 7 of them), at every
        // revision around it: 3.6's rewrite of `keep` and `restoreTombstone`
        // change no keep set; the hash differs by its other two rules.
        for len in 0..=7u32 {
            for bits in 0..(1u32 << len) {
                let revs: Vec<RevisionKey> = (0..len)
                    .map(|i| {
                        let main = i64::from(i) * 2 + 2;
                        if bits & (1 << i) != 0 {
                            del(main)
                        } else {
                            put(main)
                        }
                    })
                    .collect();
                let (old, new) = (generations(&revs), generations_v36(&revs));
                for at in 0..=i64::from(len) * 2 + 3 {
                    assert_eq!(keep_v34(&old, at), keep_v36(&new, at), "{revs:?} at {at}");
                }
            }
        }
    }
}
