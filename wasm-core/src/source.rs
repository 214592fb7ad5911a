//! Random-access byte sources.
//!
//! Everything in the core reads through [`ReadAt`]: an in-memory slice in tests,
//! a file natively, `Blob` slices in the browser worker, a decrypting reader
//! for age files. A source never has to hold the whole file.

use std::fmt;

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
}
