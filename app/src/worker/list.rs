//! The key list (filtered, paged, resumable) and the key tree.

use std::cell::RefCell;
use std::collections::BTreeSet;

use etcd_lens_core::k8s::{self, DEFAULT_PREFIX};
use etcd_lens_core::mvcc::{KeyIndex, LiveKey};

use super::{Opened, WorkerError};
use crate::protocol::{KeyPage, KeyQuery, KeyRow, SortBy, TreeNode};

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
/// `CHECKPOINT_EVERY`th matching key to resume from; sorted by a field, the
/// rows' order too.
pub(crate) struct ListCache {
    filter: KeyQuery,
    total: u64,
    resources: Vec<String>,
    namespaces: Vec<String>,
    checkpoints: Vec<Vec<u8>>,
    /// Sorted by a field: row `i` is the `order[i]`th match in key order
    /// (4 bytes a match; the keys themselves stay in the index).
    order: Option<Vec<u32>>,
}

/// The field a sort orders by, for one live key.
fn sort_value(by: SortBy, live: &LiveKey) -> i64 {
    match by {
        SortBy::Key => 0,
        SortBy::Revision => live.mod_revision,
        SortBy::Version => live.version,
        SortBy::Size => i64::try_from(live.value_size).unwrap_or(i64::MAX),
    }
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
    let mut values: Vec<(i64, u32)> = Vec::new();
    for (key, live) in index.live_with_prefix(q.prefix.as_bytes()) {
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
        if q.sort != SortBy::Key {
            values.push((sort_value(q.sort, &live), total as u32));
        }
        total += 1;
    }
    let order = if q.sort == SortBy::Key {
        // Key order backwards: the places, last first.
        q.descending.then(|| (0..total as u32).rev().collect())
    } else {
        // Stable on the match's place: ties stay in key order either way.
        if q.descending {
            values.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        } else {
            values.sort_unstable();
        }
        Some(values.into_iter().map(|(_, i)| i).collect())
    };
    ListCache {
        filter: filter_of(q),
        total,
        resources: resources.into_iter().collect(),
        namespaces: namespaces.into_iter().collect(),
        checkpoints,
        order,
    }
}

/// The rows at `places` (match numbers in key order), in the order given:
/// one walk per checkpoint block they fall in.
fn rows_at(index: &KeyIndex, c: &ListCache, q: &KeyQuery, places: &[u32]) -> Vec<KeyRow> {
    let mut wanted: Vec<(u32, usize)> = places.iter().enumerate().map(|(at, &p)| (p, at)).collect();
    wanted.sort_unstable();
    let mut out: Vec<Option<KeyRow>> = vec![None; places.len()];
    let mut next = wanted.iter().peekable();
    while let Some(&&(first, _)) = next.peek() {
        let block = u64::from(first) / CHECKPOINT_EVERY;
        let Some(start) = c.checkpoints.get(block as usize) else {
            break;
        };
        let mut place = block * CHECKPOINT_EVERY;
        for (key, live) in index.live_from(start, q.prefix.as_bytes()) {
            let Some((resource, namespace)) = matches(q, key) else {
                continue;
            };
            while let Some(&&(p, at)) = next.peek() {
                if u64::from(p) != place {
                    break;
                }
                out[at] = Some(row(key, &live, resource.clone(), namespace.clone()));
                next.next();
            }
            place += 1;
            let more_here = next
                .peek()
                .is_some_and(|&&(p, _)| u64::from(p) / CHECKPOINT_EVERY == block);
            if !more_here {
                break;
            }
        }
        // Places the walk did not reach (the index changed): skip them.
        while next
            .peek()
            .is_some_and(|&&(p, _)| u64::from(p) / CHECKPOINT_EVERY == block)
        {
            next.next();
        }
    }
    out.into_iter().flatten().collect()
}

fn row(key: &[u8], live: &LiveKey, resource: String, namespace: String) -> KeyRow {
    KeyRow {
        key: String::from_utf8_lossy(key).into_owned(),
        key_hex: hex::encode(key),
        mod_revision: live.mod_revision,
        version: live.version,
        value_size: live.value_size,
        resource,
        namespace,
    }
}

/// A page of live keys matching `q`, in key order or sorted by a field. The
/// first request for a query walks its keys once (and sorts their places);
/// later pages resume from a checkpoint, so a scroll to row 900 000 reads a
/// few hundred keys, not 900 000.
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
    if let Some(order) = &c.order {
        let from = (offset as usize).min(order.len());
        let to = (from + limit).min(order.len());
        page.rows = rows_at(index, c, q, &order[from..to]);
        return page;
    }
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
        page.rows.push(row(key, &live, resource, namespace));
        if page.rows.len() >= limit {
            break;
        }
    }
    page
}
