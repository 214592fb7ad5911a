//! Which encoding a stored value uses, decided from its first bytes without decoding
//! it (cheap enough to run on every key of a listing).
//!
//! ```text
//! "k8s" 00 ...                         Kubernetes protobuf (runtime.Unknown follows)
//! "k8s:enc:" provider ":" ver ":" name ":" ...   encrypted at rest
//! d9 d9 f7 ...                         CBOR with the self-describing tag 55799
//! optional whitespace "{" ... "}"      JSON
//! anything else                        opaque (UTF-8 text or binary)
//! ```
//! Encrypted values: `k8s:enc:aescbc:v1:<key>:`, `k8s:enc:aesgcm:v1:<key>:`,
//! `k8s:enc:secretbox:v1:<key>:`, `k8s:enc:kms:v1:<plugin>:`, `k8s:enc:kms:v2:<plugin>:`;
//! KMS v2 is followed by an `EncryptedObject` protobuf whose field 2 is the key ID.

use serde::Serialize;

use super::envelope::MAGIC;
use super::wire::{Reader, WireValue};

/// Prefix of values encrypted at rest.
pub const ENCRYPTED_PREFIX: &[u8] = b"k8s:enc:";
/// CBOR self-describing tag 55799.
pub const CBOR_SELF_DESCRIBED: &[u8] = &[0xd9, 0xd9, 0xf7];

/// The encryption-at-rest provider: the one a `k8s:enc:` prefix names, or
/// [`Provider::Identity`] for a value stored as is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// The API server's `identity` provider: no encryption, so no prefix.
    /// [`classify`] never puts it in an [`Encryption`]; it names plaintext in
    /// counts and findings.
    Identity,
    AesCbc,
    AesGcm,
    Secretbox,
    KmsV1,
    KmsV2,
    /// A `k8s:enc:` prefix this version does not know, as written (`provider:version`).
    Other(String),
}

impl Provider {
    /// As the prefix and the `EncryptionConfiguration` spell it (`aescbc`, `kms:v2`, `identity`).
    pub fn as_str(&self) -> &str {
        match self {
            Provider::Identity => "identity",
            Provider::AesCbc => "aescbc",
            Provider::AesGcm => "aesgcm",
            Provider::Secretbox => "secretbox",
            Provider::KmsV1 => "kms:v1",
            Provider::KmsV2 => "kms:v2",
            Provider::Other(s) => s,
        }
    }
}

/// What the prefix of an encrypted value tells (never the key material).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Encryption {
    pub provider: Provider,
    /// The key name (aescbc/aesgcm/secretbox) or KMS plugin name from the prefix.
    pub key_name: String,
    /// KMS v2 only: the `keyID` of the `EncryptedObject`, when it parses.
    pub kms_key_id: Option<String>,
}

/// How a value is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "encoding", rename_all = "lowercase")]
pub enum Encoding {
    Protobuf,
    Json,
    Cbor,
    Encrypted(Encryption),
    Opaque { utf8: bool },
}

impl Encoding {
    /// `protobuf`, `json`, `cbor`, `encrypted` or `opaque` (the CLI's `encoding` field).
    pub fn name(&self) -> &'static str {
        match self {
            Encoding::Protobuf => "protobuf",
            Encoding::Json => "json",
            Encoding::Cbor => "cbor",
            Encoding::Encrypted(_) => "encrypted",
            Encoding::Opaque { .. } => "opaque",
        }
    }
}

/// Classifies a stored value from its leading (and for JSON trailing) bytes.
pub fn classify(value: &[u8]) -> Encoding {
    if value.starts_with(MAGIC) {
        return Encoding::Protobuf;
    }
    if let Some(rest) = value.strip_prefix(ENCRYPTED_PREFIX) {
        return Encoding::Encrypted(encryption(rest));
    }
    if value.starts_with(CBOR_SELF_DESCRIBED) {
        return Encoding::Cbor;
    }
    let trimmed = value.trim_ascii();
    if trimmed.starts_with(b"{") && trimmed.ends_with(b"}") {
        return Encoding::Json;
    }
    Encoding::Opaque {
        utf8: std::str::from_utf8(value).is_ok(),
    }
}

/// Splits `s` at the first `:`; `None` if there is none.
fn field(s: &[u8]) -> Option<(&[u8], &[u8])> {
    let i = s.iter().position(|&b| b == b':')?;
    Some((s.get(..i)?, s.get(i + 1..)?))
}

fn encryption(rest: &[u8]) -> Encryption {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let unknown = |provider: String| Encryption {
        provider: Provider::Other(provider),
        key_name: String::new(),
        kms_key_id: None,
    };
    let Some((provider, rest)) = field(rest) else {
        return unknown(text(rest));
    };
    let Some((version, rest)) = field(rest) else {
        return unknown(text(provider));
    };
    let Some((name, payload)) = field(rest) else {
        return unknown(format!("{}:{}", text(provider), text(version)));
    };
    let provider = match (provider, version) {
        (b"aescbc", b"v1") => Provider::AesCbc,
        (b"aesgcm", b"v1") => Provider::AesGcm,
        (b"secretbox", b"v1") => Provider::Secretbox,
        (b"kms", b"v1") => Provider::KmsV1,
        (b"kms", b"v2") => Provider::KmsV2,
        _ => Provider::Other(format!("{}:{}", text(provider), text(version))),
    };
    let kms_key_id = if provider == Provider::KmsV2 {
        kms_v2_key_id(payload)
    } else {
        None
    };
    Encryption {
        provider,
        key_name: text(name),
        kms_key_id,
    }
}

/// `EncryptedObject.keyID` (field 2) of a KMS v2 payload, if the payload parses.
fn kms_v2_key_id(payload: &[u8]) -> Option<String> {
    const ENCRYPTED_OBJECT_KEY_ID: u32 = 2;
    let mut r = Reader::new(payload, 0);
    let mut key_id = None;
    while let Some(f) = r.next_field() {
        if let (ENCRYPTED_OBJECT_KEY_ID, WireValue::Len(b), _) = f.ok()? {
            key_id = Some(String::from_utf8_lossy(b).into_owned());
        }
    }
    key_id
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(provider: Provider, key: &str, id: Option<&str>) -> Encoding {
        Encoding::Encrypted(Encryption {
            provider,
            key_name: key.into(),
            kms_key_id: id.map(Into::into),
        })
    }

    #[test]
    fn every_classification() {
        assert_eq!(classify(b"k8s\0\x0a\x00"), Encoding::Protobuf);
        assert_eq!(classify(b" {\"kind\":\"Foo\"}\n"), Encoding::Json);
        assert_eq!(classify(&[0xd9, 0xd9, 0xf7, 0xa0]), Encoding::Cbor);
        assert_eq!(
            classify(b"k8s:enc:aescbc:v1:key1:\x01\x02"),
            enc(Provider::AesCbc, "key1", None)
        );
        assert_eq!(
            classify(b"k8s:enc:aesgcm:v1:k2:xx"),
            enc(Provider::AesGcm, "k2", None)
        );
        assert_eq!(
            classify(b"k8s:enc:secretbox:v1:sb:"),
            enc(Provider::Secretbox, "sb", None)
        );
        assert_eq!(
            classify(b"k8s:enc:kms:v1:vault:\x00\x10"),
            enc(Provider::KmsV1, "vault", None)
        );
        // EncryptedObject { encryptedData: "x", keyID: "kid-7" }
        let mut v2 = b"k8s:enc:kms:v2:awskms:".to_vec();
        v2.extend([0x0a, 1, b'x', 0x12, 5]);
        v2.extend(b"kid-7");
        assert_eq!(classify(&v2), enc(Provider::KmsV2, "awskms", Some("kid-7")));
        assert_eq!(
            classify(b"k8s:enc:kms:v2:p:\xff"),
            enc(Provider::KmsV2, "p", None)
        );
        assert_eq!(
            classify(b"k8s:enc:future:v9:n:"),
            enc(Provider::Other("future:v9".into()), "n", None)
        );
        assert_eq!(classify(b"10.0.0.1"), Encoding::Opaque { utf8: true });
        assert_eq!(classify(&[0xff, 0x00]), Encoding::Opaque { utf8: false });
        assert_eq!(classify(b""), Encoding::Opaque { utf8: true });
    }
}
