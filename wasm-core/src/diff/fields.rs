//! Where two decoded objects differ, as leaf paths (`spec.replicas`,
//! `spec.template.spec.containers[0].image`), and which of those paths are
//! noise: fields that change on every write or heartbeat and mean nothing to
//! a person reading a diff.
//!
//! The noise list (each entry says why):
//! - `metadata.managedFields[*].time`: set to the write's time by every apply
//!   or update of a field manager.
//! - `metadata.resourceVersion`: the API server clears it before storing, but
//!   objects written by other tools may carry it; it is the etcd revision.
//! - Lease (`coordination.k8s.io`) `spec.renewTime`: renewed every few seconds
//!   by its holder (node heartbeats, leader election).
//! - Node `status.conditions[*].lastHeartbeatTime`: the kubelet's periodic
//!   status report.
//! - The `renewTime` inside the `control-plane.alpha.kubernetes.io/leader`
//!   annotation (leader election on Endpoints/ConfigMaps, Kubernetes ≤ 1.19).
//!
//! Arrays are compared item by item at the same index; an inserted item shows
//! as changes at every later index, which is what a line diff shows too.

use serde_json::Value;

/// Most paths kept per object; the rest are counted.
pub const MAX_PATHS: usize = 64;

/// The leader-election annotation whose `renewTime` is noise.
pub const LEADER_ANNOTATION: &str = "control-plane.alpha.kubernetes.io/leader";

/// One step of a path into a JSON value.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

/// Paths where two objects differ, split into meaningful ones and noise.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldDiff {
    /// Meaningful differences, at most [`MAX_PATHS`].
    pub paths: Vec<String>,
    /// Meaningful differences beyond [`MAX_PATHS`].
    pub more: usize,
    /// Differences only in noise fields, at most [`MAX_PATHS`].
    pub noise: Vec<String>,
}

impl FieldDiff {
    /// Nothing but noise differs (or nothing at all).
    pub fn is_noise_only(&self) -> bool {
        self.paths.is_empty() && self.more == 0
    }
    /// Every meaningful difference is under `status`.
    pub fn status_only(&self) -> bool {
        !self.is_noise_only()
            && self.more == 0
            && self
                .paths
                .iter()
                .all(|p| p == "status" || p.starts_with("status.") || p.starts_with("status["))
    }
}

/// Compare two decoded objects of the given kind.
pub fn compare(kind: &str, api_version: &str, old: &Value, new: &Value) -> FieldDiff {
    let mut d = FieldDiff::default();
    let mut path = Vec::new();
    let kind = ObjectKind::of(kind, api_version);
    walk(kind, old, new, &mut path, &mut d);
    d
}

/// The kinds with noise rules of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ObjectKind {
    Lease,
    Node,
    Other,
}

impl ObjectKind {
    fn of(kind: &str, api_version: &str) -> Self {
        match (kind, api_version.split('/').next().unwrap_or_default()) {
            ("Lease", "coordination.k8s.io") => Self::Lease,
            ("Node", "v1") => Self::Node,
            _ => Self::Other,
        }
    }
}

fn is_noise(kind: ObjectKind, path: &[Step]) -> bool {
    use Step::{Index, Key};
    let k = |s: &Step, name: &str| matches!(s, Key(x) if x == name);
    match path {
        [m, f, Index(_), t] if k(m, "metadata") && k(f, "managedFields") && k(t, "time") => true,
        [m, r] if k(m, "metadata") && k(r, "resourceVersion") => true,
        [s, r] if kind == ObjectKind::Lease && k(s, "spec") && k(r, "renewTime") => true,
        [s, c, Index(_), h]
            if kind == ObjectKind::Node
                && k(s, "status")
                && k(c, "conditions")
                && k(h, "lastHeartbeatTime") =>
        {
            true
        }
        _ => false,
    }
}

/// The leader annotation's record without its `renewTime`, when it parses.
fn leader_record(v: &Value) -> Option<Value> {
    let mut record: Value = serde_json::from_str(v.as_str()?).ok()?;
    record.as_object_mut()?.remove("renewTime");
    Some(record)
}

fn is_leader_annotation(path: &[Step]) -> bool {
    matches!(path, [Step::Key(m), Step::Key(a), Step::Key(n)]
        if m == "metadata" && a == "annotations" && n == LEADER_ANNOTATION)
}

fn record(d: &mut FieldDiff, noise: bool, path: &[Step]) {
    if noise {
        if d.noise.len() < MAX_PATHS {
            d.noise.push(render(path));
        }
    } else if d.paths.len() < MAX_PATHS {
        d.paths.push(render(path));
    } else {
        d.more += 1;
    }
}

fn walk(kind: ObjectKind, old: &Value, new: &Value, path: &mut Vec<Step>, d: &mut FieldDiff) {
    if old == new {
        return;
    }
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, va) in a {
                path.push(Step::Key(key.clone()));
                match b.get(key) {
                    Some(vb) => walk(kind, va, vb, path, d),
                    None => record(d, is_noise(kind, path), path),
                }
                path.pop();
            }
            for (key, _) in b.iter().filter(|(k, _)| !a.contains_key(*k)) {
                path.push(Step::Key(key.clone()));
                record(d, is_noise(kind, path), path);
                path.pop();
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for i in 0..a.len().max(b.len()) {
                path.push(Step::Index(i));
                match (a.get(i), b.get(i)) {
                    (Some(va), Some(vb)) => walk(kind, va, vb, path, d),
                    _ => record(d, false, path),
                }
                path.pop();
            }
        }
        _ => {
            let noise = is_noise(kind, path)
                || (is_leader_annotation(path)
                    && leader_record(old).is_some()
                    && leader_record(old) == leader_record(new));
            record(d, noise, path);
        }
    }
}

/// `a.b[0]`, with keys that are not plain identifiers in brackets: `metadata.annotations["app.kubernetes.io/name"]`.
fn render(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Index(i) => out.push_str(&format!("[{i}]")),
            Step::Key(k)
                if !k.is_empty()
                    && k.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') =>
            {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Step::Key(k) => out.push_str(&format!("[{}]", Value::String(k.clone()))),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn leaf_paths_name_what_changed() {
        let old = json!({"metadata": {"name": "a", "labels": {"app": "x"}}, "spec": {"replicas": 1, "ports": [{"port": 80}]}});
        let new = json!({"metadata": {"name": "a", "labels": {"app": "y", "app.kubernetes.io/name": "n"}}, "spec": {"replicas": 1, "ports": [{"port": 80}, {"port": 443}]}});
        let d = compare("Service", "v1", &old, &new);
        assert_eq!(
            d.paths,
            [
                "metadata.labels.app",
                "metadata.labels[\"app.kubernetes.io/name\"]",
                "spec.ports[1]"
            ]
        );
        assert!(d.noise.is_empty() && !d.status_only());
    }

    #[test]
    fn lease_renewals_and_node_heartbeats_are_noise() {
        let old =
            json!({"spec": {"holderIdentity": "n1", "renewTime": "2026-01-01T00:00:00.000000Z"}});
        let new =
            json!({"spec": {"holderIdentity": "n1", "renewTime": "2026-01-01T00:00:10.000000Z"}});
        let d = compare("Lease", "coordination.k8s.io/v1", &old, &new);
        assert!(d.is_noise_only());
        assert_eq!(d.noise, ["spec.renewTime"]);
        // The same field of another kind is a change.
        assert!(!compare("Other", "example.com/v1", &old, &new).is_noise_only());
        // A new holder is a change, even with a renewal.
        let taken =
            json!({"spec": {"holderIdentity": "n2", "renewTime": "2026-01-01T00:00:10.000000Z"}});
        assert_eq!(
            compare("Lease", "coordination.k8s.io/v1", &old, &taken).paths,
            ["spec.holderIdentity"]
        );

        let node = |t: &str, s: &str| json!({"status": {"conditions": [{"type": "Ready", "status": s, "lastHeartbeatTime": t}]}});
        let d = compare("Node", "v1", &node("1", "True"), &node("2", "True"));
        assert!(d.is_noise_only(), "{d:?}");
        let d = compare("Node", "v1", &node("1", "True"), &node("2", "False"));
        assert_eq!(d.paths, ["status.conditions[0].status"]);
        assert!(d.status_only());
    }

    #[test]
    fn managed_fields_times_and_leader_renewals_are_noise() {
        let mf =
            |t: &str| json!({"metadata": {"managedFields": [{"manager": "kubectl", "time": t}]}});
        assert!(compare("ConfigMap", "v1", &mf("a"), &mf("b")).is_noise_only());
        let leader = |holder: &str, t: &str| json!({"metadata": {"annotations": {LEADER_ANNOTATION: format!("{{\"holderIdentity\":\"{holder}\",\"renewTime\":\"{t}\"}}")}}});
        assert!(compare("Endpoints", "v1", &leader("a", "1"), &leader("a", "2")).is_noise_only());
        assert!(!compare("Endpoints", "v1", &leader("a", "1"), &leader("b", "2")).is_noise_only());
    }

    #[test]
    fn paths_beyond_the_limit_are_counted() {
        let old = json!({"data": (0..100).map(|i| (format!("k{i}"), json!(i))).collect::<serde_json::Map<_, _>>()});
        let new = json!({"data": {}});
        let d = compare("ConfigMap", "v1", &old, &new);
        assert_eq!((d.paths.len(), d.more), (MAX_PATHS, 100 - MAX_PATHS));
    }
}
