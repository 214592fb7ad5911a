//! Component tests: each view is mounted into a fresh element of a real page in
//! headless Chromium, driven with real DOM events, and checked through what it
//! renders (`data-testid` hooks, text, attributes).
//!
//! Run alone with:
//! `CHROMEDRIVER=/usr/bin/chromedriver cargo test -p etcd-lens-app --target wasm32-unknown-unknown --test components`
//! (the runner is set in `.cargo/config.toml`, Chromium's options in `app/webdriver.json`).
//!
//! One test binary: this file holds the mounting and DOM helpers every test
//! uses; each module holds one view's tests.

#![cfg(target_arch = "wasm32")]

use etcd_lens_app::state::Inspection;
use js_sys::{Array, Function, Object, Reflect};
use leptos::mount::mount_to;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlElement};

wasm_bindgen_test_configure!(run_in_browser);

mod audit;
mod big_lists;
mod drop_zone;
mod file_report;
mod key_detail;
mod live;
mod passes_space;
mod restore_runbook;
mod unlock;

/// A view mounted into its own `<div>` under `<body>`; unmounted and removed on drop.
struct Mounted<H> {
    root: HtmlElement,
    handle: Option<H>,
}

impl<H> Drop for Mounted<H> {
    fn drop(&mut self) {
        drop(self.handle.take());
        self.root.remove();
    }
}

fn mount<F, N>(f: F) -> Mounted<impl Sized>
where
    F: FnOnce() -> N + 'static,
    N: IntoView + 'static,
{
    let doc = document();
    let root: HtmlElement = doc.create_element("div").unwrap().unchecked_into();
    doc.body().unwrap().append_child(&root).unwrap();
    let handle = mount_to(root.clone(), f);
    Mounted {
        root,
        handle: Some(handle),
    }
}

/// Let the reactive system run its effects and re-render.
async fn settle() {
    for _ in 0..4 {
        leptos::task::tick().await;
    }
}

/// Wait for the page's timers (a focus retried after a fetch, say).
async fn sleep_ms(ms: i32) {
    let p = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(p).await.unwrap();
}

fn by_id_opt(root: &Element, id: &str) -> Option<Element> {
    root.query_selector(&format!("[data-testid=\"{id}\"]"))
        .unwrap()
}

fn by_id(root: &Element, id: &str) -> Element {
    by_id_opt(root, id).unwrap_or_else(|| panic!("no [data-testid={id}] in: {}", root.inner_html()))
}

fn text(root: &Element, id: &str) -> String {
    by_id(root, id).text_content().unwrap_or_default()
}

fn attr(el: &Element, name: &str) -> String {
    el.get_attribute(name).unwrap_or_default()
}

fn click(el: &Element) {
    el.unchecked_ref::<HtmlElement>().click();
}

/// `new <ctor>(kind, init)` with `bubbles` and `cancelable` set, plus `extra` fields.
fn event(ctor: &str, kind: &str, extra: &[(&str, &JsValue)]) -> web_sys::Event {
    let init = Object::new();
    Reflect::set(&init, &"bubbles".into(), &true.into()).unwrap();
    Reflect::set(&init, &"cancelable".into(), &true.into()).unwrap();
    for (k, v) in extra {
        Reflect::set(&init, &(*k).into(), v).unwrap();
    }
    let ctor: Function = Reflect::get(&js_sys::global(), &ctor.into())
        .unwrap()
        .unchecked_into();
    Reflect::construct(&ctor, &Array::of2(&kind.into(), &init))
        .unwrap()
        .unchecked_into()
}

/// Dispatch a bubbling event; returns `false` if a handler called `preventDefault`.
fn fire(el: &Element, kind: &str) -> bool {
    el.dispatch_event(&event("Event", kind, &[])).unwrap()
}

/// Type into an `<input>`/`<textarea>`: set its value and fire `input`.
fn type_into(el: &Element, value: &str) {
    Reflect::set(el, &"value".into(), &value.into()).unwrap();
    fire(el, "input");
}

/// Pick an `<option>` of a `<select>` and fire `change`.
fn select(el: &Element, value: &str) {
    Reflect::set(el, &"value".into(), &value.into()).unwrap();
    fire(el, "change");
}

/// The `data-testid="finding"` rows, in order, as `(data-rule, data-key)`.
fn finding_rows(root: &Element) -> Vec<(String, String)> {
    let body = by_id(root, "findings")
        .query_selector("tbody")
        .unwrap()
        .unwrap();
    let rows = body.children();
    (0..rows.length())
        .filter_map(|i| rows.item(i))
        .map(|r| (attr(&r, "data-rule"), attr(&r, "data-key")))
        .collect()
}

fn keys(rows: &[(String, String)]) -> Vec<&str> {
    rows.iter().map(|(_, k)| k.as_str()).collect()
}

fn opened() -> Inspection {
    Inspection::default().opening("snap.db".into(), 3 * 1024 * 1024)
}
