//! A stored snapshot fetched from the server into this tab, for the Live
//! page's Open and Download: the response body is streamed into the
//! origin-private file system (disk, not memory) and handed back as a
//! `File`, which the inspector opens exactly as a dropped file (decrypting
//! it here, with the user's identity), or which is saved through an object
//! URL. The server sends the file as it stores it (still age-encrypted).
//!
//! Each tab keeps at most one fetched file per [`Purpose`] and removes the
//! one before when it keeps a new one. A tab holds a Web Lock named after it
//! for as long as it lives; a fetch removes the files of tabs whose lock is
//! gone (closed or reloaded), so private storage does not fill up.
//!
//! Fallbacks, said to the user by [`Fetched::in_private_storage`]: without
//! private storage (an insecure origin) or writable streams (older Safari)
//! the body is read into a `Blob`; without Web Locks nothing is swept.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};

use js_sys::{Array, Function, Promise, Reflect, Uint8Array};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    File, FileSystemDirectoryHandle, FileSystemFileHandle, FileSystemGetFileOptions,
    FileSystemWritableFileStream, HtmlAnchorElement, ReadableStreamDefaultReader, Response, Url,
};

use super::js_error;
use super::opfs::entry_names;

/// Names of fetched files start with this, then the tab's id.
pub const FETCHED_PREFIX: &str = "etcd-lens-fetched-";
/// The Web Lock a tab holds while it lives.
const LOCK_PREFIX: &str = "etcd-lens-tab-";

/// What a fetched file is for: each purpose keeps its own latest file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Purpose {
    /// Open in the inspector: kept until the next one is opened.
    Open,
    /// Saved as a download: kept until the next download (the browser may
    /// still be copying it after the click).
    Download,
}

impl Purpose {
    fn tag(self) -> &'static str {
        match self {
            Purpose::Open => "open",
            Purpose::Download => "download",
        }
    }
}

#[derive(Default)]
struct Kept {
    entry: Option<String>,
    object_url: Option<String>,
}

thread_local! {
    /// This page's id: random per load, so a reload is a new tab.
    static TAB: String = format!("{:08x}", (js_sys::Math::random() * 4_294_967_296.0) as u64);
    static SEQ: Cell<u32> = const { Cell::new(0) };
    static LOCKED: Cell<bool> = const { Cell::new(false) };
    static KEPT: RefCell<BTreeMap<Purpose, Kept>> = RefCell::default();
}

/// A fetched file, not yet kept.
pub struct Fetched {
    pub file: File,
    /// False when the browser could not stream it to private storage and it
    /// is held in memory instead.
    pub in_private_storage: bool,
    entry: Option<String>,
    purpose: Purpose,
}

impl Fetched {
    /// Keep this file as its purpose's latest, removing the one before. Call
    /// it once the file has been handed over (the inspector may still read
    /// the previous file until then).
    pub fn keep(self, object_url: Option<String>) -> File {
        let old = KEPT.with_borrow_mut(|k| {
            k.insert(
                self.purpose,
                Kept {
                    entry: self.entry,
                    object_url,
                },
            )
        });
        if let Some(old) = old {
            if let Some(u) = old.object_url {
                let _ = Url::revoke_object_url(&u);
            }
            if let Some(e) = old.entry {
                wasm_bindgen_futures::spawn_local(async move {
                    if let Ok(dir) = root().await {
                        let _ = JsFuture::from(dir.remove_entry(&e)).await;
                    }
                });
            }
        }
        self.file
    }
}

/// Stream `res`'s body into this tab as a `File` named `name`.
/// `expected_bytes` (the catalog's stored size) is checked when known;
/// `on_progress` gets the bytes received so far.
pub async fn fetch_into_tab(
    res: Response,
    name: &str,
    purpose: Purpose,
    expected_bytes: Option<u64>,
    on_progress: impl Fn(u64),
) -> Result<Fetched, String> {
    let dir = match root().await {
        Ok(d) if can_write_streams() => Some(d),
        _ => None,
    };
    let Some(dir) = dir else {
        return in_memory(res, name, purpose).await;
    };
    hold_tab_lock().await;
    sweep(&dir).await;
    let entry = format!(
        "{FETCHED_PREFIX}{}-{}-{}",
        TAB.with(String::clone),
        purpose.tag(),
        SEQ.with(|s| {
            s.set(s.get() + 1);
            s.get()
        })
    );
    match stream_to(&dir, &entry, &res, expected_bytes, &on_progress).await {
        Ok(file) => {
            // The inspector shows the stored file's own name; the new File
            // refers to the private file's bytes, it does not copy them.
            let named =
                File::new_with_blob_sequence(&Array::of1(&file), name).map_err(|e| js_error(&e))?;
            Ok(Fetched {
                file: named,
                in_private_storage: true,
                entry: Some(entry),
                purpose,
            })
        }
        Err(e) => {
            let _ = JsFuture::from(dir.remove_entry(&entry)).await;
            Err(e)
        }
    }
}

/// Save `file` as a download named `name` (an object URL clicked); the URL
/// is returned so [`Fetched::keep`] revokes it with the next download.
pub fn save(file: &File, name: &str) -> Result<String, String> {
    let url = Url::create_object_url_with_blob(file).map_err(|e| js_error(&e))?;
    let a: HtmlAnchorElement = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?
        .create_element("a")
        .map_err(|e| js_error(&e))?
        .unchecked_into();
    a.set_href(&url);
    a.set_download(name);
    a.click();
    Ok(url)
}

async fn root() -> Result<FileSystemDirectoryHandle, String> {
    let nav = web_sys::window().ok_or("no window")?.navigator();
    // Absent outside secure contexts: check before calling into it.
    let storage = Reflect::get(&nav, &"storage".into()).unwrap_or(JsValue::UNDEFINED);
    if storage.is_undefined() || !Reflect::has(&storage, &"getDirectory".into()).unwrap_or(false) {
        return Err("this browser offers no private storage here".into());
    }
    let dir = JsFuture::from(nav.storage().get_directory())
        .await
        .map_err(|e| js_error(&e))?;
    dir.dyn_into()
        .map_err(|_| "the browser's private storage is not a directory".to_string())
}

/// Whether file handles here have `createWritable` (Chromium, Firefox;
/// not Safari before 26).
fn can_write_streams() -> bool {
    let Some(w) = web_sys::window() else {
        return false;
    };
    Reflect::get(&w, &"FileSystemFileHandle".into())
        .ok()
        .and_then(|c| Reflect::get(&c, &"prototype".into()).ok())
        .is_some_and(|p| Reflect::has(&p, &"createWritable".into()).unwrap_or(false))
}

async fn stream_to(
    dir: &FileSystemDirectoryHandle,
    entry: &str,
    res: &Response,
    expected_bytes: Option<u64>,
    on_progress: &impl Fn(u64),
) -> Result<File, String> {
    let storage_err = |e: JsValue| {
        format!(
            "writing to the browser's private storage failed (is its quota full?): {}",
            js_error(&e)
        )
    };
    let opts = FileSystemGetFileOptions::new();
    opts.set_create(true);
    let handle: FileSystemFileHandle =
        JsFuture::from(dir.get_file_handle_with_options(entry, &opts))
            .await
            .map_err(storage_err)?
            .unchecked_into();
    let writable: FileSystemWritableFileStream = JsFuture::from(handle.create_writable())
        .await
        .map_err(storage_err)?
        .unchecked_into();
    let copied = copy(res, &writable, on_progress).await;
    let received = match copied {
        Ok(n) => n,
        Err(e) => {
            let _ = JsFuture::from(writable.abort()).await;
            return Err(e);
        }
    };
    if let Some(want) = expected_bytes
        && want != received
    {
        let _ = JsFuture::from(writable.abort()).await;
        return Err(format!(
            "the download ended after {received} of {want} bytes; try again"
        ));
    }
    JsFuture::from(writable.close())
        .await
        .map_err(storage_err)?;
    JsFuture::from(handle.get_file())
        .await
        .map_err(storage_err)?
        .dyn_into()
        .map_err(|_| "the private file is not a File".to_string())
}

/// Read the body chunk by chunk into `to`; the bytes copied.
async fn copy(
    res: &Response,
    to: &FileSystemWritableFileStream,
    on_progress: &impl Fn(u64),
) -> Result<u64, String> {
    let body = res.body().ok_or("the server's answer has no body")?;
    let reader: ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    let mut done = 0u64;
    loop {
        let step = JsFuture::from(reader.read())
            .await
            .map_err(|e| format!("the download broke off: {}", js_error(&e)))?;
        if Reflect::get(&step, &"done".into()).is_ok_and(|d| d.is_truthy()) {
            return Ok(done);
        }
        let chunk: Uint8Array = Reflect::get(&step, &"value".into())
            .ok()
            .and_then(|v| v.dyn_into().ok())
            .ok_or("the download gave something other than bytes")?;
        done += u64::from(chunk.length());
        let write = to.write_with_js_u8_array(&chunk).map_err(|e| {
            format!(
                "writing to the browser's private storage failed: {}",
                js_error(&e)
            )
        })?;
        JsFuture::from(write).await.map_err(|e| {
            format!(
                "writing to the browser's private storage failed (is its quota full?): {}",
                js_error(&e)
            )
        })?;
        on_progress(done);
    }
}

/// The fallback: the whole body as a Blob (the browser may page it to disk).
async fn in_memory(res: Response, name: &str, purpose: Purpose) -> Result<Fetched, String> {
    let blob = JsFuture::from(res.blob().map_err(|e| js_error(&e))?)
        .await
        .map_err(|e| format!("the download broke off: {}", js_error(&e)))?;
    let file = File::new_with_blob_sequence(&Array::of1(&blob), name).map_err(|e| js_error(&e))?;
    Ok(Fetched {
        file,
        in_private_storage: false,
        entry: None,
        purpose,
    })
}

/// `navigator.locks`, where the browser has it (web-sys binds it only
/// behind its unstable-API flag, so it is reached by name).
fn locks() -> Option<JsValue> {
    let nav = web_sys::window()?.navigator();
    Reflect::get(&nav, &"locks".into())
        .ok()
        .filter(|l| !l.is_undefined() && !l.is_null())
}

/// Take this tab's lock once and hold it until the tab goes: the request's
/// callback returns a promise that never settles.
async fn hold_tab_lock() {
    if LOCKED.with(Cell::get) {
        return;
    }
    let Some(locks) = locks() else {
        return;
    };
    let Ok(request) =
        Reflect::get(&locks, &"request".into()).and_then(|f| f.dyn_into::<Function>())
    else {
        return;
    };
    let name = format!("{LOCK_PREFIX}{}", TAB.with(String::clone));
    let mut granted_resolve = None;
    let granted = Promise::new(&mut |resolve, _| granted_resolve = Some(resolve));
    let Some(resolve) = granted_resolve else {
        return;
    };
    let hold = Closure::<dyn FnMut(JsValue) -> Promise>::new(move |_lock| {
        let _ = resolve.call0(&JsValue::UNDEFINED);
        Promise::new(&mut |_, _| {})
    });
    if request.call2(&locks, &name.into(), hold.as_ref()).is_ok() {
        // The callback lives as long as the lock: the tab's life.
        hold.forget();
        let _ = JsFuture::from(granted).await;
        LOCKED.with(|l| l.set(true));
    }
}

/// Remove fetched files of tabs that no longer hold their lock.
async fn sweep(dir: &FileSystemDirectoryHandle) {
    let Some(locks) = locks() else {
        return;
    };
    let Ok(query) = Reflect::get(&locks, &"query".into()).and_then(|f| f.dyn_into::<Function>())
    else {
        return;
    };
    let Ok(p) = query.call0(&locks) else {
        return;
    };
    let Ok(snapshot) = JsFuture::from(Promise::from(p)).await else {
        return;
    };
    let held: BTreeSet<String> = Reflect::get(&snapshot, &"held".into())
        .ok()
        .and_then(|h| h.dyn_into::<Array>().ok())
        .map(|a| {
            a.iter()
                .filter_map(|l| Reflect::get(&l, &"name".into()).ok()?.as_string())
                .collect()
        })
        .unwrap_or_default();
    let mine = TAB.with(String::clone);
    for name in entry_names(dir).await {
        let Some(rest) = name.strip_prefix(FETCHED_PREFIX) else {
            continue;
        };
        let tab = rest.split('-').next().unwrap_or_default();
        if tab != mine && !held.contains(&format!("{LOCK_PREFIX}{tab}")) {
            let _ = JsFuture::from(dir.remove_entry(&name)).await;
        }
    }
}
