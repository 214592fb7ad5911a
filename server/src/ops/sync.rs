//! Servers sharing a bucket keep one catalog between them: each server's
//! catalog follows the cluster's store, so every server lists every
//! server's snapshots, the leader's retention plans over all of them, and a
//! snapshot deleted by one server goes from the others.
//!
//! One pass ([`follow`]) over a cluster's store:
//! - a complete snapshot in the store (its metadata object, its data object
//!   of the recorded size) that this catalog lacks is catalogued, with its
//!   path under `in-store/` (no file here: drills fetch it from the store);
//!   not when this server queued its remote delete (it is on its way out),
//!   nor when it has a tombstone;
//! - a snapshot of this catalog with a tombstone (`ship::tombstone`: another
//!   server deleted it) is deleted here, file and entry, and written to the
//!   audit log as `sync.delete`; a pinned one is kept and reported;
//! - a snapshot this server shipped whose metadata object is gone without a
//!   tombstone is reported as missing and kept: an emptied bucket never
//!   deletes local copies.
//!
//! When: with `[coordination]`, at start, every `catalog_sync_seconds` and
//! before the leader applies retention. A server alone does not follow (its
//! catalog is the authority; `etcd-lens catalog rebuild` reads the store
//! after a disk loss).
//!
//! The decisions ([`decide`]) are pure; [`follow`] reads the store and
//! applies them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Services;
use super::audit;
use super::snapshots::file_of;
use crate::catalog::SnapshotRecord;
use crate::config::ClusterConfig;
use crate::ship::rebuild;
use crate::ship::tombstone::{self, Tombstone};

/// The folder (under the data folder) that records catalogued from the
/// store point into; never created, so no file is ever found there.
pub const IN_STORE: &str = "in-store";

/// What one pass found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Followed {
    pub at: Option<DateTime<Utc>>,
    /// Catalogued from the store.
    pub imported: Vec<String>,
    /// Deleted here: another server deleted them (tombstone).
    pub deleted: Vec<String>,
    /// Shipped from here, gone from the store without a tombstone: kept.
    pub missing: Vec<String>,
    /// Tombstoned but pinned here: kept.
    pub kept_pinned: Vec<String>,
    /// Objects of the store that make no complete snapshot (not catalogued).
    pub problems: Vec<rebuild::Problem>,
    /// The pass could not read the store (nothing was changed).
    pub error: Option<String>,
}

/// Every cluster's last pass, for the API and the page.
#[derive(Default)]
pub struct Follows {
    last: Mutex<BTreeMap<String, Followed>>,
}

impl Follows {
    pub fn of(&self, cluster: &str) -> Option<Followed> {
        self.lock().get(cluster).cloned()
    }

    fn set(&self, cluster: &str, f: Followed) {
        self.lock().insert(cluster.to_string(), f);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Followed>> {
        self.last.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// What a pass decides, from the facts alone.
#[derive(Debug, Default, PartialEq)]
pub struct Decisions {
    pub import: Vec<SnapshotRecord>,
    pub delete: Vec<String>,
    pub missing: Vec<String>,
    pub kept_pinned: Vec<String>,
}

/// Decide a pass: `local`, this catalog's records of the cluster; `found`,
/// the store's complete records this catalog lacks (`rebuild::read_back_except`
/// with `local`'s ids); `listed`, every id with a metadata object;
/// `tombstoned`, ids with a tombstone; `queued`, ids whose remote delete
/// this server queued; `store`, the store's name.
pub fn decide(
    local: &[SnapshotRecord],
    found: Vec<SnapshotRecord>,
    listed: &BTreeSet<String>,
    tombstoned: &BTreeSet<String>,
    queued: &BTreeSet<String>,
    store: &str,
) -> Decisions {
    let mut d = Decisions::default();
    let here: BTreeSet<&str> = local.iter().map(|r| r.id.as_str()).collect();
    for mut r in found {
        if here.contains(r.id.as_str()) || tombstoned.contains(&r.id) || queued.contains(&r.id) {
            continue;
        }
        r.path = in_store_path(&r);
        d.import.push(r);
    }
    for r in local {
        if tombstoned.contains(&r.id) {
            if r.pinned {
                d.kept_pinned.push(r.id.clone());
            } else {
                d.delete.push(r.id.clone());
            }
            continue;
        }
        let shipped_here = r
            .shipped
            .as_ref()
            .is_some_and(|s| s.at.is_some() && s.store == store);
        if shipped_here && !listed.contains(&r.id) {
            d.missing.push(r.id.clone());
        }
    }
    d
}

/// `in-store/<cluster>/<file name>`: where a record catalogued from the
/// store points (no file is there).
fn in_store_path(r: &SnapshotRecord) -> String {
    let name = std::path::Path::new(&r.path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| format!("{}.db", r.id));
    format!("{IN_STORE}/{}/{name}", r.cluster)
}

/// Follow the cluster's store once (see the module's doc); the outcome is
/// also kept in `services.follows`. Nothing happens without a store.
pub async fn follow(
    cluster: &ClusterConfig,
    services: &Services,
    now: DateTime<Utc>,
    actor: &str,
) -> Option<Followed> {
    let store = super::ship::open(cluster)?;
    let mut out = Followed {
        at: Some(now),
        ..Followed::default()
    };
    let result = async {
        let local: Vec<SnapshotRecord> = services
            .catalog
            .snapshots()
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter(|r| r.cluster == cluster.name)
            .collect();
        let known: BTreeSet<String> = local.iter().map(|r| r.id.clone()).collect();
        let queued: BTreeSet<String> = services
            .catalog
            .remote_deletes()
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter(|p| p.cluster == cluster.name)
            .map(|p| p.snapshot_id)
            .collect();
        // The snapshots first, the tombstones after: a server deleting one
        // meanwhile writes its tombstone before deleting its metadata
        // object, so it is either still listed or already tombstoned here,
        // never taken as missing.
        let back = rebuild::read_back_except(&store, &cluster.name, false, &known)
            .await
            .map_err(|e| e.to_string())?;
        let tombstones: Vec<(String, Tombstone)> = tombstone::list(&store, &cluster.name)
            .await
            .map_err(|e| e.to_string())?;
        let tombstoned: BTreeSet<String> =
            tombstones.into_iter().map(|(_, t)| t.snapshot_id).collect();
        Ok::<_, String>((
            decide(
                &local,
                back.records,
                &back.listed,
                &tombstoned,
                &queued,
                store.name(),
            ),
            back.problems,
        ))
    }
    .await;
    match result {
        Err(e) => {
            tracing::warn!(
                "cluster {:?}: following {} failed (the catalog is left as it is): {e}",
                cluster.name,
                store.name()
            );
            out.error = Some(e);
        }
        Ok((d, problems)) => {
            out.problems = problems;
            apply(cluster, services, d, now, actor, &mut out);
        }
    }
    services.follows.set(&cluster.name, out.clone());
    Some(out)
}

/// Follow the cluster's store now and every `period` (the server's task
/// with `[coordination]`).
pub async fn follow_every(
    cluster: std::sync::Arc<ClusterConfig>,
    services: Services,
    period: std::time::Duration,
) {
    loop {
        follow(&cluster, &services, Utc::now(), "server").await;
        tokio::time::sleep(period).await;
    }
}

fn apply(
    cluster: &ClusterConfig,
    services: &Services,
    d: Decisions,
    now: DateTime<Utc>,
    actor: &str,
    out: &mut Followed,
) {
    for r in d.import {
        match services.catalog.put_snapshot(&r) {
            Ok(()) => out.imported.push(r.id),
            Err(e) => tracing::warn!("cataloguing {} from the store: {e}", r.id),
        }
    }
    for id in d.delete {
        let result = delete_here(services, &id);
        if let Err(e) = &result {
            tracing::warn!(
                "cluster {:?}: {id} was deleted by another server, deleting it here failed (retried next pass): {e}",
                cluster.name
            );
        } else {
            out.deleted.push(id.clone());
        }
        audit::record(
            &services.catalog,
            now,
            actor,
            "sync.delete",
            Some(&cluster.name),
            Some(&id),
            &result,
        );
    }
    for id in &d.missing {
        tracing::warn!(
            "cluster {:?}: {id} was shipped from here but its metadata object is gone from the store, with no tombstone: kept here",
            cluster.name
        );
    }
    for id in &d.kept_pinned {
        tracing::warn!(
            "cluster {:?}: {id} was deleted from the store by another server but is pinned here: kept",
            cluster.name
        );
    }
    if !out.imported.is_empty() || !out.deleted.is_empty() {
        tracing::info!(
            "cluster {:?}: followed the store: {} catalogued, {} deleted",
            cluster.name,
            out.imported.len(),
            out.deleted.len()
        );
    }
    out.missing = d.missing;
    out.kept_pinned = d.kept_pinned;
}

/// Delete a tombstoned snapshot here: its file, then its entry (no remote
/// delete: the store's copy is gone already, or going).
fn delete_here(services: &Services, id: &str) -> Result<(), String> {
    let Some(record) = services.catalog.snapshot(id).map_err(|e| e.to_string())? else {
        return Ok(());
    };
    match std::fs::remove_file(file_of(&services.data_dir, &record)) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("removing the file: {e}")),
    }
    services
        .catalog
        .remove_snapshot_queueing(id, None)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{ShipState, SnapshotState};

    fn record(id: &str, shipped_to: Option<&str>, pinned: bool) -> SnapshotRecord {
        let mut r: SnapshotRecord = serde_json::from_value(serde_json::json!({
            "id": id, "cluster": "main", "status": "done", "error": null,
            "reason": "scheduled", "member_id": "1", "member_name": "m",
            "started_at": "2026-12-02T00:00:00Z", "finished_at": null,
            "revision": 1, "db_size_bytes": 1, "total_keys": 1, "status_hash": 1,
            "plaintext_sha256": "", "stored_sha256": "", "stored_bytes": 1,
            "bytes_received": 1, "encrypted": true, "recipients": [],
            "path": format!("/srv/a/snapshots/main/{id}.db.age"),
            "etcd_version": "3.5.0", "cluster_id": "1", "hash_kv": null,
            "hash_kv_error": null
        }))
        .unwrap();
        assert_eq!(r.status, SnapshotState::Done);
        r.pinned = pinned;
        r.shipped = shipped_to.map(|s| ShipState {
            store: s.into(),
            key: format!("main/{id}.db.age"),
            metadata_key: format!("main/{id}.json"),
            at: Some(r.started_at),
            bytes: Some(1),
            error: None,
            attempts: 1,
            last_attempt_at: None,
        });
        r
    }

    fn set(ids: &[&str]) -> BTreeSet<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn imports_deletes_and_keeps_as_the_store_says() {
        let store = "file:///bucket/p";
        let local = vec![
            record("a", Some(store), false),        // listed: nothing to do
            record("b", Some(store), false),        // tombstoned: delete here
            record("c", Some(store), true),         // tombstoned, pinned: keep
            record("d", Some(store), false),        // gone, no tombstone: missing
            record("e", None, false),               // never shipped: nothing
            record("f", Some("s3://other"), false), // shipped elsewhere: nothing
        ];
        let found = vec![
            record("x", Some(store), false), // another server's: import
            record("y", Some(store), false), // tombstoned: not imported
            record("z", Some(store), false), // queued for delete here: not imported
            record("a", Some(store), false), // known (not re-imported)
        ];
        let d = decide(
            &local,
            found,
            &set(&["a", "x", "y", "z"]),
            &set(&["b", "c", "y"]),
            &set(&["z"]),
            store,
        );
        assert_eq!(
            d.import.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            ["x"]
        );
        assert_eq!(d.import[0].path, "in-store/main/x.db.age");
        assert_eq!(d.delete, ["b"]);
        assert_eq!(d.kept_pinned, ["c"]);
        assert_eq!(d.missing, ["d"]);
    }
}
