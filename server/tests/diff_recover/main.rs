//! Compare and recover, on two snapshots of one real etcd that differ in known
//! ways: a key added, removed, modified, deleted and created again, a Secret
//! re-encrypted under a new key with the same plaintext, a Deployment touched
//! only by a status update, a Lease renewed (noise), a value written again
//! unchanged, and a non-Kubernetes key. The exact diff is asserted through the
//! CLI (`diff --json`, `--summary`, exit codes), and the recovered objects
//! (`get --for-apply`, `--before-delete`, `--rev`, `export`) are parsed back
//! with an independent YAML parser.
//!
//! `diff.rs` holds the diff's tests, `recover.rs` those of the recovered
//! objects and the catalog search; this file builds the two snapshots once.
//!
//! The Secret values come from `tools/audit-vectors/make_vectors.py` (Python
//! `cryptography`, written from the Kubernetes layouts).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use etcd_lens_testkit::cli::Lens;
use etcd_lens_testkit::etcd::Etcd;
use serde_json::{Value, json};

pub(crate) const LENS: Lens = Lens(env!("CARGO_BIN_EXE_etcd-lens"));
const CBC_K1: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
const CBC_K2: &str = "YWVzY2JjLWtleS10d28hIQ==";
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
      - identity: {}
";

/// The aescbc-encrypted protobuf of `object` under `key_name`.
fn encrypted(key: &str, object: &Value, key_name: &str, secret_b64: &str) -> Vec<u8> {
    let items = [json!({"key": key, "format": "protobuf", "object": object,
        "encrypt": {"provider": "aescbc", "key_name": key_name, "secret_b64": secret_b64}})];
    etcd_lens_testkit::vectors::make_vectors(&items).remove(0)
}

pub(crate) fn cm(ns: &str, name: &str, data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": ns, "uid": format!("uid-{name}"),
            "creationTimestamp": "2026-11-30T10:00:00Z",
            "managedFields": [{"manager": "kubectl", "operation": "Apply", "time": "2026-11-30T10:00:00Z"}]},
        "data": data})
}

pub(crate) fn deployment(ready: i64, image: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "app", "uid": "uid-web", "generation": 2,
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"kind\":\"Deployment\"}"}},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": image}]}}},
        "status": {"replicas": 2, "readyReplicas": ready}})
}

pub(crate) fn lease(renew: &str) -> Value {
    json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "n1", "namespace": "kube-node-lease"},
        "spec": {"holderIdentity": "n1", "leaseDurationSeconds": 40, "renewTime": renew}})
}

pub(crate) fn secret() -> Value {
    json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "db", "namespace": "app", "uid": "uid-db"},
        "data": {"password": "aHVudGVyMg=="}, "type": "Opaque"})
}

pub(crate) fn service() -> Value {
    json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web", "namespace": "app", "uid": "uid-svc"},
        "spec": {"clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"], "type": "NodePort",
            "selector": {"app": "web"}, "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}]},
        "status": {"loadBalancer": {}}})
}

pub(crate) struct Pair {
    pub(crate) _dir: tempfile::TempDir,
    pub(crate) old: PathBuf,
    pub(crate) new: PathBuf,
    /// A catalog holding the same two states, taken by `snapshot save`, age-encrypted.
    pub(crate) data_dir: PathBuf,
    pub(crate) identity_file: PathBuf,
    pub(crate) catalog_ids: [String; 2],
    /// The revision at which `configmaps/app/edit` still had `a: "1"`, before its edit.
    pub(crate) edit_rev_before: i64,
}

pub(crate) const SECRET_KEY: &str = "/registry/secrets/app/db";

/// Two snapshots of one etcd, made once for every test of this file.
pub(crate) fn pair() -> &'static Pair {
    static PAIR: OnceLock<Pair> = OnceLock::new();
    PAIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let etcd = Etcd::start();
        let identity = age::x25519::Identity::generate();
        let identity_file = dir.path().join("identity.txt");
        {
            use age::secrecy::ExposeSecret;
            std::fs::write(
                &identity_file,
                format!("{}\n", identity.to_string().expose_secret()),
            )
            .unwrap();
        }
        let data_dir = dir.path().join("data");
        let recipient = identity.to_public().to_string();
        let save = || -> String {
            let out = LENS.ok(&[
                "snapshot",
                "save",
                "--endpoints",
                &etcd.endpoint,
                "--recipient",
                &recipient,
                "--data-dir",
                data_dir.to_str().unwrap(),
                "--json",
            ]);
            serde_json::from_str::<Value>(&out).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string()
        };
        let put = |k: &str, v: &Value| etcd.put(k, &v.to_string());
        put(
            "/registry/configmaps/app/keep",
            &cm("app", "keep", json!({"k": "v"})),
        );
        put(
            "/registry/configmaps/app/edit",
            &cm("app", "edit", json!({"a": "1"})),
        );
        put(
            "/registry/configmaps/app/gone",
            &cm("app", "gone", json!({})),
        );
        put(
            "/registry/configmaps/app/again",
            &cm("app", "again", json!({"x": "1"})),
        );
        put(
            "/registry/configmaps/app/same",
            &cm("app", "same", json!({"s": "1"})),
        );
        put(
            "/registry/deployments/app/web",
            &deployment(1, "nginx:1.27"),
        );
        put(
            "/registry/deployments/app/old",
            &deployment(2, "nginx:1.25"),
        );
        put(
            "/registry/leases/kube-node-lease/n1",
            &lease("2026-11-30T10:00:00.000000Z"),
        );
        let s = secret();
        etcd.put_bytes(SECRET_KEY, &encrypted(SECRET_KEY, &s, "key1", CBC_K1));
        etcd.put("/other/app-config", "v1");
        let old = dir.path().join("old.db");
        etcd.snapshot(&old);
        let first_id = save();
        let edit_rev_before = etcd.revision();

        put(
            "/registry/configmaps/app/edit",
            &cm("app", "edit", json!({"a": "2"})),
        );
        etcd.delete("/registry/configmaps/app/gone");
        etcd.delete("/registry/configmaps/app/again");
        put(
            "/registry/configmaps/app/again",
            &cm("app", "again", json!({"x": "1"})),
        );
        put(
            "/registry/configmaps/app/same",
            &cm("app", "same", json!({"s": "1"})),
        );
        put(
            "/registry/deployments/app/web",
            &deployment(2, "nginx:1.27"),
        );
        etcd.delete("/registry/deployments/app/old");
        put(
            "/registry/leases/kube-node-lease/n1",
            &lease("2026-11-30T10:00:10.000000Z"),
        );
        etcd.put_bytes(SECRET_KEY, &encrypted(SECRET_KEY, &s, "key2", CBC_K2));
        put("/registry/configmaps/app/new", &cm("app", "new", json!({})));
        put("/registry/services/specs/app/web", &service());
        etcd.put("/other/app-config", "v2");
        let new = dir.path().join("new.db");
        etcd.snapshot(&new);
        let second_id = save();
        Pair {
            _dir: dir,
            old,
            new,
            data_dir,
            identity_file,
            catalog_ids: [first_id, second_id],
            edit_rev_before,
        }
    })
}

pub(crate) fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

pub(crate) fn lines(out: &str) -> Vec<Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// (key, change, recreated, content) of every reported key.
pub(crate) fn summary_of(changes: &[Value]) -> Vec<(String, String, bool, String)> {
    changes
        .iter()
        .map(|c| {
            (
                c["key"].as_str().unwrap().to_string(),
                c["change"].as_str().unwrap().to_string(),
                c["recreated"].as_bool().unwrap(),
                c["value"]["content"].as_str().unwrap_or("-").to_string(),
            )
        })
        .collect()
}

pub(crate) fn row(
    key: &str,
    change: &str,
    recreated: bool,
    content: &str,
) -> (String, String, bool, String) {
    (key.into(), change.into(), recreated, content.into())
}

mod diff;
mod recover;
