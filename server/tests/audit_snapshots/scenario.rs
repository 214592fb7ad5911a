//! The keyspace the audit reads: Secrets stored every way Kubernetes stores
//! them (values from `tools/audit-vectors/make_vectors.py`), credentials and
//! look-alikes in other kinds, the EncryptionConfiguration with its keys, and
//! the exact findings each snapshot of it must give.

use etcd_lens_testkit::etcd::Etcd;
use serde_json::{Value, json};

use crate::Tuple;

// Key material (base64), by name. `SB_WRONG` is used to encrypt a value under the
// name `key1` with other bytes than the configuration's `key1`.
const CBC_K1: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="; // 32 bytes
const CBC_K2: &str = "YWVzY2JjLWtleS10d28hIQ=="; // 16 bytes
pub(crate) const GCM_K1: &str = "Z2NtLWtleS1vbmUtMzItYnl0ZXMtbG9uZy4uLi4uLi4="; // 32 bytes
const GCM_LOST: &str = "bG9zdC1rZXktMTYtYnl0ZQ=="; // 16 bytes
const SB_K1: &str = "c2VjcmV0Ym94LWtleS1vbmUtMzItYnl0ZXMtbG9uZyE="; // 32 bytes
pub(crate) const SB_K2: &str = "c2VjcmV0Ym94LWtleS10d28tMzItYnl0ZXMtbG9uZyE="; // 32 bytes
const SB_WRONG: &str = "d3Jvbmcta2V5LW5vdC1pbi10aGUtY29uZmlnLi4uLi4="; // 32 bytes

pub(crate) fn secret(ns: &str, name: &str, ty: &str, data: &[(&str, &str)], marker: &str) -> Value {
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let data: serde_json::Map<String, Value> = data
        .iter()
        .map(|(k, v)| ((*k).to_string(), Value::String(b64(v))))
        .collect();
    json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "namespace": ns, "annotations": {"marker": marker}},
        "data": data, "type": ty,
    })
}

pub(crate) fn key_of(resource: &str, ns: &str, name: &str) -> String {
    format!("/registry/{resource}/{ns}/{name}")
}

/// Run the Python script over `items`; the values in order.
pub(crate) fn vectors(items: &[Value]) -> Vec<Vec<u8>> {
    etcd_lens_testkit::vectors::make_vectors(items)
}

/// One value to write: the item for the script.
pub(crate) fn item(key: &str, format: &str, object: Value, encrypt: Option<Value>) -> Value {
    json!({"key": key, "format": format, "object": object, "encrypt": encrypt})
}

pub(crate) fn aes(provider: &str, key_name: &str, secret_b64: &str) -> Option<Value> {
    Some(json!({"provider": provider, "key_name": key_name, "secret_b64": secret_b64}))
}

fn kms(provider: &str, plugin: &str, key_id: &str) -> Option<Value> {
    Some(json!({"provider": provider, "plugin": plugin, "key_id": key_id}))
}

pub(crate) const CONFIG_YAML: &str = "\
apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources:
      - secrets
    providers:
      - aescbc:
          keys:
            - name: key2
              secret: YWVzY2JjLWtleS10d28hIQ==
            - name: key1
              secret: MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=
      - secretbox:
          keys:
            - name: key2
              secret: c2VjcmV0Ym94LWtleS10d28tMzItYnl0ZXMtbG9uZyE=
            - name: key1
              secret: c2VjcmV0Ym94LWtleS1vbmUtMzItYnl0ZXMtbG9uZyE=
      - aesgcm:
          keys:
            - name: key1
              secret: Z2NtLWtleS1vbmUtMzItYnl0ZXMtbG9uZy4uLi4uLi4=
      - kms:
          apiVersion: v2
          name: vault
          endpoint: unix:///var/run/kms.sock
      - identity: {}
";

/// Credential-bearing values, each matching one pattern.
pub(crate) fn credentials() -> Vec<(&'static str, String, &'static str)> {
    let jwt_header = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"; // {"alg":"HS256","typ":"JWT"}
    let jwt_payload = "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkxlbnMifQ";
    vec![
        ("aws", "AKIAZ7Q2LMNOPQRSTUVW".into(), "aws-access-key-id"),
        (
            "pem",
            format!(
                "-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----\n",
                "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun".repeat(2)
            ),
            "private-key",
        ),
        (
            "session",
            format!("{jwt_header}.{jwt_payload}.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"),
            "jwt",
        ),
        (
            "gh",
            "ghp_0123456789abcdefghijABCDEFGHIJ012345".into(),
            "github-token",
        ),
        ("gl", "glpat-Ab3dEf6hIj9kLm2nOp5q".into(), "gitlab-token"),
        (
            "chat",
            "xoxb-1234567890123-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx".into(),
            "slack-token",
        ),
        (
            "hook",
            "https://hooks.slack.com/services/T01234567/B01234567/AbCdEfGhIjKlMnOpQrStUvWx".into(),
            "slack-webhook",
        ),
        (
            "maps",
            "AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q".into(),
            "google-api-key",
        ),
        (
            "dsn",
            "postgres://app:hunter2@db.example:5432/app".into(),
            "basic-auth-url",
        ),
        (
            "db_password",
            "correct-horse-battery".into(),
            "credential-named-key",
        ),
    ]
}

fn look_alikes() -> Value {
    json!({
        "aws_example": "AKIAIOSFODNN7EXAMPLE",
        "pubkey": "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEexample\n-----END PUBLIC KEY-----",
        "cert": "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUexample\n-----END CERTIFICATE-----",
        "pem_stub": "-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----",
        "jwt_like": "eyJub3RhIjoiand0In0xxxxx.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abcdefghijkl",
        "gh_like": "ghp_short",
        "gl_like": "glpat-short",
        "slack_like": "xoxb-not-a-token",
        "maps_like": "AIzaShort",
        "url": "https://example.com:8443/path",
        "email": "ops@example.com",
        "dsn_template": "postgres://app:${DB_PASSWORD}@db/app",
        "secretName": "my-tls",
        "password_min_length": "12",
        "token_ttl": "3600",
        "password": "",
        "api_token_file": "/var/run/secrets/token",
    })
}

pub(crate) struct Scenario {
    pub(crate) etcd: Etcd,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) expected: Vec<Tuple>,
    /// Extra findings when the EncryptionConfiguration is given, and stale ones that change.
    pub(crate) expected_with_config: Vec<Tuple>,
    /// (key, revision, marker) of plaintext revisions a compaction will drop.
    pub(crate) compactable: Vec<(String, i64, String)>,
}

pub(crate) fn t(rule: &str, key: Option<&str>, rev: Option<i64>) -> Tuple {
    (rule.to_string(), key.map(String::from), rev)
}

/// Writes the keyspace; returns what the audit must find.
pub(crate) fn build() -> Scenario {
    let etcd = Etcd::start();
    let dir = tempfile::tempdir().unwrap();
    let mut expected = Vec::new();
    let mut with_cfg = Vec::new();
    let mut compactable = Vec::new();
    let mut stale_no_cfg: Vec<(String, i64)> = Vec::new();
    let mut encrypted_revs: Vec<(String, i64)> = Vec::new();

    let put = |key: &str, value: &[u8]| -> i64 {
        etcd.put_bytes(key, value);
        etcd.revision()
    };
    let one = |it: Value| vectors(&[it]).remove(0);

    // Plaintext now: protobuf (with a credential inside: Secrets are not credential findings) and JSON.
    let k = key_of("secrets", "default", "plain-pb");
    let s = secret(
        "default",
        "plain-pb",
        "Opaque",
        &[("password", "ghp_0123456789abcdefghijABCDEFGHIJ012345")],
        "MARK-plain-pb",
    );
    let r = put(&k, &one(item(&k, "protobuf", s, None)));
    expected.push(t("secret-plaintext", Some(&k), Some(r)));
    let k = key_of("secrets", "kube-system", "plain-json");
    let s = secret(
        "kube-system",
        "plain-json",
        "kubernetes.io/tls",
        &[("tls.crt", "CERT"), ("tls.key", "KEY")],
        "MARK-plain-json",
    );
    let r = put(&k, &one(item(&k, "json", s, None)));
    expected.push(t("secret-plaintext", Some(&k), Some(r)));

    // Plaintext, then encrypted with aescbc key2 (not compacted).
    let k = key_of("secrets", "default", "rotated");
    let s = secret(
        "default",
        "rotated",
        "Opaque",
        &[("a", "1")],
        "MARK-rotated-1",
    );
    let r1 = put(&k, &one(item(&k, "protobuf", s, None)));
    expected.push(t("secret-plaintext-in-history", Some(&k), Some(r1)));
    compactable.push((k.clone(), r1, "MARK-rotated-1".into()));
    let s = secret(
        "default",
        "rotated",
        "Opaque",
        &[("a", "2")],
        "MARK-rotated-2",
    );
    let r2 = put(
        &k,
        &one(item(&k, "protobuf", s, aes("aescbc", "key2", CBC_K2))),
    );
    expected.push(t("secret-weak-provider", Some(&k), Some(r2)));
    stale_no_cfg.push((k.clone(), r2));
    encrypted_revs.push((k.clone(), r2));

    // Plaintext (JSON), then deleted.
    let k = key_of("secrets", "default", "deleted");
    let s = secret(
        "default",
        "deleted",
        "Opaque",
        &[("a", "1")],
        "MARK-deleted-1",
    );
    let r = put(&k, &one(item(&k, "json", s, None)));
    expected.push(t("secret-plaintext-in-history", Some(&k), Some(r)));
    compactable.push((k.clone(), r, "MARK-deleted-1".into()));
    assert_eq!(etcd.delete(&k), 1);

    // Churn: plaintext Secrets later rewritten with the current key (secretbox key2).
    for i in 0..12 {
        let name = format!("churn-{i:02}");
        let k = key_of("secrets", "apps", &name);
        let marker = format!("MARK-{name}-1");
        let s = secret(
            "apps",
            &name,
            "Opaque",
            &[("blob", &"x".repeat(200))],
            &marker,
        );
        let r = put(&k, &one(item(&k, "protobuf", s, None)));
        expected.push(t("secret-plaintext-in-history", Some(&k), Some(r)));
        compactable.push((k.clone(), r, marker));
    }
    for i in 0..12 {
        let name = format!("churn-{i:02}");
        let k = key_of("secrets", "apps", &name);
        let s = secret("apps", &name, "Opaque", &[("blob", "y")], "MARK-later");
        let r = put(
            &k,
            &one(item(&k, "protobuf", s, aes("secretbox", "key2", SB_K2))),
        );
        encrypted_revs.push((k.clone(), r));
    }

    // Encrypted under every provider and key.
    let enc = |name: &str, encrypt: Option<Value>| -> (String, i64) {
        let k = key_of("secrets", "prod", name);
        let s = secret("prod", name, "Opaque", &[("k", "v")], "MARK-enc");
        (k.clone(), put(&k, &one(item(&k, "protobuf", s, encrypt))))
    };
    let (k, r) = enc("cbc-k1", aes("aescbc", "key1", CBC_K1));
    expected.push(t("secret-weak-provider", Some(&k), Some(r)));
    stale_no_cfg.push((k.clone(), r));
    encrypted_revs.push((k, r));
    let (k, r) = enc("gcm-k1", aes("aesgcm", "key1", GCM_K1));
    expected.push(t("secret-weak-provider", Some(&k), Some(r)));
    stale_no_cfg.push((k.clone(), r));
    encrypted_revs.push((k, r));
    let (k, r) = enc("gcm-lost", aes("aesgcm", "lost", GCM_LOST));
    expected.push(t("secret-weak-provider", Some(&k), Some(r)));
    with_cfg.push(t("secret-undecryptable", Some(&k), Some(r)));
    stale_no_cfg.push((k.clone(), r));
    encrypted_revs.push((k, r));
    let (k, r) = enc("sb-k1", aes("secretbox", "key1", SB_K1));
    stale_no_cfg.push((k.clone(), r));
    encrypted_revs.push((k, r));
    let (k, r) = enc("sb-badkey", aes("secretbox", "key1", SB_WRONG));
    with_cfg.push(t("secret-undecryptable", Some(&k), Some(r)));
    stale_no_cfg.push((k.clone(), r));
    encrypted_revs.push((k, r));
    let (k, r) = enc("kms2-a", kms("kms:v2", "vault", "kid-1"));
    stale_no_cfg.push((k.clone(), r));
    encrypted_revs.push((k, r));
    let (k, r) = enc("kms1", kms("kms:v1", "legacy", ""));
    expected.push(t("secret-deprecated-provider", Some(&k), Some(r)));
    stale_no_cfg.push((k.clone(), r));
    encrypted_revs.push((k, r));
    let (k, r) = enc("kms2-b", kms("kms:v2", "vault", "kid-2"));
    stale_no_cfg.push((k.clone(), r));
    encrypted_revs.push((k, r));
    // The most recent encrypted write: secretbox key2 is the current key.
    let (k, r) = enc("sb-k2", aes("secretbox", "key2", SB_K2));
    encrypted_revs.push((k, r));

    // Credentials in a protobuf ConfigMap, one per pattern.
    let k = key_of("configmaps", "default", "creds");
    let data: serde_json::Map<String, Value> = credentials()
        .into_iter()
        .map(|(n, v, _)| (n.to_string(), Value::String(v)))
        .collect();
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "creds", "namespace": "default"}, "data": data});
    let r = put(&k, &one(item(&k, "protobuf", cm, None)));
    for _ in credentials() {
        expected.push(t("credential-in-object", Some(&k), Some(r)));
    }
    // Innocent look-alikes: nothing.
    let k = key_of("configmaps", "default", "lookalikes");
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "lookalikes", "namespace": "default"}, "data": look_alikes()});
    put(&k, &one(item(&k, "json", cm, None)));
    // kubectl apply's annotation: the credential in data and again in the annotation.
    let k = key_of("configmaps", "kube-system", "applied");
    let hook = "https://hooks.slack.com/services/T01234567/B01234567/ZyXwVuTsRqPoNmLkJiHgFeDc";
    let applied = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "applied", "namespace": "kube-system"}, "data": {"webhook": hook}});
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "applied", "namespace": "kube-system", "annotations": {
            "kubectl.kubernetes.io/last-applied-configuration": applied.to_string(),
            "team": "platform"}},
        "data": {"webhook": hook}});
    let r = put(&k, &one(item(&k, "protobuf", cm, None)));
    expected.push(t("credential-in-object", Some(&k), Some(r)));
    expected.push(t("credential-in-object", Some(&k), Some(r)));
    // A Deployment (JSON) with env values.
    let k = "/registry/deployments/default/web".to_string();
    let dep = json!({"apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "default"},
    "spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx", "env": [
        {"name": "DB_PASSWORD", "value": "s3cr3t-value"},
        {"name": "GITHUB_TOKEN", "value": "ghp_ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210"},
        {"name": "LOG_LEVEL", "value": "debug"},
        {"name": "DB_PASSWORD_FILE", "value": "/run/secrets/db"},
        {"name": "API_KEY", "valueFrom": {"secretKeyRef": {"name": "api", "key": "k"}}}
    ]}]}}}});
    let dep_bytes = {
        let mut v = dep.to_string().into_bytes();
        v.push(b'\n');
        v
    };
    let r = put(&k, &dep_bytes);
    expected.push(t("credential-in-object", Some(&k), Some(r)));
    expected.push(t("credential-in-object", Some(&k), Some(r)));
    // A protobuf Pod with an AWS key in env.
    let k = key_of("pods", "default", "p1");
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p1", "namespace": "default"},
        "spec": {"containers": [{"name": "c", "image": "busybox", "env": [
            {"name": "PORT", "value": "8080"},
            {"name": "AWS_ACCESS_KEY_ID", "value": "ASIAQWERTYUIOPASDFGH"}]}]}});
    let r = put(&k, &one(item(&k, "protobuf", pod, None)));
    expected.push(t("credential-in-object", Some(&k), Some(r)));

    expected.push(t("etcd-auth-disabled", None, None));
    expected.push(t("snapshot-not-encrypted", None, None));

    // Stale without a configuration: everything but secretbox key2.
    let mut no_cfg = expected.clone();
    for (k, r) in &stale_no_cfg {
        no_cfg.push(t("secret-stale-key", Some(k), Some(*r)));
    }
    // With it: the first provider's first key is aescbc key2, so all but `rotated` are stale.
    let mut cfg = expected.clone();
    cfg.extend(with_cfg);
    for (k, r) in &encrypted_revs {
        if !k.ends_with("/rotated") {
            cfg.push(t("secret-stale-key", Some(k), Some(*r)));
        }
    }
    Scenario {
        etcd,
        dir,
        expected: no_cfg,
        expected_with_config: cfg,
        compactable,
    }
}
