//! Writing a snapshot stream to disk the way it must be written: the data's
//! SHA-256 checked against the digest etcd sends last, encrypted with age to
//! the cluster's recipients while it streams (plaintext never touches the
//! disk when recipients are configured), the revision and key counts derived
//! from the plaintext as it passes (the core's streaming status), into a
//! `.part` file of mode 0600 that is fsynced, renamed and its folder fsynced
//! before anyone records it. Any failure removes the `.part` file.
//!
//! When the cluster says `compression = "zstd"`, the plaintext is compressed
//! before encryption, in zstd's seekable format (`compress.rs`), and the
//! file is named `….db.zst.age`; the digest and status stay the plaintext's.
//!
//! Synchronous and free of etcd, axum and redb: the caller feeds the
//! messages' blobs and decides what to record.

pub mod compress;
pub mod file;
pub mod writer;

pub use compress::{Compressed, Compression};
pub use writer::{WriteError, Writer, Written};

/// The stored file's name for snapshot `id`: `.db`, then `.zst` when
/// compressed, then `.age` when encrypted (the layers, innermost first).
pub fn file_name(id: &str, compression: Compression, encrypted: bool) -> String {
    let zst = match compression {
        Compression::None => "",
        Compression::Zstd { .. } => ".zst",
    };
    let age = if encrypted { ".age" } else { "" };
    format!("{id}.db{zst}{age}")
}

/// Suffix of a file still being written.
pub const PART_SUFFIX: &str = ".part";

/// Remove leftover `.part` files under `dir` (a killed process leaves them);
/// returns the paths removed, for the log.
pub fn remove_leftovers(dir: &std::path::Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    let mut removed = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(removed);
    };
    for e in entries {
        let e = e?;
        let path = e.path();
        if e.file_type()?.is_dir() {
            removed.extend(remove_leftovers(&path)?);
        } else if path.to_string_lossy().ends_with(PART_SUFFIX) {
            std::fs::remove_file(&path)?;
            removed.push(path);
        }
    }
    Ok(removed)
}
