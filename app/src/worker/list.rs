//! The key list (filtered, paged, resumable) and the key tree.

use std::cell::RefCell;
use std::collections::BTreeSet;

use etcd_lens_core::k8s::{self, DEFAULT_PREFIX};
use etcd_lens_core::mvcc::KeyIndex;

use super::{Opened, WorkerError};
use crate::protocol::{KeyPage, KeyQuery, KeyRow, TreeNode};

/// Longest list page the page may ask for.
pub const MAX_PAGE_ROWS: u32 = 1000;
/// The children of the tree node `prefix`: keys grouped by their next path
/// segment (up to and including the next `/`), with counts and bytes.
pub fn tree(o: &Opened, prefix: &str) -> Result<Vec<TreeNode>, WorkerError> {
    let index = o.index()?;
    let p = prefix.as_bytes();
    let mut nodes: Vec<TreeNode> = Vec::new();
    for (key, live) in index.live_with_prefix(p) {
        let rest = &key[p.len()..];
        // A leading '/' belongs to the first segment: `/registry/`, not `/`.
        let from = usize::from(rest.first() == Some(&b'/'));
        let end = rest[from..]
            .iter()
            .position(|&b| b == b'/')
            .map_or(rest.len(), |i| from + i + 1);
        let child = &key[..p.len() + end];
        let is_key = child.len() == key.len();
        let child_text = String::from_utf8_lossy(child);
        let node = match nodes.last_mut() {
            Some(n) if n.prefix == child_text => n,
            _ => {
                nodes.push(TreeNode {
                    segment: String::from_utf8_lossy(&rest[..end]).into_owned(),
                    prefix: child_text.into_owned(),
                    keys: 0,
                    bytes: 0,
                    key_hex: None,
                    has_children: false,
                    role: None,
                });
                nodes.last_mut().expect("just pushed")
            }
        };
        node.keys += 1;
        node.bytes += live.value_size;
        if is_key {
            node.key_hex = Some(hex::encode(key));
            node.role = k8s::parse_key(key, DEFAULT_PREFIX)
                .and_then(|k| k.role)
                .map(|r| r.label().to_string());
        } else {
            node.has_children = true;
            if node.role.is_none() {
                node.role =
                    k8s::prefix_role(&node.prefix, DEFAULT_PREFIX).map(|r| r.label().to_string());
            }
        }
    }
    Ok(nodes)
}

fn resource_and_namespace(key: &[u8]) -> (String, String) {
    match k8s::parse_key(key, DEFAULT_PREFIX) {
        Some(info) => (
            info.qualified_resource(),
            info.namespace.unwrap_or_default(),
        ),
        None => (String::new(), String::new()),
    }
}

/// Matches between two remembered resume points of a list.
const CHECKPOINT_EVERY: u64 = 512;

/// One query's matches: the count, the filter choices, and every
/// `CHECKPOINT_EVERY`th matching key to resume from.
pub(crate) struct ListCache {
    filter: KeyQuery,
    total: u64,
    resources: Vec<String>,
    namespaces: Vec<String>,
    checkpoints: Vec<Vec<u8>>,
}

fn filter_of(q: &KeyQuery) -> KeyQuery {
    KeyQuery {
        offset: 0,
        limit: 0,
        ..q.clone()
    }
}

fn contains(q: &KeyQuery, key: &[u8]) -> bool {
    let needle = q.contains.as_bytes();
    needle.is_empty() || key.windows(needle.len()).any(|w| w == needle)
}

fn fits(q: &KeyQuery, resource: &str, namespace: &str) -> bool {
    (q.resource.is_empty() || q.resource == resource)
        && (q.namespace.is_empty() || q.namespace == namespace)
}

pub(crate) fn matches(q: &KeyQuery, key: &[u8]) -> Option<(String, String)> {
    if !contains(q, key) {
        return None;
    }
    let (resource, namespace) = resource_and_namespace(key);
    fits(q, &resource, &namespace).then_some((resource, namespace))
}

/// One pass over the keys under the query's prefix: count, filter choices,
/// checkpoints. Each key is parsed once.
fn build_list_cache(index: &KeyIndex, q: &KeyQuery) -> ListCache {
    let mut resources = BTreeSet::new();
    let mut namespaces = BTreeSet::new();
    let mut checkpoints = Vec::new();
    let mut total = 0u64;
    for (key, _) in index.live_with_prefix(q.prefix.as_bytes()) {
        if !contains(q, key) {
            continue;
        }
        // The filter choices come from every key under the prefix, so a
        // chosen filter never hides the others.
        let (resource, namespace) = resource_and_namespace(key);
        let fit = fits(q, &resource, &namespace);
        if !resource.is_empty() {
            resources.insert(resource);
        }
        if !namespace.is_empty() {
            namespaces.insert(namespace);
        }
        if !fit {
            continue;
        }
        if total.is_multiple_of(CHECKPOINT_EVERY) {
            checkpoints.push(key.to_vec());
        }
        total += 1;
    }
    ListCache {
        filter: filter_of(q),
        total,
        resources: resources.into_iter().collect(),
        namespaces: namespaces.into_iter().collect(),
        checkpoints,
    }
}

/// A page of live keys matching `q`, in key order. The first request for a
/// query walks its keys once; later pages resume from a checkpoint, so a
/// scroll to row 900 000 reads a few hundred keys, not 900 000.
pub fn list(o: &Opened, q: &KeyQuery) -> Result<KeyPage, WorkerError> {
    Ok(list_in(o.index()?, &o.list_cache, q))
}

pub(crate) fn list_in(
    index: &KeyIndex,
    cache: &RefCell<Option<ListCache>>,
    q: &KeyQuery,
) -> KeyPage {
    let limit = q.limit.clamp(1, MAX_PAGE_ROWS) as usize;
    let mut cache = cache.borrow_mut();
    if cache.as_ref().is_none_or(|c| c.filter != filter_of(q)) {
        *cache = Some(build_list_cache(index, q));
    }
    let c = cache.as_ref().expect("just built");
    let offset = u64::from(q.offset);
    let mut page = KeyPage {
        total: c.total,
        offset: q.offset,
        rows: Vec::new(),
        resources: c.resources.clone(),
        namespaces: c.namespaces.clone(),
    };
    let Some(start) = c.checkpoints.get((offset / CHECKPOINT_EVERY) as usize) else {
        return page;
    };
    let mut skip = offset % CHECKPOINT_EVERY;
    for (key, live) in index.live_from(start, q.prefix.as_bytes()) {
        let Some((resource, namespace)) = matches(q, key) else {
            continue;
        };
        if skip > 0 {
            skip -= 1;
            continue;
        }
        page.rows.push(KeyRow {
            key: String::from_utf8_lossy(key).into_owned(),
            key_hex: hex::encode(key),
            mod_revision: live.mod_revision,
            version: live.version,
            value_size: live.value_size,
            resource,
            namespace,
        });
        if page.rows.len() >= limit {
            break;
        }
    }
    page
}
