//! Taking a snapshot and recording it; the registry of running and failed
//! snapshots; listing and deleting.
//!
//! A snapshot is recorded in the catalog only once its file is complete,
//! checked and renamed into place, so a crash or a failure leaves no entry.
//! Running and failed snapshots live in [`Jobs`] (memory: they are not
//! facts about stored files, and a failed one has no file). One snapshot at
//! a time per cluster.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::catalog::{Catalog, HashKvRecord, RemoteDelete, SnapshotRecord, SnapshotState};
use crate::config::ClusterConfig;
use crate::etcd::snapshot::{Stream, choose};
use crate::etcd::status::{PreviousScrapes, cluster_status};
use crate::snapshot::{WriteError, Writer};

/// Failed snapshots kept for `GET /snapshots/{id}`.
const FAILED_KEPT: usize = 100;
/// Messages buffered between the stream and the writer (32 KiB each).
const CHANNEL_MESSAGES: usize = 64;

/// A snapshot not (or not yet) in the catalog.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct JobView {
    pub id: String,
    pub cluster: String,
    pub status: SnapshotState,
    pub error: Option<String>,
    pub reason: String,
    pub started_at: DateTime<Utc>,
    pub bytes_received: u64,
    pub revision: Option<i64>,
    pub db_size_bytes: Option<u64>,
    /// Whether it is being encrypted (recipients configured).
    pub encrypted: bool,
    /// Where it failed, when it failed.
    pub failed_stage: Option<Stage>,
}

/// What the API shows of a snapshot.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(untagged)]
pub enum SnapshotView {
    Stored(Box<SnapshotRecord>),
    Job(JobView),
}

struct Job {
    view: JobView,
    bytes: Arc<AtomicU64>,
}

#[derive(Default)]
struct Inner {
    jobs: BTreeMap<String, Job>,
    running: BTreeSet<String>,
    failed_order: Vec<String>,
}

/// Running and failed snapshots.
#[derive(Default)]
pub struct Jobs {
    inner: Mutex<Inner>,
}

/// A started job: its id and its byte counter.
pub struct Started {
    pub id: String,
    pub bytes: Arc<AtomicU64>,
    pub started_at: DateTime<Utc>,
}

impl Jobs {
    /// Register a snapshot of `cluster`; `Err` with the running one's id when one runs.
    pub fn begin(
        &self,
        cluster: &ClusterConfig,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Started, String> {
        let mut inner = self.inner.lock().expect("jobs lock");
        if inner.running.contains(&cluster.name) {
            let running = inner
                .jobs
                .values()
                .find(|j| j.view.cluster == cluster.name && j.view.status == SnapshotState::Running)
                .map(|j| j.view.id.clone())
                .unwrap_or_default();
            return Err(running);
        }
        let id = new_id(&cluster.name, now);
        let bytes = Arc::new(AtomicU64::new(0));
        inner.running.insert(cluster.name.clone());
        inner.jobs.insert(
            id.clone(),
            Job {
                view: JobView {
                    id: id.clone(),
                    cluster: cluster.name.clone(),
                    status: SnapshotState::Running,
                    error: None,
                    reason: reason.to_string(),
                    started_at: now,
                    bytes_received: 0,
                    revision: None,
                    db_size_bytes: None,
                    encrypted: !cluster.recipients.is_empty(),
                    failed_stage: None,
                },
                bytes: bytes.clone(),
            },
        );
        Ok(Started {
            id,
            bytes,
            started_at: now,
        })
    }

    /// The job ended: done ones leave the registry (the catalog has them).
    pub fn end(&self, id: &str, result: &Result<SnapshotRecord, Failure>) {
        let mut inner = self.inner.lock().expect("jobs lock");
        let Some(job) = inner.jobs.get_mut(id) else {
            return;
        };
        let cluster = job.view.cluster.clone();
        match result {
            Ok(_) => {
                inner.jobs.remove(id);
            }
            Err(e) => {
                job.view.status = SnapshotState::Failed;
                job.view.error = Some(e.message.clone());
                job.view.failed_stage = Some(e.stage);
                job.view.bytes_received = job.bytes.load(Ordering::Relaxed);
                inner.failed_order.push(id.to_string());
                if inner.failed_order.len() > FAILED_KEPT {
                    let old = inner.failed_order.remove(0);
                    inner.jobs.remove(&old);
                }
            }
        }
        inner.running.remove(&cluster);
    }

    /// Drop a job that never started its work (its scheduled slot was
    /// claimed by another server): no failure is recorded.
    pub fn cancel(&self, id: &str) {
        let mut inner = self.inner.lock().expect("jobs lock");
        if let Some(job) = inner.jobs.remove(id) {
            inner.running.remove(&job.view.cluster);
        }
    }

    pub fn get(&self, id: &str) -> Option<JobView> {
        let inner = self.inner.lock().expect("jobs lock");
        inner.jobs.get(id).map(Job::current)
    }

    /// Running and failed snapshots, newest first.
    pub fn list(&self) -> Vec<JobView> {
        let inner = self.inner.lock().expect("jobs lock");
        let mut v: Vec<JobView> = inner.jobs.values().map(Job::current).collect();
        v.sort_by(|a, b| (b.started_at, &b.id).cmp(&(a.started_at, &a.id)));
        v
    }
}

impl Job {
    fn current(&self) -> JobView {
        let mut v = self.view.clone();
        if v.status == SnapshotState::Running {
            v.bytes_received = self.bytes.load(Ordering::Relaxed);
        }
        v
    }
}

/// `<cluster>-<UTC time>-<4 hex>`: sortable by time, unique enough, safe in URLs and file names.
fn new_id(cluster: &str, now: DateTime<Utc>) -> String {
    use std::io::Read;
    let mut r = [0u8; 2];
    let _ = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut r));
    format!(
        "{cluster}-{}-{}",
        now.format("%Y%m%dT%H%M%SZ"),
        hex::encode(r)
    )
}

/// Where a snapshot failed: the stages of `etcd_lens_snapshot_failures_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Choosing a member, connecting, opening the stream.
    Connect,
    /// The stream broke or stalled, or the whole snapshot timed out.
    Stream,
    /// The digest did not match, or the data is no bbolt database.
    Verify,
    Encrypt,
    /// Writing, fsync, rename (a full disk lands here).
    Write,
    /// Recording it in the catalog.
    Record,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Connect => "connect",
            Stage::Stream => "stream",
            Stage::Verify => "verify",
            Stage::Encrypt => "encrypt",
            Stage::Write => "write",
            Stage::Record => "record",
        }
    }
}

/// A failed snapshot: its stage and what went wrong (no file, no entry remain).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Failure {
    pub stage: Stage,
    pub message: String,
}

impl Failure {
    pub fn new(stage: Stage, message: impl std::fmt::Display) -> Self {
        Self {
            stage,
            message: message.to_string(),
        }
    }
}

/// Take a snapshot of `cluster` into its folder and record it. `finished`
/// gives the time at the end (the caller's clock).
pub async fn take(
    cluster: &Arc<ClusterConfig>,
    data_dir: &Path,
    catalog: &Catalog,
    job: &Started,
    reason: &str,
    finished: impl FnOnce() -> DateTime<Utc>,
) -> Result<SnapshotRecord, Failure> {
    let status = cluster_status(cluster, &mut PreviousScrapes::default(), job.started_at).await;
    let source = choose(cluster, &status).map_err(|e| Failure::new(Stage::Connect, e))?;
    let dir = cluster.snapshot_dir(data_dir);
    let name =
        crate::snapshot::file_name(&job.id, cluster.compression, !cluster.recipients.is_empty());
    let work = async {
        let mut stream = Stream::open(cluster, source.clone())
            .await
            .map_err(|e| Failure::new(Stage::Connect, e))?;
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(CHANNEL_MESSAGES);
        let bytes = job.bytes.clone();
        let dir = dir.clone();
        let config = cluster.clone();
        // The writer does blocking file I/O and encryption: its own thread.
        let writer = tokio::task::spawn_blocking(move || {
            let mut w = Writer::create(&dir, &name, &config.recipients, config.compression)?;
            while let Some(blob) = rx.blocking_recv() {
                w.push(&blob)?;
                bytes.store(w.bytes_received(), Ordering::Relaxed);
            }
            w.finish()
        });
        let mut stream_error = None;
        loop {
            match stream.next().await {
                Ok(Some(blob)) => {
                    if tx.send(blob).await.is_err() {
                        break; // the writer failed; its error says why
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    stream_error = Some(e.to_string());
                    break;
                }
            }
        }
        if let Some(e) = stream_error {
            // Dropping the sender without finishing: the writer would check a
            // cut stream's digest and fail too, but the stream's error is the cause.
            drop(tx);
            // A writer that finished anyway (the stream broke after the
            // digest) must not leave its file: nothing records it.
            if let Ok(Ok(w)) = writer.await {
                let _ = std::fs::remove_file(&w.path);
            }
            return Err(Failure::new(
                Stage::Stream,
                format!("the snapshot stream broke: {e}"),
            ));
        }
        drop(tx);
        let written = writer
            .await
            .map_err(|e| Failure::new(Stage::Write, format!("the writer stopped: {e}")))?
            .map_err(|e| {
                let stage = match &e {
                    WriteError::Io { .. } => Stage::Write,
                    WriteError::Encrypt(_) => Stage::Encrypt,
                    WriteError::NoDigest { .. }
                    | WriteError::DigestMismatch { .. }
                    | WriteError::Status(_) => Stage::Verify,
                };
                Failure::new(stage, e)
            })?;
        let facts = stream.facts(written.status.revision).await;
        Ok::<_, Failure>((written, facts))
    };
    let (written, facts) = match tokio::time::timeout(cluster.snapshot_timeout, work).await {
        Ok(r) => r?,
        Err(_) => {
            return Err(Failure::new(
                Stage::Stream,
                format!(
                    "the snapshot took longer than the cluster's snapshot timeout ({} s)",
                    cluster.snapshot_timeout.as_secs()
                ),
            ));
        }
    };
    let (version, cluster_id, hash_kv, hash_kv_error) = match facts {
        Ok(f) => (
            f.version,
            f.cluster_id,
            f.hash_kv.map(|h| HashKvRecord {
                hash: h.hash,
                compact_revision: h.compact_revision,
                revision: h.revision,
            }),
            f.hash_kv_error,
        ),
        Err(e) => (
            String::new(),
            status.cluster_id.clone().unwrap_or_default(),
            None,
            Some(e.to_string()),
        ),
    };
    let record = SnapshotRecord {
        id: job.id.clone(),
        cluster: cluster.name.clone(),
        status: SnapshotState::Done,
        error: None,
        reason: reason.to_string(),
        member_id: source.member_id,
        member_name: source.member_name,
        started_at: job.started_at,
        finished_at: Some(finished()),
        revision: written.status.revision,
        db_size_bytes: written.data_bytes,
        total_keys: written.status.total_key,
        status_hash: written.status.hash,
        plaintext_sha256: written.plaintext_sha256,
        stored_sha256: written.stored_sha256,
        stored_bytes: written.stored_bytes,
        bytes_received: job.bytes.load(Ordering::Relaxed),
        encrypted: written.encrypted,
        recipients: cluster.recipients.iter().map(|r| r.fingerprint()).collect(),
        path: relative(data_dir, &written.path),
        etcd_version: version,
        cluster_id,
        hash_kv,
        hash_kv_error,
        pinned: reason == "pre-upgrade",
        shipped: None,
        drill: None,
        status_version: written.status.version.clone(),
        compression: written
            .compressed
            .map(|c| crate::records::CompressionRecord {
                format: "zstd-seekable".into(),
                level: c.level,
                frames: c.frames,
                uncompressed_bytes: c.plaintext_bytes,
                compressed_bytes: c.compressed_bytes,
                ratio: c.plaintext_bytes as f64 / c.compressed_bytes.max(1) as f64,
            }),
        extra: Default::default(),
    };
    if let Err(e) = catalog.put_snapshot(&record) {
        let _ = std::fs::remove_file(&written.path);
        return Err(Failure::new(
            Stage::Record,
            format!("recording the snapshot: {e}"),
        ));
    }
    Ok(record)
}

/// A path as the catalog keeps it: relative to the data folder when under it.
fn relative(data_dir: &Path, path: &Path) -> String {
    path.strip_prefix(data_dir)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

/// Where a record's file is.
pub fn file_of(data_dir: &Path, record: &SnapshotRecord) -> PathBuf {
    let p = Path::new(&record.path);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        data_dir.join(p)
    }
}

/// Delete a snapshot's file and its entry. Pinned ones only with `force`.
/// When an upload to the object store was ever tried, the entry's removal
/// queues the deletion of its objects in the same catalog transaction;
/// `ops::ship::drain_deletes` does them (right after a retention run or an
/// API delete, and again on every run until they are gone).
pub fn delete(
    data_dir: &Path,
    catalog: &Catalog,
    id: &str,
    force: bool,
) -> Result<SnapshotRecord, DeleteError> {
    let record = catalog
        .snapshot(id)
        .map_err(|e| DeleteError::Catalog(e.to_string()))?
        .ok_or(DeleteError::NotFound)?;
    if record.pinned && !force {
        return Err(DeleteError::Pinned);
    }
    match std::fs::remove_file(file_of(data_dir, &record)) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(DeleteError::File(e.to_string())),
    }
    let remote = record.shipped.as_ref().map(|s| RemoteDelete {
        cluster: record.cluster.clone(),
        snapshot_id: record.id.clone(),
        store: s.store.clone(),
        keys: vec![s.metadata_key.clone(), s.key.clone()],
        queued_at: Utc::now(),
        attempts: 0,
        last_attempt_at: None,
        error: None,
    });
    catalog
        .remove_snapshot_queueing(id, remote.as_ref())
        .map_err(|e| DeleteError::Catalog(e.to_string()))?;
    Ok(record)
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DeleteError {
    #[error("no such snapshot")]
    NotFound,
    #[error("the snapshot is pinned: delete it with force")]
    Pinned,
    #[error("removing the file: {0}")]
    File(String),
    #[error("{0}")]
    Catalog(String),
}
