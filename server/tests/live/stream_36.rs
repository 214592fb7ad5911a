//! A snapshot the server takes of an etcd 3.6.16 member records what
//! 3.6.16's own `etcdutl snapshot status -w json` prints for the stored file
//! (decrypted): the core's streaming status follows the file's storage
//! version, as the file-based status does (issue #16). 3.5's rules would
//! record another `totalKey` (every entry of every bucket, not the live keys).

use chrono::Utc;
use etcd_lens_core::MemSource;
use etcd_lens_core::bolt::Db;
use etcd_lens_core::status::{Compat, status};
use etcd_lens_testkit::cluster::{Cluster, ClusterOptions, Flavor};

use super::{config_for, decrypt, rt, state};

#[test]
fn a_3_6_snapshot_records_etcdutl_3_6s_numbers() {
    let Some(binaries) = Flavor::Etcd36.installed() else {
        return;
    };
    let c = Cluster::start(ClusterOptions {
        binaries,
        ..Default::default()
    });
    for i in 0..30 {
        c.put(
            &format!("/registry/configmaps/default/cm-{i:02}"),
            &format!("v{i}"),
        );
    }
    c.put("/registry/configmaps/default/cm-01", "overwritten");
    c.delete("/registry/configmaps/default/cm-03");
    c.compact(c.revision());
    c.put("/registry/configmaps/default/cm-02", "after the compaction");
    c.put(
        "/registry/configmaps/default/cm-03",
        "deleted, then put again",
    );
    c.delete("/registry/configmaps/default/cm-04");
    // 3.6 records its storage version soon after the cluster version is
    // decided; a snapshot before that has none (and follows 3.5's rules).
    etcd_lens_testkit::wait_for(
        "the storage version",
        std::time::Duration::from_secs(30),
        || (c.endpoint_status()[0]["Status"]["storageVersion"] == "3.6.0").then_some(()),
    );

    let identity = age::x25519::Identity::generate();
    let cfg = config_for(
        &c,
        "six",
        &format!("recipients = [\"{}\"]\n", identity.to_public()),
    );
    let data = tempfile::tempdir().unwrap();
    let s = state(data.path(), vec![cfg.clone()]);
    let record = rt().block_on(async {
        let job = s.services.jobs.begin(&cfg, "manual", Utc::now()).unwrap();
        s.services
            .snapshot(&cfg, &job, "manual", "test")
            .await
            .unwrap()
    });
    assert!(record.etcd_version.starts_with("3.6."), "{record:?}");
    assert!(record.encrypted);

    let sealed = std::fs::read(data.path().join(&record.path)).unwrap();
    let plain = decrypt(&sealed, &identity);
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("decrypted.db");
    std::fs::write(&file, &plain).unwrap();
    // Cluster::snapshot_status runs the flavor's etcdutl (3.6.16's).
    let oracle = c.snapshot_status(&file);
    assert_eq!(oracle["version"], "3.6.0", "{oracle}");
    let got = serde_json::json!({
        "hash": record.status_hash,
        "revision": record.revision,
        "totalKey": record.total_keys,
        "totalSize": record.db_size_bytes,
        "version": record.status_version,
    });
    assert_eq!(got, oracle, "the record against etcdutl 3.6.16");
    assert_eq!(record.revision, c.revision(), "the last change, a delete");

    // 3.5's rules would have recorded more keys: the test tells them apart.
    let src = MemSource(&plain[..]);
    let db = Db::open(&src).unwrap();
    let v35 = status(&db, Compat::V35).unwrap();
    assert!(
        v35.total_key > record.total_keys,
        "3.5 counts {}, 3.6 {}",
        v35.total_key,
        record.total_keys
    );
}
