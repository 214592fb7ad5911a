//! The first screen before a file is open: what the tool does for each of
//! its users, what files it takes, and a way in (drop anywhere, or choose).

use leptos::prelude::*;

use crate::route::Route;

#[component]
pub fn Welcome(route: RwSignal<Route>) -> impl IntoView {
    // A reloaded `#/browse/<key>` link: opening the file again returns to it.
    let deep_link = move || {
        matches!(route.get(), Route::Browse { key_hex: Some(_) }).then(|| {
            view! {
                <p class="hint" data-testid="deep-link-hint">
                    "This link names a key. Open the snapshot it came from again and the page returns to that key."
                </p>
            }
        })
    };
    view! {
        <section class="welcome" data-testid="welcome">
            <h1>"Look inside an etcd snapshot, in this tab."</h1>
            <ul class="users">
                <li><strong>"Auditors"</strong>": drop a snapshot and see which Secrets are stored in plaintext, which provider and key protect the others, and where credentials leak elsewhere. Nothing is uploaded."</li>
                <li><strong>"Architects"</strong>": size a cluster (members, quorum, zones, timing, disks) in the "<a href=Route::Planner { query: String::new() }.href() data-testid="welcome-planner">"Planner"</a>", with no file; an open snapshot adds its real numbers."</li>
                <li><strong>"Operators"</strong>": browse keys and decoded Kubernetes objects with no install; the companion server's "<a href=Route::Live.href()>"Live"</a>" tab shows your clusters and their backups."</li>
            </ul>
            <div class="drop" data-testid="drop-zone">
                <label for="file-input" class="button primary">"Choose a file"</label>
                " or drop one anywhere on this page."
                <p class="hint" data-testid="formats">
                    "Takes "<code>"etcdctl snapshot save"</code>" output, a member's "<code>"db"</code>" file, "
                    "age-encrypted files (binary or armored; passphrase, identity or SSH key), and gzip, zstd or zip backups, chained too ("<code>".zst.age"</code>")."
                </p>
            </div>
            {deep_link}
        </section>
    }
}
