//! Where a file comes in: a picker and a drop target.

use leptos::ev;
use leptos::prelude::*;
use web_sys::{File, HtmlInputElement};

#[component]
pub fn DropZone<F>(on_file: F) -> impl IntoView
where
    F: Fn(File) + Copy + 'static,
{
    let dragging = RwSignal::new(false);
    let on_change = move |ev: ev::Event| {
        let input: HtmlInputElement = event_target(&ev);
        if let Some(file) = input.files().and_then(|f| f.get(0)) {
            on_file(file);
        }
        // Let the same file be picked again.
        input.set_value("");
    };
    let on_drop = move |ev: ev::DragEvent| {
        ev.prevent_default();
        dragging.set(false);
        if let Some(file) = ev
            .data_transfer()
            .and_then(|dt| dt.files())
            .and_then(|f| f.get(0))
        {
            on_file(file);
        }
    };
    view! {
        <section
            class="drop"
            class:dragging=move || dragging.get()
            data-testid="drop-zone"
            on:dragover=move |ev: ev::DragEvent| {
                ev.prevent_default();
                dragging.set(true);
            }
            on:dragleave=move |_| dragging.set(false)
            on:drop=on_drop
        >
            <label for="file-input">
                <strong>"Drop an etcd snapshot here"</strong>
                " or choose a file ("
                <code>"etcdctl snapshot save"</code>
                " output or a member's "
                <code>"db"</code>
                " file)."
            </label>
            <input id="file-input" type="file" data-testid="file-input" on:change=on_change />
        </section>
    }
}
