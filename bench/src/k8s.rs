//! Kubernetes objects for the audit benchmark, as the API server stores them
//! by default: `k8s\0` then a `runtime.Unknown` (typeMeta, raw object) in
//! protobuf, the object a core/v1 Secret or ConfigMap. Field numbers are
//! k8s.io/api's `generated.proto` (ObjectMeta: name 1, namespace 3, uid 5,
//! resourceVersion 6, creationTimestamp 8, labels 11; Secret: metadata 1,
//! data 2, type 3; ConfigMap: metadata 1, data 2) and apimachinery's
//! `runtime.Unknown` (typeMeta 1 {apiVersion 1, kind 2}, raw 2).
//!
//! Every tenth object is a Secret (three data entries, type Opaque); the rest
//! are ConfigMaps with a `config.yaml` of about `config_bytes`, one in 1000 of
//! them carrying an AWS-style access key id and secret (a credential the
//! audit's scan reports). Namespaces `team-000` … `team-199`.

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A length-delimited field.
fn field(out: &mut Vec<u8>, number: u64, bytes: &[u8]) {
    varint(out, number << 3 | 2);
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// A map entry (key 1, value 2) as field `number`.
fn entry(out: &mut Vec<u8>, number: u64, key: &str, value: &[u8]) {
    let mut e = Vec::new();
    field(&mut e, 1, key.as_bytes());
    field(&mut e, 2, value);
    field(out, number, &e);
}

fn meta(name: &str, namespace: &str, i: u64) -> Vec<u8> {
    let mut m = Vec::new();
    field(&mut m, 1, name.as_bytes());
    field(&mut m, 3, namespace.as_bytes());
    let uid = format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        i as u32,
        (i >> 3) & 0xffff,
        i & 0xfff,
        (i >> 5) & 0xfff,
        i.wrapping_mul(0x9e37_79b9)
    );
    field(&mut m, 5, uid.as_bytes());
    let mut ts = Vec::new();
    varint(&mut ts, 1 << 3);
    varint(&mut ts, 1_700_000_000 + i);
    field(&mut m, 8, &ts);
    entry(
        &mut m,
        11,
        "app.kubernetes.io/name",
        format!("app-{}", i % 97).as_bytes(),
    );
    m
}

fn wrap(kind: &str, raw: &[u8]) -> Vec<u8> {
    let mut type_meta = Vec::new();
    field(&mut type_meta, 1, b"v1");
    field(&mut type_meta, 2, kind.as_bytes());
    let mut out = b"k8s\0".to_vec();
    field(&mut out, 1, &type_meta);
    field(&mut out, 2, raw);
    out
}

/// A pseudo-random printable string (deterministic in `seed`).
fn token(seed: u64, len: usize) -> String {
    token_of(
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        seed,
        len,
    )
}

/// [`token`] over `alphabet`.
fn token_of(alphabet: &[u8], seed: u64, len: usize) -> String {
    let mut x = seed.wrapping_mul(0x2545_f491_4f6c_dd1d) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            alphabet[(x % alphabet.len() as u64) as usize] as char
        })
        .collect()
}

/// Object `i` (its `generation`-th write): its etcd key and stored value.
pub fn object(i: u64, generation: u64, config_bytes: usize) -> (String, Vec<u8>) {
    let ns = format!("team-{:03}", i % 200);
    let seed = i ^ (generation << 40);
    if i % 10 == 0 {
        let name = format!("app-{i:08}-credentials");
        let mut s = Vec::new();
        field(&mut s, 1, &meta(&name, &ns, i));
        entry(&mut s, 2, "username", format!("svc-{i}").as_bytes());
        entry(&mut s, 2, "password", token(seed, 32).as_bytes());
        entry(&mut s, 2, "tls.key", token(seed + 1, 600).as_bytes());
        field(&mut s, 3, b"Opaque");
        (format!("/registry/secrets/{ns}/{name}"), wrap("Secret", &s))
    } else {
        let name = format!("app-{i:08}-config");
        let mut yaml = String::with_capacity(config_bytes + 128);
        if i % 1000 == 1 {
            yaml += &format!(
                "aws_access_key_id: AKIA{}\naws_secret_access_key: {}\n",
                // AWS key ids are base32 after the prefix.
                token_of(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", seed, 16),
                token(seed + 2, 40)
            );
        }
        let mut line = 0;
        while yaml.len() < config_bytes {
            yaml += &format!("setting_{line:04}: \"{}\"\n", token(seed + line, 40));
            line += 1;
        }
        let mut c = Vec::new();
        field(&mut c, 1, &meta(&name, &ns, i));
        entry(&mut c, 2, "config.yaml", yaml.as_bytes());
        (
            format!("/registry/configmaps/{ns}/{name}"),
            wrap("ConfigMap", &c),
        )
    }
}
