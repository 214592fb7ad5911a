//! Replays the `audit_config` and `credentials` fuzz corpora
//! (`fuzz/corpus/{audit_config,credentials}/`) on stable: each seed, every
//! prefix of it, and single bit flips, through the fuzz targets' entry points.
//!
//! Seeds, all written for these corpora: `audit_config/*.yaml` are
//! EncryptionConfigurations after the Kubernetes documentation's examples
//! (`malformed-*` must not parse, the rest must); `*-value` are
//! `yaml \0 resource \0 etcd key \0 value` with a value encrypted by Python's
//! `cryptography` under the configuration's first key (AES-256-CBC; AES-128-GCM
//! with the etcd key as additional data). `credentials/*` are objects and values
//! with fake credentials and look-alikes; the patterns each must yield are below.

use std::path::Path;

use etcd_lens_core::audit::{Decryption, EncryptionConfig};
use etcd_lens_core::fuzzing::{audit_config, credentials};

/// Every seed of `target`, by file name.
fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    out.sort();
    out
}

/// Every prefix and a bit flip at 64 evenly spread places (two bits each).
fn mutations(bytes: &[u8], f: impl Fn(&[u8])) {
    for len in 0..bytes.len() {
        f(&bytes[..len]);
    }
    for at in (0..bytes.len()).step_by(bytes.len() / 64 + 1) {
        for bit in [0x01, 0x20] {
            let mut b = bytes.to_vec();
            b[at] ^= bit;
            f(&b);
        }
    }
}

#[test]
fn audit_config_corpus() {
    let seeds = seeds("audit_config");
    for (name, bytes) in &seeds {
        let parsed = audit_config(bytes);
        assert_eq!(parsed, !name.starts_with("malformed-"), "{name}");
        mutations(bytes, |b| {
            let _ = audit_config(b);
        });
    }
    assert!(seeds.len() >= 11, "seeds missing: {}", seeds.len());
}

#[test]
fn audit_config_value_seeds_decrypt() {
    let mut n = 0;
    for (name, bytes) in seeds("audit_config") {
        if !name.ends_with("-value") {
            continue;
        }
        let parts: Vec<&[u8]> = bytes.splitn(4, |&b| b == 0).collect();
        let [yaml, resource, etcd_key, value] = parts[..] else {
            panic!("{name}: not yaml\\0resource\\0key\\0value");
        };
        let config = EncryptionConfig::parse(std::str::from_utf8(yaml).unwrap()).unwrap();
        let resource = std::str::from_utf8(resource).unwrap();
        match config.decrypt(resource, etcd_key, value) {
            Decryption::Decrypted { plaintext, .. } => {
                assert!(plaintext.starts_with(b"k8s\0"), "{name}");
            }
            other => panic!("{name}: {other:?}"),
        }
        n += 1;
    }
    assert_eq!(n, 2);
}

#[test]
fn credentials_corpus() {
    let expected: &[(&str, &[&str])] = &[
        ("configmap-aws-key-id.json", &["aws-access-key-id"]),
        ("configmap-jwt.json", &["jwt"]),
        ("configmap-look-alikes.json", &[]),
        ("configmap-pem.json", &["private-key"]),
        (
            "deployment-env-last-applied.json",
            &[
                "basic-auth-url",
                "credential-named-key",
                "github-token",
                "gitlab-token",
                "google-api-key",
                "jwt",
                "slack-webhook",
            ],
        ),
        ("text-named-password", &["credential-named-key"]),
        ("text-slack-token", &["slack-token"]),
    ];
    let seeds = seeds("credentials");
    let names: Vec<&str> = seeds.iter().map(|(n, _)| n.as_str()).collect();
    let want: Vec<&str> = expected.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, want, "every seed has its expected patterns here");
    for ((name, bytes), (_, patterns)) in seeds.iter().zip(expected) {
        assert_eq!(credentials(bytes), *patterns, "{name}");
        mutations(bytes, |b| {
            let _ = credentials(b);
        });
    }
}
