//! Compare and recover, on two snapshots of one real etcd that differ in known
//! ways: a key added, removed, modified, deleted and created again, a Secret
//! re-encrypted under a new key with the same plaintext, a Deployment touched
//! only by a status update, a Lease renewed (noise), a value written again
//! unchanged, and a non-Kubernetes key. The exact diff is asserted through the
//! CLI (`diff --json`, `--summary`, exit codes), and the recovered objects
//! (`get --for-apply`, `--before-delete`, `--rev`, `export`) are parsed back
//! with an independent YAML parser.
//!
//! The Secret values come from `tools/audit-vectors/make_vectors.py` (Python
//! `cryptography`, written from the Kubernetes layouts).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use etcd_lens_testkit::apply_check::assert_k8s_applies;
use etcd_lens_testkit::cli::Lens;
use etcd_lens_testkit::etcd::Etcd;
use serde_json::{Value, json};

const LENS: Lens = Lens(env!("CARGO_BIN_EXE_etcd-lens"));
const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tools/audit-vectors/make_vectors.py"
);
const CBC_K1: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
const CBC_K2: &str = "YWVzY2JjLWtleS10d28hIQ==";
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
      - identity: {}
";

/// The aescbc-encrypted protobuf of `object` under `key_name`.
fn encrypted(key: &str, object: &Value, key_name: &str, secret_b64: &str) -> Vec<u8> {
    let items = json!([{"key": key, "format": "protobuf", "object": object,
        "encrypt": {"provider": "aescbc", "key_name": key_name, "secret_b64": secret_b64}}]);
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
        .write_all(items.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "make_vectors.py (scripts/setup.sh installs cryptography): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    hex::decode(v[0]["value_hex"].as_str().unwrap()).unwrap()
}

fn cm(ns: &str, name: &str, data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": ns, "uid": format!("uid-{name}"),
            "creationTimestamp": "2026-11-30T10:00:00Z",
            "managedFields": [{"manager": "kubectl", "operation": "Apply", "time": "2026-11-30T10:00:00Z"}]},
        "data": data})
}

fn deployment(ready: i64, image: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "app", "uid": "uid-web", "generation": 2,
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"kind\":\"Deployment\"}"}},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": image}]}}},
        "status": {"replicas": 2, "readyReplicas": ready}})
}

fn lease(renew: &str) -> Value {
    json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "n1", "namespace": "kube-node-lease"},
        "spec": {"holderIdentity": "n1", "leaseDurationSeconds": 40, "renewTime": renew}})
}

fn secret() -> Value {
    json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "db", "namespace": "app", "uid": "uid-db"},
        "data": {"password": "aHVudGVyMg=="}, "type": "Opaque"})
}

fn service() -> Value {
    json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web", "namespace": "app", "uid": "uid-svc"},
        "spec": {"clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"], "type": "NodePort",
            "selector": {"app": "web"}, "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}]},
        "status": {"loadBalancer": {}}})
}

struct Pair {
    _dir: tempfile::TempDir,
    old: PathBuf,
    new: PathBuf,
    /// A catalog holding the same two states, taken by `snapshot save`, age-encrypted.
    data_dir: PathBuf,
    identity_file: PathBuf,
    catalog_ids: [String; 2],
    /// The revision at which `configmaps/app/edit` still had `a: "1"`, before its edit.
    edit_rev_before: i64,
}

const SECRET_KEY: &str = "/registry/secrets/app/db";

/// Two snapshots of one etcd, made once for every test of this file.
fn pair() -> &'static Pair {
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

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn lines(out: &str) -> Vec<Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// (key, change, recreated, content) of every reported key.
fn summary_of(changes: &[Value]) -> Vec<(String, String, bool, String)> {
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

fn row(key: &str, change: &str, recreated: bool, content: &str) -> (String, String, bool, String) {
    (key.into(), change.into(), recreated, content.into())
}

#[test]
fn the_diff_names_every_change_and_nothing_else() {
    let p = pair();
    let out = LENS.run(&["diff", path(&p.old), path(&p.new), "--json"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let changes = lines(&String::from_utf8(out.stdout).unwrap());
    assert_eq!(
        summary_of(&changes),
        [
            row("/other/app-config", "modified", false, "bytes"),
            row("/registry/configmaps/app/again", "modified", true, "same"),
            row("/registry/configmaps/app/edit", "modified", false, "fields"),
            row("/registry/configmaps/app/gone", "removed", false, "-"),
            row("/registry/configmaps/app/new", "added", false, "-"),
            row("/registry/deployments/app/old", "removed", false, "-"),
            row("/registry/deployments/app/web", "modified", false, "fields"),
            row(SECRET_KEY, "modified", false, "unknown"),
            row("/registry/services/specs/app/web", "added", false, "-"),
        ]
    );
    let by_key: BTreeMap<&str, &Value> = changes
        .iter()
        .map(|c| (c["key"].as_str().unwrap(), c))
        .collect();
    let edit = by_key["/registry/configmaps/app/edit"];
    assert_eq!(edit["value"]["paths"], json!(["data.a"]));
    assert_eq!(edit["value"]["status_only"], json!(false));
    assert_eq!(edit["kind"], "ConfigMap");
    assert_eq!(
        (edit["namespace"].as_str(), edit["name"].as_str()),
        (Some("app"), Some("edit"))
    );
    assert!(edit["new"]["mod_revision"].as_i64() > edit["old"]["mod_revision"].as_i64());
    let web = by_key["/registry/deployments/app/web"];
    assert_eq!(web["value"]["paths"], json!(["status.readyReplicas"]));
    assert_eq!(web["value"]["status_only"], json!(true));
    let sec = by_key[SECRET_KEY];
    assert_eq!(sec["value"]["encryption"]["from"]["key_name"], "key1");
    assert_eq!(sec["value"]["encryption"]["to"]["key_name"], "key2");
    assert_eq!(
        by_key["/registry/services/specs/app/web"]["kind"],
        "Service"
    );
    assert_eq!(
        by_key["/registry/configmaps/app/gone"]["resource"],
        "configmaps"
    );
    // Text output: one line per key, in the same order.
    let text = LENS.run(&["diff", path(&p.old), path(&p.new)]);
    let text = String::from_utf8(text.stdout).unwrap();
    assert_eq!(text.lines().count(), changes.len());
    assert!(
        text.contains(
            "~ /registry/secrets/app/db  (encryption: aescbc key \"key1\" → aescbc key \"key2\""
        ),
        "{text}"
    );
    assert!(
        text.contains("- /registry/configmaps/app/gone\n")
            && text.contains("+ /registry/configmaps/app/new\n")
    );
}

#[test]
fn noise_is_counted_and_listed_only_when_asked() {
    let p = pair();
    let out = LENS.run(&["diff", path(&p.old), path(&p.new), "--json"]);
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("1 changed only in noise fields"), "{err}");
    // `same` was written again unchanged: unchanged, found by its value.
    assert!(
        err.contains("2 unchanged, 1 of them by revision alone"),
        "{err}"
    );
    let out = LENS.run(&[
        "diff",
        path(&p.old),
        path(&p.new),
        "--json",
        "--include-noise",
    ]);
    let changes = lines(&String::from_utf8(out.stdout).unwrap());
    let lease = changes
        .iter()
        .find(|c| c["key"] == "/registry/leases/kube-node-lease/n1")
        .expect("the renewed Lease is listed with --include-noise");
    assert_eq!(lease["value"]["content"], "noise_only");
    assert_eq!(lease["value"]["noise"], json!(["spec.renewTime"]));
    // Both values read for every key: the same answer.
    let all = LENS.run(&[
        "diff",
        path(&p.old),
        path(&p.new),
        "--json",
        "--compare-values",
    ]);
    let plain = LENS.run(&["diff", path(&p.old), path(&p.new), "--json"]);
    assert_eq!(all.stdout, plain.stdout);
}

#[test]
fn with_the_keys_a_reencrypted_secret_is_the_same_object() {
    let p = pair();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("enc.yaml");
    std::fs::write(&config, CONFIG_YAML).unwrap();
    let out = LENS.run(&[
        "diff",
        path(&p.old),
        path(&p.new),
        "--json",
        "--prefix",
        "/registry/secrets/",
        "--encryption-config",
        path(&config),
    ]);
    let changes = lines(&String::from_utf8(out.stdout).unwrap());
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0]["value"]["content"], "same");
    assert_eq!(changes[0]["value"]["encryption"]["to"]["key_name"], "key2");
    assert_eq!(changes[0]["kind"], "Secret");
}

#[test]
fn equal_snapshots_exit_zero_and_the_summary_counts_per_namespace() {
    let p = pair();
    let same = LENS.run(&["diff", path(&p.new), path(&p.new)]);
    assert_eq!(same.status.code(), Some(0));
    assert!(same.stdout.is_empty());
    let out = LENS.run(&["diff", path(&p.old), path(&p.new), "--summary", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let out = String::from_utf8(out.stdout).unwrap();
    type Group = (Option<String>, Option<String>, u64, u64, u64);
    let groups: Vec<Group> = lines(&out)
        .iter()
        .map(|g| {
            (
                g["resource"].as_str().map(String::from),
                g["namespace"].as_str().map(String::from),
                g["added"].as_u64().unwrap(),
                g["removed"].as_u64().unwrap(),
                g["modified"].as_u64().unwrap(),
            )
        })
        .collect();
    let s = |x: &str| Some(x.to_string());
    assert_eq!(
        groups,
        [
            (None, None, 0, 0, 1),
            (s("configmaps"), s("app"), 1, 1, 2),
            (s("deployments"), s("app"), 0, 1, 1),
            (s("secrets"), s("app"), 0, 0, 1),
            (s("services"), s("app"), 1, 0, 0),
        ]
    );
    // A missing file is an error (2), not "different" (1).
    let bad = LENS.run(&["diff", path(&p.old), "/nonexistent/x.db"]);
    assert_eq!(bad.status.code(), Some(2));
}

/// YAML parsed by yaml-rust2 (not our writer) into JSON.
fn parse_yaml(text: &str) -> Vec<Value> {
    fn conv(y: &yaml_rust2::Yaml) -> Value {
        use yaml_rust2::Yaml;
        match y {
            Yaml::Hash(h) => Value::Object(
                h.iter()
                    .map(|(k, v)| (k.as_str().expect("string keys").to_string(), conv(v)))
                    .collect(),
            ),
            Yaml::Array(a) => Value::Array(a.iter().map(conv).collect()),
            Yaml::String(s) => Value::String(s.clone()),
            Yaml::Integer(i) => json!(i),
            Yaml::Real(r) => json!(r.parse::<f64>().unwrap()),
            Yaml::Boolean(b) => json!(b),
            Yaml::Null => Value::Null,
            other => panic!("unexpected YAML node {other:?}"),
        }
    }
    yaml_rust2::YamlLoader::load_from_str(text)
        .expect("the output parses as YAML")
        .iter()
        .map(conv)
        .collect()
}

const DROPPED: [&str; 6] = [
    "uid",
    "creationTimestamp",
    "generation",
    "managedFields",
    "resourceVersion",
    "selfLink",
];

fn assert_ready(o: &Value) {
    for f in DROPPED {
        assert!(o["metadata"].get(f).is_none(), "{f} left in {o}");
    }
    assert!(o.get("status").is_none(), "status left in {o}");
}

#[test]
fn get_for_apply_drops_what_the_cluster_sets_and_keeps_the_spec() {
    let p = pair();
    let out = LENS.ok(&[
        "get",
        path(&p.new),
        "/registry/deployments/app/web",
        "--for-apply",
    ]);
    let docs = parse_yaml(&out);
    assert_eq!(docs.len(), 1);
    let o = &docs[0];
    assert_ready(o);
    assert_eq!(o["spec"], deployment(2, "nginx:1.27")["spec"]);
    assert!(
        o["metadata"].get("annotations").is_none(),
        "last-applied dropped: {o}"
    );
    assert_eq!(
        (o["kind"].as_str(), o["metadata"]["name"].as_str()),
        (Some("Deployment"), Some("web"))
    );

    let svc = LENS.ok(&["get", path(&p.new), "services/specs/app/web", "--for-apply"]);
    assert_k8s_applies(&svc);
    let svc = parse_yaml(&svc);
    assert_eq!(
        svc[0]["spec"],
        json!({"type": "NodePort", "selector": {"app": "web"}, "ports": [{"port": 80, "protocol": "TCP"}]})
    );
    let kept = parse_yaml(&LENS.ok(&[
        "get",
        path(&p.new),
        "services/specs/app/web",
        "--for-apply",
        "--keep-cluster-ip",
        "--keep-node-ports",
    ]));
    assert_eq!(kept[0]["spec"], service()["spec"]);
}

#[test]
fn a_deleted_object_comes_back_from_before_its_tombstone_and_an_edit_from_its_revision() {
    let p = pair();
    let key = "/registry/deployments/app/old";
    let gone = LENS.run(&["get", path(&p.new), key, "--for-apply"]);
    assert_eq!(
        gone.status.code(),
        Some(2),
        "deleted: not found at the latest revision"
    );
    let out = LENS.run(&["get", path(&p.new), key, "--for-apply", "--before-delete"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let o = &parse_yaml(&String::from_utf8(out.stdout).unwrap())[0];
    assert_eq!(o["spec"], deployment(2, "nginx:1.25")["spec"]);
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("deleted at revision"), "{err}");
    let never = LENS.run(&[
        "get",
        path(&p.new),
        "/registry/configmaps/app/keep",
        "--before-delete",
    ]);
    assert_eq!(never.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&never.stderr).contains("no deletion"));

    let rev = p.edit_rev_before.to_string();
    let before = parse_yaml(&LENS.ok(&[
        "get",
        path(&p.new),
        "/registry/configmaps/app/edit",
        "--for-apply",
        "--rev",
        &rev,
    ]));
    assert_eq!(before[0]["data"], json!({"a": "1"}));
}

#[test]
fn secrets_need_the_explicit_flag_to_be_recovered() {
    let p = pair();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("enc.yaml");
    std::fs::write(&config, CONFIG_YAML).unwrap();
    // Encrypted, no keys: not decodable.
    let enc = LENS.run(&[
        "get",
        path(&p.new),
        SECRET_KEY,
        "--for-apply",
        "--include-secret-data",
    ]);
    assert_eq!(enc.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&enc.stderr).contains("encrypted at rest"));
    let dir2 = dir.path().join("out");
    let refused = LENS.run(&[
        "export",
        path(&p.new),
        "--for-apply",
        "-n",
        "app",
        "--resource",
        "secrets",
        "--encryption-config",
        path(&config),
        "-d",
        path(&dir2),
        "--list-skipped",
    ]);
    assert!(refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--include-secret-data"));
    assert!(!dir2.join("02-objects.yaml").exists());
}

#[test]
fn export_writes_namespaces_first_and_the_rest_second() {
    let p = pair();
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("export");
    let out = LENS.run(&[
        "export",
        path(&p.new),
        "--for-apply",
        "-n",
        "app",
        "-d",
        path(&out_dir),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let commands = String::from_utf8(out.stdout).unwrap();
    let second = out_dir.join("02-objects.yaml");
    assert_eq!(commands, format!("kubectl apply -f {}\n", second.display()));
    assert!(
        !out_dir.join("01-namespaces-and-crds.yaml").exists(),
        "no Namespace object was stored"
    );
    let text = std::fs::read_to_string(&second).unwrap();
    assert_k8s_applies(&text);
    let docs = parse_yaml(&text);
    let names: Vec<(String, String)> = docs
        .iter()
        .map(|d| {
            (
                d["kind"].as_str().unwrap().to_string(),
                d["metadata"]["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let n = |k: &str, v: &str| (k.to_string(), v.to_string());
    // Helm's order: ConfigMaps, Service, Deployment; the encrypted Secret is left out.
    assert_eq!(
        names,
        [
            n("ConfigMap", "again"),
            n("ConfigMap", "edit"),
            n("ConfigMap", "keep"),
            n("ConfigMap", "new"),
            n("ConfigMap", "same"),
            n("Service", "web"),
            n("Deployment", "web"),
        ]
    );
    docs.iter().for_each(assert_ready);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&second).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // Never over an existing file.
    let again = LENS.run(&[
        "export",
        path(&p.new),
        "--for-apply",
        "-n",
        "app",
        "-d",
        path(&out_dir),
    ]);
    assert_eq!(again.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&second).unwrap(), text);
}

#[test]
fn the_catalog_names_the_newest_snapshot_still_holding_a_deleted_key() {
    let p = pair();
    let find = |key: &str, extra: &[&str]| {
        let mut args = vec![
            "--identity",
            path(&p.identity_file),
            "catalog",
            "find",
            key,
            "--data-dir",
            path(&p.data_dir),
            "--json",
        ];
        args.extend_from_slice(extra);
        let out = LENS.run(&args);
        (
            out.status.code(),
            lines(&String::from_utf8(out.stdout).unwrap()),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let [first, second] = &p.catalog_ids;
    // Deleted between the two: the newest says "deleted", the older one holds it.
    let (code, looked, err) = find("/registry/deployments/app/old", &[]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(looked.len(), 2, "{looked:?}");
    assert_eq!(
        (looked[0]["id"].as_str(), looked[0]["presence"].as_str()),
        (Some(second.as_str()), Some("deleted"))
    );
    assert!(looked[0]["before"].as_i64().is_some(), "{looked:?}");
    assert_eq!(
        (looked[1]["id"].as_str(), looked[1]["presence"].as_str()),
        (Some(first.as_str()), Some("live"))
    );
    assert!(
        err.contains(&format!(
            "the newest snapshot holding \"/registry/deployments/app/old\" is {first}"
        )),
        "{err}"
    );
    // Live in the newest: one look is enough.
    let (code, looked, _) = find("/registry/configmaps/app/keep", &[]);
    assert_eq!((code, looked.len()), (Some(0), 1));
    assert_eq!(looked[0]["id"].as_str(), Some(second.as_str()));
    // Never there: every snapshot looked at, exit 1.
    let (code, looked, _) = find("/registry/configmaps/app/never", &[]);
    assert_eq!(code, Some(1));
    assert!(
        looked.iter().all(|l| l["presence"] == "absent") && looked.len() == 2,
        "{looked:?}"
    );
    // Without the identity the files cannot be read: said per snapshot, not a panic.
    let out = LENS.run(&[
        "catalog",
        "find",
        "/registry/configmaps/app/keep",
        "--data-dir",
        path(&p.data_dir),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let looked = lines(&String::from_utf8(out.stdout).unwrap());
    assert!(
        looked
            .iter()
            .all(|l| l["error"].as_str().is_some_and(|e| e.contains("identity"))),
        "{looked:?}"
    );
}
