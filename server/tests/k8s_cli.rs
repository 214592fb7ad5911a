//! `etcd-lens get --decode`, `ls --json` and `stats` on Kubernetes values, against a
//! real etcd: the test puts real stored objects (etcd-io/auger's `storage/{pod,job}.bin`,
//! see `../shared/fixtures/README.md`), a JSON custom resource, an encrypted value,
//! opaque values, OpenShift-rooted and custom-prefixed keys, an overwrite and a
//! delete; snapshots; and checks every answer against what it wrote. The stats
//! expectations are computed here from the writes, not by the code under test.

use std::collections::BTreeMap;

use etcd_lens_testkit::cli::Lens;
use etcd_lens_testkit::etcd::Etcd;
use etcd_lens_testkit::fixture;
use etcd_lens_testkit::json::prune;
use serde_json::{Value, json};

const LENS: Lens = Lens(env!("CARGO_BIN_EXE_etcd-lens"));

/// A stored value as etcd holds it: the fixture minus the `\n` etcdctl added on capture.
fn stored(name: &str) -> Vec<u8> {
    let mut v = std::fs::read(fixture(&format!("auger/storage/{name}.bin"))).unwrap();
    assert_eq!(
        v.pop(),
        Some(b'\n'),
        "{name}.bin ends with the captured newline"
    );
    v
}

fn expected_json(name: &str) -> Value {
    let text = std::fs::read_to_string(fixture(&format!("auger/json/{name}.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Every write to one key, with the resource and namespace the test expects for it.
struct Writes {
    resource: String,
    namespace: Option<String>,
    /// Value bytes of each put; `None` for a delete.
    writes: Vec<Option<u64>>,
}

/// (objects, live bytes, history revisions, history bytes).
type Counts = [u64; 4];

/// What the stats should say, computed from the writes.
struct Expected {
    resources: BTreeMap<String, Counts>,
    namespaces: BTreeMap<Option<String>, Counts>,
    total: Counts,
    /// Live keys by value size, biggest first, then by key.
    largest: Vec<(u64, String)>,
}

/// What the test wrote, key by key, for the stats check.
#[derive(Default)]
struct Model {
    keys: BTreeMap<String, Writes>,
}

impl Model {
    fn put(&mut self, etcd: &Etcd, key: &str, value: &[u8], resource: &str, ns: Option<&str>) {
        etcd.put_bytes(key, value);
        self.keys
            .entry(key.to_string())
            .or_insert_with(|| Writes {
                resource: resource.to_string(),
                namespace: ns.map(str::to_string),
                writes: Vec::new(),
            })
            .writes
            .push(Some(value.len() as u64));
    }
    fn delete(&mut self, etcd: &Etcd, key: &str) {
        assert_eq!(etcd.delete(key), 1);
        self.keys.get_mut(key).unwrap().writes.push(None);
    }

    fn expected(&self) -> Expected {
        let mut res: BTreeMap<String, Counts> = BTreeMap::new();
        let mut nss: BTreeMap<Option<String>, Counts> = BTreeMap::new();
        let mut total = [0u64; 4];
        let mut largest = Vec::new();
        for (key, w) in &self.keys {
            let (last, older) = w.writes.split_last().unwrap();
            let mut u = [0u64; 4];
            if let Some(n) = last {
                u[0] += 1;
                u[1] += n;
                largest.push((*n, key.clone()));
            } else {
                u[2] += 1; // the deletion record
            }
            for w in older {
                u[2] += 1;
                u[3] += w.unwrap_or(0);
            }
            for acc in [
                res.entry(w.resource.clone()).or_default(),
                nss.entry(w.namespace.clone()).or_default(),
                &mut total,
            ] {
                for (a, x) in acc.iter_mut().zip(u) {
                    *a += x;
                }
            }
        }
        largest.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        Expected {
            resources: res,
            namespaces: nss,
            total,
            largest,
        }
    }
}

fn usage(v: &Value) -> Counts {
    [
        "objects",
        "live_value_bytes",
        "history_revisions",
        "history_value_bytes",
    ]
    .map(|f| v[f].as_u64().unwrap_or_else(|| panic!("{f} in {v}")))
}

const POD: &str = "/registry/pods/default/pi-dqtsw";
const JOB_OPENSHIFT: &str = "/kubernetes.io/jobs/default/pi";
const WIDGET: &str = "/registry/example.com/widgets/team-a/w1";
const ROUTE: &str = "/openshift.io/routes/team-a/r1";
const SECRET: &str = "/registry/secrets/default/s1";
const RANGE: &str = "/registry/ranges/servicenodeports";
const BROKEN: &str = "/registry/pods/default/broken";
const CUSTOM: &str = "/custom/pods/default/pi-dqtsw";
const APP: &str = "/myapp/settings";
const GONE: &str = "/registry/configmaps/default/gone";

#[test]
fn decode_ls_and_stats_on_kubernetes_values() {
    let etcd = Etcd::start();
    let mut m = Model::default();
    let pod = stored("pod");
    let job = stored("job");
    let widget = json!({
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w1", "namespace": "team-a", "uid": "1234"},
        "spec": {"size": 3, "colors": ["red", "blue"]}
    });
    let route = json!({
        "apiVersion": "route.openshift.io/v1",
        "kind": "Route",
        "metadata": {"name": "r1", "namespace": "team-a"},
        "spec": {"host": "r1.example.com"}
    });
    let mut secret = b"k8s:enc:aescbc:v1:key1:".to_vec();
    secret.extend((0..48u8).map(|i| i.wrapping_mul(37) | 0x80));
    let range = [0x01u8, 0x02, 0xfe, 0xff, 0x00];

    // The pod is first written as a short JSON stand-in, then overwritten: history.
    let first = br#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"pi-dqtsw"}}"#;
    m.put(&etcd, POD, first, "pods", Some("default"));
    m.put(&etcd, POD, &pod, "pods", Some("default"));
    m.put(&etcd, JOB_OPENSHIFT, &job, "jobs", Some("default"));
    m.put(
        &etcd,
        WIDGET,
        widget.to_string().as_bytes(),
        "widgets.example.com",
        Some("team-a"),
    );
    m.put(
        &etcd,
        ROUTE,
        route.to_string().as_bytes(),
        "routes",
        Some("team-a"),
    );
    m.put(&etcd, SECRET, &secret, "secrets", Some("default"));
    m.put(&etcd, RANGE, &range, "rangeallocations", None);
    m.put(&etcd, BROKEN, &pod[..200], "pods", Some("default"));
    m.put(&etcd, CUSTOM, &pod, "(non-kubernetes)", None);
    m.put(&etcd, APP, b"plain text setting", "(non-kubernetes)", None);
    m.put(
        &etcd,
        GONE,
        br#"{"kind":"ConfigMap"}"#,
        "configmaps",
        Some("default"),
    );
    m.delete(&etcd, GONE);

    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snap.db");
    etcd.snapshot(&snap);
    let p = snap.to_str().unwrap();

    check_decode(p, &widget);
    check_ls(p);
    check_stats(p, &m, first.len() as u64, pod.len() as u64);
}

fn check_decode(p: &str, widget: &Value) {
    // The real Pod and Job decode to what the API server renders (auger's JSON).
    for (key, name, extra) in [
        (POD, "pod", &[][..]),
        (JOB_OPENSHIFT, "job", &[][..]),
        // A relative key is looked up under --etcd-prefix.
        ("pods/default/pi-dqtsw", "pod", &[][..]),
        (
            "jobs/default/pi",
            "job",
            &["--etcd-prefix", "/kubernetes.io"][..],
        ),
    ] {
        let mut args = vec!["get", p, key, "--decode", "-o", "json"];
        args.extend(extra);
        let got: Value = serde_json::from_str(&LENS.ok(&args)).unwrap();
        assert_eq!(
            prune(&got),
            prune(&expected_json(name)),
            "{key}: decoded {name}"
        );
    }
    // YAML is the default.
    let yaml = LENS.ok(&["get", p, POD, "--decode"]);
    assert!(
        yaml.starts_with("apiVersion: v1\nkind: Pod\nmetadata:\n"),
        "{yaml}"
    );
    assert!(yaml.contains("\n  name: pi-dqtsw\n"), "{yaml}");

    // A JSON custom resource comes back as written.
    let got: Value =
        serde_json::from_str(&LENS.ok(&["get", p, WIDGET, "--decode", "-o", "json"])).unwrap();
    assert_eq!(&got, widget);

    // Encrypted: one line naming provider and key, nothing on stdout, exit 1.
    let o = LENS.run(&["get", p, SECRET, "--decode"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(SECRET) && err.contains("aescbc") && err.contains("key1"),
        "{err}"
    );

    // Opaque: text as is, binary as hex; success.
    assert_eq!(
        LENS.ok(&["get", p, APP, "--decode"]),
        "plain text setting\n"
    );
    assert_eq!(LENS.ok(&["get", p, RANGE, "--decode"]), "0102feff00\n");
    let got: Value =
        serde_json::from_str(&LENS.ok(&["get", p, RANGE, "--decode", "-o", "json"])).unwrap();
    assert_eq!(got, json!({"encoding": "opaque", "hex": "0102feff00"}));

    // A truncated protobuf: a labelled error for that value, exit 1.
    let o = LENS.run(&["get", p, BROKEN, "--decode"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(BROKEN) && err.contains("protobuf") && err.contains("200 bytes"),
        "{err}"
    );

    // --decode needs no other flag; -o without --decode is refused.
    assert_eq!(
        LENS.run(&["get", p, POD, "-o", "json"]).status.code(),
        Some(2)
    );
}

fn ls_json(args: &[&str]) -> BTreeMap<String, Value> {
    LENS.ok(args)
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (v["key"].as_str().unwrap().to_string(), v)
        })
        .collect()
}

fn fields(v: &Value) -> Value {
    let mut m = serde_json::Map::new();
    for f in [
        "kind",
        "apiVersion",
        "namespace",
        "name",
        "encoding",
        "provider",
        "key_name",
    ] {
        if let Some(x) = v.get(f) {
            m.insert(f.into(), x.clone());
        }
    }
    Value::Object(m)
}

fn k8s(kind: Option<&str>, api: Option<&str>, ns: Option<&str>, name: &str, enc: &str) -> Value {
    json!({"kind": kind, "apiVersion": api, "namespace": ns, "name": name, "encoding": enc})
}

fn check_ls(p: &str) {
    let ls = ls_json(&["ls", p, "--json"]);
    let nulls = |enc: &str| json!({"kind": null, "apiVersion": null, "namespace": null, "name": null, "encoding": enc});
    let want: BTreeMap<&str, Value> = [
        (
            POD,
            k8s(
                Some("Pod"),
                Some("v1"),
                Some("default"),
                "pi-dqtsw",
                "protobuf",
            ),
        ),
        (
            JOB_OPENSHIFT,
            k8s(
                Some("Job"),
                Some("batch/v1"),
                Some("default"),
                "pi",
                "protobuf",
            ),
        ),
        (
            WIDGET,
            k8s(
                Some("Widget"),
                Some("example.com/v1"),
                Some("team-a"),
                "w1",
                "json",
            ),
        ),
        (
            ROUTE,
            k8s(
                Some("Route"),
                Some("route.openshift.io/v1"),
                Some("team-a"),
                "r1",
                "json",
            ),
        ),
        (
            SECRET,
            json!({"kind": null, "apiVersion": null, "namespace": "default", "name": "s1",
                   "encoding": "encrypted", "provider": "aescbc", "key_name": "key1"}),
        ),
        (RANGE, k8s(None, None, None, "servicenodeports", "opaque")),
        // The envelope is cut inside `raw`: no kind, still listed.
        (
            BROKEN,
            k8s(None, None, Some("default"), "broken", "protobuf"),
        ),
        // Not under --etcd-prefix: just a key.
        (CUSTOM, nulls("protobuf")),
        (APP, nulls("opaque")),
    ]
    .into_iter()
    .collect();
    assert_eq!(
        ls.keys().map(String::as_str).collect::<Vec<_>>(),
        want.keys().copied().collect::<Vec<_>>()
    );
    for (k, w) in &want {
        assert_eq!(&fields(&ls[*k]), w, "{k}");
    }
    // --prefix still filters; --etcd-prefix makes the custom root Kubernetes.
    let custom = ls_json(&[
        "ls",
        p,
        "--prefix",
        "/custom/",
        "--json",
        "--etcd-prefix",
        "/custom",
    ]);
    assert_eq!(custom.len(), 1);
    assert_eq!(
        fields(&custom[CUSTOM]),
        k8s(
            Some("Pod"),
            Some("v1"),
            Some("default"),
            "pi-dqtsw",
            "protobuf"
        )
    );
    // Text output is unchanged: keys only.
    assert_eq!(
        LENS.ok(&["ls", p, "--prefix", "/registry/pods/"]),
        format!("{BROKEN}\n{POD}\n")
    );
}

fn check_stats(p: &str, m: &Model, first_len: u64, pod_len: u64) {
    let Expected {
        resources: res,
        namespaces: nss,
        total,
        largest,
    } = m.expected();
    let s: Value = serde_json::from_str(&LENS.ok(&["stats", p, "--json", "--top", "3"])).unwrap();
    assert_eq!(usage(&s["total"]), total);
    let got_res: BTreeMap<String, Counts> = s["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["resource"].as_str().unwrap().to_string(), usage(r)))
        .collect();
    assert_eq!(got_res, res);
    let got_ns: BTreeMap<Option<String>, Counts> = s["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["namespace"].as_str().map(str::to_string), usage(n)))
        .collect();
    assert_eq!(got_ns, nss);
    // The overwritten pod's first value is history.
    assert_eq!(res["pods"][2..], [1, first_len]);
    let got_top: Vec<(u64, String)> = s["largest"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["value_bytes"].as_u64().unwrap(),
                l["key"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(got_top, largest[..3].to_vec());

    // --etcd-prefix replaces /registry/: the custom root's pod is the only pod, and
    // /registry/ keys are just keys; OpenShift roots stay recognised.
    let s: Value =
        serde_json::from_str(&LENS.ok(&["stats", p, "--json", "--etcd-prefix", "/custom/"]))
            .unwrap();
    let pods = s["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["resource"] == "pods")
        .unwrap();
    assert_eq!(usage(pods), [1, pod_len, 0, 0]);
    let resources: Vec<&str> = s["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["resource"].as_str().unwrap())
        .collect();
    assert!(resources.contains(&"jobs") && resources.contains(&"routes"));
    assert!(!resources.contains(&"secrets"), "{resources:?}");

    // Text: a table per grouping, the largest values listed.
    let text = LENS.ok(&["stats", p, "--top", "2"]);
    assert!(
        text.contains("RESOURCE") && text.contains("NAMESPACE"),
        "{text}"
    );
    assert!(text.contains("LARGEST LIVE VALUES"), "{text}");
    assert!(text.lines().any(|l| l.starts_with("pods ")), "{text}");
    assert!(text.lines().any(|l| l.starts_with("team-a ")), "{text}");
}
