//! Kubernetes value decoding against real data recorded by etcd-io/auger
//! (`../shared/fixtures/auger/`, see its README for provenance) and hand-built values
//! of every classification.

use etcd_lens_core::k8s::{self, DecodeError, Encoding, Schema, WireProblem};
use etcd_lens_testkit::fixture_bytes as fixture;
use etcd_lens_testkit::json::prune;
use serde_json::{Value, json};

/// `storage/*.bin` were captured with `etcdctl get --print-value-only`, which added
/// one `\n`; values read from a snapshot have no such byte. Strip it here only.
fn stored_value(name: &str) -> Vec<u8> {
    let mut v = fixture(&format!("auger/storage/{name}.bin"));
    assert_eq!(v.pop(), Some(b'\n'));
    v
}

#[test]
fn auger_pod_and_job_match_the_recorded_json() {
    for (name, kind, api_version, proto) in [
        ("pod", "Pod", "v1", "k8s.io.api.core.v1.Pod"),
        ("job", "Job", "batch/v1", "k8s.io.api.batch.v1.Job"),
    ] {
        assert_eq!(k8s::classify(&stored_value(name)), Encoding::Protobuf);
        let got = k8s::decode(&stored_value(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let want: Value =
            serde_json::from_slice(&fixture(&format!("auger/json/{name}.json"))).unwrap();
        assert_eq!(
            (got.kind.as_str(), got.api_version.as_str()),
            (kind, api_version)
        );
        assert_eq!(
            got.schema,
            Schema::Typed {
                proto_message: proto.to_string()
            }
        );
        assert_eq!(
            prune(&got.object),
            prune(&want),
            "{name}:\n{}",
            serde_json::to_string_pretty(&got.object).unwrap()
        );
        // Field order as the API server writes it.
        let keys: Vec<&String> = got.object.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["apiVersion", "kind", "metadata", "spec", "status"]);
    }
}

#[test]
fn auger_pod_metadata_and_special_types() {
    let pod = k8s::decode(&stored_value("pod")).unwrap();
    assert_eq!(
        (pod.namespace(), pod.name()),
        (Some("default"), Some("pi-dqtsw"))
    );
    let o = &pod.object;
    assert_eq!(o["metadata"]["creationTimestamp"], "2017-06-27T16:35:34Z");
    assert_eq!(
        o["spec"]["containers"][0]["resources"]["requests"]["cpu"],
        "100m"
    );
    assert_eq!(o["spec"]["terminationGracePeriodSeconds"], 30);
    // A zero metav1.Time is null, as Go renders it.
    assert_eq!(o["status"]["conditions"][0]["lastProbeTime"], Value::Null);
    // The wire carries Go's non-pointer zero values; they are shown, not invented.
    assert_eq!(o["status"]["containerStatuses"][0]["restartCount"], 0);
}

#[test]
fn the_same_bytes_with_the_captured_newline_are_a_labelled_error() {
    let raw = fixture("auger/storage/pod.bin");
    let err = k8s::decode(&raw).map(|_| ());
    assert!(matches!(err, Err(DecodeError::Envelope { .. })), "{err:?}");
}

#[test]
fn every_truncation_of_a_real_value_is_an_error_never_a_panic() {
    let v = stored_value("job");
    let env = k8s::parse_envelope(&v).unwrap().unwrap();
    let raw_start = usize::try_from(env.raw_offset).unwrap();
    let raw_end = raw_start + env.raw.len();
    for len in 0..v.len() {
        let r = k8s::decode(&v[..len]);
        // Cutting inside `raw` always fails; cutting between envelope fields may not.
        if (raw_start..raw_end).contains(&len) {
            assert!(r.is_err(), "prefix of {len} bytes decoded");
        }
    }
    let short = &v[..v.len() - 10];
    match k8s::decode(short) {
        Err(e @ DecodeError::Envelope { .. }) => {
            let DecodeError::Envelope { source } = &e else {
                unreachable!()
            };
            assert!(matches!(source.problem, WireProblem::Truncated { .. }));
            assert!(e.to_string().contains("truncated"), "{e}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn inner_protobuf_truncated_names_the_kind() {
    // A well-formed envelope whose raw object is cut short.
    let proto = fixture("auger/proto/job.bin");
    let raw = &proto[..proto.len() - 3];
    let value = envelope("batch/v1", "Job", raw);
    let err = k8s::decode(&value).map(|_| ());
    match err {
        Err(DecodeError::Protobuf {
            api_version,
            kind,
            source,
        }) => {
            assert_eq!((api_version.as_str(), kind.as_str()), ("batch/v1", "Job"));
            assert!(matches!(source.problem, WireProblem::Truncated { .. }));
        }
        other => panic!("{other:?}"),
    }
}

fn varint(mut n: usize, out: &mut Vec<u8>) {
    while n >= 0x80 {
        out.push(u8::try_from(n & 0x7f).unwrap() | 0x80);
        n >>= 7;
    }
    out.push(u8::try_from(n).unwrap());
}

fn len_field(tag: u8, bytes: &[u8], out: &mut Vec<u8>) {
    out.push(tag << 3 | 2);
    varint(bytes.len(), out);
    out.extend_from_slice(bytes);
}

fn envelope(api_version: &str, kind: &str, raw: &[u8]) -> Vec<u8> {
    let mut tm = Vec::new();
    len_field(1, api_version.as_bytes(), &mut tm);
    len_field(2, kind.as_bytes(), &mut tm);
    let mut v = b"k8s\0".to_vec();
    len_field(1, &tm, &mut v);
    len_field(2, raw, &mut v);
    v
}

#[test]
fn an_invented_kind_decodes_generically_and_says_so() {
    let mut meta = Vec::new();
    len_field(1, b"w1", &mut meta);
    let mut raw = Vec::new();
    len_field(1, &meta, &mut raw);
    raw.extend([0x10, 42]);
    let got = k8s::decode(&envelope("example.com/v1", "Widget", &raw)).unwrap();
    assert_eq!(got.schema, Schema::GenericProtobuf);
    assert_eq!(got.object["apiVersion"], "example.com/v1");
    assert_eq!(got.object["kind"], "Widget");
    assert!(
        got.object[k8s::GENERIC_DECODER_KEY]
            .as_str()
            .unwrap()
            .contains("generic protobuf")
    );
    assert_eq!(
        got.object["fields"],
        json!([
            {"field": 1, "wire": "len", "message": [{"field": 1, "wire": "len", "string": "w1"}]},
            {"field": 2, "wire": "varint", "varint": 42},
        ])
    );
    assert_eq!(got.object["rawHex"], hex::encode(&raw));
}

#[test]
fn a_field_newer_than_the_tables_is_kept_generically() {
    let mut raw = fixture("auger/proto/pod.bin");
    len_field(15, b"from the future", &mut raw);
    let got = k8s::decode(&envelope("v1", "Pod", &raw)).unwrap();
    assert_eq!(
        got.object[k8s::UNKNOWN_FIELDS_KEY],
        json!([{"field": 15, "wire": "len", "string": "from the future"}])
    );
    assert_eq!(got.object["metadata"]["name"], "pi-dqtsw");
}

#[test]
fn json_cbor_encrypted_and_opaque_values() {
    let j = br#"{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w","namespace":"n"}}"#;
    let got = k8s::decode(j).unwrap();
    assert_eq!(
        (&got.schema, got.kind.as_str(), got.namespace(), got.name()),
        (&Schema::Json, "Widget", Some("n"), Some("w"))
    );
    assert!(matches!(
        k8s::decode(b"{not json}"),
        Err(DecodeError::Json { .. })
    ));

    // 55799({"kind": "W", "apiVersion": "x/v1"}) with Go strings as byte strings.
    let c = [
        0xd9, 0xd9, 0xf7, 0xa2, 0x44, b'k', b'i', b'n', b'd', 0x41, b'W', 0x4a, b'a', b'p', b'i',
        b'V', b'e', b'r', b's', b'i', b'o', b'n', 0x44, b'x', b'/', b'v', b'1',
    ];
    let got = k8s::decode(&c).unwrap();
    assert_eq!(
        (got.schema, got.api_version.as_str(), got.kind.as_str()),
        (Schema::Cbor, "x/v1", "W")
    );

    let e = k8s::decode(b"k8s:enc:aescbc:v1:key1:\x00\x01secret").unwrap_err();
    assert_eq!(
        e,
        DecodeError::Encrypted {
            provider: "aescbc".into(),
            key_name: "key1".into()
        }
    );
    assert!(!e.to_string().contains("secret"));

    assert_eq!(
        k8s::decode(b"10.0.0.1").unwrap_err(),
        DecodeError::Opaque { utf8: true }
    );
    assert_eq!(
        k8s::decode(&[0x80, 0x81]).unwrap_err(),
        DecodeError::Opaque { utf8: false }
    );
}

#[test]
fn key_path_falls_back_and_metadata_wins() {
    let pod = k8s::decode(&stored_value("pod")).unwrap();
    let key = k8s::parse_key(b"/registry/pods/other-ns/renamed", k8s::DEFAULT_PREFIX).unwrap();
    let merged = key.with_object(&pod);
    assert_eq!(
        (merged.namespace.as_deref(), merged.name.as_deref()),
        (Some("default"), Some("pi-dqtsw"))
    );
    let job = k8s::decode(&stored_value("job")).unwrap();
    let key = k8s::parse_key(b"/registry/jobs/default/pi", k8s::DEFAULT_PREFIX)
        .unwrap()
        .with_object(&job);
    assert_eq!(key.qualified_resource(), "jobs.batch");
}
