//! Entry points shared by the cargo-fuzz targets in `fuzz/` and the stable
//! tests that replay their seed corpora (`tests/fuzz_replay.rs`,
//! `tests/audit_fuzz_replay.rs`). Each takes arbitrary bytes and must return
//! without panicking, hanging, or allocating more than the input justifies; the
//! targets ignore results (what the audit entry points return is for the replay
//! test's checks on well-formed seeds).

use std::ops::ControlFlow;

use prost::Message;
use serde_json::Value;

use crate::audit::credentials::{self, CredentialHit, PATTERN_IDS};
use crate::audit::encryption::{EncryptionConfig, ProviderConfig};
use crate::bolt::{self, Db};
use crate::mvcc::{KeyValue, RevisionKey};
use crate::snapshot::Snapshot;
use crate::source::MemSource;
use crate::status::{self, Compat};

/// Open the bytes as a bbolt file and read everything a user can ask for.
pub fn open_and_walk(data: &[u8]) {
    let src = MemSource(data);
    let Ok(db) = Db::open_with_cache(&src, 1 << 16) else {
        return;
    };
    let _ = bolt::check(&db);
    let _ = status::status(&db, Compat::V35);
    let _ = status::status(&db, Compat::V36);
    let _ = db.for_each(&db.root(), Some(b"k"), |_| ControlFlow::Continue(()));
    let Ok(snap) = Snapshot::from_db(db) else {
        return;
    };
    let Ok(ix) = snap.key_index() else { return };
    let keys: Vec<Vec<u8>> = ix.live().map(|(k, _)| k.to_vec()).take(64).collect();
    for k in keys {
        let _ = snap.get(&ix, &k, None);
        let _ = snap.get(&ix, &k, Some(1));
        let _ = snap.history(&ix, &k);
    }
}

/// Parse a revision key; a parsed key must encode back to the same bytes.
pub fn revision_key(data: &[u8]) {
    if let Ok(k) = RevisionKey::parse(data) {
        assert_eq!(k.encode(), data, "revision keys round-trip");
    }
}

/// Decode an mvccpb.KeyValue; a decoded value must re-encode and decode equal.
pub fn key_value(data: &[u8]) {
    if let Ok(kv) = KeyValue::decode(data) {
        let again =
            KeyValue::decode(kv.encode_to_vec().as_slice()).expect("re-encoded KeyValue decodes");
        assert_eq!(kv, again);
    }
}

/// Cap on the values synthesized per configuration (one per configured key and
/// resource), so a long key list cannot make one input quadratic.
const MAX_SYNTHESIZED: usize = 64;

/// `yaml \0 resource \0 etcd-key \0 value`: parse the YAML (lossy UTF-8) as an
/// `EncryptionConfiguration`; when it parses, decrypt `value` as given and
/// behind the prefix of every configured key (so the ciphers see the bytes
/// without the fuzzer having to guess key names). Missing parts default to
/// `secrets`, `/registry/secrets/default/s` and empty. Returns whether the
/// configuration parsed.
pub fn audit_config(data: &[u8]) -> bool {
    let mut parts = data.splitn(4, |&b| b == 0);
    let yaml = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let resource = parts
        .next()
        .map_or_else(|| "secrets".into(), String::from_utf8_lossy);
    let etcd_key: &[u8] = parts.next().unwrap_or(b"/registry/secrets/default/s");
    let value = parts.next().unwrap_or_default();
    let Ok(config) = EncryptionConfig::parse(&yaml) else {
        return false;
    };
    let _ = config.decrypt(&resource, etcd_key, value);
    let _ = config.write_key(&resource);
    let mut prefixes = Vec::new();
    for rule in &config.resources {
        for r in &rule.resources {
            let _ = config.write_key(r);
            for p in &rule.providers {
                let names: Vec<&str> = match p {
                    ProviderConfig::AesCbc(k)
                    | ProviderConfig::AesGcm(k)
                    | ProviderConfig::Secretbox(k) => k.iter().map(|k| k.name.as_str()).collect(),
                    ProviderConfig::Kms { name, .. } => vec![name.as_str()],
                    ProviderConfig::Identity => Vec::new(),
                };
                let version = match p {
                    ProviderConfig::Kms { api_version, .. } => api_version.as_str(),
                    _ => "v1",
                };
                let provider = match p {
                    ProviderConfig::Kms { .. } => "kms".to_string(),
                    other => other.prefix_name(),
                };
                for name in names {
                    prefixes.push((r.as_str(), format!("k8s:enc:{provider}:{version}:{name}:")));
                }
            }
        }
    }
    for (r, prefix) in prefixes.into_iter().take(MAX_SYNTHESIZED) {
        let mut v = prefix.into_bytes();
        v.extend_from_slice(value);
        let _ = config.decrypt(r, etcd_key, &v);
    }
    true
}

/// Scan arbitrary text for credentials: as a JSON object (its own `kind`, and
/// as a ConfigMap) when it parses, else as one value (`name=value` gives the
/// value a name). Every hit must name a known pattern and be masked. Returns
/// the patterns found, sorted and deduplicated.
pub fn credentials(data: &[u8]) -> Vec<&'static str> {
    let text = String::from_utf8_lossy(data);
    let mut hits: Vec<CredentialHit> = Vec::new();
    if let Ok(object) = serde_json::from_str::<Value>(&text) {
        let kind = object.get("kind").and_then(Value::as_str).unwrap_or("");
        hits.extend(credentials::scan_object(kind, &object));
        if kind != "ConfigMap" {
            hits.extend(credentials::scan_object("ConfigMap", &object));
        }
    } else {
        let (name, value) = match text.split_once('=') {
            Some((n, v)) => (Some(n), v),
            None => (None, &*text),
        };
        credentials::scan_value("fuzz", name, value, &mut hits);
    }
    for h in &hits {
        assert!(
            PATTERN_IDS.contains(&h.pattern),
            "unknown pattern {}",
            h.pattern
        );
        assert!(
            h.pattern == "basic-auth-url" || h.masked.ends_with(" chars)"),
            "{} hit not masked",
            h.pattern
        );
    }
    let mut patterns: Vec<&'static str> = hits.into_iter().map(|h| h.pattern).collect();
    patterns.sort_unstable();
    patterns.dedup();
    patterns
}
