//! The snapshot catalog: every redb table the server uses is defined here,
//! and this is the only code that opens redb.
//!
//! Versioning: the `meta` table holds `schema_version`. Records are JSON
//! (see `crate::records`), so adding an optional field needs no migration and no
//! version bump; a change that old code would misread (a renamed field, a
//! new table old code must honour) bumps the version, and a binary refuses a
//! catalog newer than it knows instead of corrupting it.
//!
//! redb locks its file to one process: a second opener gets
//! [`CatalogError::InUse`] ("catalog in use by a running server").

use std::path::Path;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

pub use crate::records::{
    AuditEntry, DrillCheck, DrillRecord, DrillVerdict, HashKvRecord, RemoteDelete, ShipState,
    SnapshotRecord, SnapshotState,
};

/// Snapshot id → JSON [`SnapshotRecord`].
const SNAPSHOTS: TableDefinition<&str, &str> = TableDefinition::new("snapshots");
/// Sequence → JSON [`AuditEntry`].
const AUDIT: TableDefinition<u64, &str> = TableDefinition::new("audit_log");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// `<cluster>/<schedule>` → the due time (Unix seconds) of the last run fired.
const SCHEDULE_RUNS: TableDefinition<&str, i64> = TableDefinition::new("schedule_runs");
/// `<cluster>/<snapshot id>` → JSON [`RemoteDelete`]: objects still to delete
/// from the store. An older binary ignores the table (the deletes wait for a
/// newer one), so it needs no schema bump.
const REMOTE_DELETES: TableDefinition<&str, &str> = TableDefinition::new("remote_deletes");
/// Cluster name → its snapshot schedules as edited from the page (JSON).
const SCHEDULE_EDITS: TableDefinition<&str, &str> = TableDefinition::new("schedule_edits");

/// The catalog format this binary writes and reads.
pub const SCHEMA_VERSION: u64 = 1;

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error(
        "catalog {path} is in use by a running server (redb allows one process): use the server's API, or stop it"
    )]
    InUse { path: String },
    #[error(
        "catalog {path} has schema version {found}; this etcd-lens knows up to {SCHEMA_VERSION}: upgrade etcd-lens"
    )]
    TooNew { path: String, found: u64 },
    #[error("catalog: {0}")]
    Db(String),
    #[error("catalog record {id}: {error}")]
    Record { id: String, error: String },
}

fn db<E: std::fmt::Display>(e: E) -> CatalogError {
    CatalogError::Db(e.to_string())
}

/// The catalog: the only holder of the redb database (other rooms ask it for
/// typed records; none opens redb itself).
pub struct Catalog {
    db: Database,
}

impl Catalog {
    /// Open or create `catalog.redb` in `data_dir`, with every table present.
    pub fn open(data_dir: &Path) -> Result<Self, CatalogError> {
        let path = data_dir.join("catalog.redb");
        let shown = path.display().to_string();
        let db = Database::create(&path).map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => CatalogError::InUse {
                path: shown.clone(),
            },
            e => CatalogError::Db(format!("opening {shown}: {e}")),
        })?;
        let tx = db.begin_write().map_err(db_err)?;
        {
            tx.open_table(SNAPSHOTS).map_err(db_err)?;
            tx.open_table(AUDIT).map_err(db_err)?;
            tx.open_table(SCHEDULE_RUNS).map_err(db_err)?;
            tx.open_table(REMOTE_DELETES).map_err(db_err)?;
            tx.open_table(SCHEDULE_EDITS).map_err(db_err)?;
            let mut meta = tx.open_table(META).map_err(db_err)?;
            let found = meta
                .get("schema_version")
                .map_err(db_err)?
                .map(|v| v.value());
            match found {
                Some(v) if v > SCHEMA_VERSION => {
                    return Err(CatalogError::TooNew {
                        path: shown,
                        found: v,
                    });
                }
                Some(_) => {}
                None => {
                    meta.insert("schema_version", SCHEMA_VERSION)
                        .map_err(db_err)?;
                }
            }
        }
        tx.commit().map_err(db_err)?;
        Ok(Self { db })
    }

    /// Number of catalogued snapshots.
    pub fn snapshot_count(&self) -> Result<u64, CatalogError> {
        use redb::ReadableTableMetadata;
        let tx = self.db.begin_read().map_err(db_err)?;
        tx.open_table(SNAPSHOTS)
            .map_err(db_err)?
            .len()
            .map_err(db_err)
    }

    /// Record a snapshot (insert or replace by id).
    pub fn put_snapshot(&self, r: &SnapshotRecord) -> Result<(), CatalogError> {
        let json = serde_json::to_string(r).map_err(db)?;
        let tx = self.db.begin_write().map_err(db_err)?;
        tx.open_table(SNAPSHOTS)
            .map_err(db_err)?
            .insert(r.id.as_str(), json.as_str())
            .map_err(db_err)?;
        tx.commit().map_err(db_err)
    }

    pub fn snapshot(&self, id: &str) -> Result<Option<SnapshotRecord>, CatalogError> {
        let tx = self.db.begin_read().map_err(db_err)?;
        let t = tx.open_table(SNAPSHOTS).map_err(db_err)?;
        let Some(v) = t.get(id).map_err(db_err)? else {
            return Ok(None);
        };
        parse(id, v.value()).map(Some)
    }

    /// Every snapshot, newest first (by start time, then id).
    pub fn snapshots(&self) -> Result<Vec<SnapshotRecord>, CatalogError> {
        let tx = self.db.begin_read().map_err(db_err)?;
        let t = tx.open_table(SNAPSHOTS).map_err(db_err)?;
        let mut out = Vec::new();
        for row in t.iter().map_err(db_err)? {
            let (k, v) = row.map_err(db_err)?;
            out.push(parse(k.value(), v.value())?);
        }
        out.sort_by(|a, b| (b.started_at, &b.id).cmp(&(a.started_at, &a.id)));
        Ok(out)
    }

    /// Remove a record; whether it was there.
    pub fn remove_snapshot(&self, id: &str) -> Result<bool, CatalogError> {
        let tx = self.db.begin_write().map_err(db_err)?;
        let was = tx
            .open_table(SNAPSHOTS)
            .map_err(db_err)?
            .remove(id)
            .map_err(db_err)?
            .is_some();
        tx.commit().map_err(db_err)?;
        Ok(was)
    }

    /// Change a record in place, in one transaction; `None` (and nothing
    /// written) when it is gone, so a late update never brings back a
    /// snapshot deleted meanwhile.
    pub fn update_snapshot(
        &self,
        id: &str,
        change: impl FnOnce(&mut SnapshotRecord),
    ) -> Result<Option<SnapshotRecord>, CatalogError> {
        let tx = self.db.begin_write().map_err(db_err)?;
        let updated = {
            let mut t = tx.open_table(SNAPSHOTS).map_err(db_err)?;
            let current = match t.get(id).map_err(db_err)? {
                Some(v) => Some(parse(id, v.value())?),
                None => None,
            };
            match current {
                None => None,
                Some(mut r) => {
                    change(&mut r);
                    let json = serde_json::to_string(&r).map_err(db)?;
                    t.insert(id, json.as_str()).map_err(db_err)?;
                    Some(r)
                }
            }
        };
        tx.commit().map_err(db_err)?;
        Ok(updated)
    }

    /// Remove a record and, in the same transaction, queue the deletion of
    /// its objects in the store: either both happen or neither.
    pub fn remove_snapshot_queueing(
        &self,
        id: &str,
        remote: Option<&RemoteDelete>,
    ) -> Result<bool, CatalogError> {
        let tx = self.db.begin_write().map_err(db_err)?;
        let was = tx
            .open_table(SNAPSHOTS)
            .map_err(db_err)?
            .remove(id)
            .map_err(db_err)?
            .is_some();
        if let Some(r) = remote {
            let json = serde_json::to_string(r).map_err(db)?;
            tx.open_table(REMOTE_DELETES)
                .map_err(db_err)?
                .insert(
                    remote_key(&r.cluster, &r.snapshot_id).as_str(),
                    json.as_str(),
                )
                .map_err(db_err)?;
        }
        tx.commit().map_err(db_err)?;
        Ok(was)
    }

    /// Remote deletes still to do, oldest first.
    pub fn remote_deletes(&self) -> Result<Vec<RemoteDelete>, CatalogError> {
        let tx = self.db.begin_read().map_err(db_err)?;
        let t = tx.open_table(REMOTE_DELETES).map_err(db_err)?;
        let mut out: Vec<RemoteDelete> = Vec::new();
        for row in t.iter().map_err(db_err)? {
            let (k, v) = row.map_err(db_err)?;
            out.push(
                serde_json::from_str(v.value()).map_err(|e| CatalogError::Record {
                    id: format!("remote delete {}", k.value()),
                    error: e.to_string(),
                })?,
            );
        }
        out.sort_by(|a, b| (a.queued_at, &a.snapshot_id).cmp(&(b.queued_at, &b.snapshot_id)));
        Ok(out)
    }

    /// Record an attempt (insert or replace).
    pub fn put_remote_delete(&self, r: &RemoteDelete) -> Result<(), CatalogError> {
        let json = serde_json::to_string(r).map_err(db)?;
        let tx = self.db.begin_write().map_err(db_err)?;
        tx.open_table(REMOTE_DELETES)
            .map_err(db_err)?
            .insert(
                remote_key(&r.cluster, &r.snapshot_id).as_str(),
                json.as_str(),
            )
            .map_err(db_err)?;
        tx.commit().map_err(db_err)
    }

    /// The objects are gone: forget the entry.
    pub fn remove_remote_delete(&self, cluster: &str, id: &str) -> Result<(), CatalogError> {
        let tx = self.db.begin_write().map_err(db_err)?;
        tx.open_table(REMOTE_DELETES)
            .map_err(db_err)?
            .remove(remote_key(cluster, id).as_str())
            .map_err(db_err)?;
        tx.commit().map_err(db_err)
    }

    /// Append to the audit log; `seq` is assigned here.
    pub fn append_audit(&self, mut e: AuditEntry) -> Result<AuditEntry, CatalogError> {
        let tx = self.db.begin_write().map_err(db_err)?;
        {
            let mut t = tx.open_table(AUDIT).map_err(db_err)?;
            let next = t.last().map_err(db_err)?.map_or(1, |(k, _)| k.value() + 1);
            e.seq = next;
            let json = serde_json::to_string(&e).map_err(db)?;
            t.insert(next, json.as_str()).map_err(db_err)?;
        }
        tx.commit().map_err(db_err)?;
        Ok(e)
    }

    /// When the schedule `key` last fired (its due time), if ever.
    pub fn last_scheduled(
        &self,
        key: &str,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, CatalogError> {
        let tx = self.db.begin_read().map_err(db_err)?;
        let t = tx.open_table(SCHEDULE_RUNS).map_err(db_err)?;
        Ok(t.get(key)
            .map_err(db_err)?
            .and_then(|v| chrono::DateTime::from_timestamp(v.value(), 0)))
    }

    /// The page's edit of `cluster`'s snapshot schedules, if any.
    pub fn schedule_edit(
        &self,
        cluster: &str,
    ) -> Result<Option<crate::records::ScheduleEdit>, CatalogError> {
        let tx = self.db.begin_read().map_err(db_err)?;
        let t = tx.open_table(SCHEDULE_EDITS).map_err(db_err)?;
        let Some(v) = t.get(cluster).map_err(db_err)? else {
            return Ok(None);
        };
        serde_json::from_str(v.value())
            .map(Some)
            .map_err(|e| CatalogError::Record {
                id: format!("schedule edit of {cluster}"),
                error: e.to_string(),
            })
    }

    /// Keep the page's edit (`Some`) or drop it, back to the file (`None`);
    /// whether an edit was there before.
    pub fn set_schedule_edit(
        &self,
        cluster: &str,
        edit: Option<&crate::records::ScheduleEdit>,
    ) -> Result<bool, CatalogError> {
        let tx = self.db.begin_write().map_err(db_err)?;
        let was = {
            let mut t = tx.open_table(SCHEDULE_EDITS).map_err(db_err)?;
            match edit {
                Some(e) => {
                    let json =
                        serde_json::to_string(e).map_err(|e| CatalogError::Db(e.to_string()))?;
                    t.insert(cluster, json.as_str()).map_err(db_err)?.is_some()
                }
                None => t.remove(cluster).map_err(db_err)?.is_some(),
            }
        };
        tx.commit().map_err(db_err)?;
        Ok(was)
    }

    pub fn set_last_scheduled(
        &self,
        key: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), CatalogError> {
        let tx = self.db.begin_write().map_err(db_err)?;
        tx.open_table(SCHEDULE_RUNS)
            .map_err(db_err)?
            .insert(key, at.timestamp())
            .map_err(db_err)?;
        tx.commit().map_err(db_err)
    }

    /// The audit log, oldest first.
    pub fn audit_log(&self) -> Result<Vec<AuditEntry>, CatalogError> {
        let tx = self.db.begin_read().map_err(db_err)?;
        let t = tx.open_table(AUDIT).map_err(db_err)?;
        let mut out = Vec::new();
        for row in t.iter().map_err(db_err)? {
            let (k, v) = row.map_err(db_err)?;
            out.push(
                serde_json::from_str(v.value()).map_err(|e| CatalogError::Record {
                    id: format!("audit #{}", k.value()),
                    error: e.to_string(),
                })?,
            );
        }
        Ok(out)
    }
}

fn db_err<E: Into<redb::Error>>(e: E) -> CatalogError {
    CatalogError::Db(e.into().to_string())
}

fn remote_key(cluster: &str, id: &str) -> String {
    format!("{cluster}/{id}")
}

fn parse(id: &str, json: &str) -> Result<SnapshotRecord, CatalogError> {
    serde_json::from_str(json).map_err(|e| CatalogError::Record {
        id: id.to_string(),
        error: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str) -> SnapshotRecord {
        SnapshotRecord {
            id: id.into(),
            cluster: "c".into(),
            status: SnapshotState::Done,
            error: None,
            reason: "manual".into(),
            member_id: "1".into(),
            member_name: "m".into(),
            started_at: chrono::Utc::now(),
            finished_at: None,
            revision: 5,
            db_size_bytes: 4096,
            total_keys: 3,
            status_hash: 7,
            plaintext_sha256: String::new(),
            stored_sha256: String::new(),
            stored_bytes: 0,
            bytes_received: 0,
            encrypted: true,
            recipients: vec![],
            path: "snapshots/c/x".into(),
            etcd_version: "3.4.23".into(),
            cluster_id: "abc".into(),
            hash_kv: None,
            hash_kv_error: None,
            pinned: false,
            shipped: None,
            drill: None,
            compression: None,
            status_version: String::new(),
            extra: Default::default(),
        }
    }

    #[test]
    fn records_round_trip_and_keep_unknown_fields() {
        let dir = tempfile::tempdir().unwrap();
        let c = Catalog::open(dir.path()).unwrap();
        let mut r = record("a");
        r.extra
            .insert("shipped_to".into(), serde_json::json!(["s3"]));
        c.put_snapshot(&r).unwrap();
        assert_eq!(c.snapshot("a").unwrap().unwrap(), r);
        assert_eq!(c.snapshots().unwrap().len(), 1);
        assert!(c.remove_snapshot("a").unwrap());
        assert!(c.snapshot("a").unwrap().is_none());
    }

    #[test]
    fn a_delete_and_its_remote_part_are_one_transaction() {
        let dir = tempfile::tempdir().unwrap();
        let c = Catalog::open(dir.path()).unwrap();
        c.put_snapshot(&record("a")).unwrap();
        let pending = RemoteDelete {
            cluster: "c".into(),
            snapshot_id: "a".into(),
            store: "file:///x".into(),
            keys: vec!["c/a.json".into(), "c/a.db.age".into()],
            queued_at: chrono::Utc::now(),
            attempts: 0,
            last_attempt_at: None,
            error: None,
        };
        assert!(c.remove_snapshot_queueing("a", Some(&pending)).unwrap());
        assert!(c.snapshot("a").unwrap().is_none());
        assert_eq!(c.remote_deletes().unwrap(), [pending]);
        // An update of a record deleted meanwhile writes nothing.
        assert!(
            c.update_snapshot("a", |r| r.pinned = true)
                .unwrap()
                .is_none()
        );
        assert!(c.snapshot("a").unwrap().is_none());
        c.remove_remote_delete("c", "a").unwrap();
        assert!(c.remote_deletes().unwrap().is_empty());
    }

    #[test]
    fn a_second_process_is_told_the_catalog_is_in_use() {
        let dir = tempfile::tempdir().unwrap();
        let _c = Catalog::open(dir.path()).unwrap();
        let e = Catalog::open(dir.path()).err().unwrap();
        assert!(matches!(e, CatalogError::InUse { .. }), "{e}");
    }

    #[test]
    fn audit_log_appends_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let c = Catalog::open(dir.path()).unwrap();
        for a in ["snapshot", "delete"] {
            c.append_audit(AuditEntry {
                seq: 0,
                at: chrono::Utc::now(),
                actor: "cli".into(),
                action: a.into(),
                cluster: None,
                snapshot_id: None,
                result: "ok".into(),
            })
            .unwrap();
        }
        let log = c.audit_log().unwrap();
        assert_eq!(
            log.iter()
                .map(|e| (e.seq, e.action.as_str()))
                .collect::<Vec<_>>(),
            [(1, "snapshot"), (2, "delete")]
        );
    }
}
