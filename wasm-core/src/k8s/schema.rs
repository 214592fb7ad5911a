//! Shapes of the generated descriptor tables (`generated.rs`): enough of each
//! Kubernetes protobuf message to render it as the API server's JSON. The tables are
//! data, not code: one generic decoder ([`super::object`]) walks them.

/// One protobuf message of the Kubernetes API.
#[derive(Debug)]
pub(crate) struct Message {
    /// Proto package, e.g. `k8s.io.api.core.v1`.
    pub package: &'static str,
    /// Message name as the proto spells it (`JSONSchemaProps`, `CSIDriver`).
    pub name: &'static str,
    /// Messages whose Go type has its own JSON marshalling.
    pub special: Special,
    /// Sorted by tag.
    pub fields: &'static [Field],
}

/// Messages whose JSON form is not "an object of their fields".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Special {
    None,
    /// meta/v1 Time: RFC 3339 in seconds, `null` for the zero time.
    Time,
    /// meta/v1 MicroTime: RFC 3339 with microseconds.
    MicroTime,
    /// meta/v1 Duration: Go's `time.Duration` string (`1h2m3s`).
    Duration,
    /// resource.Quantity: its string.
    Quantity,
    /// intstr.IntOrString: an int or a string by its `type`.
    IntOrString,
    /// RawExtension, FieldsV1, apiextensions JSON: the `raw` bytes are JSON inlined.
    RawJson,
    /// A Go `[]string` type (`ExtraValue`, `Verbs`): a JSON array.
    StringList,
    /// apiextensions JSONSchemaPropsOrBool: the schema, else the bool.
    SchemaOrBool,
    /// apiextensions JSONSchemaPropsOrArray: the schema, else the array of schemas.
    SchemaOrArray,
    /// apiextensions JSONSchemaPropsOrStringArray: the schema, else the strings.
    SchemaOrStringArray,
}

/// One field of a message.
#[derive(Debug)]
pub(crate) struct Field {
    pub tag: u32,
    /// JSON name as the Kubernetes API spells it (`hostIPC`, `$ref`).
    pub json: &'static str,
    pub card: Card,
    /// For maps, the value type (keys are always strings in Kubernetes protos).
    pub ty: Ty,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Card {
    Single,
    Repeated,
    /// `map<string, ty>`: repeated entries with key = 1, value = 2.
    Map,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ty {
    String,
    Bytes,
    Bool,
    Int32,
    Int64,
    Double,
    /// Index into `MESSAGES`.
    Message(u16),
}

/// A top-level kind: what the envelope's apiVersion/kind select.
#[derive(Debug)]
pub(crate) struct Kind {
    pub api_version: &'static str,
    pub kind: &'static str,
    /// Index into `MESSAGES`.
    pub message: u16,
    /// Plural resource name (empty where k8s-pb has no `Resource` impl).
    pub resource: &'static str,
    pub namespaced: bool,
    /// k8s-pb has an `impl Resource` for it (the newest version of the kind).
    pub resource_impl: bool,
}
