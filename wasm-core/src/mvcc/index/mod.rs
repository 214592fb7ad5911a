//! The key index: for each user key, every retained revision (like etcd's
//! in-memory `treeIndex`), and the metadata of the live version.
//!
//! Built by one scan of the `key` bucket ([`IndexBuilder`]), which bbolt
//! orders by revision, so the last entry seen for a key is its latest. Memory
//! grows with the number of keys and revisions, never with the values: a
//! value is read back from the file by its revision when asked for.
//!
//! Compact, because a million keys are common: every key's bytes sit once in
//! one buffer (no allocation per key), every revision in one array grouped by
//! key, the latest metadata in another, and key order is a sorted array of key
//! ids searched by halving. A map of keys to owned histories cost about 270
//! bytes a key on wasm32 (the key's allocation, a B-tree slot, a `Vec` of
//! revisions that reserves four); this layout costs the key's bytes, 28 bytes
//! per revision (its revision key and value size) and about 48 bytes a key.
//! The value sizes let the space counts come from the index, without reading
//! the values again ([`crate::k8s::stats::of_index`]).

use std::cmp::Ordering;
use std::ops::Bound;

use foldhash::fast::RandomState;
use hashbrown::HashTable;
use serde::Serialize;

use super::proto::KeyValue;
use super::revision::{Revision, RevisionKey};

mod wire;
pub use wire::IndexBytesError;

/// The live version of a key, without its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LiveKey {
    pub create_revision: i64,
    pub mod_revision: i64,
    pub version: i64,
    pub lease: i64,
    pub value_size: u64,
    /// Where the value is: the `key`-bucket entry of this revision.
    pub rev: Revision,
}

/// Every retained revision of one key, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct KeyHistory<'a> {
    pub revisions: &'a [RevisionKey],
    /// The value bytes of each of `revisions` (a deletion's are usually none).
    pub value_sizes: &'a [u32],
    /// `None` when the latest revision is a tombstone.
    pub live: Option<LiveKey>,
}

/// What a snapshot holds of one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "presence", rename_all = "snake_case")]
pub enum Presence {
    /// Live, last written at `mod_revision`.
    Live { mod_revision: i64 },
    /// Its latest retained revision is a tombstone (deleted at `deleted_at`);
    /// `before` is the last live revision still retained, if any.
    Deleted {
        deleted_at: i64,
        before: Option<i64>,
    },
    /// No retained revision at all.
    Absent,
}

/// The metadata of a key's latest revision (its live version's, unless that
/// revision is a tombstone).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Latest {
    create_revision: i64,
    mod_revision: i64,
    version: i64,
    lease: i64,
}

/// All keys of the `key` bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyIndex {
    /// Every key's bytes, one after another, in the order first met (key id order).
    arena: Vec<u8>,
    /// Where key `id` ends in `arena`; it starts where key `id - 1` ends.
    ends: Vec<usize>,
    /// Key ids in key order.
    order: Vec<u32>,
    /// Where key `id`'s revisions start in `revisions`; one more for the end.
    starts: Vec<usize>,
    /// Every revision, grouped by key id, each key's oldest first.
    revisions: Vec<RevisionKey>,
    /// The value bytes of each of `revisions`.
    value_sizes: Vec<u32>,
    /// Key `id`'s latest revision's metadata.
    latest: Vec<Latest>,
    live: u64,
    /// The last revision key of the bucket (etcd's current revision; may be a tombstone).
    pub last: Option<RevisionKey>,
    /// Entries scanned.
    pub entries: u64,
}

/// Builds a [`KeyIndex`] from `key`-bucket entries in bucket order.
#[derive(Debug, Default)]
pub struct IndexBuilder {
    arena: Vec<u8>,
    ends: Vec<usize>,
    /// Key ids by their key's hash (the key itself is in `arena`).
    ids: HashTable<u32>,
    hasher: RandomState,
    latest: Vec<Latest>,
    /// Each entry's key id and revision key, in bucket order.
    entry_ids: Vec<u32>,
    entry_revs: Vec<RevisionKey>,
    entry_sizes: Vec<u32>,
    last: Option<RevisionKey>,
}

fn key_of<'a>(arena: &'a [u8], ends: &[usize], id: u32) -> &'a [u8] {
    let id = id as usize;
    let start = if id == 0 { 0 } else { ends[id - 1] };
    &arena[start..ends[id]]
}

impl IndexBuilder {
    /// Add the next `key`-bucket entry (in bucket order).
    pub fn add(&mut self, rk: RevisionKey, kv: &KeyValue) {
        let id = self.id_of(&kv.key);
        self.latest[id as usize] = Latest {
            create_revision: kv.create_revision,
            mod_revision: kv.mod_revision,
            version: kv.version,
            lease: kv.lease,
        };
        // A value is at most a bbolt value: far below 4 GiB.
        self.push(id, rk, u32::try_from(kv.value.len()).unwrap_or(u32::MAX));
    }

    /// Entries added so far.
    pub fn entries(&self) -> usize {
        self.entry_ids.len()
    }

    /// Keys whose latest entry so far is not a deletion: the finished index's
    /// [`KeyIndex::live_count`], and etcdutl 3.6's `totalKey` (the live keys
    /// after replaying every entry in bucket order).
    pub fn live_count(&self) -> u64 {
        let mut deleted = vec![false; self.ends.len()];
        for (&id, rk) in self.entry_ids.iter().zip(&self.entry_revs) {
            deleted[id as usize] = rk.tombstone;
        }
        deleted.iter().filter(|&&d| !d).count() as u64
    }

    fn push(&mut self, id: u32, rk: RevisionKey, value_size: u32) {
        self.entry_ids.push(id);
        self.entry_revs.push(rk);
        self.entry_sizes.push(value_size);
        self.last = Some(rk);
    }

    /// The id of `key`, given it if new.
    fn id_of(&mut self, key: &[u8]) -> u32 {
        use std::hash::BuildHasher;
        let hash = self.hasher.hash_one(key);
        let (arena, ends) = (&self.arena, &self.ends);
        if let Some(&id) = self.ids.find(hash, |&id| key_of(arena, ends, id) == key) {
            return id;
        }
        // More than 4 G keys would need a file of over 100 GiB.
        let id = u32::try_from(self.ends.len()).unwrap_or(u32::MAX);
        self.arena.extend_from_slice(key);
        self.ends.push(self.arena.len());
        self.latest.push(Latest::default());
        let (arena, ends, hasher) = (&self.arena, &self.ends, &self.hasher);
        self.ids
            .insert_unique(hash, id, |&id| hasher.hash_one(key_of(arena, ends, id)));
        id
    }

    /// The index: revisions grouped by key (each key's in bucket order), keys sorted.
    pub fn finish(self) -> KeyIndex {
        let Self {
            arena,
            ends,
            ids,
            latest,
            entry_ids,
            entry_revs,
            entry_sizes,
            last,
            ..
        } = self;
        drop(ids);
        let keys = ends.len();
        let mut starts = vec![0usize; keys + 1];
        for &id in &entry_ids {
            starts[id as usize + 1] += 1;
        }
        for i in 0..keys {
            starts[i + 1] += starts[i];
        }
        let mut next = starts[..keys].to_vec();
        let mut revisions = vec![
            RevisionKey {
                rev: Revision::default(),
                tombstone: false,
            };
            entry_revs.len()
        ];
        let mut value_sizes = vec![0u32; entry_sizes.len()];
        for ((&id, &rk), &size) in entry_ids.iter().zip(&entry_revs).zip(&entry_sizes) {
            let at = &mut next[id as usize];
            revisions[*at] = rk;
            value_sizes[*at] = size;
            *at += 1;
        }
        drop((next, entry_ids, entry_revs, entry_sizes));
        // Ids are u32 (see `id_of`).
        let mut order: Vec<u32> = (0..u32::try_from(keys).unwrap_or(u32::MAX)).collect();
        order.sort_unstable_by(|&a, &b| key_of(&arena, &ends, a).cmp(key_of(&arena, &ends, b)));
        let live = (0..keys)
            .filter(|&id| !revisions[starts[id + 1] - 1].tombstone)
            .count() as u64;
        KeyIndex {
            arena,
            ends,
            order,
            starts,
            entries: revisions.len() as u64,
            revisions,
            value_sizes,
            latest,
            live,
            last,
        }
    }
}

impl KeyIndex {
    /// An index of these entries, given in bucket order.
    pub fn of<'k>(entries: impl IntoIterator<Item = (RevisionKey, &'k KeyValue)>) -> Self {
        let mut b = IndexBuilder::default();
        for (rk, kv) in entries {
            b.add(rk, kv);
        }
        b.finish()
    }

    fn key(&self, id: u32) -> &[u8] {
        key_of(&self.arena, &self.ends, id)
    }

    fn entry(&self, id: u32) -> (&[u8], KeyHistory<'_>) {
        let i = id as usize;
        let at = self.starts[i]..self.starts[i + 1];
        let revisions = &self.revisions[at.clone()];
        let value_sizes = &self.value_sizes[at];
        let live = match (revisions.last(), value_sizes.last()) {
            (Some(last), Some(&size)) if !last.tombstone => {
                let l = self.latest[i];
                Some(LiveKey {
                    create_revision: l.create_revision,
                    mod_revision: l.mod_revision,
                    version: l.version,
                    lease: l.lease,
                    value_size: u64::from(size),
                    rev: last.rev,
                })
            }
            _ => None,
        };
        (
            self.key(id),
            KeyHistory {
                revisions,
                value_sizes,
                live,
            },
        )
    }

    /// The place in key order of the first key at or after `bound`.
    fn place(&self, bound: Bound<&[u8]>) -> usize {
        match bound {
            Bound::Unbounded => 0,
            Bound::Included(k) => self.order.partition_point(|&id| self.key(id) < k),
            Bound::Excluded(k) => self.order.partition_point(|&id| self.key(id) <= k),
        }
    }

    /// The place in key order just past the keys before `bound` (as an end).
    fn place_end(&self, bound: Bound<&[u8]>) -> usize {
        match bound {
            Bound::Unbounded => self.order.len(),
            Bound::Included(k) => self.place(Bound::Excluded(k)),
            Bound::Excluded(k) => self.place(Bound::Included(k)),
        }
    }

    /// Every key from place `from` on, in key order.
    fn keys_from(&self, from: usize) -> impl Iterator<Item = (&[u8], KeyHistory<'_>)> {
        self.order[from.min(self.order.len())..]
            .iter()
            .map(|&id| self.entry(id))
    }

    /// Live keys in key order.
    pub fn live(&self) -> impl Iterator<Item = (&[u8], LiveKey)> {
        self.keys_from(0)
            .filter_map(|(k, h)| h.live.map(|l| (k, l)))
    }

    /// Live keys starting with `prefix`, in key order.
    pub fn live_with_prefix<'s>(
        &'s self,
        prefix: &'s [u8],
    ) -> impl Iterator<Item = (&'s [u8], LiveKey)> + 's {
        self.live_from(prefix, prefix)
    }

    /// Live keys starting with `prefix`, from `start` (inclusive) on, in key order:
    /// resumes a listing without walking the keys before `start`.
    pub fn live_from<'s>(
        &'s self,
        start: &'s [u8],
        prefix: &'s [u8],
    ) -> impl Iterator<Item = (&'s [u8], LiveKey)> + 's {
        let start = start.max(prefix);
        self.keys_from(self.place(Bound::Included(start)))
            .take_while(move |(k, _)| k.starts_with(prefix))
            .filter_map(|(k, h)| h.live.map(|l| (k, l)))
    }

    /// Every key with any retained revision (live or deleted), in key order.
    pub fn histories(&self) -> impl Iterator<Item = (&[u8], KeyHistory<'_>)> {
        self.keys_from(0)
    }

    /// Every key with any retained revision between `from` and `to`, in key
    /// order: a slice of [`Self::histories`], for work done a slice at a time.
    pub fn histories_in<'s>(
        &'s self,
        from: Bound<&'s [u8]>,
        to: Bound<&'s [u8]>,
    ) -> impl Iterator<Item = (&'s [u8], KeyHistory<'s>)> + 's {
        let (a, b) = (self.place(from), self.place_end(to));
        self.order[a.min(b)..b].iter().map(|&id| self.entry(id))
    }

    /// The key `n` keys after `from` (counting every key with a retained
    /// revision), or `None` when fewer follow: where a slice of `n` keys ends.
    pub fn key_after(&self, from: Bound<&[u8]>, n: usize) -> Option<&[u8]> {
        let at = self.place(from).checked_add(n)?;
        self.order.get(at).map(|&id| self.key(id))
    }

    /// Every retained revision of `key`.
    pub fn history(&self, key: &[u8]) -> Option<KeyHistory<'_>> {
        let at = self.place(Bound::Included(key));
        let &id = self.order.get(at)?;
        (self.key(id).cmp(key) == Ordering::Equal).then(|| self.entry(id).1)
    }

    /// Whether `key` is live, deleted (with a retained version before), or absent.
    pub fn presence(&self, key: &[u8]) -> Presence {
        let Some(h) = self.history(key) else {
            return Presence::Absent;
        };
        if let Some(l) = h.live {
            return Presence::Live {
                mod_revision: l.mod_revision,
            };
        }
        match h.revisions.last() {
            Some(t) => Presence::Deleted {
                deleted_at: t.rev.main,
                before: h
                    .revisions
                    .iter()
                    .rev()
                    .find(|r| !r.tombstone)
                    .map(|r| r.rev.main),
            },
            None => Presence::Absent,
        }
    }

    /// Keys with a live version.
    pub fn live_count(&self) -> u64 {
        self.live
    }

    /// Every key's place in key order ([`Self::at_place`]), ordered by the
    /// key's newest retained revision: the order in which the keys' newest
    /// entries sit in the `key` bucket, whose leaves bbolt mostly writes one
    /// after another in the file. Work that reads the newest value of many
    /// keys reads the file from start to end in this order, where key order
    /// jumps across it (the page reads its file in blocks, a few kept).
    pub fn places_by_newest_revision(&self) -> Vec<u32> {
        let newest = |place: u32| {
            let id = self.order[place as usize] as usize;
            // Every key has a revision: it is in the index because one was added.
            self.revisions[self.starts[id + 1] - 1].rev
        };
        // Places are u32 as the ids they map to (see `id_of`).
        let mut places: Vec<u32> =
            (0..u32::try_from(self.order.len()).unwrap_or(u32::MAX)).collect();
        places.sort_unstable_by_key(|&p| (newest(p), p));
        places
    }

    /// The key at `place` in key order (`0..`[`Self::key_count`]), with its history.
    pub fn at_place(&self, place: u32) -> Option<(&[u8], KeyHistory<'_>)> {
        let &id = self.order.get(place as usize)?;
        Some(self.entry(id))
    }

    /// Keys with any retained revision (live or deleted).
    pub fn key_count(&self) -> usize {
        self.order.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(key: &str, c: i64, m: i64, v: i64, val: &str) -> KeyValue {
        KeyValue {
            key: key.into(),
            create_revision: c,
            mod_revision: m,
            version: v,
            value: val.into(),
            lease: 0,
        }
    }

    fn rk(main: i64, t: bool) -> RevisionKey {
        RevisionKey {
            rev: Revision { main, sub: 0 },
            tombstone: t,
        }
    }

    #[test]
    fn latest_wins_and_tombstones_hide() {
        let mut b = IndexBuilder::default();
        b.add(rk(2, false), &kv("a", 2, 2, 1, "x"));
        b.add(rk(3, false), &kv("b", 3, 3, 1, "y"));
        b.add(rk(4, false), &kv("a", 2, 4, 2, "xx"));
        b.add(rk(5, true), &kv("b", 0, 0, 0, ""));
        let ix = b.finish();
        let live: Vec<_> = ix
            .live()
            .map(|(k, l)| (k.to_vec(), l.version, l.value_size))
            .collect();
        assert_eq!(live, vec![(b"a".to_vec(), 2, 2)]);
        assert_eq!(ix.live_count(), 1);
        assert_eq!(ix.history(b"b").unwrap().revisions.len(), 2);
        assert_eq!(ix.last, Some(rk(5, true)));
        assert_eq!(ix.live_with_prefix(b"a").count(), 1);
        assert_eq!(ix.live_with_prefix(b"b").count(), 0);
    }

    #[test]
    fn presence_says_live_deleted_or_absent() {
        let mut b = IndexBuilder::default();
        b.add(rk(2, false), &kv("a", 2, 2, 1, "x"));
        b.add(rk(3, false), &kv("b", 3, 3, 1, "y"));
        b.add(rk(5, true), &kv("b", 0, 0, 0, ""));
        b.add(rk(6, true), &kv("c", 0, 0, 0, ""));
        let ix = b.finish();
        assert_eq!(ix.presence(b"a"), Presence::Live { mod_revision: 2 });
        assert_eq!(
            ix.presence(b"b"),
            Presence::Deleted {
                deleted_at: 5,
                before: Some(3)
            }
        );
        assert_eq!(
            ix.presence(b"c"),
            Presence::Deleted {
                deleted_at: 6,
                before: None
            }
        );
        assert_eq!(ix.presence(b"z"), Presence::Absent);
    }

    #[test]
    fn live_from_resumes_inside_the_prefix() {
        let mut b = IndexBuilder::default();
        for (i, k) in ["/a/1", "/a/2", "/a/3", "/b/1"].into_iter().enumerate() {
            b.add(rk(i as i64 + 2, false), &kv(k, 2, 2, 1, "v"));
        }
        let ix = b.finish();
        let from = |start: &str, prefix: &str| -> Vec<String> {
            ix.live_from(start.as_bytes(), prefix.as_bytes())
                .map(|(k, _)| String::from_utf8_lossy(k).into_owned())
                .collect()
        };
        assert_eq!(from("/a/2", "/a/"), ["/a/2", "/a/3"]);
        assert_eq!(from("", "/a/"), ["/a/1", "/a/2", "/a/3"]);
        assert_eq!(from("/a/3\0", "/a/"), Vec::<String>::new());
        assert_eq!(from("/a/3", ""), ["/a/3", "/b/1"]);
    }

    /// The index against a plain map of owned histories (what it replaced),
    /// over entries in revision order on few keys with shared prefixes:
    /// every question asked of both.
    #[test]
    fn answers_as_a_map_of_histories_does() {
        use std::collections::BTreeMap;
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut rand = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for round in 0..40 {
            let keys = 1 + rand(60);
            let mut b = IndexBuilder::default();
            type Model = BTreeMap<Vec<u8>, (Vec<RevisionKey>, Vec<u32>, Option<LiveKey>)>;
            let mut model = Model::new();
            for main in 2..2 + rand(300) as i64 {
                let k = format!("/r/{}/{}", rand(3), rand(keys));
                let t = rand(5) == 0;
                let r = RevisionKey {
                    rev: Revision {
                        main,
                        sub: rand(2) as i64,
                    },
                    tombstone: t,
                };
                let v = kv(
                    &k,
                    main - 1,
                    main,
                    rand(9) as i64,
                    &"v".repeat(usize::from(rand(4) == 1) * 3),
                );
                b.add(r, &v);
                let e = model.entry(k.into_bytes()).or_default();
                e.0.push(r);
                e.1.push(u32::try_from(v.value.len()).unwrap());
                e.2 = (!t).then_some(LiveKey {
                    create_revision: v.create_revision,
                    mod_revision: v.mod_revision,
                    version: v.version,
                    lease: v.lease,
                    value_size: v.value.len() as u64,
                    rev: r.rev,
                });
            }
            let counted = b.live_count();
            let ix = b.finish();
            assert_eq!(counted, ix.live_count(), "round {round}");
            let hist: Vec<_> = ix
                .histories()
                .map(|(k, h)| {
                    (
                        k.to_vec(),
                        (h.revisions.to_vec(), h.value_sizes.to_vec(), h.live),
                    )
                })
                .collect();
            let want: Vec<_> = model.clone().into_iter().collect();
            assert_eq!(hist, want, "round {round}");
            assert_eq!(ix.key_count(), model.len());
            // Every key once, by its newest revision (then key order), each
            // place naming the key at that place.
            let by_newest: Vec<_> = ix
                .places_by_newest_revision()
                .into_iter()
                .map(|p| ix.at_place(p).map(|(k, _)| k.to_vec()))
                .collect();
            let mut want_newest: Vec<_> = want
                .iter()
                .map(|(k, (revs, _, _))| (revs.last().map(|r| r.rev), k.clone()))
                .collect();
            want_newest.sort();
            let want_newest: Vec<_> = want_newest.into_iter().map(|(_, k)| Some(k)).collect();
            assert_eq!(by_newest, want_newest, "round {round}");
            assert!(ix.at_place(u32::try_from(model.len()).unwrap()).is_none());
            assert_eq!(
                ix.live_count(),
                model.values().filter(|v| v.2.is_some()).count() as u64
            );
            let probes = [
                "", "/r/", "/r/1", "/r/1/", "/r/1/5", "/r/2/10", "/s", "/r/0/3\0",
            ];
            for p in probes {
                let p = p.as_bytes();
                let got: Vec<_> = ix
                    .live_with_prefix(p)
                    .map(|(k, l)| (k.to_vec(), l))
                    .collect();
                let want: Vec<_> = model
                    .iter()
                    .filter(|(k, _)| k.starts_with(p))
                    .filter_map(|(k, v)| v.2.map(|l| (k.clone(), l)))
                    .collect();
                assert_eq!(got, want, "prefix {p:?}");
                let got = ix
                    .history(p)
                    .map(|h| (h.revisions.to_vec(), h.value_sizes.to_vec(), h.live));
                assert_eq!(got, model.get(p).cloned(), "history {p:?}");
                for from in [Bound::Included(p), Bound::Excluded(p), Bound::Unbounded] {
                    for n in [0, 1, 7] {
                        let got = ix.key_after(from, n).map(<[u8]>::to_vec);
                        let want = model.range::<[u8], _>((from, Bound::Unbounded)).nth(n);
                        assert_eq!(got, want.map(|(k, _)| k.clone()), "{from:?} {n}");
                    }
                    for q in probes {
                        let q = q.as_bytes();
                        for to in [Bound::Included(q), Bound::Excluded(q), Bound::Unbounded] {
                            if matches!((from, to), (Bound::Included(a) | Bound::Excluded(a), Bound::Included(z) | Bound::Excluded(z)) if a > z)
                                || matches!((from, to), (Bound::Excluded(a), Bound::Excluded(z)) if a == z)
                            {
                                continue; // BTreeMap::range panics on these
                            }
                            let got: Vec<_> =
                                ix.histories_in(from, to).map(|(k, _)| k.to_vec()).collect();
                            let want: Vec<_> = model
                                .range::<[u8], _>((from, to))
                                .map(|(k, _)| k.clone())
                                .collect();
                            assert_eq!(got, want, "{from:?}..{to:?}");
                        }
                    }
                }
            }
        }
    }
}
