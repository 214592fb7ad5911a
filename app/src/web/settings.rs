//! The user's settings, kept in `localStorage` (this origin, every tab).
//! Nothing about a file is ever stored: only switches.

const AUTO_AUDIT_KEY: &str = "etcd-lens.auto-audit";

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// Run the secret audit by itself once a file's passes are done (default on).
pub fn auto_audit() -> bool {
    storage()
        .and_then(|s| s.get_item(AUTO_AUDIT_KEY).ok().flatten())
        .is_none_or(|v| v != "off")
}

pub fn set_auto_audit(on: bool) {
    if let Some(s) = storage() {
        let _ = s.set_item(AUTO_AUDIT_KEY, if on { "on" } else { "off" });
    }
}
