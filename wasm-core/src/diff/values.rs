//! Two stored values of one key, compared as a person reads them: decoded
//! objects field by field ([`super::fields`]), encrypted values by the key
//! that protects them (a Secret re-encrypted with a new key is reported as
//! that, not as a data change), and undecodable values byte for byte.
//!
//! With the cluster's `EncryptionConfiguration`, encrypted values are
//! decrypted first and compared as objects too.

use serde::Serialize;

use crate::audit::{Decryption, EncryptionConfig, KeyId};
use crate::k8s::{self, Encoding};

use super::fields::{self, FieldDiff};

/// What differs in the content of a modified value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "content", rename_all = "snake_case")]
pub enum Content {
    /// The decoded objects differ at these leaf paths.
    Fields {
        paths: Vec<String>,
        /// Paths beyond the ones listed.
        more: usize,
        /// Every difference is under `status`.
        status_only: bool,
        /// Noise fields that differ too (see [`super::fields`]).
        noise: Vec<String>,
    },
    /// Only noise fields differ (a Lease renewal, a node heartbeat).
    NoiseOnly { noise: Vec<String> },
    /// The same object, stored anew (another encryption, another encoding).
    Same,
    /// Encrypted, and the key is not at hand: the content is not known.
    Unknown,
    /// Not Kubernetes objects (or not decodable): the bytes differ.
    Bytes,
}

/// How a value's encryption at rest changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EncryptionChange {
    /// `None`: stored in plaintext.
    pub from: Option<KeyId>,
    pub to: Option<KeyId>,
}

/// How one key's value changed between two snapshots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValueChange {
    /// Set when the provider or key differs.
    pub encryption: Option<EncryptionChange>,
    #[serde(flatten)]
    pub content: Content,
}

impl ValueChange {
    /// Worth reporting when noise is ignored.
    pub fn is_meaningful(&self) -> bool {
        self.encryption.is_some()
            || !matches!(self.content, Content::NoiseOnly { .. } | Content::Same)
    }
}

fn key_of(value: &[u8]) -> Option<KeyId> {
    match k8s::classify(value) {
        Encoding::Encrypted(e) => Some(KeyId::of(&e)),
        _ => None,
    }
}

/// The plaintext of `value`: itself, or decrypted with `config`. `None` when encrypted and not decryptable.
fn plaintext<'v>(
    value: &'v [u8],
    key: &[u8],
    resource: &str,
    config: Option<&EncryptionConfig>,
) -> Option<std::borrow::Cow<'v, [u8]>> {
    match config.map(|c| c.decrypt(resource, key, value)) {
        _ if key_of(value).is_none() => Some(value.into()),
        Some(Decryption::Decrypted { plaintext, .. }) => Some(plaintext.into()),
        _ => None,
    }
}

/// apiVersion and kind of a stored value, when it is a readable object
/// (protobuf: from the envelope alone; JSON and CBOR: decoded).
pub fn type_of(value: &[u8]) -> Option<(String, String)> {
    match k8s::classify(value) {
        Encoding::Protobuf => {
            let env = k8s::parse_envelope(value)?.ok()?;
            Some((env.api_version, env.kind))
        }
        Encoding::Json | Encoding::Cbor => {
            let o = k8s::decode(value).ok()?;
            Some((o.api_version, o.kind))
        }
        _ => None,
    }
}

/// Compare the old and new value of `key` (whose resource, `plural` or
/// `plural.group`, picks the encryption rule): `None` when the bytes are
/// equal; and the new value's apiVersion and kind (from its plaintext when decrypted).
pub fn compare_typed(
    key: &[u8],
    resource: &str,
    old: &[u8],
    new: &[u8],
    config: Option<&EncryptionConfig>,
) -> (Option<ValueChange>, Option<(String, String)>) {
    if old == new {
        return (None, type_of(new));
    }
    let plain_new = plaintext(new, key, resource, config);
    let typ = plain_new.as_deref().and_then(type_of);
    (changed(key, resource, old, new, config), typ)
}

fn changed(
    key: &[u8],
    resource: &str,
    old: &[u8],
    new: &[u8],
    config: Option<&EncryptionConfig>,
) -> Option<ValueChange> {
    let (from, to) = (key_of(old), key_of(new));
    let encryption = (from != to).then(|| EncryptionChange {
        from: from.clone(),
        to: to.clone(),
    });
    let (po, pn) = (
        plaintext(old, key, resource, config),
        plaintext(new, key, resource, config),
    );
    let (Some(po), Some(pn)) = (po, pn) else {
        return Some(ValueChange {
            encryption,
            content: Content::Unknown,
        });
    };
    if po == pn {
        return Some(ValueChange {
            encryption,
            content: Content::Same,
        });
    }
    match (k8s::decode(&po), k8s::decode(&pn)) {
        (Ok(a), Ok(b)) => {
            let d: FieldDiff = fields::compare(&b.kind, &b.api_version, &a.object, &b.object);
            let content = if a.object == b.object {
                Content::Same
            } else if d.is_noise_only() {
                Content::NoiseOnly { noise: d.noise }
            } else {
                Content::Fields {
                    status_only: d.status_only(),
                    paths: d.paths,
                    more: d.more,
                    noise: d.noise,
                }
            };
            Some(ValueChange {
                encryption,
                content,
            })
        }
        _ => Some(ValueChange {
            encryption,
            content: Content::Bytes,
        }),
    }
}
