//! Native byte sources for the file commands: a file read with `pread`, and
//! standard input spooled to a private temporary file.
//!
//! The spool file is created with mode 0600 and unlinked right after it is
//! opened, so it is gone when the process exits, however it exits.

use std::fs::File;
use std::io::{IsTerminal, Read, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context;
use etcd_lens_core::{ReadAt, SourceError};

/// Progress on stderr is shown only for files at least this large.
const PROGRESS_MIN_BYTES: u64 = 256 << 20;
/// …and at most every this many bytes read.
const PROGRESS_STEP_BYTES: u64 = 64 << 20;

/// A file read by offset, counting bytes for progress.
pub struct FileSource {
    file: File,
    len: u64,
    read: AtomicU64,
    next_report: AtomicU64,
    progress: bool,
}

impl FileSource {
    pub fn new(file: File) -> anyhow::Result<Self> {
        let len = file.metadata().context("reading the file's size")?.len();
        let progress = len >= PROGRESS_MIN_BYTES && std::io::stderr().is_terminal();
        Ok(Self {
            file,
            len,
            read: AtomicU64::new(0),
            next_report: AtomicU64::new(PROGRESS_STEP_BYTES),
            progress,
        })
    }

    /// Clear the progress line, if one was drawn.
    pub fn finish(&self) {
        if self.progress && self.read.load(Ordering::Relaxed) >= PROGRESS_STEP_BYTES {
            eprint!("\r\x1b[K");
        }
    }
}

impl ReadAt for FileSource {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), SourceError> {
        let n = buf.len() as u64;
        let err = |reason: String| SourceError {
            offset,
            len: n,
            reason,
        };
        if offset
            .checked_add(buf.len() as u64)
            .is_none_or(|end| end > self.len)
        {
            return Err(err(format!("past the end of the {}-byte file", self.len)));
        }
        self.file
            .read_exact_at(buf, offset)
            .map_err(|e| err(e.to_string()))?;
        if self.progress {
            let done = self.read.fetch_add(buf.len() as u64, Ordering::Relaxed) + buf.len() as u64;
            if done >= self.next_report.load(Ordering::Relaxed) {
                self.next_report
                    .store(done + PROGRESS_STEP_BYTES, Ordering::Relaxed);
                eprint!("\rread {} MiB of {} MiB", done >> 20, self.len >> 20);
            }
        }
        Ok(())
    }
}

/// Open `path`, or spool standard input when it is `-`.
pub fn open(path: &Path) -> anyhow::Result<FileSource> {
    if path == Path::new("-") {
        return FileSource::new(spool_stdin()?);
    }
    let f = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    FileSource::new(f)
}

fn spool_path() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    std::env::temp_dir().join(format!("etcd-lens-stdin-{}-{nanos}", std::process::id()))
}

/// Copy standard input into an unlinked 0600 temporary file.
fn spool_stdin() -> anyhow::Result<File> {
    let path = spool_path();
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("creating the spool file {}", path.display()))?;
    // Unlinked now: the data lives only as long as this process holds the file.
    std::fs::remove_file(&path).with_context(|| format!("unlinking {}", path.display()))?;
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
