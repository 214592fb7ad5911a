//! age and compression layers, with files made by the real `age`, `flate2` and
//! `ruzstd` encoders (and `ssh-keygen` keys when it is installed): every way of
//! opening, every failure a user can meet, and the `.zst.age` chain.
//!
//! One test binary: the files' makers and readers shared by both are here,
//! the age tests in `encrypted.rs`, the compression layers in `compressed.rs`.

use etcd_lens_core::ReadAt;
use etcd_lens_core::age::{AgeSource, CHUNK_BYTES, Secret};
use etcd_lens_testkit::age::{Format, encrypt, passphrase};

mod compressed;
mod encrypted;

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
