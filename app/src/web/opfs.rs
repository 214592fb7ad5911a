//! Spooling to the origin-private file system (OPFS), for the worker only.
//!
//! A compressed backup cannot be read at random, so the worker decompresses
//! it once into a private file (`FileSystemSyncAccessHandle`: synchronous
//! reads and writes at an offset, only in workers) and reads that. The file
//! is deleted when the snapshot is closed; files left by a worker that was
//! stopped (Cancel, a new file) are deleted when the next worker starts.

use std::cell::Cell;

use etcd_lens_core::container::{Sink, SinkError};
use etcd_lens_core::{ReadAt, SourceError};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    FileSystemDirectoryHandle, FileSystemFileHandle, FileSystemGetFileOptions,
    FileSystemReadWriteOptions, FileSystemSyncAccessHandle, WorkerGlobalScope,
};

use super::js_error;

/// Names of spool files start with this.
pub const SPOOL_PREFIX: &str = "etcd-lens-spool-";

async fn root() -> Result<FileSystemDirectoryHandle, String> {
    let scope: WorkerGlobalScope = js_sys::global().unchecked_into();
    let storage = scope.navigator().storage();
    let dir = JsFuture::from(storage.get_directory()).await.map_err(|e| {
        format!(
            "the browser's private storage is not available: {}",
            js_error(&e)
        )
    })?;
    dir.dyn_into()
        .map_err(|_| "the browser's private storage is not a directory".to_string())
}

/// A private file being written, then read.
pub struct SpoolFile {
    dir: FileSystemDirectoryHandle,
    name: String,
    handle: FileSystemSyncAccessHandle,
    len: Cell<u64>,
    deleted: Cell<bool>,
}

impl SpoolFile {
    /// Create a new, empty spool file.
    pub async fn create() -> Result<Self, String> {
        let dir = root().await?;
        let name = format!(
            "{SPOOL_PREFIX}{:x}-{:x}",
            js_sys::Date::now() as u64,
            (js_sys::Math::random() * 4_294_967_296.0) as u64
        );
        let opts = FileSystemGetFileOptions::new();
        opts.set_create(true);
        let file: FileSystemFileHandle =
            JsFuture::from(dir.get_file_handle_with_options(&name, &opts))
                .await
                .map_err(|e| format!("creating a file in private storage: {}", js_error(&e)))?
                .unchecked_into();
        let handle: FileSystemSyncAccessHandle = JsFuture::from(file.create_sync_access_handle())
            .await
            .map_err(|e| format!("opening the private file: {}", js_error(&e)))?
            .unchecked_into();
        Ok(Self {
            dir,
            name,
            handle,
            len: Cell::new(0),
            deleted: Cell::new(false),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Close and delete the file; it must not be read afterwards.
    /// Close and remove the file (once; dropping it does this too).
    pub fn delete(&self) {
        if self.deleted.replace(true) {
            return;
        }
        self.handle.close();
        self.len.set(0);
        let _ = self.dir.remove_entry(&self.name);
    }
}

impl Drop for SpoolFile {
    fn drop(&mut self) {
        self.delete();
    }
}

impl Sink for SpoolFile {
    fn write(&mut self, bytes: &[u8]) -> Result<(), SinkError> {
        let at = self.len.get();
        let opts = FileSystemReadWriteOptions::new();
        opts.set_at(at as f64);
        let written = self
            .handle
            .write_with_u8_array_and_options(bytes, &opts)
            .map_err(|e| SinkError(format!("writing to the browser's private storage failed (is the disk or its quota full?): {}", js_error(&e))))?;
        if written as usize != bytes.len() {
            return Err(SinkError(format!(
                "the browser's private storage took {written} of {} bytes (is its quota full?)",
                bytes.len()
            )));
        }
        self.len.set(at + bytes.len() as u64);
        Ok(())
    }
}

impl ReadAt for SpoolFile {
    fn len(&self) -> u64 {
        self.len.get()
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), SourceError> {
        let len = buf.len();
        let fail = |reason: String| SourceError {
            offset,
            len: len as u64,
            reason,
        };
        if offset
            .checked_add(len as u64)
            .is_none_or(|e| e > self.len.get())
        {
            return Err(fail(format!(
                "past the end of the {}-byte file",
                self.len.get()
            )));
        }
        let opts = FileSystemReadWriteOptions::new();
        opts.set_at(offset as f64);
        let n = self
            .handle
            .read_with_u8_array_and_options(buf, &opts)
            .map_err(|e| fail(js_error(&e)))?;
        if n as usize != len {
            return Err(fail(format!("the private file gave {n} bytes")));
        }
        Ok(())
    }
}

/// Delete spool files a stopped worker left behind. Files still open in
/// another tab cannot be deleted and are left alone.
pub async fn delete_leftovers() {
    let Ok(dir) = root().await else {
        return;
    };
    for name in entry_names(&dir)
        .await
        .into_iter()
        .filter(|n| n.starts_with(SPOOL_PREFIX))
    {
        let _ = JsFuture::from(dir.remove_entry(&name)).await;
    }
}

/// The names in `dir` (its async `keys()` iterator, which web-sys does not
/// bind); an error ends the list early.
pub(crate) async fn entry_names(dir: &FileSystemDirectoryHandle) -> Vec<String> {
    let mut names = Vec::new();
    let Ok(entries) = js_sys::Reflect::get(dir, &"keys".into())
        .and_then(|f| f.dyn_into::<js_sys::Function>())
        .and_then(|f| f.call0(dir))
    else {
        return names;
    };
    loop {
        let Ok(next) = js_sys::Reflect::get(&entries, &"next".into())
            .and_then(|f| f.dyn_into::<js_sys::Function>())
            .and_then(|f| f.call0(&entries))
        else {
            break;
        };
        let Ok(step) = JsFuture::from(js_sys::Promise::from(next)).await else {
            break;
        };
        if js_sys::Reflect::get(&step, &"done".into()).is_ok_and(|d| d.is_truthy()) {
            break;
        }
        if let Some(name) = js_sys::Reflect::get(&step, &"value".into())
            .ok()
            .and_then(|v| v.as_string())
        {
            names.push(name);
        }
    }
    names
}
