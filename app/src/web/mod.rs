//! All browser glue: JS values become Rust values or errors here and nowhere else.
//!
//! The worker's: `blob_source`, `opfs`, `worker_client` (the page's side of it).
//! The Live page's: `api` (fetch with the token), `session` (where the token
//! is kept), `fetched` (a stored snapshot streamed into the tab), `clock`.
//! The page's: `settings` (switches kept in local storage), `clipboard`.

pub mod api;
pub mod blob_source;
pub mod clipboard;
pub mod clock;
pub mod fetched;
pub mod opfs;
pub mod session;
pub mod settings;
pub mod worker_client;

/// Turn a JS exception into a message for the user.
pub fn js_error(v: &wasm_bindgen::JsValue) -> String {
    if let Some(s) = v.as_string() {
        return s;
    }
    js_sys::Reflect::get(v, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .unwrap_or_else(|| format!("{v:?}"))
}
