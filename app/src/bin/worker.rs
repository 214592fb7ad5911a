//! The Web Worker: runs the core over the user's file, read in slices.
//! It never holds the whole file: `BlobSource` reads `Blob.slice`s on demand.

use etcd_lens_app::protocol::{FromWorker, Phase, ToWorker};
use etcd_lens_app::web::blob_source::BlobSource;
use etcd_lens_core::{ReadAt, inspect, trailer};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{Blob, DedicatedWorkerGlobalScope, MessageEvent};

/// Bytes per read while hashing: large enough to amortise the per-slice cost
/// of `FileReaderSync`, small enough to report progress often.
const HASH_SLICE_BYTES: usize = 4 << 20;

fn main() {
    console_error_panic_hook::set_once();
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let reply_to = scope.clone();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
        let post = |msg: &FromWorker| {
            if let Ok(text) = serde_json::to_string(msg) {
                let _ = reply_to.post_message(&text.into());
            }
        };
        match handle(&ev, &post) {
            Ok(()) => post(&FromWorker::Finished),
            Err(message) => post(&FromWorker::Failed { message }),
        }
    });
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    if let Ok(text) = serde_json::to_string(&FromWorker::Ready) {
        let _ = scope.post_message(&text.into());
    }
}

fn handle(ev: &MessageEvent, post: &dyn Fn(&FromWorker)) -> Result<(), String> {
    let parts: js_sys::Array = ev
        .data()
        .dyn_into()
        .map_err(|_| "internal error: malformed request".to_string())?;
    let request: ToWorker = parts
        .get(0)
        .as_string()
        .and_then(|s| serde_json::from_str(&s).ok())
        .ok_or_else(|| "internal error: malformed request".to_string())?;
    match request {
        ToWorker::Open { name: _ } => {
            let blob: Blob = parts
                .get(1)
                .dyn_into()
                .map_err(|_| "internal error: no file sent".to_string())?;
            open(BlobSource::new(blob)?, post)
        }
    }
}

fn open(src: BlobSource, post: &dyn Fn(&FromWorker)) -> Result<(), String> {
    let header = inspect::open(&src).map_err(|e| e.to_string())?;
    post(&FromWorker::Header {
        header: Box::new(header),
    });
    let total_bytes = src.len();
    let status = trailer::verify(&src, HASH_SLICE_BYTES, |done_bytes| {
        post(&FromWorker::Progress {
            phase: Phase::Hashing,
            done_bytes,
            total_bytes,
        });
    })
    .map_err(|e| format!("reading the file failed: {e}"))?;
    post(&FromWorker::Trailer { status });
    Ok(())
}
