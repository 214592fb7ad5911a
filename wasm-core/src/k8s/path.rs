//! Kubernetes etcd key paths: `<root><resource>/<namespace>/<name>`, with the
//! irregular layouts the API server actually writes.
//!
//! Counting segments alone is ambiguous: `/registry/pods/ns/name` and a cluster-scoped
//! custom resource `/registry/example.com/widgets/name` have the same depth. Rules, in
//! order (each listed in `docs/format.md`):
//! 1. irregular paths: `services/specs/<ns>/<name>` (Service), `services/endpoints/<ns>/<name>`
//!    (Endpoints), `minions/<node>` (Node), `ranges/<serviceips|servicenodeports>`
//!    (RangeAllocation), `masterleases/<ip>` (Endpoints-based apiserver leases),
//!    `controllers/<ns>/<name>` (ReplicationController), `ingress/<ns>/<name>` (Ingress),
//!    `podsecuritypolicy/<name>`; OpenShift's `oauth/<resource>/<name>`;
//! 2. a first segment with a dot is an API group (custom and aggregated resources):
//!    `<group>/<plural>/<name>` is cluster-scoped, `<group>/<plural>/<ns>/<name>` namespaced;
//! 3. otherwise `<resource>/<name>` is cluster-scoped and `<resource>/<ns>/<name>` namespaced.
//!
//! The decoded object's `metadata` wins over the path ([`KeyInfo::with_object`]); the
//! path is what is left for encrypted and opaque values, and for grouping. A few
//! irregular keys are not objects of a served resource but the API server's own
//! bookkeeping; [`KeyRole`] says which, for the tree and the detail view to label.

use serde::Serialize;

use super::DecodedObject;

/// The API server's default `--etcd-prefix`, with its trailing slash.
pub const DEFAULT_PREFIX: &str = "/registry/";
/// Roots OpenShift uses (Kubernetes and OpenShift resources); always recognised.
pub const OPENSHIFT_ROOTS: [&str; 2] = ["/kubernetes.io/", "/openshift.io/"];

/// How the key path was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// `<resource>/<ns>/<name>` or `<group>/<plural>/<ns>/<name>`.
    Namespaced,
    /// `<resource>/<name>` or `<group>/<plural>/<name>`.
    ClusterScoped,
    /// `<resource>` alone or more segments than any layout has.
    Unrecognized,
    /// One of the irregular paths (see the module docs).
    Irregular,
}

/// What one of the API server's bookkeeping keys is for: its place says so, not its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyRole {
    /// `masterleases/<ip>`: an Endpoints object without a name, holding one API
    /// server's IP, rewritten under an etcd lease while that server lives; the
    /// `kubernetes` Service's endpoints are made from these.
    ApiServerLease,
    /// `ranges/serviceips`: the ClusterIP allocator's bitmap (a RangeAllocation).
    ServiceIpAllocation,
    /// `ranges/servicenodeports`: the NodePort allocator's bitmap (a RangeAllocation).
    NodePortAllocation,
}

impl KeyRole {
    /// The label a person reads.
    pub fn label(self) -> &'static str {
        match self {
            KeyRole::ApiServerLease => {
                "API server lease (one kube-apiserver's IP, kept alive by an etcd lease)"
            }
            KeyRole::ServiceIpAllocation => {
                "Service cluster IP allocations (RangeAllocation bitmap)"
            }
            KeyRole::NodePortAllocation => "Service node port allocations (RangeAllocation bitmap)",
        }
    }
}

/// The role every key under `prefix` (a tree node, e.g. `/registry/masterleases/`)
/// shares, under `etcd_prefix` as [`parse_key`] takes it.
pub fn prefix_role(prefix: &str, etcd_prefix: &str) -> Option<KeyRole> {
    let mut root = etcd_prefix.to_string();
    if !root.ends_with('/') {
        root.push('/');
    }
    match prefix.strip_prefix(root.as_str())? {
        "masterleases/" => Some(KeyRole::ApiServerLease),
        _ => None,
    }
}

/// What a key path says about the object stored under it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyInfo {
    /// The root matched, e.g. `/registry/`.
    pub root: String,
    /// API group, when the path names one (custom and aggregated resources) or the object does.
    pub group: Option<String>,
    /// Resource (plural) name, e.g. `pods`, `endpoints`, `nodes`.
    pub resource: String,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub layout: Layout,
    /// Set for the API server's bookkeeping keys.
    pub role: Option<KeyRole>,
}

impl KeyInfo {
    /// `plural` or `plural.group`, the way `kubectl api-resources` names it.
    pub fn qualified_resource(&self) -> String {
        match &self.group {
            Some(g) if !g.is_empty() => format!("{}.{g}", self.resource),
            _ => self.resource.clone(),
        }
    }

    /// The decoded object's metadata (and apiVersion's group) win over the path.
    pub fn with_object(mut self, obj: &DecodedObject) -> Self {
        if let Some(ns) = obj.namespace() {
            self.namespace = Some(ns.to_string());
        }
        if let Some(name) = obj.name() {
            self.name = Some(name.to_string());
        }
        if self.group.is_none()
            && let Some((group, _version)) = obj.api_version.split_once('/')
        {
            self.group = Some(group.to_string());
        }
        self
    }
}

/// Parses `key` under `prefix` (e.g. [`DEFAULT_PREFIX`] or an `--etcd-prefix`; a missing
/// trailing slash is added) or under an OpenShift root. `None` for keys that are not
/// Kubernetes objects (`compact_rev_key`, other applications' keys).
pub fn parse_key(key: &[u8], prefix: &str) -> Option<KeyInfo> {
    let key = String::from_utf8_lossy(key);
    let mut prefix = prefix.to_string();
    if !prefix.ends_with('/') {
        prefix.push('/');
    }
    let (root, rest) = std::iter::once(prefix.as_str())
        .chain(OPENSHIFT_ROOTS)
        .find_map(|root| Some((root, key.strip_prefix(root)?)))?;
    let segs: Vec<&str> = rest.split('/').collect();
    if segs.iter().any(|s| s.is_empty()) {
        return None;
    }
    let info =
        |group: Option<&str>, resource: &str, ns: Option<&str>, name: Option<&str>, layout| {
            KeyInfo {
                root: root.to_string(),
                group: group.map(str::to_string),
                resource: resource.to_string(),
                namespace: ns.map(str::to_string),
                name: name.map(str::to_string),
                layout,
                role: None,
            }
        };
    use Layout::{ClusterScoped, Irregular, Namespaced, Unrecognized};
    Some(match segs.as_slice() {
        ["services", "specs", ns, name] => info(None, "services", Some(ns), Some(name), Irregular),
        ["services", "endpoints", ns, name] => {
            info(None, "endpoints", Some(ns), Some(name), Irregular)
        }
        ["minions", name] => info(None, "nodes", None, Some(name), Irregular),
        ["ranges", name] => KeyInfo {
            role: match *name {
                "serviceips" => Some(KeyRole::ServiceIpAllocation),
                "servicenodeports" => Some(KeyRole::NodePortAllocation),
                _ => None,
            },
            ..info(None, "rangeallocations", None, Some(name), Irregular)
        },
        ["masterleases", ip] => KeyInfo {
            role: Some(KeyRole::ApiServerLease),
            ..info(None, "masterleases", None, Some(ip), Irregular)
        },
        ["controllers", ns, name] => info(
            None,
            "replicationcontrollers",
            Some(ns),
            Some(name),
            Irregular,
        ),
        ["ingress", ns, name] => info(None, "ingresses", Some(ns), Some(name), Irregular),
        ["podsecuritypolicy", name] => {
            info(None, "podsecuritypolicies", None, Some(name), Irregular)
        }
        ["oauth", resource, name] if root == "/openshift.io/" => info(
            Some("oauth.openshift.io"),
            resource,
            None,
            Some(name),
            Irregular,
        ),
        [group, resource, rest @ ..] if group.contains('.') => match rest {
            [name] => info(Some(group), resource, None, Some(name), ClusterScoped),
            [ns, name] => info(Some(group), resource, Some(ns), Some(name), Namespaced),
            _ => info(Some(group), resource, None, None, Unrecognized),
        },
        [resource, name] => info(None, resource, None, Some(name), ClusterScoped),
        [resource, ns, name] => info(None, resource, Some(ns), Some(name), Namespaced),
        [resource, ..] => info(None, resource, None, None, Unrecognized),
        [] => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    type Parsed = (
        Option<String>,
        String,
        Option<String>,
        Option<String>,
        Layout,
    );

    fn p(key: &str) -> Option<Parsed> {
        parse_key(key.as_bytes(), DEFAULT_PREFIX)
            .map(|k| (k.group, k.resource, k.namespace, k.name, k.layout))
    }
    fn s(v: &str) -> Option<String> {
        Some(v.to_string())
    }

    #[test]
    fn regular_and_irregular_paths() {
        use Layout::*;
        assert_eq!(
            p("/registry/pods/default/pi"),
            Some((None, "pods".into(), s("default"), s("pi"), Namespaced))
        );
        assert_eq!(
            p("/registry/namespaces/default"),
            Some((None, "namespaces".into(), None, s("default"), ClusterScoped))
        );
        assert_eq!(
            p("/registry/services/specs/ns/web"),
            Some((None, "services".into(), s("ns"), s("web"), Irregular))
        );
        assert_eq!(
            p("/registry/services/endpoints/ns/web"),
            Some((None, "endpoints".into(), s("ns"), s("web"), Irregular))
        );
        assert_eq!(
            p("/registry/minions/node-1"),
            Some((None, "nodes".into(), None, s("node-1"), Irregular))
        );
        assert_eq!(
            p("/registry/ranges/serviceips"),
            Some((
                None,
                "rangeallocations".into(),
                None,
                s("serviceips"),
                Irregular
            ))
        );
        assert_eq!(
            p("/registry/masterleases/10.0.0.1"),
            Some((None, "masterleases".into(), None, s("10.0.0.1"), Irregular))
        );
        assert_eq!(
            p("/registry/controllers/ns/rc"),
            Some((
                None,
                "replicationcontrollers".into(),
                s("ns"),
                s("rc"),
                Irregular
            ))
        );
        assert_eq!(
            p("/registry/example.com/widgets/w1"),
            Some((
                s("example.com"),
                "widgets".into(),
                None,
                s("w1"),
                ClusterScoped
            ))
        );
        assert_eq!(
            p("/registry/example.com/widgets/ns/w1"),
            Some((
                s("example.com"),
                "widgets".into(),
                s("ns"),
                s("w1"),
                Namespaced
            ))
        );
        assert_eq!(
            p("/registry/apiregistration.k8s.io/apiservices/v1.apps"),
            Some((
                s("apiregistration.k8s.io"),
                "apiservices".into(),
                None,
                s("v1.apps"),
                ClusterScoped
            ))
        );
        assert_eq!(
            p("/registry/pods"),
            Some((None, "pods".into(), None, None, Unrecognized))
        );
        assert_eq!(p("compact_rev_key"), None);
        assert_eq!(p("/registry/"), None);
        assert_eq!(p("/registry/pods//x"), None);
    }

    #[test]
    fn bookkeeping_keys_have_roles() {
        let role = |k: &str| parse_key(k.as_bytes(), DEFAULT_PREFIX).and_then(|k| k.role);
        assert_eq!(
            role("/registry/masterleases/10.0.0.1"),
            Some(KeyRole::ApiServerLease)
        );
        assert_eq!(
            role("/registry/ranges/serviceips"),
            Some(KeyRole::ServiceIpAllocation)
        );
        assert_eq!(
            role("/registry/ranges/servicenodeports"),
            Some(KeyRole::NodePortAllocation)
        );
        assert_eq!(role("/registry/ranges/other"), None);
        assert_eq!(role("/registry/pods/default/masterleases"), None);
        assert_eq!(
            role("/registry/services/endpoints/default/kubernetes"),
            None
        );
        assert_eq!(
            prefix_role("/registry/masterleases/", DEFAULT_PREFIX),
            Some(KeyRole::ApiServerLease)
        );
        assert_eq!(
            prefix_role("/custom/masterleases/", "/custom"),
            Some(KeyRole::ApiServerLease)
        );
        assert_eq!(prefix_role("/registry/ranges/", DEFAULT_PREFIX), None);
        assert_eq!(prefix_role("/registry/", DEFAULT_PREFIX), None);
    }

    #[test]
    fn custom_and_openshift_roots() {
        let k =
            parse_key(b"/kubernetes.io/pods/ns/p", DEFAULT_PREFIX).map(|k| (k.root, k.resource));
        assert_eq!(k, Some(("/kubernetes.io/".to_string(), "pods".to_string())));
        let k = parse_key(b"/openshift.io/oauth/accesstokens/sha256~x", DEFAULT_PREFIX)
            .map(|k| k.qualified_resource());
        assert_eq!(k, s("accesstokens.oauth.openshift.io"));
        let k =
            parse_key(b"/openshift.io/routes/ns/r", DEFAULT_PREFIX).map(|k| (k.namespace, k.name));
        assert_eq!(k, Some((s("ns"), s("r"))));
        let k =
            parse_key(b"/custom/root/secrets/ns/s", "/custom/root").map(|k| (k.root, k.resource));
        assert_eq!(
            k,
            Some(("/custom/root/".to_string(), "secrets".to_string()))
        );
        assert_eq!(parse_key(b"/registry/pods/ns/p", "/custom/root"), None);
    }
}
