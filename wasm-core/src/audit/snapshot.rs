//! Findings about the snapshot as a whole, one each: `etcd-auth-disabled`
//! (read from the snapshot's auth bucket) and `snapshot-not-encrypted` (the
//! caller says whether the file was opened through age).

use crate::ReadAt;
use crate::snapshot::SnapshotError;

use super::context::Context;
use super::finding::Finding;
use super::report::AuditReport;
use super::rule::Rule;

/// Never fails; the `Result` keeps the signature every rule family has.
pub(super) fn check<S: ReadAt>(
    ctx: &Context<'_, S>,
    r: &mut AuditReport,
) -> Result<(), SnapshotError> {
    if ctx.snap.info.auth.enabled != Some(true) {
        r.findings.push(Finding::snapshot(
            Rule::EtcdAuthDisabled,
            "etcd authentication is disabled in this snapshot: any client that reaches etcd reads every key unless client certificates are required".into(),
        ));
    }
    if !ctx.opts.opened_with_age {
        r.findings.push(Finding::snapshot(
            Rule::SnapshotNotEncrypted,
            "the snapshot file was opened without age encryption: whoever holds the file holds every value in it".into(),
        ));
    }
    Ok(())
}
