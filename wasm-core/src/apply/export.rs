//! Many objects made ready for `kubectl apply` in two files: Namespaces and
//! CustomResourceDefinitions first, everything else second (a custom
//! resource applied in one go with its CRD fails: the API does not serve the
//! kind until the CRD is established).
//!
//! Left out by default, each listed with its reason:
//! - objects a controller in the export owns (`ownerReferences` with
//!   `controller: true`): the controller creates them again (ReplicaSets of a
//!   Deployment, its Pods, ControllerRevisions);
//! - what the cluster writes for itself: Events, Leases, Nodes,
//!   EndpointSlices of the EndpointSlice controllers, Endpoints of an
//!   exported Service with a selector, the `kube-root-ca.crt` ConfigMaps,
//!   service-account token Secrets, the API server's automanaged APIServices
//!   and its bootstrap RBAC (`kubernetes.io/bootstrapping: rbac-defaults`),
//!   and its bookkeeping keys (master leases, IP and port ranges);
//! - Secrets, unless their data is asked for;
//! - values that are not decodable objects (encrypted without the key,
//!   generic protobuf, not Kubernetes).
//!
//! Within each file objects are in Helm's install order (Namespace, …,
//! ServiceAccount, Secret, ConfigMap, …, Service, …, Deployment, …), then by
//! key, so references resolve in one `kubectl apply -f`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use super::{ApplyError, ApplyOptions, ExportedUids, Note, is_secret, prepare};
use crate::k8s;

/// What to export besides the defaults.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportOptions {
    pub apply: ApplyOptions,
    /// Include objects a controller in the export owns.
    pub include_owned: bool,
    /// Include what the cluster writes for itself (see the module doc).
    pub include_cluster_managed: bool,
}

/// One candidate: a key, and its decoded object or why it has none.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub key: Vec<u8>,
    pub object: Result<Value, String>,
}

/// An exported object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exported {
    #[serde(serialize_with = "crate::diff::lossy")]
    pub key: Vec<u8>,
    pub object: Value,
    pub notes: Vec<Note>,
}

/// Why a key was left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Skip {
    /// A controller in the export owns it and creates it again.
    Owned { kind: String, name: String },
    /// The cluster writes it for itself.
    ClusterManaged { what: String },
    /// Not preparable (a Secret without the flag, a generic object).
    Refused { error: ApplyError },
    /// Not a decodable object.
    Undecodable { error: String },
}

impl Skip {
    pub fn describe(&self) -> String {
        match self {
            Self::Owned { kind, name } => {
                format!("recreated by its controller ({kind} {name}, in this export)")
            }
            Self::ClusterManaged { what } => format!("written by the cluster itself ({what})"),
            Self::Refused { error } => error.to_string(),
            Self::Undecodable { error } => error.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    #[serde(serialize_with = "crate::diff::lossy")]
    pub key: Vec<u8>,
    #[serde(flatten)]
    pub skip: Skip,
}

/// The two files' objects, in order.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Export {
    /// Namespaces and CustomResourceDefinitions.
    pub first: Vec<Exported>,
    /// Everything else.
    pub second: Vec<Exported>,
    /// Names of the exported CRDs (for `kubectl wait`).
    pub crds: Vec<String>,
    pub skipped: Vec<Skipped>,
}

fn s<'v>(v: &'v Value, path: &[&str]) -> Option<&'v str> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_str()
}

fn type_of(o: &Value) -> (&str, &str) {
    (
        s(o, &["apiVersion"]).unwrap_or_default(),
        s(o, &["kind"]).unwrap_or_default(),
    )
}

fn label<'v>(o: &'v Value, name: &str) -> Option<&'v str> {
    o.get("metadata")?.get("labels")?.get(name)?.as_str()
}

/// Helm's install order (`pkg/release/util/kind_sorter.go`); other kinds after.
const INSTALL_ORDER: [&str; 36] = [
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
];

fn rank(kind: &str) -> usize {
    INSTALL_ORDER
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(INSTALL_ORDER.len())
}

/// What the cluster writes for itself, by the object alone. `None` for the user's objects.
fn cluster_managed(
    key: &[u8],
    etcd_prefix: &str,
    o: &Value,
    selected_services: &BTreeSet<(String, String)>,
) -> Option<String> {
    if let Some(info) = k8s::parse_key(key, etcd_prefix)
        && let Some(role) = info.role
    {
        return Some(role.label().to_string());
    }
    let (api_version, kind) = type_of(o);
    let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
    let name = s(o, &["metadata", "name"]).unwrap_or_default();
    let namespace = s(o, &["metadata", "namespace"]).unwrap_or_default();
    let what = match (group, kind) {
        ("" | "events.k8s.io", "Event") => "an Event",
        ("coordination.k8s.io", "Lease") => "a Lease, renewed by its holder",
        ("", "Node") => "a Node, registered by its kubelet",
        ("discovery.k8s.io", "EndpointSlice")
            if label(o, "endpointslice.kubernetes.io/managed-by")
                .is_some_and(|m| m.ends_with("controller.k8s.io")) =>
        {
            "an EndpointSlice of the EndpointSlice controller"
        }
        ("", "Endpoints")
            if selected_services.contains(&(namespace.to_string(), name.to_string())) =>
        {
            "the Endpoints of an exported Service with a selector"
        }
        ("", "ConfigMap") if name == "kube-root-ca.crt" => {
            "the cluster's CA bundle, published in every namespace"
        }
        ("", "Secret") if s(o, &["type"]) == Some("kubernetes.io/service-account-token") => {
            "a service-account token Secret"
        }
        ("apiregistration.k8s.io", "APIService")
            if label(o, "kube-aggregator.kubernetes.io/automanaged").is_some() =>
        {
            "an APIService the API server manages"
        }
        ("rbac.authorization.k8s.io", _)
            if label(o, "kubernetes.io/bootstrapping") == Some("rbac-defaults") =>
        {
            "the API server's bootstrap RBAC"
        }
        _ => return None,
    };
    Some(what.to_string())
}

/// The controller owning `o` among the exported objects.
fn exported_controller(o: &Value, uids: &ExportedUids) -> Option<(String, String)> {
    let refs = o.get("metadata")?.get("ownerReferences")?.as_array()?;
    refs.iter().find_map(|r| {
        let controller = r.get("controller").and_then(Value::as_bool) == Some(true);
        let uid = s(r, &["uid"])?;
        (controller && uids.contains(uid)).then(|| {
            (
                s(r, &["kind"]).unwrap_or_default().to_string(),
                s(r, &["name"]).unwrap_or_default().to_string(),
            )
        })
    })
}

/// Sort, filter and prepare `candidates` (in key order), stored under `etcd_prefix`.
pub fn build(candidates: Vec<Candidate>, etcd_prefix: &str, opts: &ExportOptions) -> Export {
    let mut out = Export::default();
    let mut objects = Vec::new();
    for c in candidates {
        match c.object {
            Ok(o) => objects.push((c.key, o)),
            Err(error) => out.skipped.push(Skipped {
                key: c.key,
                skip: Skip::Undecodable { error },
            }),
        }
    }
    let services: BTreeSet<(String, String)> = objects
        .iter()
        .filter(|(_, o)| {
            type_of(o) == ("v1", "Service")
                && o.get("spec").and_then(|s| s.get("selector")).is_some()
        })
        .map(|(_, o)| {
            (
                s(o, &["metadata", "namespace"])
                    .unwrap_or_default()
                    .to_string(),
                s(o, &["metadata", "name"]).unwrap_or_default().to_string(),
            )
        })
        .collect();
    // Managed objects are never exported, so they own nothing in the export.
    let mut kept = Vec::new();
    for (key, o) in objects {
        match cluster_managed(&key, etcd_prefix, &o, &services)
            .filter(|_| !opts.include_cluster_managed)
        {
            Some(what) => out.skipped.push(Skipped {
                key,
                skip: Skip::ClusterManaged { what },
            }),
            None => kept.push((key, o)),
        }
    }
    let uids: ExportedUids = kept
        .iter()
        .filter(|(_, o)| opts.apply.include_secret_data || !is_secret(o))
        .filter_map(|(_, o)| s(o, &["metadata", "uid"]).map(str::to_string))
        .collect();
    let mut ready: BTreeMap<(bool, usize, Vec<u8>), Exported> = BTreeMap::new();
    for (key, o) in kept {
        if !opts.include_owned
            && let Some((kind, name)) = exported_controller(&o, &uids)
        {
            out.skipped.push(Skipped {
                key,
                skip: Skip::Owned { kind, name },
            });
            continue;
        }
        match prepare(&o, &uids, &opts.apply) {
            Ok(p) => {
                let (api_version, kind) = type_of(&p.object);
                let first = kind == "Namespace" && api_version == "v1"
                    || kind == "CustomResourceDefinition"
                        && api_version.starts_with("apiextensions.k8s.io/");
                if kind == "CustomResourceDefinition"
                    && let Some(n) = s(&p.object, &["metadata", "name"])
                {
                    out.crds.push(n.to_string());
                }
                ready.insert(
                    (!first, rank(kind), key.clone()),
                    Exported {
                        key,
                        object: p.object,
                        notes: p.notes,
                    },
                );
            }
            Err(error) => out.skipped.push(Skipped {
                key,
                skip: Skip::Refused { error },
            }),
        }
    }
    for ((second, _, _), e) in ready {
        if second {
            &mut out.second
        } else {
            &mut out.first
        }
        .push(e);
    }
    out.crds.sort();
    out
}

/// Objects as one multi-document YAML file, each after a comment naming its key and notes.
pub fn to_yaml(objects: &[Exported]) -> String {
    let mut out = String::new();
    for e in objects {
        out.push_str("---\n");
        out.push_str(&format!("# {}\n", String::from_utf8_lossy(&e.key)));
        for n in &e.notes {
            out.push_str(&format!("# note: {}\n", n.describe()));
        }
        out.push_str(&crate::yaml::to_yaml(&e.object));
    }
    out
}

/// The commands that apply the two files, with the wait for the CRDs between them.
pub fn commands(export: &Export, first_file: &str, second_file: &str) -> Vec<String> {
    let mut out = Vec::new();
    if !export.first.is_empty() {
        out.push(format!("kubectl apply -f {first_file}"));
    }
    if !export.crds.is_empty() {
        let names: Vec<String> = export.crds.iter().map(|n| format!("crd/{n}")).collect();
        out.push(format!(
            "kubectl wait --for condition=established --timeout=60s {}",
            names.join(" ")
        ));
    }
    if !export.second.is_empty() {
        out.push(format!("kubectl apply -f {second_file}"));
    }
    out
}

/// Which keys to export.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Keys starting with this (empty: the whole Kubernetes root).
    pub prefix: Vec<u8>,
    /// Objects of this namespace, and the Namespace itself.
    pub namespace: Option<String>,
    /// `plural` or `plural.group` (as `kubectl api-resources` names it).
    pub resource: Option<String>,
}

impl Selection {
    fn matches(&self, key: &[u8], etcd_prefix: &str) -> bool {
        if !key.starts_with(&self.prefix) {
            return false;
        }
        let Some(info) = k8s::parse_key(key, etcd_prefix) else {
            return self.namespace.is_none() && self.resource.is_none() && !self.prefix.is_empty();
        };
        let is_the_namespace = info.resource == "namespaces"
            && info.group.is_none()
            && info.name.is_some()
            && info.name == self.namespace;
        if let Some(ns) = &self.namespace
            && info.namespace.as_ref() != Some(ns)
            && !is_the_namespace
        {
            return false;
        }
        match &self.resource {
            Some(r) => *r == info.resource || *r == info.qualified_resource(),
            None => true,
        }
    }
}

/// One stored value as a candidate: decrypted with `config` when encrypted, then decoded.
pub fn candidate(
    key: &[u8],
    value: &[u8],
    etcd_prefix: &str,
    config: Option<&crate::audit::EncryptionConfig>,
) -> Candidate {
    use crate::audit::Decryption;
    let resource = k8s::parse_key(key, etcd_prefix)
        .map(|i| i.qualified_resource())
        .unwrap_or_default();
    let plain = match config.map(|c| c.decrypt(&resource, key, value)) {
        Some(Decryption::Decrypted { plaintext, .. }) => std::borrow::Cow::Owned(plaintext),
        Some(Decryption::Failed { key: id, reason }) => {
            return Candidate {
                key: key.to_vec(),
                object: Err(format!(
                    "does not decrypt with {} key {:?}: {reason}",
                    id.provider, id.key_name
                )),
            };
        }
        _ => std::borrow::Cow::Borrowed(value),
    };
    Candidate {
        key: key.to_vec(),
        object: k8s::decode(&plain)
            .map(|o| o.object)
            .map_err(|e| e.to_string()),
    }
}

/// The selected keys' values as of revision `at` (the latest when `None`), in key order.
pub fn collect<S: crate::ReadAt>(
    snap: &crate::snapshot::Snapshot<S>,
    ix: &crate::mvcc::KeyIndex,
    selection: &Selection,
    etcd_prefix: &str,
    at: Option<i64>,
    config: Option<&crate::audit::EncryptionConfig>,
) -> Result<Vec<Candidate>, crate::snapshot::SnapshotError> {
    let mut out = Vec::new();
    for (key, _) in ix.histories() {
        if !selection.matches(key, etcd_prefix) {
            continue;
        }
        if let Some(kv) = snap.get(ix, key, at)? {
            out.push(candidate(key, &kv.value, etcd_prefix, config));
        }
    }
    Ok(out)
}
