//! Random-access byte sources.
//!
//! Everything in the core reads through [`ReadAt`]: an in-memory slice in tests,
//! a file natively, `Blob` slices in the browser worker, a decrypting reader
//! for age files. A source never has to hold the whole file.

use std::fmt;
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
}
