//! Reading a cluster's snapshots back from the store, for `etcd-lens
//! catalog rebuild`: the metadata objects are the records; a record is
//! returned only when its data object is there with the size it records
//! (and, when asked, the SHA-256). Everything else is a [`Problem`].

use std::collections::{BTreeMap, BTreeSet};

use futures::TryStreamExt;
use object_store::ObjectStoreExt;
use object_store::path::Path as ObjectPath;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::ShipError;
use super::store::Store;
use crate::records::SnapshotRecord;

/// What the store holds for a cluster.
#[derive(Debug, Default)]
pub struct ReadBack {
    /// Complete snapshots, sorted by id.
    pub records: Vec<SnapshotRecord>,
    /// Sorted by key.
    pub problems: Vec<Problem>,
    /// Every snapshot id with a metadata object, complete or not (those
    /// skipped as known included).
    pub listed: BTreeSet<String>,
}

/// An object that does not make a complete snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub key: String,
    pub snapshot_id: Option<String>,
    pub problem: String,
}

/// List `<prefix>/<cluster>/` and check every metadata object against its
/// data object. `verify_sha256` downloads each data object and hashes it.
pub async fn read_back(
    store: &Store,
    cluster: &str,
    verify_sha256: bool,
) -> Result<ReadBack, ShipError> {
    read_back_except(store, cluster, verify_sha256, &BTreeSet::new()).await
}

/// [`read_back`], but the metadata objects of `known` ids (a catalog has
/// them already) are only listed, not read or checked: their data objects
/// are not reported as lacking metadata either.
pub async fn read_back_except(
    store: &Store,
    cluster: &str,
    verify_sha256: bool,
    known: &BTreeSet<String>,
) -> Result<ReadBack, ShipError> {
    let folder = store.cluster_prefix(cluster);
    let listed = store.list_folder(&folder).await?;
    // Only the folder's own objects (list is recursive).
    let mut sizes: BTreeMap<String, u64> = BTreeMap::new();
    for m in listed {
        let key = m.location.to_string();
        if key
            .strip_prefix(&folder)
            .is_some_and(|rest| !rest.contains('/'))
        {
            sizes.insert(key, m.size);
        }
    }
    let mut out = ReadBack::default();
    let mut described: Vec<String> = Vec::new();
    for key in sizes.keys().filter(|k| k.ends_with(".json")) {
        let id = key[folder.len()..key.len() - ".json".len()].to_string();
        out.listed.insert(id.clone());
        if known.contains(&id) {
            described.extend(
                sizes
                    .keys()
                    .filter(|k| {
                        k[folder.len()..]
                            .strip_prefix(id.as_str())
                            .is_some_and(|rest| rest.starts_with('.') && *k != key)
                    })
                    .cloned(),
            );
            continue;
        }
        let problem = |p: String| Problem {
            key: key.clone(),
            snapshot_id: Some(id.clone()),
            problem: p,
        };
        let bytes = store
            .inner
            .get(&ObjectPath::from(key.as_str()))
            .await
            .map_err(|e| store.err("reading", key, e))?
            .bytes()
            .await
            .map_err(|e| store.err("reading", key, e))?;
        let r: SnapshotRecord = match serde_json::from_slice(&bytes) {
            Ok(r) => r,
            Err(e) => {
                out.problems.push(problem(format!(
                    "not a snapshot record ({e}): not recorded"
                )));
                continue;
            }
        };
        if r.id != id || r.cluster != cluster {
            out.problems.push(problem(format!(
                "describes snapshot {} of cluster {:?}: not recorded",
                r.id, r.cluster
            )));
            continue;
        }
        let Some(data_key) = r
            .shipped
            .as_ref()
            .filter(|s| s.at.is_some())
            .map(|s| s.key.clone())
        else {
            out.problems
                .push(problem("has no shipping state: not recorded".into()));
            continue;
        };
        described.push(data_key.clone());
        match sizes.get(&data_key) {
            None => {
                out.problems.push(problem(format!(
                    "its data object {data_key} is missing: not recorded"
                )));
                continue;
            }
            Some(&n) if n != r.stored_bytes => {
                out.problems.push(problem(format!(
                    "its data object {data_key} has {n} bytes, the record says {}: not recorded",
                    r.stored_bytes
                )));
                continue;
            }
            Some(_) => {}
        }
        if verify_sha256 {
            let got = sha256_of(store, &data_key).await?;
            if got != r.stored_sha256 {
                out.problems.push(problem(format!(
                    "its data object {data_key} has SHA-256 {got}, the record says {}: not recorded",
                    r.stored_sha256
                )));
                continue;
            }
        }
        out.records.push(r);
    }
    for key in sizes.keys() {
        if !key.ends_with(".json") && !described.contains(key) {
            out.problems.push(Problem {
                key: key.clone(),
                snapshot_id: None,
                problem: "no metadata object: an upload that never completed (not recorded)".into(),
            });
        }
    }
    out.records.sort_by(|a, b| a.id.cmp(&b.id));
    out.problems.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(out)
}

async fn sha256_of(store: &Store, key: &str) -> Result<String, ShipError> {
    let mut stream = store
        .inner
        .get(&ObjectPath::from(key))
        .await
        .map_err(|e| store.err("reading", key, e))?
        .into_stream();
    let mut h = Sha256::new();
    while let Some(chunk) = stream
        .try_next()
        .await
        .map_err(|e| store.err("reading", key, e))?
    {
        h.update(&chunk);
    }
    Ok(hex::encode(h.finalize()))
}
