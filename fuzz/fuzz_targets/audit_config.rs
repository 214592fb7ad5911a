//! Fuzz target: `EncryptionConfiguration` parsing and local decryption; see
//! `etcd_lens_core::fuzzing::audit_config`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = etcd_lens_core::fuzzing::audit_config(data);
});
