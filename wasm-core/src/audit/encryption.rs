//! The API server's `EncryptionConfiguration` and local decryption with its keys.
//!
//! ```text
//! k8s:enc:aescbc:v1:<name>:    | IV 16          | AES-CBC ciphertext, PKCS#7 padded           |
//! k8s:enc:aesgcm:v1:<name>:    | nonce 12       | AES-GCM ciphertext ‖ tag 16 (AAD = etcd key) |
//! k8s:enc:secretbox:v1:<name>: | nonce 24       | tag 16 ‖ XSalsa20 ciphertext (NaCl secretbox) |
//! ```
//! The plaintext is what the API server would have stored unencrypted (`k8s\0`
//! protobuf or JSON). KMS values need the KMS and are reported as such.
//!
//! Invariants: key material never appears in an error, a `Debug` string or a
//! message; nothing here does I/O (the caller hands in the YAML text). Which
//! keys apply follows the API server: the first `resources` entry naming the
//! resource (`secrets`, `*.`, `*.group`, `*.*`), and only that entry's keys —
//! a value whose key is not there would not be readable after a restore.

use aes::cipher::{BlockDecryptMut, KeyIvInit, block_padding::Pkcs7};
use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes128Gcm, Aes256Gcm, AesGcm};
use base64::Engine;
use serde::Serialize;
use yaml_rust2::{Yaml, YamlLoader};

use crate::k8s::{Encoding, Encryption, Provider, classify};

/// AES-CBC's IV, AES-GCM's nonce and secretbox's nonce lengths, as Kubernetes writes them.
pub const AESCBC_IV_LEN: usize = 16;
pub const AESGCM_NONCE_LEN: usize = 12;
pub const SECRETBOX_NONCE_LEN: usize = 24;

/// Why the configuration was not usable. Never contains key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum ConfigError {
    #[error("the EncryptionConfiguration is not YAML: {message}")]
    Yaml { message: String },
    #[error("the EncryptionConfiguration has no `resources` list")]
    NoResources,
    #[error("resources[{index}]: {message}")]
    Entry { index: usize, message: String },
}

/// One named key (`aescbc`/`aesgcm`/`secretbox`). The secret is never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyConfig {
    pub name: String,
    secret: Vec<u8>,
}

impl std::fmt::Debug for KeyConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyConfig")
            .field("name", &self.name)
            .field("secret", &format_args!("<{} bytes>", self.secret.len()))
            .finish()
    }
}

/// One provider of a `resources` entry, in the configuration's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderConfig {
    AesCbc(Vec<KeyConfig>),
    AesGcm(Vec<KeyConfig>),
    Secretbox(Vec<KeyConfig>),
    /// `apiVersion` is `v1` (the default) or `v2`.
    Kms {
        api_version: String,
        name: String,
    },
    Identity,
}

impl ProviderConfig {
    /// The provider that values written with this configuration name.
    pub fn provider(&self) -> Provider {
        match self {
            ProviderConfig::AesCbc(_) => Provider::AesCbc,
            ProviderConfig::AesGcm(_) => Provider::AesGcm,
            ProviderConfig::Secretbox(_) => Provider::Secretbox,
            ProviderConfig::Kms { api_version, .. } => match api_version.as_str() {
                "v1" => Provider::KmsV1,
                "v2" => Provider::KmsV2,
                other => Provider::Other(format!("kms:{other}")),
            },
            ProviderConfig::Identity => Provider::Identity,
        }
    }

    /// The provider as the value prefix spells it (`aescbc`, `kms:v2`, `identity`).
    pub fn prefix_name(&self) -> String {
        self.provider().as_str().to_string()
    }

    fn keys(&self) -> &[KeyConfig] {
        match self {
            ProviderConfig::AesCbc(k)
            | ProviderConfig::AesGcm(k)
            | ProviderConfig::Secretbox(k) => k,
            _ => &[],
        }
    }
}

/// One `resources` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceRule {
    /// As written: `secrets`, `configmaps`, `*.`, `*.*`, `widgets.example.com`, …
    pub resources: Vec<String>,
    pub providers: Vec<ProviderConfig>,
}

impl ResourceRule {
    /// Does this entry apply to `resource` (`plural` or `plural.group`)?
    fn matches(&self, resource: &str) -> bool {
        let group = resource.split_once('.').map_or("", |(_, g)| g);
        self.resources.iter().any(|r| {
            let r = r.as_str();
            r == "*.*"
                || r == resource
                || (group.is_empty() && r == format!("{resource}."))
                || r.strip_prefix("*.").is_some_and(|g| g == group)
        })
    }
}

/// The key a value is (or would be) written with: what "stale" compares.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct KeyId {
    /// `aescbc`, `aesgcm`, `secretbox`, `kms:v1`, `kms:v2`, `identity`, …
    pub provider: String,
    /// The key name, or the KMS plugin name.
    pub key_name: String,
    /// KMS v2 `keyID`, when known.
    pub kms_key_id: Option<String>,
}

impl KeyId {
    /// The key an encrypted value names in its prefix.
    pub fn of(e: &Encryption) -> Self {
        Self {
            provider: e.provider.as_str().to_string(),
            key_name: e.key_name.clone(),
            kms_key_id: e.kms_key_id.clone(),
        }
    }

    /// The key name, with ` keyID …` for KMS v2: what a finding's `key_name` says.
    pub fn key_name_with_id(&self) -> String {
        match &self.kms_key_id {
            Some(id) => format!("{} keyID {id}", self.key_name),
            None => self.key_name.clone(),
        }
    }

    /// Is `other` the key `self` names? (A configured KMS key has no keyID: any matches.)
    pub fn covers(&self, other: &KeyId) -> bool {
        self.provider == other.provider
            && self.key_name == other.key_name
            && (self.kms_key_id.is_none() || self.kms_key_id == other.kms_key_id)
    }
}

impl std::fmt::Display for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.provider, self.key_name)?;
        if let Some(id) = &self.kms_key_id {
            write!(f, " (keyID {id})")?;
        }
        Ok(())
    }
}

/// What the configuration makes of one stored value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decryption {
    /// Not a `k8s:enc:` value.
    NotEncrypted,
    /// Decrypted with the named key: the stored object's bytes.
    Decrypted { key: KeyId, plaintext: Vec<u8> },
    /// The configuration (for this resource) has no key of that provider and name.
    NoKey { key: KeyId },
    /// The key is there but the bytes do not decrypt with it (wrong key or damaged data).
    Failed { key: KeyId, reason: String },
    /// KMS v1/v2: needs the KMS plugin.
    NeedsKms { key: KeyId },
    /// A provider this version does not know.
    Unsupported { key: KeyId },
}

/// A parsed `EncryptionConfiguration` (`apiserver.config.k8s.io/v1`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EncryptionConfig {
    pub resources: Vec<ResourceRule>,
}

fn yaml_str(y: &Yaml) -> Option<String> {
    match y {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The identity of an encrypted value, from its prefix.
pub fn key_id_of(value: &[u8]) -> Option<KeyId> {
    match classify(value) {
        Encoding::Encrypted(e) => Some(KeyId::of(&e)),
        _ => None,
    }
}

impl EncryptionConfig {
    /// Parse the YAML text (the first document).
    pub fn parse(yaml: &str) -> Result<Self, ConfigError> {
        let docs = YamlLoader::load_from_str(yaml).map_err(|e| ConfigError::Yaml {
            // ScanError's text names the position and problem, not the content.
            message: e.to_string(),
        })?;
        let Some(doc) = docs.first() else {
            return Err(ConfigError::NoResources);
        };
        let Some(entries) = doc["resources"].as_vec() else {
            return Err(ConfigError::NoResources);
        };
        let mut out = Vec::new();
        for (index, entry) in entries.iter().enumerate() {
            let err = |message: String| ConfigError::Entry { index, message };
            let resources: Vec<String> = entry["resources"]
                .as_vec()
                .map(|v| v.iter().filter_map(yaml_str).collect())
                .unwrap_or_default();
            if resources.is_empty() {
                return Err(err("no `resources` named".into()));
            }
            let Some(providers) = entry["providers"].as_vec() else {
                return Err(err("no `providers` list".into()));
            };
            let mut ps = Vec::new();
            for (pi, p) in providers.iter().enumerate() {
                let Some(h) = p.as_hash() else {
                    return Err(err(format!("providers[{pi}] is not a mapping")));
                };
                for (name, body) in h {
                    let name = yaml_str(name).unwrap_or_default();
                    let keys = |body: &Yaml| -> Result<Vec<KeyConfig>, ConfigError> {
                        let mut ks = Vec::new();
                        for (ki, k) in body["keys"].as_vec().into_iter().flatten().enumerate() {
                            let kname = yaml_str(&k["name"]).unwrap_or_default();
                            let secret = yaml_str(&k["secret"])
                                .and_then(|s| {
                                    base64::engine::general_purpose::STANDARD
                                        .decode(s.trim())
                                        .ok()
                                })
                                .ok_or_else(|| {
                                    err(format!(
                                        "providers[{pi}].{name}.keys[{ki}] ({kname:?}): `secret` is not base64"
                                    ))
                                })?;
                            ks.push(KeyConfig {
                                name: kname,
                                secret,
                            });
                        }
                        Ok(ks)
                    };
                    ps.push(match name.as_str() {
                        "aescbc" => ProviderConfig::AesCbc(keys(body)?),
                        "aesgcm" => ProviderConfig::AesGcm(keys(body)?),
                        "secretbox" => ProviderConfig::Secretbox(keys(body)?),
                        "kms" => ProviderConfig::Kms {
                            api_version: yaml_str(&body["apiVersion"])
                                .unwrap_or_else(|| "v1".into()),
                            name: yaml_str(&body["name"]).unwrap_or_default(),
                        },
                        "identity" => ProviderConfig::Identity,
                        other => return Err(err(format!("unknown provider {other:?}"))),
                    });
                }
            }
            out.push(ResourceRule {
                resources,
                providers: ps,
            });
        }
        Ok(Self { resources: out })
    }

    /// The entry that applies to `resource` (`plural` or `plural.group`), as the API server picks it.
    pub fn rule_for(&self, resource: &str) -> Option<&ResourceRule> {
        self.resources.iter().find(|r| r.matches(resource))
    }

    /// The key new writes of `resource` use: the first provider's first key
    /// (`identity` when writes are not encrypted; `None` when no entry applies).
    pub fn write_key(&self, resource: &str) -> Option<KeyId> {
        let p = self.rule_for(resource)?.providers.first()?;
        let key_name = match p {
            ProviderConfig::Kms { name, .. } => name.clone(),
            ProviderConfig::Identity => String::new(),
            other => other.keys().first()?.name.clone(),
        };
        Some(KeyId {
            provider: p.prefix_name(),
            key_name,
            kms_key_id: None,
        })
    }

    /// Decrypt one stored value of `resource` stored under `etcd_key`.
    pub fn decrypt(&self, resource: &str, etcd_key: &[u8], value: &[u8]) -> Decryption {
        let Encoding::Encrypted(e) = classify(value) else {
            return Decryption::NotEncrypted;
        };
        let key = KeyId::of(&e);
        let prefix = format!("k8s:enc:{}:v1:{}:", e.provider.as_str(), e.key_name);
        let payload = value.strip_prefix(prefix.as_bytes());
        let wanted = |p| find_key(&e.provider, &e.key_name, p);
        match e.provider {
            // `classify` never gives an identity "encryption"; if it did, there is nothing to decrypt.
            Provider::Identity => return Decryption::NotEncrypted,
            Provider::KmsV1 | Provider::KmsV2 => return Decryption::NeedsKms { key },
            Provider::Other(_) => return Decryption::Unsupported { key },
            _ => {}
        }
        let Some(secret) = self
            .rule_for(resource)
            .and_then(|r| r.providers.iter().find_map(wanted))
        else {
            return Decryption::NoKey { key };
        };
        let Some(payload) = payload else {
            return Decryption::Failed {
                key,
                reason: "the prefix does not parse".into(),
            };
        };
        let result = match e.provider {
            Provider::AesCbc => aescbc(&secret.secret, payload),
            Provider::AesGcm => aesgcm(&secret.secret, payload, etcd_key),
            _ => secretbox(&secret.secret, payload),
        };
        match result {
            Ok(plaintext) => Decryption::Decrypted { key, plaintext },
            Err(reason) => Decryption::Failed { key, reason },
        }
    }
}

/// The configured key of `provider` named `name` in `p`, if `p` is that provider.
fn find_key<'c>(provider: &Provider, name: &str, p: &'c ProviderConfig) -> Option<&'c KeyConfig> {
    match (provider, p) {
        (Provider::AesCbc, ProviderConfig::AesCbc(k))
        | (Provider::AesGcm, ProviderConfig::AesGcm(k))
        | (Provider::Secretbox, ProviderConfig::Secretbox(k)) => k.iter().find(|k| k.name == name),
        _ => None,
    }
}

fn aescbc(key: &[u8], payload: &[u8]) -> Result<Vec<u8>, String> {
    let (Some(iv), Some(ct)) = (payload.get(..AESCBC_IV_LEN), payload.get(AESCBC_IV_LEN..)) else {
        return Err(format!(
            "shorter than the {AESCBC_IV_LEN}-byte IV ({} bytes)",
            payload.len()
        ));
    };
    if ct.len() % 16 != 0 {
        return Err(format!(
            "ciphertext of {} bytes is not a whole number of AES blocks",
            ct.len()
        ));
    }
    let bad_key = || format!("the key is {} bytes, not 16, 24 or 32", key.len());
    let bad_pad = |_| "wrong key or damaged data (PKCS#7 padding does not check)".to_string();
    match key.len() {
        16 => cbc::Decryptor::<aes::Aes128>::new_from_slices(key, iv)
            .map_err(|_| bad_key())?
            .decrypt_padded_vec_mut::<Pkcs7>(ct)
            .map_err(bad_pad),
        24 => cbc::Decryptor::<aes::Aes192>::new_from_slices(key, iv)
            .map_err(|_| bad_key())?
            .decrypt_padded_vec_mut::<Pkcs7>(ct)
            .map_err(bad_pad),
        32 => cbc::Decryptor::<aes::Aes256>::new_from_slices(key, iv)
            .map_err(|_| bad_key())?
            .decrypt_padded_vec_mut::<Pkcs7>(ct)
            .map_err(bad_pad),
        _ => Err(bad_key()),
    }
}

fn aesgcm(key: &[u8], payload: &[u8], aad: &[u8]) -> Result<Vec<u8>, String> {
    let (Some(nonce), Some(msg)) = (
        payload.get(..AESGCM_NONCE_LEN),
        payload.get(AESGCM_NONCE_LEN..),
    ) else {
        return Err(format!(
            "shorter than the {AESGCM_NONCE_LEN}-byte nonce ({} bytes)",
            payload.len()
        ));
    };
    let p = Payload { msg, aad };
    let nonce = aes_gcm::Nonce::from_slice(nonce);
    let bad_key = || format!("the key is {} bytes, not 16, 24 or 32", key.len());
    let r = match key.len() {
        16 => Aes128Gcm::new_from_slice(key)
            .map_err(|_| bad_key())?
            .decrypt(nonce, p),
        24 => AesGcm::<aes::Aes192, U12>::new_from_slice(key)
            .map_err(|_| bad_key())?
            .decrypt(nonce, p),
        32 => Aes256Gcm::new_from_slice(key)
            .map_err(|_| bad_key())?
            .decrypt(nonce, p),
        _ => return Err(bad_key()),
    };
    r.map_err(|_| "wrong key, wrong etcd key (the additional data) or damaged data".into())
}

fn secretbox(key: &[u8], payload: &[u8]) -> Result<Vec<u8>, String> {
    use crypto_secretbox::XSalsa20Poly1305;
    let (Some(nonce), Some(boxed)) = (
        payload.get(..SECRETBOX_NONCE_LEN),
        payload.get(SECRETBOX_NONCE_LEN..),
    ) else {
        return Err(format!(
            "shorter than the {SECRETBOX_NONCE_LEN}-byte nonce ({} bytes)",
            payload.len()
        ));
    };
    let cipher = XSalsa20Poly1305::new_from_slice(key)
        .map_err(|_| format!("the key is {} bytes, not 32", key.len()))?;
    cipher
        .decrypt(crypto_secretbox::Nonce::from_slice(nonce), boxed)
        .map_err(|_| "wrong key or damaged data".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"
apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources: [secrets]
    providers:
      - secretbox:
          keys:
            - name: sb1
              secret: AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=
      - aescbc:
          keys:
            - {name: cbc1, secret: AAECAwQFBgcICQoLDA0ODw==}
      - kms: {apiVersion: v2, name: vault, endpoint: unix:///k.sock}
      - identity: {}
  - resources: ["*.*"]
    providers:
      - identity: {}
"#;

    #[test]
    fn parses_and_picks_the_write_key() {
        let c = EncryptionConfig::parse(CONFIG).unwrap();
        assert_eq!(c.resources.len(), 2);
        let w = c.write_key("secrets").unwrap();
        assert_eq!(
            (w.provider.as_str(), w.key_name.as_str()),
            ("secretbox", "sb1")
        );
        assert_eq!(c.write_key("configmaps").unwrap().provider, "identity");
        assert!(
            !format!("{c:?}").contains("AAEC"),
            "Debug never shows key material"
        );
    }

    #[test]
    fn bad_yaml_and_bad_base64_are_errors() {
        assert!(matches!(
            EncryptionConfig::parse("resources: [").unwrap_err(),
            ConfigError::Yaml { .. }
        ));
        let e = EncryptionConfig::parse(
            "resources:\n- resources: [secrets]\n  providers:\n  - aescbc:\n      keys:\n      - {name: k, secret: '!!notbase64'}\n",
        )
        .unwrap_err();
        assert!(!e.to_string().contains("notbase64"), "{e}");
    }

    #[test]
    fn short_and_unknown_values() {
        let c = EncryptionConfig::parse(CONFIG).unwrap();
        assert!(matches!(
            c.decrypt("secrets", b"/k", b"k8s:enc:aescbc:v1:cbc1:short"),
            Decryption::Failed { .. }
        ));
        assert!(matches!(
            c.decrypt("secrets", b"/k", b"k8s:enc:aescbc:v1:gone:0123456789abcdef"),
            Decryption::NoKey { .. }
        ));
        assert!(matches!(
            c.decrypt("secrets", b"/k", b"k8s:enc:kms:v2:vault:\x0a\x01x"),
            Decryption::NeedsKms { .. }
        ));
        assert_eq!(
            c.decrypt("secrets", b"/k", b"k8s\0"),
            Decryption::NotEncrypted
        );
    }
}
