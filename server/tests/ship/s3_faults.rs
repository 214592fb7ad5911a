//! Shipping to S3 when it goes wrong: an upload cut mid-multipart (no
//! metadata object, completed by the next run) and wrong credentials (a clear
//! error in the record, the log and the metrics).

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::http::Method;
use etcd_lens_testkit::cluster::ClusterOptions;

use crate::s3_server::S3;
use crate::{
    PREFIX, SECRET_KEY, api, assert_shipped, config, get, keys_under, log_lines_with, logs, rt,
    run, s3_store, started, state,
};

/// Random bytes (xorshift): incompressible, so the snapshot is as large as the data.
fn noise(seed: u64, n: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[test]
fn s3_upload_cut_mid_multipart_leaves_no_metadata_and_the_next_run_completes_it() {
    logs();
    let c = started(ClusterOptions::default());
    // ~7 MiB of values: a snapshot of two parts (5 MiB each at most).
    for i in 0..7 {
        c.put_bytes(
            &format!("/registry/secrets/default/big-{i}"),
            &noise(i + 1, 1024 * 1024),
        );
    }
    let identity = age::x25519::Identity::generate();
    let rt = rt();
    let s3 = S3::start(&rt);
    let store_toml = s3_store(&c, &s3, "cut", SECRET_KEY);
    let (_, cfg) = config(
        &c,
        "cut",
        &identity.to_public().to_string(),
        "",
        &store_toml,
    );
    let bucket = s3.client();
    let data = tempfile::tempdir().unwrap();
    let s = state(data.path(), vec![cfg.clone()]);
    rt.block_on(async {
        // The server "dies" once the first part is in.
        s3.faults.after_parts.store(1, Ordering::SeqCst);
        let cut = run(&s.services, &cfg).await;
        assert!(
            cut.stored_bytes > 5 * 1024 * 1024,
            "{} bytes: not a multipart upload",
            cut.stored_bytes
        );
        assert!(
            s3.faults.parts_seen.load(Ordering::SeqCst) >= 2,
            "cut mid-multipart"
        );
        assert!(s3.faults.dropped.load(Ordering::SeqCst) > 0);
        let sh = cut.shipped.clone().unwrap();
        assert!(sh.at.is_none(), "{sh:?}");
        assert_eq!(sh.attempts, 2, "{sh:?}");
        assert!(sh.error.is_some(), "{sh:?}");
        // Still catalogued here, marked as not shipped.
        let here = s.services.catalog.snapshot(&cut.id).unwrap().unwrap();
        assert_eq!(here.shipped, Some(sh.clone()));
        assert!(data.path().join(&here.path).exists());
        let m = s.services.metrics.encode();
        assert!(
            m.contains("etcd_lens_upload_failures_total{cluster=\"cut\"} 1"),
            "{m}"
        );
        let lines = log_lines_with(&format!("shipping snapshot {} of \"cut\"", cut.id));
        assert!(
            lines
                .iter()
                .any(|l| l.contains("attempt 1 of 2 failed") && l.contains("uploading a part of")),
            "the cut part is named in the log: {lines:#?}"
        );

        // The server is back: nothing of the cut upload is visible as a snapshot.
        s3.faults.clear();
        assert!(
            get(&*bucket, &sh.metadata_key).await.is_none(),
            "no metadata object"
        );
        assert!(
            get(&*bucket, &sh.key).await.is_none(),
            "no data object either"
        );

        // The next run ships its own snapshot and completes the cut one.
        let next = run(&s.services, &cfg).await;
        assert_shipped(&*bucket, data.path(), &next).await;
        let done = s.services.catalog.snapshot(&cut.id).unwrap().unwrap();
        assert_shipped(&*bucket, data.path(), &done).await;
        assert_eq!(
            done.shipped.as_ref().unwrap().attempts,
            3,
            "{:?}",
            done.shipped
        );
        let folder = format!("{PREFIX}/cut/");
        assert_eq!(keys_under(&*bucket, &folder).await.len(), 4);
    });
}

#[test]
fn s3_wrong_credentials_are_a_clear_error_in_the_record_the_log_and_the_metrics() {
    logs();
    let c = started(ClusterOptions::default());
    let identity = age::x25519::Identity::generate();
    let rt = rt();
    let s3 = S3::start(&rt);
    let store_toml = s3_store(&c, &s3, "badkey", "not-the-secret");
    let (_, cfg) = config(
        &c,
        "badkey",
        &identity.to_public().to_string(),
        "",
        &store_toml,
    );
    let data = tempfile::tempdir().unwrap();
    let s = state(data.path(), vec![cfg.clone()]);
    rt.block_on(async {
        let t0 = Instant::now();
        let r = run(&s.services, &cfg).await;
        let sh = r.shipped.clone().unwrap();
        let err = sh.error.clone().unwrap();
        assert!(sh.at.is_none());
        assert!(err.contains("refused our credentials"), "{err}");
        assert!(
            err.contains("credentials_file"),
            "says where to look: {err}"
        );
        assert!(
            !err.contains("not-the-secret"),
            "no secret in the message: {err}"
        );
        assert_eq!(
            sh.attempts, 1,
            "not retried: another attempt cannot cure it"
        );
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "failed fast: {:?}",
            t0.elapsed()
        );
        let (_, j) = api(&s, Method::GET, &format!("/api/v1/snapshots/{}", r.id)).await;
        assert_eq!(j["shipped"]["error"], err.as_str(), "{j}");
        assert!(j["shipped"]["at"].is_null(), "{j}");
        let lines = log_lines_with(&format!("snapshot {} of \"badkey\" NOT shipped", r.id));
        assert_eq!(lines.len(), 1, "logged once per failed upload");
        assert!(
            lines[0].contains("refused our credentials") && lines[0].contains("WARN"),
            "{}",
            lines[0]
        );
        let m = s.services.metrics.encode();
        assert!(
            m.contains("etcd_lens_upload_failures_total{cluster=\"badkey\"} 1"),
            "{m}"
        );
    });
}
