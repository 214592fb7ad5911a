//! Which catalogued snapshot still holds a key (a deleted object's last
//! copy): the finished snapshots newest first, each stored file opened where
//! it lies and its keys indexed (`KeyIndex::presence`), until one holds the
//! key live. Opening is the caller's: the CLI decrypts with `--identity`,
//! the server with the cluster's drill identity.

use std::path::{Path, PathBuf};

use etcd_lens_core::mvcc::Presence;
use serde::Serialize;

use super::snapshots::file_of;
use crate::catalog::{SnapshotRecord, SnapshotState};

/// One snapshot looked at.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Looked {
    pub id: String,
    pub cluster: String,
    pub revision: i64,
    pub path: PathBuf,
    #[serde(flatten)]
    pub presence: Option<Presence>,
    /// Why the file could not be read.
    pub error: Option<String>,
}

/// The answer: every snapshot looked at, newest first, and the newest that holds the key.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Found {
    pub looked: Vec<Looked>,
    pub holding: Option<String>,
}

/// Look through `records` (of `cluster` when given) for `key`, newest first;
/// stop at the first that holds it unless `all`.
pub fn newest_holding(
    records: Vec<SnapshotRecord>,
    data_dir: &Path,
    cluster: Option<&str>,
    key: &[u8],
    all: bool,
    mut open: impl FnMut(&Path, &SnapshotRecord, &[u8]) -> Result<Presence, String>,
) -> Found {
    let mut records: Vec<_> = records
        .into_iter()
        .filter(|r| r.status == SnapshotState::Done)
        .filter(|r| cluster.is_none_or(|c| c == r.cluster))
        .collect();
    records.sort_by_key(|r| std::cmp::Reverse((r.revision, r.started_at)));
    let mut found = Found {
        looked: Vec::new(),
        holding: None,
    };
    for r in &records {
        let path = file_of(data_dir, r);
        let (presence, error) = match open(&path, r, key) {
            Ok(p) => (Some(p), None),
            Err(e) => (None, Some(e)),
        };
        let live = matches!(presence, Some(Presence::Live { .. }));
        found.looked.push(Looked {
            id: r.id.clone(),
            cluster: r.cluster.clone(),
            revision: r.revision,
            path,
            presence,
            error,
        });
        if live && found.holding.is_none() {
            found.holding = Some(r.id.clone());
            if !all {
                break;
            }
        }
    }
    found
}

/// The server's opener: the stored file read where it lies, decrypted at
/// random access with `identities` (the cluster's drill identity) when it is
/// encrypted. Nothing is written to disk.
pub fn open_stored(
    identities: &[age::x25519::Identity],
) -> impl FnMut(&Path, &SnapshotRecord, &[u8]) -> Result<Presence, String> + '_ {
    use etcd_lens_core::snapshot::Snapshot;
    move |path, record, key| {
        with_stored(path, record, identities, |src| {
            let snap = Snapshot::open(src).map_err(|e| e.to_string())?;
            Ok(snap.key_index().map_err(|e| e.to_string())?.presence(key))
        })
    }
}

/// Call `read` with the plain snapshot of a stored file, read where it
/// lies: decrypted at random access with `identities` when the record says
/// it is encrypted, then through zstd's seek table when it is compressed.
/// Nothing is written to disk. The one opener of stored files for the
/// server's readers (the key search, the scorecard's census).
pub fn with_stored<T>(
    path: &Path,
    record: &SnapshotRecord,
    identities: &[age::x25519::Identity],
    read: impl FnOnce(&dyn etcd_lens_core::ReadAt) -> Result<T, String>,
) -> Result<T, String> {
    use etcd_lens_core::ReadAt;
    use etcd_lens_core::age::{AgeSource, Secret};
    use etcd_lens_core::container::SeekableZstd;

    use crate::snapshot::file::FileSource;
    let unzip = |src: &dyn ReadAt| -> Result<T, String> {
        if record.compression.is_none() {
            return read(src);
        }
        let z = SeekableZstd::open(src).map_err(|e| format!("snapshot {}: {e}", record.id))?;
        read(&z)
    };
    let file = std::fs::File::open(path).map_err(|e| format!("opening {}: {e}", path.display()))?;
    let src = FileSource::new(file).map_err(|e| format!("{e:#}"))?;
    if !record.encrypted {
        return unzip(&src);
    }
    if identities.is_empty() {
        return Err("the snapshot is encrypted and the cluster has no drill identity ([cluster.drill] identity) to read it".into());
    }
    let file = identities
        .iter()
        .map(|i| {
            use age::secrecy::ExposeSecret;
            i.to_string().expose_secret().to_string()
        })
        .collect::<Vec<_>>()
        .join("\n");
    let secret = Secret::Identity {
        file: file.into_bytes(),
        ssh_key_passphrase: None,
    };
    let plain = AgeSource::open(&src, &secret).map_err(|e| {
        format!(
            "the drill identity cannot decrypt snapshot {}: {e}",
            record.id
        )
    })?;
    unzip(&plain)
}
