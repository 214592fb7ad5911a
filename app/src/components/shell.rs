//! The page's shell: one compact header (the product, the open file, its
//! status chips, Cancel and "Open another file") and a drop target that is
//! the whole window. The chips themselves are worked out in `crate::shell`.

use leptos::ev;
use leptos::prelude::*;
use web_sys::{File, HtmlInputElement};

use crate::shell::{AuditState, Chip, chips, file_line};
use crate::state::Inspection;

#[component]
pub fn ShellHeader<F, C>(
    state: RwSignal<Inspection>,
    audit: Memo<AuditState>,
    on_file: F,
    on_cancel: C,
) -> impl IntoView
where
    F: Fn(File) + Copy + 'static,
    C: Fn() + Copy + Send + Sync + 'static,
{
    let busy = Memo::new(move |_| state.with(|s| s.busy));
    let has_file = Memo::new(move |_| state.with(|s| s.file_name.is_some()));
    let line = Memo::new(move |_| state.with(file_line));
    let shown = Memo::new(move |_| state.with(|s| chips(s, audit.get())));
    let on_change = move |ev: ev::Event| {
        let input: HtmlInputElement = event_target(&ev);
        if let Some(file) = input.files().and_then(|f| f.get(0)) {
            on_file(file);
        }
        // Let the same file be picked again.
        input.set_value("");
    };
    view! {
        <header class="shell" data-testid="shell">
            <div class="brand">
                <a href="#/overview" class="product">"etcd-lens"</a>
                {move || line.get().map(|l| view! { <span class="file-line" data-testid="open-file">{l}</span> })}
            </div>
            <ul class="chips" aria-label="The open file at a glance" data-testid="chips">
                <For each=move || shown.get() key=|c: &Chip| (c.id, c.value.clone(), c.tone as u8) children=chip />
            </ul>
            <div class="actions">
                <Show when=move || busy.get()>
                    <button class="cancel" data-testid="cancel" on:click=move |_| on_cancel()>"Cancel"</button>
                </Show>
                <label class="button" for="file-input">
                    {move || if has_file.get() { "Open another file" } else { "Open a file" }}
                </label>
                <input id="file-input" class="visually-hidden" type="file" data-testid="file-input" on:change=on_change />
            </div>
        </header>
    }
}

fn chip(c: Chip) -> impl IntoView {
    let inner = view! {
        <span class="chip-label">{c.label}</span>
        <span class="chip-value" data-testid=format!("{}-value", c.id)>{c.value.clone()}</span>
    };
    let class = c.tone.class();
    let body = match &c.link {
        Some(r) => view! { <a href=r.href() title=c.detail.clone() aria-label=format!("{}: {}. {}", c.label, c.value, c.detail)>{inner}</a> }.into_any(),
        None => view! { <span title=c.detail.clone()>{inner}</span> }.into_any(),
    };
    view! { <li class=class data-testid=c.id>{body}</li> }
}

/// Drop a file anywhere in the window. While something is dragged over the
/// page an overlay says where it goes.
#[component]
pub fn WindowDrop<F>(on_file: F) -> impl IntoView
where
    F: Fn(File) + Copy + 'static,
{
    let dragging = RwSignal::new(false);
    let carries_files = |ev: &ev::DragEvent| {
        ev.data_transfer()
            .is_some_and(|dt| dt.types().includes(&"Files".into(), 0))
    };
    let over = window_event_listener(ev::dragover, move |ev| {
        if carries_files(&ev) {
            ev.prevent_default();
            dragging.set(true);
        }
    });
    let leave = window_event_listener(ev::dragleave, move |ev| {
        // Leaving the window (not moving between elements inside it).
        if ev.related_target().is_none() {
            dragging.set(false);
        }
    });
    let dropped = window_event_listener(ev::drop, move |ev| {
        dragging.set(false);
        // Text dropped into a box (a pasted configuration) is left to the box.
        if !carries_files(&ev) {
            return;
        }
        ev.prevent_default();
        if let Some(file) = ev
            .data_transfer()
            .and_then(|dt| dt.files())
            .and_then(|f| f.get(0))
        {
            on_file(file);
        }
    });
    on_cleanup(move || {
        over.remove();
        leave.remove();
        dropped.remove();
    });
    view! {
        <div class="drop-overlay" data-testid="drop-overlay" hidden=move || !dragging.get() aria-hidden="true">
            <p>"Drop the file to open it in this tab. It is not uploaded."</p>
        </div>
    }
}
