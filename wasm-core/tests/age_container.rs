//! age and compression layers, with files made by the real `age`, `flate2` and
//! `ruzstd` encoders (and `ssh-keygen` keys when it is installed): every way of
//! opening, every failure a user can meet, and the `.zst.age` chain.

use std::io::Write;
use std::process::Command;
use std::str::FromStr;

use age::secrecy::ExposeSecret;
use etcd_lens_core::age::{
    self as lens_age, AgeError, AgeFormat, AgeSource, CHUNK_BYTES, SEALED_CHUNK_BYTES, Secret,
    SecretNeeded,
};
use etcd_lens_core::container::{self, Codec, ContainerError, Layer};
use etcd_lens_core::{MemSource, ReadAt};
use etcd_lens_testkit::age::{Format, encrypt, passphrase};

/// Deterministic bytes that differ in every chunk.
fn plaintext(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x.to_le_bytes()[0]
        })
        .collect()
}

/// A stand-in bbolt file: the meta magic at offset 16, for layer detection.
fn fake_bbolt(len: usize) -> Vec<u8> {
    let mut v = plaintext(len);
    v[..16].fill(0);
    v[16..20].copy_from_slice(&0xED0C_DAEDu32.to_le_bytes());
    v
}

fn encrypt_passphrase(pass: &str, data: &[u8]) -> Vec<u8> {
    encrypt(&[&passphrase(pass)], data, Format::Binary)
}

fn pass(p: &str) -> Secret {
    Secret::Passphrase(p.into())
}

fn ident(file: &str) -> Secret {
    Secret::Identity {
        file: file.as_bytes().to_vec(),
        ssh_key_passphrase: None,
    }
}

/// Read the same ranges from the decrypted source and the plaintext.
fn assert_reads_match<R: ReadAt + Clone>(src: &AgeSource<R>, want: &[u8]) {
    assert_eq!(src.len(), want.len() as u64);
    let len = want.len() as u64;
    let c = CHUNK_BYTES;
    let mut ranges = vec![(0, len.min(100)), (0, len)];
    for (off, n) in [
        (c - 10, 20),
        (c, 4096),
        (2 * c - 1, 2),
        (len.saturating_sub(4096), 4096),
        (len.saturating_sub(1), 1),
        (7, 3 * c),
        (c + 5, 1),
    ] {
        if off + n <= len {
            ranges.push((off, n));
        }
    }
    // Backwards, so the reader seeks back as well as forth.
    for (off, n) in ranges.into_iter().rev() {
        let got = src.read_vec(off, n).unwrap();
        assert!(
            got == want[off as usize..(off + n) as usize],
            "bytes {off}+{n} differ"
        );
    }
    assert!(src.read_vec(len, 1).is_err(), "reading past the end fails");
}

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

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn zstd(data: &[u8]) -> Vec<u8> {
    ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
}

/// A one-or-more-member zip written by hand (APPNOTE 4.3), deflate or stored.
fn zip(members: &[(&str, &[u8], bool)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut cd = Vec::new();
    for (name, data, deflate) in members {
        let mut crc = flate2::Crc::new();
        crc.update(data);
        let body = if *deflate {
            let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        } else {
            data.to_vec()
        };
        let method: u16 = if *deflate { 8 } else { 0 };
        let offset = out.len() as u32;
        let common = |v: &mut Vec<u8>| {
            v.extend_from_slice(&20u16.to_le_bytes()); // version needed
            v.extend_from_slice(&0u16.to_le_bytes()); // flags
            v.extend_from_slice(&method.to_le_bytes());
            v.extend_from_slice(&[0; 4]); // time, date
            v.extend_from_slice(&crc.sum().to_le_bytes());
            v.extend_from_slice(&(body.len() as u32).to_le_bytes());
            v.extend_from_slice(&(data.len() as u32).to_le_bytes());
            v.extend_from_slice(&(name.len() as u16).to_le_bytes());
            v.extend_from_slice(&0u16.to_le_bytes()); // extra
        };
        out.extend_from_slice(b"PK\x03\x04");
        common(&mut out);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&body);
        cd.extend_from_slice(b"PK\x01\x02");
        cd.extend_from_slice(&20u16.to_le_bytes()); // version made by
        common(&mut cd);
        cd.extend_from_slice(&[0; 6]); // comment len, disk, internal attrs
        cd.extend_from_slice(&0u32.to_le_bytes()); // external attrs
        cd.extend_from_slice(&offset.to_le_bytes());
        cd.extend_from_slice(name.as_bytes());
    }
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&cd);
    out.extend_from_slice(b"PK\x05\x06");
    out.extend_from_slice(&[0; 4]);
    let n = members.len() as u16;
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&(cd.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

fn unwrap_once(bytes: &[u8], codec: Codec) -> Vec<u8> {
    let mut out = Vec::new();
    let n = container::decompress(&MemSource(bytes), codec, &mut out, 1 << 30).unwrap();
    assert_eq!(n, out.len() as u64);
    out
}

#[test]
fn gzip_zstd_zip_are_detected_and_decompressed() {
    let db = fake_bbolt(400_000);
    assert_eq!(container::detect(&db), Layer::Bbolt);

    let gz = gzip(&db);
    assert_eq!(container::detect(&gz), Layer::Compressed(Codec::Gzip));
    assert_eq!(unwrap_once(&gz, Codec::Gzip), db);
    // Concatenated gzip members are one stream (as `cat a.gz b.gz`).
    let two = [gzip(&db[..1000]), gzip(&db[1000..])].concat();
    assert_eq!(unwrap_once(&two, Codec::Gzip), db);

    let zs = zstd(&db);
    assert_eq!(container::detect(&zs), Layer::Compressed(Codec::Zstd));
    assert_eq!(unwrap_once(&zs, Codec::Zstd), db);
    // Two frames with a skippable frame between.
    let mut skippable = 0x184D_2A53u32.to_le_bytes().to_vec();
    skippable.extend_from_slice(&3u32.to_le_bytes());
    skippable.extend_from_slice(b"xyz");
    let frames = [zstd(&db[..5000]), skippable.clone(), zstd(&db[5000..])].concat();
    assert_eq!(unwrap_once(&frames, Codec::Zstd), db);
    assert_eq!(
        container::detect(&skippable),
        Layer::Compressed(Codec::Zstd)
    );

    // k3s: one member named like the snapshot; or several with a *.db among them.
    let z = zip(&[("etcd-snapshot-node1-1700000000", &db, true)]);
    assert_eq!(container::detect(&z), Layer::Compressed(Codec::Zip));
    assert_eq!(unwrap_once(&z, Codec::Zip), db);
    let z = zip(&[
        ("README.txt", b"hello", false),
        ("backup/member.db", &db, false),
    ]);
    assert_eq!(
        container::zip_member(&MemSource(z.as_slice()))
            .unwrap()
            .name,
        "backup/member.db"
    );
    assert_eq!(unwrap_once(&z, Codec::Zip), db);
    let z = zip(&[("a.txt", b"a", false), ("b.txt", b"b", false)]);
    let err = container::decompress(
        &MemSource(z.as_slice()),
        Codec::Zip,
        &mut Vec::new(),
        1 << 20,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("no member looks like a snapshot"),
        "{err}"
    );

    assert_eq!(
        container::detect(b"hello world, nothing here"),
        Layer::Unknown
    );
    assert_eq!(container::detect(b""), Layer::Unknown);
}

#[test]
fn corrupt_and_truncated_compressed_data_is_an_error() {
    let db = fake_bbolt(300_000);
    let gz = gzip(&db);
    let err = container::decompress(
        &MemSource(&gz[..gz.len() / 2]),
        Codec::Gzip,
        &mut Vec::new(),
        1 << 30,
    )
    .unwrap_err();
    assert!(
        matches!(err, ContainerError::Corrupt { codec: "gzip", .. }),
        "{err:?}"
    );
    // A flipped byte in the trailer's CRC.
    let mut bad = gz.clone();
    let n = bad.len();
    bad[n - 6] ^= 0xff;
    assert!(
        container::decompress(
            &MemSource(bad.as_slice()),
            Codec::Gzip,
            &mut Vec::new(),
            1 << 30
        )
        .is_err()
    );

    let zs = zstd(&db);
    let err = container::decompress(
        &MemSource(&zs[..zs.len() - 100]),
        Codec::Zstd,
        &mut Vec::new(),
        1 << 30,
    )
    .unwrap_err();
    assert!(
        matches!(err, ContainerError::Corrupt { codec: "zstd", .. }),
        "{err:?}"
    );

    let mut z = zip(&[("member.db", &db, false)]);
    z[100] ^= 0xff; // inside the stored data
    let err = container::decompress(
        &MemSource(z.as_slice()),
        Codec::Zip,
        &mut Vec::new(),
        1 << 30,
    )
    .unwrap_err();
    assert!(matches!(err, ContainerError::ZipCrc { .. }), "{err:?}");
    let z = zip(&[("member.db", &db, true)]);
    let err = container::decompress(
        &MemSource(&z[..z.len() - 30]),
        Codec::Zip,
        &mut Vec::new(),
        1 << 30,
    )
    .unwrap_err();
    assert!(matches!(err, ContainerError::Zip(_)), "{err:?}");
}

#[test]
fn decompression_bombs_stop_at_the_limit() {
    let zeros = vec![0u8; 8 << 20];
    for (bytes, codec) in [
        (gzip(&zeros), Codec::Gzip),
        (zstd(&zeros), Codec::Zstd),
        (zip(&[("x.db", &zeros, true)]), Codec::Zip),
    ] {
        assert!(bytes.len() < 200_000, "{codec:?} compresses zeros well");
        let mut out = Vec::new();
        let err = container::decompress(&MemSource(bytes.as_slice()), codec, &mut out, 1 << 20)
            .unwrap_err();
        assert_eq!(
            err,
            ContainerError::TooLarge {
                codec: codec.name(),
                limit_bytes: 1 << 20
            }
        );
        assert!(
            out.len() <= 1 << 20,
            "never more than the limit reaches the sink"
        );
        // Exactly at the limit is fine.
        let n = container::decompress(
            &MemSource(bytes.as_slice()),
            codec,
            &mut Vec::new(),
            8 << 20,
        )
        .unwrap();
        assert_eq!(n, 8 << 20);
    }
}

/// talos-backup style: zstd, then age. Peel age (random access), then zstd (spool).
#[test]
fn zst_age_chain_peels_to_bbolt() {
    let db = fake_bbolt(500_000);
    let file = encrypt_passphrase("backup", &zstd(&db));
    let outer = MemSource(file.as_slice());
    assert_eq!(
        container::detect_source(&outer).unwrap(),
        Layer::Age(AgeFormat::Binary)
    );
    let dec = AgeSource::open(&outer, &pass("backup")).unwrap();
    assert_eq!(
        container::detect_source(&dec).unwrap(),
        Layer::Compressed(Codec::Zstd)
    );
    let mut spool = Vec::new();
    container::decompress(&dec, Codec::Zstd, &mut spool, 1 << 30).unwrap();
    assert_eq!(container::detect(&spool), Layer::Bbolt);
    assert_eq!(spool, db);

    // And gzip inside armored age, the longest chain we expect.
    let id = age::x25519::Identity::generate();
    let armored = encrypt(&[&id.to_public()], &gzip(&db), Format::AsciiArmor);
    let mut bin = Vec::new();
    lens_age::dearmor(&MemSource(armored.as_slice()), &mut bin).unwrap();
    let dec = AgeSource::open(
        MemSource(bin.as_slice()),
        &ident(id.to_string().expose_secret()),
    )
    .unwrap();
    assert_eq!(
        container::detect_source(&dec).unwrap(),
        Layer::Compressed(Codec::Gzip)
    );
    let mut out = Vec::new();
    container::decompress(&dec, Codec::Gzip, &mut out, 1 << 30).unwrap();
    assert_eq!(out, db);
}

#[test]
fn a_failing_sink_stops_the_work() {
    struct Cancel(usize);
    impl container::Sink for Cancel {
        fn write(&mut self, bytes: &[u8]) -> Result<(), container::SinkError> {
            self.0 += bytes.len();
            if self.0 > 100_000 {
                return Err(container::SinkError("cancelled".into()));
            }
            Ok(())
        }
    }
    let gz = gzip(&fake_bbolt(1 << 20));
    let err = container::decompress(
        &MemSource(gz.as_slice()),
        Codec::Gzip,
        &mut Cancel(0),
        1 << 30,
    )
    .unwrap_err();
    assert_eq!(
        err,
        ContainerError::Sink(container::SinkError("cancelled".into()))
    );
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

/// The one peeling plan: armor is spooled (never de-armored into an uncapped
/// buffer by a caller of its own), age asks for its secret, compression is
/// spooled, and a file of endless wrappers stops at MAX_LAYERS.
#[test]
fn the_peeler_names_each_step_and_stops_after_max_layers() {
    use etcd_lens_core::age::{AgeSource, Secret, SecretNeeded};
    use etcd_lens_core::container::{MAX_LAYERS, PeelError, Peeler, Spooled, Step};

    let db = fake_bbolt(9000);
    let id = age::x25519::Identity::generate();
    let armored = encrypt(&[&id.to_public()], &gzip(&db), Format::AsciiArmor);
    let mut peeler = Peeler::default();
    // Armored age → spool the armor.
    let src = MemSource(armored.as_slice());
    assert_eq!(peeler.next(&src).unwrap(), Step::Spool(Spooled::Dearmor));
    let mut binary = Vec::new();
    container::spool(&src, Spooled::Dearmor, &mut binary, u64::MAX).unwrap();
    // Binary age → a secret, named by its header.
    let src = MemSource(binary.as_slice());
    let Step::NeedSecret(SecretNeeded::Identity { recipient_types }) = peeler.next(&src).unwrap()
    else {
        panic!("an identity is needed");
    };
    assert_eq!(recipient_types, ["X25519"]);
    let secret = Secret::Identity {
        file: age::secrecy::ExposeSecret::expose_secret(&id.to_string())
            .as_bytes()
            .to_vec(),
        ssh_key_passphrase: None,
    };
    let plain = AgeSource::open(src, &secret).unwrap();
    // gzip → spool it; then bbolt → open.
    assert_eq!(
        peeler.next(&plain).unwrap(),
        Step::Spool(Spooled::Decompress(Codec::Gzip))
    );
    let mut out = Vec::new();
    container::spool(&plain, Spooled::Decompress(Codec::Gzip), &mut out, u64::MAX).unwrap();
    assert_eq!(out, db);
    assert_eq!(peeler.next(&MemSource(out.as_slice())).unwrap(), Step::Open);

    // MAX_LAYERS + 1 wrappers: the last one is refused, wherever peeling resumes.
    let mut nested = db.clone();
    for _ in 0..=MAX_LAYERS {
        nested = gzip(&nested);
    }
    let mut src = nested;
    for n in 0..=MAX_LAYERS {
        let mut p = Peeler::after(n);
        match p.next(&MemSource(src.as_slice())) {
            Ok(Step::Spool(what)) => {
                let mut out = Vec::new();
                container::spool(&MemSource(src.as_slice()), what, &mut out, u64::MAX).unwrap();
                src = out;
            }
            Err(PeelError::TooManyLayers) => {
                assert_eq!(n, MAX_LAYERS, "refused only past the limit");
                return;
            }
            other => panic!("layer {n}: {other:?}"),
        }
    }
    panic!("{} gzip layers were all peeled", MAX_LAYERS + 1);
}
