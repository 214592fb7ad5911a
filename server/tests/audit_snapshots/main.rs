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
//!
//! One test binary: `scenario.rs` writes the keyspace and says what must be
//! found, `formats.rs` reads every output format back; the tests are here.

use std::collections::BTreeMap;
use std::path::PathBuf;

use etcd_lens_core::audit::{Decryption, EncryptionConfig};
use etcd_lens_testkit::cli::Lens;
use etcd_lens_testkit::etcd::Etcd;
use serde_json::json;

mod formats;
mod scenario;

use formats::{assert_all_formats, json_report};
use scenario::{
    CONFIG_YAML, GCM_K1, SB_K2, aes, build, credentials, item, key_of, secret, t, vectors,
};

const LENS: Lens = Lens(env!("CARGO_BIN_EXE_etcd-lens"));

type Tuple = (String, Option<String>, Option<i64>);

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

    // Done a slice at a time (as the page's worker does, to answer other
    // requests in between), the audit finds exactly what it finds at once:
    // the stale-key rule waits for every Secret, counts add up, findings
    // and warnings come in the same order.
    for encryption in [None, Some(cfg.clone())] {
        let opts = etcd_lens_core::audit::AuditOptions {
            encryption,
            ..Default::default()
        };
        let whole = etcd_lens_core::audit::audit(&snap, &ix, &opts).unwrap();
        let at_once = serde_json::to_value(&whole).unwrap();
        assert!(
            whole
                .findings
                .iter()
                .any(|f| f.rule == etcd_lens_core::audit::Rule::SecretStaleKey),
            "the scenario has a stale key: the slices must not lose it"
        );
        for slice in [1, 3, 7, 64] {
            let mut run = etcd_lens_core::audit::AuditRun::new(&ix, opts.clone());
            let mut steps = 0;
            let report = loop {
                steps += 1;
                if let Some(r) = run.step(&snap, &ix, slice).unwrap() {
                    break r;
                }
            };
            assert_eq!(
                serde_json::to_value(&report).unwrap(),
                at_once,
                "slices of {slice} keys"
            );
            let p = run.progress();
            assert_eq!(
                (p.keys_done, p.keys_total),
                (ix.key_count() as u64, ix.key_count() as u64)
            );
            // One step per slice of keys, then the page scan and the snapshot rules.
            assert_eq!(
                steps,
                ix.key_count().div_ceil(slice) + 2,
                "slices of {slice}"
            );
            assert!(
                run.step(&snap, &ix, slice).unwrap().is_none(),
                "a finished run does nothing"
            );
        }
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
