//! Compression layers: gzip, zstd and zip detected and decompressed, corrupt
//! and truncated data, decompression bombs, a sink that stops the work, and
//! the peeling plan through `.zst.age` and armor down to bbolt.

use std::io::Write;

use age::secrecy::ExposeSecret;
use etcd_lens_core::MemSource;
use etcd_lens_core::age::{self as lens_age, AgeFormat, AgeSource};
use etcd_lens_core::container::{self, Codec, ContainerError, Layer};
use etcd_lens_testkit::age::{Format, encrypt};

use crate::{encrypt_passphrase, fake_bbolt, ident, pass};

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
