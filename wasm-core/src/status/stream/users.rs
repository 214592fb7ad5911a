//! etcd 3.6's `totalKey` from a stream: the user keys of revision-key
//! elements, each interned once as a small id, so a leaf keeps one `u32` per
//! element (the id and whether it is a tombstone) and the walk at `finish`
//! can replay `status.rs`'s set of live keys in key order.
//!
//! Exact, not a hash: every distinct user key is kept once, as bytes. That is
//! bounded by the input (each came out of a page), and far smaller than the
//! data: values, not keys, fill a snapshot.

use std::collections::HashMap;

/// The bit of an element's entry that marks a tombstone; the rest is the id.
pub(super) const TOMBSTONE: u32 = 1 << 31;

/// The user keys seen so far, each with its id (`0..len`, in first-seen order).
#[derive(Debug, Default)]
pub(super) struct Users {
    ids: HashMap<Box<[u8]>, u32>,
}

impl Users {
    /// The id of `key`, interned if new; `None` once [`TOMBSTONE`] ids are taken.
    pub(super) fn id(&mut self, key: &[u8]) -> Option<u32> {
        if let Some(&id) = self.ids.get(key) {
            return Some(id);
        }
        let id = u32::try_from(self.ids.len())
            .ok()
            .filter(|&id| id < TOMBSTONE)?;
        self.ids.insert(key.into(), id);
        Some(id)
    }

    /// How many distinct user keys: one past the largest id.
    pub(super) fn len(&self) -> usize {
        self.ids.len()
    }
}

/// An element's entry: its user key's id, and whether it is a tombstone.
pub(super) fn entry(id: u32, tombstone: bool) -> u32 {
    if tombstone { id | TOMBSTONE } else { id }
}

/// The replay of [`entry`]s in key order, as `status.rs`'s set: a put
/// inserts its key, a tombstone removes it.
#[derive(Debug)]
pub(super) struct Live {
    present: Vec<bool>,
}

impl Live {
    pub(super) fn new(users: &Users) -> Self {
        Self {
            present: vec![false; users.len()],
        }
    }

    pub(super) fn apply(&mut self, entries: &[u32]) {
        for &e in entries {
            let id = usize::try_from(e & !TOMBSTONE).unwrap_or(usize::MAX);
            if let Some(p) = self.present.get_mut(id) {
                *p = e & TOMBSTONE == 0;
            }
        }
    }

    /// Keys whose last element was a put.
    pub(super) fn count(&self) -> u64 {
        self.present.iter().filter(|&&p| p).count() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_dense_and_the_replay_follows_the_last_element() {
        let mut u = Users::default();
        let (a, b, c) = (
            u.id(b"a").unwrap(),
            u.id(b"b").unwrap(),
            u.id(b"c").unwrap(),
        );
        assert_eq!((a, b, c, u.id(b"a").unwrap(), u.len()), (0, 1, 2, 0, 3));
        let mut live = Live::new(&u);
        // put a, put b, del a, put c, put a again, del c, del c (twice, as a stale copy may)
        live.apply(&[entry(a, false), entry(b, false), entry(a, true)]);
        live.apply(&[entry(c, false), entry(a, false)]);
        live.apply(&[entry(c, true), entry(c, true)]);
        assert_eq!(live.count(), 2);
    }
}
