//! `secret-plaintext-unreachable`: plaintext Secrets left in pages no tree
//! reaches, one finding per (page, key when the page still parses). The page
//! scan itself, and what it leaves out, is [`super::pages`]. Runs only when
//! [`super::AuditOptions::scan_free_pages`] is set.

use crate::ReadAt;
use crate::k8s::Provider;
use crate::mvcc::Revision;
use crate::snapshot::SnapshotError;

use super::context::{Context, SECRETS};
use super::finding::{Details, Finding, SecretFacts, who};
use super::pages::{self, PageHit};
use super::report::AuditReport;
use super::rule::Rule;

pub(super) fn check<S: ReadAt>(
    ctx: &Context<'_, S>,
    r: &mut AuditReport,
) -> Result<(), SnapshotError> {
    if !ctx.opts.scan_free_pages {
        return Ok(());
    }
    let retained = |k: &[u8], rev: Revision| {
        ctx.ix
            .history(k)
            .is_some_and(|h| h.revisions.iter().any(|r| r.rev == rev))
    };
    let (hits, stats) = pages::scan(ctx.snap.db(), &ctx.opts.prefix, &retained)?;
    r.census.unreachable_pages_scanned = stats.candidate_pages;
    r.findings.extend(hits.into_iter().map(finding));
    Ok(())
}

fn finding(h: PageHit) -> Finding {
    const RULE: Rule = Rule::SecretPlaintextUnreachable;
    let facts = h.object.as_ref().map(SecretFacts::of).unwrap_or_default();
    let f = match &h.key {
        Some((key, info)) => {
            let message = format!(
                "page {}: plaintext of Secret {} ({}) at revision{} {}, gone from the history but still in the file",
                h.page,
                who(info),
                facts.describe(),
                if h.revisions.len() > 1 { "s" } else { "" },
                join_revs(&h.revisions)
            );
            Finding::object(RULE, key, info, h.revisions.last().copied(), message)
        }
        None => Finding::unkeyed(
            RULE,
            SECRETS,
            format!(
                "page {}: bytes of a plaintext Secret in a page no tree reaches",
                h.page
            ),
        ),
    };
    f.with_provider(&Provider::Identity).with_details(
        Details::secret(facts)
            .on_page(h.page)
            .at_revisions(h.revisions),
    )
}

fn join_revs(revs: &[i64]) -> String {
    revs.iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
