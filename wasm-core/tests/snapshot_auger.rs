//! The snapshot engine on the real auger member `db` (see `../shared/fixtures/README.md`):
//! a bogus freelist pointer (page 2 is the `key` leaf), yet every key reads.

use etcd_lens_core::bolt::{self, Db, FreelistState, PageId, ProblemKind};
use etcd_lens_core::snapshot::Snapshot;
use etcd_lens_core::status::{self, Compat, StatusError};
use etcd_lens_core::{MemSource, mvcc::KeyValue};
use etcd_lens_testkit::fixture_bytes as fixture;
use prost::Message;

fn text(rel: &str) -> String {
    String::from_utf8(fixture(rel)).unwrap()
}

/// `Key: …` / `Version: …` lines of a summary file.
fn summary(rel: &str) -> std::collections::HashMap<String, String> {
    text(rel)
        .lines()
        .filter_map(|l| {
            l.split_once(": ")
                .map(|(a, b)| (a.to_string(), b.trim().to_string()))
        })
        .collect()
}

#[test]
fn lists_exactly_the_keys_in_keys_txt() {
    let db = fixture("auger/boltdb/db");
    let src = MemSource(&db);
    let snap = Snapshot::open(&src).unwrap();
    let ix = snap.key_index().unwrap();
    let live: Vec<String> = ix
        .live()
        .map(|(k, _)| String::from_utf8(k.to_vec()).unwrap())
        .collect();
    let mut expected: Vec<String> = text("auger/boltdb/keys.txt")
        .lines()
        .map(String::from)
        .collect();
    expected.sort();
    assert_eq!(live, expected);
    assert_eq!(snap.info.cluster_version.as_deref(), Some("3.2.0"));
    assert!(snap.info.buckets.iter().any(|b| b.name == "key" && b.known));
}

#[test]
fn every_summarised_item_matches_metadata_and_value_bytes() {
    let db = fixture("auger/boltdb/db");
    let src = MemSource(&db);
    let snap = Snapshot::open(&src).unwrap();
    let ix = snap.key_index().unwrap();
    for i in 0..3 {
        let s = summary(&format!("auger/boltdb/page2item{i}-summary.txt"));
        let key = text(&format!("auger/boltdb/page2item{i}-key.txt"));
        let key = key.trim_end_matches('\n');
        assert_eq!(s["Key"], key);
        let raw = fixture(&format!("auger/boltdb/page2item{i}.bin"));
        let from_file = KeyValue::decode(raw.as_slice()).unwrap();
        let got = snap.get(&ix, key.as_bytes(), None).unwrap().expect("live");
        assert_eq!(
            got, from_file,
            "item {i}: the decoded value equals auger's raw item"
        );
        let live = ix.history(key.as_bytes()).unwrap().live.unwrap();
        assert_eq!(live.version.to_string(), s["Version"]);
        assert_eq!(live.create_revision.to_string(), s["CreateRevision"]);
        assert_eq!(live.mod_revision.to_string(), s["ModRevision"]);
        assert_eq!(live.lease.to_string(), s["Lease"]);
        assert_eq!(live.value_size, from_file.value.len() as u64);
    }
}

#[test]
fn check_reports_the_bogus_freelist_and_derives_free_pages() {
    let db = fixture("auger/boltdb/db");
    let src = MemSource(&db);
    let d = Db::open(&src).unwrap();
    let r = bolt::check(&d);
    assert!(!r.is_ok());
    assert!(
        r.problems
            .iter()
            .any(|p| p.kind == ProblemKind::Freelist && p.page == Some(PageId(2))),
        "{:?}",
        r.problems
    );
    assert!(matches!(
        r.freelist,
        FreelistState::Invalid {
            page: PageId(2),
            ..
        }
    ));
    // Pages: 0,1 metas; 4 root; 2 the key leaf; 3 the unreferenced empty leaf → free.
    assert_eq!(r.stats.high_water, 5);
    assert_eq!(r.stats.in_use_pages, 4, "{:?}", r.stats);
    assert_eq!(r.stats.free_pages, 1);
    let e = status::status(&d, Compat::V35).unwrap_err();
    assert!(matches!(e, StatusError::Integrity { .. }), "{e}");
    assert!(e.to_string().contains("page 2"), "{e}");
}

/// A snapshot compared with itself: nothing changed, every key found equal by
/// its revisions alone; reading every value gives the same answer.
#[test]
fn a_snapshot_diffed_with_itself_is_equal_by_revision_and_by_value() {
    use etcd_lens_core::diff::{self, DiffOptions, Side};
    let db = fixture("auger/boltdb/db");
    let src = MemSource(&db);
    let snap = Snapshot::open(&src).unwrap();
    let ix = snap.key_index().unwrap();
    let side = || Side {
        snap: &snap,
        index: &ix,
    };
    let d = diff::diff(side(), side(), &DiffOptions::default()).unwrap();
    assert!(d.is_equal() && d.same_cluster, "{d:?}");
    assert_eq!(d.unchanged, ix.live_count());
    assert_eq!(d.unchanged_by_revision, ix.live_count());
    let all = DiffOptions {
        compare_all_values: true,
        ..DiffOptions::default()
    };
    let d = diff::diff(side(), side(), &all).unwrap();
    assert!(d.is_equal());
    assert_eq!((d.unchanged, d.unchanged_by_revision), (ix.live_count(), 0));
}

/// Every object of the real member made ready for kubectl apply: Kubernetes'
/// own strict decoding (tools/k8s-apply-check) takes each document of a kind
/// it still serves, and the kinds it does not serve at least parse.
#[test]
fn every_object_of_a_real_member_is_ready_for_kubectl_apply() {
    use etcd_lens_core::apply::ApplyOptions;
    use etcd_lens_core::apply::export::{self, ExportOptions, Selection};
    let db = fixture("auger/boltdb/db");
    let src = MemSource(&db);
    let snap = Snapshot::open(&src).unwrap();
    let ix = snap.key_index().unwrap();
    let candidates =
        export::collect(&snap, &ix, &Selection::default(), "/registry/", None, None).unwrap();
    assert!(!candidates.is_empty());
    let opts = ExportOptions {
        apply: ApplyOptions {
            include_secret_data: true,
            ..ApplyOptions::default()
        },
        include_owned: true,
        include_cluster_managed: true,
    };
    let e = export::build(candidates, "/registry/", &opts);
    let objects: Vec<_> = e.first.iter().chain(&e.second).collect();
    // The member holds three objects; none is left out.
    assert!(
        !objects.is_empty() && e.skipped.is_empty(),
        "{} objects, skipped {:?}",
        objects.len(),
        e.skipped
    );
    for o in &objects {
        let meta = &o.object["metadata"];
        for f in [
            "uid",
            "resourceVersion",
            "creationTimestamp",
            "managedFields",
            "selfLink",
        ] {
            assert!(
                meta.get(f).is_none(),
                "{f} in {}",
                String::from_utf8_lossy(&o.key)
            );
        }
        assert!(o.object.get("status").is_none());
    }
    let yaml = export::to_yaml(&e.first) + &export::to_yaml(&e.second);
    let Some(results) =
        etcd_lens_testkit::apply_check::k8s_apply_check_args(&yaml, &["-allow-unknown"])
    else {
        return;
    };
    assert_eq!(results.len(), objects.len());
    let failed: Vec<_> = results.iter().filter(|r| r["ok"] != true).collect();
    assert!(
        failed.is_empty(),
        "not accepted by Kubernetes' decoding: {failed:#?}"
    );
    let typed = results.iter().filter(|r| r["typed"] == true).count();
    assert!(
        typed > 0,
        "most documents are of kinds still served: {typed} of {}",
        results.len()
    );
}
