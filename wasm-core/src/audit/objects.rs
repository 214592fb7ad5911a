//! `credential-in-object`: credentials in live objects that are not Secrets,
//! one finding per (key, field path, pattern). Objects encrypted at rest are
//! scanned when the EncryptionConfiguration decrypts them. The patterns and
//! where they are looked for are in [`super::credentials`].

use std::borrow::Cow;

use crate::ReadAt;
use crate::k8s::{Encoding, classify, decode};
use crate::snapshot::SnapshotError;

use super::context::{Context, Live, SECRETS};
use super::credentials;
use super::encryption::{Decryption, EncryptionConfig};
use super::finding::{Details, Finding, who};
use super::report::AuditReport;
use super::rule::Rule;

pub(super) fn check<S: ReadAt>(
    ctx: &Context<'_, S>,
    r: &mut AuditReport,
) -> Result<(), SnapshotError> {
    for live in ctx.live(|resource| resource != SECRETS) {
        let live = live?;
        let Some(Ok(obj)) = readable(ctx.config(), &live).map(|bytes| decode(&bytes)) else {
            continue;
        };
        // A Secret holds credentials by design: only other objects are scanned.
        if obj.kind == "Secret" {
            continue;
        }
        r.census.objects_scanned += 1;
        let info = live.info.with_object(&obj);
        let kind = if obj.kind.is_empty() {
            "object"
        } else {
            &obj.kind
        };
        for hit in credentials::scan_object(&obj.kind, &obj.object) {
            let message = format!(
                "{kind} {}: {} looks like a credential ({}: {})",
                who(&info),
                hit.field_path,
                hit.pattern,
                hit.masked
            );
            r.findings.push(
                Finding::object(
                    Rule::CredentialInObject,
                    live.key,
                    &info,
                    Some(live.revision),
                    message,
                )
                .with_details(Details::credential(hit)),
            );
        }
    }
    Ok(())
}

/// The object's bytes: as stored, or decrypted with the configuration; `None`
/// when neither applies (opaque, or encrypted without a key for it).
fn readable<'v>(config: Option<&EncryptionConfig>, live: &'v Live<'_>) -> Option<Cow<'v, [u8]>> {
    match classify(&live.value) {
        Encoding::Encrypted(_) => match config?.decrypt(&live.resource, live.key, &live.value) {
            Decryption::Decrypted { plaintext, .. } => Some(Cow::Owned(plaintext)),
            _ => None,
        },
        Encoding::Protobuf | Encoding::Json | Encoding::Cbor => Some(Cow::Borrowed(&live.value)),
        Encoding::Opaque { .. } => None,
    }
}
