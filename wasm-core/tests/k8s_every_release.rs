//! Every top-level kind of every pinned Kubernetes release (1.16 to 1.37,
//! `tools/k8s-descgen/inputs.tsv`), encoded with that release's own protobuf
//! definitions and decoded with the merged tables.
//!
//! Each release's `generated.proto` files are read from Go's module cache (checked
//! against their pinned SHA-256) and compiled by protox, as the generator does; what
//! is under test is the generator's merge of the releases and the decoder, against
//! prost-reflect's `DynamicMessage` encoder of that one release's definitions. Every
//! field of each kind is set (recursion cut where a message contains itself), the
//! message encoded, wrapped in the storage envelope and decoded. Checks: the typed
//! schema was used, every string and integer set appears in the output, nothing fell
//! to the unknown-fields list; and every (apiVersion, kind) kube-apiserver may have
//! stored in a release (`k8s_every_kind/stored_kinds.tsv`, from its sources by
//! `tools/k8s-descgen/stored_kinds.py`) was decoded from that release's encoding.
//!
//! Needs the modules `scripts/setup.sh` downloads; without them the tests say so and
//! pass, unless `ETCD_LENS_REQUIRE_ORACLES=1` (CI).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::process::Command;

use etcd_lens_core::k8s::{self, Schema};
use etcd_lens_testkit::{oracle_missing, workspace_root};
use prost::Message as _;
use protox::file::{File, FileResolver};
use protox::prost_reflect::{
    DescriptorPool, DynamicMessage, FieldDescriptor, Kind, MapKey, MessageDescriptor,
    ReflectMessage, Value,
};
use serde_json::Value as Json;
use sha2::{Digest, Sha256};

/// One release's pinned files: import name -> source.
struct Release {
    name: String,
    files: HashMap<String, String>,
}

impl FileResolver for Release {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        match self.files.get(name) {
            Some(s) => File::from_source(name, s),
            None => Err(protox::Error::file_not_found(name)),
        }
    }
}

fn module_cache() -> PathBuf {
    if let Some(d) = std::env::var_os("GOMODCACHE").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    for go in ["/usr/local/go/bin/go", "go"] {
        if let Ok(out) = Command::new(go).args(["env", "GOMODCACHE"]).output()
            && out.status.success()
            && !out.stdout.trim_ascii().is_empty()
        {
            return PathBuf::from(String::from_utf8_lossy(out.stdout.trim_ascii()).as_ref());
        }
    }
    PathBuf::from(std::env::var("HOME").unwrap_or_default()).join("go/pkg/mod")
}

/// Every pinned release, oldest first; `None` (after [`oracle_missing`]) when the
/// module cache lacks a file.
fn releases() -> Option<Vec<Release>> {
    let manifest = workspace_root().join("tools/k8s-descgen/inputs.tsv");
    let text = std::fs::read_to_string(&manifest).expect("inputs.tsv");
    let cache = module_cache();
    let mut out: Vec<Release> = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let cols: Vec<&str> = line.split('\t').collect();
        let [release, module, version, sha, path] = cols[..] else {
            panic!("inputs.tsv: bad row {line:?}");
        };
        let p = cache.join(format!("{module}@{version}")).join(path);
        let Ok(bytes) = std::fs::read(&p) else {
            oracle_missing(&format!("{} (Kubernetes {release}'s protos)", p.display()));
            return None;
        };
        assert_eq!(hex::encode(Sha256::digest(&bytes)), sha, "{}", p.display());
        if out.last().is_none_or(|r| r.name != release) {
            out.push(Release {
                name: release.to_string(),
                files: HashMap::new(),
            });
        }
        let source = String::from_utf8(bytes).expect("proto is UTF-8");
        out.last_mut()
            .unwrap()
            .files
            .insert(format!("{module}/{path}"), source);
    }
    Some(out)
}

fn pool(r: Release) -> DescriptorPool {
    let names: Vec<String> = r.files.keys().cloned().collect();
    let what = r.name.clone();
    let mut c = protox::Compiler::with_file_resolver(r);
    c.include_imports(true);
    c.open_files(&names)
        .unwrap_or_else(|e| panic!("release {what}: {e}"));
    c.descriptor_pool()
}

/// Fields the newer definition reads differently (see the conflicts in
/// generated.rs's header), left unset in the sweep; [`newer_release_wins`] shows
/// what happens to them. (message, field, the field's child to leave unset)
const NEWER_WINS: &[(&str, &str, &str)] = &[(
    "k8s.io.api.core.v1.PersistentVolumeClaimSpec",
    "resources",
    "claims",
)];

/// Produces distinct marker values and remembers the ones the output must show.
#[derive(Default)]
struct Ctx {
    n: i64,
    stack: Vec<String>,
    strings: BTreeSet<String>,
    ints: BTreeSet<i64>,
}

impl Ctx {
    fn next(&mut self) -> i64 {
        self.n += 1;
        self.n
    }
    fn string(&mut self) -> String {
        let s = format!("s{}", self.next());
        self.strings.insert(s.clone());
        s
    }
    fn raw_json(&mut self) -> Value {
        Value::Bytes(
            format!(r#"{{"k":"{}"}}"#, self.string())
                .into_bytes()
                .into(),
        )
    }

    fn scalar(&mut self, kind: &Kind) -> Value {
        match kind {
            Kind::String => Value::String(self.string()),
            Kind::Bytes => {
                Value::Bytes(vec![u8::try_from(self.next() % 256).unwrap(), 0xff].into())
            }
            Kind::Bool => Value::Bool(true),
            Kind::Int32 => {
                let n = self.next();
                self.ints.insert(n);
                Value::I32(i32::try_from(n).unwrap())
            }
            Kind::Int64 => {
                // Beyond i32, so int64 handling is exercised.
                let n = (1 << 40) + self.next();
                self.ints.insert(n);
                Value::I64(n)
            }
            Kind::Double => Value::F64(self.next() as f64 + 0.5),
            Kind::Message(m) => Value::Message(self.fill(m, None)),
            other => panic!("the Kubernetes protos use no {other:?}"),
        }
    }

    /// Sets `name` of `m` to `v`.
    fn set(m: &mut DynamicMessage, name: &str, v: Value) {
        let f = m
            .descriptor()
            .get_field_by_name(name)
            .unwrap_or_else(|| panic!("{} has no field {name}", m.descriptor().full_name()));
        m.set_field(&f, v);
    }

    /// Every field of `desc`, or the JSON form a special message needs; `skip` is a
    /// field to leave unset.
    fn fill(&mut self, desc: &MessageDescriptor, skip: Option<&str>) -> DynamicMessage {
        let mut m = DynamicMessage::new(desc.clone());
        let name = desc.full_name().to_string();
        if self.stack.contains(&name) {
            return m;
        }
        let meta = "k8s.io.apimachinery.pkg.apis.meta.v1.";
        let short = name.rsplit('.').next().unwrap_or_default();
        match name.as_str() {
            n if n == format!("{meta}Time") => {
                Self::set(&mut m, "seconds", Value::I64(1_600_000_000 + self.next()));
                Self::set(&mut m, "nanos", Value::I32(0));
            }
            n if n == format!("{meta}MicroTime") => {
                Self::set(&mut m, "seconds", Value::I64(1_600_000_000 + self.next()));
                let micros = i32::try_from(self.next() % 1_000_000).unwrap();
                Self::set(&mut m, "nanos", Value::I32(micros * 1000));
            }
            n if n == format!("{meta}Duration") => {
                Self::set(&mut m, "duration", Value::I64(self.next() * 1_000_000_000));
            }
            n if n == format!("{meta}FieldsV1") => Self::set(&mut m, "Raw", self.raw_json()),
            n if n == format!("{meta}Verbs") || short == "ExtraValue" => {
                let s = self.string();
                Self::set(&mut m, "items", Value::List(vec![Value::String(s)]));
            }
            "k8s.io.apimachinery.pkg.api.resource.Quantity" => {
                let s = format!("{}Mi", self.next());
                self.strings.insert(s.clone());
                Self::set(&mut m, "string", Value::String(s));
            }
            "k8s.io.apimachinery.pkg.util.intstr.IntOrString" => {
                Self::set(&mut m, "type", Value::I64(1));
                let s = self.string();
                Self::set(&mut m, "strVal", Value::String(s));
            }
            "k8s.io.apimachinery.pkg.runtime.RawExtension" => {
                Self::set(&mut m, "raw", self.raw_json());
            }
            n if n.starts_with("k8s.io.apiextensions_apiserver.") => match short {
                "JSON" => Self::set(&mut m, "raw", self.raw_json()),
                "JSONSchemaPropsOrBool" => Self::set(&mut m, "allows", Value::Bool(true)),
                "JSONSchemaPropsOrStringArray" => {
                    let s = self.string();
                    Self::set(&mut m, "property", Value::List(vec![Value::String(s)]));
                }
                "JSONSchemaPropsOrArray" => {
                    let f = desc.get_field_by_name("jSONSchemas").unwrap();
                    let Kind::Message(inner) = f.kind() else {
                        panic!()
                    };
                    m.set_field(
                        &f,
                        Value::List(vec![Value::Message(DynamicMessage::new(inner))]),
                    );
                }
                _ => self.fill_fields(&mut m, desc, skip),
            },
            _ => self.fill_fields(&mut m, desc, skip),
        }
        m
    }

    fn fill_fields(
        &mut self,
        m: &mut DynamicMessage,
        desc: &MessageDescriptor,
        skip: Option<&str>,
    ) {
        self.stack.push(desc.full_name().to_string());
        for f in desc.fields() {
            if skip == Some(f.name()) {
                continue;
            }
            let v = self.field(desc, &f);
            m.set_field(&f, v);
        }
        self.stack.pop();
    }

    fn field(&mut self, parent: &MessageDescriptor, f: &FieldDescriptor) -> Value {
        if f.is_map() {
            let Kind::Message(entry) = f.kind() else {
                panic!("map without entry")
            };
            let value = entry.map_entry_value_field();
            let key = MapKey::String(self.string());
            return Value::Map(HashMap::from([(key, self.scalar(&value.kind()))]));
        }
        let skip = NEWER_WINS
            .iter()
            .find(|(m, field, _)| *m == parent.full_name() && *field == f.name())
            .map(|(_, _, child)| *child);
        let one = match (f.kind(), skip) {
            (Kind::Message(m), Some(child)) => Value::Message(self.fill(&m, Some(child))),
            (kind, _) => self.scalar(&kind),
        };
        if f.is_list() {
            Value::List(vec![one])
        } else {
            one
        }
    }
}

fn envelope(api_version: &str, kind: &str, raw: Vec<u8>) -> Vec<u8> {
    use k8s_pb::apimachinery::pkg::runtime::{TypeMeta, Unknown};
    let u = Unknown {
        type_meta: Some(TypeMeta {
            api_version: Some(api_version.into()),
            kind: Some(kind.into()),
        }),
        raw: Some(raw),
        content_encoding: Some(String::new()),
        content_type: Some(String::new()),
    };
    let mut v = b"k8s\0".to_vec();
    v.extend(u.encode_to_vec());
    v
}

/// The proto message the tables decode (apiVersion, kind) with.
fn table_message(api_version: &str, kind: &str) -> String {
    match k8s::decode(&envelope(api_version, kind, Vec::new())) {
        Ok(d) => match d.schema {
            Schema::Typed { proto_message } => proto_message,
            other => panic!("{api_version} {kind}: schema {other:?}"),
        },
        Err(e) => panic!("{api_version} {kind}: {e}"),
    }
}

fn leaves(v: &Json, strings: &mut BTreeSet<String>, ints: &mut BTreeSet<i64>) {
    match v {
        Json::String(s) => {
            strings.insert(s.clone());
        }
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                ints.insert(i);
            }
        }
        Json::Array(a) => a.iter().for_each(|x| leaves(x, strings, ints)),
        Json::Object(m) => {
            for (k, x) in m {
                strings.insert(k.clone());
                leaves(x, strings, ints);
            }
        }
        _ => {}
    }
}

/// Encodes a filled `(api_version, kind)` with `desc` and checks what decodes.
fn check(api_version: &str, kind: &str, desc: &MessageDescriptor) -> Result<(), String> {
    let mut c = Ctx::default();
    let raw = c.fill(desc, None).encode_to_vec();
    let d = k8s::decode(&envelope(api_version, kind, raw)).map_err(|e| e.to_string())?;
    if !matches!(d.schema, Schema::Typed { .. }) {
        return Err(format!("schema {:?}", d.schema));
    }
    let text = d.object.to_string();
    if text.contains(k8s::UNKNOWN_FIELDS_KEY) {
        return Err(format!("fields fell to the unknown list: {text}"));
    }
    let (mut strings, mut ints) = (BTreeSet::new(), BTreeSet::new());
    leaves(&d.object, &mut strings, &mut ints);
    let missing_s: Vec<&String> = c.strings.difference(&strings).collect();
    let missing_i: Vec<&i64> = c.ints.difference(&ints).collect();
    if !missing_s.is_empty() || !missing_i.is_empty() {
        return Err(format!("set values missing: {missing_s:?} {missing_i:?}"));
    }
    Ok(())
}

#[test]
fn every_kind_of_every_release_decodes_from_its_own_protos() {
    let Some(releases) = releases() else { return };
    assert_eq!(releases.len(), 22, "Kubernetes 1.16 to 1.37");
    let kinds: Vec<(&str, &str, String)> = k8s::known_kinds()
        .map(|(av, k)| (av, k, table_message(av, k)))
        .collect();
    let mut decoded: BTreeSet<(String, String, String)> = BTreeSet::new();
    let mut kinds_seen: BTreeSet<(&str, &str)> = BTreeSet::new();
    let mut failures = Vec::new();
    for r in releases {
        let name = r.name.clone();
        let pool = pool(r);
        for (av, kind, message) in &kinds {
            let Some(desc) = pool.get_message_by_name(message) else {
                continue;
            };
            match check(av, kind, &desc) {
                Ok(()) => {
                    decoded.insert((name.clone(), av.to_string(), kind.to_string()));
                    kinds_seen.insert((av, kind));
                }
                Err(e) => failures.push(format!("{name} {av} {kind}: {e}")),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!(
        "{} (release, kind) encodings decoded, {} kinds",
        decoded.len(),
        kinds_seen.len()
    );
    // Every kind in the tables came from some release, and was exercised by it.
    let unseen: Vec<_> = kinds
        .iter()
        .filter(|(av, k, _)| !kinds_seen.contains(&(*av, *k)))
        .collect();
    assert!(unseen.is_empty(), "kinds no release encoded: {unseen:?}");
    // Every kind a release may have stored was decoded from that release's encoding.
    let stored = stored_kinds();
    assert!(stored.len() > 2000, "{} stored_kinds rows", stored.len());
    let undecoded: Vec<_> = stored.keys().filter(|k| !decoded.contains(k)).collect();
    assert!(
        undecoded.is_empty(),
        "stored by their release but not decoded from it: {undecoded:?}"
    );
}

/// (release, apiVersion, kind) -> role (`storage` or `candidate`).
fn stored_kinds() -> BTreeMap<(String, String, String), String> {
    let p = workspace_root().join("wasm-core/tests/k8s_every_kind/stored_kinds.tsv");
    std::fs::read_to_string(&p)
        .expect("stored_kinds.tsv")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            ((c[0].into(), c[1].into(), c[2].into()), c[3].into())
        })
        .collect()
}

#[test]
fn storage_versions_named_in_the_issue_are_in_the_stored_list() {
    // The pairs issue #16 names, each the storage version of at least one release
    // by kube-apiserver's rule (stored_kinds.py), and each known to the tables.
    let stored = stored_kinds();
    let known: BTreeSet<(&str, &str)> = k8s::known_kinds().collect();
    for (av, kind) in [
        ("policy/v1beta1", "PodSecurityPolicy"),
        ("policy/v1beta1", "PodDisruptionBudget"),
        ("batch/v1beta1", "CronJob"),
        ("discovery.k8s.io/v1beta1", "EndpointSlice"),
        ("flowcontrol.apiserver.k8s.io/v1beta1", "FlowSchema"),
        (
            "flowcontrol.apiserver.k8s.io/v1beta2",
            "PriorityLevelConfiguration",
        ),
        ("flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchema"),
        ("storage.k8s.io/v1beta1", "CSIDriver"),
        ("networking.k8s.io/v1beta1", "Ingress"),
        ("v1", "RangeAllocation"),
    ] {
        assert!(
            stored
                .iter()
                .any(|((_, a, k), role)| a == av && k == kind && role == "storage"),
            "{av} {kind} is no release's storage version"
        );
        assert!(known.contains(&(av, kind)), "{av} {kind} not in the tables");
    }
}

#[test]
fn newer_release_wins() {
    // 1.26 to 1.28 PersistentVolumeClaims used ResourceRequirements (limits 1,
    // requests 2, claims 3); 1.29 made it VolumeResourceRequirements, which has no
    // field 3. The newer definition decodes: limits and requests by name, and a
    // 1.28 `claims` (never valid on a claim, but on the wire) as an unknown field 3.
    let Some(releases) = releases() else { return };
    let r128 = releases
        .into_iter()
        .find(|r| r.name == "1.28")
        .expect("1.28 pinned");
    let pool = pool(r128);
    let spec = pool
        .get_message_by_name("k8s.io.api.core.v1.PersistentVolumeClaimSpec")
        .unwrap();
    let req = spec.get_field_by_name("resources").unwrap();
    let Kind::Message(req_desc) = req.kind() else {
        panic!()
    };
    assert_eq!(req_desc.name(), "ResourceRequirements", "1.28's type");
    let mut c = Ctx::default();
    let mut requirements = c.fill(&req_desc, None);
    let claims = requirements
        .get_field_by_name("claims")
        .expect("1.28 has claims");
    let Value::List(list) = claims.as_ref() else {
        panic!()
    };
    assert_eq!(list.len(), 1);
    requirements.clear_field_by_name("limits");
    let mut s = DynamicMessage::new(spec.clone());
    s.set_field(&req, Value::Message(requirements));
    let pvc_desc = pool
        .get_message_by_name("k8s.io.api.core.v1.PersistentVolumeClaim")
        .unwrap();
    let mut pvc = DynamicMessage::new(pvc_desc.clone());
    Ctx::set(&mut pvc, "spec", Value::Message(s));
    let d = k8s::decode(&envelope(
        "v1",
        "PersistentVolumeClaim",
        pvc.encode_to_vec(),
    ))
    .unwrap();
    let resources = &d.object["spec"]["resources"];
    assert!(resources["requests"].is_object(), "{resources}");
    assert!(resources.get("claims").is_none(), "{resources}");
    let unknown = resources[k8s::UNKNOWN_FIELDS_KEY]
        .as_array()
        .expect("unknown list");
    assert_eq!(unknown.len(), 1, "{resources}");
    assert_eq!(unknown[0]["field"], 3, "{resources}");
}
