//! "What fills the database": per resource type and per namespace, object count,
//! bytes of live values and bytes of retained history, plus the largest objects.
//!
//! Fed one entry at a time ([`StatsBuilder::add`]) by whoever walks the key bucket;
//! only key paths and lengths are used, never decoding, so a million keys cost a
//! million path splits. Memory: one bucket per resource and namespace seen, and
//! `top_n` keys. Output is deterministic: sorted by bytes (descending), then name.

use std::cmp::Reverse;
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::ops::ControlFlow;

use prost::Message;
use serde::Serialize;

use super::path::parse_key;
use crate::ReadAt;
use crate::bolt::{BoltError, Db};
use crate::mvcc::{KeyIndex, KeyValue, RevisionKey};

/// Resource name used for keys outside any Kubernetes root.
pub const NON_KUBERNETES: &str = "(non-kubernetes)";
/// How the CLI and the page name the namespace group of cluster-scoped
/// objects and other keys (`NamespaceUsage::namespace == None`).
pub const NO_NAMESPACE: &str = "(cluster-scoped / other)";
/// How the CLI and the page name the key-bucket entries that are not a
/// revision key with an `mvccpb.KeyValue` (a damaged file).
pub const UNDECODABLE: &str = "(undecodable entries)";

/// Counts for one group of keys.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    /// Live keys (current revision, not deleted).
    pub objects: u64,
    /// Bytes of the live values.
    pub live_value_bytes: u64,
    /// Older revisions still retained (not yet compacted), including deletions.
    pub history_revisions: u64,
    /// Bytes of those older values.
    pub history_value_bytes: u64,
}

impl Usage {
    fn add(&mut self, value_bytes: u64, live: bool) {
        if live {
            self.objects += 1;
            self.live_value_bytes = self.live_value_bytes.saturating_add(value_bytes);
        } else {
            self.history_revisions += 1;
            self.history_value_bytes = self.history_value_bytes.saturating_add(value_bytes);
        }
    }
    /// Live plus history bytes.
    pub fn total_bytes(&self) -> u64 {
        self.live_value_bytes
            .saturating_add(self.history_value_bytes)
    }
}

/// One resource type's usage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResourceUsage {
    /// `plural` or `plural.group`; [`NON_KUBERNETES`] for other keys.
    pub resource: String,
    #[serde(flatten)]
    pub usage: Usage,
}

/// One namespace's usage; `None` gathers cluster-scoped objects and other keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NamespaceUsage {
    pub namespace: Option<String>,
    #[serde(flatten)]
    pub usage: Usage,
}

/// One of the largest live values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LargeObject {
    pub key: String,
    pub resource: String,
    pub namespace: Option<String>,
    pub value_bytes: u64,
}

/// The finished report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DbStats {
    pub total: Usage,
    pub resources: Vec<ResourceUsage>,
    pub namespaces: Vec<NamespaceUsage>,
    /// Largest live values, biggest first (ties by key).
    pub largest: Vec<LargeObject>,
    /// Key-bucket entries that did not decode ([`UNDECODABLE`]): counted,
    /// not skipped silently and not fatal.
    pub undecodable: Undecodable,
}

/// Entries of the `key` bucket that are not (revision key, `mvccpb.KeyValue`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Undecodable {
    pub entries: u64,
    /// Their stored value bytes.
    pub bytes: u64,
}

/// What fills `db`: one pass over its `key` bucket (ordered by revision).
///
/// A key's entries are history until a later one of the same key is met, and
/// the last one is live unless it is a deletion (memory: one size per key).
/// Nothing is decoded beyond the `KeyValue`. The page, which has the key
/// index, counts from it instead ([`of_index`]).
pub fn scan(db: &Db<impl ReadAt>, prefix: &str, top_n: usize) -> Result<DbStats, BoltError> {
    let mut stats = StatsBuilder::new(prefix, top_n);
    let mut undecodable = Undecodable::default();
    // Latest entry seen per key: (value bytes, deleted).
    let mut last: HashMap<Vec<u8>, (u64, bool)> = HashMap::new();
    if let Some(kb) = db.bucket(&db.root(), b"key")? {
        db.for_each(&kb, None, |e| {
            let Some(v) = e.value else {
                return ControlFlow::Continue(());
            };
            let (Ok(rk), Ok(kv)) = (RevisionKey::parse(e.key), KeyValue::decode(v)) else {
                undecodable.entries += 1;
                undecodable.bytes += v.len() as u64;
                return ControlFlow::Continue(());
            };
            let bytes = kv.value.len() as u64;
            match last.entry(kv.key) {
                Entry::Occupied(mut o) => {
                    let (older, _) = o.insert((bytes, rk.tombstone));
                    stats.add(o.key(), older, false);
                }
                Entry::Vacant(slot) => {
                    slot.insert((bytes, rk.tombstone));
                }
            }
            ControlFlow::Continue(())
        })?;
    }
    for (key, (bytes, deleted)) in last {
        stats.add(&key, bytes, !deleted);
    }
    let mut s = stats.finish();
    s.undecodable = undecodable;
    Ok(s)
}

/// What fills the database, from the index alone: the same counts as
/// [`scan`] (the index holds every revision's value size and which is live),
/// without reading a value again, each key's path parsed once.
pub fn of_index(index: &KeyIndex, prefix: &str, top_n: usize) -> DbStats {
    let mut stats = StatsBuilder::new(prefix, top_n);
    for (key, h) in index.histories() {
        stats.add_revisions(key, h.value_sizes, h.live.is_some());
    }
    stats.finish()
}

/// Accumulates [`DbStats`] one key/value at a time.
#[derive(Debug)]
pub struct StatsBuilder {
    prefix: String,
    top_n: usize,
    total: Usage,
    resources: BTreeMap<String, Usage>,
    namespaces: BTreeMap<Option<String>, Usage>,
    /// Min-heap of the `top_n` largest (size, key) seen.
    largest: BinaryHeap<Reverse<(u64, Reverse<Vec<u8>>)>>,
}

impl StatsBuilder {
    /// `prefix` is the `--etcd-prefix` root (e.g. [`super::DEFAULT_PREFIX`]);
    /// `top_n` how many largest objects to keep.
    pub fn new(prefix: &str, top_n: usize) -> Self {
        StatsBuilder {
            prefix: prefix.to_string(),
            top_n,
            total: Usage::default(),
            resources: BTreeMap::new(),
            namespaces: BTreeMap::new(),
            largest: BinaryHeap::new(),
        }
    }

    /// Adds one entry: `live` for the current revision of a key that exists, `false`
    /// for a retained older revision or a deletion record.
    pub fn add(&mut self, key: &[u8], value_bytes: u64, live: bool) {
        let info = parse_key(key, &self.prefix);
        let resource = info
            .as_ref()
            .map_or_else(|| NON_KUBERNETES.to_string(), |k| k.qualified_resource());
        let namespace = info.and_then(|k| k.namespace);
        self.total.add(value_bytes, live);
        self.resources
            .entry(resource)
            .or_default()
            .add(value_bytes, live);
        self.namespaces
            .entry(namespace)
            .or_default()
            .add(value_bytes, live);
        if live && self.top_n > 0 {
            // Ties keep the smaller key: Reverse(key) makes the larger key "smaller".
            self.largest
                .push(Reverse((value_bytes, Reverse(key.to_vec()))));
            if self.largest.len() > self.top_n {
                self.largest.pop();
            }
        }
    }

    /// Adds every retained revision of one key, oldest first, given their
    /// value sizes: all history, but the last when `last_live`. As many
    /// [`Self::add`]s, with the key's path parsed once.
    pub fn add_revisions(&mut self, key: &[u8], value_sizes: &[u32], last_live: bool) {
        let Some((&last, older)) = value_sizes.split_last() else {
            return;
        };
        let info = parse_key(key, &self.prefix);
        let resource = info
            .as_ref()
            .map_or_else(|| NON_KUBERNETES.to_string(), |k| k.qualified_resource());
        let namespace = info.and_then(|k| k.namespace);
        let r = self.resources.entry(resource).or_default();
        let n = self.namespaces.entry(namespace).or_default();
        for (i, &bytes) in older.iter().chain([&last]).enumerate() {
            let live = last_live && i == older.len();
            let bytes = u64::from(bytes);
            self.total.add(bytes, live);
            r.add(bytes, live);
            n.add(bytes, live);
        }
        let size = u64::from(last);
        // Bigger than the smallest kept (ties: the smaller key), or room left.
        let kept = |&Reverse((s, Reverse(ref k))): &Reverse<(u64, Reverse<Vec<u8>>)>| {
            size > s || (size == s && key < k.as_slice())
        };
        if last_live
            && self.top_n > 0
            && (self.largest.len() < self.top_n || self.largest.peek().is_some_and(kept))
        {
            self.largest.push(Reverse((size, Reverse(key.to_vec()))));
            if self.largest.len() > self.top_n {
                self.largest.pop();
            }
        }
    }

    pub fn finish(self) -> DbStats {
        let mut resources: Vec<ResourceUsage> = self
            .resources
            .into_iter()
            .map(|(resource, usage)| ResourceUsage { resource, usage })
            .collect();
        resources.sort_by(|a, b| {
            b.usage
                .total_bytes()
                .cmp(&a.usage.total_bytes())
                .then(a.resource.cmp(&b.resource))
        });
        let mut namespaces: Vec<NamespaceUsage> = self
            .namespaces
            .into_iter()
            .map(|(namespace, usage)| NamespaceUsage { namespace, usage })
            .collect();
        namespaces.sort_by(|a, b| {
            b.usage
                .total_bytes()
                .cmp(&a.usage.total_bytes())
                .then(a.namespace.cmp(&b.namespace))
        });
        let mut largest: Vec<(u64, Vec<u8>)> = self
            .largest
            .into_iter()
            .map(|Reverse((n, Reverse(k)))| (n, k))
            .collect();
        largest.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let largest = largest
            .into_iter()
            .map(|(value_bytes, key)| {
                let info = parse_key(&key, &self.prefix);
                LargeObject {
                    key: String::from_utf8_lossy(&key).into_owned(),
                    resource: info
                        .as_ref()
                        .map_or_else(|| NON_KUBERNETES.to_string(), |k| k.qualified_resource()),
                    namespace: info.and_then(|k| k.namespace),
                    value_bytes,
                }
            })
            .collect();
        DbStats {
            total: self.total,
            resources,
            namespaces,
            largest,
            undecodable: Undecodable::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_by_resource_and_namespace_and_keeps_top_n() {
        let mut b = StatsBuilder::new("/registry/", 2);
        b.add(b"/registry/pods/a/p1", 100, true);
        b.add(b"/registry/pods/a/p1", 90, false);
        b.add(b"/registry/pods/b/p2", 300, true);
        b.add(b"/registry/secrets/a/s", 100, true);
        b.add(b"/registry/namespaces/a", 10, true);
        b.add(b"/registry/example.com/widgets/w", 5, true);
        b.add(b"compact_rev_key", 8, true);
        let s = b.finish();
        assert_eq!(
            s.total,
            Usage {
                objects: 6,
                live_value_bytes: 523,
                history_revisions: 1,
                history_value_bytes: 90
            }
        );
        let res: Vec<(&str, u64, u64)> = s
            .resources
            .iter()
            .map(|r| (r.resource.as_str(), r.usage.objects, r.usage.total_bytes()))
            .collect();
        assert_eq!(
            res,
            vec![
                ("pods", 2, 490),
                ("secrets", 1, 100),
                ("namespaces", 1, 10),
                ("(non-kubernetes)", 1, 8),
                ("widgets.example.com", 1, 5)
            ]
        );
        let ns: Vec<(Option<&str>, u64)> = s
            .namespaces
            .iter()
            .map(|n| (n.namespace.as_deref(), n.usage.total_bytes()))
            .collect();
        assert_eq!(ns, vec![(Some("b"), 300), (Some("a"), 290), (None, 23)]);
        let top: Vec<(&str, u64)> = s
            .largest
            .iter()
            .map(|l| (l.key.as_str(), l.value_bytes))
            .collect();
        assert_eq!(
            top,
            vec![("/registry/pods/b/p2", 300), ("/registry/pods/a/p1", 100)]
        );
    }
}
