//! k8s-descgen: turns the protobuf definitions of several Kubernetes releases into
//! static descriptor tables for `etcd-lens-core` (`wasm-core/src/k8s/generated.rs`),
//! and k8s-pb's prost types into a filler for the every-kind test
//! (`wasm-core/tests/k8s_every_kind/generated.rs`).
//!
//! Inputs:
//! - the `generated.proto` files of Kubernetes 1.16 to today, pinned with their
//!   SHA-256 in `tools/k8s-descgen/inputs.tsv` and read from Go's module cache
//!   ([`proto`]); merged newest first, so a message or field removed from the API
//!   still decodes the objects older releases stored, and the newer release wins
//!   where two disagree about a field.
//! - k8s-pb (found with `cargo metadata` on `wasm-core`, a dev-dependency): its
//!   `impl crate::Resource for X` (plural and scope of each kind it serves) and, for
//!   the filler, its prost structs (`#[prost(...)]` tag, type, repeated/optional/map/boxed).
//! - k8s-openapi (`src/v1_35`, the Kubernetes version of k8s-pb 0.9): the exact JSON
//!   field names, read from the string literals its `Serialize` impls pass to
//!   `serialize_field` (the proto field name is the Go field's where a struct is
//!   embedded or its protobuf tag was named by hand: `Webhooks`, `aPIGroup`); fields
//!   are matched by name with case and punctuation removed.
//!
//! Run from the repository root: `cargo run --manifest-path tools/k8s-descgen/Cargo.toml`;
//! `-- --pin` rewrites the file rows of `inputs.tsv` from the modules its rows name.
//! Output is deterministic (sorted by proto package and name).

mod emit;
mod model;
mod openapi;
mod pb;
mod proto;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// k8s-openapi's module for the Kubernetes release k8s-pb 0.9 was generated from.
const OPENAPI_VERSION_DIR: &str = "v1_35";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let pin = args.iter().any(|a| a == "--pin");
    let root = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .map_or_else(|| PathBuf::from("."), PathBuf::from);
    let cache = proto::module_cache();
    if pin {
        return match proto::pin(&root, &cache) {
            Ok(n) => {
                eprintln!("pinned {n} files in {}", proto::MANIFEST);
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("k8s-descgen --pin: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let (messages, conflicts) = match releases(&root, &cache) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("k8s-descgen: {e}");
            return ExitCode::FAILURE;
        }
    };
    generate(&root, &messages, &conflicts);
    ExitCode::SUCCESS
}

/// Every pinned release compiled and merged, newest first.
fn releases(
    root: &Path,
    cache: &Path,
) -> Result<(Vec<model::Message>, Vec<proto::Conflict>), String> {
    let inputs = proto::read_manifest(root)?;
    let mut names: Vec<&str> = inputs.iter().map(|i| i.release.as_str()).collect();
    names.sort_by_key(|r| std::cmp::Reverse(release_order(r)));
    names.dedup();
    let mut loaded = Vec::new();
    for r in names {
        let files: Vec<&proto::Input> = inputs.iter().filter(|i| i.release == r).collect();
        let messages = proto::load_release(cache, &files)?;
        eprintln!(
            "release {r}: {} files, {} messages",
            files.len(),
            messages.len()
        );
        loaded.push((r.to_string(), messages));
    }
    let (mut messages, conflicts) = proto::merge(loaded);
    messages.sort_by_key(|m| (m.package(), m.name.clone()));
    Ok((messages, conflicts))
}

/// `1.16` as (1, 16), so 1.9 sorts before 1.16.
fn release_order(r: &str) -> (u32, u32) {
    let (a, b) = r.split_once('.').unwrap_or((r, "0"));
    (a.parse().unwrap_or(0), b.parse().unwrap_or(0))
}

fn generate(root: &Path, messages: &[model::Message], conflicts: &[proto::Conflict]) {
    let (pb_dir, openapi_dir) = locate_sources(root);
    eprintln!(
        "k8s-pb: {}\nk8s-openapi: {}",
        pb_dir.display(),
        openapi_dir.display()
    );

    let mut pb_messages = Vec::new();
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
        pb::collect_pb(&ast, &module, &mut pb_messages, &mut resources);
    }
    pb_messages.sort_by_key(|m| (m.package(), m.name.clone()));
    resources.sort_by(|a, b| (&a.api_version, &a.kind).cmp(&(&b.api_version, &b.kind)));

    let openapi = openapi::collect_openapi(&openapi_dir.join("src").join(OPENAPI_VERSION_DIR));
    eprintln!(
        "{} messages from the releases ({} conflicts, newer kept), {} k8s-pb messages, {} resources, {} k8s-openapi structs",
        messages.len(),
        conflicts.len(),
        pb_messages.len(),
        resources.len(),
        openapi.structs.len()
    );

    let index: HashMap<String, usize> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| (m.key(), i))
        .collect();
    let json_names = openapi::json_names(messages, &openapi);

    let tables = emit::emit_tables(messages, &index, &json_names, &resources, conflicts);
    let out = root.join("wasm-core/src/k8s/generated.rs");
    std::fs::write(&out, tables).unwrap();
    eprintln!("wrote {}", out.display());

    let pb_index: HashMap<String, usize> = pb_messages
        .iter()
        .enumerate()
        .map(|(i, m)| (m.key(), i))
        .collect();
    let filler = emit::emit_filler(&pb_messages, &pb_index, &resources, &openapi);
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
