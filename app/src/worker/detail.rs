//! One key in detail: its value decoded (decrypted with a pasted configuration), and every retained revision.

use etcd_lens_core::audit::Decryption;
use etcd_lens_core::k8s::{self, DEFAULT_PREFIX, Encoding};

use super::{Opened, WorkerError};
use crate::protocol::{KeyDetail, RevisionValue, RevisionView};

/// Bytes of a value shown as text (per revision) or as hex.
const TEXT_CAP_BYTES: usize = 256 * 1024;
const HEX_CAP_BYTES: usize = 4096;

/// What a pasted EncryptionConfiguration made of one encrypted value.
#[derive(Default)]
struct Decrypted {
    plaintext: Option<Vec<u8>>,
    /// `aescbc key "key1"`: the key that decrypted it.
    with: Option<String>,
    /// Why it was not decrypted.
    error: Option<String>,
}

/// Decrypt `value` of `key` with the pasted configuration, if there is one.
fn decrypt(o: &Opened, key: &[u8], value: &[u8]) -> Decrypted {
    let cfg = o.encryption.borrow();
    let Some(cfg) = cfg.as_ref() else {
        return Decrypted::default();
    };
    let resource = k8s::parse_key(key, DEFAULT_PREFIX)
        .map(|k| k.qualified_resource())
        .unwrap_or_default();
    let error = |e: String| Decrypted {
        error: Some(e),
        ..Decrypted::default()
    };
    match cfg.decrypt(&resource, key, value) {
        Decryption::Decrypted { key: k, plaintext } => Decrypted {
            plaintext: Some(plaintext),
            with: Some(format!("{} key {:?}", k.provider, k.key_name)),
            error: None,
        },
        Decryption::NoKey { key: k } => error(format!(
            "the EncryptionConfiguration has no {} key named {:?} for {resource}: a restore with it would lose this object",
            k.provider, k.key_name
        )),
        Decryption::Failed { key: k, reason } => error(format!(
            "{} key {:?} does not decrypt this value: {reason}",
            k.provider, k.key_name
        )),
        Decryption::NeedsKms { key: k } => error(format!(
            "{} {:?}: only the KMS plugin can decrypt this value",
            k.provider, k.key_name
        )),
        Decryption::Unsupported { key: k } => {
            error(format!("provider {} is not supported", k.provider))
        }
        Decryption::NotEncrypted => Decrypted::default(),
    }
}

/// Is `key` where Kubernetes keeps Secrets (`/registry/secrets/…`)?
pub(super) fn is_secret_key(key: &[u8]) -> bool {
    k8s::parse_key(key, DEFAULT_PREFIX).is_some_and(|k| k.qualified_resource() == "secrets")
}

/// One key in detail: metadata, decoded object, raw value, every retained revision.
pub fn key_detail(o: &Opened, key_hex: &str) -> Result<KeyDetail, WorkerError> {
    let key = hex::decode(key_hex).map_err(|_| WorkerError::BadLink)?;
    let index = o.index()?;
    let Some(hist) = index.history(&key) else {
        return Err(WorkerError::NoKey(
            String::from_utf8_lossy(&key).into_owned(),
        ));
    };
    let live = hist.live;
    let history = o.snap.history(index, &key)?;
    let value: &[u8] = history
        .iter()
        .rev()
        .find(|h| !h.deleted)
        .map(|h| h.kv.value.as_slice())
        .unwrap_or_default();
    let value: &[u8] = if live.is_some() { value } else { &[] };
    let encoding = k8s::classify(value);
    let (provider, key_name) = match &encoding {
        Encoding::Encrypted(e) => (
            Some(e.provider.as_str().to_string()),
            Some(e.key_name.clone()),
        ),
        _ => (None, None),
    };
    let (mut api_version, mut kind, mut object, mut decode_error) = (None, None, None, None);
    let decrypted = if live.is_some() && matches!(encoding, Encoding::Encrypted(_)) {
        decrypt(o, &key, value)
    } else {
        Decrypted::default()
    };
    let decodable: &[u8] = decrypted.plaintext.as_deref().unwrap_or(value);
    if live.is_some() {
        match k8s::decode(decodable) {
            Ok(obj) => {
                api_version = Some(obj.api_version.clone());
                kind = Some(obj.kind.clone());
                object = Some(obj.object);
            }
            Err(e) => decode_error = Some(e.to_string()),
        }
    }
    let text = std::str::from_utf8(value)
        .ok()
        .map(|t| cap_text(t, TEXT_CAP_BYTES));
    let revisions: Vec<RevisionView> = history
        .iter()
        .map(|h| RevisionView {
            main: h.rev.main,
            sub: h.rev.sub,
            deleted: h.deleted,
            version: h.kv.version,
            value_size: h.kv.value.len() as u64,
            value: if h.deleted {
                RevisionValue::Deleted
            } else {
                revision_value(o, &key, &h.kv.value)
            },
        })
        .collect();
    // A Secret by its place, or by what any revision decodes to: a deleted or
    // encrypted latest revision must not unmask the older ones.
    let is_secret = is_secret_key(&key)
        || kind.as_deref() == Some("Secret")
        || revisions.iter().any(|r| {
            matches!(&r.value, RevisionValue::Object { object, .. } if object.get("kind").and_then(|k| k.as_str()) == Some("Secret"))
        });
    Ok(KeyDetail {
        key: String::from_utf8_lossy(&key).into_owned(),
        key_hex: key_hex.to_string(),
        role: k8s::parse_key(&key, DEFAULT_PREFIX)
            .and_then(|k| k.role)
            .map(|r| r.label().to_string()),
        create_revision: live.map(|l| l.create_revision),
        mod_revision: live.map(|l| l.mod_revision),
        version: live.map(|l| l.version),
        lease: live.map(|l| l.lease),
        value_size: value.len() as u64,
        encoding: encoding.name().to_string(),
        provider,
        key_name,
        decrypted_with: decrypted.with,
        decrypt_error: decrypted.error,
        api_version,
        kind,
        object,
        decode_error,
        is_secret,
        text,
        hex: hex::encode(&value[..value.len().min(HEX_CAP_BYTES)]),
        truncated: value.len() > HEX_CAP_BYTES,
        history: revisions,
    })
}

/// A revision's value for the history and its diff: the decoded object when
/// it decodes (decrypted first when the pasted configuration can), the
/// provider and key when it stays encrypted, else lossy text.
pub(super) fn revision_value(o: &Opened, key: &[u8], value: &[u8]) -> RevisionValue {
    let mut decrypted_with = None;
    let plaintext;
    let mut decodable = value;
    if let Encoding::Encrypted(e) = k8s::classify(value) {
        let d = decrypt(o, key, value);
        match d.plaintext {
            Some(p) => {
                plaintext = p;
                decodable = &plaintext;
                decrypted_with = d.with;
            }
            None => {
                return RevisionValue::Encrypted {
                    provider: e.provider.as_str().to_string(),
                    key_name: e.key_name.clone(),
                };
            }
        }
    }
    match k8s::decode(decodable) {
        Ok(obj) => RevisionValue::Object {
            object: obj.object,
            decrypted_with,
        },
        Err(_) => RevisionValue::Text {
            text: cap_text(&String::from_utf8_lossy(decodable), TEXT_CAP_BYTES),
        },
    }
}

fn cap_text(t: &str, cap: usize) -> String {
    if t.len() <= cap {
        return t.to_string();
    }
    let mut end = cap;
    while !t.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}\n… ({} more bytes)", &t[..end], t.len() - end)
}
