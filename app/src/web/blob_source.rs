//! A [`ReadAt`] over a `Blob` (the user's `File`), for the worker only:
//! `FileReaderSync` reads one `Blob.slice` at a time, so the file is never
//! held in memory as a whole.

use etcd_lens_core::{ReadAt, SourceError};
use js_sys::Uint8Array;
use web_sys::{Blob, FileReaderSync};

pub struct BlobSource {
    blob: Blob,
    reader: FileReaderSync,
    len: u64,
}

impl BlobSource {
    pub fn new(blob: Blob) -> Result<Self, String> {
        let reader = FileReaderSync::new().map_err(|e| super::js_error(&e))?;
        // Blob sizes are exact integers in an f64 up to 2^53 bytes.
        let size = blob.size();
        let len = if size.is_finite() && size >= 0.0 {
            size as u64
        } else {
            0
        };
        Ok(Self { blob, reader, len })
    }
}

impl ReadAt for BlobSource {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), SourceError> {
        let fail = |reason: String| SourceError {
            offset,
            len: buf.len() as u64,
            reason,
        };
        let end = offset
            .checked_add(buf.len() as u64)
            .filter(|&e| e <= self.len)
            .ok_or_else(|| fail(format!("past the end of the {}-byte file", self.len)))?;
        let slice = self
            .blob
            .slice_with_f64_and_f64(offset as f64, end as f64)
            .map_err(|e| fail(super::js_error(&e)))?;
        let ab = self
            .reader
            .read_as_array_buffer(&slice)
            .map_err(|e| fail(super::js_error(&e)))?;
        let arr = Uint8Array::new(&ab);
        if arr.length() as usize != buf.len() {
            return Err(fail(format!("the browser returned {} bytes", arr.length())));
        }
        arr.copy_to(buf);
        Ok(())
    }
}
