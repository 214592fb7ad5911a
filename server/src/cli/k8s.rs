//! Kubernetes helpers shared by `ls`, `get` and `stats`: the `--etcd-prefix` flag
//! and the cheap per-value summary `ls --json` prints.
//!
//! Cheap means: [`summarize`] classifies a value from its leading bytes, reads the
//! protobuf envelope's `typeMeta` (never the object inside `raw`), and for JSON
//! reads only `apiVersion`, `kind` and `metadata.{namespace,name}` (serde skips
//! everything else without building it). CBOR, rare and alpha, is converted whole.
//! Namespace and name come from the key path; JSON/CBOR `metadata` wins when
//! present (protobuf metadata would need decoding `raw`, so the path stays).

use etcd_lens_core::k8s::{self, DEFAULT_PREFIX, Encoding, parse_key};
use serde::Deserialize;
use serde_json::{Map, Value};

/// `--etcd-prefix`, as kube-apiserver's flag of that name.
#[derive(Debug, Clone, clap::Args)]
pub struct PrefixArg {
    /// Root of the Kubernetes keys (kube-apiserver's --etcd-prefix). OpenShift's
    /// /kubernetes.io/ and /openshift.io/ are recognised as well.
    #[arg(long = "etcd-prefix", value_name = "PREFIX", default_value = DEFAULT_PREFIX)]
    pub etcd_prefix: String,
}

/// What `ls --json` tells about one value.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub encoding: Encoding,
    pub api_version: Option<String>,
    pub kind: Option<String>,
    pub namespace: Option<String>,
    pub name: Option<String>,
}

#[derive(Deserialize, Default)]
struct Head {
    #[serde(rename = "apiVersion", default, deserialize_with = "lenient")]
    api_version: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    kind: Option<String>,
    /// Not an object: the whole head is dropped (streamed, never buffered).
    #[serde(default)]
    metadata: Option<MetaHead>,
}

#[derive(Deserialize, Default)]
struct MetaHead {
    #[serde(default, deserialize_with = "lenient")]
    namespace: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    name: Option<String>,
}

/// A non-empty string, or `None` for anything else (a number, null, an object).
fn lenient<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum S {
        S(String),
        Other(serde::de::IgnoredAny),
    }
    Ok(match S::deserialize(d)? {
        S::S(s) if !s.is_empty() => Some(s),
        _ => None,
    })
}

fn head_of_value(v: &Value) -> Head {
    let s = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let meta = v.get("metadata");
    Head {
        api_version: s(v.get("apiVersion")),
        kind: s(v.get("kind")),
        metadata: meta.map(|m| MetaHead {
            namespace: s(m.get("namespace")),
            name: s(m.get("name")),
        }),
    }
}

/// Classifies `value` and names the object stored under `key`. Keys outside the
/// Kubernetes roots (`prefix`, `/kubernetes.io/`, `/openshift.io/`) are just keys:
/// only their encoding is given.
pub fn summarize(key: &[u8], value: &[u8], prefix: &str) -> Summary {
    let encoding = k8s::classify(value);
    let mut s = Summary {
        encoding,
        api_version: None,
        kind: None,
        namespace: None,
        name: None,
    };
    let Some(info) = parse_key(key, prefix) else {
        return s;
    };
    s.namespace = info.namespace;
    s.name = info.name;
    let head = match &s.encoding {
        Encoding::Protobuf => match k8s::parse_envelope(value) {
            Some(Ok(env)) => Head {
                api_version: Some(env.api_version).filter(|a| !a.is_empty()),
                kind: Some(env.kind).filter(|k| !k.is_empty()),
                metadata: None,
            },
            _ => Head::default(),
        },
        Encoding::Json => serde_json::from_slice(value).unwrap_or_default(),
        Encoding::Cbor => k8s::cbor::cbor_to_json(value)
            .map(|v| head_of_value(&v))
            .unwrap_or_default(),
        Encoding::Encrypted(_) | Encoding::Opaque { .. } => Head::default(),
    };
    s.api_version = head.api_version;
    s.kind = head.kind;
    if let Some(m) = head.metadata {
        if m.namespace.is_some() {
            s.namespace = m.namespace;
        }
        if m.name.is_some() {
            s.name = m.name;
        }
    }
    s
}

/// Adds `kind`, `apiVersion`, `namespace`, `name`, `encoding` and, for encrypted
/// values, `provider` and `key_name` (plus `kms_key_id` when KMS v2 names one).
pub fn summary_fields(m: &mut Map<String, Value>, s: &Summary) {
    let opt = |o: &Option<String>| o.clone().map_or(Value::Null, Value::String);
    m.insert("kind".into(), opt(&s.kind));
    m.insert("apiVersion".into(), opt(&s.api_version));
    m.insert("namespace".into(), opt(&s.namespace));
    m.insert("name".into(), opt(&s.name));
    m.insert("encoding".into(), s.encoding.name().into());
    if let Encoding::Encrypted(e) = &s.encoding {
        m.insert("provider".into(), e.provider.as_str().into());
        m.insert("key_name".into(), e.key_name.clone().into());
        if let Some(id) = &e.kms_key_id {
            m.insert("kms_key_id".into(), id.clone().into());
        }
    }
}
