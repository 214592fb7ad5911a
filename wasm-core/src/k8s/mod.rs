//! Kubernetes values stored in etcd: classify, decode, locate, account.
//!
//! - [`classify`]: which encoding a value uses (protobuf, JSON, CBOR, encrypted,
//!   opaque), from its first bytes; cheap enough for every key of a listing.
//! - [`decode`]: one value to the object as the API server's JSON renders it. Every
//!   top-level kind of the Kubernetes releases 1.16 to 1.37 (their protobuf definitions
//!   merged, the newer release winning where two disagree about a field), plus the
//!   unserved `v1 RangeAllocation`, decodes through generated descriptor tables
//!   ([`generated`], made by `tools/k8s-descgen`); unknown kinds decode generically,
//!   labelled as such. Errors are per value.
//! - [`parse_key`]: resource, group, namespace and name from an etcd key path.
//! - [`stats::StatsBuilder`]: what fills the database, per resource and namespace.
//!
//! Invariants: pure (no I/O); untrusted bytes never panic; recursion is bounded
//! ([`object::MAX_DEPTH`], [`generic::MAX_GUESS_DEPTH`]); decoding is lazy: nothing
//! here runs unless a caller asks for one value.

pub mod cbor;
pub mod classify;
pub mod envelope;
pub mod fuzzing;
#[rustfmt::skip]
mod generated;
pub mod generic;
pub mod object;
pub mod path;
mod render;
mod schema;
pub mod stats;
pub mod wire;

use serde::Serialize;
use serde_json::{Map, Value};

pub use cbor::CborError;
pub use classify::{Encoding, Encryption, Provider, classify};
pub use envelope::{Envelope, MAGIC, parse_envelope};
pub use object::UNKNOWN_FIELDS_KEY;
pub use path::{DEFAULT_PREFIX, KeyInfo, KeyRole, parse_key, prefix_role};
pub use stats::{DbStats, StatsBuilder};
pub use wire::{WireError, WireProblem};

/// Key of the label a generically decoded object carries.
pub const GENERIC_DECODER_KEY: &str = "x-etcd-lens-decoder";

/// How the object was turned into JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "schema", rename_all = "snake_case")]
pub enum Schema {
    /// Protobuf decoded with the generated table of this message.
    Typed { proto_message: String },
    /// Protobuf of a type the tables do not know: field numbers and guesses.
    GenericProtobuf,
    /// Stored as JSON.
    Json,
    /// Stored as CBOR.
    Cbor,
}

/// A decoded value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecodedObject {
    pub api_version: String,
    pub kind: String,
    pub schema: Schema,
    /// The object as JSON; for [`Schema::GenericProtobuf`], a labelled field dump.
    pub object: Value,
}

impl DecodedObject {
    fn meta(&self, field: &str) -> Option<&str> {
        self.object
            .get("metadata")?
            .get(field)?
            .as_str()
            .filter(|s| !s.is_empty())
    }
    /// `metadata.namespace`, when present and non-empty.
    pub fn namespace(&self) -> Option<&str> {
        self.meta("namespace")
    }
    /// `metadata.name`, when present and non-empty.
    pub fn name(&self) -> Option<&str> {
        self.meta("name")
    }
}

/// Why one value did not decode. Never contains value bytes of encrypted data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum DecodeError {
    #[error("encrypted at rest ({provider}, key {key_name:?}): cannot be decoded without the key")]
    Encrypted { provider: String, key_name: String },
    #[error("not a Kubernetes object (opaque {})", if *utf8 { "text" } else { "binary" })]
    Opaque { utf8: bool },
    #[error("Kubernetes protobuf envelope (runtime.Unknown) is malformed: {source}")]
    Envelope { source: WireError },
    #[error("{api_version} {kind}: protobuf is malformed: {source}")]
    Protobuf {
        api_version: String,
        kind: String,
        source: WireError,
    },
    #[error("content encoding {content_encoding:?} is not supported")]
    ContentEncoding { content_encoding: String },
    #[error("JSON does not parse: {message}")]
    Json { message: String },
    #[error("CBOR does not parse: {source}")]
    Cbor { source: CborError },
}

/// Decodes one stored value. Protobuf values of a kind the tables know are typed;
/// others decode generically (see [`Schema`]). Never panics.
pub fn decode(value: &[u8]) -> Result<DecodedObject, DecodeError> {
    match classify(value) {
        Encoding::Protobuf => decode_protobuf(value),
        Encoding::Json => {
            let object: Value = serde_json::from_slice(value).map_err(|e| DecodeError::Json {
                message: e.to_string(),
            })?;
            Ok(from_self_describing(object, Schema::Json))
        }
        Encoding::Cbor => {
            let object =
                cbor::cbor_to_json(value).map_err(|source| DecodeError::Cbor { source })?;
            Ok(from_self_describing(object, Schema::Cbor))
        }
        Encoding::Encrypted(e) => Err(DecodeError::Encrypted {
            provider: e.provider.as_str().to_string(),
            key_name: e.key_name,
        }),
        Encoding::Opaque { utf8 } => Err(DecodeError::Opaque { utf8 }),
    }
}

fn from_self_describing(object: Value, schema: Schema) -> DecodedObject {
    let s = |k: &str| {
        object
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    DecodedObject {
        api_version: s("apiVersion"),
        kind: s("kind"),
        schema,
        object,
    }
}

/// The generated table entry for a top-level kind.
fn kind_entry(api_version: &str, kind: &str) -> Option<&'static schema::Kind> {
    let i = generated::KINDS
        .binary_search_by(|k| (k.api_version, k.kind).cmp(&(api_version, kind)))
        .ok()?;
    generated::KINDS.get(i)
}

/// Every (apiVersion, kind) the tables decode as typed objects, sorted.
pub fn known_kinds() -> impl Iterator<Item = (&'static str, &'static str)> {
    generated::KINDS.iter().map(|k| (k.api_version, k.kind))
}

/// Plural resource name and scope of a kind k8s-pb declares as a `Resource`.
pub fn resource_of(api_version: &str, kind: &str) -> Option<(&'static str, bool)> {
    kind_entry(api_version, kind)
        .filter(|k| k.resource_impl)
        .map(|k| (k.resource, k.namespaced))
}

fn decode_protobuf(value: &[u8]) -> Result<DecodedObject, DecodeError> {
    let env = match parse_envelope(value) {
        Some(Ok(env)) => env,
        Some(Err(source)) => return Err(DecodeError::Envelope { source }),
        None => return Err(DecodeError::Opaque { utf8: false }),
    };
    if !env.content_encoding.is_empty() {
        return Err(DecodeError::ContentEncoding {
            content_encoding: env.content_encoding,
        });
    }
    let malformed = |source| DecodeError::Protobuf {
        api_version: env.api_version.clone(),
        kind: env.kind.clone(),
        source,
    };
    let (body, schema) = match kind_entry(&env.api_version, &env.kind) {
        Some(k) => {
            let body =
                object::decode_message(k.message, env.raw, env.raw_offset, 0).map_err(malformed)?;
            let m = object::message(k.message);
            let proto_message = m
                .map(|m| format!("{}.{}", m.package, m.name))
                .unwrap_or_default();
            (body, Schema::Typed { proto_message })
        }
        None => {
            let fields = generic::decode_unknown(env.raw, env.raw_offset, 0).map_err(malformed)?;
            let mut o = Map::new();
            o.insert(
                GENERIC_DECODER_KEY.to_string(),
                Value::String(format!(
                    "generic protobuf: no schema for {} {}; field numbers and wire types, nested messages and strings are guesses",
                    env.api_version, env.kind
                )),
            );
            o.insert("fields".to_string(), Value::Array(fields));
            o.insert("rawHex".to_string(), Value::String(hex::encode(env.raw)));
            (Value::Object(o), Schema::GenericProtobuf)
        }
    };
    // apiVersion and kind from the envelope first, as the API server renders them.
    let mut object = Map::new();
    object.insert(
        "apiVersion".to_string(),
        Value::String(env.api_version.clone()),
    );
    object.insert("kind".to_string(), Value::String(env.kind.clone()));
    match body {
        Value::Object(m) => object.extend(m),
        other => {
            object.insert("value".to_string(), other);
        }
    }
    Ok(DecodedObject {
        api_version: env.api_version,
        kind: env.kind,
        schema,
        object: Value::Object(object),
    })
}
