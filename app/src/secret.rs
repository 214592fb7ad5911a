//! Masking of Secret values in decoded objects: shown masked by default,
//! revealed one value at a time on request.

use std::collections::BTreeSet;

use base64::Engine;
use serde_json::Value;

/// The mask shown instead of a value.
pub fn mask(len: usize) -> String {
    format!("•••••• ({len} bytes, masked)")
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

/// The object with every Secret value masked except the `revealed` paths.
pub fn masked(object: &Value, revealed: &BTreeSet<String>) -> Value {
    let mut o = object.clone();
    for v in values(object) {
        if revealed.contains(&v.path) {
            continue;
        }
        let (field, name) = v.path.split_once('.').unwrap_or_default();
        if let Some(slot) = o.get_mut(field).and_then(|m| m.get_mut(name)) {
            *slot = Value::String(mask(v.bytes));
        }
    }
    // The last applied configuration repeats the data in plaintext.
    if !revealed.contains("last-applied")
        && let Some(a) =
            o.pointer_mut("/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration")
    {
        let n = a.as_str().map_or(0, str::len);
        *a = Value::String(mask(n));
    }
    o
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
}
