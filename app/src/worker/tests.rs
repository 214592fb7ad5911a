//! The worker model on real files (the auger fixture).

use etcd_lens_core::MemSource;
use etcd_lens_core::mvcc::{IndexBuilder, KeyValue};

use std::cell::RefCell;
use std::rc::Rc;

use super::list::{list_in, matches};
use super::open::index_view;
use super::*;
use crate::protocol::{ExportFormat, KeyQuery};

fn auger() -> Opened {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/fixtures/auger/boltdb/db"
    );
    let bytes = std::fs::read(path).expect("auger fixture");
    let src: Src = Rc::new(MemSource(bytes));
    let mut o = open(src).expect("opens");
    walk(&mut o);
    index(&mut o).expect("indexes");
    o
}

#[test]
fn auger_passes_list_the_check_problem_keys_and_space() {
    let bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/fixtures/auger/boltdb/db"
    ))
    .unwrap();
    let src: Src = Rc::new(MemSource(bytes));
    let mut o = open(src).unwrap();
    assert!(
        !o.overview.status_final && o.overview.status.is_none(),
        "no status before the walk"
    );
    assert!(
        matches!(index(&mut o), Err(WorkerError::NotWalked)),
        "no index before the walk"
    );
    walk(&mut o);
    assert!(o.overview.status_final);
    assert!(o.overview.status.is_none(), "etcd's tools refuse this file");
    assert!(o.overview.status_error.is_some());
    assert_eq!(o.overview.page_size, 4096);
    assert!(
        matches!(list(&o, &KeyQuery::default()), Err(WorkerError::NotIndexed)),
        "no list before the index"
    );
    let ix = index(&mut o).unwrap();
    assert_eq!(ix.live_keys, 4);
    assert_eq!(ix.revisions_histogram[0].keys, ix.keys_with_history);
    let c = o.check.clone().expect("walked");
    // The kind and the page travel to the page, not just the sentence.
    assert!(
        c.problems
            .iter()
            .any(|p| p.page == Some(etcd_lens_core::bolt::PageId(2))
                && p.kind == etcd_lens_core::bolt::ProblemKind::Freelist
                && p.message.contains("page 2")),
        "{:?}",
        c.problems
    );
    let s = space(&o).unwrap();
    assert!(
        s.resources
            .iter()
            .any(|r| r.name == "pods" && r.objects == 1),
        "{:?}",
        s.resources
    );
}

#[test]
fn tree_groups_keys_by_segment() {
    let o = auger();
    let root = tree(&o, "").unwrap();
    let names: Vec<_> = root
        .iter()
        .map(|n| {
            (
                n.prefix.as_str(),
                n.keys,
                n.has_children,
                n.key_hex.is_some(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("/registry/", 3, true, false),
            ("compact_rev_key", 1, false, true)
        ]
    );
    let registry = tree(&o, "/registry/").unwrap();
    let segs: Vec<_> = registry.iter().map(|n| n.segment.as_str()).collect();
    assert_eq!(segs, ["jobs/", "namespaces/", "pods/"]);
    let bytes: u64 = registry.iter().map(|n| n.bytes).sum();
    assert_eq!(bytes, root[0].bytes);
    let leaf = tree(&o, "/registry/pods/default/").unwrap();
    assert_eq!(leaf.len(), 1);
    assert_eq!(
        leaf[0].key_hex,
        Some(hex::encode("/registry/pods/default/pi-dqtsw"))
    );
}

#[test]
fn pages_resumed_from_checkpoints_equal_a_plain_filter() {
    let mut b = IndexBuilder::default();
    let mut rev = 1;
    let mut keys = Vec::new();
    for i in 0..3000 {
        let ns = ["default", "kube-system", "prod"][i % 3];
        let res = if i % 7 == 0 { "secrets" } else { "configmaps" };
        keys.push(format!("/registry/{res}/{ns}/obj-{i:05}"));
    }
    for k in &keys {
        rev += 1;
        let rk = etcd_lens_core::mvcc::revision::RevisionKey {
            rev: etcd_lens_core::mvcc::revision::Revision { main: rev, sub: 0 },
            tombstone: rev % 11 == 0,
        };
        let kv = KeyValue {
            key: k.as_bytes().to_vec(),
            create_revision: rev,
            mod_revision: rev,
            version: 1,
            value: b"v".to_vec(),
            lease: 0,
        };
        b.add(rk, &kv);
    }
    let ix = b.finish();
    let cache = RefCell::new(None);
    for q in [
        KeyQuery {
            prefix: "/registry/".into(),
            ..KeyQuery::default()
        },
        KeyQuery {
            namespace: "prod".into(),
            ..KeyQuery::default()
        },
        KeyQuery {
            resource: "secrets".into(),
            contains: "obj-01".into(),
            ..KeyQuery::default()
        },
    ] {
        let expected: Vec<String> = ix
            .live_with_prefix(q.prefix.as_bytes())
            .filter(|(k, _)| matches(&q, k).is_some())
            .map(|(k, _)| String::from_utf8_lossy(k).into_owned())
            .collect();
        assert!(expected.len() > 100, "{}", expected.len());
        for offset in [
            0u32,
            1,
            511,
            512,
            513,
            1023,
            1500,
            expected.len() as u32 - 3,
            5000,
        ] {
            let page = list_in(
                &ix,
                &cache,
                &KeyQuery {
                    offset,
                    limit: 7,
                    ..q.clone()
                },
            );
            let got: Vec<_> = page.rows.iter().map(|r| r.key.clone()).collect();
            let want: Vec<_> = expected
                .iter()
                .skip(offset as usize)
                .take(7)
                .cloned()
                .collect();
            assert_eq!(got, want, "{q:?} at {offset}");
            assert_eq!(page.total, expected.len() as u64);
        }
    }
}

#[test]
fn histogram_bins_count_revisions_per_key() {
    let mut b = IndexBuilder::default();
    let kv = |k: &str| KeyValue {
        key: k.into(),
        create_revision: 2,
        mod_revision: 2,
        version: 1,
        value: b"v".to_vec(),
        lease: 0,
    };
    let mut rev = 1;
    for (k, n) in [("a", 1), ("b", 2), ("c", 3), ("d", 4), ("e", 5), ("f", 300)] {
        for _ in 0..n {
            rev += 1;
            let rk = etcd_lens_core::mvcc::revision::RevisionKey {
                rev: etcd_lens_core::mvcc::revision::Revision { main: rev, sub: 0 },
                tombstone: false,
            };
            b.add(rk, &kv(k));
        }
    }
    let ix = b.finish();
    let v = index_view(&ix);
    let bins: Vec<_> = v
        .revisions_histogram
        .iter()
        .map(|b| (b.label.as_str(), b.keys))
        .collect();
    assert_eq!(
        bins,
        [
            ("1", 1),
            ("2", 1),
            ("3–4", 2),
            ("5–8", 1),
            ("9–16", 0),
            ("17–32", 0),
            ("33–64", 0),
            ("65–128", 0),
            ("129+", 1)
        ]
    );
    assert_eq!(v.most_revisions[0], ("f".to_string(), 300));
    assert_eq!(v.most_revisions.len(), 5);
}

#[test]
fn list_filters_and_pages() {
    let o = auger();
    let all = list(
        &o,
        &KeyQuery {
            limit: 100,
            ..KeyQuery::default()
        },
    )
    .unwrap();
    let keys: Vec<_> = all.rows.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "/registry/jobs/default/pi",
            "/registry/namespaces/default",
            "/registry/pods/default/pi-dqtsw",
            "compact_rev_key"
        ]
    );
    let pods = list(
        &o,
        &KeyQuery {
            resource: "pods".into(),
            limit: 100,
            ..KeyQuery::default()
        },
    )
    .unwrap();
    assert_eq!(
        (pods.total, pods.rows[0].namespace.as_str()),
        (1, "default")
    );
    let second = list(
        &o,
        &KeyQuery {
            offset: 1,
            limit: 1,
            ..KeyQuery::default()
        },
    )
    .unwrap();
    assert_eq!((second.total, second.rows.len()), (4, 1));
    assert_eq!(second.rows[0].key, "/registry/namespaces/default");
    let sub = list(
        &o,
        &KeyQuery {
            contains: "pi".into(),
            limit: 100,
            ..KeyQuery::default()
        },
    )
    .unwrap();
    assert_eq!(sub.total, 2);
}

#[test]
fn audit_of_the_auger_file_reports_no_encryption_and_exports() {
    let o = auger();
    let a = audit(&o, None).unwrap();
    let rules: Vec<_> = a.findings.iter().map(|f| f.rule.id()).collect();
    assert!(rules.contains(&"snapshot-not-encrypted"), "{rules:?}");
    assert!(
        !rules.contains(&"secret-plaintext"),
        "the auger file has no Secrets: {rules:?}"
    );
    assert_eq!(a.exposure, etcd_lens_core::audit::Exposure::NoneFound);
    // Exports are made from the last audit, on request, with the file's name.
    let json = super::export(&o, ExportFormat::Json, "auger.db").unwrap();
    assert!(
        json.starts_with("{\"census\":"),
        "{}",
        &json[..40.min(json.len())]
    );
    let sarif = super::export(&o, ExportFormat::Sarif, "auger.db").unwrap();
    assert!(
        sarif.contains("2.1.0") && sarif.contains("auger.db"),
        "{sarif}"
    );
    let fresh = auger();
    assert!(matches!(
        super::export(&fresh, ExportFormat::Csv, "x"),
        Err(WorkerError::NotAudited)
    ));
    assert!(matches!(
        audit(&o, Some("not: [valid")),
        Err(WorkerError::Config(_))
    ));

    // A slice of keys at a time (as the worker runs it): the same view.
    let whole = serde_json::to_value(audit(&o, None).unwrap()).unwrap();
    let mut run = super::start_audit(&o, None).unwrap();
    let mut steps = 0;
    let sliced = loop {
        steps += 1;
        if let Some(v) = super::audit_step(&o, &mut run, 2).unwrap() {
            break v;
        }
        let p = run.progress();
        assert!(p.keys_done <= p.keys_total, "{p:?}");
    };
    assert!(
        steps > 3,
        "the auger file's keys take several slices of 2: {steps}"
    );
    assert_eq!(serde_json::to_value(sliced).unwrap(), whole);
}

#[test]
fn key_detail_decodes_the_pod() {
    let o = auger();
    let d = key_detail(&o, &hex::encode("/registry/pods/default/pi-dqtsw")).unwrap();
    assert_eq!(
        (d.kind.as_deref(), d.api_version.as_deref()),
        (Some("Pod"), Some("v1"))
    );
    assert_eq!(d.encoding, "protobuf");
    assert_eq!(d.object.unwrap()["metadata"]["name"], "pi-dqtsw");
    assert_eq!(d.history.len(), 1);
    assert!(matches!(key_detail(&o, "zz"), Err(WorkerError::BadLink)));
    assert!(matches!(
        key_detail(&o, &hex::encode("/nope")),
        Err(WorkerError::NoKey(k)) if k == "/nope"
    ));
}

#[test]
fn sorted_pages_equal_a_plain_sort_of_the_matches() {
    use crate::protocol::SortBy;
    let mut b = IndexBuilder::default();
    let mut versions = std::collections::HashMap::new();
    // Keys written out of key order, some twice, with sizes that repeat
    // (ties keep key order) and a few deleted.
    let n = 2600u64;
    for step in 0..n + 400 {
        let i = (step * 7919) % n;
        let k = format!("/registry/configmaps/ns-{}/cm-{i:05}", i % 4);
        let rk = etcd_lens_core::mvcc::revision::RevisionKey {
            rev: etcd_lens_core::mvcc::revision::Revision {
                main: step as i64 + 2,
                sub: 0,
            },
            tombstone: step % 97 == 0,
        };
        let seen = versions.entry(k.clone()).or_insert(0i64);
        *seen += 1;
        let version = *seen;
        let kv = KeyValue {
            key: k.into_bytes(),
            create_revision: 2,
            mod_revision: step as i64 + 2,
            version,
            value: vec![b'v'; (i % 13) as usize * 10],
            lease: 0,
        };
        b.add(rk, &kv);
    }
    let ix = b.finish();
    let cache = RefCell::new(None);
    for sort in SortBy::ALL {
        for descending in [false, true] {
            for namespace in ["", "ns-1"] {
                let q = KeyQuery {
                    namespace: namespace.into(),
                    sort,
                    descending,
                    ..KeyQuery::default()
                };
                let mut expected: Vec<(i64, String)> = ix
                    .live()
                    .filter(|(k, _)| matches(&q, k).is_some())
                    .map(|(k, l)| {
                        let v = match sort {
                            SortBy::Key => 0,
                            SortBy::Revision => l.mod_revision,
                            SortBy::Version => l.version,
                            SortBy::Size => l.value_size as i64,
                        };
                        (v, String::from_utf8_lossy(k).into_owned())
                    })
                    .collect();
                // A stable sort of key order: ties keep it (by key, backwards
                // only when the key itself is the order).
                match (sort, descending) {
                    (SortBy::Key, true) => expected.reverse(),
                    (_, true) => expected.sort_by_key(|a| std::cmp::Reverse(a.0)),
                    (_, false) => expected.sort_by_key(|a| a.0),
                }
                let expected: Vec<String> = expected.into_iter().map(|(_, k)| k).collect();
                assert!(expected.len() > 500, "{}", expected.len());
                for offset in [0u32, 3, 511, 1030, expected.len() as u32 - 2, 9000] {
                    let page = list_in(
                        &ix,
                        &cache,
                        &KeyQuery {
                            offset,
                            limit: 60,
                            ..q.clone()
                        },
                    );
                    let got: Vec<_> = page.rows.iter().map(|r| r.key.clone()).collect();
                    let want: Vec<_> = expected
                        .iter()
                        .skip(offset as usize)
                        .take(60)
                        .cloned()
                        .collect();
                    assert_eq!(
                        got, want,
                        "{sort:?} descending={descending} ns={namespace:?} at {offset}"
                    );
                    assert_eq!(page.total, expected.len() as u64);
                }
            }
        }
    }
}

#[test]
fn restore_facts_are_read_as_restore_plan_reads_them() {
    let o = auger();
    let ix = o.index().unwrap();
    let f = restore_facts(&o.snap, ix);
    assert_eq!(
        f.members,
        [crate::protocol::RestoreMember {
            name: "default".into(),
            peer_urls: vec!["https://kubernetes-master:2380".into()],
            client_urls: vec!["http://localhost:2379".into()],
            learner: false,
        }]
    );
    assert_eq!(f.members_error, None);
    // Stored as is; the page takes major.minor (and refuses 3.2 for a restore).
    assert_eq!(f.cluster_version.as_deref(), Some("3.2.0"));
    // A db file copied from a data dir: no trailer, so --skip-hash-check.
    assert!(!f.has_trailer);
    assert!(f.kubernetes);
    assert_eq!(
        f.revision,
        etcd_lens_core::mvcc::hashkv::StoreRevisions::of(&o.snap, ix).current
    );
    assert_eq!(f.revision, 241828);
    // And it travels with the index.
    let mut o = auger();
    assert_eq!(index(&mut o).unwrap().restore_facts, Some(f));
}
