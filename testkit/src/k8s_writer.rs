//! Kubernetes objects written into a real etcd by the API server's own storage
//! code (issue #16): `tools/k8s-writer`, a Go tool on k8s.io/apiserver's etcd3
//! store, protobuf and JSON storage codecs and EncryptionConfiguration
//! transformers (KMS v2 through a fake plugin it serves itself). Its main.go
//! lists what it writes under which provider and media type.
//!
//! The binary is scripts/setup.sh's (`$K8S_WRITER_DIR`, default
//! `/opt/etcd-lens-tools/k8s-writer`) when its STAMP matches the tool's
//! sources; otherwise it is built once per test process with
//! [`crate::go_tool::build_into_target`] (offline, from the module cache
//! setup.sh fills) into `go-tools/` beside the test binaries.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

/// Where scripts/setup.sh builds the tool unless `K8S_WRITER_DIR` says otherwise.
pub const DEFAULT_DIR: &str = "/opt/etcd-lens-tools/k8s-writer";

/// What one run wrote.
pub struct Written {
    /// One line per key, in writing order: `key`, `resource`, `provider`
    /// (`identity` for plaintext, `kms:v2` for the fake plugin's), `keyName`,
    /// `phase`, `config`, `modRevision`, `mediaType` (the storage codec's:
    /// `application/vnd.kubernetes.protobuf` or `application/json`), `kms`
    /// (KMS v2 only: the stored EncryptedObject as the apiserver's type reads
    /// it: `keyID`, `encryptedDEKSourceType`, `annotations`, sizes), `object`
    /// (apimachinery's JSON of the store's read).
    pub lines: Vec<Value>,
    /// The EncryptionConfiguration YAML that reads every Secret written (the last phase's).
    pub final_config: String,
}

/// Runs the tool against `endpoint` (an `http://127.0.0.1:PORT` client URL),
/// its EncryptionConfiguration files in `config_dir`. `None` after
/// [`crate::oracle_missing`] when Go is not installed. Panics with the tool's
/// stderr when it fails.
pub fn k8s_write(endpoint: &str, config_dir: &Path) -> Option<Written> {
    let bin = tool()?;
    let out = Command::new(bin)
        .arg("-endpoint")
        .arg(endpoint)
        .arg("-config-dir")
        .arg(config_dir)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", bin.display()));
    assert!(
        out.status.success(),
        "k8s-writer exited with {}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("k8s-writer line {l:?}: {e}")))
        .collect();
    let path = config_dir.join("final.yaml");
    let final_config = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    Some(Written {
        lines,
        final_config,
    })
}

/// The stamp scripts/setup.sh writes beside the binary: the first 16 hex
/// digits of the SHA-256 of go.mod, go.sum and every `.go` file in C-locale
/// order (coreutils' `sha256sum`, the same command as the script's).
fn source_stamp(src: &Path) -> Option<String> {
    let out = Command::new("sh")
        .current_dir(src)
        .arg("-c")
        .arg("cat go.mod go.sum $(LC_ALL=C ls *.go) | sha256sum | cut -c1-16")
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn tool() -> Option<&'static Path> {
    static BIN: OnceLock<Option<PathBuf>> = OnceLock::new();
    BIN.get_or_init(|| {
        let src = crate::workspace_root().join("tools/k8s-writer");
        let setup_dir = PathBuf::from(
            std::env::var("K8S_WRITER_DIR").unwrap_or_else(|_| DEFAULT_DIR.to_string()),
        );
        let prebuilt = setup_dir.join("k8s-writer");
        let stamp = std::fs::read_to_string(setup_dir.join("STAMP")).ok();
        if prebuilt.exists() && stamp.map(|s| s.trim().to_string()) == source_stamp(&src) {
            return Some(prebuilt);
        }
        crate::go_tool::build_into_target("k8s-writer")
    })
    .as_deref()
}
