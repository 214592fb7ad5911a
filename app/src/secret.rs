//! Masking of Secret values in decoded objects: shown masked by default,
//! revealed one value at a time on request.

use std::collections::BTreeSet;

use base64::Engine;
use serde_json::Value;

/// The mask shown instead of a value.
pub fn mask(len: usize) -> String {
    format!("•••••• ({}, masked)", bytes(len))
}

fn bytes(n: usize) -> String {
    crate::state::count(n as u64, "byte", "bytes")
}

/// One `data`/`stringData` entry of a Secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretValue {
    /// `data.<name>` or `stringData.<name>`.
    pub path: String,
    /// The value as text (base64-decoded for `data`), lossy.
    pub plain: String,
    pub bytes: usize,
}

/// The Secret's values, in key order.
pub fn values(object: &Value) -> Vec<SecretValue> {
    let mut out = Vec::new();
    for field in ["data", "stringData"] {
        let Some(map) = object.get(field).and_then(Value::as_object) else {
            continue;
        };
        for (name, v) in map {
            let Some(s) = v.as_str() else { continue };
            let raw = if field == "data" {
                base64::engine::general_purpose::STANDARD
                    .decode(s)
                    .unwrap_or_else(|_| s.as_bytes().to_vec())
            } else {
                s.as_bytes().to_vec()
            };
            out.push(SecretValue {
                path: format!("{field}.{name}"),
                plain: String::from_utf8_lossy(&raw).into_owned(),
                bytes: raw.len(),
            });
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// The reveal name of the last-applied-configuration annotation, which
/// repeats a Secret's data in plaintext.
pub const LAST_APPLIED: &str = "last-applied";
const LAST_APPLIED_POINTER: &str =
    "/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration";

/// Every maskable value of a Secret, by its reveal name: the `data` and
/// `stringData` entries, and the last-applied annotation.
fn maskable(object: &Value) -> Vec<SecretValue> {
    let mut out = values(object);
    if let Some(a) = object.pointer(LAST_APPLIED_POINTER).and_then(Value::as_str) {
        out.push(SecretValue {
            path: LAST_APPLIED.into(),
            plain: a.to_string(),
            bytes: a.len(),
        });
    }
    out
}

fn slot<'a>(o: &'a mut Value, path: &str) -> Option<&'a mut Value> {
    if path == LAST_APPLIED {
        return o.pointer_mut(LAST_APPLIED_POINTER);
    }
    let (field, name) = path.split_once('.')?;
    o.get_mut(field)?.get_mut(name)
}

/// The object with every Secret value masked except the `revealed` paths.
pub fn masked(object: &Value, revealed: &BTreeSet<String>) -> Value {
    let mut o = object.clone();
    for v in maskable(object) {
        if revealed.contains(&v.path) {
            continue;
        }
        if let Some(s) = slot(&mut o, &v.path) {
            *s = Value::String(mask(v.bytes));
        }
    }
    o
}

/// Two revisions of a Secret masked for their diff: a value equal in both
/// shows the same mask on both sides; a changed one shows as
/// `value changed (n → m bytes, masked)` on the newer side, so the diff tells
/// that it changed without telling what it was or became.
pub fn masked_pair(older: &Value, newer: &Value, revealed: &BTreeSet<String>) -> (Value, Value) {
    let before = maskable(older);
    let a = masked(older, revealed);
    let mut b = masked(newer, revealed);
    for v in maskable(newer) {
        if revealed.contains(&v.path) {
            continue;
        }
        match before.iter().find(|o| o.path == v.path) {
            Some(o) if o.plain == v.plain => {}
            Some(o) => {
                if let Some(s) = slot(&mut b, &v.path) {
                    *s = Value::String(format!(
                        "value changed ({} → {}, masked)",
                        o.bytes,
                        bytes(v.bytes)
                    ));
                }
            }
            None => {
                if let Some(s) = slot(&mut b, &v.path) {
                    *s = Value::String(format!("value added ({}, masked)", bytes(v.bytes)));
                }
            }
        }
    }
    (a, b)
}

/// The reveal names of the values of both revisions, in order.
pub fn paths_of(objects: &[&Value]) -> Vec<String> {
    let mut out: Vec<String> = objects
        .iter()
        .flat_map(|o| maskable(o).into_iter().map(|v| v.path))
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_all_but_revealed() {
        let s = serde_json::json!({"kind": "Secret", "data": {"password": "aHVudGVyMg==", "user": "YWRtaW4="}, "stringData": {"x": "y"}});
        let vals = values(&s);
        assert_eq!(
            vals.iter().map(|v| v.path.as_str()).collect::<Vec<_>>(),
            ["data.password", "data.user", "stringData.x"]
        );
        assert_eq!(vals[0].plain, "hunter2");
        let m = masked(&s, &BTreeSet::new());
        let text = m.to_string();
        assert!(
            !text.contains("aHVudGVyMg==") && !text.contains("YWRtaW4="),
            "{text}"
        );
        let m = masked(&s, &BTreeSet::from(["data.user".to_string()]));
        assert_eq!(m["data"]["user"], "YWRtaW4=");
        assert_ne!(m["data"]["password"], "aHVudGVyMg==");
    }

    #[test]
    fn a_diff_pair_says_what_changed_and_shows_neither_value() {
        let a = serde_json::json!({"kind": "Secret", "data": {"password": "b2xk", "same": "c2FtZQ==", "gone": "eA=="},
            "metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"data\":{\"password\":\"b2xk\"}}"}}});
        let b = serde_json::json!({"kind": "Secret", "data": {"password": "bmV3ZXI=", "same": "c2FtZQ==", "new": "eQ=="}});
        let (ma, mb) = masked_pair(&a, &b, &BTreeSet::new());
        let text = format!("{ma} {mb}");
        for plain in [
            "b2xk", "bmV3ZXI=", "c2FtZQ==", "eA==", "eQ==", "old", "newer",
        ] {
            assert!(!text.contains(plain), "{plain} in {text}");
        }
        assert_eq!(
            mb["data"]["password"],
            "value changed (3 → 5 bytes, masked)"
        );
        assert_eq!(
            ma["data"]["same"], mb["data"]["same"],
            "unchanged values diff equal"
        );
        assert_eq!(mb["data"]["new"], "value added (1 byte, masked)");
        assert_eq!(ma["data"]["gone"], mask(1));
        assert_eq!(
            paths_of(&[&a, &b]),
            [
                "data.gone",
                "data.new",
                "data.password",
                "data.same",
                LAST_APPLIED
            ]
        );
        // Revealed one by one.
        let (_, mb) = masked_pair(&a, &b, &BTreeSet::from(["data.password".to_string()]));
        assert_eq!(mb["data"]["password"], "bmV3ZXI=");
    }
}
