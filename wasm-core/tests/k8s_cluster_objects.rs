//! Objects every cluster stores outside the served resources, written the way
//! kube-apiserver writes them: the allocators' `RangeAllocation` bitmaps under
//! `/registry/ranges/`, the API servers' leases under `/registry/masterleases/`, and
//! the `IPAddress`/`ServiceCIDR` objects that replace the service IP bitmap with the
//! MultiCIDRServiceAllocator (GA in 1.33).
//!
//! The bytes follow the generated `MarshalToSizedBuffer` of k8s.io/api and
//! k8s.io/apimachinery v0.37.2 (gogo): every non-pointer field is written, empty
//! strings and zeros included, and a zero `metav1.Time` is a field of length 0.

use etcd_lens_core::k8s::{self, DEFAULT_PREFIX, KeyRole, Schema};
use serde_json::json;

fn varint(mut n: u64, out: &mut Vec<u8>) {
    while n >= 0x80 {
        out.push(u8::try_from(n & 0x7f).unwrap() | 0x80);
        n >>= 7;
    }
    out.push(u8::try_from(n).unwrap());
}

/// Field `tag` with wire type 2 (length-delimited).
fn bytes_field(tag: u64, bytes: &[u8], out: &mut Vec<u8>) {
    varint(tag << 3 | 2, out);
    varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

/// An ObjectMeta as gogo writes one with only `name` and `generation` set.
fn object_meta(name: &str, generation: u64) -> Vec<u8> {
    let mut m = Vec::new();
    bytes_field(1, name.as_bytes(), &mut m);
    for tag in 2..=6 {
        // generateName, namespace, selfLink, uid, resourceVersion: "".
        bytes_field(tag, b"", &mut m);
    }
    varint(7 << 3, &mut m);
    varint(generation, &mut m);
    // creationTimestamp: the zero Time marshals to nothing, the field to length 0.
    bytes_field(8, b"", &mut m);
    m
}

fn envelope(api_version: &str, kind: &str, raw: &[u8]) -> Vec<u8> {
    let mut type_meta = Vec::new();
    bytes_field(1, api_version.as_bytes(), &mut type_meta);
    bytes_field(2, kind.as_bytes(), &mut type_meta);
    let mut unknown = Vec::new();
    bytes_field(1, &type_meta, &mut unknown);
    bytes_field(2, raw, &mut unknown);
    bytes_field(3, b"", &mut unknown);
    bytes_field(4, b"", &mut unknown);
    let mut v = b"k8s\0".to_vec();
    v.extend(unknown);
    v
}

/// `/registry/ranges/<name>` as the allocator's `CreateOrUpdate` leaves it (the etcd3
/// store clears the resourceVersion before writing).
fn range_allocation(range: &str, data: &[u8]) -> Vec<u8> {
    let mut raw = Vec::new();
    bytes_field(1, &object_meta("", 0), &mut raw);
    bytes_field(2, range.as_bytes(), &mut raw);
    bytes_field(3, data, &mut raw);
    envelope("v1", "RangeAllocation", &raw)
}

const ZERO_META: &str = r#"{"name":"","generateName":"","namespace":"","selfLink":"","uid":"","resourceVersion":"","generation":0,"creationTimestamp":null}"#;

#[test]
fn range_allocations_decode_with_their_schema() {
    for (key, range, data, data_b64, role) in [
        (
            "/registry/ranges/serviceips",
            "10.96.0.0/12",
            &[0x02, 0x01][..],
            "AgE=",
            KeyRole::ServiceIpAllocation,
        ),
        (
            "/registry/ranges/servicenodeports",
            "30000-32767",
            &[0x80, 0x00, 0x04][..],
            "gAAE",
            KeyRole::NodePortAllocation,
        ),
    ] {
        let d = k8s::decode(&range_allocation(range, data)).unwrap();
        assert_eq!(
            d.schema,
            Schema::Typed {
                proto_message: "k8s.io.api.core.v1.RangeAllocation".into()
            }
        );
        let meta: serde_json::Value = serde_json::from_str(ZERO_META).unwrap();
        assert_eq!(
            d.object,
            json!({
                "apiVersion": "v1",
                "kind": "RangeAllocation",
                "metadata": meta,
                "range": range,
                "data": data_b64,
            })
        );
        let info = k8s::parse_key(key.as_bytes(), DEFAULT_PREFIX)
            .unwrap()
            .with_object(&d);
        assert_eq!(info.role, Some(role));
        assert_eq!(info.resource, "rangeallocations");
    }
}

#[test]
fn master_lease_is_an_unnamed_endpoints_shown_as_it_is() {
    // pkg/controlplane/reconcilers/lease.go: the subset holds the server's IP, the
    // generation is bumped on every refresh, the name stays empty.
    let ip = "10.0.0.1";
    let mut address = Vec::new();
    bytes_field(1, ip.as_bytes(), &mut address);
    bytes_field(3, b"", &mut address);
    let mut subset = Vec::new();
    bytes_field(1, &address, &mut subset);
    let mut raw = Vec::new();
    bytes_field(1, &object_meta("", 42), &mut raw);
    bytes_field(2, &subset, &mut raw);
    let d = k8s::decode(&envelope("v1", "Endpoints", &raw)).unwrap();
    assert!(matches!(d.schema, Schema::Typed { .. }), "{:?}", d.schema);
    assert_eq!(d.object["metadata"]["name"], "", "shown as stored");
    assert_eq!(d.object["metadata"]["generation"], 42);
    assert_eq!(
        d.object["subsets"],
        json!([{"addresses": [{"ip": ip, "hostname": ""}]}])
    );
    assert_eq!(d.name(), None);
    let key = format!("/registry/masterleases/{ip}");
    let info = k8s::parse_key(key.as_bytes(), DEFAULT_PREFIX)
        .unwrap()
        .with_object(&d);
    // The empty name does not hide the path's: the IP names the key.
    assert_eq!(info.name.as_deref(), Some(ip));
    assert_eq!(info.role, Some(KeyRole::ApiServerLease));
    assert!(info.role.unwrap().label().contains("API server lease"));
}

#[test]
fn ip_addresses_and_service_cidrs_decode_with_their_schema() {
    // networking.k8s.io/v1 (GA in 1.33) and v1beta1 share the layout.
    for version in ["v1", "v1beta1"] {
        let api_version = format!("networking.k8s.io/{version}");
        let mut parent = Vec::new();
        for (tag, v) in [(1, ""), (2, "services"), (3, "default"), (4, "kubernetes")] {
            bytes_field(tag, v.as_bytes(), &mut parent);
        }
        let mut spec = Vec::new();
        bytes_field(1, &parent, &mut spec);
        let mut raw = Vec::new();
        bytes_field(1, &object_meta("10.96.0.1", 0), &mut raw);
        bytes_field(2, &spec, &mut raw);
        let d = k8s::decode(&envelope(&api_version, "IPAddress", &raw)).unwrap();
        assert_eq!(
            d.schema,
            Schema::Typed {
                proto_message: format!("k8s.io.api.networking.{version}.IPAddress")
            }
        );
        assert_eq!(d.name(), Some("10.96.0.1"));
        assert_eq!(
            d.object["spec"],
            json!({"parentRef": {"group": "", "resource": "services", "namespace": "default", "name": "kubernetes"}})
        );

        let mut spec = Vec::new();
        bytes_field(1, b"10.96.0.0/12", &mut spec);
        bytes_field(1, b"fd00:10:96::/112", &mut spec);
        let mut raw = Vec::new();
        bytes_field(1, &object_meta("kubernetes", 1), &mut raw);
        bytes_field(2, &spec, &mut raw);
        let d = k8s::decode(&envelope(&api_version, "ServiceCIDR", &raw)).unwrap();
        assert!(matches!(d.schema, Schema::Typed { .. }), "{:?}", d.schema);
        assert_eq!(
            d.object["spec"],
            json!({"cidrs": ["10.96.0.0/12", "fd00:10:96::/112"]})
        );
    }
}
