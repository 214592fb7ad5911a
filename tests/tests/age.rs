//! Scenario: an auditor opens an age-encrypted snapshot in the page, with a
//! passphrase, an X25519 identity or an SSH key, and sees the same overview as
//! for the plain file; wrong secrets and tampered files give clear errors.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;

use etcd_lens_e2e::browser::{Browser, Turn};
use etcd_lens_e2e::etcd::Etcd;
use etcd_lens_e2e::server::Server;
use etcd_lens_testkit::age::{Format, encrypt, passphrase};

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn age_encrypted_snapshots_open_with_each_kind_of_secret() {
    let _turn = Turn::take();
    let etcd = Etcd::start();
    for i in 0..30 {
        etcd.put(
            &format!("/registry/configmaps/default/cm-{i}"),
            &"v".repeat(3000),
        );
    }
    let dir = etcd.dir().to_path_buf();
    let plain = dir.join("plain.db");
    etcd.snapshot(&plain);
    let db = std::fs::read(&plain).unwrap();
    let status: serde_json::Value = etcd.snapshot_status(&plain);
    let hash = status["hash"].to_string();

    // Passphrase (scrypt work factor 2^10 keeps the test quick).
    let r = passphrase("correct horse");
    let by_pass = write(&dir, "snap.db.age", &encrypt(&[&r], &db, Format::Binary));
    // X25519 identity.
    let id = age::x25519::Identity::generate();
    let by_x25519 = write(
        &dir,
        "x.db.age",
        &encrypt(&[&id.to_public()], &db, Format::Binary),
    );
    let id_file = format!(
        "# created for a test\n# public key: {}\n{}\n",
        id.to_public(),
        age::secrecy::ExposeSecret::expose_secret(&id.to_string())
    );
    // SSH ed25519 key made by ssh-keygen.
    let key = dir.join("id_ed25519");
    let ok = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(ok.success());
    let pubkey = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    let ssh_recipient = age::ssh::Recipient::from_str(pubkey.trim()).unwrap();
    let by_ssh = write(
        &dir,
        "ssh.db.age",
        &encrypt(&[&ssh_recipient], &db, Format::Binary),
    );
    let ssh_key = std::fs::read_to_string(&key).unwrap();

    let server = Server::start().await;
    let b = Browser::start().await;
    b.goto(&server.url).await;

    // Wrong passphrase first: a clear error, and the form stays for another try.
    b.pick_file(&by_pass).await;
    b.wait_text("unlock", |t| t.contains("passphrase")).await;
    b.type_into("age-passphrase", "wrong horse").await;
    b.click("age-unlock").await;
    let err = b.wait_text("unlock-error", |t| !t.is_empty()).await;
    assert!(
        err.to_lowercase().contains("passphrase") || err.contains("No matching keys"),
        "{err}"
    );
    b.type_into("age-passphrase", "correct horse").await;
    b.click("age-unlock").await;
    assert_eq!(b.text("status-hash").await, hash);
    assert!(b.text("layers").await.contains("passphrase"));
    b.wait_attr("trailer-status", "data-state", |s| s == "verified")
        .await;

    // Cancel while the form waits: the form goes with the file.
    b.pick_file(&by_pass).await;
    b.wait_text("unlock", |t| t.contains("passphrase")).await;
    let waiting = b.text("busy").await;
    assert!(
        waiting.contains("Waiting for the passphrase"),
        "the page says what it needs, not that it is working: {waiting}"
    );
    b.click("cancel").await;
    b.wait_text("error", |t| t.starts_with("Cancelled")).await;
    b.wait_gone("unlock", "the unlock form closed with the file")
        .await;

    // ASCII-armored: the armor is decoded into private storage, like compression.
    let armored = encrypt(&[&id.to_public()], &db, Format::AsciiArmor);
    let by_armor = write(&dir, "armored.db.age", &armored);
    b.pick_file(&by_armor).await;
    b.wait_text("unlock", |_| true).await;
    b.type_into("age-identity", &id_file).await;
    b.click("age-unlock").await;
    assert_eq!(b.text("status-hash").await, hash, "armored");
    let layers = b.text("layers").await;
    assert!(
        layers.contains("age ASCII armor (decoded to the browser's private storage"),
        "{layers}"
    );
    b.wait_attr("trailer-status", "data-state", |s| s == "verified")
        .await;

    // The X25519 identity chosen as a file; the SSH key pasted, then hidden.
    let id_path = write(&dir, "identity.txt", id_file.as_bytes());
    b.pick_file(&by_x25519).await;
    b.wait_text("unlock", |_| true).await;
    b.find("age-identity-file")
        .await
        .send_keys(id_path.to_str().unwrap())
        .await
        .unwrap();
    b.wait_text("age-identity-loaded", |t| t.contains("identity.txt"))
        .await;
    b.click("age-unlock").await;
    assert_eq!(b.text("status-hash").await, hash, "X25519 from a file");
    assert!(b.text("layers").await.contains("X25519"));
    b.wait_attr("trailer-status", "data-state", |s| s == "verified")
        .await;

    for (file, secret, how) in [(&by_ssh, ssh_key.as_str(), "SSH")] {
        b.pick_file(file).await;
        b.wait_text("unlock", |_| true).await;
        b.type_into("age-identity", secret).await;
        b.wait_attr("age-identity", "class", |c| c.contains("entered"))
            .await;
        b.click("age-unlock").await;
        assert_eq!(b.text("status-hash").await, hash, "{how}");
        assert!(b.text("layers").await.contains(how), "{how}");
        b.wait_attr("trailer-status", "data-state", |s| s == "verified")
            .await;
    }

    // A tampered chunk in the middle: the page names what failed, nothing is shown as data.
    let mut bad = std::fs::read(&by_x25519).unwrap();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x40;
    let bad = write(&dir, "tampered.db.age", &bad);
    b.pick_file(&bad).await;
    b.wait_text("unlock", |_| true).await;
    b.type_into("age-identity", &id_file).await;
    b.click("age-unlock").await;
    let err = b.wait_text("error", |t| !t.is_empty()).await;
    assert!(err.contains("chunk"), "{err}");
    // Said plainly: the file cannot be trusted; the form is gone; the trailer
    // line does not pretend a check is still to come.
    let untrusted = b.text("untrusted").await;
    assert!(untrusted.contains("cannot be trusted"), "{untrusted}");
    b.wait_gone("unlock", "the unlock form is gone after the failure")
        .await;
    let trailer = b.wait_attr("trailer-status", "data-state", |_| true).await;
    assert_ne!(trailer, "pending", "{}", b.text("trailer-status").await);
    b.assert_no_csp_violations("age files").await;
}
