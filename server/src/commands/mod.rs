//! The file commands: `status`, `ls`, `get`, `check`. Each opens its input
//! (a path or `-`), calls `etcd-lens-core` and prints. Output is stable:
//! `--json` gives one JSON object per line.

pub mod audit;
pub mod check;
pub mod get;
pub mod input;
pub mod k8s;
pub mod ls;
pub mod stats;
pub mod status;

use std::io::Write;

use base64::Engine;

/// A key as JSON fields: `"key"` when it is UTF-8, else `"key_base64"`.
pub fn key_fields(map: &mut serde_json::Map<String, serde_json::Value>, key: &[u8]) {
    match std::str::from_utf8(key) {
        Ok(s) => map.insert("key".into(), s.into()),
        Err(_) => map.insert(
            "key_base64".into(),
            base64::engine::general_purpose::STANDARD.encode(key).into(),
        ),
    };
}

/// A key for text output: UTF-8 as is, else escaped bytes.
pub fn key_text(key: &[u8]) -> String {
    match std::str::from_utf8(key) {
        Ok(s) => s.to_string(),
        Err(_) => key.escape_ascii().to_string(),
    }
}

/// Write a line to stdout; a closed pipe (`| head`) ends quietly.
pub fn out(line: &str) -> anyhow::Result<()> {
    let mut o = std::io::stdout().lock();
    match writeln!(o, "{line}") {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        r => Ok(r?),
    }
}
