//! Fuzz target: layer detection, the age header and chunk decryption, ASCII
//! armor, gzip/zstd/zip decompression; see `etcd_lens_core::container::fuzzing::layers`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    etcd_lens_core::container::fuzzing::layers(data);
});
