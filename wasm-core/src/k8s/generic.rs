//! Schema-less protobuf decoding: the fallback for types the generated tables do
//! not know (new kinds, OpenShift and aggregated APIs stored as protobuf) and for
//! fields a newer Kubernetes added to a known type.
//!
//! Output is labelled JSON, not a Kubernetes object: one entry per field with its
//! number and wire type. A length-delimited field is shown as a string when it is
//! printable UTF-8, else as a nested message when its bytes parse as one completely,
//! else as a (lossy) string when UTF-8, else as hex. These are guesses, and say so.
//!
//! Invariants: never panics; nesting guesses stop at [`MAX_GUESS_DEPTH`]; each byte
//! range is parsed as a message at most once per ancestor, so work is O(len × depth).

use serde_json::{Map, Value, json};

use super::wire::{Reader, WireError, WireValue};

/// Nested-message guessing stops here; deeper length-delimited fields are shown as bytes.
pub(crate) const MAX_GUESS_DEPTH: u32 = 32;

/// Decodes `buf` as a message of unknown type. Fails only if `buf` itself is not a
/// well-formed protobuf message.
pub(crate) fn decode_unknown(buf: &[u8], base: u64, depth: u32) -> Result<Vec<Value>, WireError> {
    let mut out = Vec::new();
    let mut r = Reader::new(buf, base);
    while let Some(field) = r.next_field() {
        let (number, value, at) = field?;
        out.push(field_json(number, value, at, depth));
    }
    Ok(out)
}

/// One field as `{"field": n, "wire": "...", <interpretation>}`.
pub(crate) fn field_json(number: u32, value: WireValue<'_>, at: u64, depth: u32) -> Value {
    let mut m = Map::new();
    m.insert("field".into(), json!(number));
    m.insert("wire".into(), json!(value.wire_name()));
    match value {
        WireValue::Varint(v) => {
            m.insert("varint".into(), json!(v));
            if v > u64::from(u32::MAX) {
                // Negative int32/int64 are sign-extended to ten bytes.
                m.insert("asInt64".into(), json!(i64::from_ne_bytes(v.to_ne_bytes())));
            }
        }
        WireValue::Fixed64(v) => {
            m.insert("fixed64".into(), json!(v));
            m.insert("asDouble".into(), float_json(f64::from_bits(v)));
        }
        WireValue::Fixed32(v) => {
            m.insert("fixed32".into(), json!(v));
            m.insert("asFloat".into(), float_json(f64::from(f32::from_bits(v))));
        }
        WireValue::Len(bytes) => {
            let (k, v) = guess_len(bytes, at, depth);
            m.insert(k.into(), v);
        }
    }
    Value::Object(m)
}

fn float_json(f: f64) -> Value {
    serde_json::Number::from_f64(f).map_or_else(|| Value::String(f.to_string()), Value::Number)
}

fn printable(s: &str) -> bool {
    s.chars().all(|c| !c.is_control() || c == '\t')
}

fn guess_len(bytes: &[u8], at: u64, depth: u32) -> (&'static str, Value) {
    let text = std::str::from_utf8(bytes).ok();
    if let Some(s) = text
        && printable(s)
    {
        return ("string", Value::String(s.to_string()));
    }
    if depth < MAX_GUESS_DEPTH
        && !bytes.is_empty()
        && let Ok(fields) = decode_unknown(bytes, at, depth + 1)
    {
        return ("message", Value::Array(fields));
    }
    match text {
        Some(s) => ("string", Value::String(s.to_string())),
        None => ("hex", Value::String(hex::encode(bytes))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guesses_strings_messages_and_bytes() {
        // 1: "pod"; 2: {1: 7}; 3: bytes ff fe; 4: varint -1
        let mut buf = vec![
            0x0a, 3, b'p', b'o', b'd', 0x12, 2, 0x08, 7, 0x1a, 2, 0xff, 0xfe, 0x20,
        ];
        buf.extend([0xff; 9]);
        buf.push(0x01);
        let got = decode_unknown(&buf, 0, 0).map(Value::Array);
        assert_eq!(
            got,
            Ok(json!([
                {"field": 1, "wire": "len", "string": "pod"},
                {"field": 2, "wire": "len", "message": [{"field": 1, "wire": "varint", "varint": 7}]},
                {"field": 3, "wire": "len", "hex": "fffe"},
                {"field": 4, "wire": "varint", "varint": u64::MAX, "asInt64": -1},
            ]))
        );
    }

    #[test]
    fn deep_nesting_stops_guessing() {
        let mut buf = vec![0x08, 1];
        for _ in 0..100 {
            let mut outer = vec![0x0a];
            let mut len = buf.len();
            while len >= 0x80 {
                outer.push(u8::try_from(len & 0x7f).unwrap_or(0) | 0x80);
                len >>= 7;
            }
            outer.push(u8::try_from(len).unwrap_or(0));
            outer.extend(&buf);
            buf = outer;
        }
        assert!(decode_unknown(&buf, 0, 0).is_ok());
    }
}
