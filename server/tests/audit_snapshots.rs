//! The secret audit against real etcd snapshots: a keyspace of Secrets stored
//! every way Kubernetes stores them (protobuf and JSON plaintext; aescbc, aesgcm
//! and secretbox under two key names; KMS v1 and v2), Secrets later encrypted or
//! deleted, ConfigMaps/Deployments/Pods with credentials and with innocent
//! look-alikes. The encrypted and protobuf values come from
//! `tools/audit-vectors/make_vectors.py` (Python `cryptography`/`pynacl`, written
//! from the Kubernetes layouts), so a misreading of a layout cannot pass both ways.
//!
//! Every test asserts the exact multiset of (rule, key, revision) — every expected
//! finding and nothing else — in every output format, and the gate's exit codes.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use etcd_lens_core::audit::{Decryption, EncryptionConfig};
use etcd_lens_testkit::cli::Lens;
use etcd_lens_testkit::etcd::Etcd;
use serde_json::{Value, json};

const LENS: Lens = Lens(env!("CARGO_BIN_EXE_etcd-lens"));

type Tuple = (String, Option<String>, Option<i64>);

const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tools/audit-vectors/make_vectors.py"
);

// Key material (base64), by name. `SB_WRONG` is used to encrypt a value under the
// name `key1` with other bytes than the configuration's `key1`.
const CBC_K1: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="; // 32 bytes
const CBC_K2: &str = "YWVzY2JjLWtleS10d28hIQ=="; // 16 bytes
const GCM_K1: &str = "Z2NtLWtleS1vbmUtMzItYnl0ZXMtbG9uZy4uLi4uLi4="; // 32 bytes
const GCM_LOST: &str = "bG9zdC1rZXktMTYtYnl0ZQ=="; // 16 bytes
const SB_K1: &str = "c2VjcmV0Ym94LWtleS1vbmUtMzItYnl0ZXMtbG9uZyE="; // 32 bytes
const SB_K2: &str = "c2VjcmV0Ym94LWtleS10d28tMzItYnl0ZXMtbG9uZyE="; // 32 bytes
const SB_WRONG: &str = "d3Jvbmcta2V5LW5vdC1pbi10aGUtY29uZmlnLi4uLi4="; // 32 bytes

fn secret(ns: &str, name: &str, ty: &str, data: &[(&str, &str)], marker: &str) -> Value {
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

fn key_of(resource: &str, ns: &str, name: &str) -> String {
    format!("/registry/{resource}/{ns}/{name}")
}

/// Run the Python script over `items`; the values in order.
fn vectors(items: &[Value]) -> Vec<Vec<u8>> {
    let mut child = Command::new("python3")
        .arg(VECTORS)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(Value::Array(items.to_vec()).to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "make_vectors.py (run scripts/setup.sh for cryptography/pynacl): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    v.iter()
        .map(|x| hex::decode(x["value_hex"].as_str().unwrap()).unwrap())
        .collect()
}

/// One value to write: the item for the script.
fn item(key: &str, format: &str, object: Value, encrypt: Option<Value>) -> Value {
    json!({"key": key, "format": format, "object": object, "encrypt": encrypt})
}

fn aes(provider: &str, key_name: &str, secret_b64: &str) -> Option<Value> {
    Some(json!({"provider": provider, "key_name": key_name, "secret_b64": secret_b64}))
}

fn kms(provider: &str, plugin: &str, key_id: &str) -> Option<Value> {
    Some(json!({"provider": provider, "plugin": plugin, "key_id": key_id}))
}

const CONFIG_YAML: &str = "\
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
fn credentials() -> Vec<(&'static str, String, &'static str)> {
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

struct Scenario {
    etcd: Etcd,
    dir: tempfile::TempDir,
    expected: Vec<Tuple>,
    /// Extra findings when the EncryptionConfiguration is given, and stale ones that change.
    expected_with_config: Vec<Tuple>,
    /// (key, revision, marker) of plaintext revisions a compaction will drop.
    compactable: Vec<(String, i64, String)>,
}

fn t(rule: &str, key: Option<&str>, rev: Option<i64>) -> Tuple {
    (rule.to_string(), key.map(String::from), rev)
}

/// Writes the keyspace; returns what the audit must find.
fn build() -> Scenario {
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

fn sorted(mut v: Vec<Tuple>) -> Vec<Tuple> {
    v.sort();
    v
}

fn from_json(out: &str) -> Vec<Tuple> {
    let v: Value = serde_json::from_str(out).unwrap();
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let keys: Vec<&String> = f.as_object().unwrap().keys().collect();
            assert_eq!(
                keys,
                [
                    "rule",
                    "severity",
                    "key",
                    "resource",
                    "namespace",
                    "name",
                    "revision",
                    "provider",
                    "key_name",
                    "message"
                ]
            );
            (
                f["rule"].as_str().unwrap().to_string(),
                f["key"].as_str().map(String::from),
                f["revision"].as_i64(),
            )
        })
        .collect()
}

/// A small RFC 4180 reader (quoted cells, doubled quotes, CRLF).
fn csv_rows(s: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let (mut row, mut cell, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cell.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => row.push(std::mem::take(&mut cell)),
            ('\r', false) => {}
            ('\n', false) => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (c, _) => cell.push(c),
        }
    }
    rows
}

fn from_csv(out: &str) -> Vec<Tuple> {
    let rows = csv_rows(out);
    assert_eq!(
        rows[0].join(","),
        "rule,severity,key,resource,namespace,name,revision,provider,key_name,message"
    );
    rows[1..]
        .iter()
        .map(|r| {
            assert_eq!(r.len(), 10, "{r:?}");
            let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
            (r[0].clone(), opt(&r[2]), r[6].parse().ok())
        })
        .collect()
}

fn from_sarif(out: &str) -> Vec<Tuple> {
    let v: Value = serde_json::from_str(out).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let run = &v["runs"][0];
    let rules: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    run["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let id = r["ruleId"].as_str().unwrap();
            assert_eq!(rules[r["ruleIndex"].as_u64().unwrap() as usize], id);
            assert!(["error", "warning", "note"].contains(&r["level"].as_str().unwrap()));
            let key = r["properties"]["key"].as_str().map(String::from);
            if let Some(k) = &key {
                assert_eq!(
                    r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
                    k.as_str()
                );
            }
            (id.to_string(), key, r["properties"]["revision"].as_i64())
        })
        .collect()
}

fn from_text(out: &str) -> Vec<Tuple> {
    out.lines()
        .skip_while(|l| !l.starts_with("Findings: "))
        .skip(1)
        .map(|l| {
            let mut parts = l.split_whitespace();
            let _sev = parts.next().unwrap();
            let rule = parts.next().unwrap().to_string();
            let at = parts.next().unwrap().trim_end_matches(':');
            let (key, rev) = match at.rsplit_once('@') {
                Some((k, r)) => (Some(k.to_string()), r.parse().ok()),
                None if at == "-" => (None, None),
                None => (Some(at.to_string()), None),
            };
            (rule, key, rev)
        })
        .collect()
}

fn from_html(out: &str) -> Vec<Tuple> {
    assert!(out.starts_with("<!DOCTYPE html>"));
    assert!(!out.contains("<script") && !out.contains("src=\"http"));
    let body = out.split("<table id=\"findings\">").nth(1).unwrap();
    let body = body.split("</table>").next().unwrap();
    body.split("<tr class=\"sev-")
        .skip(1)
        .map(|row| {
            let cells: Vec<String> = row
                .split("<td")
                .skip(1)
                .map(|c| {
                    let c = &c[c.find('>').unwrap() + 1..];
                    let c = c.split("</td>").next().unwrap();
                    c.replace("<code>", "").replace("</code>", "")
                })
                .collect();
            let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
            (cells[1].clone(), opt(&cells[2]), cells[5].parse().ok())
        })
        .collect()
}

/// `etcd-lens audit` in every format: the same exact multiset each time.
fn assert_all_formats(snap: &Path, extra: &[&str], want: &[Tuple]) {
    let want = sorted(want.to_vec());
    for (format, parse) in [
        ("json", from_json as fn(&str) -> Vec<Tuple>),
        ("csv", from_csv),
        ("sarif", from_sarif),
        ("text", from_text),
        ("html", from_html),
    ] {
        let mut args = vec!["audit", snap.to_str().unwrap(), "--format", format];
        args.extend(extra);
        let o = LENS.run(&args);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let out = String::from_utf8(o.stdout).unwrap();
        let got = sorted(parse(&out));
        if got != want {
            let missing: Vec<_> = want.iter().filter(|w| !got.contains(w)).collect();
            let unexpected: Vec<_> = got.iter().filter(|g| !want.contains(g)).collect();
            panic!(
                "{format}: findings differ\nmissing: {missing:#?}\nunexpected: {unexpected:#?}\ngot {} want {}",
                got.len(),
                want.len()
            );
        }
    }
}

fn json_report(snap: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["audit", snap.to_str().unwrap(), "--format", "json"];
    args.extend(extra);
    let o = LENS.run(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn find_all(hay: &[u8], needle: &[u8]) -> Vec<usize> {
    hay.windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect()
}

#[test]
fn audit_finds_exactly_what_the_snapshot_exposes() {
    let sc = build();
    let snap_a: PathBuf = sc.dir.path().join("a.db");
    sc.etcd.snapshot(&snap_a);

    // Without a configuration.
    assert_all_formats(&snap_a, &[], &sc.expected);
    let report = json_report(&snap_a, &[]);
    let c = &report["census"];
    // plain-pb, plain-json, rotated, 12 churn, 9 encrypted under prod.
    assert_eq!(c["secrets_total"], 2 + 1 + 12 + 9);
    assert_eq!(c["plaintext"], 2);
    assert_eq!(c["encrypted"], 1 + 12 + 9);
    assert_eq!(
        c["per_provider"],
        json!({"aescbc": 2, "aesgcm": 2, "identity": 2, "kms:v1": 1, "kms:v2": 2, "secretbox": 15})
    );
    assert_eq!(
        c["per_key"],
        json!({"aescbc:key1": 1, "aescbc:key2": 1, "aesgcm:key1": 1, "aesgcm:lost": 1,
               "kms:v1:legacy": 1, "kms:v2:vault (keyID kid-1)": 1, "kms:v2:vault (keyID kid-2)": 1,
               "secretbox:key1": 2, "secretbox:key2": 13})
    );
    assert_eq!(
        c["plaintext_types"],
        json!({"Opaque": 1, "kubernetes.io/tls": 1})
    );
    assert_eq!(
        c["unreachable_pages_scanned"].as_u64().map(|n| n > 0),
        Some(true)
    );
    // Messages: type and data key names, never values.
    let all = report.to_string();
    for secret_value in [
        "hunter2",
        "correct-horse",
        "s3cr3t-value",
        "Z7Q2LMNOPQRSTUVW",
        "ghp_0123456789abcdef",
        "ZyXwVuTsRqPo",
    ] {
        assert!(
            !all.contains(secret_value),
            "{secret_value} leaked into the report"
        );
    }
    let plain = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == "/registry/secrets/kube-system/plain-json")
        .unwrap();
    assert!(
        plain["message"]
            .as_str()
            .unwrap()
            .contains("type kubernetes.io/tls, data keys tls.crt, tls.key"),
        "{plain}"
    );
    let creds: BTreeMap<String, String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["key"] == "/registry/configmaps/default/creds")
        .map(|f| {
            let m = f["message"].as_str().unwrap();
            let (path, rest) = m
                .split_once(": ")
                .unwrap()
                .1
                .split_once(" looks like")
                .unwrap();
            let pattern = rest
                .trim_start_matches(" a credential (")
                .split(':')
                .next()
                .unwrap();
            (path.to_string(), pattern.to_string())
        })
        .collect();
    let want: BTreeMap<String, String> = credentials()
        .into_iter()
        .map(|(n, _, p)| (format!("data.{n}"), p.to_string()))
        .collect();
    assert_eq!(creds, want);

    // With the cluster's EncryptionConfiguration.
    let cfg_path = sc.dir.path().join("encryption.yaml");
    std::fs::write(&cfg_path, CONFIG_YAML).unwrap();
    let cfg_arg = ["--encryption-config", cfg_path.to_str().unwrap()];
    assert_all_formats(&snap_a, &cfg_arg, &sc.expected_with_config);
    let c = json_report(&snap_a, &cfg_arg)["census"].clone();
    assert_eq!(
        c["decrypted"],
        json!({"aescbc:key1": 1, "aescbc:key2": 1, "aesgcm:key1": 1, "secretbox:key1": 1, "secretbox:key2": 13})
    );
    assert_eq!(c["undecryptable"], 2);
    assert_eq!(c["needs_kms"], 3);
    // The decrypted bytes are the object the script encrypted.
    let cfg = EncryptionConfig::parse(CONFIG_YAML).unwrap();
    let src = etcd_lens_core::MemSource(std::fs::read(&snap_a).unwrap());
    let snap = etcd_lens_core::snapshot::Snapshot::open(&src).unwrap();
    let ix = snap.key_index().unwrap();
    for name in ["cbc-k1", "gcm-k1", "sb-k1", "sb-k2"] {
        let k = key_of("secrets", "prod", name);
        let kv = snap.get(&ix, k.as_bytes(), None).unwrap().unwrap();
        let Decryption::Decrypted { plaintext, .. } =
            cfg.decrypt("secrets", k.as_bytes(), &kv.value)
        else {
            panic!("{name} did not decrypt");
        };
        let obj = etcd_lens_core::k8s::decode(&plaintext).unwrap();
        assert_eq!(obj.name(), Some(name));
        assert_eq!(obj.object["data"]["k"], "dg==");
    }

    // The gate.
    let code = |extra: &[&str]| {
        let mut a = vec!["audit", snap_a.to_str().unwrap(), "--format", "json"];
        a.extend(extra);
        LENS.run(&a).status.code()
    };
    assert_eq!(code(&[]), Some(0));
    assert_eq!(code(&["--fail-on", "critical"]), Some(1));
    assert_eq!(code(&["--fail-on", "low"]), Some(1));
    assert_eq!(
        LENS.run(&["audit", "/nonexistent/snapshot.db"])
            .status
            .code(),
        Some(2)
    );
    let bad = sc.dir.path().join("bad.yaml");
    std::fs::write(&bad, "resources: [").unwrap();
    assert_eq!(
        code(&["--encryption-config", bad.to_str().unwrap()]),
        Some(2)
    );

    // Compacted, not defragmented: the dropped plaintext revisions are still in free pages.
    let rev = sc.etcd.revision();
    sc.etcd.compact(rev);
    let snap_b = sc.dir.path().join("b.db");
    sc.etcd.snapshot(&snap_b);
    let bytes = std::fs::read(&snap_b).unwrap();
    let page_size = 4096usize;
    // Ground truth from the raw bytes: which dropped revisions' markers are where.
    let mut per_page: BTreeMap<(usize, String), i64> = BTreeMap::new();
    for (k, r, marker) in &sc.compactable {
        for at in find_all(&bytes, marker.as_bytes()) {
            // A marker is unique to (key, revision); `MARK-churn-01-1` is not a prefix of another.
            let e = per_page.entry((at / page_size, k.clone())).or_insert(*r);
            *e = (*e).max(*r);
        }
    }
    assert!(
        !per_page.is_empty(),
        "no dropped plaintext survived in the file: the scenario proves nothing"
    );
    let mut want_b: Vec<Tuple> = sc
        .expected
        .iter()
        .filter(|f| f.0 != "secret-plaintext-in-history")
        .cloned()
        .collect();
    for ((_, k), r) in &per_page {
        want_b.push(t("secret-plaintext-unreachable", Some(k), Some(*r)));
    }
    assert_all_formats(&snap_b, &[], &want_b);
    // The reported pages are exactly the pages holding those bytes.
    let report = json_report(&snap_b, &[]);
    let mut pages: Vec<(usize, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "secret-plaintext-unreachable")
        .map(|f| {
            let m = f["message"].as_str().unwrap();
            let page = m["page ".len()..m.find(':').unwrap()].parse().unwrap();
            (page, f["key"].as_str().unwrap().to_string())
        })
        .collect();
    pages.sort();
    assert_eq!(pages, per_page.keys().cloned().collect::<Vec<_>>());
    eprintln!(
        "compacted snapshot: {} dropped plaintext revisions, {} (page, key) hits",
        sc.compactable.len(),
        per_page.len()
    );
}

#[test]
fn audit_gate_passes_a_clean_encrypted_snapshot() {
    let etcd = Etcd::start();
    let dir = tempfile::tempdir().unwrap();
    let k1 = key_of("secrets", "prod", "old");
    let k2 = key_of("secrets", "prod", "new");
    let s = |name: &str| secret("prod", name, "Opaque", &[("k", "v")], "m");
    let v = vectors(&[
        item(&k1, "protobuf", s("old"), aes("aesgcm", "key1", GCM_K1)),
        item(&k2, "protobuf", s("new"), aes("secretbox", "key2", SB_K2)),
    ]);
    etcd.put_bytes(&k1, &v[0]);
    let r1 = etcd.revision();
    etcd.put_bytes(&k2, &v[1]);
    let snap = dir.path().join("c.db");
    etcd.snapshot(&snap);
    let want = vec![
        t("secret-weak-provider", Some(&k1), Some(r1)),
        t("secret-stale-key", Some(&k1), Some(r1)),
        t("etcd-auth-disabled", None, None),
        t("snapshot-not-encrypted", None, None),
    ];
    assert_all_formats(&snap, &[], &want);
    let code = |fail_on: &str| {
        LENS.run(&["audit", snap.to_str().unwrap(), "--fail-on", fail_on])
            .status
            .code()
    };
    assert_eq!(code("critical"), Some(0));
    assert_eq!(code("high"), Some(0));
    assert_eq!(code("medium"), Some(1));
    assert_eq!(code("low"), Some(1));
}
