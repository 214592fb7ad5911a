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

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use syn::visit::Visit;

/// k8s-openapi's module for the Kubernetes release k8s-pb 0.9 was generated from.
const OPENAPI_VERSION_DIR: &str = "v1_35";

#[derive(Clone, Debug, PartialEq)]
enum Scalar {
    String,
    Bytes,
    Bool,
    Int32,
    Int64,
    Double,
    /// Key of the message (`api::core::v1::Pod`).
    Message(String),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Card {
    Optional,
    Repeated,
    Map,
}

#[derive(Debug)]
struct Field {
    /// Normalized for matching (no `r#`).
    ident: String,
    /// As written in k8s-pb (`r#type`).
    rust_ident: String,
    tag: u32,
    card: Card,
    ty: Scalar,
    boxed: bool,
    /// For maps, the key type (always string in the Kubernetes protos).
    map_key: Option<Scalar>,
}

#[derive(Debug)]
struct Message {
    module: Vec<String>,
    name: String,
    fields: Vec<Field>,
}

impl Message {
    fn key(&self) -> String {
        format!("{}::{}", self.module.join("::"), self.name)
    }
    fn package(&self) -> String {
        format!("k8s.io.{}", self.module.join("."))
    }
}

#[derive(Debug, Clone)]
struct Resource {
    key: String,
    api_version: String,
    group: String,
    kind: String,
    plural: String,
    namespaced: bool,
}

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
        collect_pb(&ast, &module, &mut messages, &mut resources);
    }
    messages.sort_by_key(|m| (m.package(), m.name.clone()));
    resources.sort_by(|a, b| (&a.api_version, &a.kind).cmp(&(&b.api_version, &b.kind)));

    let openapi = collect_openapi(&openapi_dir.join("src").join(OPENAPI_VERSION_DIR));
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
    let json_names = json_names(&messages, &openapi);

    let tables = emit_tables(&messages, &index, &json_names, &resources);
    let out = root.join("wasm-core/src/k8s/generated.rs");
    std::fs::write(&out, tables).unwrap();
    eprintln!("wrote {}", out.display());

    let filler = emit_filler(&messages, &index, &resources, &openapi);
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

fn rust_files(dir: &Path) -> Vec<PathBuf> {
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

fn collect_pb(
    ast: &syn::File,
    module: &[String],
    messages: &mut Vec<Message>,
    resources: &mut Vec<Resource>,
) {
    for item in &ast.items {
        match item {
            syn::Item::Struct(s) if is_prost_message(&s.attrs) => {
                let mut fields = Vec::new();
                for f in &s.fields {
                    let Some(attr) = f.attrs.iter().find(|a| a.path().is_ident("prost")) else {
                        continue;
                    };
                    let rust_ident = f.ident.as_ref().unwrap().to_string();
                    let mut field = parse_field(
                        rust_ident.trim_start_matches("r#").to_string(),
                        attr,
                        &f.ty,
                        module,
                    );
                    field.rust_ident = rust_ident;
                    fields.push(field);
                }
                fields.sort_by_key(|f| f.tag);
                messages.push(Message {
                    module: module.to_vec(),
                    name: s.ident.to_string(),
                    fields,
                });
            }
            syn::Item::Impl(imp) => {
                let Some((_, path, _)) = &imp.trait_ else {
                    continue;
                };
                if path.segments.last().unwrap().ident != "Resource" {
                    continue;
                }
                let syn::Type::Path(tp) = &*imp.self_ty else {
                    continue;
                };
                let name = tp.path.segments.last().unwrap().ident.to_string();
                let mut consts = HashMap::new();
                let mut namespaced = false;
                for ii in &imp.items {
                    match ii {
                        syn::ImplItem::Const(c) => {
                            if let syn::Expr::Lit(syn::ExprLit {
                                lit: syn::Lit::Str(s),
                                ..
                            }) = &c.expr
                            {
                                consts.insert(c.ident.to_string(), s.value());
                            }
                        }
                        syn::ImplItem::Type(t) => {
                            namespaced = quote::quote!(#t)
                                .to_string()
                                .contains("NamespaceResourceScope");
                        }
                        _ => {}
                    }
                }
                resources.push(Resource {
                    key: format!("{}::{name}", module.join("::")),
                    api_version: consts["API_VERSION"].clone(),
                    group: consts["GROUP"].clone(),
                    kind: consts["KIND"].clone(),
                    plural: consts["URL_PATH_SEGMENT"].clone(),
                    namespaced,
                });
            }
            _ => {}
        }
    }
}

fn is_prost_message(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("derive") && quote::quote!(#a).to_string().contains("prost :: Message")
    })
}

/// Splits `string, optional, tag = "1"` at commas outside quotes.
fn split_attr(s: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut in_q = false;
    for ch in s.chars() {
        match ch {
            '"' => {
                in_q = !in_q;
                cur.push(ch);
            }
            ',' if !in_q => parts.push(std::mem::take(&mut cur)),
            _ => cur.push(ch),
        }
    }
    parts.push(cur);
    parts
        .into_iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

fn scalar_of(word: &str) -> Option<Scalar> {
    Some(match word {
        "string" => Scalar::String,
        "bytes" => Scalar::Bytes,
        "bool" => Scalar::Bool,
        "int32" => Scalar::Int32,
        "int64" => Scalar::Int64,
        "double" => Scalar::Double,
        _ => return None,
    })
}

fn parse_field(ident: String, attr: &syn::Attribute, ty: &syn::Type, module: &[String]) -> Field {
    let syn::Meta::List(list) = &attr.meta else {
        panic!("prost attr without list")
    };
    let parts = split_attr(&list.tokens.to_string());
    let mut tag = None;
    let mut card = Card::Optional;
    let mut scalar = None;
    let mut boxed = false;
    let mut map_key = None;
    for p in &parts {
        let (k, v) = match p.split_once('=') {
            Some((k, v)) => (k.trim(), Some(v.trim().trim_matches('"'))),
            None => (p.as_str(), None),
        };
        match (k, v) {
            ("tag", Some(v)) => tag = Some(v.parse().unwrap()),
            ("optional", None) => card = Card::Optional,
            ("repeated", None) => card = Card::Repeated,
            ("boxed", None) => boxed = true,
            ("packed", _) => {}
            ("message", None) => scalar = Some(Scalar::Message(message_key(ty, module))),
            ("btree_map" | "map" | "hash_map", Some(v)) => {
                card = Card::Map;
                let (kt, vt) = v.split_once(',').unwrap();
                map_key = Some(scalar_of(kt.trim()).expect("map key"));
                scalar = Some(match vt.trim() {
                    "message" => Scalar::Message(message_key(ty, module)),
                    other => scalar_of(other).unwrap_or_else(|| panic!("map value {other}")),
                });
            }
            (w, _) => {
                if let Some(s) = scalar_of(w) {
                    scalar = Some(s);
                } else {
                    panic!("unknown prost attribute part {p:?} on {ident}");
                }
            }
        }
    }
    Field {
        rust_ident: ident.clone(),
        ident,
        tag: tag.expect("tag"),
        card,
        ty: scalar.expect("type"),
        boxed,
        map_key,
    }
}

/// The innermost type path of `Option<Box<T>>`, `Vec<T>`, `BTreeMap<K, T>`, resolved
/// against the module the field is declared in.
fn message_key(ty: &syn::Type, module: &[String]) -> String {
    let syn::Type::Path(tp) = ty else {
        panic!("unexpected type {}", quote::quote!(#ty))
    };
    let last = tp.path.segments.last().unwrap();
    let wrapper = ["Option", "Box", "Vec", "BTreeMap", "HashMap"];
    if wrapper.contains(&last.ident.to_string().as_str()) {
        let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
            panic!()
        };
        let inner = args
            .args
            .iter()
            .filter_map(|a| {
                if let syn::GenericArgument::Type(t) = a {
                    Some(t)
                } else {
                    None
                }
            })
            .last()
            .unwrap();
        return message_key(inner, module);
    }
    let mut m: Vec<String> = module.to_vec();
    let segs: Vec<String> = tp
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    for s in &segs[..segs.len() - 1] {
        match s.as_str() {
            "super" => {
                m.pop();
            }
            "crate" => m.clear(),
            "self" => {}
            other => m.push(other.to_string()),
        }
    }
    format!("{}::{}", m.join("::"), segs.last().unwrap())
}

struct OpenApi {
    /// (module path like `api::core::v1`, lowercased struct name) -> (real name, JSON field names)
    structs: HashMap<(String, String), (String, Vec<String>)>,
}

fn collect_openapi(dir: &Path) -> OpenApi {
    struct V<'a> {
        module: String,
        out: &'a mut HashMap<(String, String), (String, Vec<String>)>,
    }
    struct Calls(Vec<String>);
    impl<'ast> Visit<'ast> for Calls {
        fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
            if let syn::Expr::Path(p) = &*c.func
                && p.path
                    .segments
                    .last()
                    .is_some_and(|s| s.ident == "serialize_field")
                && let Some(syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                })) = c.args.iter().nth(1)
            {
                self.0.push(s.value());
            }
            syn::visit::visit_expr_call(self, c);
        }
    }
    impl<'ast> Visit<'ast> for V<'_> {
        fn visit_item_impl(&mut self, imp: &'ast syn::ItemImpl) {
            let Some((_, path, _)) = &imp.trait_ else {
                return;
            };
            if path.segments.last().unwrap().ident != "Serialize" {
                return;
            }
            let syn::Type::Path(tp) = &*imp.self_ty else {
                return;
            };
            let name = tp.path.segments.last().unwrap().ident.to_string();
            let mut calls = Calls(Vec::new());
            calls.visit_item_impl(imp);
            self.out
                .insert((self.module.clone(), name.to_lowercase()), (name, calls.0));
        }
    }
    let mut structs = HashMap::new();
    for file in rust_files(dir) {
        let rel = file.strip_prefix(dir).unwrap();
        let module: Vec<String> = rel
            .parent()
            .unwrap()
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let src = std::fs::read_to_string(&file).unwrap();
        let ast = syn::parse_file(&src).unwrap();
        V {
            module: module.join("::"),
            out: &mut structs,
        }
        .visit_file(&ast);
    }
    OpenApi { structs }
}

fn normalize(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn lower_camel(ident: &str) -> String {
    let mut out = String::new();
    let mut up = false;
    for ch in ident.chars() {
        if ch == '_' {
            up = true;
        } else if up {
            out.push(ch.to_ascii_uppercase());
            up = false;
        } else {
            out.push(ch);
        }
    }
    out
}

/// JSON name per (message index, field index): the same struct in k8s-openapi first,
/// then the most common spelling of that normalized name anywhere in k8s-openapi (for
/// versions k8s-openapi no longer carries), then lowerCamelCase.
fn json_names(messages: &[Message], openapi: &OpenApi) -> Vec<Vec<String>> {
    let mut global: HashMap<String, BTreeMap<String, usize>> = HashMap::new();
    for (_, names) in openapi.structs.values() {
        for n in names {
            *global
                .entry(normalize(n))
                .or_default()
                .entry(n.clone())
                .or_default() += 1;
        }
    }
    let (mut exact, mut fallback, mut camel) = (0, 0, 0);
    let (mut inline, mut other_version) = (0, 0);
    let keyed: HashMap<String, &Message> = messages.iter().map(|m| (m.key(), m)).collect();
    let out = messages
        .iter()
        .map(|m| {
            let own = openapi_struct(m, openapi);
            if own.is_some()
                && openapi
                    .structs
                    .get(&(m.module.join("::"), m.name.to_lowercase()))
                    .is_none()
            {
                other_version += 1;
            }
            m.fields
                .iter()
                .map(|f| {
                    let n = normalize(&f.ident);
                    if let Some(j) =
                        own.and_then(|(_, names)| names.iter().find(|j| normalize(j) == n))
                    {
                        exact += 1;
                        return j.clone();
                    }
                    // Go's `json:",inline"` embedding (Volume.VolumeSource, Probe.ProbeHandler):
                    // k8s-openapi has the embedded struct's fields in the outer struct.
                    if let (Some((_, names)), Scalar::Message(k)) = (own, &f.ty) {
                        let inner = keyed[k];
                        let own_names: BTreeSet<String> =
                            names.iter().map(|j| normalize(j)).collect();
                        let hits = inner
                            .fields
                            .iter()
                            .filter(|g| own_names.contains(&normalize(&g.ident)))
                            .count();
                        if !inner.fields.is_empty()
                            && hits * 2 >= inner.fields.len()
                            && f.card == Card::Optional
                            && !["metadata", "spec", "status"].contains(&f.ident.as_str())
                        {
                            inline += 1;
                            return String::new();
                        }
                    }
                    if let Some(spellings) = global.get(&n) {
                        fallback += 1;
                        return spellings.iter().max_by_key(|(_, c)| **c).unwrap().0.clone();
                    }
                    camel += 1;
                    lower_camel(&f.ident)
                })
                .collect()
        })
        .collect();
    eprintln!(
        "json names: {exact} from the k8s-openapi struct ({other_version} structs matched in another API version), \
         {inline} inline embeddings, {fallback} by name elsewhere, {camel} lowerCamelCase"
    );
    out
}

/// The k8s-openapi struct for a message: same module and name, else (for API versions
/// k8s-openapi no longer has) the same-named struct of another version sharing most fields.
fn openapi_struct<'a>(m: &Message, openapi: &'a OpenApi) -> Option<&'a (String, Vec<String>)> {
    let lname = m.name.to_lowercase();
    if let Some(s) = openapi.structs.get(&(m.module.join("::"), lname.clone())) {
        return Some(s);
    }
    let fields: BTreeSet<String> = m.fields.iter().map(|f| normalize(&f.ident)).collect();
    let mut candidates: Vec<(&(String, String), &(String, Vec<String>))> = openapi
        .structs
        .iter()
        .filter(|((_, n), _)| *n == lname)
        .collect();
    candidates.sort_by_key(|(k, _)| (*k).clone());
    candidates
        .into_iter()
        .map(|(_, s)| {
            (
                s.1.iter()
                    .filter(|j| fields.contains(&normalize(j)))
                    .count(),
                s,
            )
        })
        .filter(|(hits, _)| *hits * 2 >= fields.len())
        .max_by_key(|(hits, _)| *hits)
        .map(|(_, s)| s)
}

fn special_of(m: &Message) -> &'static str {
    match (m.package().as_str(), m.name.as_str()) {
        ("k8s.io.apimachinery.pkg.apis.meta.v1", "Time") => "Time",
        ("k8s.io.apimachinery.pkg.apis.meta.v1", "MicroTime") => "MicroTime",
        ("k8s.io.apimachinery.pkg.apis.meta.v1", "Duration") => "Duration",
        ("k8s.io.apimachinery.pkg.apis.meta.v1", "FieldsV1") => "RawJson",
        ("k8s.io.apimachinery.pkg.apis.meta.v1", "Verbs") => "StringList",
        ("k8s.io.apimachinery.pkg.api.resource", "Quantity" | "QuantityValue") => "Quantity",
        ("k8s.io.apimachinery.pkg.util.intstr", "IntOrString") => "IntOrString",
        ("k8s.io.apimachinery.pkg.runtime", "RawExtension") => "RawJson",
        (p, "Json") if p.starts_with("k8s.io.apiextensions_apiserver.") => "RawJson",
        (p, "JsonSchemaPropsOrBool") if p.starts_with("k8s.io.apiextensions_apiserver.") => {
            "SchemaOrBool"
        }
        (p, "JsonSchemaPropsOrArray") if p.starts_with("k8s.io.apiextensions_apiserver.") => {
            "SchemaOrArray"
        }
        (p, "JsonSchemaPropsOrStringArray") if p.starts_with("k8s.io.apiextensions_apiserver.") => {
            "SchemaOrStringArray"
        }
        (_, "ExtraValue") => "StringList",
        _ => "None",
    }
}

fn ty_code(s: &Scalar, index: &HashMap<String, usize>) -> String {
    match s {
        Scalar::String => "Ty::String".into(),
        Scalar::Bytes => "Ty::Bytes".into(),
        Scalar::Bool => "Ty::Bool".into(),
        Scalar::Int32 => "Ty::Int32".into(),
        Scalar::Int64 => "Ty::Int64".into(),
        Scalar::Double => "Ty::Double".into(),
        Scalar::Message(k) => format!(
            "Ty::Message({})",
            index.get(k).unwrap_or_else(|| panic!("unresolved {k}"))
        ),
    }
}

/// The API group a k8s-pb module's kinds belong to: taken from the `Resource` impls
/// of any version of that group, else derived from the directory name.
fn group_of(module: &[String], resources: &[Resource], messages: &[Message]) -> String {
    let dir = &module[..module.len() - 1];
    let _ = messages;
    for r in resources {
        let rmod: Vec<&str> = r.key.split("::").collect();
        if rmod.len() >= 2
            && rmod[..rmod.len() - 2] == dir.iter().map(String::as_str).collect::<Vec<_>>()[..]
        {
            return r.group.clone();
        }
    }
    let last = dir.last().unwrap().as_str();
    match (dir[0].as_str(), last) {
        ("api", "core") => String::new(),
        ("api", "apps" | "batch" | "autoscaling" | "policy" | "extensions") => last.to_string(),
        ("apimachinery", _) => "meta.k8s.io".to_string(),
        _ => format!("{last}.k8s.io"),
    }
}

fn emit_tables(
    messages: &[Message],
    index: &HashMap<String, usize>,
    json: &[Vec<String>],
    resources: &[Resource],
) -> String {
    let mut s = String::new();
    s.push_str(
        "// @generated by tools/k8s-descgen from k8s-pb 0.9.0 (Kubernetes 1.35 protos) and\n\
         // k8s-openapi 0.29.0 (v1_35, for JSON field names). Do not edit by hand; rerun:\n\
         // `cargo run --manifest-path tools/k8s-descgen/Cargo.toml`.\n\
         #![allow(clippy::unreadable_literal)]\n\n\
         use super::schema::{Card, Field, Kind, Message, Special, Ty};\n\n",
    );
    writeln!(s, "pub(crate) static MESSAGES: &[Message] = &[").unwrap();
    for (i, m) in messages.iter().enumerate() {
        writeln!(
            s,
            "    // {i}\n    Message {{ package: {:?}, name: {:?}, special: Special::{}, fields: &[",
            m.package(),
            m.name,
            special_of(m)
        )
        .unwrap();
        for (f, j) in m.fields.iter().zip(&json[i]) {
            let card = match f.card {
                Card::Optional => "Card::Single",
                Card::Repeated => "Card::Repeated",
                Card::Map => "Card::Map",
            };
            assert!(
                f.map_key.as_ref().is_none_or(|k| *k == Scalar::String),
                "non-string map key"
            );
            writeln!(
                s,
                "        Field {{ tag: {}, json: {:?}, card: {card}, ty: {} }},",
                f.tag,
                j,
                ty_code(&f.ty, index)
            )
            .unwrap();
        }
        writeln!(s, "    ] }},").unwrap();
    }
    writeln!(s, "];\n").unwrap();

    // Top-level kinds: every `Resource` impl, plus, for versions k8s-pb has protos but no
    // `Resource` impls for (older API versions still found in etcd), each message `X`
    // with an `XList` sibling whose `items` are `X` and a `metadata` field.
    let mut kinds: BTreeMap<(String, String), (usize, String, bool, bool)> = BTreeMap::new();
    for r in resources {
        kinds.insert(
            (r.api_version.clone(), r.kind.clone()),
            (index[&r.key], r.plural.clone(), r.namespaced, true),
        );
    }
    let by_key: HashMap<String, &Message> = messages.iter().map(|m| (m.key(), m)).collect();
    for m in messages {
        let Some(list) = by_key.get(&format!("{}List", m.key())) else {
            continue;
        };
        let items_ok = list.fields.iter().any(|f| {
            f.ident == "items" && f.card == Card::Repeated && f.ty == Scalar::Message(m.key())
        });
        let has_meta = m.fields.iter().any(|f| f.ident == "metadata");
        if !items_ok || !has_meta || m.module[0] == "apimachinery" || m.module[0] == "metrics" {
            continue;
        }
        let group = group_of(&m.module, resources, messages);
        let version = m.module.last().unwrap();
        let api_version = if group.is_empty() {
            version.clone()
        } else {
            format!("{group}/{version}")
        };
        let namespaced_guess = resources
            .iter()
            .find(|r| r.kind == m.name)
            .is_none_or(|r| r.namespaced);
        kinds.entry((api_version, m.name.clone())).or_insert((
            index[&m.key()],
            String::new(),
            namespaced_guess,
            false,
        ));
    }
    writeln!(
        s,
        "/// Top-level kinds, sorted by (apiVersion, kind) for binary search. `resource` is the\n\
         /// plural from k8s-pb's `Resource` impl, empty for kinds inferred from `XList` messages."
    )
    .unwrap();
    writeln!(s, "pub(crate) static KINDS: &[Kind] = &[").unwrap();
    for ((av, k), (idx, plural, ns, has_impl)) in &kinds {
        writeln!(
            s,
            "    Kind {{ api_version: {av:?}, kind: {k:?}, message: {idx}, resource: {plural:?}, namespaced: {ns}, resource_impl: {has_impl} }},"
        )
        .unwrap();
    }
    writeln!(s, "];").unwrap();
    s
}

/// Rust path of a k8s-pb message.
fn pb_path(m: &Message) -> String {
    format!("k8s_pb::{}", m.key())
}

fn emit_filler(
    messages: &[Message],
    index: &HashMap<String, usize>,
    resources: &[Resource],
    openapi: &OpenApi,
) -> String {
    // Only messages reachable from a top-level kind.
    let mut reach = BTreeSet::new();
    let mut stack: Vec<usize> = resources.iter().map(|r| index[&r.key]).collect();
    while let Some(i) = stack.pop() {
        if reach.insert(i) {
            for f in &messages[i].fields {
                if let Scalar::Message(k) = &f.ty {
                    stack.push(index[k]);
                }
            }
        }
    }
    let mut s = String::new();
    s.push_str(
        "// @generated by tools/k8s-descgen: fills every field of every message reachable from a\n\
         // k8s-pb top-level kind. Do not edit by hand.\n\
         #![allow(clippy::all, clippy::pedantic, unused_mut)]\n\n\
         use super::Ctx;\n\n",
    );
    for &i in &reach {
        let m = &messages[i];
        let path = pb_path(m);
        writeln!(s, "pub fn fill_{i}(c: &mut Ctx) -> {path} {{").unwrap();
        writeln!(s, "    let mut m = {path}::default();").unwrap();
        writeln!(s, "    if !c.enter({i}) {{ return m; }}").unwrap();
        match special_of(m) {
            "Time" => writeln!(s, "    m.seconds = Some(c.seconds()); m.nanos = Some(0);").unwrap(),
            "MicroTime" => writeln!(
                s,
                "    m.seconds = Some(c.seconds()); m.nanos = Some(c.micros() * 1000);"
            )
            .unwrap(),
            "Duration" => writeln!(s, "    m.duration = Some(c.small() * 1_000_000_000);").unwrap(),
            "Quantity" => writeln!(s, "    m.string = Some(c.quantity());").unwrap(),
            "IntOrString" => {
                writeln!(s, "    m.r#type = Some(1); m.str_val = Some(c.string());").unwrap()
            }
            "RawJson" => writeln!(s, "    m.raw = Some(c.raw_json());").unwrap(),
            "SchemaOrBool" => writeln!(s, "    m.allows = Some(true);").unwrap(),
            "SchemaOrStringArray" => writeln!(s, "    m.property = vec![c.string()];").unwrap(),
            "SchemaOrArray" => {
                writeln!(s, "    m.j_son_schemas = vec![Default::default()];").unwrap()
            }
            "StringList" => writeln!(s, "    m.items = vec![c.string()];").unwrap(),
            _ => {
                for f in &m.fields {
                    let ident = &f.rust_ident;
                    let value = match &f.ty {
                        Scalar::String => "c.string()".to_string(),
                        Scalar::Bytes => "c.bytes()".to_string(),
                        Scalar::Bool => "true".to_string(),
                        Scalar::Int32 => "c.int32()".to_string(),
                        Scalar::Int64 => "c.int64()".to_string(),
                        Scalar::Double => "c.double()".to_string(),
                        Scalar::Message(k) => format!("fill_{}(c)", index[k]),
                    };
                    let value = if f.boxed {
                        format!("Box::new({value})")
                    } else {
                        value
                    };
                    let stmt = match f.card {
                        Card::Optional => format!("m.{ident} = Some({value});"),
                        Card::Repeated => format!("m.{ident} = vec![{value}];"),
                        Card::Map => format!("m.{ident}.insert(c.string(), {value});"),
                    };
                    writeln!(s, "    {stmt}").unwrap();
                }
            }
        }
        writeln!(s, "    c.leave({i});\n    m\n}}\n").unwrap();
    }
    writeln!(
        s,
        "/// Every k8s-pb top-level kind (each `impl k8s_pb::Resource`)."
    )
    .unwrap();
    writeln!(s, "pub static KINDS: &[super::KindCase] = &[").unwrap();
    for r in resources {
        let i = index[&r.key];
        let module = &messages[i].module;
        let openapi_ty = openapi
            .structs
            .get(&(module.join("::"), r.kind.to_lowercase()))
            .map(|(name, _)| format!("k8s_openapi::{}::{name}", module.join("::")));
        let check = match &openapi_ty {
            Some(t) => format!("Some(|v| super::openapi_roundtrip::<{t}>(v))"),
            None => "None".to_string(),
        };
        writeln!(
            s,
            "    super::KindCase {{ api_version: {:?}, kind: {:?}, encode: |c| prost::Message::encode_to_vec(&fill_{i}(c)), openapi: {check} }},",
            r.api_version, r.kind
        )
        .unwrap();
    }
    writeln!(s, "];").unwrap();
    s
}
