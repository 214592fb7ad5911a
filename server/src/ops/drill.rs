//! A restore drill of a catalogued snapshot (or a bare file): pick the work
//! folder, run `crate::drill`, record the verdict in the catalog, the audit
//! log and the metrics.

use std::path::{Path, PathBuf};

use chrono::Utc;

use super::{Services, audit, snapshots};
use crate::catalog::DrillRecord;
use crate::config::ClusterConfig;
use crate::drill::{self, DrillInputs};

/// The drill of snapshot `id` of `cluster`; `Err` when it cannot start at all.
pub async fn drill_snapshot(
    services: &Services,
    cluster: &ClusterConfig,
    id: &str,
    actor: &str,
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
    let stored = snapshots::file_of(&services.data_dir, &record);
    let work_root = work_root(
        cfg.work_dir.as_deref(),
        &services.data_dir,
        record.db_size_bytes,
    );
    let result = drill::drill(
        &cfg.binaries,
        DrillInputs {
            id,
            stored: &stored,
            encrypted: record.encrypted,
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
