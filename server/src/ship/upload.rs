//! Uploading one stored snapshot: the file streamed to the data object
//! (multipart above one part), its size checked with a HEAD, the bytes sent
//! hashed against the record's `stored_sha256`, then the metadata object,
//! create-only, last. Whole uploads are retried with backoff; object_store
//! retries each request on its own as well.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStoreExt, PutMode, PutPayload};
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;
use tokio::task::JoinSet;

use super::ShipError;
use super::store::Store;
use crate::records::{ShipState, SnapshotRecord};

/// Part size: S3's minimum (every part but the last must be at least
/// 5 MiB). 10 000 parts (S3's maximum) make 48 GiB, far above the 8 GiB
/// etcd suggests as the largest quota.
pub const PART_BYTES: usize = 5 * 1024 * 1024;
/// Parts uploading at once: the memory held is this many parts, plus one
/// being read.
const PARTS_IN_FLIGHT: usize = 2;
/// Reads from the file.
const READ_BYTES: usize = 1024 * 1024;
/// The wait before the second whole attempt; doubled for each further one.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// The state to record before an upload starts: where it goes, not yet there.
pub fn planned(store: &Store, record: &SnapshotRecord, file: &Path, attempts: u32) -> ShipState {
    let file_name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| record.id.clone());
    ShipState {
        store: store.name().to_string(),
        key: store.data_key(&record.cluster, &file_name),
        metadata_key: store.metadata_key(&record.cluster, &record.id),
        at: None,
        bytes: None,
        error: None,
        attempts,
        last_attempt_at: None,
    }
}

/// Ship `file` (the stored file of `record`) to `store` under the keys of
/// `plan`, trying up to the store's `upload_attempts` times. Returns the
/// state to record: `at` set when shipped, `error` set when not. Each
/// failed attempt is logged.
pub async fn ship(
    store: &Store,
    file: &Path,
    record: &SnapshotRecord,
    plan: ShipState,
    now: &(dyn Fn() -> DateTime<Utc> + Sync),
) -> ShipState {
    let mut state = plan;
    let mut backoff = FIRST_BACKOFF;
    for attempt in 1..=store.upload_attempts {
        state.attempts += 1;
        state.last_attempt_at = Some(now());
        match once(store, file, record, &state, now).await {
            Ok(done) => return done,
            Err(e) => {
                tracing::warn!(
                    "shipping snapshot {} of {:?} to {}: attempt {attempt} of {} failed: {e}",
                    record.id,
                    record.cluster,
                    store.name(),
                    store.upload_attempts
                );
                let permanent = e.is_permanent();
                state.error = Some(e.to_string());
                if permanent || attempt == store.upload_attempts {
                    break;
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
    state
}

/// One attempt. When the metadata object is already there and describes
/// this very file (an earlier attempt got that far), that is success.
async fn once(
    store: &Store,
    file: &Path,
    record: &SnapshotRecord,
    state: &ShipState,
    now: &(dyn Fn() -> DateTime<Utc> + Sync),
) -> Result<ShipState, ShipError> {
    if let Some(done) = already_there(store, record, state).await? {
        return Ok(done);
    }
    send(store, file, record, &state.key).await?;
    let head = store
        .inner
        .head(&ObjectPath::from(state.key.as_str()))
        .await
        .map_err(|e| store.err("checking", &state.key, e))?;
    if head.size != record.stored_bytes {
        return Err(ShipError::SizeMismatch {
            store: store.name().to_string(),
            key: state.key.clone(),
            found: head.size,
            expected: record.stored_bytes,
        });
    }
    let done = ShipState {
        at: Some(now()),
        bytes: Some(head.size),
        error: None,
        ..state.clone()
    };
    let mut shipped = record.clone();
    shipped.shipped = Some(done.clone());
    let json = serde_json::to_vec_pretty(&shipped).map_err(|e| ShipError::Changed {
        path: file.display().to_string(),
        what: format!("its record does not serialize: {e}"),
    })?;
    let meta = ObjectPath::from(state.metadata_key.as_str());
    match store
        .inner
        .put_opts(&meta, PutPayload::from(json), PutMode::Create.into())
        .await
    {
        Ok(_) => Ok(done),
        // Written by an attempt whose answer was lost, or by someone else.
        Err(object_store::Error::AlreadyExists { .. })
        | Err(object_store::Error::Precondition { .. }) => already_there(store, record, state)
            .await?
            .ok_or_else(|| ShipError::ForeignMetadata {
                store: store.name().to_string(),
                key: state.metadata_key.clone(),
                why: "it vanished while we looked".into(),
            }),
        Err(e) => Err(store.err("writing", &state.metadata_key, e)),
    }
}

/// The metadata object, when present and about this file, with its data
/// object of the right size: the state it records.
async fn already_there(
    store: &Store,
    record: &SnapshotRecord,
    state: &ShipState,
) -> Result<Option<ShipState>, ShipError> {
    let meta = ObjectPath::from(state.metadata_key.as_str());
    let bytes = match store.inner.get(&meta).await {
        Ok(r) => r
            .bytes()
            .await
            .map_err(|e| store.err("reading", &state.metadata_key, e))?,
        Err(object_store::Error::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(store.err("reading", &state.metadata_key, e)),
    };
    let foreign = |why: String| ShipError::ForeignMetadata {
        store: store.name().to_string(),
        key: state.metadata_key.clone(),
        why,
    };
    let theirs: SnapshotRecord =
        serde_json::from_slice(&bytes).map_err(|e| foreign(format!("not a record: {e}")))?;
    if theirs.id != record.id
        || theirs.stored_sha256 != record.stored_sha256
        || theirs.stored_bytes != record.stored_bytes
    {
        return Err(foreign(format!(
            "it describes {} with SHA-256 {}",
            theirs.id, theirs.stored_sha256
        )));
    }
    let Some(done) = theirs.shipped.filter(|s| s.at.is_some()) else {
        return Err(foreign("it has no shipping state".into()));
    };
    match store.inner.head(&ObjectPath::from(done.key.as_str())).await {
        Ok(h) if h.size == record.stored_bytes => Ok(Some(done)),
        Ok(h) => Err(ShipError::SizeMismatch {
            store: store.name().to_string(),
            key: done.key.clone(),
            found: h.size,
            expected: record.stored_bytes,
        }),
        Err(e) => Err(store.err("checking", &done.key, e)),
    }
}

/// Stream the file to `key`: one put up to a part, multipart above. The
/// bytes are hashed as they go; a file that no longer hashes to the
/// record's SHA-256 is not completed (the multipart upload is aborted).
async fn send(
    store: &Store,
    file: &Path,
    record: &SnapshotRecord,
    key: &str,
) -> Result<(), ShipError> {
    let shown = file.display().to_string();
    let io = |source: std::io::Error| ShipError::File {
        path: shown.clone(),
        source,
    };
    let mut f = tokio::fs::File::open(file).await.map_err(io)?;
    let len = f.metadata().await.map_err(io)?.len();
    if len != record.stored_bytes {
        return Err(ShipError::Changed {
            path: shown,
            what: format!("{len} bytes, the record says {}", record.stored_bytes),
        });
    }
    let check = |h: Sha256| {
        let got = hex::encode(h.finalize());
        if got == record.stored_sha256 {
            Ok(())
        } else {
            Err(ShipError::Changed {
                path: shown.clone(),
                what: format!("SHA-256 {got}, the record says {}", record.stored_sha256),
            })
        }
    };
    let path = ObjectPath::from(key);
    let mut hasher = Sha256::new();
    if len <= PART_BYTES as u64 {
        let mut buf = Vec::with_capacity(len as usize);
        f.read_to_end(&mut buf).await.map_err(io)?;
        hasher.update(&buf);
        check(hasher)?;
        store
            .inner
            .put_opts(&path, PutPayload::from(buf), PutMode::Overwrite.into())
            .await
            .map_err(|e| store.err("uploading", key, e))?;
        return Ok(());
    }
    let mut upload = store
        .inner
        .put_multipart_opts(&path, Default::default())
        .await
        .map_err(|e| store.err("starting the multipart upload of", key, e))?;
    // Parts upload on their own tasks while the next one is read; each
    // error is reported as itself (WriteMultipart reports a failed abort
    // in place of the part's error, so parts are driven here).
    let mut parts: JoinSet<object_store::Result<()>> = JoinSet::new();
    let streamed = async {
        let mut part: Vec<u8> = Vec::with_capacity(PART_BYTES);
        let mut buf = vec![0u8; READ_BYTES];
        loop {
            let want = (PART_BYTES - part.len()).min(READ_BYTES);
            let n = f.read(&mut buf[..want]).await.map_err(io)?;
            hasher.update(&buf[..n]);
            part.extend_from_slice(&buf[..n]);
            let last = n == 0;
            if part.len() == PART_BYTES || (last && !part.is_empty()) {
                while parts.len() >= PARTS_IN_FLIGHT {
                    joined(parts.join_next().await, store, key)?;
                }
                let payload =
                    PutPayload::from(std::mem::replace(&mut part, Vec::with_capacity(PART_BYTES)));
                parts.spawn(upload.put_part(payload));
            }
            if last {
                break;
            }
        }
        while let Some(r) = parts.join_next().await {
            joined(Some(r), store, key)?;
        }
        check(hasher)
    }
    .await;
    if let Err(e) = streamed {
        parts.shutdown().await;
        if let Err(a) = upload.abort().await {
            // Parts left behind cost space until a lifecycle rule
            // (AbortIncompleteMultipartUpload) removes them; they are never
            // taken for a snapshot: there is no object and no metadata.
            tracing::warn!(
                "{}: aborting the multipart upload of {key}: {a}",
                store.name()
            );
        }
        return Err(e);
    }
    upload
        .complete()
        .await
        .map_err(|e| store.err("completing the multipart upload of", key, e))?;
    Ok(())
}

/// A finished part: its error, as the store's.
fn joined(
    r: Option<Result<object_store::Result<()>, tokio::task::JoinError>>,
    store: &Store,
    key: &str,
) -> Result<(), ShipError> {
    match r {
        None | Some(Ok(Ok(()))) => Ok(()),
        Some(Ok(Err(e))) => Err(store.err("uploading a part of", key, e)),
        Some(Err(e)) => Err(store.err("uploading a part of", key, e.into())),
    }
}
