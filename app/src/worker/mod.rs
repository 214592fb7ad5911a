//! What the worker computes for the page, from the core's types into the
//! protocol's. No browser types here: it is tested natively on real files.
//! One file per request family: `layers` (peel, decompress, unlock), `open`
//! (the overview, the index, the space counts), `list` (the key list and
//! tree), `detail` (one key and its history), `audit`, `restore` (what the
//! restore runbook reads from the file, posted with the index).

mod apply;
mod audit;
mod compare;
mod detail;
mod layers;
mod list;
mod open;
mod restore;
#[cfg(test)]
mod tests;

use std::cell::RefCell;
use std::rc::Rc;

use etcd_lens_core::ReadAt;
use etcd_lens_core::audit::EncryptionConfig;
use etcd_lens_core::mvcc::KeyIndex;
use etcd_lens_core::snapshot::Snapshot;

use crate::protocol::{CheckView, Overview};

/// Why a request to the worker failed. Rendered to text only where it is
/// posted to the page.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("no snapshot is open")]
    NotOpen,
    #[error("the key index is not available: it is still being built, or its pass failed")]
    NotIndexed,
    #[error("the status walk has not run yet, or it failed")]
    NotWalked,
    #[error("this link does not name a key: the part after #/browse/ must be the key in hex")]
    BadLink,
    #[error("no key {0:?} in this snapshot")]
    NoKey(String),
    #[error("run the audit first: an export is made from its last results")]
    NotAudited,
    #[error("the EncryptionConfiguration does not parse: {0}")]
    Config(#[from] etcd_lens_core::audit::ConfigError),
    #[error(transparent)]
    Snapshot(#[from] etcd_lens_core::snapshot::SnapshotError),
    #[error(transparent)]
    Bolt(#[from] etcd_lens_core::bolt::BoltError),
    #[error(transparent)]
    Peel(#[from] etcd_lens_core::container::PeelError),
    #[error(transparent)]
    Age(#[from] etcd_lens_core::age::AgeError),
    #[error("not ready for kubectl apply: {0}")]
    Apply(String),
    #[error("no snapshot is open to compare with")]
    NoCompare,
}

pub use apply::for_apply;
#[cfg(test)]
pub use audit::audit;
pub use audit::{audit_step, export, start_audit};
pub use compare::{Other, compare, compare_key, open_other};
pub use detail::key_detail;
pub use layers::{MAX_IN_MEMORY_BYTES, MAX_SPOOL_BYTES, Peeled, peel, spool_in_memory, unlock};
pub use list::{MAX_PAGE_ROWS, list, tree};
pub use open::{apply_walk, index, index_with, open, space, walk};
pub use restore::restore_facts;

/// A layer of the open file, shared by the layers above it and owned by the
/// file's session: when the session goes, so do they.
pub type Src = Rc<dyn ReadAt>;

/// An open snapshot and what was learned about it so far.
pub struct Opened {
    /// The file was age-encrypted (for the `snapshot-not-encrypted` finding).
    pub opened_with_age: bool,
    /// The EncryptionConfiguration the user pasted for the audit: also used to
    /// show encrypted objects decrypted (masked like plaintext ones).
    pub encryption: RefCell<Option<EncryptionConfig>>,
    pub snap: Snapshot<Src>,
    /// Built by [`index`], after the overview is shown.
    pub index: Option<KeyIndex>,
    pub overview: Overview,
    /// bbolt's consistency check, from the status walk ([`walk`]).
    pub check: Option<CheckView>,
    /// The same check as the core reports it: the planner's page counts.
    pub check_report: Option<etcd_lens_core::bolt::CheckReport>,
    /// The last list query's matches, so scrolling a million keys stays cheap.
    list_cache: RefCell<Option<list::ListCache>>,
    /// The last audit's report: the exports are made from it on request.
    pub last_audit: RefCell<Option<etcd_lens_core::audit::AuditReport>>,
}

impl Opened {
    pub fn index(&self) -> Result<&KeyIndex, WorkerError> {
        self.index.as_ref().ok_or(WorkerError::NotIndexed)
    }
}
