//! Progress of a pass: a source that counts the bytes the engine reads and
//! posts how far it is, at most every [`PROGRESS_EVERY_MS`].

use std::cell::Cell;

use etcd_lens_app::protocol::{FromWorker, Phase};
use etcd_lens_app::worker::Src;
use etcd_lens_core::{ReadAt, SourceError};

use super::scope::{now_ms, post};

/// Least time between two progress messages.
const PROGRESS_EVERY_MS: f64 = 100.0;
/// Bytes read between two looks at the clock: a walk reads one 4 KiB page
/// at a time, and each look is a call out of WebAssembly, so it looks once
/// per MiB (a read of 1 MiB or more looks every time).
const BYTES_PER_CLOCK: u64 = 1 << 20;

/// A source that counts the bytes the engine reads, for progress reports.
pub struct Meter {
    pub inner: Src,
    pub phase: Cell<Phase>,
    pub read: Cell<u64>,
    pub started: Cell<f64>,
    pub last_report: Cell<f64>,
    /// A pass is running: reads between passes (a key's detail, the audit)
    /// report no progress, or the page would show a finished pass as running.
    pub active: Cell<bool>,
    /// Bytes read since the clock was last looked at.
    pub unclocked_bytes: Cell<u64>,
}

impl Meter {
    pub fn begin(&self, phase: Phase) {
        self.active.set(true);
        self.phase.set(phase);
        self.read.set(0);
        self.started.set(now_ms());
        self.last_report.set(now_ms());
    }

    pub fn end(&self) -> f64 {
        self.active.set(false);
        now_ms() - self.started.get()
    }
}

impl ReadAt for Meter {
    fn len(&self) -> u64 {
        self.inner.len()
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), SourceError> {
        let read = self.read.get() + buf.len() as u64;
        self.read.set(read);
        let unclocked = self.unclocked_bytes.get() + buf.len() as u64;
        if !self.active.get() || unclocked < BYTES_PER_CLOCK {
            self.unclocked_bytes.set(unclocked);
            return self.inner.read_exact_at(offset, buf);
        }
        self.unclocked_bytes.set(0);
        let now = now_ms();
        if now - self.last_report.get() >= PROGRESS_EVERY_MS {
            self.last_report.set(now);
            post(&FromWorker::Progress {
                phase: self.phase.get(),
                done_bytes: read.min(self.inner.len()),
                total_bytes: self.inner.len(),
                elapsed_ms: now - self.started.get(),
            });
        }
        self.inner.read_exact_at(offset, buf)
    }
}
