//! Every top-level kind of k8s-pb 0.9 (each `impl k8s_pb::Resource`, listed in the
//! generated `KINDS`) is filled in (every field set, recursion cut where a message
//! contains itself), encoded with prost, wrapped in the storage envelope, and decoded.
//!
//! Checks: the decoder used its typed schema; every string and integer the filler set
//! appears in the output; nothing fell to the unknown-fields list; and where
//! k8s-openapi has the type, our JSON survives a round trip through k8s-openapi's
//! serde types unchanged (after dropping empty values): that checks field names,
//! Time/Quantity/IntOrString/RawExtension/bytes forms against an independent source.

#[rustfmt::skip]
mod generated;

use std::collections::BTreeSet;

use etcd_lens_core::k8s::{self, Schema};
use etcd_lens_testkit::json::prune;
use prost::Message as _;
use serde_json::Value;

/// Produces distinct marker values and remembers them.
#[derive(Default)]
pub struct Ctx {
    n: i64,
    stack: Vec<usize>,
    strings: BTreeSet<String>,
    ints: BTreeSet<i64>,
}

impl Ctx {
    fn enter(&mut self, i: usize) -> bool {
        if self.stack.contains(&i) {
            return false;
        }
        self.stack.push(i);
        true
    }
    fn leave(&mut self, _i: usize) {
        self.stack.pop();
    }
    fn small(&mut self) -> i64 {
        self.n += 1;
        self.n
    }
    fn string(&mut self) -> String {
        let s = format!("s{}", self.small());
        self.strings.insert(s.clone());
        s
    }
    fn int32(&mut self) -> i32 {
        let n = self.small();
        self.ints.insert(n);
        i32::try_from(n).unwrap()
    }
    fn int64(&mut self) -> i64 {
        // Beyond i32, so int64 handling is exercised.
        let n = (1 << 40) + self.small();
        self.ints.insert(n);
        n
    }
    fn double(&mut self) -> f64 {
        self.small() as f64 + 0.5
    }
    fn bytes(&mut self) -> Vec<u8> {
        vec![u8::try_from(self.small() % 256).unwrap(), 0xff, 0x00]
    }
    fn seconds(&mut self) -> i64 {
        1_600_000_000 + self.small()
    }
    fn micros(&mut self) -> i32 {
        i32::try_from(self.small() % 1_000_000).unwrap()
    }
    fn quantity(&mut self) -> String {
        let s = format!("{}Mi", self.small());
        self.strings.insert(s.clone());
        s
    }
    fn raw_json(&mut self) -> Vec<u8> {
        format!(r#"{{"k":"{}"}}"#, self.string()).into_bytes()
    }
}

/// Deserializes our JSON into a k8s-openapi type and serializes it back.
pub type RoundTrip = fn(&Value) -> Result<Value, String>;

pub struct KindCase {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub encode: fn(&mut Ctx) -> Vec<u8>,
    pub openapi: Option<RoundTrip>,
}

pub fn openapi_roundtrip<T: serde::de::DeserializeOwned + serde::Serialize>(
    v: &Value,
) -> Result<Value, String> {
    let t: T = serde_json::from_value(v.clone())
        .map_err(|e| format!("k8s-openapi rejects our JSON: {e}"))?;
    serde_json::to_value(&t).map_err(|e| e.to_string())
}

fn envelope(api_version: &str, kind: &str, raw: Vec<u8>) -> Vec<u8> {
    use k8s_pb::apimachinery::pkg::runtime::{TypeMeta, Unknown};
    let u = Unknown {
        type_meta: Some(TypeMeta {
            api_version: Some(api_version.into()),
            kind: Some(kind.into()),
        }),
        raw: Some(raw),
        content_encoding: Some(String::new()),
        content_type: Some(String::new()),
    };
    let mut v = b"k8s\0".to_vec();
    v.extend(u.encode_to_vec());
    v
}

fn leaves(v: &Value, strings: &mut BTreeSet<String>, ints: &mut BTreeSet<i64>) {
    match v {
        Value::String(s) => {
            strings.insert(s.clone());
        }
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                ints.insert(i);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| leaves(x, strings, ints)),
        Value::Object(m) => {
            for (k, x) in m {
                strings.insert(k.clone());
                leaves(x, strings, ints);
            }
        }
        _ => {}
    }
}

/// k8s-openapi writes apiVersion/kind for every embedded resource type
/// (StatefulSet's `volumeClaimTemplates` are PersistentVolumeClaims); protobuf does
/// not carry TypeMeta below the top level, so those two keys are not ours to show.
fn strip_nested_type_meta(theirs: &mut Value, ours: &Value, depth: usize) {
    match (theirs, ours) {
        (Value::Object(t), Value::Object(o)) => {
            if depth > 0 {
                for k in ["apiVersion", "kind"] {
                    if !o.contains_key(k) {
                        t.remove(k);
                    }
                }
            }
            for (k, v) in t.iter_mut() {
                if let Some(ov) = o.get(k) {
                    strip_nested_type_meta(v, ov, depth + 1);
                }
            }
        }
        (Value::Array(t), Value::Array(o)) => {
            for (v, ov) in t.iter_mut().zip(o) {
                strip_nested_type_meta(v, ov, depth + 1);
            }
        }
        _ => {}
    }
}

/// Path and both values of the first difference between two JSON values.
fn first_diff(a: &Value, b: &Value, path: &str) -> String {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let (p, q) = (
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                );
                if p != q {
                    return first_diff(p, q, &format!("{path}.{k}"));
                }
            }
            path.to_string()
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                if p != q {
                    return first_diff(p, q, &format!("{path}[{i}]"));
                }
            }
            path.to_string()
        }
        _ => format!("{path}: ours {a}, theirs {b}"),
    }
}

#[test]
fn every_k8s_pb_kind_decodes_from_prost_bytes() {
    assert_eq!(
        generated::KINDS.len(),
        90,
        "k8s-pb 0.9 has 90 Resource impls"
    );
    let known: BTreeSet<(&str, &str)> = k8s::known_kinds().collect();
    let mut failures = Vec::new();
    let mut checked_by_openapi = 0;
    for case in generated::KINDS {
        let what = format!("{} {}", case.api_version, case.kind);
        assert!(
            known.contains(&(case.api_version, case.kind)),
            "{what} missing from the tables"
        );
        let mut c = Ctx::default();
        let raw = (case.encode)(&mut c);
        let decoded = match k8s::decode(&envelope(case.api_version, case.kind, raw)) {
            Ok(d) => d,
            Err(e) => {
                failures.push(format!("{what}: {e}"));
                continue;
            }
        };
        if !matches!(decoded.schema, Schema::Typed { .. }) {
            failures.push(format!("{what}: schema {:?}", decoded.schema));
        }
        let text = decoded.object.to_string();
        if text.contains(k8s::UNKNOWN_FIELDS_KEY) {
            failures.push(format!("{what}: fields fell to the unknown list: {text}"));
        }
        let (mut strings, mut ints) = (BTreeSet::new(), BTreeSet::new());
        leaves(&decoded.object, &mut strings, &mut ints);
        let missing_s: Vec<&String> = c.strings.difference(&strings).collect();
        let missing_i: Vec<&i64> = c.ints.difference(&ints).collect();
        if !missing_s.is_empty() || !missing_i.is_empty() {
            failures.push(format!(
                "{what}: set values missing from the output: {missing_s:?} {missing_i:?}"
            ));
        }
        if let Some(roundtrip) = case.openapi {
            checked_by_openapi += 1;
            match roundtrip(&decoded.object) {
                Ok(mut theirs) => {
                    strip_nested_type_meta(&mut theirs, &decoded.object, 0);
                    let (a, b) = (prune(&decoded.object), prune(&theirs));
                    if a != b {
                        let (a, b) = (a.unwrap_or_default(), b.unwrap_or_default());
                        failures.push(format!(
                            "{what}: k8s-openapi round trip differs at {}",
                            first_diff(&a, &b, "")
                        ));
                    }
                }
                Err(e) => failures.push(format!("{what}: {e}")),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} kinds failed:\n{}",
        failures.len(),
        generated::KINDS.len(),
        failures.join("\n")
    );
    assert!(
        checked_by_openapi >= 60,
        "only {checked_by_openapi} kinds checked against k8s-openapi"
    );
}
