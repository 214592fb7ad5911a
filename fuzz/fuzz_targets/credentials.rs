//! Fuzz target: the credential scanner over objects and values; see
//! `etcd_lens_core::fuzzing::credentials`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = etcd_lens_core::fuzzing::credentials(data);
});
