//! Stored Kubernetes values made independently of our Rust code:
//! `tools/audit-vectors/make_vectors.py` (Python `cryptography`/`pynacl`,
//! written from the Kubernetes layouts) turns objects into protobuf or JSON
//! values, encrypted with aescbc, aesgcm, secretbox or KMS v1/v2 layouts.
//! The item format is the script's docstring.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

/// Run the script over `items`; the values, in order.
pub fn make_vectors(items: &[Value]) -> Vec<Vec<u8>> {
    let script = crate::workspace_root().join("tools/audit-vectors/make_vectors.py");
    let mut child = Command::new("python3")
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(Value::Array(items.to_vec()).to_string().as_bytes())
        .expect("writing the items");
    let out = child.wait_with_output().expect("make_vectors.py");
    assert!(
        out.status.success(),
        "make_vectors.py (run scripts/setup.sh for cryptography/pynacl): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Vec<Value> = serde_json::from_slice(&out.stdout).expect("the script's JSON");
    v.iter()
        .map(|x| {
            let hex = x["value_hex"].as_str().expect("value_hex");
            (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
                .collect()
        })
        .collect()
}
