//! Time in the page: waiting without blocking, and the browser's local time
//! of a server timestamp (formatting itself is pure, in `crate::live`).

use wasm_bindgen_futures::JsFuture;

use crate::live;

/// Resolve after `ms` milliseconds (a `setTimeout` promise).
pub async fn sleep_ms(ms: i32) {
    let p = js_sys::Promise::new(&mut |resolve, _reject| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = JsFuture::from(p).await;
}

fn local(rfc3339: &str) -> Option<js_sys::Date> {
    let ms = live::utc_millis(rfc3339)?;
    Some(js_sys::Date::new(&ms.into()))
}

/// "09:05:03" in the browser's time zone, or the text as it came.
pub fn local_clock(rfc3339: &str) -> String {
    match local(rfc3339) {
        Some(d) => live::clock_text(d.get_hours(), d.get_minutes(), d.get_seconds()),
        None => rfc3339.to_string(),
    }
}

/// "2026-12-01 09:05:03" in the browser's time zone, or the text as it came.
pub fn local_datetime(rfc3339: &str) -> String {
    match local(rfc3339) {
        Some(d) => live::datetime_text(
            d.get_full_year(),
            d.get_month() + 1,
            d.get_date(),
            d.get_hours(),
            d.get_minutes(),
            d.get_seconds(),
        ),
        None => rfc3339.to_string(),
    }
}
