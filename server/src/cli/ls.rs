//! `etcd-lens ls FILE [--prefix P] [--json] [--etcd-prefix ROOT]`: live keys in key order.
//!
//! Text output reads only the key index. `--json` also reads each listed value once
//! (one lookup by revision) to classify it and name its object; no object is decoded
//! (see [`super::k8s::summarize`]).

use std::process::ExitCode;

use etcd_lens_core::mvcc::RevisionKey;
use etcd_lens_core::snapshot::Snapshot;

use super::output::{key_fields, key_text, out};
use super::{input, k8s};

#[derive(Debug, clap::Args)]
pub struct LsArgs {
    /// Snapshot or member db file, or `-` for standard input.
    pub file: std::path::PathBuf,
    /// Only keys starting with this.
    #[arg(long, default_value = "")]
    pub prefix: String,
    /// One JSON object per line: key, create_revision, mod_revision, version, lease, value_size,
    /// and kind, apiVersion, namespace, name, encoding (protobuf|json|cbor|encrypted|opaque),
    /// plus provider and key_name for values encrypted at rest.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub etcd_prefix: k8s::PrefixArg,
}

pub fn run(args: &LsArgs, unwrap: &input::UnwrapArgs) -> anyhow::Result<ExitCode> {
    let src = input::open(&args.file, unwrap)?;
    let snap = Snapshot::open(&src)?;
    let ix = snap.key_index()?;
    src.finish();
    for (key, live) in ix.live_with_prefix(args.prefix.as_bytes()) {
        if args.json {
            let mut m = serde_json::Map::new();
            key_fields(&mut m, key);
            m.insert("create_revision".into(), live.create_revision.into());
            m.insert("mod_revision".into(), live.mod_revision.into());
            m.insert("version".into(), live.version.into());
            m.insert("lease".into(), live.lease.into());
            m.insert("value_size".into(), live.value_size.into());
            let rk = RevisionKey {
                rev: live.rev,
                tombstone: false,
            };
            let value = snap.value(rk)?.map(|kv| kv.value).unwrap_or_default();
            let summary = k8s::summarize(key, &value, &args.etcd_prefix.etcd_prefix);
            k8s::summary_fields(&mut m, &summary);
            out(&serde_json::Value::Object(m).to_string())?;
        } else {
            out(&key_text(key))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
