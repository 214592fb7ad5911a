//! Kubernetes' own decoding as an oracle for apply-ready YAML (issue #19):
//! `tools/k8s-apply-check`, a Go tool on k8s.io/apimachinery and k8s.io/api,
//! strictly decodes each document into its typed object (unknown and
//! duplicate fields are errors), re-encodes it and compares. Its main.go says
//! exactly what the comparison forgives (zero values present on one side only).
//!
//! The tool is built once per test process with
//! [`crate::go_tool::build_into_target`] (offline, from the module cache
//! scripts/setup.sh fills) and kept in the target directory.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::Value;

/// Checks every document of `yaml` (multi-document, `---` separated) and
/// returns the tool's result lines, one object per non-empty document in
/// order: `{"index":0,"apiVersion":"v1","kind":"ConfigMap","name":"x",
/// "namespace":"y","ok":true,"typed":true}`, or with `"ok":false` and an
/// `"error"`. A kind outside the scheme (k8s.io/api, CRDs, APIServices) fails
/// with "not a built-in kind". `None` after [`crate::oracle_missing`] when Go
/// is not installed.
pub fn k8s_apply_check(yaml: &str) -> Option<Vec<Value>> {
    k8s_apply_check_args(yaml, &[])
}

/// [`k8s_apply_check`] with the tool's flags, such as `-allow-unknown`
/// (a kind outside the scheme is then `"ok":true,"typed":false` after a
/// parse-only check).
pub fn k8s_apply_check_args(yaml: &str, args: &[&str]) -> Option<Vec<Value>> {
    let bin = tool()?;
    let mut child = Command::new(bin)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("running {}: {e}", bin.display()));
    // Written from another thread: the tool answers while it reads, and a
    // long input would otherwise fill both pipes.
    let mut stdin = child.stdin.take().expect("piped stdin");
    let input = yaml.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("waiting for {}: {e}", bin.display()));
    writer
        .join()
        .expect("stdin writer")
        .unwrap_or_else(|e| panic!("writing to k8s-apply-check: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("k8s-apply-check line {l:?}: {e}"))
        })
        .collect();
    let all_ok = lines.iter().all(|l| l["ok"] == true);
    // 0: every document ok; 1: some not; anything else (2) is a usage or I/O error.
    assert!(
        out.status.code() == Some(if all_ok { 0 } else { 1 }),
        "k8s-apply-check {args:?} exited with {} ({} lines): {}",
        out.status,
        lines.len(),
        String::from_utf8_lossy(&out.stderr)
    );
    Some(lines)
}

/// Panics, naming each failing document and its error, unless every document
/// of `yaml` passes [`k8s_apply_check`] (and there is at least one).
pub fn assert_k8s_applies(yaml: &str) {
    let Some(lines) = k8s_apply_check(yaml) else {
        return;
    };
    assert!(
        !lines.is_empty(),
        "k8s-apply-check: no document in {yaml:?}"
    );
    let failed: Vec<String> = lines
        .iter()
        .filter(|l| l["ok"] != true)
        .map(|l| {
            format!(
                "document {} ({} {} {}/{}): {}",
                l["index"],
                l["apiVersion"].as_str().unwrap_or(""),
                l["kind"].as_str().unwrap_or(""),
                l["namespace"].as_str().unwrap_or(""),
                l["name"].as_str().unwrap_or(""),
                l["error"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert!(
        failed.is_empty(),
        "Kubernetes' strict decoding rejects {} of {} documents:\n{}",
        failed.len(),
        lines.len(),
        failed.join("\n")
    );
}

/// The tool's binary, built on the first call of this process
/// ([`crate::go_tool::build_into_target`]).
fn tool() -> Option<&'static Path> {
    static BIN: OnceLock<Option<PathBuf>> = OnceLock::new();
    BIN.get_or_init(|| crate::go_tool::build_into_target("k8s-apply-check"))
        .as_deref()
}
