//! Choosing and dropping files: the header's file input and the window's
//! drop target.

use etcd_lens_app::components::shell::{ShellHeader, WindowDrop};
use etcd_lens_app::state::Inspection;
use js_sys::{Array, Function, Reflect};
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlInputElement};

use crate::{by_id, event, fire, mount, settle};

fn file(name: &str, content: &str) -> web_sys::File {
    let ctor: Function = Reflect::get(&js_sys::global(), &"File".into())
        .unwrap()
        .unchecked_into();
    let parts = Array::of1(&content.into());
    Reflect::construct(&ctor, &Array::of2(&parts, &name.into()))
        .unwrap()
        .unchecked_into()
}

fn transfer(f: &web_sys::File) -> web_sys::DataTransfer {
    let dt = web_sys::DataTransfer::new().unwrap();
    let items = Reflect::get(&dt, &"items".into()).unwrap();
    let add: Function = Reflect::get(&items, &"add".into())
        .unwrap()
        .unchecked_into();
    add.call1(&items, f).unwrap();
    dt
}

#[wasm_bindgen_test]
async fn the_header_passes_on_a_chosen_file_and_lets_it_be_chosen_again() {
    let got = RwSignal::new(Vec::<(String, f64)>::new());
    let state = RwSignal::new(Inspection::default());
    let audit = Memo::new(|_| etcd_lens_app::shell::AuditState::Waiting);
    let m = mount(move || {
        view! { <ShellHeader state audit on_file=move |f: web_sys::File| got.update(|g| g.push((f.name(), f.size()))) on_cancel=|| () /> }
    });
    settle().await;
    let root: &Element = &m.root;

    let input: HtmlInputElement = by_id(root, "file-input").unchecked_into();
    assert_eq!(input.type_(), "file");
    let dt = transfer(&file("snap.db", "12345"));
    input.set_files(dt.files().as_ref());
    assert_eq!(input.files().unwrap().length(), 1);
    fire(&input, "change");
    settle().await;
    assert_eq!(got.get_untracked(), [("snap.db".to_string(), 5.0)]);
    // Cleared, so picking the same file again fires `change` again.
    assert_eq!(input.files().map_or(0, |f| f.length()), 0);

    // A change with no file passes nothing on.
    fire(&input, "change");
    settle().await;
    assert_eq!(got.get_untracked().len(), 1);
}

#[wasm_bindgen_test]
async fn a_file_dropped_anywhere_in_the_window_is_taken() {
    let got = RwSignal::new(Vec::<String>::new());
    let m = mount(move || {
        view! { <WindowDrop on_file=move |f: web_sys::File| got.update(|g| g.push(f.name())) /> }
    });
    settle().await;
    let root: &Element = &m.root;
    let overlay = by_id(root, "drop-overlay");
    // Dropped on the page's body, not on a special zone.
    let body = web_sys::window()
        .unwrap()
        .document()
        .unwrap()
        .body()
        .unwrap();
    let dt = transfer(&file("member.db", "x"));
    let drag = |kind: &str| {
        body.dispatch_event(&event("DragEvent", kind, &[("dataTransfer", &dt)]))
            .unwrap()
    };

    assert!(overlay.has_attribute("hidden"));
    // dragover must be cancelled, or the browser refuses the drop.
    assert!(!drag("dragover"), "dragover not prevented");
    settle().await;
    assert!(
        !overlay.has_attribute("hidden"),
        "the overlay shows while dragging"
    );
    // Leaving the window (no related target) hides it.
    drag("dragleave");
    settle().await;
    assert!(overlay.has_attribute("hidden"));

    drag("dragover");
    settle().await;
    // Cancelled, so the browser does not navigate to the file.
    assert!(!drag("drop"), "drop not prevented");
    settle().await;
    assert!(overlay.has_attribute("hidden"));
    assert_eq!(got.get_untracked(), ["member.db"]);

    // Dropped text (into a box) is left to the browser: not cancelled, no file.
    let text = web_sys::DataTransfer::new().unwrap();
    text.set_data("text/plain", "kind: EncryptionConfiguration")
        .unwrap();
    let not_cancelled = body
        .dispatch_event(&event("DragEvent", "drop", &[("dataTransfer", &text)]))
        .unwrap();
    assert!(not_cancelled, "a text drop was cancelled");
    assert_eq!(got.get_untracked(), ["member.db"]);
}
