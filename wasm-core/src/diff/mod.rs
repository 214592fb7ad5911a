//! Two snapshots compared key by key: which keys were added, removed or
//! modified, per resource and namespace, with counts and bytes.
//!
//! The `key` bucket is ordered by revision, not by key, so the diff merges
//! the two key indexes (each sorted by key) in one pass. Values are read
//! only for keys in both: for two snapshots of one cluster (they share a
//! member id) a key whose live version has the same mod_revision, create
//! revision, version and size is the same write, so unchanged without
//! reading either value; otherwise both values are read and compared as
//! decoded objects ([`values`]). A key deleted and created again between
//! the snapshots is `modified` with `recreated` set.
//!
//! Only live keys count: a key deleted in both, or a tombstone, is absent.

pub mod fields;
pub mod lines;
pub mod values;

use std::collections::{BTreeMap, BTreeSet};
use std::iter::Peekable;

use serde::{Deserialize, Serialize};

use crate::ReadAt;
use crate::audit::EncryptionConfig;
use crate::k8s;
use crate::mvcc::{KeyIndex, LiveKey};
use crate::snapshot::{Snapshot, SnapshotError};

pub use values::{Content, EncryptionChange, ValueChange};

/// One side of a diff: an open snapshot and its key index.
pub struct Side<'a, S> {
    pub snap: &'a Snapshot<S>,
    pub index: &'a KeyIndex,
}

/// What to compare and how.
#[derive(Debug, Clone)]
pub struct DiffOptions<'c> {
    /// Only keys starting with this.
    pub prefix: Vec<u8>,
    /// The Kubernetes root (`/registry/`), for resource and namespace names.
    pub etcd_prefix: String,
    /// Report objects whose only differences are noise fields (see [`fields`]).
    pub include_noise: bool,
    /// Read and compare both values even when the revisions say they are one write.
    pub compare_all_values: bool,
    /// Decrypt encrypted values with the cluster's keys before comparing.
    pub encryption: Option<&'c EncryptionConfig>,
}

impl Default for DiffOptions<'_> {
    fn default() -> Self {
        Self {
            prefix: Vec::new(),
            etcd_prefix: k8s::DEFAULT_PREFIX.to_string(),
            include_noise: false,
            compare_all_values: false,
            encryption: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    Added,
    Removed,
    Modified,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "added",
            Self::Removed => "removed",
            Self::Modified => "modified",
        }
    }
}

/// A key's live version on one side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Version {
    pub create_revision: i64,
    pub mod_revision: i64,
    pub version: i64,
    pub value_size: u64,
}

impl From<&LiveKey> for Version {
    fn from(l: &LiveKey) -> Self {
        Self {
            create_revision: l.create_revision,
            mod_revision: l.mod_revision,
            version: l.version,
            value_size: l.value_size,
        }
    }
}

/// Resource (`plural` or `plural.group`), namespace and name from the key path.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Place {
    pub resource: Option<String>,
    pub namespace: Option<String>,
    pub name: Option<String>,
}

impl Place {
    pub fn of(key: &[u8], etcd_prefix: &str) -> Self {
        match k8s::parse_key(key, etcd_prefix) {
            Some(info) => Self {
                resource: Some(info.qualified_resource()),
                namespace: info.namespace,
                name: info.name,
            },
            None => Self::default(),
        }
    }
}

/// One changed key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyChange {
    #[serde(serialize_with = "crate::diff::lossy")]
    pub key: Vec<u8>,
    pub change: Change,
    pub old: Option<Version>,
    pub new: Option<Version>,
    /// Deleted and created again between the two snapshots.
    pub recreated: bool,
    #[serde(flatten)]
    pub place: Place,
    /// Of the newer value (the old one for `removed`), when it is a readable object.
    pub api_version: Option<String>,
    pub kind: Option<String>,
    /// For `modified`: what differs in the value.
    pub value: Option<ValueChange>,
}

impl KeyChange {
    /// What changed, in a few words: for `modified`, the fields (or why they are not known).
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.recreated {
            parts.push("deleted and created again".to_string());
        }
        let Some(v) = &self.value else {
            return match self.change {
                Change::Added => "added".into(),
                Change::Removed => "removed".into(),
                Change::Modified => parts.join("; "),
            };
        };
        if let Some(e) = &v.encryption {
            let name = |k: &Option<crate::audit::KeyId>| match k {
                Some(k) => format!("{} key {:?}", k.provider, k.key_name_with_id()),
                None => "plaintext".to_string(),
            };
            parts.push(format!("encryption: {} → {}", name(&e.from), name(&e.to)));
        }
        parts.push(match &v.content {
            Content::Fields {
                paths,
                more,
                status_only,
                ..
            } => {
                let mut s = format!(
                    "{}: {}",
                    if *status_only {
                        "status only"
                    } else {
                        "fields"
                    },
                    paths.join(", ")
                );
                if *more > 0 {
                    s.push_str(&format!(" and {more} more"));
                }
                s
            }
            Content::NoiseOnly { noise } => format!("noise only: {}", noise.join(", ")),
            Content::Same => "same object".into(),
            Content::Unknown => {
                "encrypted: content not compared (the EncryptionConfiguration decrypts it)".into()
            }
            Content::Bytes => "bytes differ (not a decodable object)".into(),
        });
        parts.join("; ")
    }
}

pub(crate) fn lossy<S: serde::Serializer>(key: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&String::from_utf8_lossy(key))
}

/// Counts and bytes of one resource in one namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupCounts {
    pub resource: Option<String>,
    pub namespace: Option<String>,
    pub added: u64,
    pub removed: u64,
    pub modified: u64,
    /// Value bytes of added keys.
    pub added_bytes: u64,
    /// Value bytes of removed keys.
    pub removed_bytes: u64,
    /// New size minus old size, over modified keys.
    pub modified_bytes_delta: i64,
}

/// The whole comparison.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Diff {
    /// Changed keys in key order.
    pub changes: Vec<KeyChange>,
    /// One entry per resource and namespace with any change, sorted.
    pub groups: Vec<GroupCounts>,
    /// Live keys (under the prefix) in both and equal.
    pub unchanged: u64,
    /// Of those, found equal by their revisions alone (no value read).
    pub unchanged_by_revision: u64,
    /// Modified only in noise fields: counted, not listed (unless asked).
    pub noise_only: u64,
    /// The snapshots share a member id: one cluster's history.
    pub same_cluster: bool,
    pub old_revision: i64,
    pub new_revision: i64,
}

impl Diff {
    /// No change reported.
    pub fn is_equal(&self) -> bool {
        self.changes.is_empty()
    }

    pub fn count(&self, change: Change) -> usize {
        self.changes.iter().filter(|c| c.change == change).count()
    }
}

fn member_ids<S>(s: &Snapshot<S>) -> BTreeSet<&str> {
    s.info.members.iter().map(|m| m.id.as_str()).collect()
}

type Live<'a> = Peekable<Box<dyn Iterator<Item = (&'a [u8], LiveKey)> + 'a>>;

fn live<'a>(ix: &'a KeyIndex, prefix: &'a [u8]) -> Live<'a> {
    let it: Box<dyn Iterator<Item = (&'a [u8], LiveKey)> + 'a> =
        Box::new(ix.live_with_prefix(prefix));
    it.peekable()
}

/// Compare `old` with `new`.
pub fn diff<A: ReadAt, B: ReadAt>(
    old: Side<'_, A>,
    new: Side<'_, B>,
    opts: &DiffOptions<'_>,
) -> Result<Diff, SnapshotError> {
    let same_cluster = !member_ids(old.snap).is_disjoint(&member_ids(new.snap));
    let mut out = Diff {
        same_cluster,
        old_revision: old.index.last.map_or(0, |l| l.rev.main),
        new_revision: new.index.last.map_or(0, |l| l.rev.main),
        ..Diff::default()
    };
    let mut a = live(old.index, &opts.prefix);
    let mut b = live(new.index, &opts.prefix);
    loop {
        let order = match (a.peek(), b.peek()) {
            (None, None) => break,
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some((ka, _)), Some((kb, _))) => ka.cmp(kb),
        };
        let change = match order {
            std::cmp::Ordering::Less => {
                let Some((k, l)) = a.next() else { break };
                let value = read_value(old.snap, &l)?;
                one_sided(k, Change::Removed, Some((&l).into()), None, &value, opts)
            }
            std::cmp::Ordering::Greater => {
                let Some((k, l)) = b.next() else { break };
                let value = read_value(new.snap, &l)?;
                one_sided(k, Change::Added, None, Some((&l).into()), &value, opts)
            }
            std::cmp::Ordering::Equal => {
                let (Some((k, la)), Some((_, lb))) = (a.next(), b.next()) else {
                    break;
                };
                match both(k, &la, &lb, &old, &new, opts, &mut out)? {
                    Some(c) => c,
                    None => continue,
                }
            }
        };
        out.changes.push(change);
    }
    out.groups = groups(&out.changes);
    Ok(out)
}

fn read_value<S: ReadAt>(snap: &Snapshot<S>, l: &LiveKey) -> Result<Vec<u8>, SnapshotError> {
    let rk = crate::mvcc::RevisionKey {
        rev: l.rev,
        tombstone: false,
    };
    Ok(snap.value(rk)?.map(|kv| kv.value).unwrap_or_default())
}

fn one_sided(
    key: &[u8],
    change: Change,
    old: Option<Version>,
    new: Option<Version>,
    value: &[u8],
    opts: &DiffOptions<'_>,
) -> KeyChange {
    let (api_version, kind) = values::type_of(value).unzip();
    KeyChange {
        key: key.to_vec(),
        change,
        old,
        new,
        recreated: false,
        place: Place::of(key, &opts.etcd_prefix),
        api_version,
        kind,
        value: None,
    }
}

/// A key live in both: `None` when unchanged (or noise only, not asked for).
fn both<A: ReadAt, B: ReadAt>(
    key: &[u8],
    la: &LiveKey,
    lb: &LiveKey,
    old: &Side<'_, A>,
    new: &Side<'_, B>,
    opts: &DiffOptions<'_>,
    out: &mut Diff,
) -> Result<Option<KeyChange>, SnapshotError> {
    let (va, vb) = (Version::from(la), Version::from(lb));
    if out.same_cluster && !opts.compare_all_values && va == vb {
        out.unchanged += 1;
        out.unchanged_by_revision += 1;
        return Ok(None);
    }
    let place = Place::of(key, &opts.etcd_prefix);
    let recreated = va.create_revision != vb.create_revision;
    let old_value = read_value(old.snap, la)?;
    let new_value = read_value(new.snap, lb)?;
    let resource = place.resource.clone().unwrap_or_default();
    let (value, typ) =
        values::compare_typed(key, &resource, &old_value, &new_value, opts.encryption);
    let value = match value {
        None if !recreated => {
            out.unchanged += 1;
            return Ok(None);
        }
        // Deleted and created again with the same bytes.
        None => Some(ValueChange {
            encryption: None,
            content: Content::Same,
        }),
        v => v,
    };
    match value {
        Some(v) if !recreated && !v.is_meaningful() && !opts.include_noise => {
            if matches!(v.content, Content::NoiseOnly { .. }) {
                out.noise_only += 1;
            } else {
                out.unchanged += 1;
            }
            return Ok(None);
        }
        _ => {}
    }
    let (api_version, kind) = typ.unzip();
    Ok(Some(KeyChange {
        key: key.to_vec(),
        change: Change::Modified,
        old: Some(va),
        new: Some(vb),
        recreated,
        place,
        api_version,
        kind,
        value,
    }))
}

fn groups(changes: &[KeyChange]) -> Vec<GroupCounts> {
    let mut by: BTreeMap<(Option<String>, Option<String>), GroupCounts> = BTreeMap::new();
    for c in changes {
        let g = by
            .entry((c.place.resource.clone(), c.place.namespace.clone()))
            .or_insert_with(|| GroupCounts {
                resource: c.place.resource.clone(),
                namespace: c.place.namespace.clone(),
                ..GroupCounts::default()
            });
        let size = |v: Option<Version>| v.map_or(0, |v| v.value_size);
        match c.change {
            Change::Added => {
                g.added += 1;
                g.added_bytes += size(c.new);
            }
            Change::Removed => {
                g.removed += 1;
                g.removed_bytes += size(c.old);
            }
            Change::Modified => {
                g.modified += 1;
                g.modified_bytes_delta += size(c.new) as i64 - size(c.old) as i64;
            }
        }
    }
    by.into_values().collect()
}
