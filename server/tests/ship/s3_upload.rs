//! Shipping to S3 as it should go: uploads equal to the local file, the
//! catalog rebuilt from the bucket once the data folder is lost, retention
//! deleting remotely (and a failed remote delete kept, visible and retried).

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use etcd_lens_server::catalog::{Catalog, SnapshotRecord};
use etcd_lens_server::ship::Store;
use etcd_lens_testkit::cluster::ClusterOptions;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStoreExt, PutPayload};

use crate::s3_server::S3;
use crate::{
    BUCKET, LENS, PREFIX, SECRET_KEY, api, assert_shipped, config, get, keys_under, log_lines_with,
    logs, rt, run, s3_store, started, state,
};

#[test]
fn s3_upload_listing_and_rebuild_after_the_data_folder_is_lost() {
    logs();
    let c = started(ClusterOptions::default());
    let identity = age::x25519::Identity::generate();
    let rt = rt();
    let s3 = S3::start(&rt);
    let store_toml = s3_store(&c, &s3, "lost", SECRET_KEY);
    let (cfg_path, cfg) = config(
        &c,
        "lost",
        &identity.to_public().to_string(),
        "",
        &store_toml,
    );
    let bucket = s3.client();
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().join("data");

    // The probe: conditional writes honoured, no versioning.
    let probe = rt
        .block_on(Store::open(cfg.store.as_ref().unwrap()).unwrap().probe("t"))
        .unwrap();
    assert!(probe.conditional_put && !probe.versioned, "{probe:?}");

    let s = state(&data_dir, vec![cfg.clone()]);
    let originals: Vec<SnapshotRecord> = rt.block_on(async {
        let mut v = Vec::new();
        for _ in 0..4 {
            v.push(run(&s.services, &cfg).await);
        }
        for r in &v {
            assert_shipped(&*bucket, &data_dir, r).await;
            assert!(r.encrypted);
            // Visible in the API's snapshot JSON.
            let (st, j) = api(&s, Method::GET, &format!("/api/v1/snapshots/{}", r.id)).await;
            assert_eq!(st, StatusCode::OK);
            assert_eq!(
                j["shipped"]["key"],
                format!("{PREFIX}/lost/{}.db.age", r.id),
                "{j}"
            );
            assert!(j["shipped"]["at"].is_string(), "{j}");
            assert_eq!(j["shipped"]["store"], format!("s3://{BUCKET}/{PREFIX}"));
        }
        // Listing: exactly a data and a metadata object per snapshot (no probe left).
        let listed = keys_under(&*bucket, "").await;
        assert_eq!(listed.len(), 8, "{listed:?}");
        v
    });
    let m = s.services.metrics.encode();
    assert!(
        m.contains("etcd_lens_uploads_total{cluster=\"lost\"} 4"),
        "{m}"
    );
    assert!(
        !m.contains("etcd_lens_upload_failures_total{cluster=\"lost\"}"),
        "{m}"
    );

    // Damage two snapshots in the bucket and leave an orphan data object.
    let (a, b, gone, cut) = (&originals[0], &originals[1], &originals[2], &originals[3]);
    rt.block_on(async {
        let key = |r: &SnapshotRecord| r.shipped.clone().unwrap().key;
        bucket.delete(&ObjectPath::from(key(gone))).await.unwrap();
        let bytes = get(&*bucket, &key(cut)).await.unwrap();
        bucket
            .put(
                &ObjectPath::from(key(cut)),
                PutPayload::from(bytes[..bytes.len() / 2].to_vec()),
            )
            .await
            .unwrap();
        bucket
            .put(
                &ObjectPath::from(format!("{PREFIX}/lost/half-done.db.age")),
                PutPayload::from_static(b"x"),
            )
            .await
            .unwrap();
    });

    // The server's disk is lost.
    drop(s);
    std::fs::remove_dir_all(&data_dir).unwrap();
    let out = LENS.run(&[
        "catalog",
        "rebuild",
        "--from",
        "lost",
        "--config",
        cfg_path.to_str().unwrap(),
        "--data-dir",
        data_dir.to_str().unwrap(),
        "--verify-sha256",
        "--json",
    ]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(
        out.status.code(),
        Some(1),
        "problems found: exit 1; {report}"
    );
    let mut want = vec![a.id.clone(), b.id.clone()];
    want.sort();
    assert_eq!(report["restored"], serde_json::json!(want), "{report}");
    let problems: Vec<(String, String)> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["key"].as_str().unwrap().to_string(),
                p["problem"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(problems.len(), 3, "{report}");
    assert!(
        problems
            .iter()
            .any(|(k, p)| k.ends_with(&format!("{}.json", gone.id)) && p.contains("is missing")),
        "{report}"
    );
    assert!(
        problems
            .iter()
            .any(|(k, p)| k.ends_with(&format!("{}.json", cut.id))
                && p.contains(&format!("the record says {}", cut.stored_bytes))),
        "{report}"
    );
    assert!(
        problems
            .iter()
            .any(|(k, p)| k.ends_with("half-done.db.age") && p.contains("no metadata object")),
        "{report}"
    );
    // The rebuilt records are the originals, field for field.
    let catalog = Catalog::open(&data_dir).unwrap();
    let mut rebuilt = catalog.snapshots().unwrap();
    rebuilt.sort_by(|x, y| x.id.cmp(&y.id));
    let mut expected = vec![a.clone(), b.clone()];
    expected.sort_by(|x, y| x.id.cmp(&y.id));
    assert_eq!(rebuilt, expected);
    drop(catalog);

    // A second rebuild keeps what is there.
    let out = LENS.run(&[
        "catalog",
        "rebuild",
        "--from",
        "lost",
        "--config",
        cfg_path.to_str().unwrap(),
        "--data-dir",
        data_dir.to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("0 restored, 2 already catalogued, 3 problem(s)"),
        "{text}"
    );
}

#[test]
fn s3_retention_deletes_remotely_and_a_failed_delete_is_kept_and_retried() {
    logs();
    let c = started(ClusterOptions::default());
    let identity = age::x25519::Identity::generate();
    let rt = rt();
    let s3 = S3::start(&rt);
    let store_toml = s3_store(&c, &s3, "keep1", SECRET_KEY);
    let (_, cfg) = config(
        &c,
        "keep1",
        &identity.to_public().to_string(),
        "[cluster.retention]\nkeep_last = 1\nmin_verified = 1\n",
        &store_toml,
    );
    let bucket = s3.client();
    let data = tempfile::tempdir().unwrap();
    let s = state(data.path(), vec![cfg.clone()]);
    let folder = format!("{PREFIX}/keep1");
    // The snapshot ids the bucket holds objects of, sorted.
    let ids = |v: &[(String, u64)]| -> Vec<String> {
        let mut ids: Vec<String> = v
            .iter()
            .map(|(k, _)| {
                k.rsplit('/')
                    .next()
                    .unwrap()
                    .split('.')
                    .next()
                    .unwrap()
                    .to_string()
            })
            .collect();
        ids.sort();
        ids.dedup();
        ids
    };
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    rt.block_on(async {
        let first = run(&s.services, &cfg).await;
        assert_shipped(&*bucket, data.path(), &first).await;
        let second = run(&s.services, &cfg).await;
        assert_shipped(&*bucket, data.path(), &second).await;
        // keep_last = 1: the first is gone here and in the bucket.
        assert!(s.services.catalog.snapshot(&first.id).unwrap().is_none());
        assert!(!data.path().join(&first.path).exists());
        assert_eq!(
            ids(&keys_under(&*bucket, &folder).await),
            vec![second.id.clone()]
        );
        assert!(s.services.catalog.remote_deletes().unwrap().is_empty());

        // The store refuses deletes: the local delete happens, the remote one waits.
        s3.faults.deletes.store(true, Ordering::SeqCst);
        let third = run(&s.services, &cfg).await;
        assert_shipped(&*bucket, data.path(), &third).await;
        assert!(s.services.catalog.snapshot(&second.id).unwrap().is_none());
        let pending = s.services.catalog.remote_deletes().unwrap();
        assert_eq!(pending.len(), 1, "{pending:?}");
        assert_eq!(pending[0].snapshot_id, second.id);
        assert_eq!(
            pending[0].keys[0],
            format!("{folder}/{}.json", second.id),
            "metadata first"
        );
        assert!(
            pending[0].error.is_some() && pending[0].attempts == 1,
            "{pending:?}"
        );
        assert_eq!(
            ids(&keys_under(&*bucket, &folder).await),
            sorted(vec![second.id.clone(), third.id.clone()])
        );
        let m = s.services.metrics.encode();
        assert!(
            m.contains("etcd_lens_remote_deletes_pending{cluster=\"keep1\"} 1"),
            "{m}"
        );
        assert!(
            m.contains("etcd_lens_remote_delete_failures_total{cluster=\"keep1\"} 1"),
            "{m}"
        );
        assert!(
            !log_lines_with(&format!("deleting snapshot {} of \"keep1\"", second.id)).is_empty(),
            "the failed delete is logged"
        );
        let (_, log) = api(&s, Method::GET, "/api/v1/audit-log").await;
        assert!(
            log["entries"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["action"] == "snapshot.remote_delete"
                    && e["snapshot_id"] == second.id.as_str()
                    && e["result"].as_str().unwrap().starts_with("error:")),
            "{log}"
        );

        // The next run retries it: only the newest remains, nothing pending.
        s3.faults.clear();
        let fourth = run(&s.services, &cfg).await;
        assert_eq!(
            ids(&keys_under(&*bucket, &folder).await),
            vec![fourth.id.clone()]
        );
        assert!(s.services.catalog.remote_deletes().unwrap().is_empty());
        let m = s.services.metrics.encode();
        assert!(
            m.contains("etcd_lens_remote_deletes_pending{cluster=\"keep1\"} 0"),
            "{m}"
        );

        // An API delete removes the objects too (in the background).
        let (st, v) = api(
            &s,
            Method::DELETE,
            &format!("/api/v1/snapshots/{}?force=true", fourth.id),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while !keys_under(&*bucket, &folder).await.is_empty() {
            assert!(Instant::now() < deadline, "the API delete left the objects");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
}
