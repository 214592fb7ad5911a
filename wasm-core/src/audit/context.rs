//! What every rule family reads: the snapshot, its key index and the
//! [`AuditOptions`], and the one walk over live keys that the families share
//! ([`Context::live`]), so that each live value is read once per audit.

use std::ops::Bound;

use crate::ReadAt;
use crate::k8s::{KeyInfo, parse_key};
use crate::mvcc::{KeyIndex, RevisionKey};
use crate::snapshot::{Snapshot, SnapshotError};

use super::encryption::EncryptionConfig;

/// The qualified resource of core Secrets, as [`KeyInfo::qualified_resource`] spells it.
pub(super) const SECRETS: &str = "secrets";

/// The audit's inputs besides the snapshot.
#[derive(Debug, Clone)]
pub struct AuditOptions {
    /// The API server's `--etcd-prefix` (default `/registry/`).
    pub prefix: String,
    pub encryption: Option<EncryptionConfig>,
    /// The snapshot file was age-encrypted (so `snapshot-not-encrypted` does not apply).
    pub opened_with_age: bool,
    /// Search free and unreachable pages (reads every such page once).
    pub scan_free_pages: bool,
}

impl Default for AuditOptions {
    fn default() -> Self {
        Self {
            prefix: crate::k8s::DEFAULT_PREFIX.to_string(),
            encryption: None,
            opened_with_age: false,
            scan_free_pages: true,
        }
    }
}

/// The audit's inputs, as the rule families see them.
pub(super) struct Context<'a, S> {
    pub snap: &'a Snapshot<S>,
    pub ix: &'a KeyIndex,
    pub opts: &'a AuditOptions,
    /// The keys this pass covers (every key, or one slice of a run done a
    /// slice at a time): the families read only these.
    pub keys: Keys<'a>,
}

/// Which keys a pass covers.
#[derive(Clone, Copy)]
pub(super) enum Keys<'a> {
    /// Every key in this range, in key order.
    Range(Bound<&'a [u8]>, Bound<&'a [u8]>),
    /// These keys, by their place in key order ([`KeyIndex::at_place`]), in
    /// the order given.
    Places(&'a [u32]),
}

/// One live key under the prefix, with its latest value.
pub(super) struct Live<'a> {
    pub key: &'a [u8],
    pub info: KeyInfo,
    /// `info.qualified_resource()`, as the EncryptionConfiguration matches it.
    pub resource: String,
    /// The value's mod revision.
    pub revision: i64,
    pub value: Vec<u8>,
}

impl<'a, S: ReadAt> Context<'a, S> {
    /// The EncryptionConfiguration, when the caller gave one.
    pub fn config(&self) -> Option<&'a EncryptionConfig> {
        self.opts.encryption.as_ref()
    }

    /// Every key of this pass with a retained revision, in the pass's order.
    pub fn histories(
        &self,
    ) -> Box<dyn Iterator<Item = (&'a [u8], crate::mvcc::KeyHistory<'a>)> + 'a> {
        let ix = self.ix;
        match self.keys {
            Keys::Range(from, to) => Box::new(ix.histories_in(from, to)),
            Keys::Places(places) => Box::new(places.iter().filter_map(move |&p| ix.at_place(p))),
        }
    }

    /// Every live key of this pass under the prefix whose resource `want`
    /// accepts, in the pass's order, with its value. Families ask for disjoint
    /// resources, so no value is read twice; a key whose value is missing is
    /// skipped.
    pub fn live(
        &self,
        want: impl Fn(&str) -> bool,
    ) -> impl Iterator<Item = Result<Live<'a>, SnapshotError>> {
        let (snap, prefix) = (self.snap, self.opts.prefix.as_str());
        self.histories().filter_map(move |(key, h)| {
            let live = h.live?;
            let info = parse_key(key, prefix)?;
            let resource = info.qualified_resource();
            if !want(&resource) {
                return None;
            }
            let rk = RevisionKey {
                rev: live.rev,
                tombstone: false,
            };
            let value = match snap.value(rk) {
                Ok(kv) => kv?.value,
                Err(e) => return Some(Err(e)),
            };
            Some(Ok(Live {
                key,
                info,
                resource,
                revision: live.rev.main,
                value,
            }))
        })
    }
}
