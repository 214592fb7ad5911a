//! Objects of the open file as YAML for `kubectl apply`, made by the core
//! (`etcd_lens_core::apply`): one key at a retained revision, or every live
//! object under a tree node. Secret data only when the user confirmed it.

use etcd_lens_core::apply::export::{self, Candidate, ExportOptions};
use etcd_lens_core::apply::{ApplyOptions, ExportedUids, prepare};
use etcd_lens_core::k8s::DEFAULT_PREFIX;

use etcd_lens_core::audit::EncryptionConfig;
use etcd_lens_core::mvcc::KeyIndex;
use etcd_lens_core::snapshot::Snapshot;

use super::{Src, WorkerError};
use crate::protocol::{ApplyFile, ApplyTarget, YamlFile};

/// A key's last path segment, for a file name.
fn file_stem(key: &str) -> String {
    let last = key
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or("objects");
    let clean: String = last
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean.is_empty() {
        "objects".into()
    } else {
        clean
    }
}

/// One snapshot's objects (the open file's, or the one compared with), decrypted with `config` when given.
pub fn for_apply(
    snap: &Snapshot<Src>,
    index: &KeyIndex,
    config: Option<&EncryptionConfig>,
    target: &ApplyTarget,
    include_secret_data: bool,
) -> Result<ApplyFile, WorkerError> {
    let candidate = |key: &[u8], value: &[u8]| -> Candidate {
        export::candidate(key, value, DEFAULT_PREFIX, config)
    };
    let apply = ApplyOptions {
        include_secret_data,
        ..ApplyOptions::default()
    };
    match target {
        ApplyTarget::Key { key_hex, rev } => {
            let key = hex::decode(key_hex).map_err(|_| WorkerError::BadLink)?;
            let text = String::from_utf8_lossy(&key).into_owned();
            let kv = snap
                .get(index, &key, *rev)?
                .ok_or_else(|| WorkerError::NoKey(text.clone()))?;
            let c = candidate(&key, &kv.value);
            let object = c.object.map_err(WorkerError::Apply)?;
            let p = prepare(&object, &ExportedUids::new(), &apply)
                .map_err(|e| WorkerError::Apply(e.to_string()))?;
            let suffix = rev.map(|r| format!("-rev{r}")).unwrap_or_default();
            let file_name = format!("{}{suffix}.yaml", file_stem(&text));
            Ok(ApplyFile {
                commands: vec![format!("kubectl apply -f {file_name}")],
                files: vec![YamlFile {
                    file_name,
                    yaml: etcd_lens_core::yaml::to_yaml(&p.object),
                }],
                objects: 1,
                skipped: Vec::new(),
                notes: p.notes.iter().map(|n| n.describe()).collect(),
                has_secret_data: include_secret_data && etcd_lens_core::apply::is_secret(&object),
            })
        }
        ApplyTarget::Prefix { prefix } => {
            let mut candidates = Vec::new();
            for (key, live) in index.live_with_prefix(prefix.as_bytes()) {
                let rk = etcd_lens_core::mvcc::RevisionKey {
                    rev: live.rev,
                    tombstone: false,
                };
                if let Some(kv) = snap.value(rk)? {
                    candidates.push(candidate(key, &kv.value));
                }
            }
            let opts = ExportOptions {
                apply,
                ..ExportOptions::default()
            };
            let e = export::build(candidates, DEFAULT_PREFIX, &opts);
            let stem = file_stem(prefix);
            let (first, second) = (
                format!("{stem}-01-namespaces-and-crds.yaml"),
                format!("{stem}-02-objects.yaml"),
            );
            let commands = export::commands(&e, &first, &second);
            let mut files = Vec::new();
            for (file_name, objects) in [(first, &e.first), (second, &e.second)] {
                if !objects.is_empty() {
                    files.push(YamlFile {
                        file_name,
                        yaml: export::to_yaml(objects),
                    });
                }
            }
            let has_secret_data = include_secret_data
                && e.first
                    .iter()
                    .chain(&e.second)
                    .any(|x| etcd_lens_core::apply::is_secret(&x.object));
            Ok(ApplyFile {
                files,
                objects: e.first.len() + e.second.len(),
                commands,
                skipped: e
                    .skipped
                    .iter()
                    .map(|s| format!("{}: {}", String::from_utf8_lossy(&s.key), s.skip.describe()))
                    .collect(),
                notes: e
                    .first
                    .iter()
                    .chain(&e.second)
                    .flat_map(|x| {
                        x.notes.iter().map(move |n| {
                            format!("{}: {}", String::from_utf8_lossy(&x.key), n.describe())
                        })
                    })
                    .collect(),
                has_secret_data,
            })
        }
    }
}
