//! The pinned Kubernetes releases' protobuf definitions: `inputs.tsv` names each
//! release's Go modules (`k8s.io/api`, `k8s.io/apimachinery`,
//! `k8s.io/apiextensions-apiserver`, `k8s.io/kube-aggregator` at a tag), every
//! `generated.proto` read from them and its SHA-256. `scripts/setup.sh` puts the
//! modules in Go's module cache (`go mod download`); this module reads the files from
//! there, refuses any whose hash differs, compiles each release with protox, and
//! merges the releases into one set of messages (newest first; see [`merge`]).
//!
//! Nothing is fetched here: a missing module is an error naming the `go mod download`
//! that brings it.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use protox::file::{File, FileResolver};
use protox::prost_reflect::prost_types::field_descriptor_proto::{Label, Type};
use protox::prost_reflect::prost_types::{DescriptorProto, FieldDescriptorProto};
use sha2::{Digest, Sha256};

use crate::model::{Card, Field, Message, Scalar};

/// The manifest, relative to the repository root.
pub const MANIFEST: &str = "tools/k8s-descgen/inputs.tsv";

/// Which `generated.proto` files of each module are inputs (directories inside the module).
/// `k8s.io/api` contributes every `<group>/<version>/generated.proto`.
fn wanted(module: &str, rel: &str) -> bool {
    let dir = rel.strip_suffix("/generated.proto").unwrap_or_default();
    match module {
        "k8s.io/api" => dir.split('/').count() == 2,
        "k8s.io/apimachinery" => [
            "pkg/apis/meta/v1",
            "pkg/apis/meta/v1beta1",
            "pkg/api/resource",
            "pkg/runtime",
            "pkg/runtime/schema",
            "pkg/util/intstr",
        ]
        .contains(&dir),
        "k8s.io/apiextensions-apiserver" => dir.starts_with("pkg/apis/apiextensions/v"),
        "k8s.io/kube-aggregator" => dir.starts_with("pkg/apis/apiregistration/v"),
        _ => false,
    }
}

/// One row of the manifest: a file of a module at a version, for a release.
#[derive(Debug, Clone)]
pub struct Input {
    /// Kubernetes minor release, `1.16`.
    pub release: String,
    pub module: String,
    pub version: String,
    pub sha256: String,
    /// Inside the module, `core/v1/generated.proto`.
    pub path: String,
}

impl Input {
    /// The name the file is imported by: `k8s.io/api/core/v1/generated.proto`.
    fn import_name(&self) -> String {
        format!("{}/{}", self.module, self.path)
    }
}

pub fn read_manifest(root: &Path) -> Result<Vec<Input>, String> {
    let path = root.join(MANIFEST);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        let [release, module, version, sha256, path] = cols[..] else {
            return Err(format!(
                "{MANIFEST}:{}: expected 5 tab-separated columns",
                n + 1
            ));
        };
        out.push(Input {
            release: release.into(),
            module: module.into(),
            version: version.into(),
            sha256: sha256.into(),
            path: path.into(),
        });
    }
    Ok(out)
}

/// Go's module cache: `$GOMODCACHE`, else what `go env GOMODCACHE` says (Go 1.26 at
/// /usr/local/go first), else `~/go/pkg/mod`.
pub fn module_cache() -> PathBuf {
    if let Some(d) = std::env::var_os("GOMODCACHE").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    for go in ["/usr/local/go/bin/go", "go"] {
        if let Ok(out) = Command::new(go).args(["env", "GOMODCACHE"]).output()
            && out.status.success()
        {
            let d = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if !d.is_empty() {
                return PathBuf::from(d);
            }
        }
    }
    PathBuf::from(std::env::var("HOME").unwrap_or_default()).join("go/pkg/mod")
}

/// Where `go mod download` extracts `module@version` (upper case escaped as `!x`).
pub fn module_dir(cache: &Path, module: &str, version: &str) -> PathBuf {
    let mut escaped = String::new();
    for ch in module.chars() {
        if ch.is_ascii_uppercase() {
            escaped.push('!');
            escaped.push(ch.to_ascii_lowercase());
        } else {
            escaped.push(ch);
        }
    }
    cache.join(format!("{escaped}@{version}"))
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// `--pin`: rewrites the manifest's file rows from the modules it names (each distinct
/// release/module/version row), listing every wanted `generated.proto` with its hash.
pub fn pin(root: &Path, cache: &Path) -> Result<usize, String> {
    let mut modules: Vec<(String, String, String)> = read_manifest(root)?
        .into_iter()
        .map(|i| (i.release, i.module, i.version))
        .collect();
    modules.dedup();
    let mut text = String::from(
        "# Inputs of tools/k8s-descgen: every generated.proto it reads, per Kubernetes release.\n\
         # Columns: release, Go module, version (the release's tag of that module), SHA-256 of\n\
         # the file, path inside the module. scripts/setup.sh downloads the modules with\n\
         # `go mod download`; the generator refuses a file whose hash differs. Rewrite the\n\
         # file rows after editing the module rows with `k8s-descgen --pin`.\n",
    );
    let mut n = 0;
    for (release, module, version) in &modules {
        let dir = module_dir(cache, module, version);
        let mut files = Vec::new();
        let mut stack = vec![dir.clone()];
        while let Some(d) = stack.pop() {
            let entries = std::fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))?;
            for e in entries {
                let p = e.map_err(|e| e.to_string())?.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.file_name().is_some_and(|f| f == "generated.proto") {
                    let rel = p.strip_prefix(&dir).unwrap().to_string_lossy().into_owned();
                    if wanted(module, &rel) {
                        files.push((rel, p));
                    }
                }
            }
        }
        files.sort();
        for (rel, p) in files {
            let bytes = std::fs::read(&p).map_err(|e| format!("{}: {e}", p.display()))?;
            writeln!(
                text,
                "{release}\t{module}\t{version}\t{}\t{rel}",
                sha256_hex(&bytes)
            )
            .unwrap();
            n += 1;
        }
    }
    std::fs::write(root.join(MANIFEST), text).map_err(|e| e.to_string())?;
    Ok(n)
}

/// Serves only the manifest's files of one release, each checked against its hash.
struct Pinned {
    files: HashMap<String, String>,
}

impl FileResolver for Pinned {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        match self.files.get(name) {
            Some(source) => File::from_source(name, source),
            None => Err(protox::Error::file_not_found(name)),
        }
    }
}

/// The messages of one release, compiled from its pinned files.
pub fn load_release(cache: &Path, inputs: &[&Input]) -> Result<Vec<Message>, String> {
    let mut files = HashMap::new();
    for i in inputs {
        let p = module_dir(cache, &i.module, &i.version).join(&i.path);
        let bytes = std::fs::read(&p).map_err(|e| {
            format!(
                "{}: {e}; scripts/setup.sh brings it (`go mod download {}@{}`)",
                p.display(),
                i.module,
                i.version
            )
        })?;
        let got = sha256_hex(&bytes);
        if got != i.sha256 {
            return Err(format!(
                "{}: SHA-256 {got}, {MANIFEST} pins {}",
                p.display(),
                i.sha256
            ));
        }
        let text = String::from_utf8(bytes).map_err(|e| format!("{}: {e}", p.display()))?;
        files.insert(i.import_name(), text);
    }
    let names: Vec<String> = inputs.iter().map(|i| i.import_name()).collect();
    let mut compiler = protox::Compiler::with_file_resolver(Pinned { files });
    compiler.include_imports(true);
    compiler
        .open_files(&names)
        .map_err(|e| format!("release {}: {e}", inputs[0].release))?;
    let mut out = Vec::new();
    for file in compiler.file_descriptor_set().file {
        let package = file.package().to_string();
        let Some(rest) = package.strip_prefix("k8s.io.") else {
            return Err(format!(
                "{}: package {package} is not k8s.io.*",
                file.name()
            ));
        };
        let module: Vec<String> = rest.split('.').map(str::to_string).collect();
        for m in &file.message_type {
            out.push(message_of(&module, m)?);
        }
    }
    Ok(out)
}

fn message_of(module: &[String], m: &DescriptorProto) -> Result<Message, String> {
    let entries: HashMap<&str, &DescriptorProto> = m
        .nested_type
        .iter()
        .filter(|n| n.options.as_ref().is_some_and(|o| o.map_entry()))
        .map(|n| (n.name(), n))
        .collect();
    let mut fields = Vec::new();
    for f in &m.field {
        let what = || format!("{}.{}.{}", module.join("."), m.name(), f.name());
        let (card, ty, map_key) = match entries.get(type_short(f)) {
            Some(entry) if f.r#type() == Type::Message => {
                let key = entry.field.iter().find(|e| e.number() == 1);
                let value = entry.field.iter().find(|e| e.number() == 2);
                let (Some(key), Some(value)) = (key, value) else {
                    return Err(format!("{}: map entry without key or value", what()));
                };
                (Card::Map, scalar(value).ok_or_else(what)?, scalar(key))
            }
            _ => {
                let card = if f.label() == Label::Repeated {
                    Card::Repeated
                } else {
                    Card::Optional
                };
                (card, scalar(f).ok_or_else(what)?, None)
            }
        };
        fields.push(Field {
            ident: f.name().to_string(),
            rust_ident: f.name().to_string(),
            tag: u32::try_from(f.number()).map_err(|_| what())?,
            card,
            ty,
            boxed: false,
            map_key,
        });
    }
    fields.sort_by_key(|f| f.tag);
    Ok(Message {
        module: module.to_vec(),
        name: m.name().to_string(),
        fields,
    })
}

/// `LabelsEntry` of `.k8s.io.api.core.v1.ObjectMeta.LabelsEntry`.
fn type_short(f: &FieldDescriptorProto) -> &str {
    f.type_name().rsplit('.').next().unwrap_or_default()
}

fn scalar(f: &FieldDescriptorProto) -> Option<Scalar> {
    Some(match f.r#type() {
        Type::String => Scalar::String,
        Type::Bytes => Scalar::Bytes,
        Type::Bool => Scalar::Bool,
        Type::Int32 => Scalar::Int32,
        Type::Int64 => Scalar::Int64,
        Type::Double => Scalar::Double,
        Type::Message => {
            let full = f.type_name().strip_prefix(".k8s.io.")?;
            let (pkg, name) = full.rsplit_once('.')?;
            Scalar::Message(format!("{}::{name}", pkg.replace('.', "::")))
        }
        _ => return None,
    })
}

/// Where two releases disagree about one field: the newer definition is kept.
#[derive(Debug)]
pub struct Conflict {
    pub message: String,
    pub tag: u32,
    pub newer: (String, String),
    pub older: (String, String),
}

fn describe(f: &Field) -> String {
    format!("{} {:?} {:?}", f.ident, f.card, f.ty)
}

/// Merges releases given newest first. A message takes the newest release that has it;
/// fields only older releases have (removed since) are added from the newest of those;
/// where releases give one tag different names or types, the newer wins and the
/// disagreement is returned.
pub fn merge(releases: Vec<(String, Vec<Message>)>) -> (Vec<Message>, Vec<Conflict>) {
    let mut merged: BTreeMap<String, (Message, BTreeMap<u32, String>)> = BTreeMap::new();
    let mut conflicts = Vec::new();
    for (release, messages) in releases {
        for m in messages {
            let key = m.key();
            let Some((have, from)) = merged.get_mut(&key) else {
                let from = m.fields.iter().map(|f| (f.tag, release.clone())).collect();
                merged.insert(key, (m, from));
                continue;
            };
            for f in m.fields {
                match have.fields.iter().find(|g| g.tag == f.tag) {
                    Some(g) if describe(g) == describe(&f) => {}
                    Some(g) => {
                        // Once per disagreement: the newest older release that has it.
                        let older = describe(&f);
                        if !conflicts.iter().any(|c: &Conflict| {
                            c.message == key && c.tag == f.tag && c.older.1 == older
                        }) {
                            conflicts.push(Conflict {
                                message: key.clone(),
                                tag: f.tag,
                                newer: (from[&f.tag].clone(), describe(g)),
                                older: (release.clone(), older),
                            });
                        }
                    }
                    None => {
                        from.insert(f.tag, release.clone());
                        have.fields.push(f);
                    }
                }
            }
            have.fields.sort_by_key(|f| f.tag);
        }
    }
    (merged.into_values().map(|(m, _)| m).collect(), conflicts)
}
