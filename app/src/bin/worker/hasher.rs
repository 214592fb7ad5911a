//! The worker started as a hasher (named [`HASHER_NAME`] by the worker that
//! starts it): it reads the `Blob` it is sent through its own reader and
//! checks the file's SHA-256 trailer (`etcd_lens_core::trailer`), while the
//! worker that started it walks and indexes the same file. It touches
//! nothing else: no private storage, no page.
//!
//! [`HASHER_NAME`]: etcd_lens_app::protocol::HASHER_NAME

use etcd_lens_app::protocol::FromHasher;
use etcd_lens_app::web::blob_source::BlobSource;
use etcd_lens_core::ReadAt;
use etcd_lens_core::trailer::TrailerVerifier;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{Blob, MessageEvent};

use super::scope::{SCOPE, now_ms, wasm_memory_bytes};

/// Bytes per `FileReaderSync` read: the file is read once, in order, and
/// large slices read fastest (bench/README.md: 323 / 419 / 554 MiB/s at
/// 4 / 16 / 64 MiB for one worker). 16 MiB keeps the buffer small.
const SLICE_BYTES: u64 = 16 << 20;
/// Least time between two progress messages.
const PROGRESS_EVERY_MS: f64 = 100.0;

/// Install the hasher's handler and say it listens.
pub fn run() {
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
        let reply = ev
            .data()
            .dyn_into::<Blob>()
            .map_err(|_| "internal error: no file sent".to_string())
            .and_then(hash)
            .unwrap_or_else(|message| FromHasher::Failed { message });
        send(&reply);
    });
    SCOPE.with(|s| s.set_onmessage(Some(on_message.as_ref().unchecked_ref())));
    on_message.forget();
    send(&FromHasher::Ready);
}

/// Hash the whole file and say whether its trailer matches.
fn hash(blob: Blob) -> Result<FromHasher, String> {
    let src = BlobSource::new(blob)?;
    let total = src.len();
    let mut verifier = TrailerVerifier::new(total);
    if !verifier.has_trailer() {
        // Nothing to verify: feed nothing, `finish` says "absent".
        verifier = TrailerVerifier::new(0);
    }
    let mut buf = Vec::new();
    let mut last_report = now_ms();
    while verifier.has_trailer() && verifier.fed() < total {
        let at = verifier.fed();
        let n = usize::try_from((total - at).min(SLICE_BYTES)).unwrap_or(0);
        buf.resize(n, 0);
        src.read_exact_at(at, &mut buf)
            .map_err(|e| format!("reading the file failed: {e}"))?;
        verifier.update(&buf);
        let now = now_ms();
        if now - last_report >= PROGRESS_EVERY_MS {
            last_report = now;
            send(&FromHasher::Progress {
                hashed_bytes: verifier.fed(),
            });
        }
    }
    let status = verifier
        .finish()
        .ok_or("internal error: not every byte was hashed")?;
    Ok(FromHasher::Done {
        status,
        wasm_bytes: wasm_memory_bytes(),
    })
}

/// Post `msg` to the worker that started this one.
fn send(msg: &FromHasher) {
    let text = serde_json::to_string(msg).unwrap_or_default();
    if let Err(e) = SCOPE.with(|s| s.post_message(&text.into())) {
        leptos::logging::error!(
            "etcd-lens hasher: a message failed: {}",
            etcd_lens_app::web::js_error(&e)
        );
    }
}
