//! A snapshot file read by offset (`pread`), counting bytes for a progress
//! line on stderr when it is large and stderr is a terminal. Used by the file
//! commands and the restore drill.

use std::fs::File;
use std::io::IsTerminal;
use std::os::unix::fs::FileExt;
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

    /// Clear the progress line, if one was drawn (once).
    pub fn finish(&self) {
        if self.progress && self.read.swap(0, Ordering::Relaxed) >= PROGRESS_STEP_BYTES {
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
