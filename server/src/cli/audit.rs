//! `etcd-lens audit FILE [--encryption-config FILE] [--format json|csv|sarif|html|text]
//! [--fail-on critical|high|medium|low]`: the secret audit as a CI gate.
//!
//! Exit codes: 1 when a finding at or above `--fail-on` exists, 0 otherwise
//! (always 0 without `--fail-on`), 2 on an error (by `main`). The report is
//! made by the core's exporters, so the page exports the same bytes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use etcd_lens_core::audit::{self, AuditOptions, EncryptionConfig, Severity, export};
use etcd_lens_core::container::{self, Layer};
use etcd_lens_core::snapshot::Snapshot;

use super::input;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Json,
    Csv,
    Sarif,
    Html,
    Text,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    Critical,
    High,
    Medium,
    Low,
}

impl From<FailOn> for Severity {
    fn from(f: FailOn) -> Self {
        match f {
            FailOn::Critical => Severity::Critical,
            FailOn::High => Severity::High,
            FailOn::Medium => Severity::Medium,
            FailOn::Low => Severity::Low,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// Snapshot or member db file, or `-` for standard input.
    pub file: PathBuf,
    /// The API server's EncryptionConfiguration (YAML): decrypt aescbc/aesgcm/secretbox
    /// values locally and report those it cannot decrypt. It is read, never stored.
    #[arg(long, value_name = "FILE")]
    pub encryption_config: Option<PathBuf>,
    /// Report format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Exit 1 when a finding of this severity or higher exists.
    #[arg(long, value_enum)]
    pub fail_on: Option<FailOn>,
    /// The API server's --etcd-prefix.
    #[arg(long, default_value = etcd_lens_core::k8s::DEFAULT_PREFIX)]
    pub etcd_prefix: String,
    /// Do not search free and unreachable pages for leftover plaintext.
    #[arg(long)]
    pub no_free_pages: bool,
}

/// Was the file on disk age-encrypted (its outermost layer)? Standard input: not known, no.
fn age_encrypted(path: &Path) -> anyhow::Result<bool> {
    if path == Path::new("-") {
        return Ok(false);
    }
    let f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let src = input::FileSource::new(f)?;
    Ok(matches!(container::detect_source(&src)?, Layer::Age(_)))
}

/// The `--encryption-config` file, parsed (read, never stored).
pub fn encryption_config(path: Option<&Path>) -> anyhow::Result<Option<EncryptionConfig>> {
    let Some(p) = path else { return Ok(None) };
    let text = std::fs::read_to_string(p)
        .with_context(|| format!("reading the EncryptionConfiguration {}", p.display()))?;
    Ok(Some(
        EncryptionConfig::parse(&text).with_context(|| format!("parsing {}", p.display()))?,
    ))
}

pub fn run(args: &AuditArgs, unwrap: &input::UnwrapArgs) -> anyhow::Result<ExitCode> {
    let encryption = encryption_config(args.encryption_config.as_deref())?;
    let opts = AuditOptions {
        prefix: args.etcd_prefix.clone(),
        encryption,
        opened_with_age: age_encrypted(&args.file)?,
        scan_free_pages: !args.no_free_pages,
    };
    let src = input::open(&args.file, unwrap)?;
    let snap = Snapshot::open(&src)?;
    let ix = snap.key_index()?;
    let report = audit::audit(&snap, &ix, &opts)?;
    src.finish();
    let name = args.file.display().to_string();
    let text = match args.format {
        Format::Json => export::to_json(&report) + "\n",
        Format::Csv => export::to_csv(&report),
        Format::Sarif => export::to_sarif(&report, &name) + "\n",
        Format::Html => export::to_html(&report, &format!("etcd-lens audit: {name}")),
        Format::Text => export::to_text(&report),
    };
    let mut o = std::io::stdout().lock();
    match o.write_all(text.as_bytes()).and_then(|()| o.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        r => r.context("writing the report")?,
    }
    for w in &report.warnings {
        eprintln!("etcd-lens: warning: {w}");
    }
    let failed = args.fail_on.is_some_and(|t| report.fails(t.into()));
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
