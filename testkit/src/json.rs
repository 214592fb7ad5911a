//! Comparing decoded objects with other decoders' JSON.

use serde_json::Value;

/// Drops null, false, 0, "", [] and {} (after pruning their contents): Go's
/// zero values are on the wire (and in our output) but omitted by the API
/// server and by k8s-openapi. Array elements keep their places: one that
/// prunes to nothing stays as an empty value of its kind.
pub fn prune(v: &Value) -> Option<Value> {
    match v {
        Value::Null | Value::Bool(false) => None,
        Value::Number(n) if n.as_f64() == Some(0.0) => None,
        Value::String(s) if s.is_empty() => None,
        Value::Array(a) => {
            let a: Vec<Value> = a
                .iter()
                .map(|x| prune(x).unwrap_or_else(|| empty_like(x)))
                .collect();
            (!a.is_empty()).then_some(Value::Array(a))
        }
        Value::Object(m) => {
            let m: serde_json::Map<String, Value> = m
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), prune(v)?)))
                .collect();
            (!m.is_empty()).then_some(Value::Object(m))
        }
        other => Some(other.clone()),
    }
}

fn empty_like(v: &Value) -> Value {
    match v {
        Value::Object(_) => Value::Object(serde_json::Map::new()),
        Value::Array(_) => Value::Array(Vec::new()),
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeros_go_and_array_places_stay() {
        let v = serde_json::json!({"a": 0, "b": "", "c": [{"x": false}, {"y": 1}], "d": {"e": null}, "f": "k"});
        assert_eq!(
            prune(&v),
            Some(serde_json::json!({"c": [{}, {"y": 1}], "f": "k"}))
        );
    }
}
