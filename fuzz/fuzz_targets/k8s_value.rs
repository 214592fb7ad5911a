//! Fuzz target: Kubernetes value classification, envelope, typed and generic
//! protobuf decoding; see `etcd_lens_core::k8s::fuzzing::value`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    etcd_lens_core::k8s::fuzzing::value(data);
});
