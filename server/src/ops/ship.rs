//! Shipping glue: runs `crate::ship` for a cluster and records what came of
//! it — the record's `shipped` state, the pending remote deletes, metrics,
//! the log and the audit log.
//!
//! When things happen:
//! - A snapshot is shipped right after it is catalogued (`Services::snapshot`,
//!   before retention). Its record says `shipped: {at: null, …}` from the
//!   first byte sent, so a delete from then on deletes remotely too.
//! - A failed upload leaves the record catalogued with `shipped.at: null`
//!   and `shipped.error`; it is retried on the cluster's next run (after
//!   retention), and once at server start — no timer of its own.
//! - Remote deletes are queued by `snapshots::delete` in the catalog
//!   transaction that removes the record; they are done right after a
//!   retention run or an API delete, and retried on every run until gone.
//! - A scheduled run claims its slot (`ship::claim`) before it snapshots
//!   ([`claim_slot`]); whoever applies retention also deletes claims older
//!   than [`CLAIMS_KEPT`], and tombstones as old.
//! - Before deleting a snapshot's objects it writes its tombstone
//!   (`ship::tombstone`), so servers sharing the store follow (`ops::sync`).

use std::sync::Arc;

use chrono::Utc;

use super::Services;
use super::audit;
use super::snapshots::file_of;
use crate::catalog::{RemoteDelete, SnapshotRecord};
use crate::config::ClusterConfig;
use crate::ship::claim::{self, ClaimBody, Claimed};
use crate::ship::tombstone::{self, Tombstone};
use crate::ship::{Store, upload};

/// Claims older than this are deleted (by the server that applies
/// retention): long past any run that could still claim them, and recent
/// enough to show who took each slot of the last week.
pub const CLAIMS_KEPT: chrono::Duration = chrono::Duration::days(7);

/// Older unshipped snapshots retried per run, oldest first: bounds how long
/// a run can take after a long outage (the rest wait for the next run).
const RETRIES_PER_RUN: usize = 4;

/// The cluster's store, when it has one; an open failure is logged.
pub(crate) fn open(cluster: &ClusterConfig) -> Option<Store> {
    let cfg = cluster.store.as_ref()?;
    match Store::open(cfg) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!("cluster {:?}: {e}", cluster.name);
            None
        }
    }
}

/// Ship a snapshot just taken; the record as it stands afterwards (the
/// same record when the cluster has no store).
pub async fn ship_taken(
    cluster: &ClusterConfig,
    services: &Services,
    record: &SnapshotRecord,
    actor: &str,
) -> SnapshotRecord {
    match open(cluster) {
        Some(store) => ship_record(cluster, &store, services, record, actor)
            .await
            .unwrap_or_else(|| record.clone()),
        None => record.clone(),
    }
}

/// Ship one catalogued snapshot and record the outcome. `None` when the
/// record went away meanwhile (deleted while uploading: its objects are
/// then queued for deletion too).
pub async fn ship_record(
    cluster: &ClusterConfig,
    store: &Store,
    services: &Services,
    record: &SnapshotRecord,
    actor: &str,
) -> Option<SnapshotRecord> {
    let file = file_of(&services.data_dir, record);
    let before = record.shipped.as_ref().map_or(0, |s| s.attempts);
    let plan = upload::planned(store, record, &file, before);
    // Mark it first: from here on, deleting it deletes remotely too.
    match services.catalog.update_snapshot(&record.id, |r| {
        r.shipped = Some(plan.clone());
    }) {
        Ok(Some(_)) => {}
        Ok(None) => return None,
        Err(e) => {
            tracing::warn!("shipping {}: the catalog: {e}", record.id);
            return None;
        }
    }
    let state = upload::ship(store, &file, record, plan, &Utc::now).await;
    let result = match &state.error {
        None => {
            services.metrics.upload_succeeded(&cluster.name, Utc::now());
            tracing::info!(
                "snapshot {} of {:?} shipped to {} ({} bytes, {} attempt(s))",
                record.id,
                cluster.name,
                state.key,
                state.bytes.unwrap_or_default(),
                state.attempts
            );
            Ok(())
        }
        Some(e) => {
            services.metrics.upload_failed(&cluster.name);
            tracing::warn!(
                "snapshot {} of {:?} NOT shipped to {} (kept here, retried on the next run): {e}",
                record.id,
                cluster.name,
                store.name()
            );
            Err(e.clone())
        }
    };
    audit::record(
        &services.catalog,
        Utc::now(),
        actor,
        "snapshot.ship",
        Some(&cluster.name),
        Some(&record.id),
        &result,
    );
    match services
        .catalog
        .update_snapshot(&record.id, |r| r.shipped = Some(state.clone()))
    {
        Ok(Some(r)) => Some(r),
        Ok(None) => {
            // Deleted while it uploaded: what was written must go as well.
            let pending = RemoteDelete {
                cluster: cluster.name.clone(),
                snapshot_id: record.id.clone(),
                store: state.store.clone(),
                keys: vec![state.metadata_key.clone(), state.key.clone()],
                queued_at: Utc::now(),
                attempts: 0,
                last_attempt_at: None,
                error: None,
            };
            if let Err(e) = services.catalog.put_remote_delete(&pending) {
                tracing::warn!("queueing the remote delete of {}: {e}", record.id);
            }
            drain_deletes(cluster, store, services, actor).await;
            None
        }
        Err(e) => {
            tracing::warn!("recording the shipping of {}: {e}", record.id);
            None
        }
    }
}

/// Everything owed to the store: pending remote deletes, then older
/// snapshots not shipped yet (at most [`RETRIES_PER_RUN`], oldest first;
/// `skip`: the one this run just tried).
pub async fn retry_pending(
    cluster: &ClusterConfig,
    services: &Services,
    skip: Option<&str>,
    actor: &str,
) {
    let Some(store) = open(cluster) else { return };
    drain_deletes(cluster, &store, services, actor).await;
    let mut owed: Vec<SnapshotRecord> = match services.catalog.snapshots() {
        Ok(all) => all
            .into_iter()
            .filter(|r| r.cluster == cluster.name && Some(r.id.as_str()) != skip)
            .filter(|r| r.shipped.as_ref().is_none_or(|s| s.at.is_none()))
            .collect(),
        Err(e) => {
            tracing::warn!(
                "cluster {:?}: listing unshipped snapshots: {e}",
                cluster.name
            );
            return;
        }
    };
    owed.reverse(); // the catalog lists newest first
    for r in owed.iter().take(RETRIES_PER_RUN) {
        ship_record(cluster, &store, services, r, actor).await;
    }
}

/// Delete the cluster's pending remote objects; failures stay queued with
/// their error (visible in `etcd-lens catalog remote-deletes`, the metrics
/// and the audit log) for the next run.
pub async fn drain_deletes(
    cluster: &ClusterConfig,
    store: &Store,
    services: &Services,
    actor: &str,
) {
    let pending = match services.catalog.remote_deletes() {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(
                "cluster {:?}: reading pending remote deletes: {e}",
                cluster.name
            );
            return;
        }
    };
    for mut p in pending.into_iter().filter(|p| p.cluster == cluster.name) {
        p.attempts += 1;
        p.last_attempt_at = Some(Utc::now());
        let result = if p.store != store.name() {
            Err(format!(
                "queued for {}, but the cluster now ships to {}: delete those objects by hand, or restore the store's configuration",
                p.store,
                store.name()
            ))
        } else {
            // The tombstone first: servers sharing the store delete their
            // copies when they find it (`ops::sync`).
            let t = Tombstone {
                cluster: p.cluster.clone(),
                snapshot_id: p.snapshot_id.clone(),
                deleted_by: services.leadership.server_id(),
                actor: actor.to_string(),
                deleted_at: p.queued_at,
            };
            match tombstone::write(store, &t).await {
                Ok(()) => store.delete_keys(&p.keys).await.map_err(|e| e.to_string()),
                Err(e) => Err(format!("writing its tombstone first: {e}")),
            }
        };
        let recorded = match &result {
            Ok(()) => services
                .catalog
                .remove_remote_delete(&p.cluster, &p.snapshot_id),
            Err(e) => {
                services.metrics.remote_delete_failed(&cluster.name);
                tracing::warn!(
                    "deleting snapshot {} of {:?} from {} failed (retried on the next run): {e}",
                    p.snapshot_id,
                    cluster.name,
                    p.store
                );
                p.error = Some(e.clone());
                services.catalog.put_remote_delete(&p)
            }
        };
        if let Err(e) = recorded {
            tracing::warn!("recording the remote delete of {}: {e}", p.snapshot_id);
        }
        audit::record(
            &services.catalog,
            Utc::now(),
            actor,
            "snapshot.remote_delete",
            Some(&cluster.name),
            Some(&p.snapshot_id),
            &result,
        );
    }
    let left = services
        .catalog
        .remote_deletes()
        .map(|all| all.iter().filter(|p| p.cluster == cluster.name).count())
        .unwrap_or_default();
    services
        .metrics
        .set_remote_deletes_pending(&cluster.name, left as u64);
}

/// Drain the cluster's remote deletes in the background (after an API
/// delete: the answer does not wait for the store).
pub fn spawn_drain(cluster: Arc<ClusterConfig>, services: Services, actor: String) {
    if cluster.store.is_none() {
        return;
    }
    tokio::spawn(async move {
        if let Some(store) = open(&cluster) {
            drain_deletes(&cluster, &store, &services, &actor).await;
        }
    });
}

/// At server start: probe the store and log what it supports, then retry
/// what is owed to it.
pub async fn at_start(cluster: Arc<ClusterConfig>, services: Services) {
    let Some(store) = open(&cluster) else { return };
    let tag = format!("{}-{}", cluster.name, std::process::id());
    match store.probe(&tag).await {
        Ok(p) => {
            for note in p.notes() {
                tracing::info!("cluster {:?}, store {}: {note}", cluster.name, store.name());
            }
        }
        Err(e) => tracing::warn!(
            "cluster {:?}: probing its store failed — snapshots stay here until it answers: {e}",
            cluster.name
        ),
    }
    retry_pending(&cluster, &services, None, "server").await;
}

/// What came of claiming a scheduled run's slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlotClaim {
    /// The cluster has no store: nothing to claim in, snapshot as ever.
    NoStore,
    /// Ours: snapshot.
    Won,
    /// Another server (`by`) has the slot: skip the run.
    Lost { by: String },
    /// The store could not be asked; the run snapshots anyway (a backup
    /// missed is worse than one taken twice while the store is down).
    Unavailable(String),
}

/// Claim `slot` for the run that will take snapshot `snapshot_id`.
#[allow(clippy::too_many_arguments)]
pub async fn claim_slot(
    cluster: &ClusterConfig,
    server_id: &str,
    schedule: &str,
    slot: chrono::DateTime<Utc>,
    snapshot_id: &str,
    now: chrono::DateTime<Utc>,
) -> SlotClaim {
    let Some(store) = open(cluster) else {
        return if cluster.store.is_some() {
            SlotClaim::Unavailable("the store could not be opened".into())
        } else {
            SlotClaim::NoStore
        };
    };
    let body = ClaimBody {
        server_id: server_id.to_string(),
        cluster: cluster.name.clone(),
        slot,
        schedule: schedule.to_string(),
        snapshot_id: snapshot_id.to_string(),
        claimed_at: now,
    };
    match claim::claim(&store, &body).await {
        Ok(Claimed::Won { key }) => {
            tracing::debug!("cluster {:?}: claimed {key}", cluster.name);
            SlotClaim::Won
        }
        Ok(Claimed::Lost { key, by }) => {
            tracing::info!(
                "cluster {:?}: the run due {} is skipped: {key} is claimed by {by}",
                cluster.name,
                slot.to_rfc3339()
            );
            SlotClaim::Lost { by }
        }
        Err(e) => {
            tracing::warn!(
                "cluster {:?}: the run due {} could not claim its slot, snapshotting anyway (another server may take it too): {e}",
                cluster.name,
                slot.to_rfc3339()
            );
            SlotClaim::Unavailable(e.to_string())
        }
    }
}

/// Delete the cluster's claims and tombstones older than [`CLAIMS_KEPT`];
/// failures are logged and retried on the next run.
pub async fn prune_claims(cluster: &ClusterConfig, now: chrono::DateTime<Utc>) {
    let Some(store) = open(cluster) else { return };
    match tombstone::list(&store, &cluster.name).await {
        Ok(all) => {
            if let Err(e) = store
                .delete_keys(&tombstone::expired(&all, now, CLAIMS_KEPT))
                .await
            {
                tracing::warn!(
                    "cluster {:?}: deleting old tombstones (retried on the next run): {e}",
                    cluster.name
                );
            }
        }
        Err(e) => tracing::warn!("cluster {:?}: listing tombstones: {e}", cluster.name),
    }
    let old = match claim::list(&store, &cluster.name).await {
        Ok(all) => claim::expired(&all, now, CLAIMS_KEPT),
        Err(e) => {
            tracing::warn!("cluster {:?}: listing claims: {e}", cluster.name);
            return;
        }
    };
    if let Err(e) = store.delete_keys(&old).await {
        tracing::warn!(
            "cluster {:?}: deleting old claims (retried on the next run): {e}",
            cluster.name
        );
    }
}
