//! `secret-plaintext-in-history`: older plaintext revisions of Secrets that are
//! encrypted or deleted now, one finding per (key, revision). A Secret that is
//! plaintext now is `secret-plaintext`'s, not this rule's.

use crate::ReadAt;
use crate::k8s::{Encoding, Provider, classify, parse_key};
use crate::snapshot::SnapshotError;

use super::context::{Context, SECRETS};
use super::finding::{Details, Finding, SecretFacts, who};
use super::pages;
use super::report::AuditReport;
use super::rule::Rule;

pub(super) fn check<S: ReadAt>(
    ctx: &Context<'_, S>,
    r: &mut AuditReport,
) -> Result<(), SnapshotError> {
    for (key, h) in ctx.histories() {
        let Some(info) = parse_key(key, &ctx.opts.prefix) else {
            continue;
        };
        if info.qualified_resource() != SECRETS || h.revisions.len() < 2 {
            continue;
        }
        let Some((last, older)) = h.revisions.split_last() else {
            continue;
        };
        let now = if last.tombstone {
            format!("deleted at revision {}", last.rev.main)
        } else {
            let Some(kv) = ctx.snap.value(*last)? else {
                continue;
            };
            match classify(&kv.value) {
                Encoding::Encrypted(e) => format!(
                    "encrypted with {}:{} since revision {}",
                    e.provider.as_str(),
                    e.key_name,
                    last.rev.main
                ),
                // Plaintext now: `secret-plaintext` covers it.
                _ => continue,
            }
        };
        for rk in older.iter().filter(|rk| !rk.tombstone) {
            let Some(kv) = ctx.snap.value(*rk)? else {
                continue;
            };
            let Some(obj) = pages::plaintext_secret(&kv.value) else {
                continue;
            };
            let info = info.clone().with_object(&obj);
            let facts = SecretFacts::of(&obj);
            let message = format!(
                "Secret {} ({}) is {now}, but its plaintext is retained at revision {}",
                who(&info),
                facts.describe(),
                rk.rev.main
            );
            r.findings.push(
                Finding::object(
                    Rule::SecretPlaintextInHistory,
                    key,
                    &info,
                    Some(rk.rev.main),
                    message,
                )
                .with_provider(&Provider::Identity)
                .with_details(Details::secret(facts).at_revisions(vec![rk.rev.main])),
            );
        }
    }
    Ok(())
}
