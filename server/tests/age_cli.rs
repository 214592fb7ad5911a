//! `etcd-lens` on wrapped snapshots: a snapshot from a real etcd, encrypted with
//! the `age` crate (passphrase, X25519, armored) and compressed (gzip, and zstd
//! when the `zstd` tool is installed), must give the same `status --json`, `ls`
//! and `check` answers as the plain file; wrong or missing secrets fail clearly.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use age::secrecy::ExposeSecret;
use etcd_lens_testkit::age::{Format, encrypt, passphrase};
use etcd_lens_testkit::cli::Lens;
use etcd_lens_testkit::etcd::Etcd;

const LENS: Lens = Lens(env!("CARGO_BIN_EXE_etcd-lens"));

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn encrypted_and_compressed_snapshots_read_like_the_plain_one() {
    let etcd = Etcd::start();
    for i in 0..200 {
        etcd.put(
            &format!("/registry/configmaps/default/cm-{i:03}"),
            &"v".repeat(i * 10),
        );
    }
    etcd.put("big", &"x".repeat(100_000)); // overflow pages across age chunks
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("snap.db");
    etcd.snapshot(&plain);
    let db = std::fs::read(&plain).unwrap();
    let p = plain.to_str().unwrap();
    let (want_status, _) = LENS.ok_env(&["status", "--json", p], &[]);
    let (want_ls, _) = LENS.ok_env(&["ls", p], &[]);

    // Passphrase (scrypt 2^10 to keep the test fast), from a file and from the environment.
    let r = passphrase("s3cret pass");
    let enc = write(
        dir.path(),
        "snap.db.age",
        &encrypt(&[&r], &db, Format::Binary),
    );
    let e = enc.to_str().unwrap();
    let pf = write(dir.path(), "pass.txt", b"s3cret pass\n");
    let pf = pf.to_str().unwrap();
    let (got, stderr) = LENS.ok_env(&["status", "--json", "--passphrase-file", pf, e], &[]);
    assert_eq!(got, want_status);
    assert!(
        !stderr.contains("temporary file"),
        "age is read without a spool: {stderr}"
    );
    let (got, _) = LENS.ok_env(&["ls", e], &[("ETCD_LENS_PASSPHRASE", "s3cret pass")]);
    assert_eq!(got, want_ls);
    let (got, _) = LENS.ok_env(&["check", e], &[("ETCD_LENS_PASSPHRASE", "s3cret pass")]);
    assert!(got.trim_end().ends_with("ok"), "{got}");
    let (got, _) = LENS.ok_env(
        &["get", "--json", e, "/registry/configmaps/default/cm-007"],
        &[("ETCD_LENS_PASSPHRASE", "s3cret pass")],
    );
    assert!(got.contains(
        "\"value\":\"vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv\""
    ));

    // Wrong and missing passphrases say what is wrong.
    let o = LENS.run_env(&["status", e], &[("ETCD_LENS_PASSPHRASE", "nope")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("wrong passphrase"));
    let o = LENS.run_env(&["status", e], &[]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("--passphrase-file"));

    // X25519 identity in a key file with comments; armored too.
    let id = age::x25519::Identity::generate();
    let keyfile = format!(
        "# created: now\n# public key: {}\n{}\n",
        id.to_public(),
        id.to_string().expose_secret()
    );
    let kf = write(dir.path(), "key.txt", keyfile.as_bytes());
    let kf = kf.to_str().unwrap();
    let x = write(
        dir.path(),
        "x.age",
        &encrypt(&[&id.to_public()], &db, Format::Binary),
    );
    let (got, _) = LENS.ok_env(
        &["status", "--json", "--identity", kf, x.to_str().unwrap()],
        &[],
    );
    assert_eq!(got, want_status);
    let o = LENS.run_env(&["status", x.to_str().unwrap()], &[]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("X25519"));
    let armored = write(
        dir.path(),
        "x.age.asc",
        &encrypt(&[&id.to_public()], &db, Format::AsciiArmor),
    );
    let (got, stderr) = LENS.ok_env(
        &[
            "status",
            "--json",
            "--identity",
            kf,
            armored.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(got, want_status);
    assert!(
        stderr.contains("ASCII-armored") && stderr.contains("0600"),
        "{stderr}"
    );

    // A tampered chunk: a clear error naming the chunk, never a wrong answer.
    let mut bad = std::fs::read(&x).unwrap();
    let n = bad.len();
    bad[n - 70_000] ^= 0x40;
    let bad = write(dir.path(), "bad.age", &bad);
    let o = LENS.run_env(&["check", "--identity", kf, bad.to_str().unwrap()], &[]);
    assert_ne!(o.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&o.stderr);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stderr.contains("failed authentication") || stdout.contains("failed authentication"),
        "{stderr}{stdout}"
    );

    // gzip, from stdin too.
    let mut gz = gzip_tool(&db);
    let gzp = write(dir.path(), "snap.db.gz", &gz);
    let (got, stderr) = LENS.ok_env(&["status", "--json", gzp.to_str().unwrap()], &[]);
    assert_eq!(got, want_status);
    assert!(
        stderr.contains("gzip-compressed") && stderr.contains("deleted on exit"),
        "{stderr}"
    );
    let o = Command::new(env!("CARGO_BIN_EXE_etcd-lens"))
        .args(["status", "--json", "-"])
        .stdin(std::fs::File::open(&gzp).unwrap())
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout), want_status);
    // A decompression limit below the snapshot's size refuses it.
    let o = LENS.run_env(
        &[
            "status",
            "--max-decompressed-gib",
            "0",
            gzp.to_str().unwrap(),
        ],
        &[],
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("limit"));
    gz.truncate(gz.len() / 2);
    let cut = write(dir.path(), "cut.gz", &gz);
    let o = LENS.run_env(&["status", cut.to_str().unwrap()], &[]);
    assert_eq!(o.status.code(), Some(2));

    // talos-backup style: the zstd tool, then age with a passphrase.
    if Command::new("zstd").arg("--version").output().is_ok() {
        let st = Command::new("zstd")
            .args(["-q", "-f", p, "-o"])
            .arg(dir.path().join("snap.db.zst"))
            .status()
            .unwrap();
        assert!(st.success());
        let zst = std::fs::read(dir.path().join("snap.db.zst")).unwrap();
        let chain = write(
            dir.path(),
            "snap.db.zst.age",
            &encrypt(&[&r], &zst, Format::Binary),
        );
        let (got, stderr) = LENS.ok_env(
            &["status", "--json", chain.to_str().unwrap()],
            &[("ETCD_LENS_PASSPHRASE", "s3cret pass")],
        );
        assert_eq!(got, want_status);
        assert!(stderr.contains("zstd-compressed"), "{stderr}");
    } else {
        etcd_lens_testkit::oracle_missing("the zstd command");
    }
}

/// gzip as the `gzip` tool writes it (a real-world producer, not our own encoder).
fn gzip_tool(data: &[u8]) -> Vec<u8> {
    let out = Command::new("gzip")
        .arg("-c")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(data)?;
            c.wait_with_output()
        })
        .expect("gzip is installed");
    assert!(out.status.success());
    out.stdout
}
