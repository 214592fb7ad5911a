//! age-encrypted files: passphrases, X25519 identity files, SSH keys, ASCII
//! armor, several recipients, read at random; and what a user meets when the
//! secret is wrong or the file is tampered with or cut short.

use std::process::Command;
use std::str::FromStr;

use age::secrecy::ExposeSecret;
use etcd_lens_core::age::{
    self as lens_age, AgeError, AgeFormat, AgeSource, CHUNK_BYTES, SEALED_CHUNK_BYTES, Secret,
    SecretNeeded,
};
use etcd_lens_core::container::{self, Layer};
use etcd_lens_core::{MemSource, ReadAt};
use etcd_lens_testkit::age::{Format, encrypt};

use crate::{assert_reads_match, encrypt_passphrase, ident, pass, plaintext};

#[test]
fn passphrase_round_trip_with_random_reads() {
    for len in [
        0,
        1,
        300_000,
        3 * CHUNK_BYTES as usize,
        3 * CHUNK_BYTES as usize + 1,
    ] {
        let data = plaintext(len);
        let file = encrypt_passphrase("correct horse", &data);
        let src = MemSource(file.as_slice());
        assert_eq!(
            lens_age::secret_needed(&src).unwrap(),
            SecretNeeded::Passphrase
        );
        let dec = AgeSource::open(&src, &pass("correct horse")).unwrap();
        assert_reads_match(&dec, &data);
    }
}

#[test]
fn plaintext_length_comes_from_the_ciphertext_length() {
    let data = plaintext(200_000);
    let file = encrypt_passphrase("p", &data);
    let src = MemSource(file.as_slice());
    let h = lens_age::read_header(&src).unwrap();
    let sealed = file.len() as u64 - h.payload_offset();
    assert_eq!(lens_age::plaintext_len(sealed).unwrap(), 200_000);
    // 200000 = 3 full chunks + 3392: 4 tags.
    assert_eq!(sealed, 200_000 + 4 * 16);
}

#[test]
fn wrong_passphrase_is_named() {
    let file = encrypt_passphrase("right", &plaintext(1000));
    let err = AgeSource::open(MemSource(file.as_slice()), &pass("wrong")).unwrap_err();
    assert_eq!(err, AgeError::WrongPassphrase);
    assert_eq!(err.to_string(), "wrong passphrase");
    let err = AgeSource::open(MemSource(file.as_slice()), &ident("# nothing\n")).unwrap_err();
    assert_eq!(err, AgeError::NeedsPassphrase);
}

#[test]
fn x25519_identity_files_with_comments_and_several_keys() {
    let id = age::x25519::Identity::generate();
    let other = age::x25519::Identity::generate();
    let data = plaintext(150_000);
    let file = encrypt(&[&id.to_public()], &data, Format::Binary);
    let src = MemSource(file.as_slice());
    assert_eq!(
        lens_age::secret_needed(&src).unwrap(),
        SecretNeeded::Identity {
            recipient_types: vec!["X25519".into()]
        }
    );
    assert!(lens_age::secret_needed(&src).unwrap().accepts_x25519());

    // Pasted alone.
    let key = id.to_string().expose_secret().to_owned();
    assert_reads_match(&AgeSource::open(&src, &ident(&key)).unwrap(), &data);
    // A key file as age-keygen writes it, with a second (non-matching) key first.
    let keyfile = format!(
        "# created: 2026-11-27T10:00:00Z\n# public key: {}\n{}\n\n# created: later\n# public key: {}\n{key}\n",
        other.to_public(),
        other.to_string().expose_secret(),
        id.to_public()
    );
    assert_reads_match(&AgeSource::open(&src, &ident(&keyfile)).unwrap(), &data);

    // Only the other key: no match, and the error says what the file wants.
    let err = AgeSource::open(&src, &ident(other.to_string().expose_secret())).unwrap_err();
    assert_eq!(
        err,
        AgeError::NoMatchingIdentity {
            types: "X25519".into()
        }
    );
    assert_eq!(
        AgeSource::open(&src, &pass("x")).unwrap_err(),
        AgeError::NeedsIdentity {
            types: "X25519".into()
        }
    );
    // A bad line is named by number, never echoed (it may be a secret).
    let err = AgeSource::open(&src, &ident("# c\nAGE-SECRET-KEY-1NOTAKEY\n")).unwrap_err();
    assert_eq!(err, AgeError::BadIdentityLine { line: 2 });
    assert!(!err.to_string().contains("NOTAKEY"));
    assert_eq!(
        AgeSource::open(&src, &ident("# only comments\n\n")).unwrap_err(),
        AgeError::NoIdentity
    );
}

/// An ed25519 key from `ssh-keygen` when installed, else `None` (the test says so).
fn ssh_keygen(dir: &std::path::Path, name: &str, key_pass: &str) -> Option<(String, String)> {
    let path = dir.join(name);
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-C", "test", "-N", key_pass, "-f"])
        .arg(&path)
        .output()
        .ok()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let private = std::fs::read_to_string(&path).unwrap();
    let public = std::fs::read_to_string(path.with_extension("pub")).unwrap();
    Some((private, public))
}

#[test]
fn ssh_ed25519_keys_plain_and_passphrase_protected() {
    let dir = tempfile::tempdir().unwrap();
    let Some((private, public)) = ssh_keygen(dir.path(), "id_plain", "") else {
        etcd_lens_testkit::oracle_missing("ssh-keygen (openssh-client)");
        return;
    };
    let (locked, locked_pub) = ssh_keygen(dir.path(), "id_locked", "key pass").unwrap();
    let data = plaintext(70_000);

    let r = age::ssh::Recipient::from_str(public.trim()).unwrap();
    let file = encrypt(&[&r], &data, Format::Binary);
    let src = MemSource(file.as_slice());
    let needed = lens_age::secret_needed(&src).unwrap();
    assert!(needed.accepts_ssh() && !needed.accepts_x25519());
    assert_reads_match(&AgeSource::open(&src, &ident(&private)).unwrap(), &data);
    // The other key does not match.
    let other = Secret::Identity {
        file: locked.clone().into_bytes(),
        ssh_key_passphrase: Some("key pass".into()),
    };
    assert!(matches!(
        AgeSource::open(&src, &other).unwrap_err(),
        AgeError::NoMatchingIdentity { .. }
    ));

    let r = age::ssh::Recipient::from_str(locked_pub.trim()).unwrap();
    let file = encrypt(&[&r], &data, Format::Binary);
    let src = MemSource(file.as_slice());
    assert_eq!(
        AgeSource::open(&src, &ident(&locked)).unwrap_err(),
        AgeError::SshKeyNeedsPassphrase
    );
    let wrong = Secret::Identity {
        file: locked.clone().into_bytes(),
        ssh_key_passphrase: Some("nope".into()),
    };
    assert_eq!(
        AgeSource::open(&src, &wrong).unwrap_err(),
        AgeError::WrongSshKeyPassphrase
    );
    assert_reads_match(&AgeSource::open(&src, &other).unwrap(), &data);
    // Not a key at all.
    assert_eq!(
        AgeSource::open(
            &src,
            &ident("-----BEGIN OPENSSH PRIVATE KEY-----\ngarbage\n")
        )
        .unwrap_err(),
        AgeError::BadSshKey
    );
}

#[test]
fn a_tampered_chunk_names_its_index_and_offset_and_the_rest_still_reads() {
    let data = plaintext(5 * CHUNK_BYTES as usize + 123);
    let mut file = encrypt_passphrase("p", &data);
    let h = lens_age::read_header(&MemSource(file.as_slice())).unwrap();
    // One bit in the middle of chunk 2.
    let at = h.payload_offset() + 2 * SEALED_CHUNK_BYTES + 1000;
    file[at as usize] ^= 0x01;
    let src = MemSource(file.as_slice());
    let dec = AgeSource::open(&src, &pass("p")).unwrap();
    let c = CHUNK_BYTES;
    let err = dec.read_vec(2 * c + 10, 100).unwrap_err();
    assert!(
        err.reason
            .contains("chunk 2 (plaintext offset 131072) failed authentication"),
        "{err}"
    );
    // A read spanning into the bad chunk fails too; none returns garbage.
    assert!(dec.read_vec(2 * c - 10, 20).is_err());
    // Chunks before and after still decrypt (the reader is rebuilt).
    assert_eq!(
        dec.read_vec(c, 10).unwrap(),
        &data[c as usize..c as usize + 10]
    );
    assert_eq!(
        dec.read_vec(3 * c, 4096).unwrap(),
        &data[3 * c as usize..3 * c as usize + 4096]
    );
    assert!(dec.read_vec(2 * c, 1).is_err(), "the bad chunk stays bad");

    // A modified header (its MAC) fails at open.
    let mut file = encrypt_passphrase("p", &data);
    let h = lens_age::read_header(&MemSource(file.as_slice())).unwrap();
    let mac_at = h.header_bytes as usize - 10;
    file[mac_at] = if file[mac_at] == b'A' { b'B' } else { b'A' };
    let err = AgeSource::open(MemSource(file.as_slice()), &pass("p")).unwrap_err();
    assert!(
        matches!(err, AgeError::HeaderMac | AgeError::Header(_)),
        "{err:?}"
    );
}

#[test]
fn truncated_files_fail_at_open() {
    let data = plaintext(3 * CHUNK_BYTES as usize + 500);
    let file = encrypt_passphrase("p", &data);
    let h = lens_age::read_header(&MemSource(file.as_slice())).unwrap();
    let p = h.payload_offset() as usize;
    let s = SEALED_CHUNK_BYTES as usize;
    // Cut exactly at a chunk boundary: the last chunk present is not sealed as last.
    let err = AgeSource::open(MemSource(&file[..p + 2 * s]), &pass("p")).unwrap_err();
    assert_eq!(
        err,
        AgeError::BadLastChunk {
            chunk: 1,
            plaintext_offset: CHUNK_BYTES
        }
    );
    // Cut inside a tag.
    let err = AgeSource::open(MemSource(&file[..p + 3 * s + 7]), &pass("p")).unwrap_err();
    assert!(matches!(err, AgeError::Truncated(_)), "{err:?}");
    // Cut mid-chunk: the short last chunk does not authenticate.
    let err = AgeSource::open(MemSource(&file[..p + 3 * s + 300]), &pass("p")).unwrap_err();
    assert!(
        matches!(err, AgeError::BadLastChunk { chunk: 3, .. }),
        "{err:?}"
    );
    // No payload, and a header cut short.
    let err = AgeSource::open(MemSource(&file[..p]), &pass("p")).unwrap_err();
    assert!(matches!(err, AgeError::Truncated(_)), "{err:?}");
    let err = AgeSource::open(MemSource(&file[..40]), &pass("p")).unwrap_err();
    assert!(matches!(err, AgeError::Truncated(_)), "{err:?}");
    // Every cut of the header and nonce fails cleanly (no panic, no success).
    for cut in 0..p + 20 {
        assert!(AgeSource::open(MemSource(&file[..cut]), &pass("p")).is_err());
    }
}

#[test]
fn armored_files_are_dearmored_then_read_at_random() {
    let id = age::x25519::Identity::generate();
    let data = plaintext(100_000);
    let armored = encrypt(&[&id.to_public()], &data, Format::AsciiArmor);
    assert!(armored.starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----"));
    let src = MemSource(armored.as_slice());
    assert_eq!(
        container::detect_source(&src).unwrap(),
        Layer::Age(AgeFormat::Armored)
    );
    let key = id.to_string().expose_secret().to_owned();
    assert_eq!(
        AgeSource::open(&src, &ident(&key)).unwrap_err(),
        AgeError::Armored
    );
    assert_eq!(
        lens_age::secret_needed(&src).unwrap_err(),
        AgeError::Armored
    );

    let mut spool = Vec::new();
    let n = lens_age::dearmor(&src, &mut spool).unwrap();
    assert_eq!(n, spool.len() as u64);
    let bin = MemSource(spool.as_slice());
    assert_eq!(
        container::detect_source(&bin).unwrap(),
        Layer::Age(AgeFormat::Binary)
    );
    assert_reads_match(&AgeSource::open(&bin, &ident(&key)).unwrap(), &data);

    // Corrupt armor: a character outside base64 in the body, and a missing end.
    let mut bad = armored.clone();
    let body = bad.iter().position(|&b| b == b'\n').unwrap() + 10;
    bad[body] = b'!';
    let err = lens_age::dearmor(&MemSource(bad.as_slice()), &mut Vec::new()).unwrap_err();
    assert!(matches!(err, AgeError::ArmorCorrupt(_)), "{err:?}");
    let cut = &armored[..armored.len() - 40];
    let err = lens_age::dearmor(&MemSource(cut), &mut Vec::new()).unwrap_err();
    assert!(matches!(err, AgeError::ArmorCorrupt(_)), "{err:?}");
}

#[test]
fn multiple_recipients_list_every_type() {
    let a = age::x25519::Identity::generate();
    let b = age::x25519::Identity::generate();
    let file = encrypt(&[&a.to_public(), &b.to_public()], b"x", Format::Binary);
    let src = MemSource(file.as_slice());
    let needed = lens_age::secret_needed(&src).unwrap();
    assert_eq!(
        needed,
        SecretNeeded::Identity {
            recipient_types: vec!["X25519".into()]
        }
    );
    let dec = AgeSource::open(&src, &ident(b.to_string().expose_secret())).unwrap();
    assert_eq!(dec.read_vec(0, 1).unwrap(), b"x");
}
