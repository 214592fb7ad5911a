//! Typed decoding: walks a Kubernetes protobuf message with the generated descriptor
//! tables and renders the API server's JSON (field names, Time/Quantity/IntOrString/
//! RawExtension forms, bytes as base64, int64 as numbers).
//!
//! What it does not do: drop Go's zero values. The wire carries every non-pointer
//! field (`stdin: false`, `workingDir: ""`), so the output is the object as stored,
//! zeros included; `omitempty` is a fact about Go structs the protos do not carry.
//!
//! Leniency: a field the table does not know, or whose wire type or nested bytes do
//! not match the table (a newer Kubernetes changed the type), is kept, decoded
//! generically, under [`UNKNOWN_FIELDS_KEY`] (unless it holds a zero value). Only bytes that are not a protobuf
//! message at all fail, with the offset.
//!
//! Invariants: never panics; message nesting is limited to [`MAX_DEPTH`].

use serde_json::{Map, Number, Value};

use super::generated::MESSAGES;
use super::generic;
use super::render;
use super::schema::{Card, Field, Message, Special, Ty};
use super::wire::{Reader, WireError, WireProblem, WireValue};

/// Deepest message nesting decoded. CRD schemas nest JSONSchemaProps about three
/// messages per schema level; 128 leaves room for 40 levels while bounding the stack.
pub(crate) const MAX_DEPTH: u32 = 128;

/// Key under which fields the schema could not place are listed, decoded generically.
pub const UNKNOWN_FIELDS_KEY: &str = "x-etcd-lens-unknown-fields";

pub(crate) fn message(index: u16) -> Option<&'static Message> {
    MESSAGES.get(usize::from(index))
}

/// Decodes `buf` as message `index` into the API's JSON.
pub(crate) fn decode_message(
    index: u16,
    buf: &[u8],
    base: u64,
    depth: u32,
) -> Result<Value, WireError> {
    if depth > MAX_DEPTH {
        return Err(WireError {
            offset: base,
            problem: WireProblem::TooDeep { limit: MAX_DEPTH },
        });
    }
    let Some(msg) = message(index) else {
        return Ok(Value::Array(generic::decode_unknown(buf, base, depth)?));
    };
    let mut obj = Map::new();
    let mut unknown = Vec::new();
    let mut r = Reader::new(buf, base);
    while let Some(field) = r.next_field() {
        let (number, value, at) = field?;
        let placed = match msg.fields.binary_search_by_key(&number, |f| f.tag) {
            Ok(i) => msg
                .fields
                .get(i)
                .is_some_and(|f| place(&mut obj, f, value, at, depth)),
            Err(_) => false,
        };
        // A field the schema does not know that holds a zero value carries nothing (Go
        // writes removed non-pointer fields such as ObjectMeta.clusterName as ""); the
        // API server would drop it too. Anything else is kept, generically.
        if !placed && !is_zero(value) {
            unknown.push(generic::field_json(number, value, at, depth));
        }
    }
    let mut out = finish_special(msg, obj);
    if !unknown.is_empty()
        && let Value::Object(m) = &mut out
    {
        m.insert(UNKNOWN_FIELDS_KEY.to_string(), Value::Array(unknown));
    }
    Ok(out)
}

/// Puts one wire field into `obj`; false if it does not fit the schema.
fn place(
    obj: &mut Map<String, Value>,
    f: &Field,
    value: WireValue<'_>,
    at: u64,
    depth: u32,
) -> bool {
    match f.card {
        Card::Single => match scalar(f.ty, value, at, depth) {
            // Go's `json:",inline"` embedding (the table's JSON name is empty).
            Some(Value::Object(inner)) if f.json.is_empty() => {
                obj.extend(inner);
                true
            }
            Some(v) => {
                obj.insert(f.json.to_string(), v);
                true
            }
            None => false,
        },
        Card::Repeated => {
            let mut items = Vec::new();
            match (f.ty, value) {
                // Packed numeric repeated fields.
                (Ty::Bool | Ty::Int32 | Ty::Int64 | Ty::Double, WireValue::Len(bytes)) => {
                    if !packed(f.ty, bytes, at, &mut items) {
                        return false;
                    }
                }
                _ => match scalar(f.ty, value, at, depth) {
                    Some(v) => items.push(v),
                    None => return false,
                },
            }
            let slot = obj
                .entry(f.json.to_string())
                .or_insert_with(|| Value::Array(Vec::new()));
            match slot {
                Value::Array(a) => a.extend(items),
                _ => return false,
            }
            true
        }
        Card::Map => {
            let WireValue::Len(entry) = value else {
                return false;
            };
            let Some((k, v)) = map_entry(f.ty, entry, at, depth) else {
                return false;
            };
            let slot = obj
                .entry(f.json.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            match slot {
                Value::Object(m) => {
                    m.insert(k, v);
                    true
                }
                _ => false,
            }
        }
    }
}

fn is_zero(value: WireValue<'_>) -> bool {
    matches!(
        value,
        WireValue::Varint(0) | WireValue::Fixed64(0) | WireValue::Fixed32(0) | WireValue::Len([])
    )
}

fn map_entry(ty: Ty, entry: &[u8], at: u64, depth: u32) -> Option<(String, Value)> {
    let mut key = String::new();
    let mut val = None;
    let mut r = Reader::new(entry, at);
    while let Some(field) = r.next_field() {
        let (number, value, at) = field.ok()?;
        match (number, value) {
            (1, WireValue::Len(b)) => key = String::from_utf8_lossy(b).into_owned(),
            (2, v) => val = Some(scalar(ty, v, at, depth)?),
            _ => return None,
        }
    }
    // An absent value is the type's zero value (proto3 map semantics).
    let val = match val {
        Some(v) => v,
        None => scalar(ty, zero_wire(ty), at, depth)?,
    };
    Some((key, val))
}

fn zero_wire(ty: Ty) -> WireValue<'static> {
    match ty {
        Ty::String | Ty::Bytes | Ty::Message(_) => WireValue::Len(&[]),
        Ty::Double => WireValue::Fixed64(0),
        Ty::Bool | Ty::Int32 | Ty::Int64 => WireValue::Varint(0),
    }
}

fn int32(v: u64) -> Value {
    let wide = i64::from_ne_bytes(v.to_ne_bytes());
    // int32 on the wire is sign-extended; anything else is malformed but shown as is.
    match i32::try_from(wide) {
        Ok(n) => Value::from(n),
        Err(_) => Value::from(wide),
    }
}

fn double(bits: u64) -> Value {
    let f = f64::from_bits(bits);
    Number::from_f64(f).map_or_else(|| Value::String(f.to_string()), Value::Number)
}

fn scalar(ty: Ty, value: WireValue<'_>, at: u64, depth: u32) -> Option<Value> {
    Some(match (ty, value) {
        (Ty::String, WireValue::Len(b)) => Value::String(String::from_utf8_lossy(b).into_owned()),
        (Ty::Bytes, WireValue::Len(b)) => Value::String(render::base64(b)),
        (Ty::Bool, WireValue::Varint(v)) => Value::Bool(v != 0),
        (Ty::Int32, WireValue::Varint(v)) => int32(v),
        (Ty::Int64, WireValue::Varint(v)) => Value::from(i64::from_ne_bytes(v.to_ne_bytes())),
        (Ty::Double, WireValue::Fixed64(v)) => double(v),
        (Ty::Message(i), WireValue::Len(b)) => decode_message(i, b, at, depth + 1).ok()?,
        _ => return None,
    })
}

fn packed(ty: Ty, bytes: &[u8], at: u64, out: &mut Vec<Value>) -> bool {
    let mut r = Reader::new(bytes, at);
    if ty == Ty::Double {
        if !bytes.len().is_multiple_of(8) {
            return false;
        }
        for chunk in bytes.chunks_exact(8) {
            out.push(double(u64::from_le_bytes(
                chunk.try_into().unwrap_or([0; 8]),
            )));
        }
        return true;
    }
    while r.offset() < at.saturating_add(u64::try_from(bytes.len()).unwrap_or(u64::MAX)) {
        let Ok(v) = r.varint() else { return false };
        out.push(match ty {
            Ty::Bool => Value::Bool(v != 0),
            Ty::Int32 => int32(v),
            _ => Value::from(i64::from_ne_bytes(v.to_ne_bytes())),
        });
    }
    true
}

/// Value of the field with `tag` in a decoded message object, by the table's JSON name.
fn by_tag<'m>(msg: &Message, obj: &'m Map<String, Value>, tag: u32) -> Option<&'m Value> {
    let f = msg.fields.iter().find(|f| f.tag == tag)?;
    obj.get(f.json)
}

fn int_of(v: Option<&Value>) -> i64 {
    v.and_then(Value::as_i64).unwrap_or(0)
}

/// Applies the Go type's own JSON marshalling to a decoded message.
fn finish_special(msg: &Message, obj: Map<String, Value>) -> Value {
    let field = |tag| by_tag(msg, &obj, tag);
    match msg.special {
        Special::None => Value::Object(obj),
        Special::Time | Special::MicroTime => {
            let (s, n) = (int_of(field(1)), int_of(field(2)));
            if s == 0 && n == 0 {
                // Go's zero time.Time marshals as null (metav1.Time.MarshalJSON).
                return Value::Null;
            }
            Value::String(render::rfc3339(s, n, msg.special == Special::MicroTime))
        }
        Special::Duration => Value::String(render::go_duration(int_of(field(1)))),
        Special::Quantity => match field(1) {
            Some(Value::String(s)) if !s.is_empty() => Value::String(s.clone()),
            _ => Value::String("0".to_string()),
        },
        Special::IntOrString => {
            if int_of(field(1)) == 1 {
                field(3)
                    .cloned()
                    .unwrap_or_else(|| Value::String(String::new()))
            } else {
                Value::from(int_of(field(2)))
            }
        }
        Special::RawJson => match field(1) {
            Some(Value::String(b64)) => raw_json(b64),
            _ => Value::Null,
        },
        Special::StringList => field(1)
            .cloned()
            .unwrap_or_else(|| Value::Array(Vec::new())),
        Special::SchemaOrBool => match field(2) {
            Some(schema) => schema.clone(),
            None => field(1).cloned().unwrap_or(Value::Bool(false)),
        },
        Special::SchemaOrArray | Special::SchemaOrStringArray => match field(1) {
            Some(schema) => schema.clone(),
            None => field(2)
                .cloned()
                .unwrap_or_else(|| Value::Array(Vec::new())),
        },
    }
}

/// RawExtension/FieldsV1/JSON: the raw bytes (base64 in `b64`, as `place` rendered
/// them) are JSON and are inlined; bytes that are not JSON stay base64.
fn raw_json(b64: &str) -> Value {
    use base64::Engine as _;
    let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(b64) else {
        return Value::String(b64.to_string());
    };
    if raw.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(&raw).unwrap_or_else(|_| Value::String(b64.to_string()))
}
