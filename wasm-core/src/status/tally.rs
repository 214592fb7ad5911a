//! What `snapshot status` counts per entry, shared by the one walk of
//! [`super::status`] and the parts of [`super::parallel`].

use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;

use foldhash::fast::RandomState;

use prost::Message;

use super::StatusError;
use crate::bolt::Entry;
use crate::mvcc::KeyValue;
use crate::mvcc::revision::{Revision, RevisionKey};

/// A set of user keys. foldhash, not SipHash: a walk inserts one key per
/// revision (a million and more), and the hasher was most of its time in
/// the browser's worker.
pub(super) type KeySet = HashSet<Vec<u8>, RandomState>;
/// Each user key's last state (live or deleted).
pub(super) type KeyStates = HashMap<Vec<u8>, bool, RandomState>;

/// The user keys etcdutl 3.6 counts: replayed in revision order.
pub(super) enum Live {
    /// Not asked for (3.4/3.5 numbers only).
    Off,
    /// The live keys of a walk from the first revision.
    Set(KeySet),
    /// Each user key's last state in one part of the key bucket, to replay
    /// over the parts before it.
    Last(KeyStates),
    /// Every entry decoded and checked as for the count, the states kept
    /// elsewhere: a key index built in the same walk, whose live keys are
    /// the count ([`crate::mvcc::IndexBuilder::live_count`]).
    Checked,
}

impl Live {
    fn put(&mut self, key: &[u8], live: bool) {
        match self {
            Live::Off | Live::Checked => {}
            Live::Set(s) => {
                if !live {
                    s.remove(key);
                } else if !s.contains(key) {
                    s.insert(key.to_vec());
                }
            }
            Live::Last(m) => match m.get_mut(key) {
                Some(l) => *l = live,
                None => {
                    m.insert(key.to_vec(), live);
                }
            },
        }
    }

    fn on(&self) -> bool {
        !matches!(self, Live::Off)
    }
}

/// The running numbers of one walk (or one part of it).
pub(super) struct Tally {
    /// CRC32-Castagnoli of the bytes hashed so far, and how many.
    pub hash: u32,
    pub hashed: u64,
    /// Every entry of every top-level bucket (3.5).
    pub total_key: u64,
    /// The main revision of the last key-bucket entry.
    pub revision: i64,
    pub live: Live,
    /// A key no tool reads: the walk stops.
    pub failure: Option<StatusError>,
    /// A key etcd 3.6+ rejects but 3.4/3.5 accept: fails the 3.6 status only.
    pub v36_failure: Option<StatusError>,
    /// The last value decoded, reused: decoding into it keeps its buffers
    /// instead of allocating a key and a value per entry.
    kv: KeyValue,
    /// `kv` is the last entry's.
    decoded: bool,
}

impl Tally {
    pub fn new(live: Live) -> Self {
        Tally {
            hash: 0,
            hashed: 0,
            total_key: 0,
            revision: 0,
            live,
            failure: None,
            v36_failure: None,
            kv: KeyValue::default(),
            decoded: false,
        }
    }

    fn hash(&mut self, bytes: &[u8]) {
        self.hash = crc32c::crc32c_append(self.hash, bytes);
        self.hashed += bytes.len() as u64;
    }

    /// A top-level bucket's name.
    pub fn bucket(&mut self, name: &[u8]) {
        self.hash(name);
    }

    /// An entry of a top-level bucket (`in_key`: of the `key` bucket).
    pub fn entry(&mut self, e: &Entry<'_>, in_key: bool) -> ControlFlow<()> {
        self.decoded = false;
        self.hash(e.key);
        if let Some(v) = e.value {
            self.hash(v);
        }
        self.total_key += 1;
        if !in_key {
            return ControlFlow::Continue(());
        }
        let rev = match Revision::parse(e.key) {
            Ok(r) => r,
            Err(error) => {
                self.failure = Some(StatusError::RevisionKey {
                    at: e.loc,
                    key_hex: hex::encode(e.key),
                    error,
                });
                return ControlFlow::Break(());
            }
        };
        self.revision = rev.main;
        if !self.live.on() {
            return ControlFlow::Continue(());
        }
        if self.v36_failure.is_none() {
            // etcdutl 3.6 stops at the first such key; the walk goes on for
            // the 3.5 numbers and the check.
            if let Err(error) = Revision::parse_v36(e.key) {
                self.v36_failure = Some(StatusError::RevisionKey {
                    at: e.loc,
                    key_hex: hex::encode(e.key),
                    error,
                });
            }
        }
        // `clear` then `merge` is `decode` into buffers kept from the last entry.
        self.kv.clear();
        match self.kv.merge(e.value.unwrap_or_default()) {
            Ok(()) => self.decoded = true,
            Err(err) => {
                self.failure = Some(StatusError::KeyValue {
                    at: e.loc,
                    key_hex: hex::encode(e.key),
                    reason: err.to_string(),
                });
                return ControlFlow::Break(());
            }
        };
        // etcd's IsTombstone: an 18-byte key ending in 't'.
        let tombstone = RevisionKey::parse(e.key).is_ok_and(|k| k.tombstone);
        self.live.put(&self.kv.key, !tombstone);
        ControlFlow::Continue(())
    }

    /// The `key`-bucket entry just passed to [`Self::entry`], decoded, when
    /// the user keys are kept (otherwise nothing is decoded).
    pub fn decoded(&self) -> Option<&KeyValue> {
        self.decoded.then_some(&self.kv)
    }

    /// The live keys counted, when asked for.
    pub fn live_count(&self) -> Option<u64> {
        match &self.live {
            Live::Off | Live::Checked => None,
            Live::Set(s) => Some(s.len() as u64),
            Live::Last(m) => Some(m.values().filter(|l| **l).count() as u64),
        }
    }
}
