//! Replays the `k8s_value` fuzz corpus (`fuzz/corpus/k8s_value/`) on stable.
//! Seeds: `auger-*` from `../shared/fixtures/auger/` (etcd-io/auger, Apache-2.0; the
//! stored values without the captured trailing newline, and pod's raw protobuf behind
//! a selector byte); the rest written by hand (KMS v2 prefix, small CBOR and JSON).

use std::path::Path;

#[test]
fn k8s_value_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/k8s_value");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        etcd_lens_core::k8s::fuzzing::value(&bytes);
        // Every prefix, too: truncation anywhere must not panic.
        for len in 0..bytes.len() {
            etcd_lens_core::k8s::fuzzing::value(&bytes[..len]);
        }
        n += 1;
    }
    assert!(n >= 6, "seeds missing in {}", dir.display());
}
