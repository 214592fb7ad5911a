//! Fuzz target: see `etcd_lens_core::fuzzing::key_value`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    etcd_lens_core::fuzzing::key_value(data);
});
