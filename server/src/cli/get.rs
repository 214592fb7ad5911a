//! `etcd-lens get FILE KEY [--rev N] [--history] [--json]` and
//! `etcd-lens get FILE KEY --decode [-o yaml|json] [--rev N] [--etcd-prefix ROOT]`,
//! `etcd-lens get FILE KEY --for-apply [--rev N | --before-delete] [--include-secret-data]`:
//! the object as YAML ready for `kubectl apply` (`etcd_lens_core::apply`).
//!
//! A KEY that is not in the snapshot and does not start with `/` is also tried under
//! `--etcd-prefix` (`get FILE pods/default/web --decode`).

use std::io::Write;
use std::process::ExitCode;

use anyhow::bail;
use base64::Engine;
use etcd_lens_core::apply;
use etcd_lens_core::k8s::{self, DecodeError, Schema};
use etcd_lens_core::mvcc::{KeyIndex, KeyValue};
use etcd_lens_core::snapshot::{BeforeDelete, Snapshot};

use super::output::{key_fields, key_text, out};
use super::{input, k8s as cli_k8s};

/// `-o` of `--decode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Yaml,
    Json,
}

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
    #[arg(long, conflicts_with = "decode")]
    pub json: bool,
    /// Decode the Kubernetes object stored in the value (protobuf, JSON or CBOR).
    /// Encrypted or undecodable values: a message on stderr, exit 1; other values
    /// (not Kubernetes objects): printed as text, or hex when binary.
    #[arg(long, conflicts_with = "history")]
    pub decode: bool,
    /// The decoded object as YAML for `kubectl apply`: the fields the cluster sets
    /// dropped, notes on stderr. Secrets only with --include-secret-data.
    #[arg(long, conflicts_with_all = ["history", "json", "decode"])]
    pub for_apply: bool,
    /// The last version before the key's latest deletion (a deleted object back).
    #[arg(long, conflicts_with_all = ["history", "rev"])]
    pub before_delete: bool,
    #[command(flatten)]
    pub apply: super::export::ApplyFlags,
    /// Output format of --decode.
    #[arg(
        short = 'o',
        long = "output",
        value_enum,
        default_value = "yaml",
        requires = "decode"
    )]
    pub output: Format,
    #[command(flatten)]
    pub etcd_prefix: cli_k8s::PrefixArg,
}

/// KEY as given, or under `--etcd-prefix` when only that exists.
fn resolve_key(ix: &KeyIndex, key: &str, prefix: &str) -> Vec<u8> {
    if ix.history(key.as_bytes()).is_none() && !key.starts_with('/') {
        let under = format!("{}/{key}", prefix.trim_end_matches('/'));
        if ix.history(under.as_bytes()).is_some() {
            return under.into_bytes();
        }
    }
    key.as_bytes().to_vec()
}

/// Write `text` (ending with a newline, or given one) to stdout.
fn print_block(text: &str) -> anyhow::Result<()> {
    out(text.strip_suffix('\n').unwrap_or(text))
}

/// `--decode`: the object, or the fallback for a value that is not one.
fn print_decoded(key: &[u8], value: &[u8], args: &GetArgs) -> anyhow::Result<ExitCode> {
    let prefix = &args.etcd_prefix.etcd_prefix;
    let mut label = key_text(key);
    if let Some(info) = k8s::parse_key(key, prefix) {
        let mut what = info.qualified_resource();
        match (&info.namespace, &info.name) {
            (Some(ns), Some(n)) => what.push_str(&format!(" {ns}/{n}")),
            (None, Some(n)) => what.push_str(&format!(" {n}")),
            _ => {}
        }
        label.push_str(&format!(" ({what})"));
    }
    match k8s::decode(value) {
        Ok(obj) => {
            if obj.schema == Schema::GenericProtobuf {
                eprintln!(
                    "etcd-lens: {label}: no schema for {} {}: decoded generically (field numbers and guesses)",
                    obj.api_version, obj.kind
                );
            }
            match args.output {
                Format::Yaml => print_block(&etcd_lens_core::yaml::to_yaml(&obj.object))?,
                Format::Json => out(&serde_json::to_string_pretty(&obj.object)?)?,
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(DecodeError::Opaque { .. }) => {
            eprintln!(
                "etcd-lens: {label}: not a Kubernetes object ({} bytes); shown as {}",
                value.len(),
                if std::str::from_utf8(value).is_ok() {
                    "text"
                } else {
                    "hex"
                }
            );
            let (field, shown) = match std::str::from_utf8(value) {
                Ok(t) => ("text", t.to_string()),
                Err(_) => ("hex", hex::encode(value)),
            };
            match args.output {
                Format::Yaml => print_block(&shown)?,
                Format::Json => out(&serde_json::to_string_pretty(&serde_json::json!({
                    "encoding": "opaque",
                    field: shown,
                }))?)?,
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e @ DecodeError::Encrypted { .. }) => {
            eprintln!("etcd-lens: {label}: {e}");
            Ok(ExitCode::from(1))
        }
        Err(e) => {
            eprintln!(
                "etcd-lens: {label}: cannot decode this {} value ({} bytes): {e}",
                k8s::classify(value).name(),
                value.len()
            );
            Ok(ExitCode::from(1))
        }
    }
}

/// `--for-apply`: the object prepared for `kubectl apply`, or why it cannot be.
fn print_for_apply(key: &[u8], value: &[u8], args: &GetArgs) -> anyhow::Result<ExitCode> {
    let obj = match k8s::decode(value) {
        Ok(o) => o,
        Err(e) => bail!("{}: {e}", key_text(key)),
    };
    // A single object: its owners are not part of the output.
    let p = apply::prepare(
        &obj.object,
        &apply::ExportedUids::new(),
        &args.apply.options(),
    )
    .map_err(|e| anyhow::anyhow!("{}: {e}", key_text(key)))?;
    for n in &p.notes {
        eprintln!("etcd-lens: note: {}", n.describe());
    }
    print_block(&etcd_lens_core::yaml::to_yaml(&p.object))?;
    Ok(ExitCode::SUCCESS)
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

pub fn run(args: &GetArgs, unwrap: &input::UnwrapArgs) -> anyhow::Result<ExitCode> {
    let src = input::open(&args.file, unwrap)?;
    let snap = Snapshot::open(&src)?;
    let ix = snap.key_index()?;
    src.finish();
    let key_buf = resolve_key(&ix, &args.key, &args.etcd_prefix.etcd_prefix);
    let key = key_buf.as_slice();
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
    let kv = if args.before_delete {
        match snap.before_delete(&ix, key)? {
            BeforeDelete::Found { deleted_at, kv } => {
                eprintln!(
                    "etcd-lens: {}: deleted at revision {deleted_at}; this is revision {}",
                    key_text(key),
                    kv.mod_revision
                );
                kv
            }
            BeforeDelete::NoKey => bail!("key {:?} not found", args.key),
            BeforeDelete::NeverDeleted => {
                bail!("key {:?} has no deletion in the retained history", args.key)
            }
            BeforeDelete::Compacted {
                deleted_at,
                compacted,
            } => bail!(
                "key {:?} was deleted at revision {deleted_at}, but the versions before it are compacted (compacted up to {compacted})",
                args.key
            ),
        }
    } else {
        let Some(kv) = snap.get(&ix, key, args.rev)? else {
            bail!("key {:?} not found", args.key);
        };
        kv
    };
    if args.for_apply {
        return print_for_apply(key, &kv.value, args);
    }
    if args.decode {
        return print_decoded(key, &kv.value, args);
    }
    if args.json {
        out(&json_of(&kv, kv.mod_revision, false))?;
    } else {
        let mut o = std::io::stdout().lock();
        o.write_all(&kv.value)?;
        o.flush()?;
    }
    Ok(ExitCode::SUCCESS)
}
