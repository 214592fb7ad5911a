//! Secrets at rest, by their latest value, one finding per key:
//! `secret-plaintext`, `secret-weak-provider` (aescbc, aesgcm),
//! `secret-deprecated-provider` (KMS v1), `secret-undecryptable` (with an
//! EncryptionConfiguration that lacks the key or whose key does not open the
//! value) and `secret-stale-key`; and the census's Secret counts.
//!
//! "Stale" compares each encrypted Secret with the key new writes use: the
//! EncryptionConfiguration's first provider and key when one is given, else the
//! key of the most recently written Secret (the rotation's likely target).

use crate::ReadAt;
use crate::k8s::{Encoding, KeyInfo, Provider, classify, decode};
use crate::snapshot::SnapshotError;

use super::context::{Context, Live, SECRETS};
use super::encryption::{Decryption, EncryptionConfig, KeyId};
use super::finding::{Details, Finding, SecretFacts, who};
use super::report::AuditReport;
use super::rule::Rule;

/// An encrypted live Secret, kept for the stale-key rule (which needs them
/// all, so it runs once every slice of keys is done: [`stale_keys`]).
pub(super) struct EncryptedSecret {
    key: Vec<u8>,
    info: KeyInfo,
    revision: i64,
    id: KeyId,
}

/// The pass's live Secrets; the encrypted ones are added to `encrypted`.
pub(super) fn check<S: ReadAt>(
    ctx: &Context<'_, S>,
    r: &mut AuditReport,
    encrypted: &mut Vec<EncryptedSecret>,
) -> Result<(), SnapshotError> {
    for live in ctx.live(|resource| resource == SECRETS) {
        let live = live?;
        r.census.secrets_total += 1;
        match classify(&live.value) {
            Encoding::Encrypted(e) => {
                let id = KeyId::of(&e);
                let decryption = ctx
                    .config()
                    .map(|c| c.decrypt(&live.resource, live.key, &live.value));
                at_rest(r, &live, &e.provider, &id, decryption);
                encrypted.push(EncryptedSecret {
                    key: live.key.to_vec(),
                    info: live.info,
                    revision: live.revision,
                    id,
                });
            }
            encoding @ (Encoding::Protobuf | Encoding::Json | Encoding::Cbor) => {
                plaintext(r, live, &encoding);
            }
            Encoding::Opaque { .. } => r.census.unreadable += 1,
        }
    }
    Ok(())
}

/// `secret-plaintext`, or a warning when the value does not decode.
fn plaintext(r: &mut AuditReport, live: Live<'_>, encoding: &Encoding) {
    let obj = match decode(&live.value) {
        Ok(obj) => obj,
        Err(e) => {
            r.census.unreadable += 1;
            r.warnings
                .push(format!("{}: {e}", String::from_utf8_lossy(live.key)));
            return;
        }
    };
    let info = live.info.with_object(&obj);
    let facts = SecretFacts::of(&obj);
    let c = &mut r.census;
    c.plaintext += 1;
    *c.per_provider
        .entry(Provider::Identity.as_str().to_string())
        .or_default() += 1;
    *c.plaintext_types.entry(facts.type_or_opaque()).or_default() += 1;
    let message = format!(
        "Secret {} ({}) is stored in plaintext ({}): anyone with this snapshot reads it",
        who(&info),
        facts.describe(),
        encoding.name()
    );
    r.findings.push(
        Finding::object(
            Rule::SecretPlaintext,
            live.key,
            &info,
            Some(live.revision),
            message,
        )
        .with_provider(&Provider::Identity)
        .with_details(Details::secret(facts)),
    );
}

/// The provider's rating, and whether the configuration can decrypt the value.
fn at_rest(
    r: &mut AuditReport,
    live: &Live<'_>,
    provider: &Provider,
    id: &KeyId,
    decryption: Option<Decryption>,
) {
    let c = &mut r.census;
    c.encrypted += 1;
    *c.per_provider.entry(id.provider.clone()).or_default() += 1;
    *c.per_key.entry(id.to_string()).or_default() += 1;
    let finding = |rule: Rule, message: String| {
        Finding::object(rule, live.key, &live.info, Some(live.revision), message).with_key(id)
    };
    let name = who(&live.info);
    let rating = match provider {
        Provider::AesCbc => Some((
            Rule::SecretWeakProvider,
            format!(
                "Secret {name} is encrypted with aescbc (key {}), which the Kubernetes documentation rates weak (padding-oracle attacks)",
                id.key_name
            ),
        )),
        Provider::AesGcm => Some((
            Rule::SecretWeakProvider,
            format!(
                "Secret {name} is encrypted with aesgcm (key {}): safe only if the key is rotated every 200,000 writes",
                id.key_name
            ),
        )),
        Provider::KmsV1 => Some((
            Rule::SecretDeprecatedProvider,
            format!(
                "Secret {name} is encrypted with KMS v1 (plugin {}), deprecated since Kubernetes 1.28 and disabled by default from 1.29",
                id.key_name
            ),
        )),
        _ => None,
    };
    if let Some((rule, message)) = rating {
        r.findings.push(finding(rule, message));
    }
    let Some(d) = decryption else { return };
    let c = &mut r.census;
    let message = match d {
        Decryption::Decrypted { key, .. } => {
            if let Some(m) = c.decrypted.as_mut() {
                *m.entry(key.to_string()).or_default() += 1;
            }
            return;
        }
        Decryption::NeedsKms { .. } => {
            c.needs_kms = Some(c.needs_kms.unwrap_or(0) + 1);
            return;
        }
        Decryption::NotEncrypted => return,
        Decryption::NoKey { key } | Decryption::Unsupported { key } => format!(
            "Secret {name} is encrypted with {key}, which the EncryptionConfiguration does not have for secrets: a restore with it would lose this Secret"
        ),
        Decryption::Failed { key, reason } => format!(
            "Secret {name} does not decrypt with the configured {key}: {reason}; a restore with this configuration would lose it"
        ),
    };
    c.undecryptable = Some(c.undecryptable.unwrap_or(0) + 1);
    r.findings.push(finding(Rule::SecretUndecryptable, message));
}

/// `secret-stale-key`: encrypted under a key other than the current one.
pub(super) fn stale_keys(
    r: &mut AuditReport,
    cfg: Option<&EncryptionConfig>,
    encrypted: &[EncryptedSecret],
) {
    let (current, why) = match cfg.map(|c| c.write_key(SECRETS)) {
        Some(Some(k)) => (k, "the EncryptionConfiguration's first provider and key"),
        Some(None) => return,
        None => match encrypted.iter().max_by_key(|e| e.revision) {
            Some(e) => (e.id.clone(), "the key of the most recently written Secret"),
            None => return,
        },
    };
    for e in encrypted.iter().filter(|e| !current.covers(&e.id)) {
        let message = format!(
            "Secret {} is encrypted with {}, not {current} ({why}): the rotation is not finished",
            who(&e.info),
            e.id
        );
        r.findings.push(
            Finding::object(
                Rule::SecretStaleKey,
                &e.key,
                &e.info,
                Some(e.revision),
                message,
            )
            .with_key(&e.id),
        );
    }
}
