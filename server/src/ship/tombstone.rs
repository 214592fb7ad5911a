//! Tombstones: before a server deletes a snapshot's objects from the store
//! it writes `<prefix>/deleted/<cluster>/<id>.json`, saying which server deleted
//! it, for whom and when. Servers sharing the bucket read them when they follow the
//! bucket (`ops::sync`) and delete their own copy of that snapshot, so a
//! snapshot removed by one server's retention goes from every server; a
//! snapshot whose metadata object is merely missing (no tombstone) is
//! reported and kept, never taken as deleted.
//!
//! ```text
//! <prefix>/deleted/<cluster>/<id>.json   {"cluster", "snapshot_id", "deleted_by", "actor", "deleted_at"}
//! ```
//!
//! Tombstones sit beside the clusters' folders, one level deeper (like
//! claims), so `rebuild` never mistakes one for a snapshot. They are kept
//! for [`super::claim`]'s week too, then pruned by whoever applies
//! retention: a server away for longer finds its copies "missing", keeps
//! them and says so.
//!
//! What this does not do: read a clock (callers pass `deleted_at` and
//! `now`), or decide what a tombstone means for a catalog (`ops::sync`).

use chrono::{DateTime, Utc};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};

use super::ShipError;
use super::store::Store;

/// The folder of tombstones under a store's prefix.
const DELETED: &str = "deleted";

/// What a tombstone holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tombstone {
    pub cluster: String,
    pub snapshot_id: String,
    /// The server (its id) that deleted it: its audit log says why.
    pub deleted_by: String,
    /// Who asked that server (`token:…`, `scheduler`, `server`, `cli`).
    pub actor: String,
    pub deleted_at: DateTime<Utc>,
}

/// `<prefix>/deleted/<cluster>/` (`prefix` without slashes at its ends; may be empty).
pub fn tombstones_prefix(prefix: &str, cluster: &str) -> String {
    if prefix.is_empty() {
        format!("{DELETED}/{cluster}/")
    } else {
        format!("{prefix}/{DELETED}/{cluster}/")
    }
}

fn key(store: &Store, cluster: &str, id: &str) -> String {
    format!("{}{id}.json", tombstones_prefix(store.prefix(), cluster))
}

/// Write (or rewrite) the tombstone of `t.snapshot_id`: done before its
/// objects are deleted, so a server that finds them gone finds why.
pub async fn write(store: &Store, t: &Tombstone) -> Result<(), ShipError> {
    let key = key(store, &t.cluster, &t.snapshot_id);
    let json = serde_json::to_vec(t).unwrap_or_default();
    store
        .inner
        .put(&ObjectPath::from(key.as_str()), PutPayload::from(json))
        .await
        .map(|_| ())
        .map_err(|e| store.err("writing", &key, e))
}

/// Every tombstone of `cluster`, with its key, sorted by snapshot id. One
/// that cannot be read is an error (a deletion must not be missed).
pub async fn list(store: &Store, cluster: &str) -> Result<Vec<(String, Tombstone)>, ShipError> {
    let folder = tombstones_prefix(store.prefix(), cluster);
    let listed = store.list_folder(&folder).await?;
    let mut out = Vec::new();
    for m in listed {
        let key = m.location.to_string();
        if !key
            .strip_prefix(&folder)
            .is_some_and(|rest| rest.ends_with(".json") && !rest.contains('/'))
        {
            continue;
        }
        let bytes = store
            .inner
            .get(&m.location)
            .await
            .map_err(|e| store.err("reading", &key, e))?
            .bytes()
            .await
            .map_err(|e| store.err("reading", &key, e))?;
        let t: Tombstone = serde_json::from_slice(&bytes).map_err(|e| ShipError::Damaged {
            store: store.name().to_string(),
            key: key.clone(),
            what: format!("not a tombstone: {e}"),
        })?;
        out.push((key, t));
    }
    out.sort_by(|a, b| a.1.snapshot_id.cmp(&b.1.snapshot_id));
    Ok(out)
}

/// The tombstones older than `keep` at `now` (their keys).
pub fn expired(
    all: &[(String, Tombstone)],
    now: DateTime<Utc>,
    keep: chrono::Duration,
) -> Vec<String> {
    all.iter()
        .filter(|(_, t)| now - t.deleted_at > keep)
        .map(|(k, _)| k.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn written_listed_and_expired() {
        assert_eq!(tombstones_prefix("p", "main"), "p/deleted/main/");
        assert_eq!(tombstones_prefix("", "main"), "deleted/main/");
        let dir = tempfile::tempdir().unwrap();
        let cfg = crate::ship::StoreConfig {
            backend: crate::ship::Backend::Local {
                path: dir.path().to_path_buf(),
            },
            prefix: "p".into(),
            upload_attempts: 1,
            retry_timeout: std::time::Duration::from_secs(1),
        };
        let store = Store::open(&cfg).unwrap();
        let t = |id: &str, when: &str| Tombstone {
            cluster: "main".into(),
            snapshot_id: id.into(),
            deleted_by: "a:1".into(),
            actor: "scheduler".into(),
            deleted_at: at(when),
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            write(&store, &t("main-2", "2026-12-01T00:00:00Z"))
                .await
                .unwrap();
            write(&store, &t("main-1", "2026-11-20T00:00:00Z"))
                .await
                .unwrap();
            // Another cluster's, and a stray object: not listed.
            let mut other = t("other-1", "2026-12-01T00:00:00Z");
            other.cluster = "other".into();
            write(&store, &other).await.unwrap();
            let all = list(&store, "main").await.unwrap();
            assert_eq!(
                all.iter()
                    .map(|(k, t)| (k.as_str(), t.snapshot_id.as_str()))
                    .collect::<Vec<_>>(),
                vec![
                    ("p/deleted/main/main-1.json", "main-1"),
                    ("p/deleted/main/main-2.json", "main-2")
                ]
            );
            assert_eq!(
                expired(&all, at("2026-12-02T00:00:00Z"), chrono::Duration::days(7)),
                vec!["p/deleted/main/main-1.json".to_string()]
            );
        });
    }
}
