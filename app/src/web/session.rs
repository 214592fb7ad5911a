//! The API token, kept in `sessionStorage`: it lasts as long as the tab and
//! is not shared with other tabs, sent with no cookie, and never put in a URL.

const TOKEN_KEY: &str = "etcd-lens.api-token";

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok().flatten()
}

/// The token given earlier in this tab, if any.
pub fn token() -> Option<String> {
    storage()?
        .get_item(TOKEN_KEY)
        .ok()
        .flatten()
        .filter(|t| !t.is_empty())
}

/// Keep `token` for this tab's session. `Err` when the browser has no
/// session storage (then the token lasts until the page is reloaded).
pub fn set_token(token: &str) -> Result<(), String> {
    storage()
        .ok_or_else(|| "this browser keeps no session storage".to_string())?
        .set_item(TOKEN_KEY, token)
        .map_err(|e| super::js_error(&e))
}

/// Forget the token (it was refused).
pub fn clear_token() {
    if let Some(s) = storage() {
        let _ = s.remove_item(TOKEN_KEY);
    }
}
