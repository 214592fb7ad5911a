//! Compression (issue #17) on a real etcd: a snapshot through the server with
//! `compression = "zstd"` is stored as `….db.zst.age` (zstd's seekable format,
//! then age); decrypted and decompressed it is byte for byte what
//! `etcdctl snapshot save` writes at the same revision; the CLI reads it with
//! the same status numbers as the plain file, without spooling; the core
//! opens it at random, decompressing only the frames a read touches.

use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use etcd_lens_core::ReadAt;
use etcd_lens_core::age::{AgeSource, Secret};
use etcd_lens_core::container::{Peeler, SeekableZstd, Step};
use etcd_lens_server::snapshot::Compression;
use etcd_lens_server::snapshot::file::FileSource;
use etcd_lens_testkit::cluster::{Cluster, ClusterOptions};

use crate::{CANARY, config_for, contains, decrypt, json, lens, rt, state};

#[test]
fn zstd_snapshots_decompress_to_what_etcdctl_saves_and_open_at_random() {
    let c = Cluster::start(ClusterOptions::default());
    // A few MiB of Kubernetes-like values: several frames, something to compress.
    let pairs: Vec<(String, String)> = (0..4000)
        .map(|i| {
            (
                format!("/registry/configmaps/team-{}/settings-{i:05}", i % 17),
                format!(
                    "{{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{{\"name\":\"settings-{i:05}\",\"uid\":\"{:016x}\"}},\"data\":{{\"replicas\":\"{}\",\"pad\":\"{}\"}}}}",
                    (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
                    i % 7,
                    "x".repeat(400 + i % 300)
                ),
            )
        })
        .collect();
    c.put_many(&pairs);
    c.put("/canary", CANARY);
    let identity = age::x25519::Identity::generate();
    let key = c.dir().join("zst.key");
    {
        use age::secrecy::ExposeSecret;
        std::fs::write(&key, format!("{}\n", identity.to_string().expose_secret())).unwrap();
    }
    let work = tempfile::tempdir().unwrap();
    let cfg = config_for(
        &c,
        "zst",
        &format!(
            "recipients = [\"{}\"]\ncompression = \"zstd\"\n[cluster.drill]\nidentity = \"{}\"\nwork_dir = \"{}\"\nbinaries = {{ \"3.4\" = \"/usr/bin\" }}\n",
            identity.to_public(),
            key.display(),
            work.path().display()
        ),
    );
    assert_eq!(cfg.compression, Compression::Zstd { level: 3 });
    let data = tempfile::tempdir().unwrap();
    let s = state(data.path(), vec![cfg.clone()]);
    let record = rt().block_on(async {
        let (st, v) = json(&s, Method::POST, "/api/v1/clusters/zst/snapshots").await;
        assert_eq!(st, StatusCode::ACCEPTED, "{v}");
        let id = v["id"].as_str().unwrap().to_string();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let (_, v) = json(&s, Method::GET, &format!("/api/v1/snapshots/{id}")).await;
            match v["status"].as_str() {
                Some("running") => {}
                Some("done") => break v,
                other => panic!("snapshot {other:?}: {v}"),
            }
            assert!(Instant::now() < deadline, "snapshot still running: {v}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    // Right after, no writes between: etcdctl's file of the same revision.
    let out = tempfile::tempdir().unwrap();
    let saved = out.path().join("etcdctl.db");
    c.snapshot(&saved);
    let etcdctl = std::fs::read(&saved).unwrap();

    let path = record["path"].as_str().unwrap();
    assert!(path.ends_with(".db.zst.age"), "{path}");
    let stored = s.services.data_dir.join(path);
    let sealed = std::fs::read(&stored).unwrap();
    assert_eq!(
        sealed.len() as u64,
        record["stored_bytes"].as_u64().unwrap()
    );
    assert!(!contains(&sealed, CANARY.as_bytes()), "plaintext on disk");
    let zst = decrypt(&sealed, &identity);
    let comp = &record["compression"];
    assert_eq!(comp["format"], "zstd-seekable", "{record}");
    assert_eq!(comp["level"], 3);
    assert_eq!(comp["compressed_bytes"].as_u64().unwrap(), zst.len() as u64);
    let plain = zstd::decode_all(&zst[..]).expect("a zstd stream");
    assert_eq!(
        comp["uncompressed_bytes"].as_u64().unwrap(),
        plain.len() as u64
    );
    let ratio = comp["ratio"].as_f64().unwrap();
    assert!(
        (ratio - plain.len() as f64 / zst.len() as f64).abs() < 1e-9,
        "{record}"
    );
    assert!(ratio > 2.0, "{record}");
    eprintln!(
        "compression: {} bytes → {} bytes zstd ({} frames), ratio {ratio:.2}; {} bytes stored",
        plain.len(),
        zst.len(),
        comp["frames"],
        sealed.len()
    );
    assert_eq!(
        comp["frames"].as_u64().unwrap(),
        plain.len().div_ceil(1 << 20) as u64
    );
    assert_eq!(
        record["revision"].as_i64().unwrap(),
        c.revision(),
        "no write between the two snapshots"
    );
    assert!(
        plain == etcdctl,
        "decompressed ({} bytes) differs from etcdctl snapshot save ({} bytes)",
        plain.len(),
        etcdctl.len()
    );
    {
        use sha2::Digest;
        let (db, trailer) = plain.split_at(plain.len() - 32);
        assert_eq!(sha2::Sha256::digest(db).as_slice(), trailer);
        assert_eq!(hex::encode(trailer), record["plaintext_sha256"]);
        assert_eq!(record["db_size_bytes"].as_u64().unwrap(), db.len() as u64);
    }
    let oracle = c.snapshot_status(&saved);
    assert_eq!(record["revision"], oracle["revision"], "{oracle}");
    assert_eq!(record["total_keys"], oracle["totalKey"], "{oracle}");
    assert_eq!(record["status_hash"], oracle["hash"], "{oracle}");

    // The CLI: the same numbers as for etcdctl's file, read at random (no spool).
    let stored_arg = stored.to_str().unwrap();
    let key_arg = key.to_str().unwrap();
    let zst_status = lens(&["status", "--json", stored_arg, "--identity", key_arg]);
    assert!(zst_status.status.success(), "{zst_status:?}");
    let stderr = String::from_utf8_lossy(&zst_status.stderr);
    assert!(!stderr.contains("temporary file"), "it spooled: {stderr}");
    let plain_status = lens(&["status", "--json", saved.to_str().unwrap()]);
    assert!(plain_status.status.success(), "{plain_status:?}");
    assert_eq!(
        String::from_utf8_lossy(&zst_status.stdout),
        String::from_utf8_lossy(&plain_status.stdout)
    );

    // The core, as the CLI and the page peel it: age, then the seek table.
    let file = FileSource::new(std::fs::File::open(&stored).unwrap()).unwrap();
    let mut peeler = Peeler::default();
    let Step::NeedSecret(_) = peeler.next(&file).unwrap() else {
        panic!("not age");
    };
    let secret = Secret::Identity {
        file: std::fs::read(&key).unwrap(),
        ssh_key_passphrase: None,
    };
    let dec = AgeSource::open(&file, &secret).unwrap();
    let Step::Seekable(table) = peeler.next(&dec).unwrap() else {
        panic!("the core does not open it seekable");
    };
    let frames = table.frames().len();
    assert!(frames >= 3, "{frames} frames");
    let z = SeekableZstd::with_table(&dec, table);
    assert_eq!(z.len(), etcdctl.len() as u64);
    assert_eq!(peeler.next(&z).unwrap(), Step::Open, "bbolt inside");
    // The header and the trailer: the first and the last frame only.
    let header = etcd_lens_core::inspect::open(&z).unwrap();
    assert!(header.warnings.is_empty(), "{header:?}");
    assert_eq!(
        z.read_vec(z.len() - 32, 32).unwrap(),
        &etcdctl[etcdctl.len() - 32..]
    );
    assert!(
        z.frames_decompressed() <= 2,
        "{} of {frames} frames decompressed",
        z.frames_decompressed()
    );
    // A read in the middle decompresses its own frame, and the bytes are etcdctl's.
    let mid = z.len() / 2;
    assert_eq!(
        z.read_vec(mid, 8192).unwrap(),
        &etcdctl[mid as usize..][..8192]
    );
    assert!(z.frames_decompressed() <= 4);

    // The stored file's other readers: a drill decompresses it while it
    // decrypts, the key search and the scorecard's census read it at random.
    let d = rt()
        .block_on(etcd_lens_server::ops::drill::drill_snapshot(
            &s.services,
            &cfg,
            record["id"].as_str().unwrap(),
            "test",
        ))
        .unwrap();
    assert_eq!(
        d.verdict,
        etcd_lens_server::catalog::DrillVerdict::Passed,
        "{d:#?}"
    );
    let (st, found) = rt().block_on(json(
        &s,
        Method::GET,
        "/api/v1/clusters/zst/holding?key=/canary",
    ));
    assert_eq!(st, StatusCode::OK, "{found}");
    assert_eq!(found["holding"], record["id"], "{found}");
    let (_, card) = rt().block_on(json(&s, Method::GET, "/api/v1/clusters/zst/scorecard"));
    let census = card["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "secrets-encrypted")
        .unwrap();
    assert_eq!(census["status"], "pass", "{census}");
    assert!(
        census["evidence"]
            .as_str()
            .unwrap()
            .starts_with("no Secrets in the newest snapshot"),
        "{census}"
    );
}
