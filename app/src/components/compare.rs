//! Compare the open snapshot with another: choose the second file (plain,
//! age-encrypted or compressed, read in this tab like the first), then a
//! summary per resource and namespace, the changed keys, and for a selected
//! key a line diff of the two decoded objects (Secret values masked until
//! revealed). A removed or changed object can be downloaded for
//! `kubectl apply` from either side.

use std::collections::BTreeSet;

use etcd_lens_core::diff::Change;
use leptos::prelude::*;
use web_sys::File;

use crate::components::apply_download::ApplyDownload;
use crate::components::key_detail::ValueDiff;
use crate::components::unlock::Unlock;
use crate::protocol::{ApplyTarget, ChangeRow, CompareView, ToWorker, UnlockSecret};
use crate::state::{COMPARE_SEQ_BASE, Inspection, count};

/// Rows of the changed-key list shown at once (a filter narrows it).
const SHOWN_ROWS: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Filter {
    All,
    Only(Change),
}

#[component]
pub fn CompareView(
    state: RwSignal<Inspection>,
    /// A file was chosen to compare with.
    on_file: Callback<File>,
    send: Callback<ToWorker>,
) -> impl IntoView {
    // Each part follows only its own fields: picking a key must not make the result anew.
    let open = Memo::new(move |_| state.with(|s| s.compare.is_some()));
    let name = Memo::new(move |_| state.with(|s| s.compare.as_ref().map(|c| c.name.clone())));
    let prompt = Memo::new(move |_| {
        state.with(|s| s.compare.as_ref().and_then(|c| c.secret_prompt.clone()))
    });
    let unlock_error =
        Memo::new(move |_| state.with(|s| s.compare.as_ref().and_then(|c| c.unlock_error.clone())));
    let step = Memo::new(move |_| state.with(|s| s.compare.as_ref().and_then(|c| c.step.clone())));
    let error =
        Memo::new(move |_| state.with(|s| s.compare.as_ref().and_then(|c| c.error.clone())));
    let result =
        Memo::new(move |_| state.with(|s| s.compare.as_ref().and_then(|c| c.view.clone())));
    let indexed = Memo::new(move |_| state.with(|s| s.index.is_some()));
    let choose = move |ev: leptos::ev::Event| {
        let input = event_target::<web_sys::HtmlInputElement>(&ev);
        if let Some(file) = input.files().and_then(|f| f.get(0)) {
            on_file.run(file);
        }
        input.set_value("");
    };
    let on_secret = move |secret: UnlockSecret| send.run(ToWorker::UnlockCompare { secret });
    view! {
        <section class="compare" data-testid="compare">
            <h2>"Compare with another snapshot"</h2>
            <p class="hint">"What changed between this snapshot and another one: keys added, removed and modified, per resource and namespace. The other file is read in this tab too; nothing is uploaded."</p>
            <p>
                <label>"Snapshot to compare with "
                    <input type="file" data-testid="compare-file-input" disabled=move || !indexed.get() on:change=choose />
                </label>
                {move || (!indexed.get()).then(|| view! { <span class="hint">" (once this file's key index is built)"</span> })}
                {move || open.get().then(|| view! {
                    <button data-testid="compare-close" on:click=move |_| {
                        send.run(ToWorker::CloseCompare);
                        state.update(|s| s.compare = None);
                    }>"Close the comparison"</button>
                })}
            </p>
            <Unlock prompt error=unlock_error on_secret=on_secret />
            {move || step.get().map(|step| view! {
                <p class="hint" role="status" data-testid="compare-step">{format!("{}: {step}", name.get().unwrap_or_default())}</p>
            })}
            {move || error.get().map(|e| view! {
                <p class="error" role="alert" data-testid="compare-error">{format!("{}: {e}", name.get().unwrap_or_default())}</p>
            })}
            {move || result.get().map(|v| view! { <Result state view=v send /> })}
        </section>
    }
}

#[component]
fn Result(
    state: RwSignal<Inspection>,
    view: CompareView,
    send: Callback<ToWorker>,
) -> impl IntoView {
    let filter = RwSignal::new(Filter::All);
    let text = RwSignal::new(String::new());
    let selected = RwSignal::new(None::<ChangeRow>);
    let (this, other) = (
        state.with_untracked(|s| s.file_name.clone().unwrap_or_default()),
        view.other_name.clone(),
    );
    let (old_name, new_name) = if view.open_is_old {
        (this, other)
    } else {
        (other, this)
    };
    let headline = format!(
        "{old_name} (revision {}) → {new_name} (revision {}): {} added, {} removed, {} modified; {} unchanged",
        view.old_revision,
        view.new_revision,
        view.added,
        view.removed,
        view.modified,
        view.unchanged
    );
    let how = if view.same_cluster {
        format!(
            "One cluster's history (they share a member): {} keys were equal by their revisions alone.",
            view.unchanged_by_revision
        )
    } else {
        "Different clusters (no member in common): every value was compared.".to_string()
    };
    let noise = (view.noise_only > 0).then(|| {
        format!(
            "{} changed only in fields that change on every write (Lease renewals, node heartbeats, managedFields times): not listed.",
            count(view.noise_only, "object", "objects")
        )
    });
    let widest = view
        .groups
        .iter()
        .map(|g| g.added + g.removed + g.modified)
        .max()
        .unwrap_or(1)
        .max(1);
    let groups = view
        .groups
        .iter()
        .map(|g| {
            let pct = |n: u64| format!("width: {:.1}%", n as f64 * 100.0 / widest as f64);
            let resource = g
                .resource
                .clone()
                .unwrap_or_else(|| "(not Kubernetes)".into());
            let namespace = g.namespace.clone().unwrap_or_else(|| "—".into());
            view! {
                <tr data-testid="compare-group">
                    <td>{resource}</td>
                    <td>{namespace}</td>
                    <td class="num">{g.added}</td>
                    <td class="num">{g.removed}</td>
                    <td class="num">{g.modified}</td>
                    <td class="bars" aria-hidden="true">
                        <span class="bar ins" style=pct(g.added)></span>
                        <span class="bar del" style=pct(g.removed)></span>
                        <span class="bar mod" style=pct(g.modified)></span>
                    </td>
                </tr>
            }
        })
        .collect_view();
    let rows = StoredValue::new(view.rows.clone());
    let total = (view.added + view.removed + view.modified) as usize;
    let capped = total > view.rows.len();
    let shown = move || {
        let f = filter.get();
        let t = text.get();
        rows.with_value(|rows| {
            rows.iter()
                .filter(|r| match f {
                    Filter::All => true,
                    Filter::Only(c) => r.change == c,
                })
                .filter(|r| t.is_empty() || r.key.contains(t.as_str()))
                .take(SHOWN_ROWS)
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    let pick = move |row: ChangeRow| {
        let seq = state
            .with_untracked(|s| s.compare.as_ref().map_or(COMPARE_SEQ_BASE, |c| c.key_seq))
            + 1;
        state.update(|s| {
            if let Some(c) = &mut s.compare {
                c.key_seq = seq;
                c.key = None;
                c.key_error = None;
            }
        });
        send.run(ToWorker::CompareKey {
            seq,
            key_hex: row.key_hex.clone(),
        });
        selected.set(Some(row));
    };
    let filter_button = move |f: Filter, label: String, id: &'static str| {
        view! {
            <button data-testid=id aria-pressed=move || (filter.get() == f).to_string() on:click=move |_| filter.set(f)>{label}</button>
        }
    };
    let open_is_old = view.open_is_old;
    view! {
        <p data-testid="compare-summary">{headline}</p>
        <p class="hint" data-testid="compare-how">{how}</p>
        {noise.map(|n| view! { <p class="hint" data-testid="compare-noise">{n}</p> })}
        <table class="grid" data-testid="compare-groups">
            <caption>"Changes per resource and namespace"</caption>
            <thead><tr><th scope="col">"resource"</th><th scope="col">"namespace"</th><th scope="col">"added"</th><th scope="col">"removed"</th><th scope="col">"modified"</th><th scope="col">"share"</th></tr></thead>
            <tbody>{groups}</tbody>
        </table>
        <div class="toggles" role="group" aria-label="Show">
            {filter_button(Filter::All, format!("All ({total})"), "compare-filter-all")}
            {filter_button(Filter::Only(Change::Added), format!("Added ({})", view.added), "compare-filter-added")}
            {filter_button(Filter::Only(Change::Removed), format!("Removed ({})", view.removed), "compare-filter-removed")}
            {filter_button(Filter::Only(Change::Modified), format!("Modified ({})", view.modified), "compare-filter-modified")}
            <label>" Key contains "
                <input type="search" data-testid="compare-search" prop:value=move || text.get() on:input=move |ev| text.set(event_target_value(&ev)) />
            </label>
        </div>
        {capped.then(|| view! { <p class="hint">{format!("The first {} changed keys are listed; the CLI (`etcd-lens diff`) lists them all.", rows.with_value(Vec::len))}</p> })}
        <ul class="changes" data-testid="compare-changes">
            {move || shown().into_iter().map(|r| {
                let row = r.clone();
                let sign = match r.change { Change::Added => "+", Change::Removed => "−", Change::Modified => "~" };
                view! {
                    <li data-testid="compare-change" data-change=r.change.as_str()>
                        <button class="linkish" on:click=move |_| pick(row.clone())>
                            <span class="sign" aria-label=r.change.as_str()>{sign}</span>" "{r.key.clone()}
                        </button>
                        <span class="hint">{format!(" {}", r.what)}</span>
                    </li>
                }
            }).collect_view()}
        </ul>
        {move || selected.get().map(|row| view! { <ChangedKey state row open_is_old send /> })}
    }
}

/// One changed key: its two sides as a line diff, and its objects for kubectl apply.
#[component]
fn ChangedKey(
    state: RwSignal<Inspection>,
    row: ChangeRow,
    open_is_old: bool,
    send: Callback<ToWorker>,
) -> impl IntoView {
    let revealed = RwSignal::new(BTreeSet::<String>::new());
    let key = Memo::new(move |_| state.with(|s| s.compare.as_ref().and_then(|c| c.key.clone())));
    let error =
        Memo::new(move |_| state.with(|s| s.compare.as_ref().and_then(|c| c.key_error.clone())));
    let is_secret = Signal::derive(move || key.get().is_some_and(|k| k.is_secret));
    // The old side's object (what was there before) comes from whichever file is older.
    let old_target = (row.change != Change::Added).then(|| ApplyTarget::Key {
        key_hex: row.key_hex.clone(),
        rev: None,
    });
    let new_target = (row.change != Change::Removed).then(|| ApplyTarget::Key {
        key_hex: row.key_hex.clone(),
        rev: None,
    });
    view! {
        <section class="changed-key" data-testid="compare-key">
            <h3>{format!("{} ({})", row.key, row.change.as_str())}</h3>
            <p class="hint">{row.what.clone()}</p>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            {move || key.get().filter(|k| k.key_hex == row.key_hex).map(|k| view! {
                <ValueDiff a=k.old b=k.new is_secret=k.is_secret revealed />
            })}
            <ApplyDownload state target=Signal::derive(move || old_target.clone()) may_hold_secrets=is_secret
                from_compared=!open_is_old send
                label="Download the older version for kubectl apply" />
            <ApplyDownload state target=Signal::derive(move || new_target.clone()) may_hold_secrets=is_secret
                from_compared=open_is_old send
                label="Download the newer version for kubectl apply" />
        </section>
    }
}
