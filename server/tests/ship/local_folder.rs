//! Shipping to a local folder: upload, remote delete and reading back.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use etcd_lens_server::ship::{Store, rebuild};
use etcd_lens_testkit::cluster::ClusterOptions;
use object_store::ObjectStore;

use crate::{PREFIX, api, assert_shipped, config, files_under, logs, rt, run, started, state};

#[test]
fn local_folder_upload_delete_and_read_back() {
    logs();
    let c = started(ClusterOptions::default());
    let identity = age::x25519::Identity::generate();
    let rt = rt();
    let target = tempfile::tempdir().unwrap();
    let (_, cfg) = config(
        &c,
        "folder",
        &identity.to_public().to_string(),
        "",
        &format!(
            "kind = \"local\"\npath = \"{}\"\nprefix = \"{PREFIX}\"\n",
            target.path().display()
        ),
    );
    let store = Store::open(cfg.store.as_ref().unwrap()).unwrap();
    let probe = rt.block_on(store.probe("t")).unwrap();
    assert!(
        probe.conditional_put && !probe.versioned && probe.local,
        "{probe:?}"
    );
    let local: Arc<dyn ObjectStore> =
        Arc::new(object_store::local::LocalFileSystem::new_with_prefix(target.path()).unwrap());
    let data = tempfile::tempdir().unwrap();
    let s = state(data.path(), vec![cfg.clone()]);
    rt.block_on(async {
        let a = run(&s.services, &cfg).await;
        let b = run(&s.services, &cfg).await;
        for r in [&a, &b] {
            assert_shipped(&*local, data.path(), r).await;
            let file = target
                .path()
                .join(PREFIX)
                .join("folder")
                .join(format!("{}.db.age", r.id));
            assert_eq!(std::fs::metadata(&file).unwrap().len(), r.stored_bytes);
            assert!(
                target
                    .path()
                    .join(PREFIX)
                    .join("folder")
                    .join(format!("{}.json", r.id))
                    .exists()
            );
        }
        let back = rebuild::read_back(&store, "folder", true).await.unwrap();
        assert!(back.problems.is_empty(), "{:?}", back.problems);
        let mut want = vec![a.clone(), b.clone()];
        want.sort_by(|x, y| x.id.cmp(&y.id));
        assert_eq!(back.records, want);

        // An API delete removes both objects (metadata first).
        let (st, v) = api(&s, Method::DELETE, &format!("/api/v1/snapshots/{}", a.id)).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        let gone = target
            .path()
            .join(PREFIX)
            .join("folder")
            .join(format!("{}.db.age", a.id));
        let deadline = Instant::now() + Duration::from_secs(20);
        while gone.exists() {
            assert!(
                Instant::now() < deadline,
                "the API delete left {}",
                gone.display()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(
            !target
                .path()
                .join(PREFIX)
                .join("folder")
                .join(format!("{}.json", a.id))
                .exists()
        );
        assert_shipped(&*local, data.path(), &b).await;
        // ops::snapshots::delete alone queues the remote delete in the same transaction.
        etcd_lens_server::ops::snapshots::delete(data.path(), &s.services.catalog, &b.id, false)
            .unwrap();
        let pending = s.services.catalog.remote_deletes().unwrap();
        assert_eq!(pending.len(), 1, "{pending:?}");
        etcd_lens_server::ops::ship::drain_deletes(&cfg, &store, &s.services, "test").await;
        assert!(s.services.catalog.remote_deletes().unwrap().is_empty());
        // What is left: one tombstone per deleted snapshot (servers sharing
        // the store delete their copies when they find it), nothing else.
        let mut left = files_under(target.path());
        left.sort();
        let mut want: Vec<_> = [&a.id, &b.id]
            .iter()
            .map(|id| {
                target
                    .path()
                    .join(PREFIX)
                    .join("deleted/folder")
                    .join(format!("{id}.json"))
            })
            .collect();
        want.sort();
        assert_eq!(left, want);
        let t: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&want[0]).unwrap()).unwrap();
        assert_eq!(t["cluster"], "folder", "{t}");
        assert!(
            t["snapshot_id"] == a.id.as_str() || t["snapshot_id"] == b.id.as_str(),
            "{t}"
        );
        assert!(
            t["deleted_by"].as_str().is_some_and(|s| !s.is_empty()),
            "{t}"
        );
    });
}
