//! How the file commands print: keys as JSON fields or text, one line at a time.
//! Output is stable: `--json` gives one JSON object per line.

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

/// Standard output was closed by its reader (`| head`): the command stops
/// quietly and exits 0 (see [`super::run`]).
#[derive(Debug, thiserror::Error)]
#[error("standard output closed")]
pub struct OutputClosed;

/// Write a line to stdout; a closed pipe (`| head`) is [`OutputClosed`].
pub fn out(line: &str) -> anyhow::Result<()> {
    let mut o = std::io::stdout().lock();
    match writeln!(o, "{line}") {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(OutputClosed.into()),
        r => Ok(r?),
    }
}
