//! Native byte sources for the file commands: a file read with `pread`, and
//! standard input spooled to a private temporary file.
//!
//! Wrapped snapshots are unwrapped layer by layer (`etcd_lens_core::container`):
//! age-encrypted files are decrypted with random access, without spooling, and
//! zstd's seekable format (`compression = "zstd"` of the server) is read at
//! random too; other compressed (gzip, zstd, zip) and ASCII-armored age files
//! are streamed into a private temporary file first, and stderr says so.
//!
//! Every spool file is created with mode 0600 and unlinked right after it is
//! opened, so it is gone when the process exits, however it exits.

use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use std::rc::Rc;

use anyhow::{Context, bail};
use etcd_lens_core::age::{AgeSource, Secret, SecretNeeded};
use etcd_lens_core::container::{self, Peeler, Sink, SinkError, Spooled, Step};
use etcd_lens_core::{ReadAt, SourceError};

pub use crate::snapshot::file::FileSource;

/// Secrets and limits for wrapped inputs: global flags of every file command.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct UnwrapArgs {
    /// age passphrase, read from this file (one trailing newline is dropped).
    /// Also taken from the environment variable ETCD_LENS_PASSPHRASE.
    #[arg(long, global = true, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
    /// age identity: an X25519 key file (`AGE-SECRET-KEY-1…`, `#` comments, several keys)
    /// or an OpenSSH private key (ed25519 or RSA).
    #[arg(long, global = true, value_name = "FILE")]
    pub identity: Option<PathBuf>,
    /// Passphrase of a protected SSH private key given with --identity, read from this file.
    #[arg(long, global = true, value_name = "FILE")]
    pub ssh_key_passphrase_file: Option<PathBuf>,
    /// Refuse compressed input that expands beyond this many GiB (decompression bombs).
    #[arg(long, global = true, value_name = "GIB", default_value_t = 16)]
    pub max_decompressed_gib: u64,
}

/// A layer shared between the source above it and the final [`Input`].
#[derive(Clone)]
struct Shared(Rc<dyn ReadAt>);

impl ReadAt for Shared {
    fn len(&self) -> u64 {
        self.0.len()
    }
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), SourceError> {
        self.0.read_exact_at(offset, buf)
    }
}

/// An opened input: the innermost layer (the bbolt file) over the file itself.
pub struct Input {
    top: Shared,
    files: Vec<Rc<FileSource>>,
    /// The file itself when the bbolt file is a plain file (no age or
    /// seekable layer above it), which threads can read at once.
    plain: Option<Rc<FileSource>>,
}

impl Input {
    /// The bbolt file as a plain file, when it is one (the input itself or
    /// its spooled decoding).
    pub fn plain_file(&self) -> Option<&FileSource> {
        self.plain.as_deref()
    }

    /// Clear any progress line drawn while reading, before printing results
    /// (dropping the input does it too, on every path out of a command).
    pub fn finish(&self) {
        for f in &self.files {
            f.finish();
        }
    }
}

impl Drop for Input {
    fn drop(&mut self) {
        self.finish();
    }
}

impl ReadAt for Input {
    fn len(&self) -> u64 {
        self.top.len()
    }
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), SourceError> {
        self.top.read_exact_at(offset, buf)
    }
}

/// Open `path` (or spool standard input when it is `-`) and unwrap its
/// layers with the secrets and limits in `args`.
pub fn open(path: &Path, args: &UnwrapArgs) -> anyhow::Result<Input> {
    let base = if path == Path::new("-") {
        FileSource::new(spool_stdin()?)?
    } else {
        let f = File::open(path).with_context(|| format!("opening {}", path.display()))?;
        FileSource::new(f)?
    };
    let base = Rc::new(base);
    let mut files = vec![base.clone()];
    let mut plain = Some(base.clone());
    let mut top = Shared(base);
    let name = path.display();
    let mut peeler = Peeler::default();
    loop {
        match peeler
            .next(&top)
            .with_context(|| format!("reading {name}"))?
        {
            Step::Open => return Ok(Input { top, files, plain }),
            Step::NeedSecret(needed) => {
                let secret = secret_for(&needed, args)?;
                let src = AgeSource::open(top.clone(), &secret)
                    .with_context(|| format!("decrypting {name}"))?;
                top = Shared(Rc::new(src));
                plain = None;
            }
            Step::Seekable(table) => {
                let src = container::SeekableZstd::with_table(top.clone(), table);
                top = Shared(Rc::new(src));
                plain = None;
            }
            Step::Spool(what) => {
                eprintln!(
                    "etcd-lens: {name} is {}; decoding it into a private temporary file (mode 0600, deleted on exit)",
                    match what {
                        Spooled::Decompress(c) => format!("{}-compressed", c.name()),
                        Spooled::Dearmor => "ASCII-armored age".into(),
                    }
                );
                let limit = args.max_decompressed_gib.saturating_mul(1 << 30);
                let mut spool = SpoolSink::new()?;
                container::spool(&top, what, &mut spool, limit)
                    .with_context(|| format!("decoding {name}"))?;
                let f = Rc::new(FileSource::new(spool.into_file()?)?);
                files.push(f.clone());
                plain = Some(f.clone());
                top = Shared(f);
            }
        }
    }
}

/// The secret a file needs, from the flags and the environment.
fn secret_for(needed: &SecretNeeded, args: &UnwrapArgs) -> anyhow::Result<Secret> {
    match needed {
        SecretNeeded::Passphrase => {
            let p = if let Some(f) = &args.passphrase_file {
                let text = std::fs::read_to_string(f)
                    .with_context(|| format!("reading the passphrase file {}", f.display()))?;
                strip_newline(text)
            } else if let Ok(p) = std::env::var("ETCD_LENS_PASSPHRASE") {
                p
            } else {
                bail!(
                    "the file is age-encrypted with a passphrase: give --passphrase-file FILE or set ETCD_LENS_PASSPHRASE"
                );
            };
            Ok(Secret::Passphrase(p))
        }
        SecretNeeded::Identity { recipient_types } => {
            let Some(id) = &args.identity else {
                bail!(
                    "the file is age-encrypted to recipients ({}): give --identity FILE (an age X25519 key file or an SSH private key)",
                    recipient_types.join(", ")
                );
            };
            let file = std::fs::read(id)
                .with_context(|| format!("reading the identity file {}", id.display()))?;
            let ssh_key_passphrase = match &args.ssh_key_passphrase_file {
                Some(f) => Some(strip_newline(std::fs::read_to_string(f).with_context(
                    || format!("reading the SSH key passphrase file {}", f.display()),
                )?)),
                None => None,
            };
            Ok(Secret::Identity {
                file,
                ssh_key_passphrase,
            })
        }
    }
}

fn strip_newline(mut s: String) -> String {
    if s.ends_with('\n') {
        s.pop();
        if s.ends_with('\r') {
            s.pop();
        }
    }
    s
}

/// Decompressed or de-armored bytes, written to a private temporary file.
struct SpoolSink {
    out: std::io::BufWriter<File>,
}

impl SpoolSink {
    fn new() -> anyhow::Result<Self> {
        Ok(Self {
            out: std::io::BufWriter::with_capacity(1 << 20, private_temp("spool")?),
        })
    }

    fn into_file(self) -> anyhow::Result<File> {
        self.out
            .into_inner()
            .map_err(|e| e.into_error())
            .context("writing the spool file")
    }
}

impl Sink for SpoolSink {
    fn write(&mut self, bytes: &[u8]) -> Result<(), SinkError> {
        self.out
            .write_all(bytes)
            .map_err(|e| SinkError(format!("writing the temporary file: {e}")))
    }
}

fn spool_path(label: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    std::env::temp_dir().join(format!("etcd-lens-{label}-{}-{nanos}", std::process::id()))
}

/// A new, empty, unlinked 0600 temporary file.
fn private_temp(label: &str) -> anyhow::Result<File> {
    let path = spool_path(label);
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("creating the spool file {}", path.display()))?;
    // Unlinked now: the data lives only as long as this process holds the file.
    std::fs::remove_file(&path).with_context(|| format!("unlinking {}", path.display()))?;
    Ok(f)
}

/// Copy standard input into an unlinked 0600 temporary file.
fn spool_stdin() -> anyhow::Result<File> {
    let mut f = private_temp("stdin")?;
    let mut stdin = std::io::stdin().lock();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = stdin.read(&mut buf).context("reading standard input")?;
        if n == 0 {
            break;
        }
        f.write_all(&buf[..n]).context("writing the spool file")?;
    }
    f.flush()?;
    Ok(f)
}
