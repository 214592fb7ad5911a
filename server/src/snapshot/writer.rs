//! One snapshot file being written. See the module doc of `snapshot`.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use etcd_lens_core::age::Recipient;
use etcd_lens_core::status::Status;
use etcd_lens_core::status::stream::StreamStatus;
use sha2::{Digest, Sha256};

use super::PART_SUFFIX;

/// etcd's digest message: the SHA-256 of the data.
const DIGEST_BYTES: usize = 32;
/// bbolt's data is whole pages, and pages are at least this big.
const PAGE_GRAIN: u64 = 512;

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
    #[error(
        "the stream ended without etcd's SHA-256 digest ({data_bytes} data bytes, not a whole number of pages): it was cut short"
    )]
    NoDigest { data_bytes: u64 },
    #[error("SHA-256 mismatch: etcd sent {expected}, the data received hashes to {actual}")]
    DigestMismatch { expected: String, actual: String },
    #[error("the snapshot data is not a readable bbolt database: {0}")]
    Status(String),
    #[error("encrypting: {0}")]
    Encrypt(String),
}

fn io(context: impl Into<String>) -> impl FnOnce(io::Error) -> WriteError {
    let context = context.into();
    move |source| WriteError::Io { context, source }
}

/// What was written, once it is safely on disk under its final name.
#[derive(Debug, Clone)]
pub struct Written {
    pub path: PathBuf,
    /// Database bytes (without the digest).
    pub data_bytes: u64,
    /// The digest etcd sent (hex), checked against the data.
    pub plaintext_sha256: String,
    /// SHA-256 of the stored file (ciphertext when encrypted).
    pub stored_sha256: String,
    pub stored_bytes: u64,
    /// `snapshot status` numbers of the plaintext (etcdctl 3.4 / etcdutl 3.5).
    pub status: Status,
    pub encrypted: bool,
}

/// A file and the SHA-256 of what went into it.
struct Hashing {
    file: File,
    sha: Sha256,
    bytes: u64,
}

impl Write for Hashing {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.sha.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

enum Out {
    Plain(Hashing),
    Age(age::stream::StreamWriter<Hashing>),
}

impl Out {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Out::Plain(h) => h.write_all(buf),
            Out::Age(w) => w.write_all(buf),
        }
    }
}

pub struct Writer {
    part: PathBuf,
    path: PathBuf,
    out: Option<Out>,
    /// The last bytes received: the digest, once the stream ends.
    held: Vec<u8>,
    data_sha: Sha256,
    data_bytes: u64,
    received: u64,
    status: StreamStatus,
    encrypted: bool,
    done: bool,
}

impl Writer {
    /// Start `dir/name` (as `dir/name.part`, mode 0600, which must not exist).
    /// With recipients the file is age-encrypted to all of them.
    pub fn create(dir: &Path, name: &str, recipients: &[Recipient]) -> Result<Self, WriteError> {
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io(format!(
                "creating the snapshot folder {}",
                dir.display()
            )))?;
        let path = dir.join(name);
        let part = dir.join(format!("{name}{PART_SUFFIX}"));
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&part)
            .map_err(io(format!("creating {}", part.display())))?;
        let hashing = Hashing {
            file,
            sha: Sha256::new(),
            bytes: 0,
        };
        let mut me = Self {
            part,
            path,
            out: None,
            held: Vec::with_capacity(2 * DIGEST_BYTES),
            data_sha: Sha256::new(),
            data_bytes: 0,
            received: 0,
            status: StreamStatus::new(),
            encrypted: !recipients.is_empty(),
            done: false,
        };
        me.out = Some(if recipients.is_empty() {
            Out::Plain(hashing)
        } else {
            let enc = age::Encryptor::with_recipients(recipients.iter().map(Recipient::as_age))
                .map_err(|e| WriteError::Encrypt(e.to_string()))?;
            Out::Age(
                enc.wrap_output(hashing)
                    .map_err(io("starting the age stream"))?,
            )
        });
        Ok(me)
    }

    /// Bytes received so far (data and digest).
    pub fn bytes_received(&self) -> u64 {
        self.received
    }

    /// The next message's blob.
    pub fn push(&mut self, blob: &[u8]) -> Result<(), WriteError> {
        self.received += blob.len() as u64;
        self.held.extend_from_slice(blob);
        if self.held.len() > DIGEST_BYTES {
            let cut = self.held.len() - DIGEST_BYTES;
            let data: Vec<u8> = self.held.drain(..cut).collect();
            self.data_sha.update(&data);
            self.data_bytes += data.len() as u64;
            self.status.update(&data);
            self.out
                .as_mut()
                .expect("open until finish")
                .write_all(&data)
                .map_err(io(format!("writing {}", self.part.display())))?;
        }
        Ok(())
    }

    /// Check the digest, seal the file, fsync, rename, fsync the folder.
    pub fn finish(mut self) -> Result<Written, WriteError> {
        if self.held.len() != DIGEST_BYTES
            || !self.data_bytes.is_multiple_of(PAGE_GRAIN)
            || self.data_bytes == 0
        {
            return Err(WriteError::NoDigest {
                data_bytes: self.data_bytes + self.held.len() as u64,
            });
        }
        let actual = hex::encode(self.data_sha.clone().finalize());
        let expected = hex::encode(&self.held);
        if actual != expected {
            return Err(WriteError::DigestMismatch { expected, actual });
        }
        let status = std::mem::take(&mut self.status)
            .finish()
            .map_err(|e| WriteError::Status(e.to_string()))?;
        let held = std::mem::take(&mut self.held);
        let mut out = self.out.take().expect("open until finish");
        // The stored file is what `etcdctl snapshot save` writes: data and digest.
        out.write_all(&held)
            .map_err(io(format!("writing {}", self.part.display())))?;
        let mut hashing = match out {
            Out::Plain(h) => h,
            Out::Age(w) => w
                .finish()
                .map_err(io(format!("sealing {}", self.part.display())))?,
        };
        hashing.flush().map_err(io("flushing"))?;
        hashing
            .file
            .sync_all()
            .map_err(io(format!("fsync {}", self.part.display())))?;
        let stored_sha256 = hex::encode(hashing.sha.clone().finalize());
        let stored_bytes = hashing.bytes;
        drop(hashing);
        std::fs::rename(&self.part, &self.path)
            .map_err(io(format!("renaming {} into place", self.part.display())))?;
        self.done = true;
        if let Some(dir) = self.path.parent() {
            File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(io(format!("fsync folder {}", dir.display())))?;
        }
        Ok(Written {
            path: self.path.clone(),
            data_bytes: self.data_bytes,
            plaintext_sha256: expected,
            stored_sha256,
            stored_bytes,
            status: status.status,
            encrypted: self.encrypted,
        })
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        if !self.done {
            self.out = None;
            let _ = std::fs::remove_file(&self.part);
        }
    }
}
