//! The plumbing every codec shares (the input is a [`Cursor`] over a range of
//! a [`ReadAt`]): the capped output ([`Limited`]), and the copy loop
//! between a decoder and the output ([`pump`]), which names a failure by codec
//! and, where the caller knows it, input position ([`at_input`]).

use std::io::{self, Read};

use super::error::ContainerError;
#[cfg(doc)]
use crate::source::{Cursor, ReadAt};
use crate::source::{Sink, source_error};

/// Input is read in pieces of this size.
pub(super) const READ_BYTES: usize = 1 << 20;

/// A sink that counts and refuses to pass the limit.
pub(super) struct Limited<'a> {
    sink: &'a mut dyn Sink,
    written: u64,
    limit_bytes: u64,
    codec: &'static str,
}

impl<'a> Limited<'a> {
    pub(super) fn new(sink: &'a mut dyn Sink, limit_bytes: u64, codec: &'static str) -> Self {
        Self {
            sink,
            written: 0,
            limit_bytes,
            codec,
        }
    }

    /// Bytes passed on so far.
    pub(super) fn written(&self) -> u64 {
        self.written
    }
}

/// Where a decoder's output goes.
pub(super) trait Out {
    fn put(&mut self, bytes: &[u8]) -> Result<(), ContainerError>;
}

impl Out for Limited<'_> {
    fn put(&mut self, bytes: &[u8]) -> Result<(), ContainerError> {
        let after = self.written.saturating_add(bytes.len() as u64);
        if after > self.limit_bytes {
            return Err(ContainerError::TooLarge {
                codec: self.codec,
                limit_bytes: self.limit_bytes,
            });
        }
        self.sink.write(bytes)?;
        self.written = after;
        Ok(())
    }
}

/// Copy a decoder's output to `out`, naming a failure by codec and input position.
pub(super) fn pump(
    mut dec: impl Read,
    out: &mut dyn Out,
    codec: &'static str,
) -> Result<(), ContainerError> {
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = match dec.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io_error(&e, codec)),
        };
        out.put(buf.get(..n).unwrap_or_default())?;
    }
}

/// A decoder's I/O error: the source's own error when it came from a [`Cursor`],
/// else the stream is corrupt (position unknown here: see [`at_input`]).
pub(super) fn io_error(e: &io::Error, codec: &'static str) -> ContainerError {
    if let Some(se) = source_error(e) {
        return ContainerError::Source(se);
    }
    let reason = if e.kind() == io::ErrorKind::UnexpectedEof {
        "the data ends early (truncated)".to_string()
    } else {
        e.to_string()
    };
    ContainerError::Corrupt {
        codec,
        read_bytes: 0,
        reason,
    }
}

/// Name where in the input a corrupt stream failed.
pub(super) fn at_input(e: ContainerError, pos: u64) -> ContainerError {
    match e {
        ContainerError::Corrupt { codec, reason, .. } => ContainerError::Corrupt {
            codec,
            read_bytes: pos,
            reason,
        },
        e => e,
    }
}
