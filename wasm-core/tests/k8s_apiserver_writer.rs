//! Data written by Kubernetes' own code (issue #16): `tools/k8s-writer` writes
//! Secrets (plaintext, aescbc with two keys, aesgcm, secretbox, KMS v2 through
//! a fake plugin on k8s.io/kms's gRPC service, one Secret rewritten after the
//! switch), ConfigMaps, a Deployment, a Service and a ServiceAccount into a
//! real etcd through k8s.io/apiserver's etcd3 store, protobuf storage codec and
//! EncryptionConfiguration transformers; then a ConfigMap, a Secret, a
//! Deployment and an `example.com/v1 Widget` custom resource with the JSON
//! storage serializer; and prints each object as apimachinery's JSON
//! serializer renders the store's read. The snapshot of that etcd is read
//! here with the core.
//!
//! KMS v2 Secrets are not decrypted: the core cannot without the plugin (the
//! DEK seed is wrapped by the KMS), so for them the test checks what the core
//! does read — the prefix's provider and plugin name and the EncryptedObject's
//! keyID, against what the apiserver's own generated type unmarshals — and
//! the audit's exact findings and counts.
//!
//! Objects stored as JSON must equal Go's JSON exactly (resourceVersion
//! aside): no zero value is forgiven, JSON carries what Go wrote. For
//! protobuf the comparison is field for field, with two documented rules:
//! - `metadata.resourceVersion`: the store sets it on read to the key's mod
//!   revision and never stores it; it is checked against the snapshot's mod
//!   revision and removed from Go's side (ours shows the stored `""`).
//! - Go's zero values: the protobuf wire carries every non-pointer field
//!   (docs in shared/NOTES.md), apimachinery's JSON omits `omitempty` ones. A
//!   field only on our side is forgiven when it is a zero value (null, false,
//!   0, "", [], {}); every field on Go's side must be on ours, equal. Field
//!   order is not compared (JSON objects are maps).

use etcd_lens_core::MemSource;
use etcd_lens_core::audit::{self, AuditOptions, Decryption, EncryptionConfig, KeyId, Rule};
use etcd_lens_core::k8s::{self, Encoding};
use etcd_lens_core::snapshot::Snapshot;
use etcd_lens_testkit::cluster::{Cluster, ClusterOptions};
use etcd_lens_testkit::json::prune;
use etcd_lens_testkit::k8s_writer::k8s_write;
use serde_json::Value;
use std::collections::BTreeMap;

/// `ours` with every field that Go's JSON (`theirs`) lacks removed, when that
/// field is a Go zero value; a non-zero extra field stays, so the equality
/// after this fails on it.
fn drop_our_zeros(ours: &Value, theirs: &Value) -> Value {
    match (ours, theirs) {
        (Value::Object(o), Value::Object(t)) => Value::Object(
            o.iter()
                .filter(|(k, v)| t.contains_key(*k) || prune(v).is_some())
                .map(|(k, v)| {
                    let v = match t.get(k) {
                        Some(tv) => drop_our_zeros(v, tv),
                        None => v.clone(),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        (Value::Array(o), Value::Array(t)) if o.len() == t.len() => {
            Value::Array(o.iter().zip(t).map(|(a, b)| drop_our_zeros(a, b)).collect())
        }
        _ => ours.clone(),
    }
}

/// Every path where `a` and `b` differ, for the failure message.
fn differences(path: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                match y.get(k) {
                    Some(w) => differences(&format!("{path}.{k}"), v, w, out),
                    None => out.push(format!("{path}.{k}: ours {v}, not in Go's")),
                }
            }
            for (k, w) in y {
                if !x.contains_key(k) {
                    out.push(format!("{path}.{k}: Go's {w}, not in ours"));
                }
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                differences(&format!("{path}[{i}]"), v, w, out);
            }
        }
        _ if a != b => out.push(format!("{path}: ours {a}, Go's {b}")),
        _ => {}
    }
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

/// The writer's media types (its `mediaType` field).
const PROTOBUF: &str = "application/vnd.kubernetes.protobuf";
const JSON: &str = "application/json";

/// The fake KMS v2 plugin of tools/k8s-writer/kms.go: its name in the
/// EncryptionConfiguration and the key ID it reports, as our audit must say them.
const KMS_PLUGIN: &str = "fake-kms";
const KMS_KEY_ID: &str = "fake-kms-key-1";

#[test]
fn objects_written_by_the_api_servers_storage_decode_as_apimachinery_renders_them() {
    let c = Cluster::start(ClusterOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let Some(written) = k8s_write(&c.endpoints()[0], dir.path()) else {
        return;
    };
    let path = dir.path().join("snap.db");
    c.snapshot(&path);
    let snap = Snapshot::open(MemSource(std::fs::read(&path).unwrap())).unwrap();
    let ix = snap.key_index().unwrap();
    let config = EncryptionConfig::parse(&written.final_config).unwrap();

    let mut providers_seen = BTreeMap::<String, u64>::new();
    let mut keys_seen = BTreeMap::<String, u64>::new();
    let mut decryptable = BTreeMap::<String, u64>::new();
    let mut kms_secrets = Vec::new();
    let mut media_seen = BTreeMap::<String, Vec<String>>::new();
    let mut mismatches = Vec::new();
    for line in &written.lines {
        let key = s(&line["key"]);
        let (resource, provider, key_name, media) = (
            s(&line["resource"]),
            s(&line["provider"]),
            s(&line["keyName"]),
            s(&line["mediaType"]),
        );
        media_seen
            .entry(media.to_string())
            .or_default()
            .push(resource.to_string());
        let live = ix
            .history(key.as_bytes())
            .and_then(|h| h.live)
            .unwrap_or_else(|| panic!("{key}: written by k8s-writer, not live in the snapshot"));
        assert_eq!(
            Some(live.mod_revision),
            line["modRevision"].as_i64(),
            "{key}"
        );
        let value = snap
            .get(&ix, key.as_bytes(), None)
            .unwrap()
            .unwrap_or_else(|| panic!("{key}: no value"))
            .value;
        *providers_seen.entry(provider.to_string()).or_default() += 1;
        let plaintext = if provider == "identity" {
            let encoding = match media {
                PROTOBUF => Encoding::Protobuf,
                JSON => Encoding::Json,
                other => panic!("{key}: media type {other}"),
            };
            assert_eq!(k8s::classify(&value), encoding, "{key}");
            value
        } else if provider == "kms:v2" {
            // What the apiserver's own EncryptedObject type read from the value.
            let envelope = &line["kms"];
            assert_eq!(s(&envelope["keyID"]), KMS_KEY_ID, "{key}: {envelope}");
            assert_eq!(
                s(&envelope["encryptedDEKSourceType"]),
                "HKDF_SHA256_XNONCE_AES_GCM_SEED",
                "{key}"
            );
            let want = KeyId {
                provider: "kms:v2".into(),
                key_name: KMS_PLUGIN.into(),
                kms_key_id: Some(s(&envelope["keyID"]).to_string()),
            };
            assert_eq!(key_name, KMS_PLUGIN, "{key}");
            assert_eq!(
                audit::encryption::key_id_of(&value).as_ref(),
                Some(&want),
                "{key}"
            );
            assert_eq!(
                config.decrypt(resource, key.as_bytes(), &value),
                Decryption::NeedsKms { key: want.clone() },
                "{key}: the core has no KMS plugin"
            );
            *keys_seen.entry(want.to_string()).or_default() += 1;
            kms_secrets.push(key.to_string());
            continue;
        } else {
            *keys_seen
                .entry(format!("{provider}:{key_name}"))
                .or_default() += 1;
            *decryptable
                .entry(format!("{provider}:{key_name}"))
                .or_default() += 1;
            match config.decrypt(resource, key.as_bytes(), &value) {
                Decryption::Decrypted { key: id, plaintext } => {
                    assert_eq!(
                        (id.provider.as_str(), id.key_name.as_str()),
                        (provider, key_name),
                        "{key}"
                    );
                    plaintext
                }
                other => panic!("{key}: {other:?}"),
            }
        };
        let ours = k8s::decode(&plaintext)
            .unwrap_or_else(|e| panic!("{key}: {e}"))
            .object;
        let mut theirs = line["object"].clone();
        let meta = theirs["metadata"].as_object_mut().unwrap();
        assert_eq!(
            meta.remove("resourceVersion"),
            Some(Value::String(live.mod_revision.to_string())),
            "{key}: the store's read sets the mod revision"
        );
        // JSON storage keeps exactly what Go wrote: nothing to forgive.
        let ours = if media == JSON {
            ours
        } else {
            drop_our_zeros(&ours, &theirs)
        };
        let mut d = Vec::new();
        differences("", &ours, &theirs, &mut d);
        mismatches.extend(d.into_iter().map(|d| format!("{key} {d}")));
    }
    assert!(
        mismatches.is_empty(),
        "the core's JSON differs from apimachinery's:\n{}",
        mismatches.join("\n")
    );
    // The fixed set: every provider wrote something, every kind is there.
    assert_eq!(
        providers_seen.keys().collect::<Vec<_>>(),
        ["aescbc", "aesgcm", "identity", "kms:v2", "secretbox"]
    );
    assert_eq!(
        kms_secrets,
        [
            "/registry/secrets/lens/kms-one",
            "/registry/secrets/lens/kms-two"
        ]
    );
    assert_eq!(
        media_seen[JSON],
        ["configmaps", "secrets", "deployments", "widgets"],
        "the objects stored with the JSON serializer"
    );
    let resources: std::collections::BTreeSet<&str> =
        written.lines.iter().map(|l| s(&l["resource"])).collect();
    assert_eq!(
        resources.into_iter().collect::<Vec<_>>(),
        [
            "configmaps",
            "deployments",
            "secrets",
            "serviceaccounts",
            "services",
            "widgets"
        ]
    );

    // The census, without and with the EncryptionConfiguration.
    let secrets: Vec<&Value> = written
        .lines
        .iter()
        .filter(|l| l["resource"] == "secrets")
        .collect();
    let mut per_provider = BTreeMap::<String, u64>::new();
    for l in &secrets {
        *per_provider
            .entry(s(&l["provider"]).to_string())
            .or_default() += 1;
    }
    for encryption in [None, Some(config.clone())] {
        let with = encryption.is_some();
        let opts = AuditOptions {
            encryption,
            ..AuditOptions::default()
        };
        let report = audit::audit(&snap, &ix, &opts).unwrap();
        let census = &report.census;
        assert_eq!(census.secrets_total, secrets.len() as u64);
        assert_eq!(census.per_provider, per_provider, "config: {with}");
        assert_eq!(census.per_key, keys_seen, "config: {with}");
        // The KMS v2 Secrets, as the census names their key: the plugin and keyID.
        assert_eq!(
            census
                .per_key
                .get(&format!("kms:v2:{KMS_PLUGIN} (keyID {KMS_KEY_ID})")),
            Some(&2),
            "config: {with}: {:?}",
            census.per_key
        );
        assert_eq!(census.per_provider.get("kms:v2"), Some(&2));
        assert_eq!(census.plaintext, per_provider["identity"]);
        assert_eq!(census.unreadable, 0, "{:?}", report.warnings);
        if with {
            assert_eq!(census.decrypted.as_ref(), Some(&decryptable));
            assert_eq!(census.undecryptable, Some(0));
            assert_eq!(census.needs_kms, Some(2));
        }
        // The findings on the KMS v2 Secrets, exactly: not plaintext, not
        // undecryptable; stale, since new writes use aescbc key2 (the
        // configuration's first key, and the newest encrypted Secret's).
        for key in &kms_secrets {
            let on_it: Vec<_> = report
                .findings
                .iter()
                .filter(|f| f.key.as_deref() == Some(key.as_str()))
                .map(|f| (f.rule, f.provider.as_deref(), f.key_name.as_deref()))
                .collect();
            let key_name = format!("{KMS_PLUGIN} keyID {KMS_KEY_ID}");
            assert_eq!(
                on_it,
                [(
                    Rule::SecretStaleKey,
                    Some("kms:v2"),
                    Some(key_name.as_str())
                )],
                "{key}, config: {with}"
            );
        }
        // The Secret stored with the JSON serializer is found in plaintext.
        let json_plain: Vec<_> = report
            .findings
            .iter()
            .filter(|f| f.key.as_deref() == Some("/registry/secrets/lens/json-plain"))
            .collect();
        assert_eq!(json_plain.len(), 1, "{json_plain:#?}");
        let f = json_plain[0];
        assert_eq!(
            (
                f.rule,
                f.provider.as_deref(),
                f.details.secret_type.as_deref()
            ),
            (
                Rule::SecretPlaintext,
                Some("identity"),
                Some("kubernetes.io/basic-auth")
            )
        );
        assert_eq!(
            f.details.data_keys,
            ["binary", "password", "username"],
            "{f:#?}"
        );
        assert!(f.message.contains("(json)"), "{}", f.message);
        // lens/migrated: written in plaintext, rewritten with aescbc key2.
        assert!(
            report.findings.iter().any(|f| {
                f.rule == Rule::SecretPlaintextInHistory
                    && f.key.as_deref() == Some("/registry/secrets/lens/migrated")
            }),
            "{:#?}",
            report.findings
        );
    }
}
