//! Replays the `container` fuzz corpus (`fuzz/corpus/container/`) on stable.
//! Seeds, all made for this corpus: a bbolt meta prefix; gzip and zstd of it
//! (flate2, ruzstd); zips from Python's zipfile (one deflated member, two stored);
//! age files encrypted to `container::fuzzing::FUZZ_IDENTITY` (binary: zstd
//! inside, and 70 000 bytes so there are two chunks; armored) and one to a
//! passphrase at scrypt work factor 2^2.

use std::path::Path;

use etcd_lens_core::container::fuzzing::layers;

#[test]
fn container_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/container");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        layers(&bytes);
        // Truncation anywhere (every prefix of small seeds, some of large ones)
        // and single bit flips must not panic.
        let cuts: Vec<usize> = if bytes.len() <= 2048 {
            (0..bytes.len()).collect()
        } else {
            (0..bytes.len()).step_by(997).collect()
        };
        for len in cuts {
            layers(&bytes[..len]);
        }
        for at in (0..bytes.len()).step_by(bytes.len() / 64 + 1) {
            let mut b = bytes.clone();
            b[at] ^= 0x10;
            layers(&b);
        }
        n += 1;
    }
    assert!(n >= 9, "seeds missing in {}", dir.display());
}
