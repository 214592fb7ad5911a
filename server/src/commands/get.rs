//! `etcd-lens get FILE KEY [--rev N] [--history] [--json]`.

use std::io::Write;
use std::process::ExitCode;

use anyhow::bail;
use base64::Engine;
use etcd_lens_core::mvcc::KeyValue;
use etcd_lens_core::snapshot::Snapshot;

use super::{input, key_fields, out};

#[derive(Debug, clap::Args)]
pub struct GetArgs {
    /// Snapshot or member db file, or `-` for standard input.
    pub file: std::path::PathBuf,
    /// The key.
    pub key: String,
    /// The value as of this revision (default: the latest).
    #[arg(long)]
    pub rev: Option<i64>,
    /// Every retained revision, tombstones included.
    #[arg(long, conflicts_with = "rev")]
    pub history: bool,
    /// JSON objects, one per line, values in base64 (`value_base64`) and as text when UTF-8.
    #[arg(long)]
    pub json: bool,
}

fn json_of(kv: &KeyValue, mod_revision: i64, deleted: bool) -> String {
    let mut m = serde_json::Map::new();
    key_fields(&mut m, &kv.key);
    m.insert("create_revision".into(), kv.create_revision.into());
    m.insert("mod_revision".into(), mod_revision.into());
    m.insert("version".into(), kv.version.into());
    m.insert("lease".into(), kv.lease.into());
    m.insert("value_size".into(), kv.value.len().into());
    if let Ok(s) = std::str::from_utf8(&kv.value) {
        m.insert("value".into(), s.into());
    }
    m.insert(
        "value_base64".into(),
        base64::engine::general_purpose::STANDARD
            .encode(&kv.value)
            .into(),
    );
    m.insert("deleted".into(), deleted.into());
    serde_json::Value::Object(m).to_string()
}

pub fn run(args: &GetArgs) -> anyhow::Result<ExitCode> {
    let src = input::open(&args.file)?;
    let snap = Snapshot::open(&src)?;
    let ix = snap.key_index();
    src.finish();
    let ix = ix?;
    let key = args.key.as_bytes();
    if args.history {
        let h = snap.history(&ix, key)?;
        if h.is_empty() {
            bail!("key {:?} not found", args.key);
        }
        for e in h {
            let mut kv = e.kv;
            if kv.key.is_empty() {
                kv.key = key.to_vec();
            }
            if args.json {
                out(&json_of(&kv, e.rev.main, e.deleted))?;
            } else if e.deleted {
                out(&format!("{} deleted", e.rev.main))?;
            } else {
                out(&format!(
                    "{} {}",
                    e.rev.main,
                    String::from_utf8_lossy(&kv.value)
                ))?;
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let Some(kv) = snap.get(&ix, key, args.rev)? else {
        bail!("key {:?} not found", args.key);
    };
    if args.json {
        out(&json_of(&kv, kv.mod_revision, false))?;
    } else {
        let mut o = std::io::stdout().lock();
        o.write_all(&kv.value)?;
        o.flush()?;
    }
    Ok(ExitCode::SUCCESS)
}
