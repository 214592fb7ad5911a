//! k8s-openapi's `Serialize` impls: the exact JSON field names.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use syn::visit::Visit;

use crate::model::{Card, Message, Scalar};
use crate::rust_files;

pub struct OpenApi {
    /// (module path like `api::core::v1`, lowercased struct name) -> (real name, JSON field names)
    pub structs: HashMap<(String, String), (String, Vec<String>)>,
}

pub fn collect_openapi(dir: &Path) -> OpenApi {
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

pub fn normalize(s: &str) -> String {
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
pub fn json_names(messages: &[Message], openapi: &OpenApi) -> Vec<Vec<String>> {
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
