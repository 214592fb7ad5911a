//! The key index: for each user key, every retained revision (like etcd's
//! in-memory `treeIndex`), and the metadata of the live version.
//!
//! Built by one scan of the `key` bucket, which bbolt orders by revision, so
//! the last entry seen for a key is its latest. Memory grows with the number
//! of keys and revisions, never with the values: a value is read back from the
//! file by its revision when asked for.

use std::collections::BTreeMap;
use std::ops::Bound;

use serde::Serialize;

use super::proto::KeyValue;
use super::revision::{Revision, RevisionKey};

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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct KeyHistory {
    pub revisions: Vec<RevisionKey>,
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

/// All keys of the `key` bucket.
#[derive(Debug, Clone, Default)]
pub struct KeyIndex {
    keys: BTreeMap<Vec<u8>, KeyHistory>,
    live: u64,
    /// The last revision key of the bucket (etcd's current revision; may be a tombstone).
    pub last: Option<RevisionKey>,
    /// Entries scanned.
    pub entries: u64,
}

impl KeyIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add the next `key`-bucket entry (in bucket order).
    pub fn add(&mut self, rk: RevisionKey, kv: &KeyValue) {
        self.entries += 1;
        self.last = Some(rk);
        let h = self.keys.entry(kv.key.clone()).or_default();
        let was_live = h.live.is_some();
        h.revisions.push(rk);
        h.live = (!rk.tombstone).then_some(LiveKey {
            create_revision: kv.create_revision,
            mod_revision: kv.mod_revision,
            version: kv.version,
            lease: kv.lease,
            value_size: kv.value.len() as u64,
            rev: rk.rev,
        });
        match (was_live, h.live.is_some()) {
            (false, true) => self.live += 1,
            (true, false) => self.live -= 1,
            _ => {}
        }
    }

    /// Live keys in key order.
    pub fn live(&self) -> impl Iterator<Item = (&[u8], &LiveKey)> {
        self.keys
            .iter()
            .filter_map(|(k, h)| h.live.as_ref().map(|l| (k.as_slice(), l)))
    }

    /// Live keys starting with `prefix`, in key order.
    pub fn live_with_prefix<'s>(
        &'s self,
        prefix: &'s [u8],
    ) -> impl Iterator<Item = (&'s [u8], &'s LiveKey)> + 's {
        self.keys
            .range::<[u8], _>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(move |(k, _)| k.starts_with(prefix))
            .filter_map(|(k, h)| h.live.as_ref().map(|l| (k.as_slice(), l)))
    }

    /// Live keys starting with `prefix`, from `start` (inclusive) on, in key order:
    /// resumes a listing without walking the keys before `start`.
    pub fn live_from<'s>(
        &'s self,
        start: &'s [u8],
        prefix: &'s [u8],
    ) -> impl Iterator<Item = (&'s [u8], &'s LiveKey)> + 's {
        let start = start.max(prefix);
        self.keys
            .range::<[u8], _>((Bound::Included(start), Bound::Unbounded))
            .take_while(move |(k, _)| k.starts_with(prefix))
            .filter_map(|(k, h)| h.live.as_ref().map(|l| (k.as_slice(), l)))
    }

    /// Every key with any retained revision (live or deleted), in key order.
    pub fn histories(&self) -> impl Iterator<Item = (&[u8], &KeyHistory)> {
        self.keys.iter().map(|(k, h)| (k.as_slice(), h))
    }

    /// Every key with any retained revision between `from` and `to`, in key
    /// order: a slice of [`Self::histories`], for work done a slice at a time.
    pub fn histories_in<'s>(
        &'s self,
        from: Bound<&'s [u8]>,
        to: Bound<&'s [u8]>,
    ) -> impl Iterator<Item = (&'s [u8], &'s KeyHistory)> + 's {
        self.keys
            .range::<[u8], _>((from, to))
            .map(|(k, h)| (k.as_slice(), h))
    }

    /// The key `n` keys after `from` (counting every key with a retained
    /// revision), or `None` when fewer follow: where a slice of `n` keys ends.
    pub fn key_after(&self, from: Bound<&[u8]>, n: usize) -> Option<&[u8]> {
        self.keys
            .range::<[u8], _>((from, Bound::Unbounded))
            .nth(n)
            .map(|(k, _)| k.as_slice())
    }

    /// Every retained revision of `key`.
    pub fn history(&self, key: &[u8]) -> Option<&KeyHistory> {
        self.keys.get(key)
    }

    /// Whether `key` is live, deleted (with a retained version before), or absent.
    pub fn presence(&self, key: &[u8]) -> Presence {
        let Some(h) = self.keys.get(key) else {
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

    /// Keys with any retained revision (live or deleted).
    pub fn key_count(&self) -> usize {
        self.keys.len()
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
        let mut ix = KeyIndex::new();
        ix.add(rk(2, false), &kv("a", 2, 2, 1, "x"));
        ix.add(rk(3, false), &kv("b", 3, 3, 1, "y"));
        ix.add(rk(4, false), &kv("a", 2, 4, 2, "xx"));
        ix.add(rk(5, true), &kv("b", 0, 0, 0, ""));
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
        let mut ix = KeyIndex::new();
        ix.add(rk(2, false), &kv("a", 2, 2, 1, "x"));
        ix.add(rk(3, false), &kv("b", 3, 3, 1, "y"));
        ix.add(rk(5, true), &kv("b", 0, 0, 0, ""));
        ix.add(rk(6, true), &kv("c", 0, 0, 0, ""));
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
        let mut ix = KeyIndex::new();
        for (i, k) in ["/a/1", "/a/2", "/a/3", "/b/1"].into_iter().enumerate() {
            ix.add(rk(i as i64 + 2, false), &kv(k, 2, 2, 1, "v"));
        }
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
}
