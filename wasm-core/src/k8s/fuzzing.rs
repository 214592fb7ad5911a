//! Entry point for the `k8s_value` fuzz target (`fuzz/fuzz_targets/k8s_value.rs`),
//! here so the seed corpus also replays on stable (`tests/k8s_fuzz_replay.rs`).
//!
//! Feeds the input three ways: as a stored value (classify, decode, key parsing);
//! wrapped in the protobuf envelope as the `raw` of a known kind chosen by the first
//! byte (typed tables); and as the `raw` of an invented kind (generic decoder).
//! Everything must return without panicking.

use super::{DEFAULT_PREFIX, MAGIC, classify, decode, known_kinds, parse_key};

fn push_len_field(tag: u8, bytes: &[u8], out: &mut Vec<u8>) {
    out.push((tag << 3) | 2);
    let mut n = bytes.len();
    while n >= 0x80 {
        out.push(u8::try_from(n & 0x7f).unwrap_or(0) | 0x80);
        n >>= 7;
    }
    out.push(u8::try_from(n).unwrap_or(0));
    out.extend_from_slice(bytes);
}

/// `k8s\0` + runtime.Unknown{typeMeta{apiVersion, kind}, raw}.
pub fn envelope(api_version: &str, kind: &str, raw: &[u8]) -> Vec<u8> {
    let mut type_meta = Vec::new();
    push_len_field(1, api_version.as_bytes(), &mut type_meta);
    push_len_field(2, kind.as_bytes(), &mut type_meta);
    let mut v = MAGIC.to_vec();
    push_len_field(1, &type_meta, &mut v);
    push_len_field(2, raw, &mut v);
    v
}

/// Runs every decoder on `data`; panics only if one of them does.
pub fn value(data: &[u8]) {
    let _ = classify(data);
    let _ = decode(data);
    let _ = parse_key(data, DEFAULT_PREFIX);
    let Some((&selector, raw)) = data.split_first() else {
        return;
    };
    let kinds: Vec<(&str, &str)> = known_kinds().collect();
    if let Some((api_version, kind)) = kinds.get(usize::from(selector) % kinds.len().max(1)) {
        let _ = decode(&envelope(api_version, kind, raw));
    }
    let _ = decode(&envelope("fuzz.example.com/v1", "Invented", raw));
}
