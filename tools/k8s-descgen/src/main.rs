//! k8s-descgen: turns k8s-pb's prost-generated Rust source into static
//! protobuf descriptor tables for `etcd-lens-core` (`wasm-core/src/k8s/generated.rs`)
//! and a filler for the every-kind test (`wasm-core/tests/k8s_every_kind/generated.rs`).
//!
//! Inputs (found with `cargo metadata` on `wasm-core`, where both are dev-dependencies):
//! - k8s-pb: every message (`#[derive(::prost::Message)]` struct), its fields'
//!   `#[prost(...)]` attributes (tag, scalar type, repeated/optional/map/boxed) and
//!   their Rust types (which message a field holds), plus `impl crate::Resource for X`
//!   (apiVersion, kind, plural, scope of each top-level kind).
//! - k8s-openapi (`src/v1_35`, the Kubernetes version of k8s-pb 0.9): the exact JSON
//!   field names, read from the string literals its `Serialize` impls pass to
//!   `serialize_field`. prost renames `hostIPC` to `host_ipc`, so lowerCamelCase alone
//!   would be wrong; fields are matched by name with case and punctuation removed.
//!
//! Run from the repository root: `cargo run --manifest-path tools/k8s-descgen/Cargo.toml`.
//! Output is deterministic (sorted by proto package and name).

mod emit;
mod model;
mod openapi;
mod pb;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// k8s-openapi's module for the Kubernetes release k8s-pb 0.9 was generated from.
const OPENAPI_VERSION_DIR: &str = "v1_35";

fn main() {
    let root = std::env::args()
        .nth(1)
        .map_or_else(|| PathBuf::from("."), PathBuf::from);
    let (pb_dir, openapi_dir) = locate_sources(&root);
    eprintln!(
        "k8s-pb: {}\nk8s-openapi: {}",
        pb_dir.display(),
        openapi_dir.display()
    );

    let mut messages = Vec::new();
    let mut resources = Vec::new();
    for file in rust_files(&pb_dir.join("src")) {
        let rel = file.strip_prefix(pb_dir.join("src")).unwrap();
        if rel == Path::new("lib.rs") {
            continue;
        }
        let module: Vec<String> = rel
            .parent()
            .unwrap()
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let src = std::fs::read_to_string(&file).unwrap();
        let ast = syn::parse_file(&src).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        pb::collect_pb(&ast, &module, &mut messages, &mut resources);
    }
    messages.sort_by_key(|m| (m.package(), m.name.clone()));
    resources.sort_by(|a, b| (&a.api_version, &a.kind).cmp(&(&b.api_version, &b.kind)));

    let openapi = openapi::collect_openapi(&openapi_dir.join("src").join(OPENAPI_VERSION_DIR));
    eprintln!(
        "{} messages, {} resources, {} k8s-openapi structs",
        messages.len(),
        resources.len(),
        openapi.structs.len()
    );

    let index: HashMap<String, usize> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| (m.key(), i))
        .collect();
    let json_names = openapi::json_names(&messages, &openapi);

    let tables = emit::emit_tables(&messages, &index, &json_names, &resources);
    let out = root.join("wasm-core/src/k8s/generated.rs");
    std::fs::write(&out, tables).unwrap();
    eprintln!("wrote {}", out.display());

    let filler = emit::emit_filler(&messages, &index, &resources, &openapi);
    let out = root.join("wasm-core/tests/k8s_every_kind/generated.rs");
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    std::fs::write(&out, filler).unwrap();
    eprintln!("wrote {}", out.display());
}

fn locate_sources(root: &Path) -> (PathBuf, PathBuf) {
    let out = Command::new("cargo")
        .args(["metadata", "--format-version", "1", "--manifest-path"])
        .arg(root.join("wasm-core/Cargo.toml"))
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let find = |name: &str| -> PathBuf {
        let pkg = meta["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{name} is not a dependency of wasm-core"));
        PathBuf::from(pkg["manifest_path"].as_str().unwrap())
            .parent()
            .unwrap()
            .to_path_buf()
    };
    (find("k8s-pb"), find("k8s-openapi"))
}

pub(crate) fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}
