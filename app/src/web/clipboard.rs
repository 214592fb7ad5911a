//! Text to the system clipboard (`navigator.clipboard.writeText`). The
//! browser may refuse — no secure context, the page not focused, permission
//! denied — and says why; the caller shows that to the user.

use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

/// Put `text` on the clipboard; the browser's reason when it refuses.
pub async fn write_text(text: &str) -> Result<(), String> {
    let window = web_sys::window().ok_or("no window")?;
    let navigator = window.navigator();
    // Absent outside secure contexts (plain http on a host other than localhost).
    let present = js_sys::Reflect::get(&navigator, &JsValue::from_str("clipboard"))
        .is_ok_and(|c| !c.is_undefined() && !c.is_null());
    if !present {
        return Err("this page has no clipboard access (it needs https or localhost)".into());
    }
    JsFuture::from(navigator.clipboard().write_text(text))
        .await
        .map(|_| ())
        .map_err(|e| super::js_error(&e))
}
