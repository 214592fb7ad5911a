//! `hash_kv` and `live_digest` against real members: Debian's etcd 3.4.23,
//! etcd 3.5.1, 3.6.16 and 3.7.3. One member per release takes puts, overwrites, a
//! multi-key transaction, deletes, a key deleted at the compact revision, a
//! compaction, a delete of every key and a compaction at the current
//! revision; after each phase a snapshot is saved and, at every revision
//! from 0 to one past the current one, `etcdctl endpoint hashkv --rev R` and
//! `etcdctl get "" --prefix --rev R` on the live member are compared with
//! the core's reading of the snapshot file — answers and errors alike.
//!
//! 3.6+ caches the hash each compaction computes and answers it at the
//! compact revision; the core models a member booted from the file, which
//! has no such cache. So after each compaction a 3.6/3.7 member is first
//! seen answering from its cache (the previous compact revision in the
//! answer), then restarted (the cache is in memory) and compared.

use std::path::Path;

use base64::Engine;
use etcd_lens_core::MemSource;
use etcd_lens_core::mvcc::{HashFamily, HashKv, LiveDigest, hash_kv, live_digest};
use etcd_lens_core::snapshot::{Snapshot, SnapshotError};
use etcd_lens_testkit::cluster::{Cluster, ClusterOptions, Flavor};
use sha2::{Digest, Sha256};

/// What the live member said, or which error it gave.
#[derive(Debug, PartialEq, Eq)]
enum Answer<T> {
    Ok(T),
    Compacted,
    Future,
}

fn classify(stderr: &str) -> Answer<()> {
    if stderr.contains("required revision has been compacted") {
        Answer::Compacted
    } else if stderr.contains("required revision is a future revision") {
        Answer::Future
    } else {
        panic!("unexpected etcdctl error: {stderr}")
    }
}

fn live_hashkv(c: &Cluster, rev: i64) -> Answer<HashKv> {
    let out = c.ctl_output(&[
        "endpoint",
        "hashkv",
        "--rev",
        &rev.to_string(),
        "-w",
        "json",
    ]);
    if !out.status.success() {
        return match classify(&String::from_utf8_lossy(&out.stderr)) {
            Answer::Compacted => Answer::Compacted,
            _ => Answer::Future,
        };
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let h = &v[0]["HashKV"];
    Answer::Ok(HashKv {
        hash: u32::try_from(h["hash"].as_u64().unwrap()).unwrap(),
        // etcdctl's JSON omits zero values (compact_revision 0 never occurs: −1 or > 1).
        compact_revision: h["compact_revision"].as_i64().unwrap_or(0),
        revision: h["header"]["revision"].as_i64().unwrap(),
    })
}

/// The digest layout written out by hand from etcdctl's JSON: u32 BE key
/// length, key, i64 BE mod_revision, u32 BE value length, value.
fn live_get_digest(c: &Cluster, rev: i64) -> Answer<LiveDigest> {
    let out = c.ctl_output(&[
        "get",
        "",
        "--prefix",
        "--rev",
        &rev.to_string(),
        "-w",
        "json",
    ]);
    if !out.status.success() {
        return match classify(&String::from_utf8_lossy(&out.stderr)) {
            Answer::Compacted => Answer::Compacted,
            _ => Answer::Future,
        };
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let b64 = |s: &serde_json::Value| {
        base64::engine::general_purpose::STANDARD
            .decode(s.as_str().unwrap_or(""))
            .unwrap()
    };
    let mut sha = Sha256::new();
    let kvs = v["kvs"].as_array().cloned().unwrap_or_default();
    for kv in &kvs {
        let key = b64(&kv["key"]);
        let value = b64(&kv["value"]);
        sha.update(u32::try_from(key.len()).unwrap().to_be_bytes());
        sha.update(&key);
        sha.update(kv["mod_revision"].as_i64().unwrap().to_be_bytes());
        sha.update(u32::try_from(value.len()).unwrap().to_be_bytes());
        sha.update(&value);
    }
    Answer::Ok(LiveDigest {
        keys: kvs.len() as u64,
        sha256: sha.finalize().into(),
    })
}

fn core<T>(r: Result<T, SnapshotError>) -> Answer<T> {
    match r {
        Ok(v) => Answer::Ok(v),
        Err(SnapshotError::Compacted { .. }) => Answer::Compacted,
        Err(SnapshotError::FutureRevision { .. }) => Answer::Future,
        Err(e) => panic!("core error: {e}"),
    }
}

/// Save a snapshot and compare at every revision 0..=current+1.
fn compare_all(c: &Cluster, family: HashFamily, phase: &str) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snap.db");
    c.snapshot(&path);
    let bytes = std::fs::read(&path).unwrap();
    let snap = Snapshot::open(MemSource(bytes)).unwrap();
    let current = c.revision();
    let mut answered = 0;
    for rev in 0..=current + 1 {
        let theirs = live_hashkv(c, rev);
        let ours = core(hash_kv(&snap, rev, family));
        assert_eq!(ours, theirs, "{phase}: HashKV at {rev}");
        let theirs = live_get_digest(c, rev);
        let ours = core(live_digest(&snap, rev));
        assert_eq!(ours, theirs, "{phase}: live digest at {rev}");
        if matches!(ours, Answer::Ok(_)) {
            answered += 1;
        }
    }
    answered
}

fn run(flavor: Flavor, family: HashFamily) {
    let binaries = flavor.binaries();
    if !binaries.installed() {
        etcd_lens_testkit::oracle_missing(&format!("{}", binaries.etcd.display()));
        return;
    }
    let c = Cluster::start(ClusterOptions {
        members: 1,
        binaries,
        ..Default::default()
    });
    // Phase 1: history without compaction.
    c.put("a", "v1");
    c.put("b", "v1");
    c.put("c", "v1");
    c.put("a", "v2");
    c.delete("b");
    // One transaction, two sub-revisions.
    c.put_many(&[("d".into(), "v1".into()), ("e".into(), "v1".into())]);
    c.put("b", "v2");
    // Enough keys (and overwrites) for a key bucket of several pages.
    let many: Vec<(String, String)> = (0..300)
        .map(|i| (format!("/k/{i:03}"), format!("v0-{}", "x".repeat(60))))
        .collect();
    c.put_many(&many);
    c.put_many(&many[..150]);
    c.delete("c");
    let deleted_at = c.revision();
    c.put("a", "v3");
    c.delete("d");
    c.put("f", "v1");
    c.put_bytes("bin", b"\x00\xffline\nend");
    assert!(compare_all(&c, family, "no compaction") > 10);

    // Phase 2: compacted at the revision of a delete; then every key deleted
    // (HashKV's keep set is empty there), then one put.
    c.compact(deleted_at);
    forget_compaction_hash(&c, family, deleted_at, -1);
    c.ctl(&["del", "", "--prefix"]);
    c.put("g", "v1");
    assert!(compare_all(&c, family, "compacted at a tombstone") >= 3);

    // Phase 3: compacted at the current revision.
    let at = c.revision();
    c.compact(at);
    forget_compaction_hash(&c, family, at, deleted_at);
    compare_all(&c, family, "compacted at the current revision");
}

/// For 3.6+: the member that ran the compaction at `at` answers HashKV(at)
/// from its cache, with the previous compact revision; restart it so that
/// it answers as a member booted from the snapshot does.
fn forget_compaction_hash(c: &Cluster, family: HashFamily, at: i64, previous: i64) {
    if matches!(family, HashFamily::V34 | HashFamily::V35) {
        return;
    }
    match live_hashkv(c, at) {
        Answer::Ok(h) => assert_eq!(h.compact_revision, previous, "cached hash at {at}"),
        other => panic!("HashKV at the compact revision {at}: {other:?}"),
    }
    c.stop_gracefully(0);
    c.restart(0);
    c.wait_healthy();
    match live_hashkv(c, at) {
        Answer::Ok(h) => assert_eq!(h.compact_revision, at, "HashKV at {at} after a restart"),
        other => panic!("HashKV at the compact revision {at}: {other:?}"),
    }
}

#[test]
fn hashkv_and_digest_match_etcd_3_4_23() {
    if !Path::new(etcd_lens_testkit::etcd::DEBIAN_ETCD).exists() {
        etcd_lens_testkit::oracle_missing("Debian's etcd (etcd-server, etcd-client)");
        return;
    }
    run(Flavor::Debian34, HashFamily::for_version("3.4.23").unwrap());
}

#[test]
fn hashkv_and_digest_match_etcd_3_5_1() {
    run(Flavor::Etcd35, HashFamily::for_version("3.5.1").unwrap());
}

#[test]
fn hashkv_and_digest_match_etcd_3_6_16() {
    run(Flavor::Etcd36, HashFamily::for_version("3.6.16").unwrap());
}

#[test]
fn hashkv_and_digest_match_etcd_3_7_3() {
    run(Flavor::Etcd37, HashFamily::for_version("3.7.3").unwrap());
}
