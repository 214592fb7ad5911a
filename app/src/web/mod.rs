//! All browser glue: JS values become Rust values or errors here and nowhere else.

pub mod blob_source;
pub mod opfs;
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
