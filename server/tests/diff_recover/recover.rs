//! The recovered objects (`get --for-apply`, `--before-delete`, `--rev`,
//! `export`), parsed back by yaml-rust2 and Kubernetes' strict decoding,
//! and the catalog's search for the newest snapshot holding a key.

use etcd_lens_testkit::apply_check::assert_k8s_applies;
use serde_json::{Value, json};

use super::{CONFIG_YAML, LENS, SECRET_KEY, deployment, lines, pair, path, service};

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
