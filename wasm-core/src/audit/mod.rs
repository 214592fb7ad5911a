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
//!   each family: fn check(&Context, &mut AuditReport) -> Result<(), SnapshotError>
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

use crate::ReadAt;
use crate::mvcc::KeyIndex;
use crate::snapshot::{Snapshot, SnapshotError};

use context::Context;

pub use context::AuditOptions;
pub use encryption::{ConfigError, Decryption, EncryptionConfig, KeyId};
pub use finding::{Details, Finding, sort_findings};
pub use report::{AuditReport, Census, Exposure};
pub use rule::{Rule, Severity};

/// A rule family: reads what it needs through the context, adds its findings
/// (and census counts) to the report.
type Family<S> = fn(&Context<'_, S>, &mut AuditReport) -> Result<(), SnapshotError>;

/// Audit an open snapshot whose key index the caller has built.
pub fn audit<S: ReadAt>(
    snap: &Snapshot<S>,
    ix: &KeyIndex,
    opts: &AuditOptions,
) -> Result<AuditReport, SnapshotError> {
    let ctx = Context { snap, ix, opts };
    let mut r = AuditReport::new(ix.last.map_or(0, |l| l.rev.main), opts.encryption.is_some());
    // Independent of each other: the order only decides which error comes
    // first; the findings are sorted below.
    let families: [Family<S>; 5] = [
        secrets::check,
        objects::check,
        history::check,
        unreachable::check,
        snapshot::check,
    ];
    for check in families {
        check(&ctx, &mut r)?;
    }
    sort_findings(&mut r.findings);
    Ok(r)
}
