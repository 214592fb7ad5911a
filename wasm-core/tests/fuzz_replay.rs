//! Replays the cargo-fuzz seed corpora (`fuzz/corpus/<target>/`) on stable, so
//! every input that ever mattered to a fuzzer keeps passing in CI.

use std::path::Path;

fn replay(target: &str, f: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        f(&bytes);
        n += 1;
    }
    assert!(n > 0, "no seeds in {}", dir.display());
}

#[test]
fn open_walk_corpus() {
    replay("open_walk", etcd_lens_core::fuzzing::open_and_walk);
}

#[test]
fn revision_key_corpus() {
    replay("revision_key", etcd_lens_core::fuzzing::revision_key);
}

#[test]
fn key_value_corpus() {
    replay("key_value", etcd_lens_core::fuzzing::key_value);
}
