//! Fuzz target: see `etcd_lens_core::fuzzing::open_and_walk`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    etcd_lens_core::fuzzing::open_and_walk(data);
});
