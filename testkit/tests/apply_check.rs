//! The Kubernetes oracle (`tools/k8s-apply-check`) can fail: each way an
//! apply-ready document can be wrong is caught, and a right one passes. One
//! call for all the cases (the tool is built once; each run starts Go).

use etcd_lens_testkit::apply_check::{assert_k8s_applies, k8s_apply_check, k8s_apply_check_args};
use serde_json::Value;

const DEPLOYMENT_TAIL: &str = "  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: nginx, image: nginx}]
";

fn cases() -> String {
    [
        // 0: valid. `namespace: "y"` is quoted: sigs.k8s.io/yaml reads YAML 1.1,
        // where a bare y is the boolean true (and the decode fails on it).
        "# a comment-only document first: skipped, no index\n---\n\
         apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: \"y\"\ndata:\n  a: \"1\"\n"
            .to_owned(),
        // 1: an unknown field.
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web, namespace: default}}\n\
             spec:\n  replicaz: 3\n{DEPLOYMENT_TAIL}"
        ),
        // 2: a duplicated field.
        "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  ports: [{port: 80}]\n  ports: [{port: 81}]\n"
            .to_owned(),
        // 3: a value of the wrong type (replicas is an int32).
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web2}}\n\
             spec:\n  replicas: \"3\"\n{DEPLOYMENT_TAIL}"
        ),
        // 4: decodes, but the typed object writes it back otherwise
        // (metav1.Time keeps whole seconds).
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: t, creationTimestamp: \"2024-05-01T10:00:00.5Z\"}\n"
            .to_owned(),
        // 5: not a built-in kind.
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n".to_owned(),
        // 6: what the API server writes passes, zero values and all.
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web3, creationTimestamp: \"2024-05-01T10:00:00Z\"}}\n\
             spec:\n  replicas: 3\n  strategy: {{}}\n{DEPLOYMENT_TAIL}status: {{}}\n"
        ),
    ]
    .join("---\n")
}

fn error(line: &Value) -> &str {
    line["error"].as_str().unwrap_or_default()
}

#[test]
fn the_oracle_passes_valid_documents_and_fails_each_wrong_one() {
    let Some(lines) = k8s_apply_check(&cases()) else {
        return;
    };
    assert_eq!(lines.len(), 7, "{lines:#?}");
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(l["index"], i, "{l}");
    }
    assert_eq!(
        lines[0],
        serde_json::json!({"index": 0, "apiVersion": "v1", "kind": "ConfigMap", "name": "x",
            "namespace": "y", "ok": true, "typed": true})
    );
    let failing = |i: usize, needle: &str| {
        let l = &lines[i];
        assert_eq!(l["ok"], false, "document {i} should fail: {l}");
        assert!(error(l).contains(needle), "document {i}: {l}");
    };
    failing(1, "unknown field \"spec.replicaz\"");
    assert_eq!(lines[1]["kind"], "Deployment");
    failing(2, "\"ports\" already set");
    assert_eq!(lines[2]["name"], "s", "a failing document is still named");
    failing(3, "DeploymentSpec.spec.replicas of type int32");
    failing(
        4,
        "round trip changes the document: .metadata.creationTimestamp",
    );
    failing(5, "not a built-in kind");
    assert_eq!(lines[6]["ok"], true, "{}", lines[6]);
}

#[test]
fn allow_unknown_parses_other_kinds_only() {
    let docs = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {any: thing}\n---\n\
                apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {a: 1, a: 2}\n";
    let Some(lines) = k8s_apply_check_args(docs, &["-allow-unknown"]) else {
        return;
    };
    assert_eq!(lines[0]["ok"], true, "{}", lines[0]);
    assert_eq!(lines[0]["typed"], false, "{}", lines[0]);
    assert_eq!(lines[1]["ok"], false, "duplicates still fail: {}", lines[1]);
    assert_k8s_applies("apiVersion: v1\nkind: Namespace\nmetadata: {name: ns1}\n");
}

#[test]
fn assert_k8s_applies_names_what_fails() {
    if k8s_apply_check("").is_none() {
        return;
    }
    let doc = "apiVersion: v1\nkind: Namespace\nmetadata: {name: ns1, labelz: {}}\n";
    let panic =
        std::panic::catch_unwind(|| assert_k8s_applies(doc)).expect_err("labelz is no field");
    let msg = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .unwrap_or_default();
    assert!(msg.contains("rejects 1 of 1 documents"), "{msg}");
    assert!(msg.contains("(v1 Namespace /ns1)"), "{msg}");
    assert!(msg.contains("unknown field \"metadata.labelz\""), "{msg}");
}
