//! The worker's global scope: posting to the page, the clock, the memory size.
//! A leaf: the rest of the worker uses it, it uses none of them.

use etcd_lens_app::protocol::FromWorker;
use wasm_bindgen::JsCast;
use web_sys::DedicatedWorkerGlobalScope;

thread_local! {
    pub static SCOPE: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
}

/// Send a message to the page. A message that cannot be sent is said in the
/// console (the page then waits in vain; nothing else can tell it).
pub fn post(msg: &FromWorker) {
    let sent = serde_json::to_string(msg)
        .map_err(|e| e.to_string())
        .and_then(|text| {
            SCOPE.with(|s| {
                s.post_message(&text.into())
                    .map_err(|e| etcd_lens_app::web::js_error(&e))
            })
        });
    if let Err(e) = sent {
        leptos::logging::error!("etcd-lens worker: a message to the page failed: {e}");
    }
}

/// The size of this worker's WebAssembly memory.
pub fn wasm_memory_bytes() -> u64 {
    wasm_bindgen::memory()
        .dyn_into::<js_sys::WebAssembly::Memory>()
        .map_or(0, |m| {
            m.buffer()
                .dyn_into::<js_sys::ArrayBuffer>()
                .map_or(0, |b| u64::from(b.byte_length()))
        })
}

pub fn now_ms() -> f64 {
    js_sys::Date::now()
}
