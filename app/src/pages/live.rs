//! The Live page: the companion server's view of a cluster. Connect with the
//! API token, pick a cluster, watch its members (refreshed every few
//! seconds, pausable), take a snapshot, and download, delete or open the
//! stored ones. Open hands the fetched file to the inspector exactly as a
//! dropped file: an encrypted one is decrypted here, with the identity the
//! user gives the inspector; the server never sees it.
//!
//! [`LiveState`] holds the page's signals and its actions (all API calls are
//! here); it is made once by the app, so switching tabs keeps what was
//! shown and late replies never meet a disposed signal. The components in
//! `components::live_*` only render it. A 401 from any call forgets the
//! token and asks for it again.

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use web_sys::File;

use crate::components::live_scorecard::{LiveSchedules, LiveScorecard, StaleBanner};
use crate::components::live_snapshots::LiveSnapshots;
use crate::components::live_status::LiveStatusView;
use crate::live::Conn;
pub use crate::live_state::{Fetching, LiveState, REFRESH_MS};
use crate::web::clock;

#[component]
pub fn LivePage<F>(live: LiveState, on_open: F) -> impl IntoView
where
    F: Fn(File) + Copy + Send + Sync + 'static,
{
    // First visit: find the server; a later one: show fresh figures at once.
    match live.conn.get_untracked() {
        Conn::Unknown | Conn::Failed(_) | Conn::NoServer(_) => live.connect(false),
        Conn::Connected => spawn_local(live.refresh(true)),
        Conn::Checking | Conn::NeedToken { .. } => {}
    }
    // Refresh while this view is shown and not paused.
    let timer = set_interval_with_handle(
        move || {
            if !live.paused.get_untracked() {
                spawn_local(live.refresh(false));
            }
        },
        Duration::from_millis(REFRESH_MS),
    )
    .ok();
    on_cleanup(move || {
        if let Some(t) = timer {
            t.clear();
        }
    });
    let conn = Memo::new(move |_| live.conn.get());
    view! {
        <section class="live" data-testid="live">
            {move || match conn.get() {
                Conn::Unknown | Conn::Checking => view! {
                    <p class="hint" data-testid="live-checking">"Looking for the etcd-lens server…"</p>
                }
                .into_any(),
                Conn::NoServer(why) => view! {
                    <p class="error" role="alert" data-testid="live-no-server">{why}</p>
                }
                .into_any(),
                Conn::Failed(why) => view! {
                    <div class="error" role="alert" data-testid="live-error">
                        {format!("The server could not answer: {why}")}
                        " " <button class="link" on:click=move |_| live.connect(false)>"Try again"</button>
                    </div>
                }
                .into_any(),
                Conn::NeedToken { notice } => view! { <TokenForm live notice /> }.into_any(),
                Conn::Connected => view! { <Connected live on_open /> }.into_any(),
            }}
        </section>
    }
}

/// Ask for the API token: a password field, kept for this tab only.
#[component]
fn TokenForm(live: LiveState, notice: Option<String>) -> impl IntoView {
    let typed = RwSignal::new(String::new());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let t = typed.get_untracked();
        // The field empties: the token is not left in the page.
        typed.set(String::new());
        live.give_token(t);
    };
    view! {
        <form class="connect" data-testid="live-connect" on:submit=submit>
            {notice.map(|n| view! { <p class="error" role="alert" data-testid="live-token-notice">{n}</p> })}
            <label>"API token "
                <input type="password" autocomplete="off" spellcheck="false" data-testid="live-token"
                    prop:value=move || typed.get() on:input=move |ev| typed.set(event_target_value(&ev)) />
            </label>
            " "
            <button type="submit" data-testid="live-connect-submit">"Connect"</button>
            <p class="hint">
                "The server prints where it keeps its token when it starts (" <code>"DATA_DIR/token"</code>
                "). The token is kept in this tab only (session storage), sent to this server as a header, never put in a URL."
            </p>
        </form>
    }
}

#[component]
fn Connected<F>(live: LiveState, on_open: F) -> impl IntoView
where
    F: Fn(File) + Copy + Send + Sync + 'static,
{
    let clusters = Memo::new(move |_| live.clusters.get());
    let selected = Memo::new(move |_| live.selected.get());
    let paused = Memo::new(move |_| live.paused.get());
    let summary = Memo::new(move |_| {
        let name = selected.get()?;
        clusters.with(|l| {
            l.as_ref()?
                .clusters
                .iter()
                .find(|c| c.name == name)
                .cloned()
        })
    });
    let picker = move || {
        let list = clusters.get()?;
        if list.clusters.is_empty() {
            return Some(
                view! {
                    <p class="hint" data-testid="live-hint">
                        {list.hint.unwrap_or_else(|| "No cluster is configured on the server.".into())}
                    </p>
                }
                .into_any(),
            );
        }
        let several = list.clusters.len() > 1;
        Some(if several {
            view! {
                <label>"Cluster "
                    <select data-testid="cluster-select" on:change=move |ev| live.select(event_target_value(&ev))>
                        {list.clusters.into_iter().map(|c| {
                            let name = c.name.clone();
                            let is = move || selected.get().as_deref() == Some(name.as_str());
                            let value = c.name.clone();
                            view! { <option value=value selected=is>{c.name}</option> }
                        }).collect_view()}
                    </select>
                </label>
            }
            .into_any()
        } else {
            view! { <p>"Cluster " <strong data-testid="cluster-name">{selected.get().unwrap_or_default()}</strong></p> }.into_any()
        })
    };
    let as_of = move || {
        live.status.with(|s| {
            s.as_ref()
                .map(|s| format!("as of {}", clock::local_clock(&s.checked_at)))
        })
    };
    view! {
        <div class="live-head">
            {picker}
            {move || summary.get().map(|c| view! {
                <p class="hint" data-testid="cluster-endpoints">
                    {c.endpoints.join(", ")}
                    {c.mtls.then_some(" · mutual TLS")}
                    {c.auth.then_some(" · etcd auth")}
                </p>
            })}
            <p class="refresh">
                <span data-testid="live-as-of">{as_of}</span>
                " "
                <button data-testid="live-pause" aria-pressed=move || paused.get().to_string()
                    on:click=move |_| live.paused.update(|p| *p = !*p)>
                    {move || if paused.get() { "Resume" } else { "Pause" }}
                </button>
                {move || paused.get().then(|| view! { <span class="hint" data-testid="live-paused">" Paused: the figures are not refreshed."</span> })}
                " "
                <button class="link" data-testid="live-forget" on:click=move |_| live.forget_token(None)>"Forget the token"</button>
            </p>
            {move || live.token_not_kept.get().map(|e| view! {
                <p class="hint">{format!("The token could not be kept for this tab ({e}): it is asked again after a reload.")}</p>
            })}
            {move || live.status_error.get().map(|e| view! {
                <p class="error" role="alert" data-testid="live-status-error">{format!("The last refresh failed: {e}. The figures shown are older.")}</p>
            })}
        </div>
        <Show when=move || selected.with(Option::is_some)>
            <StaleBanner live />
            <LiveStatusView status=live.status />
            <LiveSnapshots live summary on_open />
            <LiveSchedules live />
            <LiveScorecard live />
        </Show>
    }
}
