//! A restore drill of a catalogued snapshot (or a bare file): pick the copy
//! to drill ([`DrillSource`]: the stored file here or the shipped object),
//! pick the work folder, run `crate::drill`, record the verdict in the
//! catalog, the audit log and the metrics.
//!
//! A copy from the store is fetched by `ship::download` inside the drill's
//! work folder (the `fetch` step), so it goes with the folder on every
//! path; what cannot start at all (no copy anywhere, no store configured, a
//! store other than the one it was shipped to) is an `Err` and records
//! nothing.

use std::path::{Path, PathBuf};

use chrono::Utc;
use serde::Deserialize;

use super::{Services, audit, snapshots};
use crate::catalog::{DrillRecord, SnapshotRecord};
use crate::config::ClusterConfig;
use crate::drill::{self, DrillInputs, Stored};
use crate::ship::{Store, download};

/// Which copy of a snapshot a drill restores.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DrillSource {
    /// The stored file here.
    Local,
    /// The shipped object (`shipped.at` set), fetched for the drill.
    Store,
    /// The stored file when it is here, else the shipped object.
    #[default]
    Auto,
}

/// The drill of snapshot `id` of `cluster` ([`DrillSource::Auto`]); `Err`
/// when it cannot start at all.
pub async fn drill_snapshot(
    services: &Services,
    cluster: &ClusterConfig,
    id: &str,
    actor: &str,
) -> Result<DrillRecord, String> {
    drill_snapshot_from(services, cluster, id, actor, DrillSource::Auto).await
}

/// The drill of the `source` copy of snapshot `id` of `cluster`; `Err`
/// when it cannot start at all.
pub async fn drill_snapshot_from(
    services: &Services,
    cluster: &ClusterConfig,
    id: &str,
    actor: &str,
    source: DrillSource,
) -> Result<DrillRecord, String> {
    let Some(cfg) = &cluster.drill else {
        return Err(format!(
            "restore drills are not enabled for cluster {:?} (add [cluster.drill])",
            cluster.name
        ));
    };
    let mut record = services
        .catalog
        .snapshot(id)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no snapshot {id:?}"))?;
    let local = snapshots::file_of(&services.data_dir, &record);
    let here = local.is_file();
    let from_store = match source {
        DrillSource::Local if !here => {
            return Err(format!(
                "snapshot {id} has no stored file here ({}){}",
                local.display(),
                if shipped(&record).is_some() {
                    "; it was shipped: drill the store's copy (--from-store, ?source=store)"
                } else {
                    ""
                }
            ));
        }
        DrillSource::Local => false,
        DrillSource::Store => true,
        DrillSource::Auto => !here,
    };
    let stored = if from_store {
        let (store, key) = store_of(cluster, &record, here)?;
        let (want_bytes, want_sha256) = (record.stored_bytes, record.stored_sha256.clone());
        Stored::Fetched {
            source: DrillRecord::store_source(store.name()),
            fetch: Box::new(move |work: PathBuf| {
                Box::pin(async move {
                    // Still ciphertext (when encrypted); goes with the work folder.
                    let dest = work.join("stored.db.age");
                    let want = download::Expected {
                        bytes: want_bytes,
                        sha256: &want_sha256,
                    };
                    download::download_to(&store, &key, want, &dest)
                        .await
                        .map(|_| dest)
                        .map_err(|e| e.to_string())
                })
            }),
        }
    } else {
        Stored::Local(&local)
    };
    let work_root = work_root(
        cfg.work_dir.as_deref(),
        &services.data_dir,
        record.db_size_bytes,
    );
    let result = drill::drill(
        &cfg.binaries,
        DrillInputs {
            id,
            stored,
            encrypted: record.encrypted,
            compressed: record.compression.is_some(),
            identities: &cfg.identities,
            plaintext_sha256: Some(&record.plaintext_sha256),
            revision: Some(record.revision),
            hash_kv: record.hash_kv.as_ref(),
            etcd_version: &record.etcd_version,
            work_root: &work_root,
        },
    )
    .await;
    record.drill = Some(result.clone());
    services
        .catalog
        .put_snapshot(&record)
        .map_err(|e| e.to_string())?;
    services.metrics.drill_finished(&cluster.name, &result);
    audit::record(
        &services.catalog,
        Utc::now(),
        actor,
        "snapshot.drill",
        Some(&cluster.name),
        Some(id),
        &match result.verdict {
            crate::catalog::DrillVerdict::Passed => Ok(()),
            v => Err(format!(
                "{v:?}: {}",
                result.failed_check.clone().unwrap_or_default()
            )),
        },
    );
    Ok(result)
}

/// The record's completed shipping state, if any.
fn shipped(record: &SnapshotRecord) -> Option<&crate::records::ShipState> {
    record.shipped.as_ref().filter(|s| s.at.is_some())
}

/// The cluster's store and the data object's key, for a drill of the
/// shipped copy; `local_present` only words the error.
fn store_of(
    cluster: &ClusterConfig,
    record: &SnapshotRecord,
    local_present: bool,
) -> Result<(Store, String), String> {
    let id = &record.id;
    let Some(ship) = shipped(record) else {
        return Err(if local_present {
            format!("snapshot {id} was not shipped: only the stored file here can be drilled")
        } else {
            format!("snapshot {id} has no stored file here and was not shipped")
        });
    };
    let Some(cfg) = &cluster.store else {
        return Err(format!(
            "snapshot {id} was shipped to {}, but cluster {:?} has no [cluster.store] to read it from",
            ship.store, cluster.name
        ));
    };
    let store = Store::open(cfg).map_err(|e| e.to_string())?;
    if store.name() != ship.store {
        return Err(format!(
            "snapshot {id} was shipped to {}, but cluster {:?} now ships to {}: restore that store's configuration to drill it",
            ship.store,
            cluster.name,
            store.name()
        ));
    }
    Ok((store, ship.key.clone()))
}

/// tmpfs (`/dev/shm`) when three times the database fits in its free space
/// (the plaintext, the restored member, headroom), else `DATA_DIR/drills`.
pub fn work_root(configured: Option<&Path>, data_dir: &Path, db_bytes: u64) -> PathBuf {
    if let Some(w) = configured {
        return w.to_path_buf();
    }
    let shm = Path::new("/dev/shm");
    if free_bytes(shm).is_some_and(|free| free > db_bytes.saturating_mul(3)) {
        return shm.to_path_buf();
    }
    data_dir.join("drills")
}

fn free_bytes(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated path and `s` a writable statvfs.
    let r = unsafe { libc::statvfs(c.as_ptr(), &mut s) };
    (r == 0).then(|| s.f_bavail.saturating_mul(s.f_frsize))
}
