//! The secret audit: which Secrets a snapshot exposes, key by key, and why.
//!
//! [`audit`] reads every live key under the Kubernetes roots once, the history of
//! every Secret key, and (optionally) the pages no tree reaches, and returns a
//! [`Census`] and [`Finding`]s with stable [`Rule`] ids. Counting (so a test can
//! ask for "every expected finding and nothing else"):
//! - `secret-plaintext`, `secret-weak-provider`, `secret-stale-key`,
//!   `secret-deprecated-provider`, `secret-undecryptable`: one per key (latest value);
//! - `secret-plaintext-in-history`: one per (key, revision);
//! - `secret-plaintext-unreachable`: one per (page id, key when the page parses);
//! - `credential-in-object`: one per (key, field path, pattern);
//! - `etcd-auth-disabled`, `snapshot-not-encrypted`: one per snapshot.
//!
//! Invariants: pure (the caller opens the file and the configuration); values are
//! never put into a finding unmasked — Secrets show their type and data key
//! names, credentials a masked form; the output order is deterministic
//! (severity, rule, key, revision, page, path, pattern). Exporters are in [`export`].
//!
//! Layout: this file holds the orchestration. The types a caller sees live in
//! `rule.rs`, `finding.rs`, `report.rs` and `context.rs` and are re-exported
//! here, so the rule families use them without importing this file back (a
//! family that did would make a circle with it):
//!
//! ```text
//! mod.rs ─┬─ secrets.rs      latest values of Secrets (five rules, census)
//!         ├─ objects.rs      credentials in other objects ── credentials.rs (patterns)
//!         ├─ history.rs      plaintext in older revisions ── pages.rs (plaintext_secret)
//!         ├─ unreachable.rs  plaintext in free pages ─────── pages.rs (the scan)
//!         └─ snapshot.rs     the snapshot as a whole
//!   each family: fn check(&Context, &mut AuditReport) -> Result<(), SnapshotError>,
//!   over the keys of the context's slice ([`AuditRun`] steps through them)
//!   under them: context.rs · finding.rs · report.rs · rule.rs · encryption.rs
//! ```

mod context;
pub mod credentials;
pub mod encryption;
pub mod export;
mod finding;
mod history;
mod objects;
pub mod pages;
mod report;
mod rule;
mod secrets;
mod snapshot;
mod unreachable;

use std::ops::Bound;

use crate::ReadAt;
use crate::mvcc::KeyIndex;
use crate::snapshot::{Snapshot, SnapshotError};

use context::{Context, Keys};

pub use context::AuditOptions;
pub use encryption::{ConfigError, Decryption, EncryptionConfig, KeyId};
pub use finding::{Details, Finding, sort_findings};
pub use report::{AuditReport, Census, Exposure};
pub use rule::{Rule, Severity};

/// Audit an open snapshot whose key index the caller has built: an
/// [`AuditRun`] in one slice.
pub fn audit<S: ReadAt>(
    snap: &Snapshot<S>,
    ix: &KeyIndex,
    opts: &AuditOptions,
) -> Result<AuditReport, SnapshotError> {
    let mut run = AuditRun::new(ix, opts.clone());
    loop {
        if let Some(report) = run.step(snap, ix, usize::MAX)? {
            return Ok(report);
        }
    }
}

/// An audit done a slice of keys at a time, so that a caller with one thread
/// (the page's worker) answers other requests in between. Each
/// [`AuditRun::step`] audits the next slice of keys with the key-by-key
/// families (Secrets' latest values, credentials in other objects, plaintext
/// in history); once the keys are done, one step each scans the pages no tree
/// reaches and checks the snapshot as a whole, and the last returns the
/// report. The report is the same as [`audit`]'s whatever the slices:
/// families count per key, `secret-stale-key` waits for every Secret, and
/// the findings are sorted at the end.
pub struct AuditRun {
    opts: AuditOptions,
    report: AuditReport,
    encrypted: Vec<secrets::EncryptedSecret>,
    /// Every key's place in key order, in the order the keys are audited:
    /// by their newest revision ([`KeyIndex::places_by_newest_revision`]),
    /// so the values are read from the file's start to its end. In key
    /// order a page reading its file in blocks read a block per few keys
    /// (the 1.8 GiB audit benchmark took more than 240 s in the page).
    places: Vec<u32>,
    stage: Stage,
    keys_done: u64,
    keys_total: u64,
}

enum Stage {
    /// The key-by-key families, from this many of `places` on.
    Keys(usize),
    /// Free and unreachable pages (one step: the scan is not sliced).
    Pages,
    /// The snapshot as a whole, then the report.
    Whole,
    Done,
}

/// How far an [`AuditRun`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditProgress {
    /// Keys (live or deleted, every prefix) audited so far, of `keys_total`.
    pub keys_done: u64,
    pub keys_total: u64,
    /// What the next step does.
    pub next: AuditStage,
}

/// The parts of an [`AuditRun`], in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditStage {
    Keys,
    FreePages,
    Snapshot,
    Done,
}

impl AuditRun {
    /// An audit of the snapshot whose index is `ix` (give the same index to
    /// every step).
    pub fn new(ix: &KeyIndex, opts: AuditOptions) -> Self {
        let report = AuditReport::new(ix.last.map_or(0, |l| l.rev.main), opts.encryption.is_some());
        Self {
            opts,
            report,
            encrypted: Vec::new(),
            places: ix.places_by_newest_revision(),
            stage: Stage::Keys(0),
            keys_done: 0,
            keys_total: ix.key_count() as u64,
        }
    }

    pub fn progress(&self) -> AuditProgress {
        AuditProgress {
            keys_done: self.keys_done,
            keys_total: self.keys_total,
            next: match self.stage {
                Stage::Keys(_) => AuditStage::Keys,
                Stage::Pages => AuditStage::FreePages,
                Stage::Whole => AuditStage::Snapshot,
                Stage::Done => AuditStage::Done,
            },
        }
    }

    /// Audit the next slice: at most `max_keys` keys (at least one), or the
    /// page scan, or the snapshot-wide rules. `Some(report)` once the audit
    /// is complete; steps after that, or after a step that failed (the run
    /// ends with its error), do nothing and return `None`.
    pub fn step<S: ReadAt>(
        &mut self,
        snap: &Snapshot<S>,
        ix: &KeyIndex,
        max_keys: usize,
    ) -> Result<Option<AuditReport>, SnapshotError> {
        let stage = std::mem::replace(&mut self.stage, Stage::Done);
        let opts = &self.opts;
        let whole = |keys| Context {
            snap,
            ix,
            opts,
            keys,
        };
        match stage {
            Stage::Keys(from) => {
                let end = from.saturating_add(max_keys.max(1)).min(self.places.len());
                let ctx = whole(Keys::Places(self.places.get(from..end).unwrap_or_default()));
                let r = &mut self.report;
                secrets::check(&ctx, r, &mut self.encrypted)?;
                objects::check(&ctx, r)?;
                history::check(&ctx, r)?;
                self.keys_done = end as u64;
                self.stage = if end < self.places.len() {
                    Stage::Keys(end)
                } else {
                    secrets::stale_keys(r, opts.encryption.as_ref(), &self.encrypted);
                    self.encrypted = Vec::new();
                    self.places = Vec::new();
                    Stage::Pages
                };
                Ok(None)
            }
            Stage::Pages => {
                unreachable::check(
                    &whole(Keys::Range(Bound::Unbounded, Bound::Unbounded)),
                    &mut self.report,
                )?;
                self.stage = Stage::Whole;
                Ok(None)
            }
            Stage::Whole => {
                snapshot::check(
                    &whole(Keys::Range(Bound::Unbounded, Bound::Unbounded)),
                    &mut self.report,
                )?;
                let mut report = std::mem::take(&mut self.report);
                sort_findings(&mut report.findings);
                Ok(Some(report))
            }
            Stage::Done => Ok(None),
        }
    }
}
