//! Off-cluster shipping: each finished snapshot file (age-encrypted when the
//! cluster has recipients) is copied to an object store — a local folder or
//! an S3-compatible bucket, both through the `object_store` crate — and read
//! back from there when the catalog must be rebuilt.
//!
//! Layout in the store, under the configured prefix:
//!
//! ```text
//! <prefix>/<cluster>/<id>.db.age   the stored file, byte for byte (data object)
//! <prefix>/<cluster>/<id>.json     its catalog record as JSON (metadata object)
//! <prefix>/claims/<cluster>/<slot>  who takes a scheduled run's slot (`claim`)
//! <prefix>/deleted/<cluster>/<id>.json  who deleted a snapshot, and why (`tombstone`)
//! ```
//!
//! Invariants:
//! - The metadata object is written last, with a create-only put, and only
//!   after the data object's size was checked with a HEAD and the bytes sent
//!   hashed to the record's `stored_sha256`. A snapshot counts as in the
//!   store only when its metadata object exists, so a half-uploaded one is
//!   never taken for complete (`rebuild` ignores data without metadata).
//! - Deletes go the other way: a tombstone first (so servers sharing the
//!   bucket delete their copies too), then the metadata object, then the data.
//! - The store's word on a size is checked against the record's; its own
//!   multipart checksums (SHA-256 per part on S3) are checked by the store
//!   itself; the whole file's SHA-256 is ours, in the metadata object.
//!
//! Reading back: `rebuild` restores records only; `download` fetches one
//! data object to a file (for a restore drill), checked against the
//! record's size and SHA-256.
//!
//! What this does not do: touch the catalog (the `ops::ship` glue records
//! outcomes), read a clock (callers pass `now`), or decrypt what it fetches.

pub mod claim;
pub mod config;
pub mod download;
pub mod rebuild;
pub mod store;
pub mod tombstone;
pub mod upload;

pub use config::{Backend, StoreConfig, StoreFile};
pub use store::{Probe, Store};

/// What went wrong talking to the store (no secrets in any message).
#[derive(Debug, thiserror::Error)]
pub enum ShipError {
    #[error("{store}: could not be opened: {message}")]
    Open { store: String, message: String },
    #[error(
        "{store} refused our credentials or their rights ({op} {key}); check `credentials_file` or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and the bucket policy: {source}"
    )]
    Denied {
        store: String,
        op: &'static str,
        key: String,
        source: Box<object_store::Error>,
    },
    #[error("{store}: {op} {key}: {source}")]
    Store {
        store: String,
        op: &'static str,
        key: String,
        source: Box<object_store::Error>,
    },
    #[error("reading {path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} no longer matches its catalog record ({what}): not shipped")]
    Changed { path: String, what: String },
    #[error("{store} reports {found} bytes for {key}, the stored file has {expected}")]
    SizeMismatch {
        store: String,
        key: String,
        found: u64,
        expected: u64,
    },
    #[error("{store}: {key} does not match its catalog record ({what}): not used")]
    Damaged {
        store: String,
        key: String,
        what: String,
    },
    #[error("{store}: {key} already holds another snapshot's metadata ({why}): left as it is")]
    ForeignMetadata {
        store: String,
        key: String,
        why: String,
    },
}

impl ShipError {
    /// Errors another attempt cannot cure (rights, our own file, a clash):
    /// not retried.
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            ShipError::Open { .. }
                | ShipError::Denied { .. }
                | ShipError::File { .. }
                | ShipError::Changed { .. }
                | ShipError::ForeignMetadata { .. }
        )
    }
}
