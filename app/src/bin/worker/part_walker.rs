//! The worker started as a part walker (named [`PART_WALKER_NAME`] by the
//! worker that starts it): it reads the `Blob` it is sent through its own
//! reader, plans the status walk's parts as that worker did (the plan depends
//! on the file only), walks the one part it is asked for and sends it back
//! as bytes. It touches nothing else: no private storage, no page.
//!
//! [`PART_WALKER_NAME`]: etcd_lens_app::protocol::PART_WALKER_NAME

use std::cell::Cell;

use etcd_lens_app::protocol::{FromPartWalker, ToPartWalker};
use etcd_lens_app::web::blob_source::BlobSource;
use etcd_lens_core::bolt::Db;
use etcd_lens_core::bolt::check::Freelist;
use etcd_lens_core::status::parallel;
use etcd_lens_core::{BlockCache, ReadAt, SourceError};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{Blob, MessageEvent};

use super::scope::{SCOPE, now_ms, wasm_memory_bytes};

/// Bytes per `FileReaderSync` read: a part is a long, mostly sequential run
/// of the file, and large slices read fastest (bench/README.md: one worker
/// 323 / 419 / 554 MiB/s at 4 / 16 / 64 MiB). 16 MiB, not 64: a page far
/// from the run (a reused page) costs one whole block.
const BLOCK_BYTES: usize = 16 << 20;
/// Blocks kept: the block being walked, the one a page spills into, and two
/// for pages a little behind. Two in all cut a walker's wasm memory from 108
/// to 75 MiB on the 1 M-key benchmark, but each walker then read 1080–1098
/// MiB instead of 824–929 and the status took 4.58 s instead of 3.73 s
/// (bench/README.md).
const CACHED_BLOCKS: usize = 4;
/// Least time between two progress messages.
const PROGRESS_EVERY_MS: f64 = 100.0;
/// Key-index entries in the longest chunk sent (the first are shorter,
/// `parallel::FIRST_CHUNK_ENTRIES`): about 6 MiB of builder and 3 MiB of
/// bytes, where a part's whole index (half a million keys on the 1 M-key
/// benchmark) held twice at its end was most of a walker's 260 MiB.
const INDEX_CHUNK_ENTRIES: usize = 1 << 16;

/// Install the part walker's handler and say it listens.
pub fn run() {
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
        let reply = walk(&ev).unwrap_or_else(|message| FromPartWalker::Failed { message });
        if let FromPartWalker::Failed { .. } = reply {
            send(&reply, &[]);
        }
    });
    SCOPE.with(|s| s.set_onmessage(Some(on_message.as_ref().unchecked_ref())));
    on_message.forget();
    send(&FromPartWalker::Ready, &[]);
}

/// Walk the part asked for and send it (`Done` is sent here; a `Failed`
/// returned is sent by the caller).
fn walk(ev: &MessageEvent) -> Result<FromPartWalker, String> {
    let parts = ev
        .data()
        .dyn_into::<js_sys::Array>()
        .map_err(|_| "internal error: malformed part request".to_string())?;
    let request: ToPartWalker = parts
        .get(0)
        .as_string()
        .and_then(|s| serde_json::from_str(&s).ok())
        .ok_or("internal error: malformed part request")?;
    let blob = parts
        .get(1)
        .dyn_into::<Blob>()
        .map_err(|_| "internal error: no file sent".to_string())?;
    let started = now_ms();
    let src = Counted {
        inner: BlockCache::new(
            Timed {
                inner: BlobSource::new(blob)?,
                ms: Cell::new(0.0),
            },
            BLOCK_BYTES,
            CACHED_BLOCKS,
        ),
        read: Cell::new(0),
        last_report: Cell::new(started),
    };
    let db = Db::open(&src).map_err(|e| e.to_string())?;
    let plan = parallel::plan(&db, request.parts)
        .filter(|p| request.part < p.parts.len())
        .ok_or("the file does not split into this part")?;
    let fl = Freelist::read(&db);
    // The key index's entries of this part too, from the same decoding (the
    // worker then needs no index pass of its own), sent chunk by chunk.
    let (part, indexed) = parallel::walk_part_and_index(
        &db,
        &fl,
        &plan,
        request.part,
        INDEX_CHUNK_ENTRIES,
        &mut |chunk| {
            let entries = chunk.entries() as u64;
            let bytes = chunk.to_bytes();
            drop(chunk);
            send(&FromPartWalker::Index { entries }, &[&bytes]);
        },
    );
    let bytes = part.to_bytes(db.hwm());
    drop(part);
    let done = FromPartWalker::Done {
        read_bytes: src.read.get(),
        elapsed_ms: now_ms() - started,
        read_ms: src.inner.inner().ms.get(),
        indexed,
        wasm_bytes: wasm_memory_bytes(),
    };
    send(&done, &[&bytes]);
    Ok(done)
}

/// Post `msg` (and each of `bytes` as a transferred `ArrayBuffer`) to the
/// worker that started this one.
fn send(msg: &FromPartWalker, bytes: &[&[u8]]) {
    let text = serde_json::to_string(msg).unwrap_or_default();
    let sent = SCOPE.with(|s| {
        if bytes.is_empty() {
            return s.post_message(&text.into());
        }
        let msg = js_sys::Array::of1(&text.into());
        let transfer = js_sys::Array::new();
        for b in bytes {
            let buffer = js_sys::Uint8Array::from(*b).buffer();
            msg.push(&buffer);
            transfer.push(&buffer);
        }
        s.post_message_with_transfer(&msg, &transfer)
    });
    if let Err(e) = sent {
        leptos::logging::error!(
            "etcd-lens part walker: a message failed: {}",
            etcd_lens_app::web::js_error(&e)
        );
    }
}

/// The file, timing its reads (one per block fetched): how much of a walk
/// is reading, said in the console.
struct Timed {
    inner: BlobSource,
    ms: Cell<f64>,
}

impl ReadAt for Timed {
    fn len(&self) -> u64 {
        self.inner.len()
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), SourceError> {
        let t = now_ms();
        let read = self.inner.read_exact_at(offset, buf);
        self.ms.set(self.ms.get() + now_ms() - t);
        read
    }
}

/// The block reader, counting the bytes it fetches and saying how far it is
/// (one look at the clock per block, not per page).
struct Counted {
    inner: BlockCache<Timed>,
    read: Cell<u64>,
    last_report: Cell<f64>,
}

impl ReadAt for Counted {
    fn len(&self) -> u64 {
        self.inner.len()
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), SourceError> {
        let before = self.inner.fetched_bytes();
        self.inner.read_exact_at(offset, buf)?;
        let fetched = self.inner.fetched_bytes();
        if fetched != before {
            self.read.set(fetched);
            let now = now_ms();
            if now - self.last_report.get() >= PROGRESS_EVERY_MS {
                self.last_report.set(now);
                send(
                    &FromPartWalker::Progress {
                        read_bytes: fetched,
                    },
                    &[],
                );
            }
        }
        Ok(())
    }
}
