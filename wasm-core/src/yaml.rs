//! JSON values printed as YAML, the way `kubectl get -o yaml` reads: block
//! style, keys in the object's order, strings quoted only when YAML would
//! otherwise read them as something else.

use serde_json::Value;

/// Render `v` as a YAML document (ends with a newline).
pub fn to_yaml(v: &Value) -> String {
    let mut out = String::new();
    match v {
        Value::Object(m) if !m.is_empty() => write_map(&mut out, m, 0),
        Value::Array(a) if !a.is_empty() => write_seq(&mut out, a, 0),
        other => {
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
    out
}

fn indent(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

fn write_map(out: &mut String, m: &serde_json::Map<String, Value>, depth: usize) {
    for (k, v) in m {
        indent(out, depth);
        out.push_str(&quote_if_needed(k));
        out.push(':');
        write_value(out, v, depth);
    }
}

fn write_seq(out: &mut String, a: &[Value], depth: usize) {
    for v in a {
        indent(out, depth);
        out.push('-');
        match v {
            Value::Object(m) if !m.is_empty() => {
                // First key on the dash's line, the rest aligned under it.
                let mut first = true;
                for (k, v) in m {
                    if first {
                        out.push(' ');
                        first = false;
                    } else {
                        indent(out, depth + 2);
                    }
                    out.push_str(&quote_if_needed(k));
                    out.push(':');
                    write_value(out, v, depth + 2);
                }
            }
            Value::Array(inner) if !inner.is_empty() => {
                out.push('\n');
                write_seq(out, inner, depth + 2);
            }
            other => {
                out.push(' ');
                out.push_str(&scalar(other));
                out.push('\n');
            }
        }
    }
}

fn write_value(out: &mut String, v: &Value, depth: usize) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            write_map(out, m, depth + 2);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            write_seq(out, a, depth);
        }
        Value::String(s) if s.contains('\n') && !s.contains('\r') && !s.starts_with(' ') => {
            out.push_str(" |");
            if !s.ends_with('\n') {
                out.push('-');
            }
            out.push('\n');
            for line in s.trim_end_matches('\n').split('\n') {
                if !line.is_empty() {
                    indent(out, depth + 2);
                    out.push_str(line);
                }
                out.push('\n');
            }
        }
        other => {
            out.push(' ');
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => quote_if_needed(s),
        Value::Object(_) => "{}".into(),
        Value::Array(_) => "[]".into(),
    }
}

/// Plain when YAML 1.1/1.2 would read it back as the same string.
fn quote_if_needed(s: &str) -> String {
    const SPECIAL: &[&str] = &[
        "", "~", "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE", "yes",
        "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF", "y", "Y", "n", "N",
    ];
    let first = s.chars().next().unwrap_or(' ');
    let needs = SPECIAL.contains(&s)
        || s.parse::<f64>().is_ok()
        || s.starts_with([
            '-', '?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%',
            '@', '`',
        ])
        || first.is_whitespace()
        || s.ends_with(char::is_whitespace)
        || s.contains(": ")
        || s.contains(" #")
        || s.ends_with(':')
        || s.chars().any(|c| c.is_control())
        || (s.starts_with("0x") || s.starts_with("0o"));
    if needs {
        serde_json::Value::String(s.to_string()).to_string()
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectl_like_output() {
        let v = serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "pi", "labels": {"app": "x"}, "annotations": {"n": "1"}},
            "spec": {"containers": [{"name": "c", "args": ["-c", "true"], "ports": [{"containerPort": 80}]}], "empty": [], "obj": {}},
            "data": "line1\nline2\n", "flag": "yes", "num": 3, "t": true
        });
        let y = to_yaml(&v);
        let expected = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: pi\n  labels:\n    app: x\n  annotations:\n    \"n\": \"1\"\nspec:\n  containers:\n  - name: c\n    args:\n    - \"-c\"\n    - \"true\"\n    ports:\n    - containerPort: 80\n  empty: []\n  obj: {}\ndata: |\n  line1\n  line2\nflag: \"yes\"\nnum: 3\nt: true\n";
        assert_eq!(y, expected);
    }
}
