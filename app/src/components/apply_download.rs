//! "Download for kubectl apply": asks the worker for an object (or a tree
//! node's objects) made ready by the core, and saves the file(s) it sends
//! back. A Secret's data goes into the file only after the user ticks the box
//! that says so; without it the worker leaves the data out (or refuses).

use leptos::prelude::*;

use crate::components::audit::data_url;
use crate::protocol::{ApplyTarget, ToWorker};
use crate::state::{APPLY_SEQ_BASE, Inspection};

#[component]
pub fn ApplyDownload(
    state: RwSignal<Inspection>,
    /// What to make; `None` hides the button.
    #[prop(into)]
    target: Signal<Option<ApplyTarget>>,
    /// Secrets may be among the objects: offer the box to include their data.
    #[prop(into)]
    may_hold_secrets: Signal<bool>,
    /// From the snapshot compared with, not the open one.
    #[prop(optional)]
    from_compared: bool,
    send: Callback<ToWorker>,
    /// A label that says what is downloaded.
    #[prop(into)]
    label: String,
) -> impl IntoView {
    let include_secret_data = RwSignal::new(false);
    let asked = RwSignal::new(0u32);
    let mine = move || state.with(|s| asked.get() != 0 && s.apply_seq == asked.get());
    let ask = move |_| {
        let Some(target) = target.get_untracked() else {
            return;
        };
        let seq = state.with_untracked(|s| s.apply_seq.max(APPLY_SEQ_BASE)) + 1;
        state.update(|s| s.asked_for_apply(seq));
        asked.set(seq);
        send.run(ToWorker::ForApply {
            seq,
            target,
            include_secret_data: include_secret_data.get_untracked()
                && may_hold_secrets.get_untracked(),
            from_compared,
        });
    };
    let first_link = NodeRef::<leptos::html::A>::new();
    // A fresh file is saved as soon as it arrives (the links stay, to save it again).
    Effect::new(move |_| {
        let ready = mine() && state.with(|s| s.apply_file.is_some());
        if ready && let Some(a) = first_link.get() {
            a.click();
        }
    });
    let result = move || {
        if !mine() {
            return None;
        }
        state.with(|s| {
            if s.applying {
                return Some(view! { <p class="hint" data-testid="apply-running">"making the YAML…"</p> }.into_any());
            }
            if let Some(e) = &s.apply_error {
                return Some(view! { <p class="error" role="alert" data-testid="apply-error">{e.clone()}</p> }.into_any());
            }
            let f = s.apply_file.as_ref()?;
            let links = f
                .files
                .iter()
                .enumerate()
                .map(|(i, y)| {
                    let href = data_url("application/yaml", &y.yaml);
                    let text = format!("Save {} again", y.file_name);
                    let name = y.file_name.clone();
                    if i == 0 {
                        view! { <a class="export" node_ref=first_link href=href download=name data-testid="apply-file">{text}</a> }.into_any()
                    } else {
                        view! { <a class="export" href=href download=name data-testid="apply-file">{text}</a> }.into_any()
                    }
                })
                .collect_view();
            let secret_warning = f.has_secret_data.then(|| view! {
                <p class="warning" data-testid="apply-has-secret-data">"This file holds Secret data in plaintext: keep it as you keep the cluster's keys."</p>
            });
            Some(view! {
                <div class="apply-result" data-testid="apply-result">
                    <p>{format!("{} ready for kubectl apply. ", crate::state::count(f.objects as u64, "object", "objects"))}{links}</p>
                    {secret_warning}
                    <p>"Run, in order:"</p>
                    <pre data-testid="apply-commands">{f.commands.join("\n")}</pre>
                    {(!f.notes.is_empty()).then(|| view! {
                        <details data-testid="apply-notes"><summary>{format!("{} notes on changed fields", f.notes.len())}</summary>
                            <ul>{f.notes.iter().map(|n| view! { <li>{n.clone()}</li> }).collect_view()}</ul>
                        </details>
                    })}
                    {(!f.skipped.is_empty()).then(|| view! {
                        <details data-testid="apply-skipped"><summary>{format!("{} left out", f.skipped.len())}</summary>
                            <ul>{f.skipped.iter().map(|n| view! { <li>{n.clone()}</li> }).collect_view()}</ul>
                        </details>
                    })}
                </div>
            }.into_any())
        })
    };
    move || {
        target.get().map(|_| {
            let label = label.clone();
            view! {
                <div class="apply" data-testid="apply">
                    <button data-testid="apply-button" on:click=ask>{label}</button>
                    {move || may_hold_secrets.get().then(|| view! {
                        <label class="setting">
                            <input type="checkbox" data-testid="apply-include-secret" prop:checked=move || include_secret_data.get()
                                on:change=move |ev| include_secret_data.set(event_target_checked(&ev)) />
                            " Include Secret data (written in plaintext into the file)"
                        </label>
                    })}
                    {result}
                </div>
            }
        })
    }
}
