//! The Web Worker: runs the core over the user's file, read in slices.
//! It never holds the whole file: `BlobSource` reads `Blob.slice`s on demand.
//! One worker serves one file; the page starts a new worker for the next.

use std::cell::RefCell;

use etcd_lens_app::protocol::{FromWorker, KeyQuery, Phase, ToWorker};
use etcd_lens_app::web::blob_source::BlobSource;
use etcd_lens_app::worker_model::{self, Opened, Peeled};
use etcd_lens_core::{ReadAt, inspect, trailer};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{Blob, DedicatedWorkerGlobalScope, MessageEvent};

/// Bytes per read while hashing: large enough to amortise the per-slice cost
/// of `FileReaderSync`, small enough to report progress often.
const HASH_SLICE_BYTES: usize = 4 << 20;

thread_local! {
    /// The open file.
    static OPEN: RefCell<Option<Opened>> = const { RefCell::new(None) };
    /// An age file waiting for its secret, and the layers peeled so far.
    static LOCKED: RefCell<Option<(&'static dyn ReadAt, Vec<String>)>> = const { RefCell::new(None) };
}

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
        handle(&ev, &post);
    });
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    if let Ok(text) = serde_json::to_string(&FromWorker::Ready) {
        let _ = scope.post_message(&text.into());
    }
}

fn handle(ev: &MessageEvent, post: &dyn Fn(&FromWorker)) {
    let Ok(parts) = ev.data().dyn_into::<js_sys::Array>() else {
        return post(&FromWorker::Failed {
            message: "internal error: malformed request".into(),
        });
    };
    let Some(request) = parts
        .get(0)
        .as_string()
        .and_then(|s| serde_json::from_str::<ToWorker>(&s).ok())
    else {
        return post(&FromWorker::Failed {
            message: "internal error: malformed request".into(),
        });
    };
    match request {
        ToWorker::Open { name: _ } => {
            let result = parts
                .get(1)
                .dyn_into::<Blob>()
                .map_err(|_| "internal error: no file sent".to_string())
                .and_then(BlobSource::new)
                .and_then(|src| {
                    // The source lives as long as the worker (one file at a time).
                    let src: &'static BlobSource = Box::leak(Box::new(src));
                    peel_and_open(src, Vec::new(), post)
                });
            match result {
                Ok(()) => post(&FromWorker::Finished),
                Err(message) => post(&FromWorker::Failed { message }),
            }
        }
        ToWorker::Unlock { secret } => {
            let Some((src, mut layers)) = LOCKED.with_borrow_mut(Option::take) else {
                return post(&FromWorker::Failed {
                    message: "no encrypted file is waiting for a secret".into(),
                });
            };
            match worker_model::unlock(src, &secret, &mut layers) {
                Err(message) => {
                    LOCKED.with_borrow_mut(|l| *l = Some((src, layers)));
                    post(&FromWorker::UnlockFailed { message });
                }
                Ok(plain) => match peel_and_open(plain, layers, post) {
                    Ok(()) => post(&FromWorker::Finished),
                    Err(message) => post(&FromWorker::Failed { message }),
                },
            }
        }
        ToWorker::Audit {
            seq,
            encryption_config,
        } => reply(seq, post, |o| {
            worker_model::audit(o, encryption_config.as_deref()).map(|a| FromWorker::Audit {
                seq,
                audit: Box::new(a),
            })
        }),
        ToWorker::List { seq, query } => reply(seq, post, |o| {
            list(o, &query).map(|page| FromWorker::Keys { seq, page })
        }),
        ToWorker::Key { seq, key_hex } => reply(seq, post, |o| {
            worker_model::key_detail(o, &key_hex).map(|d| FromWorker::Key {
                seq,
                detail: Box::new(d),
            })
        }),
    }
}

fn list(o: &Opened, q: &KeyQuery) -> Result<etcd_lens_app::protocol::KeyPage, String> {
    Ok(worker_model::list(o, q))
}

fn reply(
    seq: u32,
    post: &dyn Fn(&FromWorker),
    f: impl FnOnce(&Opened) -> Result<FromWorker, String>,
) {
    let msg = OPEN.with_borrow(|o| match o {
        Some(o) => f(o).unwrap_or_else(|message| FromWorker::RequestFailed { seq, message }),
        None => FromWorker::RequestFailed {
            seq,
            message: "no snapshot is open".into(),
        },
    });
    post(&msg);
}

/// Peel compression/armor; stop to ask for an age secret; else open the snapshot.
fn peel_and_open(
    src: &'static dyn ReadAt,
    mut layers: Vec<String>,
    post: &dyn Fn(&FromWorker),
) -> Result<(), String> {
    OPEN.with_borrow_mut(|o| *o = None);
    match worker_model::peel(src, &mut layers)? {
        Peeled::NeedSecret(src, prompt) => {
            LOCKED.with_borrow_mut(|l| *l = Some((src, layers)));
            post(&FromWorker::NeedSecret { prompt });
            Ok(())
        }
        Peeled::Ready(src) => {
            let with_age = layers.iter().any(|l| l.starts_with("age ("));
            post(&FromWorker::Layers { layers });
            open(src, with_age, post)
        }
    }
}

fn open(
    src: &'static dyn ReadAt,
    with_age: bool,
    post: &dyn Fn(&FromWorker),
) -> Result<(), String> {
    let header = inspect::open(src).map_err(|e| e.to_string())?;
    post(&FromWorker::Header {
        header: Box::new(header),
    });
    let mut opened = worker_model::open(src)?;
    opened.opened_with_age = with_age;
    post(&FromWorker::Overview {
        overview: Box::new(opened.overview.clone()),
    });
    OPEN.with_borrow_mut(|o| *o = Some(opened));

    let total_bytes = src.len();
    let status = trailer::verify(src, HASH_SLICE_BYTES, |done_bytes| {
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
