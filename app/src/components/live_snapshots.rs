//! Snapshots of the selected cluster: "Take snapshot" with its progress,
//! and the catalog (id, time, revision, size, encryption — UNENCRYPTED in
//! red) with Download, Open (into the inspector) and Delete (a second click
//! confirms).

use leptos::prelude::*;
use web_sys::File;

use crate::live::{
    ClusterSummary, RestoreMark, Snapshot, SnapshotState, fetch_progress_text, progress_text,
};
use crate::live_state::LiveState;
use crate::state::human_bytes;
use crate::web::clock;
use crate::web::fetched::Purpose;

#[component]
pub fn LiveSnapshots<F>(
    live: LiveState,
    summary: Memo<Option<ClusterSummary>>,
    on_open: F,
) -> impl IntoView
where
    F: Fn(File) + Copy + Send + Sync + 'static,
{
    let running = Memo::new(move |_| {
        live.job.with(|j| {
            j.as_ref()
                .is_some_and(|j| j.status == SnapshotState::Running)
        })
    });
    let rows = Memo::new(move |_| {
        let cluster = live.selected.get();
        live.catalog.with(|c| {
            c.iter()
                .filter(|s| Some(&s.cluster) == cluster.as_ref())
                .cloned()
                .collect::<Vec<_>>()
        })
    });
    view! {
        <section class="snapshots" data-testid="live-snapshots">
            <h2>"Snapshots"</h2>
            {move || summary.get().filter(|c| !c.encrypted_snapshots).map(|_| view! {
                <p class="bad" data-testid="unencrypted-warning">
                    "No age recipients are configured for this cluster: its snapshots are stored UNENCRYPTED on the server."
                </p>
            })}
            <button data-testid="take-snapshot" disabled=move || running.get() on:click=move |_| live.take_snapshot()>
                "Take snapshot"
            </button>
            {move || live.job.get().map(|j| view! {
                <p data-testid="snapshot-progress" data-status=j.status.as_str()
                    class:bad={j.status == SnapshotState::Failed} class:ok={j.status == SnapshotState::Done}>
                    {progress_text(&j)}
                </p>
            })}
            {move || live.job_error.get().map(|e| view! { <p class="error" role="alert" data-testid="snapshot-error">{e}</p> })}
            {move || live.catalog_error.get().map(|e| view! { <p class="error" role="alert" data-testid="catalog-error">{format!("The catalog could not be read: {e}")}</p> })}
            {move || rows.with(Vec::is_empty).then(|| view! {
                <p class="hint" data-testid="catalog-empty">"No snapshots of this cluster yet."</p>
            })}
            <Show when=move || !rows.with(Vec::is_empty)>
                <table class="grid catalog" data-testid="catalog">
                    <thead>
                        <tr>
                            <th>"Snapshot"</th><th>"Taken"</th><th>"State"</th><th>"Revision"</th>
                            <th>"Size"</th><th>"Stored"</th><th>"Restore"</th><th>"Actions"</th>
                        </tr>
                    </thead>
                    <tbody>
                        // Keyed by the whole record: a refresh that changes
                        // nothing redraws nothing (a button stays the one clicked).
                        <For each=move || rows.get() key=Clone::clone let(s)>
                            {row(live, s, summary, on_open)}
                        </For>
                    </tbody>
                </table>
            </Show>
            {move || summary.get().filter(|c| c.drills).map(|_| view! {
                <p class="hint" data-testid="drill-plaintext-note">
                    "A drill decrypts the snapshot on the server with the drill identity and restores it into a private folder (tmpfs when it fits), deleted afterwards: the one place plaintext touches the server's disk."
                </p>
            })}
            <Holding live />
            <p class="hint">
                "Open fetches the stored file into this tab's private storage and opens it here; an encrypted one is decrypted in this tab with the identity you give: the server never sees it."
            </p>
        </section>
    }
}

fn row<F>(
    live: LiveState,
    s: Snapshot,
    summary: Memo<Option<ClusterSummary>>,
    on_open: F,
) -> impl IntoView
where
    F: Fn(File) + Copy + Send + Sync + 'static,
{
    let id = s.id.clone();
    let state = match s.status {
        SnapshotState::Failed => format!(
            "failed: {}",
            s.error.clone().unwrap_or_else(|| "no reason given".into())
        ),
        SnapshotState::Running => format!("running, {} received", human_bytes(s.bytes_received)),
        other => other.as_str().to_string(),
    };
    let size = s.db_size_bytes.map_or_else(|| "—".into(), human_bytes);
    let stored = if s.encrypted {
        view! { <span class="ok" data-testid="snapshot-encrypted">"encrypted (age)"</span> }
            .into_any()
    } else {
        view! { <strong class="bad" data-testid="snapshot-unencrypted">"UNENCRYPTED"</strong> }
            .into_any()
    };
    let done = s.status == SnapshotState::Done;
    let mark = RestoreMark::of(&s);
    let restore = {
        let (class, state) = (mark.class(), mark.state());
        let text = match &mark {
            RestoreMark::Verified { at } => {
                format!("restore verified {}", clock::local_datetime(at))
            }
            RestoreMark::Failed { at, why } => {
                format!("DRILL FAILED {}: {why}", clock::local_datetime(at))
            }
            RestoreMark::CannotDrill { why } => why.clone(),
            RestoreMark::Unverified if done => "never restored".to_string(),
            RestoreMark::Unverified => "—".to_string(),
        };
        view! { <span class=class data-testid="snapshot-restore" data-state=state>{text}</span> }
    };
    let drills = Memo::new(move |_| summary.with(|c| c.as_ref().is_some_and(|c| c.drills)));
    let snap = StoredValue::new(s.clone());
    let (id1, id2, id3, id4, id5) = (id.clone(), id.clone(), id.clone(), id.clone(), id.clone());
    let row_id = id.clone();
    let fetching_here = Memo::new(move |_| live.fetching.get().filter(|f| f.id == id1));
    let confirming = Memo::new(move |_| live.confirm_delete.get().as_deref() == Some(id2.as_str()));
    let error = move || {
        live.row_error
            .get()
            .filter(|(i, _)| *i == id3)
            .map(|(_, e)| view! { <p class="error" role="alert" data-testid="snapshot-row-error">{e}</p> })
    };
    let note = move || {
        live.row_note
            .get()
            .filter(|(i, _)| *i == id4)
            .map(|(_, n)| view! { <p class="hint" data-testid="snapshot-row-note">{n}</p> })
    };
    let busy = Memo::new(move |_| live.fetching.with(Option::is_some));
    let actions = move || {
        if !done {
            return ().into_any();
        }
        if live.drilling.get().as_deref() == Some(id5.as_str()) {
            return view! {
                <span data-testid="drill-progress">"Restoring into a throwaway etcd and comparing…"</span>
            }
            .into_any();
        }
        if let Some(f) = fetching_here.get() {
            let what = match f.purpose {
                Purpose::Open => "Fetching to open",
                Purpose::Download => "Downloading",
            };
            return view! {
                <span data-testid="fetch-progress">{format!("{what}: {}…", fetch_progress_text(f.done_bytes, f.total_bytes))}</span>
            }
            .into_any();
        }
        if confirming.get() {
            let id = snap.with_value(|s| s.id.clone());
            return view! {
                <span class="bad">"Delete the file and its entry? "</span>
                <button data-testid="snapshot-delete-confirm" on:click=move |_| live.delete(id.clone())>"Delete"</button>
                " "
                <button data-testid="snapshot-delete-cancel" on:click=move |_| live.confirm_delete.set(None)>"Keep"</button>
            }
            .into_any();
        }
        view! {
            <button data-testid="snapshot-open" disabled=move || busy.get()
                on:click=move |_| live.open(snap.get_value(), on_open)>"Open"</button>
            " "
            <button data-testid="snapshot-download" disabled=move || busy.get()
                on:click=move |_| live.download(snap.get_value())>"Download"</button>
            " "
            {move || drills.get().then(|| view! {
                " "
                <button data-testid="snapshot-drill" disabled=move || live.drilling.with(Option::is_some)
                    title="Restore it into a throwaway etcd on the server and compare what it serves with the facts recorded at save"
                    on:click=move |_| live.drill(snap.with_value(|s| s.id.clone()))>"Drill"</button>
            })}
            " "
            <button data-testid="snapshot-delete"
                on:click=move |_| live.confirm_delete.set(Some(snap.with_value(|s| s.id.clone())))>"Delete…"</button>
        }
        .into_any()
    };
    view! {
        <tr data-testid="catalog-row" data-id=row_id data-status=s.status.as_str()
            data-revision=s.revision.map(|r| r.to_string()).unwrap_or_default()>
            <td><code>{id}</code>{s.pinned.then_some(" (pinned)")}</td>
            <td>{clock::local_datetime(&s.started_at)}</td>
            <td class:bad={s.status == SnapshotState::Failed} data-testid="snapshot-state">{state}</td>
            <td data-testid="snapshot-revision">{s.revision.map_or_else(|| "—".into(), |r| r.to_string())}</td>
            <td>{size}</td>
            <td>{stored}</td>
            <td>{restore}</td>
            <td>{actions}{error}{note}</td>
        </tr>
    }
}

/// "Which snapshot still holds this key?": asked of the server, which reads
/// its stored snapshots with the cluster's drill identity and answers only
/// ids and revisions.
#[component]
fn Holding(live: LiveState) -> impl IntoView {
    let key = RwSignal::new(String::new());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let k = key.get_untracked();
        if !k.is_empty() {
            live.find_holding(k);
        }
    };
    view! {
        <form class="holding" data-testid="holding" on:submit=submit>
            <label>"Which snapshot still holds the key "
                <input type="search" data-testid="holding-key" placeholder="/registry/configmaps/default/app"
                    prop:value=move || key.get() on:input=move |ev| key.set(event_target_value(&ev)) />
            </label>
            " "<button type="submit" data-testid="holding-find" disabled=move || live.holding_busy.get()>"Find"</button>
            {move || live.holding_busy.get().then(|| view! { <span class="hint">" reading the stored snapshots…"</span> })}
            {move || live.holding.get().map(|r| match r {
                Err(e) => view! { <p class="error" role="alert" data-testid="holding-error">{e}</p> }.into_any(),
                Ok(h) => view! {
                    <p data-testid="holding-found">{match &h.holding {
                        Some(id) => format!("The newest snapshot holding it is {id}: open it and download the object for kubectl apply."),
                        None => "No stored snapshot of this cluster holds it.".to_string(),
                    }}</p>
                    <ul data-testid="holding-looked">
                        {h.looked.iter().map(|l| view! { <li>{format!("{} (revision {}): {}", l.id, l.revision, l.describe())}</li> }).collect_view()}
                    </ul>
                }.into_any(),
            })}
        </form>
    }
}
