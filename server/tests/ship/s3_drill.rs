//! Restore drills of the bucket's copy: a snapshot whose local file is gone
//! (retention, a lost disk) is fetched from the S3 server into the drill's
//! work folder, checked against the record's size and SHA-256, and drilled
//! like a local one; a byte flipped (or cut) in the bucket fails at `fetch`
//! and says why; a snapshot neither here nor shipped cannot be drilled; a
//! record rebuilt by `catalog rebuild --from` drills from the store.

use std::path::Path;
use std::sync::Arc;

use axum::http::{Method, StatusCode};
use etcd_lens_server::catalog::{DrillRecord, DrillVerdict, SnapshotRecord};
use etcd_lens_server::config::ClusterConfig;
use etcd_lens_server::ops::drill::{DrillSource, drill_snapshot, drill_snapshot_from};
use etcd_lens_testkit::cluster::{Cluster, ClusterOptions};

use crate::s3_server::S3;
use crate::{
    BUCKET, LENS, PREFIX, SECRET_KEY, api, config, files_under, logs, rt, run, s3_store, started,
    state,
};

/// Every comparison a passing drill of a 3.4 snapshot shows.
const CHECKS: [&str; 6] = [
    "trailer",
    "plaintext_sha256",
    "hash_kv_recorded_at_save",
    "hash_kv_engine",
    "live_keys_at_revision",
    "live_digest_at_revision",
];

/// A cluster config shipping to `s3`, with drills (identity = the recipient)
/// working in `work`; the path of its file too.
fn drilled(
    c: &Cluster,
    s3: &S3,
    name: &str,
    work: &Path,
) -> (std::path::PathBuf, Arc<ClusterConfig>) {
    let identity = age::x25519::Identity::generate();
    let key = c.dir().join(format!("{name}.key"));
    {
        use age::secrecy::ExposeSecret;
        std::fs::write(
            &key,
            format!(
                "# drill identity\n{}\n",
                identity.to_string().expose_secret()
            ),
        )
        .unwrap();
    }
    let drill = format!(
        "[cluster.drill]\nidentity = \"{}\"\nwork_dir = \"{}\"\nbinaries = {{ \"3.4\" = \"/usr/bin\" }}\n",
        key.display(),
        work.display()
    );
    let store = s3_store(c, s3, name, SECRET_KEY);
    config(c, name, &identity.to_public().to_string(), &drill, &store)
}

fn assert_passed_from_store(d: &DrillRecord, work: &Path) {
    assert_eq!(d.verdict, DrillVerdict::Passed, "{d:#?}");
    assert_eq!(d.source, format!("store:s3://{BUCKET}/{PREFIX}"), "{d:#?}");
    let names: Vec<&str> = d.checks.iter().map(|c| c.name.as_str()).collect();
    for want in CHECKS {
        assert!(names.contains(&want), "{want} in {names:?}");
    }
    assert!(d.checks.iter().all(|c| c.ok), "{d:#?}");
    for step in ["fetch", "decrypt", "restore", "boot", "compare"] {
        assert!(
            d.timings_ms.contains_key(step),
            "{step}: {:?}",
            d.timings_ms
        );
    }
    assert!(
        files_under(work).is_empty(),
        "the work folder is gone: {:?}",
        files_under(work)
    );
}

fn data_key(r: &SnapshotRecord) -> String {
    r.shipped.as_ref().unwrap().key.clone()
}

#[test]
fn s3_drill_of_the_bucket_copy_passes_and_damage_in_the_bucket_fails_at_fetch() {
    logs();
    let c = started(ClusterOptions::default());
    let rt = rt();
    let s3 = S3::start(&rt);
    let work = tempfile::tempdir().unwrap();
    let (_, cfg) = drilled(&c, &s3, "drillbucket", work.path());
    let data = tempfile::tempdir().unwrap();
    let s = state(&data.path().join("data"), vec![cfg.clone()]);

    let taken = rt.block_on(run(&s.services, &cfg));
    assert!(taken.shipped.as_ref().unwrap().at.is_some(), "{taken:?}");
    let local = s.services.data_dir.join(&taken.path);

    // Asked for the store's copy while the file is here: the API drills the bucket's.
    let (st, j) = rt.block_on(api(
        &s,
        Method::POST,
        &format!("/api/v1/snapshots/{}/drill?source=store", taken.id),
    ));
    assert_eq!(st, StatusCode::OK, "{j}");
    let d: DrillRecord = serde_json::from_value(j).unwrap();
    assert_passed_from_store(&d, work.path());

    // The local file is gone: the default drill fetches the bucket's copy.
    std::fs::remove_file(&local).unwrap();
    let d = rt
        .block_on(drill_snapshot(&s.services, &cfg, &taken.id, "test"))
        .unwrap();
    assert_passed_from_store(&d, work.path());
    let live = d
        .checks
        .iter()
        .find(|c| c.name == "live_keys_at_revision")
        .unwrap();
    assert_eq!(live.actual, "10", "the ten configmaps: {d:#?}");
    let stored = s.services.catalog.snapshot(&taken.id).unwrap().unwrap();
    assert_eq!(stored.drill.as_ref(), Some(&d), "the verdict is catalogued");
    // Asked for the local file that is not here: refused, pointing at the store.
    let e = rt
        .block_on(drill_snapshot_from(
            &s.services,
            &cfg,
            &taken.id,
            "test",
            DrillSource::Local,
        ))
        .unwrap_err();
    assert!(
        e.contains("has no stored file here") && e.contains("--from-store"),
        "{e}"
    );

    // A byte flipped in the bucket (same size): caught by our SHA-256, before decryption.
    let object = s3.object_file(&data_key(&taken));
    let good = std::fs::read(&object).unwrap();
    let mut flipped = good.clone();
    let at = flipped.len() / 2;
    flipped[at] ^= 0x01;
    std::fs::write(&object, &flipped).unwrap();
    let d = rt
        .block_on(drill_snapshot(&s.services, &cfg, &taken.id, "test"))
        .unwrap();
    assert_eq!(
        (d.verdict, d.failed_check.as_deref()),
        (DrillVerdict::Failed, Some("fetch")),
        "{d:#?}"
    );
    let e = d.error.clone().unwrap_or_default();
    assert!(
        e.contains("does not match its catalog record")
            && e.contains("SHA-256 of the downloaded bytes")
            && e.contains(&taken.stored_sha256),
        "{e}"
    );
    assert!(d.checks.is_empty(), "nothing was decrypted: {d:#?}");
    assert!(!d.timings_ms.contains_key("decrypt"), "{:?}", d.timings_ms);
    assert!(
        files_under(work.path()).is_empty(),
        "the failed fetch went with the work folder: {:?}",
        files_under(work.path())
    );
    let stored = s.services.catalog.snapshot(&taken.id).unwrap().unwrap();
    assert_eq!(
        stored.drill.as_ref().map(|d| (d.verdict, d.source.clone())),
        Some((
            DrillVerdict::Failed,
            format!("store:s3://{BUCKET}/{PREFIX}")
        ))
    );

    // Cut short in the bucket: refused on the size the store announces.
    std::fs::write(&object, &good[..good.len() - 100]).unwrap();
    let d = rt
        .block_on(drill_snapshot(&s.services, &cfg, &taken.id, "test"))
        .unwrap();
    assert_eq!(d.failed_check.as_deref(), Some("fetch"), "{d:#?}");
    let e = d.error.clone().unwrap_or_default();
    assert!(
        e.contains(&format!(
            "size: the store reports {} bytes, the record says {}",
            taken.stored_bytes - 100,
            taken.stored_bytes
        )),
        "{e}"
    );
    assert!(
        files_under(work.path()).is_empty(),
        "{:?}",
        files_under(work.path())
    );

    // Neither here nor shipped (an upload that never completed): a clear refusal.
    s.services
        .catalog
        .update_snapshot(&taken.id, |r| r.shipped.as_mut().unwrap().at = None)
        .unwrap();
    let (st, j) = rt.block_on(api(
        &s,
        Method::POST,
        &format!("/api/v1/snapshots/{}/drill", taken.id),
    ));
    assert_eq!(st, StatusCode::BAD_REQUEST, "{j}");
    assert!(
        j.to_string().contains(&format!(
            "snapshot {} has no stored file here and was not shipped",
            taken.id
        )),
        "{j}"
    );
}

#[test]
fn s3_record_rebuilt_from_the_bucket_drills_from_the_store() {
    logs();
    let c = started(ClusterOptions::default());
    let rt = rt();
    let s3 = S3::start(&rt);
    let work = tempfile::tempdir().unwrap();
    let (cfg_path, cfg) = drilled(&c, &s3, "drillrebuilt", work.path());
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().join("data");
    let s = state(&data_dir, vec![cfg.clone()]);
    let taken = rt.block_on(run(&s.services, &cfg));
    assert!(taken.shipped.as_ref().unwrap().at.is_some(), "{taken:?}");

    // The server's disk is lost; the catalog comes back from the bucket, the file does not.
    drop(s);
    std::fs::remove_dir_all(&data_dir).unwrap();
    let (cfg_arg, data_arg) = (cfg_path.to_str().unwrap(), data_dir.to_str().unwrap());
    let out = LENS.run(&[
        "catalog",
        "rebuild",
        "--from",
        "drillrebuilt",
        "--config",
        cfg_arg,
        "--data-dir",
        data_arg,
    ]);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!data_dir.join(&taken.path).exists(), "no file was fetched");

    let out = LENS.run(&[
        "drill",
        "--snapshot",
        &taken.id,
        "--from-store",
        "--config",
        cfg_arg,
        "--data-dir",
        data_arg,
        "--json",
    ]);
    let d: DrillRecord = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(out.status.code(), Some(0), "{d:#?}");
    assert_passed_from_store(&d, work.path());
    assert!(
        !data_dir.join(&taken.path).exists(),
        "nothing was left here"
    );
}

#[test]
fn a_drill_record_from_before_store_drills_reads_as_local() {
    let old = serde_json::json!({
        "at": "2025-01-01T00:00:00Z",
        "verdict": "passed",
        "failed_check": null,
        "checks": [],
        "timings_ms": {"decrypt": 1},
        "error": null,
        "etcd_version": "3.4.23"
    });
    let d: DrillRecord = serde_json::from_value(old).unwrap();
    assert_eq!(d.source, "local");
}
