//! The diff of the two snapshots: every change and nothing else, noise,
//! re-encryption, exit codes and the per-namespace summary.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{CONFIG_YAML, LENS, SECRET_KEY, lines, pair, path, row, summary_of};

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
