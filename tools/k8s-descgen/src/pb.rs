//! k8s-pb's prost-generated Rust source: its messages and `Resource` impls.

use std::collections::HashMap;

use crate::model::{Card, Field, Message, Resource, Scalar};

pub fn collect_pb(
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
