//! One snapshot file being written. See the module doc of `snapshot`.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use etcd_lens_core::age::Recipient;
use etcd_lens_core::status::Status;
use etcd_lens_core::status::stream::StreamStatus;
use sha2::{Digest, Sha256};

use super::PART_SUFFIX;
use super::compress::{Compressed, Compression, SeekableWriter};

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
    /// `snapshot status` numbers of the plaintext, in the file's own
    /// convention (etcdutl 3.6+ for a file with a storage version, else
    /// etcdctl 3.4 / etcdutl 3.5).
    pub status: Status,
    pub encrypted: bool,
    /// Compressed before encryption (zstd's seekable format), and how much.
    pub compressed: Option<Compressed>,
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

impl Write for Out {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Out::Plain(h) => h.write(buf),
            Out::Age(w) => w.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Out::Plain(h) => h.flush(),
            Out::Age(w) => w.flush(),
        }
    }
}

pub struct Writer {
    part: PathBuf,
    path: PathBuf,
    out: Option<Out>,
    /// Between the plaintext and `out` when compressing.
    zstd: Option<SeekableWriter>,
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
    /// With recipients the file is age-encrypted to all of them; with
    /// compression the plaintext is compressed before (`super::file_name`
    /// names such a file).
    pub fn create(
        dir: &Path,
        name: &str,
        recipients: &[Recipient],
        compression: Compression,
    ) -> Result<Self, WriteError> {
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
            zstd: match compression {
                Compression::None => None,
                Compression::Zstd { level } => {
                    Some(SeekableWriter::new(level).map_err(io("starting zstd"))?)
                }
            },
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
            let out = self.out.as_mut().expect("open until finish");
            match &mut self.zstd {
                Some(z) => z.write(&data, out),
                None => out.write_all(&data),
            }
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
        // The stored file is what `etcdctl snapshot save` writes: data and
        // digest (compressed, when it is: then the last frame and the seek table).
        let compressed = match self.zstd.take() {
            Some(mut z) => Some(
                z.write(&held, &mut out)
                    .and_then(|()| z.finish(&mut out))
                    .map_err(io(format!("writing {}", self.part.display())))?,
            ),
            None => {
                out.write_all(&held)
                    .map_err(io(format!("writing {}", self.part.display())))?;
                None
            }
        };
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
            compressed,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A real bbolt database (auger's fixture, an etcd member db) and its digest.
    fn db() -> (Vec<u8>, Vec<u8>) {
        let data = etcd_lens_testkit::fixture_bytes("auger/boltdb/db");
        let digest = Sha256::digest(&data).to_vec();
        (data, digest)
    }

    fn feed(w: &mut Writer, bytes: &[u8]) {
        for chunk in bytes.chunks(32 * 1024) {
            w.push(chunk).unwrap();
        }
    }

    fn leftovers(dir: &Path) -> Vec<PathBuf> {
        std::fs::read_dir(dir)
            .map(|rd| rd.flatten().map(|e| e.path()).collect())
            .unwrap_or_default()
    }

    #[test]
    fn a_good_stream_lands_under_its_name_with_its_status() {
        let dir = tempfile::tempdir().unwrap();
        let (data, digest) = db();
        let mut w = Writer::create(dir.path(), "s.db", &[], Compression::None).unwrap();
        feed(&mut w, &data);
        w.push(&digest).unwrap();
        let written = w.finish().unwrap();
        assert_eq!(leftovers(dir.path()), [dir.path().join("s.db")]);
        let stored = std::fs::read(&written.path).unwrap();
        assert_eq!(
            stored.len(),
            data.len() + 32,
            "data and trailer, as etcdctl writes it"
        );
        assert_eq!(written.plaintext_sha256, hex::encode(&digest));
        // The core's streaming status of the same bytes (its parity with the
        // random-access status and etcdctl is the core's and tests/live/'s).
        let mut s = StreamStatus::new();
        s.update(&data);
        assert_eq!(written.status, s.finish().unwrap().status);
        assert_eq!(written.status.total_size, data.len() as u64);
    }

    #[test]
    fn compressed_it_decompresses_to_what_etcdctl_writes() {
        let dir = tempfile::tempdir().unwrap();
        let (data, digest) = db();
        let name = super::super::file_name("s", Compression::Zstd { level: 3 }, false);
        assert_eq!(name, "s.db.zst");
        let mut w = Writer::create(dir.path(), &name, &[], Compression::Zstd { level: 3 }).unwrap();
        feed(&mut w, &data);
        w.push(&digest).unwrap();
        let written = w.finish().unwrap();
        let stored = std::fs::read(&written.path).unwrap();
        assert_eq!(written.stored_bytes, stored.len() as u64);
        let c = written.compressed.expect("compressed");
        assert_eq!(c.compressed_bytes, stored.len() as u64);
        assert_eq!(c.plaintext_bytes, data.len() as u64 + 32);
        assert!(c.compressed_bytes < c.plaintext_bytes / 2, "{c:?}");
        assert_eq!(
            zstd::decode_all(&stored[..]).unwrap(),
            [&data[..], &digest[..]].concat()
        );
        // Digest and status are the plaintext's, as without compression.
        assert_eq!(written.plaintext_sha256, hex::encode(&digest));
        let mut s = StreamStatus::new();
        s.update(&data);
        assert_eq!(written.status, s.finish().unwrap().status);
        assert_eq!(written.data_bytes, data.len() as u64);
    }

    #[test]
    fn a_wrong_digest_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let (data, mut digest) = db();
        digest[0] ^= 1;
        let mut w = Writer::create(dir.path(), "s.db", &[], Compression::None).unwrap();
        feed(&mut w, &data);
        w.push(&digest).unwrap();
        let e = w.finish().unwrap_err();
        assert!(matches!(e, WriteError::DigestMismatch { .. }), "{e}");
        assert!(
            leftovers(dir.path()).is_empty(),
            "{:?}",
            leftovers(dir.path())
        );
    }

    #[test]
    fn a_cut_stream_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let (data, _) = db();
        let mut w = Writer::create(dir.path(), "s.db.age", &[], Compression::None).unwrap();
        feed(&mut w, &data[..data.len() - 4096 + 100]);
        let e = w.finish().unwrap_err();
        assert!(matches!(e, WriteError::NoDigest { .. }), "{e}");
        assert!(leftovers(dir.path()).is_empty());
        // Dropped mid-way (the process gives up): no file either.
        let mut w = Writer::create(dir.path(), "t.db", &[], Compression::None).unwrap();
        feed(&mut w, &data[..8192]);
        drop(w);
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn a_full_disk_is_a_clear_error_and_leaves_nothing() {
        // /dev/full answers every write with ENOSPC: put the .part there by a symlink.
        let dir = tempfile::tempdir().unwrap();
        let (data, _) = db();
        let mut w = Writer::create(dir.path(), "s.db", &[], Compression::None).unwrap();
        let part = dir.path().join("s.db.part");
        w.out = None;
        std::fs::remove_file(&part).unwrap();
        std::os::unix::fs::symlink("/dev/full", &part).unwrap();
        let file = std::fs::OpenOptions::new().write(true).open(&part).unwrap();
        w.out = Some(Out::Plain(Hashing {
            file,
            sha: Sha256::new(),
            bytes: 0,
        }));
        let mut err = None;
        for chunk in data.chunks(32 * 1024) {
            if let Err(e) = w.push(chunk) {
                err = Some(e);
                break;
            }
        }
        let e = err.expect("a write to a full disk fails");
        assert!(e.to_string().contains("No space left on device"), "{e}");
        drop(w);
        assert!(
            leftovers(dir.path()).is_empty(),
            "{:?}",
            leftovers(dir.path())
        );
    }

    #[test]
    fn an_existing_part_file_is_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("s.db.part"), b"another writer").unwrap();
        assert!(Writer::create(dir.path(), "s.db", &[], Compression::None).is_err());
    }
}
