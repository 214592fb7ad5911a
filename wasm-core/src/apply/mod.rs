//! A decoded object made ready for `kubectl apply`: the fields the cluster
//! sets on every object are dropped, the ones it assigns per object are
//! handled by a documented default that a flag changes, and Secret data is
//! kept only when asked for explicitly.
//!
//! Always dropped (the API server sets them on create, and sending them
//! fails or is ignored): `metadata.uid`, `resourceVersion`,
//! `creationTimestamp`, `generation`, `managedFields`, `selfLink`,
//! `deletionTimestamp`, `deletionGracePeriodSeconds`, and `status`.
//!
//! Also dropped wherever object metadata appears (the object's and its
//! templates'): `clusterName`, a field Kubernetes removed in 1.25 (never
//! used; objects written by 1.24 and older carry it, and today's API servers
//! reject it as unknown under strict validation).
//!
//! Handled by default, each with an option to keep it:
//! - `metadata.ownerReferences` whose owner is not part of the export are
//!   dropped: the garbage collector deletes an object whose owners' uids are
//!   all gone. References to owners in the export are kept, but the owner
//!   gets a new uid when created, so such a child is replaced by its
//!   controller (a note says so).
//! - `kubectl.kubernetes.io/last-applied-configuration` is dropped:
//!   `kubectl apply` writes it anew from the document it applies, so a stale
//!   copy only misleads, and on a Secret it repeats the data in plaintext.
//! - Service `spec.clusterIP`/`clusterIPs` (unless `None`, a headless
//!   Service), `spec.ports[].nodePort` and `spec.healthCheckNodePort` are
//!   dropped: the cluster assigns them again, and a kept one fails when it is
//!   taken.
//! - PersistentVolume `spec.claimRef` keeps the claim's namespace and name
//!   and drops its `uid` and `resourceVersion`, so the volume binds to the
//!   restored claim instead of staying `Released`.
//! - Pod `spec.nodeName` is dropped: the scheduler places the Pod again (the
//!   node may be gone).
//! - Job `spec.selector` and the template's `controller-uid` labels are
//!   dropped unless `spec.manualSelector` is set: the API server generates
//!   them from the new Job's uid and rejects the old ones.
//! - Secrets are refused unless `include_secret_data` is set.

pub mod export;

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::{Map, Value};

/// How to prepare objects.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApplyOptions {
    /// Put Secret `data`/`stringData` in the output (refused otherwise).
    pub include_secret_data: bool,
    /// Keep Service `clusterIP`/`clusterIPs`.
    pub keep_cluster_ip: bool,
    /// Keep Service `nodePort`s and `healthCheckNodePort`.
    pub keep_node_ports: bool,
    /// Keep PersistentVolume `claimRef` whole (uid included).
    pub keep_claim_ref: bool,
    /// Keep Pod `spec.nodeName`.
    pub keep_node_name: bool,
    /// Keep the `last-applied-configuration` annotation.
    pub keep_last_applied: bool,
    /// Keep every `ownerReference`, whether or not its owner is exported.
    pub keep_owner_references: bool,
}

pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Metadata fields the API server sets on every object.
const SERVER_METADATA: [&str; 8] = [
    "uid",
    "resourceVersion",
    "creationTimestamp",
    "generation",
    "managedFields",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
];

/// Why an object cannot be prepared.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum ApplyError {
    #[error(
        "this is a Secret: its data is written only when asked for explicitly (--include-secret-data; in the page, the box to include it)"
    )]
    SecretData,
    #[error("the object has no apiVersion or kind")]
    NoType,
    #[error(
        "no schema for {api_version} {kind}: decoded generically (field numbers), which kubectl cannot apply"
    )]
    Generic { api_version: String, kind: String },
}

/// Something the user should know about a prepared object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "note", rename_all = "snake_case")]
pub enum Note {
    /// The owner is not exported: applied with this reference, the object would be garbage collected.
    OwnerDropped {
        kind: String,
        name: String,
        uid: String,
    },
    /// The owner is exported but gets a new uid when created.
    OwnerKept {
        kind: String,
        name: String,
    },
    /// A field the cluster assigns was dropped (or trimmed).
    Assigned {
        field: String,
    },
    DeletionPending,
}

impl Note {
    pub fn describe(&self) -> String {
        match self {
            Self::OwnerDropped { kind, name, uid } => format!(
                "ownerReference to {kind} {name} (uid {uid}) dropped: that owner is not in this export, and the garbage collector deletes an object whose owners are all gone"
            ),
            Self::OwnerKept { kind, name } => format!(
                "ownerReference to {kind} {name} kept: it is in this export, but gets a new uid when created, so its controller replaces this object"
            ),
            Self::Assigned { field } => {
                format!("{field} dropped: the cluster assigns it again")
            }
            Self::DeletionPending => {
                "the object was being deleted (deletionTimestamp set) when the snapshot was taken"
                    .into()
            }
        }
    }
}

/// An object ready for `kubectl apply`, and what was done to it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prepared {
    pub object: Value,
    pub notes: Vec<Note>,
}

/// The uids of the objects an export holds (for the ownerReference rule).
pub type ExportedUids = BTreeSet<String>;

fn str_at<'v>(v: &'v Value, path: &[&str]) -> Option<&'v str> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_str()
}

/// Whether `object` is a Secret (`v1` `Secret`).
pub fn is_secret(object: &Value) -> bool {
    str_at(object, &["kind"]) == Some("Secret") && str_at(object, &["apiVersion"]) == Some("v1")
}

/// Prepare one decoded object (`DecodedObject::object`).
pub fn prepare(
    object: &Value,
    exported: &ExportedUids,
    opts: &ApplyOptions,
) -> Result<Prepared, ApplyError> {
    let (Some(api_version), Some(kind)) =
        (str_at(object, &["apiVersion"]), str_at(object, &["kind"]))
    else {
        return Err(ApplyError::NoType);
    };
    if object.get(crate::k8s::GENERIC_DECODER_KEY).is_some() {
        return Err(ApplyError::Generic {
            api_version: api_version.into(),
            kind: kind.into(),
        });
    }
    if is_secret(object) && !opts.include_secret_data {
        return Err(ApplyError::SecretData);
    }
    let (api_version, kind) = (api_version.to_string(), kind.to_string());
    let mut o = object.clone();
    let mut notes = Vec::new();
    drop_removed_metadata(&mut o);
    let Some(top) = o.as_object_mut() else {
        return Err(ApplyError::NoType);
    };
    top.remove("status");
    if let Some(meta) = top.get_mut("metadata").and_then(Value::as_object_mut) {
        if meta.contains_key("deletionTimestamp") {
            notes.push(Note::DeletionPending);
        }
        for f in SERVER_METADATA {
            meta.remove(f);
        }
        owner_references(meta, exported, opts, &mut notes);
        if !opts.keep_last_applied {
            remove_in(meta, "annotations", LAST_APPLIED);
        }
    }
    match (api_version.as_str(), kind.as_str()) {
        ("v1", "Service") => service(top, opts, &mut notes),
        ("v1", "PersistentVolume") if !opts.keep_claim_ref => claim_ref(top, &mut notes),
        ("v1", "Pod") if !opts.keep_node_name => {
            if let Some(spec) = top.get_mut("spec").and_then(Value::as_object_mut)
                && spec.remove("nodeName").is_some()
            {
                notes.push(Note::Assigned {
                    field: "spec.nodeName".into(),
                });
            }
        }
        ("batch/v1", "Job") => job(top, &mut notes),
        _ => {}
    }
    Ok(Prepared { object: o, notes })
}

/// Metadata fields removed from the API: dropped from every `metadata` map
/// (the object's, and those of its templates at any depth).
const REMOVED_METADATA: [&str; 1] = ["clusterName"];

fn drop_removed_metadata(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, child) in m.iter_mut() {
                if k == "metadata"
                    && let Some(meta) = child.as_object_mut()
                {
                    for f in REMOVED_METADATA {
                        meta.remove(f);
                    }
                }
                drop_removed_metadata(child);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(drop_removed_metadata),
        _ => {}
    }
}

/// Remove `map[field][key]`, and `map[field]` when it becomes empty.
fn remove_in(map: &mut Map<String, Value>, field: &str, key: &str) -> bool {
    let Some(inner) = map.get_mut(field).and_then(Value::as_object_mut) else {
        return false;
    };
    let removed = inner.remove(key).is_some();
    if inner.is_empty() {
        map.remove(field);
    }
    removed
}

fn owner_references(
    meta: &mut Map<String, Value>,
    exported: &ExportedUids,
    opts: &ApplyOptions,
    notes: &mut Vec<Note>,
) {
    if opts.keep_owner_references {
        return;
    }
    let Some(refs) = meta
        .get_mut("ownerReferences")
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    let field = |r: &Value, k: &str| str_at(r, &[k]).unwrap_or_default().to_string();
    refs.retain(|r| {
        let uid = field(r, "uid");
        let (kind, name) = (field(r, "kind"), field(r, "name"));
        if exported.contains(&uid) {
            notes.push(Note::OwnerKept { kind, name });
            true
        } else {
            notes.push(Note::OwnerDropped { kind, name, uid });
            false
        }
    });
    if refs.is_empty() {
        meta.remove("ownerReferences");
    }
}

fn service(top: &mut Map<String, Value>, opts: &ApplyOptions, notes: &mut Vec<Note>) {
    let Some(spec) = top.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    let headless = spec.get("clusterIP").and_then(Value::as_str) == Some("None");
    if !opts.keep_cluster_ip && !headless {
        for f in ["clusterIP", "clusterIPs"] {
            if spec.remove(f).is_some() {
                notes.push(Note::Assigned {
                    field: format!("spec.{f}"),
                });
            }
        }
    }
    if opts.keep_node_ports {
        return;
    }
    if spec.remove("healthCheckNodePort").is_some() {
        notes.push(Note::Assigned {
            field: "spec.healthCheckNodePort".into(),
        });
    }
    let mut dropped = false;
    for p in spec
        .get_mut("ports")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        if let Some(p) = p.as_object_mut() {
            dropped |= p.remove("nodePort").is_some();
        }
    }
    if dropped {
        notes.push(Note::Assigned {
            field: "spec.ports[].nodePort".into(),
        });
    }
}

fn claim_ref(top: &mut Map<String, Value>, notes: &mut Vec<Note>) {
    let Some(claim) = top
        .get_mut("spec")
        .and_then(|s| s.get_mut("claimRef"))
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    let uid = claim.remove("uid").is_some();
    let rv = claim.remove("resourceVersion").is_some();
    if uid || rv {
        notes.push(Note::Assigned {
            field: "spec.claimRef.uid".into(),
        });
    }
}

/// Labels the API server puts on a Job's Pods from its uid.
const JOB_UID_LABELS: [&str; 2] = ["controller-uid", "batch.kubernetes.io/controller-uid"];

fn job(top: &mut Map<String, Value>, notes: &mut Vec<Note>) {
    let Some(spec) = top.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    if spec.get("manualSelector").and_then(Value::as_bool) == Some(true) {
        return;
    }
    if spec.remove("selector").is_some() {
        notes.push(Note::Assigned {
            field: "spec.selector".into(),
        });
    }
    if let Some(meta) = spec
        .get_mut("template")
        .and_then(|t| t.get_mut("metadata"))
        .and_then(Value::as_object_mut)
    {
        for l in JOB_UID_LABELS {
            remove_in(meta, "labels", l);
        }
    }
}

#[cfg(test)]
mod tests;
