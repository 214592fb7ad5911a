//! Restore drills on real etcd 3.4: a good snapshot passes, damage is caught
//! where it is, and a killed drill's folders are cleaned.

use std::path::Path;
use std::time::Duration;

use axum::http::Method;
use chrono::Utc;
use etcd_lens_server::AppState;
use etcd_lens_testkit::cluster::{Cluster, ClusterOptions};

use crate::{config_for, decrypt, files_under, json, rt, state};

/// Restore drills on real etcd 3.4: a good snapshot passes every comparison;
/// a damaged stored object fails at decryption; a value byte flipped before
/// the digest (trailer and record agreeing with the damage, as when a member
/// wrote bad data) is caught by the HashKV recorded at save; a damaged page
/// header fails where it is found; folders a killed drill left are cleaned.
#[test]
fn restore_drills_pass_and_catch_damage() {
    use etcd_lens_server::catalog::DrillVerdict;
    use etcd_lens_server::ops::drill::drill_snapshot;
    let c = Cluster::start(ClusterOptions::default());
    for i in 0..30 {
        c.put(
            &format!("/registry/configmaps/default/cm-{i:02}"),
            &format!("value-{i}"),
        );
    }
    c.put("/registry/configmaps/default/cm-05", "overwritten");
    c.delete("/registry/configmaps/default/cm-06");
    c.put(
        "/registry/secrets/default/marker",
        "DRILL-MARKER-VALUE-0123456789",
    );
    let identity = age::x25519::Identity::generate();
    let key = c.dir().join("drill.key");
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
    let work = tempfile::tempdir().unwrap();
    let cfg = config_for(
        &c,
        "drilled",
        &format!(
            "recipients = [\"{}\"]\n[cluster.drill]\nidentity = \"{}\"\nwork_dir = \"{}\"\nbinaries = {{ \"3.4\" = \"/usr/bin\" }}\n",
            identity.to_public(),
            key.display(),
            work.path().display()
        ),
    );
    let data = tempfile::tempdir().unwrap();
    let s = state(data.path(), vec![cfg.clone()]);
    let r = rt();
    let take = || {
        r.block_on(async {
            let job = s.services.jobs.begin(&cfg, "manual", Utc::now()).unwrap();
            s.services
                .snapshot(&cfg, &job, "manual", "test")
                .await
                .unwrap()
        })
    };

    // A good snapshot passes, with every comparison shown.
    let good = take();
    let d = r
        .block_on(drill_snapshot(&s.services, &cfg, &good.id, "test"))
        .unwrap();
    assert_eq!(d.verdict, DrillVerdict::Passed, "{d:#?}");
    let names: Vec<&str> = d.checks.iter().map(|c| c.name.as_str()).collect();
    for want in [
        "trailer",
        "plaintext_sha256",
        "hash_kv_recorded_at_save",
        "hash_kv_engine",
        "live_keys_at_revision",
        "live_digest_at_revision",
    ] {
        assert!(names.contains(&want), "{want} in {names:?}");
    }
    assert!(d.checks.iter().all(|c| c.ok), "{d:#?}");
    let live = d
        .checks
        .iter()
        .find(|c| c.name == "live_keys_at_revision")
        .unwrap();
    assert_eq!(
        live.actual, "30",
        "29 configmaps (one deleted) and the marker: {d:#?}"
    );
    for step in ["decrypt", "restore", "boot", "compare"] {
        assert!(
            d.timings_ms.contains_key(step),
            "{step}: {:?}",
            d.timings_ms
        );
    }
    assert!(
        files_under(work.path()).is_empty(),
        "the work folder is gone: {:?}",
        files_under(work.path())
    );
    let stored = s.services.catalog.snapshot(&good.id).unwrap().unwrap();
    assert_eq!(
        stored.drill.as_ref().map(|d| d.verdict),
        Some(DrillVerdict::Passed)
    );
    let (_, api) = r.block_on(json(
        &s,
        Method::POST,
        &format!("/api/v1/snapshots/{}/drill", good.id),
    ));
    assert_eq!(api["verdict"], "passed", "{api}");

    // A drill schedule (seconds-level cron) drills the newest finished snapshot.
    let newer = take();
    let timed = config_for(
        &c,
        "drilled",
        &format!(
            "recipients = [\"{}\"]\n[cluster.drill]\nidentity = \"{}\"\nwork_dir = \"{}\"\nbinaries = {{ \"3.4\" = \"/usr/bin\" }}\n[cluster.drill.schedule]\ncron = \"*/2 * * * * *\"\n",
            identity.to_public(),
            key.display(),
            work.path().display()
        ),
    );
    r.block_on(async {
        let task = tokio::spawn(etcd_lens_server::ops::scheduler::run(
            timed.clone(),
            s.scheduler_context(),
        ));
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let state = loop {
            let (_, v) = json(&s, Method::GET, "/api/v1/clusters/drilled/schedules").await;
            let st = v["schedules"][0].clone();
            if !st["last_result"].is_null() {
                break st;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no scheduled drill in 60 s: {v}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        task.abort();
        assert_eq!(state["kind"], "drill", "{state}");
        assert_eq!(state["name"], "drill */2 * * * * *", "{state}");
        assert_eq!(state["last_result"], "ok", "{state}");
        assert_eq!(
            state["last_snapshot_id"],
            newer.id.as_str(),
            "the newest: {state}"
        );
        assert!(state["next_run"].is_string(), "{state}");
    });
    let drilled = s.services.catalog.snapshot(&newer.id).unwrap().unwrap();
    assert_eq!(
        drilled.drill.as_ref().map(|d| d.verdict),
        Some(DrillVerdict::Passed),
        "the scheduled drill's verdict is in the catalog"
    );
    let log = s.services.catalog.audit_log().unwrap();
    assert!(
        log.iter()
            .any(|e| e.action == "snapshot.drill" && e.actor == "scheduler" && e.result == "ok"),
        "{log:?}"
    );
    assert!(
        files_under(work.path()).is_empty(),
        "the work folder is gone"
    );

    // A damaged stored object: decryption fails, and says so.
    let bad = take();
    let path = s.services.data_dir.join(&bad.path);
    let mut sealed = std::fs::read(&path).unwrap();
    let at = sealed.len() / 2;
    sealed[at] ^= 0x40;
    std::fs::write(&path, &sealed).unwrap();
    let d = r
        .block_on(drill_snapshot(&s.services, &cfg, &bad.id, "test"))
        .unwrap();
    assert_eq!(
        (d.verdict, d.failed_check.as_deref()),
        (DrillVerdict::Failed, Some("decrypt")),
        "{d:#?}"
    );

    // A value byte flipped before the digest was taken: trailer and record agree
    // with the damage; the HashKV the member reported at save does not.
    let flip = take();
    let path = s.services.data_dir.join(&flip.path);
    let mut plain = decrypt(&std::fs::read(&path).unwrap(), &identity);
    let marker = b"DRILL-MARKER-VALUE-0123456789";
    let at = plain
        .windows(marker.len())
        .rposition(|w| w == marker)
        .expect("the marker is in the snapshot");
    plain[at + 3] ^= 0x01;
    reseal(&s, &flip.id, &path, &mut plain, &identity);
    let d = r
        .block_on(drill_snapshot(&s.services, &cfg, &flip.id, "test"))
        .unwrap();
    assert_eq!(d.verdict, DrillVerdict::Failed, "{d:#?}");
    assert_eq!(
        d.failed_check.as_deref(),
        Some("hash_kv_recorded_at_save"),
        "{d:#?}"
    );
    let engine = d
        .checks
        .iter()
        .find(|c| c.name == "hash_kv_engine")
        .unwrap();
    assert!(
        engine.ok,
        "the engine reads the same (damaged) bytes as the restore: {d:#?}"
    );

    // A damaged page header: found by the engine, the restore or the boot, and named.
    let torn = take();
    let path = s.services.data_dir.join(&torn.path);
    let mut plain = decrypt(&std::fs::read(&path).unwrap(), &identity);
    let page_size = 4096;
    for p in 2..(plain.len() - 32) / page_size {
        // page header: id (8), flags (2) at +8: make every data page's flags nonsense.
        plain[p * page_size + 8] = 0xff;
        plain[p * page_size + 9] = 0xff;
    }
    reseal(&s, &torn.id, &path, &mut plain, &identity);
    let d = r
        .block_on(drill_snapshot(&s.services, &cfg, &torn.id, "test"))
        .unwrap();
    assert_eq!(d.verdict, DrillVerdict::Failed, "{d:#?}");
    assert!(
        matches!(
            d.failed_check.as_deref(),
            Some("engine" | "restore" | "boot")
        ),
        "{d:#?}"
    );
    assert!(d.error.as_deref().is_some_and(|e| !e.is_empty()), "{d:#?}");
    assert!(
        files_under(work.path()).is_empty(),
        "cleaned after a failure too"
    );

    // A killed drill's folder: its etcd (recognised by its command line) is killed, the folder removed.
    let left = work.path().join("etcd-lens-drill-killed");
    std::fs::create_dir_all(left.join("data")).unwrap();
    let mut orphan = std::process::Command::new("sh")
        .args(["-c", "sleep 300; true", left.to_str().unwrap()])
        .spawn()
        .unwrap();
    std::fs::write(left.join("etcd.pid"), orphan.id().to_string()).unwrap();
    // Until the child has exec'd, /proc shows the test binary's command line.
    etcd_lens_testkit::wait_for("the orphan to exec", Duration::from_secs(10), || {
        let cmdline = std::fs::read(format!("/proc/{}/cmdline", orphan.id())).unwrap_or_default();
        String::from_utf8_lossy(&cmdline)
            .contains(left.to_str().unwrap())
            .then_some(())
    });
    let removed = etcd_lens_server::drill::clean_leftovers(work.path());
    assert_eq!(removed, std::slice::from_ref(&left));
    assert!(!left.exists());
    let status = orphan.wait().unwrap();
    assert!(!status.success(), "the orphan was killed: {status:?}");
}

/// Damaged plaintext made to look whole: its SHA-256 trailer recomputed,
/// re-encrypted in place, and the catalog's digest agreeing (as when a member
/// wrote bad data before the snapshot was taken).
fn reseal(s: &AppState, id: &str, path: &Path, plain: &mut [u8], identity: &age::x25519::Identity) {
    use sha2::Digest;
    let n = plain.len() - 32;
    let digest = sha2::Sha256::digest(&plain[..n]);
    plain[n..].copy_from_slice(&digest);
    std::fs::write(path, encrypt_to(plain, &identity.to_public())).unwrap();
    let mut rec = s.services.catalog.snapshot(id).unwrap().unwrap();
    rec.plaintext_sha256 = hex::encode(digest);
    s.services.catalog.put_snapshot(&rec).unwrap();
}

fn encrypt_to(plain: &[u8], to: &age::x25519::Recipient) -> Vec<u8> {
    etcd_lens_testkit::age::encrypt(
        &[to as &dyn age::Recipient],
        plain,
        etcd_lens_testkit::age::Format::Binary,
    )
}

/// A drill of an etcd 3.6.16 snapshot: restored with 3.6's etcdutl, HashKV
/// compared within the 3.6 family (the core's 3.6 rules), every check shown.
#[test]
fn a_drill_of_an_etcd_3_6_snapshot_passes() {
    use etcd_lens_server::catalog::DrillVerdict;
    use etcd_lens_server::ops::drill::drill_snapshot;
    use etcd_lens_testkit::cluster::Flavor;
    let Some(binaries) = Flavor::Etcd36.installed() else {
        return;
    };
    let bin_dir = binaries.etcd.parent().unwrap().to_path_buf();
    let c = Cluster::start(ClusterOptions {
        binaries,
        ..Default::default()
    });
    for i in 0..20 {
        c.put(
            &format!("/registry/configmaps/default/cm-{i:02}"),
            &format!("v{i}"),
        );
    }
    c.delete("/registry/configmaps/default/cm-03");
    c.compact(c.revision());
    c.put("/registry/configmaps/default/cm-04", "after the compaction");
    let identity = age::x25519::Identity::generate();
    let key = c.dir().join("drill.key");
    {
        use age::secrecy::ExposeSecret;
        std::fs::write(&key, format!("{}\n", identity.to_string().expose_secret())).unwrap();
    }
    let work = tempfile::tempdir().unwrap();
    let cfg = config_for(
        &c,
        "six",
        &format!(
            "recipients = [\"{}\"]\n[cluster.drill]\nidentity = \"{}\"\nwork_dir = \"{}\"\nbinaries = {{ \"3.6\" = \"{}\" }}\n",
            identity.to_public(),
            key.display(),
            work.path().display(),
            bin_dir.display()
        ),
    );
    let data = tempfile::tempdir().unwrap();
    let s = state(data.path(), vec![cfg.clone()]);
    let r = rt();
    let snap = r.block_on(async {
        let job = s.services.jobs.begin(&cfg, "manual", Utc::now()).unwrap();
        s.services
            .snapshot(&cfg, &job, "manual", "test")
            .await
            .unwrap()
    });
    assert!(snap.etcd_version.starts_with("3.6."), "{snap:?}");
    assert!(snap.hash_kv.is_some(), "HashKV recorded at save: {snap:?}");
    let d = r
        .block_on(drill_snapshot(&s.services, &cfg, &snap.id, "test"))
        .unwrap();
    assert_eq!(d.verdict, DrillVerdict::Passed, "{d:#?}");
    let names: Vec<&str> = d.checks.iter().map(|c| c.name.as_str()).collect();
    for want in [
        "hash_kv_recorded_at_save",
        "hash_kv_engine",
        "live_digest_at_revision",
    ] {
        assert!(names.contains(&want), "{want} in {names:?}");
    }
    let live = d
        .checks
        .iter()
        .find(|c| c.name == "live_keys_at_revision")
        .unwrap();
    assert_eq!(live.actual, "19", "{d:#?}");
    assert!(files_under(work.path()).is_empty());
}
