//! The generator's model of a protobuf message, its fields and a top-level kind.

#[derive(Clone, Debug, PartialEq)]
pub enum Scalar {
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
pub enum Card {
    Optional,
    Repeated,
    Map,
}

#[derive(Debug)]
pub struct Field {
    /// Normalized for matching (no `r#`).
    pub ident: String,
    /// As written in k8s-pb (`r#type`).
    pub rust_ident: String,
    pub tag: u32,
    pub card: Card,
    pub ty: Scalar,
    pub boxed: bool,
    /// For maps, the key type (always string in the Kubernetes protos).
    pub map_key: Option<Scalar>,
}

#[derive(Debug)]
pub struct Message {
    pub module: Vec<String>,
    pub name: String,
    pub fields: Vec<Field>,
}

impl Message {
    pub fn key(&self) -> String {
        format!("{}::{}", self.module.join("::"), self.name)
    }
    pub fn package(&self) -> String {
        format!("k8s.io.{}", self.module.join("."))
    }
}

#[derive(Debug, Clone)]
pub struct Resource {
    pub key: String,
    pub api_version: String,
    pub group: String,
    pub kind: String,
    pub plural: String,
    pub namespaced: bool,
}
