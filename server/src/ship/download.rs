//! Fetching one shipped data object back into a local file (for a restore
//! drill of a snapshot that exists only in the store): streamed to disk in
//! chunks as the store sends them, hashed as it goes, and checked against
//! the catalog record — the size the store announces before any byte is
//! written, then the byte count and our SHA-256 of the stored bytes
//! (`stored_bytes`, `stored_sha256`: the same facts the metadata object
//! holds).
//!
//! What this does not do: decrypt (the object is the stored file, still
//! ciphertext when the cluster has recipients; the file is written mode
//! 0600 where the caller says — a drill's private work folder), choose
//! between the local file and the store (`ops::drill` does), or retry whole
//! downloads (object_store retries each request).
//!
//! Invariant: on any error the destination file is removed; a file left
//! at `dest` after `Ok` has exactly the recorded size and SHA-256.

use std::path::Path;

use futures::TryStreamExt;
use object_store::ObjectStoreExt;
use object_store::path::Path as ObjectPath;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::ShipError;
use super::store::Store;

/// What the object must be: the record's stored size and SHA-256.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    pub bytes: u64,
    /// Lowercase hex, as in `SnapshotRecord::stored_sha256`.
    pub sha256: &'a str,
}

/// Stream the data object `key` of `store` into `dest` (create-only, mode
/// 0600) and check it against `want`; the byte count on success. A size or
/// SHA-256 that differs is [`ShipError::Damaged`], naming both values.
pub async fn download_to(
    store: &Store,
    key: &str,
    want: Expected<'_>,
    dest: &Path,
) -> Result<u64, ShipError> {
    let result = fetch(store, key, want, dest).await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(dest).await;
    }
    result
}

async fn fetch(
    store: &Store,
    key: &str,
    want: Expected<'_>,
    dest: &Path,
) -> Result<u64, ShipError> {
    let damaged = |what: String| ShipError::Damaged {
        store: store.name().to_string(),
        key: key.to_string(),
        what,
    };
    let got = store
        .inner
        .get(&ObjectPath::from(key))
        .await
        .map_err(|e| store.err("downloading", key, e))?;
    // Refuse before writing a byte when the store says it is another size.
    if got.meta.size != want.bytes {
        return Err(damaged(format!(
            "size: the store reports {} bytes, the record says {}",
            got.meta.size, want.bytes
        )));
    }
    let shown = dest.display().to_string();
    let io = |source: std::io::Error| ShipError::File {
        path: shown.clone(),
        source,
    };
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(dest)
        .await
        .map_err(io)?;
    let mut stream = got.into_stream();
    let mut hasher = Sha256::new();
    let mut written: u64 = 0;
    while let Some(chunk) = stream
        .try_next()
        .await
        .map_err(|e| store.err("downloading", key, e))?
    {
        written += chunk.len() as u64;
        // Bounded by the record: a body longer than announced stops here.
        if written > want.bytes {
            return Err(damaged(format!(
                "size: the store sent more than the record's {} bytes",
                want.bytes
            )));
        }
        hasher.update(&chunk);
        file.write_all(&chunk).await.map_err(io)?;
    }
    if written != want.bytes {
        return Err(damaged(format!(
            "size: the store sent {written} bytes, the record says {}",
            want.bytes
        )));
    }
    let sha256 = hex::encode(hasher.finalize());
    if sha256 != want.sha256 {
        return Err(damaged(format!(
            "SHA-256 of the downloaded bytes is {sha256}, the record says {}",
            want.sha256
        )));
    }
    file.sync_all().await.map_err(io)?;
    Ok(written)
}
