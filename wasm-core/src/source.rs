//! Random-access byte sources.
//!
//! Everything in the core reads through [`ReadAt`]: an in-memory slice in tests,
//! a file natively, `Blob` slices in the browser worker, a decrypting reader
//! for age files. A source never has to hold the whole file.

use std::fmt;
use std::io::{self, Read, Seek, SeekFrom};
use std::rc::Rc;
use std::sync::Arc;

/// A failed read: where, how much, and why (the reason comes from the source).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot read {len} bytes at offset {offset}: {reason}")]
pub struct SourceError {
    pub offset: u64,
    pub len: u64,
    pub reason: String,
}

/// A byte source that can be read at any offset. `&self`: sources that need
/// mutation (a decrypting stream) keep it inside.
pub trait ReadAt {
    /// Total length in bytes.
    fn len(&self) -> u64;

    /// True when the source has no bytes.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Fill `buf` from `offset`. Reading past the end is an error, never a short read.
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), SourceError>;

    /// Read `len` bytes at `offset` into a new vector, checking the range first so a
    /// corrupt length never allocates more than the source holds.
    fn read_vec(&self, offset: u64, len: u64) -> Result<Vec<u8>, SourceError> {
        let end = offset.checked_add(len);
        if end.is_none_or(|end| end > self.len()) {
            return Err(SourceError {
                offset,
                len,
                reason: format!("past the end of the {}-byte file", self.len()),
            });
        }
        let n = usize::try_from(len).map_err(|_| SourceError {
            offset,
            len,
            reason: "too large for this platform's memory".into(),
        })?;
        let mut buf = vec![0u8; n];
        self.read_exact_at(offset, &mut buf)?;
        Ok(buf)
    }
}

/// `src[start..end]` as `Read + Seek`, for the decoders and age's reader
/// that want a stream. A failed read travels inside the `io::Error` and is
/// recovered with [`source_error`], so the caller reports the source's own
/// error (offset, length, reason), not a decoder's guess.
pub struct Cursor<R> {
    src: R,
    start: u64,
    end: u64,
    /// The next offset read, from the start of `src`.
    pos: u64,
}

impl<R: ReadAt> Cursor<R> {
    /// The whole source.
    pub fn new(src: R) -> Self {
        let end = src.len();
        Self::range(src, 0, end)
    }

    /// `len` bytes from `start` (cut at the source's end).
    pub fn range(src: R, start: u64, len: u64) -> Self {
        let end = start.saturating_add(len).min(src.len());
        Self {
            src,
            start: start.min(end),
            end,
            pos: start.min(end),
        }
    }

    /// The next offset read, from the start of the source (not of the range).
    pub fn offset(&self) -> u64 {
        self.pos
    }
}

impl<R: ReadAt> Read for Cursor<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.end.saturating_sub(self.pos);
        let n = usize::try_from(left).map_or(buf.len(), |l| l.min(buf.len()));
        let Some(dst) = buf.get_mut(..n) else {
            return Ok(0);
        };
        if n == 0 {
            return Ok(0);
        }
        self.src
            .read_exact_at(self.pos, dst)
            .map_err(io::Error::other)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// Seeks are within the range: position 0 is its start.
impl<R: ReadAt> Seek for Cursor<R> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let len = self.end - self.start;
        let at = self.pos - self.start;
        let target = match to {
            SeekFrom::Start(o) => Some(o),
            SeekFrom::End(d) => len.checked_add_signed(d),
            SeekFrom::Current(d) => at.checked_add_signed(d),
        };
        let Some(target) = target else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the start",
            ));
        };
        // Past the end reads nothing, as for a file.
        self.pos = self.start.saturating_add(target);
        Ok(target)
    }
}

/// The source's own error inside an `io::Error` from a [`Cursor`], if it is one.
pub fn source_error(e: &io::Error) -> Option<SourceError> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<SourceError>())
        .cloned()
}

impl<T: ReadAt + ?Sized> ReadAt for &T {
    fn len(&self) -> u64 {
        (**self).len()
    }
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), SourceError> {
        (**self).read_exact_at(offset, buf)
    }
}

/// A failed write to a sink (a full disk, a closed spool, a user's Cancel).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SinkError(pub String);

/// Where decompressed or de-armored bytes go, in order.
pub trait Sink {
    fn write(&mut self, bytes: &[u8]) -> Result<(), SinkError>;
}

impl Sink for Vec<u8> {
    fn write(&mut self, bytes: &[u8]) -> Result<(), SinkError> {
        self.extend_from_slice(bytes);
        Ok(())
    }
}

/// Shared and boxed sources: a page's worker keeps its layers as
/// `Rc<dyn ReadAt>`, owned by the open file's session, so closing the file
/// frees them.
macro_rules! forward_read_at {
    ($($ptr:ident),*) => {$(
        impl<T: ReadAt + ?Sized> ReadAt for $ptr<T> {
            fn len(&self) -> u64 {
                (**self).len()
            }
            fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), SourceError> {
                (**self).read_exact_at(offset, buf)
            }
        }
    )*};
}
forward_read_at!(Rc, Arc, Box);

/// An in-memory source.
#[derive(Clone)]
pub struct MemSource<B: AsRef<[u8]>>(pub B);

impl<B: AsRef<[u8]>> fmt::Debug for MemSource<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MemSource({} bytes)", self.0.as_ref().len())
    }
}

impl<B: AsRef<[u8]>> ReadAt for MemSource<B> {
    fn len(&self) -> u64 {
        self.0.as_ref().len() as u64
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), SourceError> {
        let bytes = self.0.as_ref();
        let err = || SourceError {
            offset,
            len: buf.len() as u64,
            reason: format!("past the end of the {}-byte file", bytes.len()),
        };
        let start = usize::try_from(offset).map_err(|_| err())?;
        let end = start.checked_add(buf.len()).ok_or_else(err)?;
        let src = bytes.get(start..end).ok_or_else(err)?;
        buf.copy_from_slice(src);
        Ok(())
    }
}

/// Reads the inner source in aligned blocks and keeps the most recent ones:
/// for sources where each read has a high fixed cost (a browser `Blob.slice`
/// through `FileReaderSync`), so a walk over 4 KiB pages costs one read per
/// block, not one per page. Reads larger than a block go straight through.
pub struct BlockCache<S: ReadAt> {
    inner: S,
    block_len: u64,
    max_blocks: usize,
    /// Most recently used last: (block index, bytes).
    blocks: std::cell::RefCell<Vec<(u64, Vec<u8>)>>,
    fetched: std::cell::Cell<u64>,
}

impl<S: ReadAt> BlockCache<S> {
    /// `block_len` bytes per read (at least 4 KiB), `max_blocks` kept (at least 1).
    pub fn new(inner: S, block_len: usize, max_blocks: usize) -> Self {
        Self {
            inner,
            block_len: block_len.max(4096) as u64,
            max_blocks: max_blocks.max(1),
            blocks: std::cell::RefCell::new(Vec::new()),
            fetched: std::cell::Cell::new(0),
        }
    }

    /// The source it reads.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// Bytes read from the inner source so far.
    pub fn fetched_bytes(&self) -> u64 {
        self.fetched.get()
    }

    fn with_block<T>(&self, index: u64, f: impl FnOnce(&[u8]) -> T) -> Result<T, SourceError> {
        let mut blocks = self.blocks.borrow_mut();
        if let Some(pos) = blocks.iter().position(|(i, _)| *i == index) {
            let hit = blocks.remove(pos);
            blocks.push(hit);
        } else {
            let start = index * self.block_len;
            let len = self.block_len.min(self.inner.len().saturating_sub(start));
            let bytes = self.inner.read_vec(start, len)?;
            self.fetched.set(self.fetched.get() + len);
            if blocks.len() >= self.max_blocks {
                blocks.remove(0);
            }
            blocks.push((index, bytes));
        }
        let (_, bytes) = blocks.last().expect("just pushed");
        Ok(f(bytes))
    }
}

impl<S: ReadAt> ReadAt for BlockCache<S> {
    fn len(&self) -> u64 {
        self.inner.len()
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), SourceError> {
        let len = buf.len() as u64;
        offset
            .checked_add(len)
            .filter(|&e| e <= self.len())
            .ok_or_else(|| SourceError {
                offset,
                len,
                reason: format!("past the end of the {}-byte file", self.len()),
            })?;
        if len > self.block_len {
            self.fetched.set(self.fetched.get() + len);
            return self.inner.read_exact_at(offset, buf);
        }
        let block = usize::try_from(self.block_len).unwrap_or(usize::MAX);
        let mut done = 0usize;
        while done < buf.len() {
            let at = offset + done as u64;
            let index = at / self.block_len;
            let in_block = usize::try_from(at % self.block_len).unwrap_or(0);
            let n = (buf.len() - done).min(block - in_block);
            self.with_block(index, |b| {
                buf[done..done + n].copy_from_slice(&b[in_block..in_block + n]);
            })?;
            done += n;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mem_source_reads_in_range_and_rejects_past_end() {
        let src = MemSource(vec![1u8, 2, 3, 4]);
        let mut buf = [0u8; 2];
        src.read_exact_at(1, &mut buf).unwrap();
        assert_eq!(buf, [2, 3]);
        let err = src.read_exact_at(3, &mut buf).unwrap_err();
        assert_eq!((err.offset, err.len), (3, 2));
        assert!(src.read_exact_at(u64::MAX, &mut buf).is_err());
    }

    #[test]
    fn read_vec_refuses_lengths_beyond_the_source() {
        let src = MemSource(vec![0u8; 16]);
        assert!(src.read_vec(8, 1 << 40).is_err());
        assert!(src.read_vec(u64::MAX, 2).is_err());
        assert_eq!(src.read_vec(8, 8).unwrap().len(), 8);
    }

    #[test]
    fn block_cache_reads_across_blocks_and_fetches_each_block_once() {
        let data: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
        let src = BlockCache::new(MemSource(data.clone()), 4096, 2);
        for (off, len) in [
            (0usize, 10usize),
            (4090, 20),
            (8191, 1),
            (19_990, 10),
            (100, 4096),
            (0, 9000),
        ] {
            let mut buf = vec![0u8; len];
            src.read_exact_at(off as u64, &mut buf).unwrap();
            assert_eq!(buf, data[off..off + len], "at {off}+{len}");
        }
        let before = src.fetched_bytes();
        let mut one = [0u8; 1];
        src.read_exact_at(0, &mut one).unwrap();
        src.read_exact_at(8, &mut one).unwrap();
        assert!(
            src.fetched_bytes() - before <= 4096,
            "a cached block is not read again"
        );
        assert!(src.read_exact_at(19_995, &mut [0u8; 10]).is_err());
        assert!(src.read_exact_at(u64::MAX, &mut one).is_err());
    }

    #[test]
    fn a_cursor_reads_and_seeks_within_its_range_and_carries_the_sources_error() {
        let src = MemSource((0u8..100).collect::<Vec<_>>());
        let mut c = Cursor::range(&src, 10, 20);
        let mut out = Vec::new();
        c.read_to_end(&mut out).unwrap();
        assert_eq!(out, (10u8..30).collect::<Vec<_>>());
        assert_eq!(c.offset(), 30);
        assert_eq!(c.seek(SeekFrom::Start(5)).unwrap(), 5);
        let mut two = [0u8; 2];
        c.read_exact(&mut two).unwrap();
        assert_eq!(two, [15, 16]);
        assert_eq!(c.seek(SeekFrom::End(-1)).unwrap(), 19);
        assert_eq!(c.read(&mut two).unwrap(), 1);
        assert_eq!(c.seek(SeekFrom::Current(100)).unwrap(), 120);
        assert_eq!(c.read(&mut two).unwrap(), 0, "past the end reads nothing");
        assert!(c.seek(SeekFrom::Current(-1000)).is_err());
        // A range past the source's end is cut there.
        let mut whole = Cursor::range(&src, 90, 1000);
        let mut rest = Vec::new();
        whole.read_to_end(&mut rest).unwrap();
        assert_eq!(rest.len(), 10);

        struct Broken;
        impl ReadAt for Broken {
            fn len(&self) -> u64 {
                8
            }
            fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), SourceError> {
                Err(SourceError {
                    offset,
                    len: buf.len() as u64,
                    reason: "disk gone".into(),
                })
            }
        }
        let e = Cursor::new(Broken).read(&mut two).unwrap_err();
        assert_eq!(
            source_error(&e),
            Some(SourceError {
                offset: 0,
                len: 2,
                reason: "disk gone".into()
            })
        );
        assert_eq!(source_error(&io::Error::other("x")), None);
    }
}
