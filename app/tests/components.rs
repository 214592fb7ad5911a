//! Component tests: each view is mounted into a fresh element of a real page in
//! headless Chromium, driven with real DOM events, and checked through what it
//! renders (`data-testid` hooks, text, attributes).
//!
//! Run alone with:
//! `CHROMEDRIVER=/usr/bin/chromedriver cargo test -p etcd-lens-app --target wasm32-unknown-unknown --test components`
//! (the runner is set in `.cargo/config.toml`, Chromium's options in `app/webdriver.json`).
#![cfg(target_arch = "wasm32")]

use std::cell::Cell;
use std::rc::Rc;

use etcd_lens_app::components::audit::AuditPanel;
use etcd_lens_app::components::file_report::FileReport;
use etcd_lens_app::components::key_detail::KeyDetailView;
use etcd_lens_app::components::shell::{ShellHeader, WindowDrop};
use etcd_lens_app::components::unlock::Unlock;
use etcd_lens_app::protocol::{
    AuditView, ExportFormat, FromWorker, KeyDetail, Phase, SecretPrompt, UnlockSecret,
};
use etcd_lens_app::secret;
use etcd_lens_app::state::{EXPORT_SEQ_BASE, Inspection};
use etcd_lens_core::audit::Rule;
use etcd_lens_core::trailer::TrailerStatus;
use js_sys::{Array, Function, Object, Reflect};
use leptos::mount::mount_to;
use leptos::prelude::*;
use serde_json::json;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlElement, HtmlInputElement};

wasm_bindgen_test_configure!(run_in_browser);

// ---------------------------------------------------------------- helpers

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

// ---------------------------------------------------------------- key detail: Secret masking

/// `hunter2` / `admin`, base64 in `data`, and again in the last-applied annotation.
fn secret_detail(key_hex: &str) -> KeyDetail {
    let object = json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "db",
            "namespace": "prod",
            "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration":
                    "{\"data\":{\"password\":\"aHVudGVyMg==\"}}"
            }
        },
        "data": {"password": "aHVudGVyMg==", "user": "YWRtaW4="}
    });
    detail("/registry/secrets/prod/db", key_hex, "Secret", &object)
}

/// A `KeyDetail` as the worker sends it (JSON), so added optional fields need no change here.
fn detail(key: &str, key_hex: &str, kind: &str, object: &serde_json::Value) -> KeyDetail {
    let text = object.to_string();
    serde_json::from_value(json!({
        "key": key,
        "key_hex": key_hex,
        "create_revision": 5,
        "mod_revision": 7,
        "version": 2,
        "lease": 0,
        "value_size": text.len(),
        "encoding": "json",
        "api_version": "v1",
        "kind": kind,
        "object": object,
        "text": text,
        "hex": hex::encode(text.as_bytes()),
        "truncated": false,
        "is_secret": key.starts_with("/registry/secrets/"),
        "history": [],
    }))
    .expect("a KeyDetail")
}

fn with_detail(d: KeyDetail) -> RwSignal<Inspection> {
    RwSignal::new(Inspection {
        detail: Some(d),
        ..Inspection::default()
    })
}

#[wasm_bindgen_test]
async fn secret_values_are_masked_until_revealed_one_by_one() {
    let state = with_detail(secret_detail("aa"));
    let m = mount(move || view! { <KeyDetailView state /> });
    settle().await;
    let root: &Element = &m.root;

    assert_eq!(text(root, "detail-kind"), "v1 Secret");
    assert_eq!(text(root, "secret-data.password"), secret::mask(7));
    assert_eq!(text(root, "secret-data.user"), secret::mask(5));
    assert_eq!(text(root, "reveal-data.password"), "Reveal");
    // Nothing of either value anywhere on the page, decoded or base64.
    let page = root.text_content().unwrap();
    for leak in ["hunter2", "aHVudGVyMg==", "admin", "YWRtaW4="] {
        assert!(!page.contains(leak), "{leak} shown while masked: {page}");
    }

    click(&by_id(root, "reveal-data.password"));
    settle().await;
    assert_eq!(text(root, "secret-data.password"), "hunter2");
    assert_eq!(text(root, "reveal-data.password"), "Hide");
    // Only that value: the other stays masked, in the table and in the YAML.
    assert_eq!(text(root, "secret-data.user"), secret::mask(5));
    let yaml = text(root, "detail-value");
    assert!(yaml.contains("aHVudGVyMg=="), "{yaml}");
    assert!(!yaml.contains("YWRtaW4="), "{yaml}");

    click(&by_id(root, "reveal-data.password"));
    settle().await;
    assert_eq!(text(root, "secret-data.password"), secret::mask(7));
    assert!(!text(root, "detail-value").contains("aHVudGVyMg=="));
}

#[wasm_bindgen_test]
async fn a_bookkeeping_key_shows_the_role_the_core_names() {
    let lease = etcd_lens_core::k8s::KeyRole::ApiServerLease.label();
    let object = json!({"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": ""}});
    let mut d = detail(
        "/registry/masterleases/10.0.0.1",
        "bb",
        "Endpoints",
        &object,
    );
    d.role = Some(lease.to_string());
    let m = mount(move || view! { <KeyDetailView state=with_detail(d) /> });
    settle().await;
    assert_eq!(text(&m.root, "detail-role"), lease);
    drop(m);
    // An object of a served resource has no role line.
    let m = mount(move || view! { <KeyDetailView state=with_detail(secret_detail("aa")) /> });
    settle().await;
    assert!(by_id_opt(&m.root, "detail-role").is_none());
}

#[wasm_bindgen_test]
async fn secret_raw_value_and_last_applied_stay_hidden_until_reveal_raw() {
    let state = with_detail(secret_detail("aa"));
    let m = mount(move || view! { <KeyDetailView state /> });
    settle().await;
    let root: &Element = &m.root;

    // The last-applied annotation repeats the data: masked in the decoded view.
    let yaml = text(root, "detail-value");
    assert!(yaml.contains("last-applied-configuration"), "{yaml}");
    assert!(!yaml.contains("aHVudGVyMg=="), "{yaml}");

    for tab in ["fmt-text", "fmt-hex"] {
        click(&by_id(root, tab));
        settle().await;
        assert_eq!(attr(&by_id(root, tab), "aria-pressed"), "true");
        let shown = text(root, "detail-value");
        assert!(shown.contains("Reveal raw value"), "{tab}: {shown}");
        assert!(!shown.contains("aHVudGVyMg=="), "{tab}: {shown}");
    }

    click(&by_id(root, "fmt-text"));
    click(&by_id(root, "reveal-raw"));
    settle().await;
    let raw = text(root, "detail-value");
    assert!(raw.contains("\"password\":\"aHVudGVyMg==\""), "{raw}");
    // And the annotation is no longer masked in the decoded view; the
    // per-value reveal is separate, so the table still masks the password.
    click(&by_id(root, "fmt-yaml"));
    settle().await;
    let yaml = text(root, "detail-value");
    assert!(yaml.contains("aHVudGVyMg=="), "{yaml}");
    assert_eq!(text(root, "secret-data.password"), secret::mask(7));
}

#[wasm_bindgen_test]
async fn the_history_diff_masks_secret_values_and_names_encrypted_revisions() {
    let rev = |main: i64, value: serde_json::Value| json!({"main": main, "sub": 0, "deleted": false, "version": main, "value_size": 40, "value": value});
    let object = |pw: &str| json!({"apiVersion": "v1", "kind": "Secret", "data": {"password": pw}});
    // A Secret whose latest revision is a tombstone: nothing says "Secret" but its key.
    let mut d = detail(
        "/registry/secrets/prod/gone",
        "dd",
        "Secret",
        &object("bGF0ZXN0"),
    );
    d.kind = None;
    d.object = None;
    d.history = serde_json::from_value(json!([
        rev(3, json!({"kind": "object", "object": object("b2xkLXZhbHVl"), "decrypted_with": null})),
        rev(4, json!({"kind": "object", "object": object("bmV3LXZhbHVlLTEy"), "decrypted_with": null})),
        rev(5, json!({"kind": "encrypted", "provider": "aescbc", "key_name": "key1"})),
        json!({"main": 6, "sub": 0, "deleted": true, "version": 0, "value_size": 0, "value": {"kind": "deleted"}}),
    ]))
    .unwrap();
    let state = with_detail(d);
    let m = mount(move || view! { <KeyDetailView state /> });
    settle().await;
    let root: &Element = &m.root;
    let radios = root.query_selector_all("input[name=diff-from]").unwrap();
    let pick = |list: &web_sys::NodeList, i: u32| {
        let r: HtmlInputElement = list.get(i).unwrap().unchecked_into();
        r.click();
    };
    // Revisions 3 → 4: the value changed, neither shown.
    pick(&radios, 0);
    let to = root.query_selector_all("input[name=diff-to]").unwrap();
    pick(&to, 1);
    settle().await;
    assert_eq!(text(root, "show-diff"), "Diff revision 3 → 4");
    click(&by_id(root, "show-diff"));
    settle().await;
    let diff = text(root, "diff");
    assert!(
        diff.contains("value changed (9 → 12 bytes, masked)"),
        "{diff}"
    );
    for leak in [
        "b2xkLXZhbHVl",
        "bmV3LXZhbHVlLTEy",
        "old-value",
        "new-value-12",
    ] {
        assert!(
            !root.text_content().unwrap().contains(leak),
            "{leak}: {diff}"
        );
    }
    // Another pair: the same button shows it (no toggle); the encrypted one is named.
    pick(&to, 2);
    settle().await;
    click(&by_id(root, "show-diff"));
    settle().await;
    let diff = text(root, "diff");
    assert!(diff.contains("encrypted with aescbc key1"), "{diff}");
    assert!(!diff.contains("b2xkLXZhbHVl"), "{diff}");
    // Revealed per field, in the diff.
    pick(&to, 1);
    settle().await;
    click(&by_id(root, "diff-reveal-data.password"));
    settle().await;
    let diff = text(root, "diff");
    assert!(
        diff.contains("bmV3LXZhbHVlLTEy") && diff.contains("b2xkLXZhbHVl"),
        "{diff}"
    );
    click(&by_id(root, "close-diff"));
    settle().await;
    assert!(by_id_opt(root, "diff").is_none());
}

#[wasm_bindgen_test]
async fn another_key_starts_masked_again() {
    let state = with_detail(secret_detail("aa"));
    let m = mount(move || view! { <KeyDetailView state /> });
    settle().await;
    let root: &Element = &m.root;

    click(&by_id(root, "reveal-data.user"));
    settle().await;
    assert_eq!(text(root, "secret-data.user"), "admin");

    state.update(|s| s.detail = Some(secret_detail("bb")));
    settle().await;
    assert_eq!(text(root, "secret-data.user"), secret::mask(5));
    assert_eq!(text(root, "reveal-data.user"), "Reveal");
}

#[wasm_bindgen_test]
async fn other_kinds_are_not_masked() {
    let object = json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"user": "admin"}});
    let state = with_detail(detail(
        "/registry/configmaps/prod/c",
        "cc",
        "ConfigMap",
        &object,
    ));
    let m = mount(move || view! { <KeyDetailView state /> });
    settle().await;
    let root: &Element = &m.root;

    assert!(by_id_opt(root, "secret-values").is_none());
    assert!(by_id_opt(root, "reveal-raw").is_none());
    assert!(text(root, "detail-value").contains("admin"));
}

// ---------------------------------------------------------------- unlock

/// Records `preventDefault` of every `submit` that reaches `window` (after the
/// component's handler), and cancels it so a broken form cannot reload the test page.
struct SubmitGuard {
    prevented: Rc<Cell<Option<bool>>>,
    listener: Closure<dyn FnMut(web_sys::Event)>,
}

impl SubmitGuard {
    fn new() -> Self {
        let prevented = Rc::new(Cell::new(None));
        let p = prevented.clone();
        let listener = Closure::<dyn FnMut(web_sys::Event)>::new(move |ev: web_sys::Event| {
            p.set(Some(ev.default_prevented()));
            ev.prevent_default();
        });
        window()
            .add_event_listener_with_callback("submit", listener.as_ref().unchecked_ref())
            .unwrap();
        Self {
            prevented,
            listener,
        }
    }
}

impl Drop for SubmitGuard {
    fn drop(&mut self) {
        let _ = window()
            .remove_event_listener_with_callback("submit", self.listener.as_ref().unchecked_ref());
    }
}

fn prompt(passphrase: bool, types: &[&str]) -> RwSignal<Inspection> {
    RwSignal::new(Inspection {
        secret_prompt: Some(SecretPrompt {
            passphrase,
            recipient_types: types.iter().map(|t| t.to_string()).collect(),
        }),
        ..Inspection::default()
    })
}

fn describe(s: &UnlockSecret) -> String {
    match s {
        UnlockSecret::Passphrase { passphrase } => format!("passphrase:{passphrase}"),
        UnlockSecret::Identity {
            identity,
            ssh_key_passphrase,
        } => format!("identity:{identity}|ssh:{ssh_key_passphrase:?}"),
    }
}

#[wasm_bindgen_test]
async fn unlock_with_a_passphrase_sends_what_was_typed() {
    let state = prompt(true, &["scrypt"]);
    let sent = RwSignal::new(Vec::<String>::new());
    let m = mount(move || {
        view! { <Unlock state on_secret=move |s: UnlockSecret| sent.update(|v| v.push(describe(&s))) /> }
    });
    settle().await;
    let root: &Element = &m.root;

    assert!(text(root, "unlock").contains("encrypted with age and a passphrase"));
    let input = by_id(root, "age-passphrase");
    assert_eq!(attr(&input, "type"), "password");
    assert!(by_id_opt(root, "age-identity").is_none());
    assert!(by_id_opt(root, "age-ssh-passphrase").is_none());

    type_into(&input, "correct horse");
    settle().await;
    let guard = SubmitGuard::new();
    click(&by_id(root, "age-unlock"));
    settle().await;
    assert_eq!(sent.get_untracked(), ["passphrase:correct horse"]);
    assert_eq!(
        guard.prevented.get(),
        Some(true),
        "the form must not submit to the server"
    );
}

#[wasm_bindgen_test]
async fn unlock_with_an_identity_sends_the_key_and_the_optional_ssh_passphrase() {
    let state = prompt(false, &["X25519", "ssh-ed25519"]);
    let sent = RwSignal::new(Vec::<String>::new());
    let m = mount(move || {
        view! { <Unlock state on_secret=move |s: UnlockSecret| sent.update(|v| v.push(describe(&s))) /> }
    });
    settle().await;
    let root: &Element = &m.root;
    let _guard = SubmitGuard::new();

    assert!(text(root, "unlock").contains("encrypted with age for: X25519, ssh-ed25519."));
    assert!(by_id_opt(root, "age-passphrase").is_none());
    assert_eq!(by_id(root, "age-identity").tag_name(), "TEXTAREA");
    assert_eq!(attr(&by_id(root, "age-ssh-passphrase"), "type"), "password");

    type_into(&by_id(root, "age-identity"), "AGE-SECRET-KEY-1QQQ");
    click(&by_id(root, "age-unlock"));
    settle().await;
    type_into(&by_id(root, "age-ssh-passphrase"), "s3cret");
    click(&by_id(root, "age-unlock"));
    settle().await;
    assert_eq!(
        sent.get_untracked(),
        [
            "identity:AGE-SECRET-KEY-1QQQ|ssh:None",
            "identity:AGE-SECRET-KEY-1QQQ|ssh:Some(\"s3cret\")"
        ]
    );
}

#[wasm_bindgen_test]
async fn unlock_shows_nothing_without_a_prompt_and_shows_the_error() {
    let state = RwSignal::new(Inspection::default());
    let m = mount(move || view! { <Unlock state on_secret=|_: UnlockSecret| () /> });
    settle().await;
    let root: &Element = &m.root;
    assert!(by_id_opt(root, "unlock").is_none());

    state.update(|s| {
        s.apply(FromWorker::NeedSecret {
            prompt: SecretPrompt {
                passphrase: true,
                recipient_types: vec![],
            },
        })
    });
    settle().await;
    assert!(by_id_opt(root, "unlock").is_some());
    assert!(by_id_opt(root, "unlock-error").is_none());

    state.update(|s| {
        s.apply(FromWorker::UnlockFailed {
            message: "wrong passphrase".into(),
        })
    });
    settle().await;
    let e = by_id(root, "unlock-error");
    assert_eq!(e.text_content().unwrap(), "wrong passphrase");
    assert_eq!(attr(&e, "role"), "alert");
}

// ---------------------------------------------------------------- audit

/// An `on_run` that does nothing.
fn ignore(_: Option<String>) {}

/// An `on_export` that does nothing.
fn no_export(_: ExportFormat) {}

fn audit_view() -> AuditView {
    // Real rules, with the severity the core gives each.
    let row = |rule: Rule, key: &str, hex: &str, ns: &str, rev: i64| {
        json!({
            "rule": rule.id(), "severity": rule.severity().as_str(), "key": key, "key_hex": hex, "namespace": ns,
            "name": "", "revision": rev, "provider": "", "key_name": "", "message": format!("{} at {key}", rule.id()),
        })
    };
    serde_json::from_value(json!({
        "exposure": { "kind": "exposed", "secrets": 3, "unreachable_fragments": 0, "encrypted_unchecked": 1 },
        "by_severity": [["critical", 1], ["high", 2], ["medium", 0], ["low", 0], ["info", 0]],
        "census": [["Secrets", "3"], ["encrypted", "1"]],
        "findings": [
            row(Rule::SecretPlaintextInHistory, "/registry/secrets/b/one", "2f62", "b", 30),
            row(Rule::SecretPlaintext, "/registry/secrets/a/two", "2f61", "a", 10),
            row(Rule::SecretPlaintextInHistory, "/registry/secrets/a/three", "", "a", 20),
        ],
        "warnings": ["one warning"],
    }))
    .expect("an AuditView")
}

#[wasm_bindgen_test]
async fn audit_runs_on_first_visit_then_with_the_pasted_configuration() {
    let state = RwSignal::new(Inspection::default());
    let runs = RwSignal::new(Vec::<Option<String>>::new());
    let on_run = move |c: Option<String>| runs.update(|r| r.push(c));
    let m = mount(move || view! { <AuditPanel state on_run on_export=no_export /> });
    settle().await;
    let root: &Element = &m.root;
    assert_eq!(runs.get_untracked(), [None]);

    type_into(&by_id(root, "encryption-config"), "  \n ");
    click(&by_id(root, "run-audit"));
    type_into(
        &by_id(root, "encryption-config"),
        "kind: EncryptionConfiguration",
    );
    click(&by_id(root, "run-audit"));
    settle().await;
    assert_eq!(
        runs.get_untracked(),
        [
            None,
            None,
            Some("kind: EncryptionConfiguration".to_string())
        ]
    );
}

#[wasm_bindgen_test]
async fn audit_findings_render_sorted_by_severity_with_links_to_keys() {
    let state = RwSignal::new(Inspection {
        audit: Some(audit_view()),
        ..Inspection::default()
    });
    let runs = RwSignal::new(0);
    let on_run = move |_: Option<String>| runs.update(|n| *n += 1);
    let m = mount(move || view! { <AuditPanel state on_run on_export=no_export /> });
    settle().await;
    let root: &Element = &m.root;

    // An audit already there is not run again.
    assert_eq!(runs.get_untracked(), 0);
    assert_eq!(text(root, "finding-count"), "3 findings");
    let census = text(root, "census");
    assert!(
        census.contains("Secrets3") && census.contains("encrypted1"),
        "{census}"
    );
    assert_eq!(
        keys(&finding_rows(root)),
        [
            "/registry/secrets/a/two",
            "/registry/secrets/b/one",
            "/registry/secrets/a/three"
        ]
    );
    let sev = by_id(root, "sort-severity").parent_element().unwrap();
    assert_eq!(attr(&sev, "aria-sort"), "descending");

    // A finding with a key links to it in the browser; one without has no link.
    let first = root
        .query_selector("[data-testid=finding] a")
        .unwrap()
        .unwrap();
    assert_eq!(attr(&first, "href"), "#/browse/2f61");
    let last = root
        .query_selector("[data-testid=finding][data-key='/registry/secrets/a/three']")
        .unwrap()
        .unwrap();
    assert!(last.query_selector("a").unwrap().is_none());
    assert!(
        last.text_content()
            .unwrap()
            .contains("secret-plaintext-in-history at /registry/secrets/a/three")
    );
}

#[wasm_bindgen_test]
async fn audit_findings_sort_by_the_clicked_column() {
    let state = RwSignal::new(Inspection {
        audit: Some(audit_view()),
        ..Inspection::default()
    });
    let m = mount(move || view! { <AuditPanel state on_run=ignore on_export=no_export /> });
    settle().await;
    let root: &Element = &m.root;
    let aria = |id: &str| attr(&by_id(root, id).parent_element().unwrap(), "aria-sort");

    click(&by_id(root, "sort-key"));
    settle().await;
    assert_eq!(
        keys(&finding_rows(root)),
        [
            "/registry/secrets/a/three",
            "/registry/secrets/a/two",
            "/registry/secrets/b/one"
        ]
    );
    assert_eq!(aria("sort-key"), "ascending");
    assert_eq!(aria("sort-severity"), "none");

    click(&by_id(root, "sort-key"));
    settle().await;
    assert_eq!(
        keys(&finding_rows(root)),
        [
            "/registry/secrets/b/one",
            "/registry/secrets/a/two",
            "/registry/secrets/a/three"
        ]
    );
    assert_eq!(aria("sort-key"), "descending");

    click(&by_id(root, "sort-revision"));
    settle().await;
    assert_eq!(
        keys(&finding_rows(root)),
        [
            "/registry/secrets/a/two",
            "/registry/secrets/a/three",
            "/registry/secrets/b/one"
        ]
    );

    // Back to severity: most severe first again.
    click(&by_id(root, "sort-severity"));
    settle().await;
    assert_eq!(aria("sort-severity"), "descending");
    assert_eq!(finding_rows(root)[0].1, "/registry/secrets/a/two");
}

#[wasm_bindgen_test]
async fn audit_findings_filter_by_rule_and_namespace() {
    let state = RwSignal::new(Inspection {
        audit: Some(audit_view()),
        ..Inspection::default()
    });
    let m = mount(move || view! { <AuditPanel state on_run=ignore on_export=no_export /> });
    settle().await;
    let root: &Element = &m.root;

    // Each rule and each namespace once, after "all".
    let options = |id: &str| {
        let o = by_id(root, id).children();
        (0..o.length())
            .map(|i| attr(&o.item(i).unwrap(), "value"))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        options("filter-rule"),
        ["", "secret-plaintext", "secret-plaintext-in-history"]
    );
    assert_eq!(options("filter-finding-namespace"), ["", "a", "b"]);

    select(&by_id(root, "filter-rule"), "secret-plaintext-in-history");
    settle().await;
    let rows = finding_rows(root);
    assert_eq!(
        keys(&rows),
        ["/registry/secrets/b/one", "/registry/secrets/a/three"]
    );
    assert!(rows.iter().all(|(r, _)| r == "secret-plaintext-in-history"));

    select(&by_id(root, "filter-finding-namespace"), "a");
    settle().await;
    assert_eq!(keys(&finding_rows(root)), ["/registry/secrets/a/three"]);

    select(&by_id(root, "filter-rule"), "");
    settle().await;
    assert_eq!(
        keys(&finding_rows(root)),
        ["/registry/secrets/a/two", "/registry/secrets/a/three"]
    );
    // The count is of all findings, not of the filtered rows.
    assert_eq!(text(root, "finding-count"), "3 findings");
}

#[wasm_bindgen_test]
async fn audit_exports_are_made_on_request_and_become_data_urls() {
    let state = RwSignal::new(Inspection {
        audit: Some(audit_view()),
        ..Inspection::default()
    });
    let asked = RwSignal::new(Vec::<ExportFormat>::new());
    let on_export = move |f: ExportFormat| {
        asked.update(|a| a.push(f));
        state.update(|s| s.exporting(EXPORT_SEQ_BASE + asked.with_untracked(Vec::len) as u32, f));
    };
    let m = mount(move || view! { <AuditPanel state on_run=ignore on_export /> });
    settle().await;
    let root: &Element = &m.root;
    // Nothing is made until asked for.
    assert!(by_id_opt(root, "export-sarif").is_none());

    for (format, name, mime, content) in [
        (
            ExportFormat::Json,
            "audit.json",
            "application/json",
            "{\"findings\":3}",
        ),
        (
            ExportFormat::Csv,
            "audit.csv",
            "text/csv",
            "rule,key\nsecret-plaintext,/registry/secrets/a/two\n",
        ),
        (
            ExportFormat::Sarif,
            "audit.sarif",
            "application/sarif+json",
            "{}",
        ),
        (
            ExportFormat::Html,
            "audit.html",
            "text/html",
            "<p>3 findings</p>",
        ),
    ] {
        let id = format!("export-{}", format.id());
        click(&by_id(root, &format!("{id}-button")));
        settle().await;
        assert_eq!(asked.get_untracked().last(), Some(&format));
        assert!(by_id_opt(root, "export-running").is_some(), "{id}");
        let seq = state.with_untracked(|s| s.export_seq);
        // A reply to an older request is dropped.
        state.update(|s| {
            s.apply(FromWorker::Exported {
                seq: seq - 1,
                format,
                content: "stale".into(),
            })
        });
        state.update(|s| {
            s.apply(FromWorker::Exported {
                seq,
                format,
                content: content.into(),
            })
        });
        settle().await;
        let link = by_id(root, &id);
        assert_eq!(attr(&link, "download"), name);
        let href = attr(&link, "href");
        let prefix = format!("data:{mime};charset=utf-8,");
        let body = href
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("{id}: {href}"));
        let decoded = js_sys::decode_uri_component(body).unwrap();
        assert_eq!(String::from(decoded), content, "{id}");
        assert!(by_id_opt(root, "export-running").is_none());
    }
    // A new audit drops the export of the previous one.
    state.update(|s| {
        s.auditing(9);
        s.apply(FromWorker::Audit {
            seq: 9,
            audit: Box::new(audit_view()),
        })
    });
    settle().await;
    assert!(by_id_opt(root, "export-html").is_none());
}

// ---------------------------------------------------------------- file report

fn opened() -> Inspection {
    Inspection::default().opening("snap.db".into(), 3 * 1024 * 1024)
}

#[wasm_bindgen_test]
async fn file_report_idle_then_hashing() {
    let state = RwSignal::new(Inspection::default());
    let m = mount(move || view! { <FileReport state /> });
    settle().await;
    let root: &Element = &m.root;
    assert_eq!(text(root, "idle"), "No file open.");
    assert!(by_id_opt(root, "trailer-status").is_none());

    state.set(opened());
    settle().await;
    assert_eq!(text(root, "file-name"), "snap.db");
    assert_eq!(attr(&by_id(root, "file-size"), "data-bytes"), "3145728");
    assert!(text(root, "file-size").starts_with("3145728 bytes"));
    assert!(by_id_opt(root, "busy").is_some());
    assert_eq!(
        attr(&by_id(root, "trailer-status"), "data-state"),
        "pending"
    );

    state.update(|s| {
        s.apply(FromWorker::Progress {
            phase: Phase::Hashing,
            done_bytes: 1024,
            total_bytes: 4096,
            elapsed_ms: 500.0,
        })
    });
    settle().await;
    assert_eq!(
        attr(&by_id(root, "trailer-status"), "data-state"),
        "hashing"
    );
    assert!(text(root, "trailer-status").starts_with("verifying SHA-256"));
    let progress = by_id(root, "hash-progress");
    assert_eq!(attr(&progress, "max"), "4096");
    assert_eq!(attr(&progress, "value"), "1024");
}

#[wasm_bindgen_test]
async fn file_report_trailer_verified_absent_and_mismatch() {
    let state = RwSignal::new(opened());
    let m = mount(move || view! { <FileReport state /> });
    settle().await;
    let root: &Element = &m.root;

    let cases = [
        (
            TrailerStatus::Verified {
                sha256: "ab".repeat(32),
            },
            "verified",
        ),
        (TrailerStatus::Absent, "absent"),
        (
            TrailerStatus::Mismatch {
                stored: "aa11".into(),
                computed: "bb22".into(),
            },
            "mismatch",
        ),
    ];
    for (status, want) in cases {
        let describe = status.describe();
        state.update(|s| {
            *s = opened();
            s.hashing = Some((1, 2));
            s.apply(FromWorker::Trailer { status });
            s.apply(FromWorker::Finished);
        });
        settle().await;
        let t = by_id(root, "trailer-status");
        assert_eq!(attr(&t, "data-state"), want);
        assert_eq!(t.text_content().unwrap(), describe);
        assert!(by_id_opt(root, "hash-progress").is_none(), "{want}");
        assert!(by_id_opt(root, "busy").is_none(), "{want}");
        let error = by_id_opt(root, "error");
        if want == "mismatch" {
            let e = error.expect("a mismatch is an error");
            assert_eq!(attr(&e, "role"), "alert");
            let e = e.text_content().unwrap();
            assert!(e.contains("Do not restore from this file."), "{e}");
            // The trailer line names both digests; the page says it once.
            assert!(describe.contains("aa11") && describe.contains("bb22"));
            let page = root.text_content().unwrap();
            assert_eq!(page.matches(describe.as_str()).count(), 1, "{page}");
        } else {
            assert!(error.is_none(), "{want}");
        }
    }
}

#[wasm_bindgen_test]
async fn file_report_shows_the_layers_peeled_off() {
    let state = RwSignal::new(opened());
    let m = mount(move || view! { <FileReport state /> });
    settle().await;
    let root: &Element = &m.root;
    assert!(by_id_opt(root, "layers").is_none());

    state.update(|s| {
        s.apply(FromWorker::Layers {
            layers: vec!["age".into(), "zstd".into()],
        })
    });
    settle().await;
    assert_eq!(text(root, "layers"), "age → zstd");
}

// ---------------------------------------------------------------- drop zone

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

// ---------------------------------------------------------------- passes and space

#[wasm_bindgen_test]
async fn passes_show_done_running_with_time_left_pending_and_failed() {
    use etcd_lens_app::components::passes::Passes;
    let state = RwSignal::new(opened());
    let m = mount(move || view! { <Passes state /> });
    let root: &Element = &m.root;
    settle().await;
    state.update(|s| {
        s.apply(FromWorker::PhaseDone {
            phase: Phase::Status,
            elapsed_ms: 1500.0,
        });
        s.apply(FromWorker::Progress {
            phase: Phase::Index,
            done_bytes: 1 << 20,
            total_bytes: 4 << 20,
            elapsed_ms: 2000.0,
        });
        s.apply(FromWorker::PhaseFailed {
            phase: Phase::Space,
            message: "no key bucket".into(),
        });
    });
    settle().await;
    let status = by_id(root, "pass-status");
    assert_eq!(attr(&status, "data-state"), "done");
    assert!(
        status.text_content().unwrap().contains("done in 2 s"),
        "{}",
        root.inner_html()
    );
    let index = by_id(root, "pass-index");
    assert_eq!(attr(&index, "data-state"), "running");
    let t = index.text_content().unwrap();
    // 1 MiB of 4 in 2 s: 6 s left at that rate.
    assert!(t.contains("(25%)") && t.contains("about 6 s left"), "{t}");
    assert!(index.query_selector("progress").unwrap().is_some());
    assert_eq!(attr(&by_id(root, "pass-check"), "data-state"), "pending");
    let space = by_id(root, "pass-space");
    assert_eq!(attr(&space, "data-state"), "failed");
    assert!(space.text_content().unwrap().contains("no key bucket"));
    assert_eq!(attr(&by_id(root, "pass-hashing"), "data-state"), "pending");
}

#[wasm_bindgen_test]
async fn space_draws_the_revisions_histogram_once_indexed() {
    use etcd_lens_app::components::space::SpaceView;
    use etcd_lens_app::protocol::{HistogramBin, IndexView};
    let state = RwSignal::new(opened());
    let m = mount(move || view! { <SpaceView state /> });
    let root: &Element = &m.root;
    settle().await;
    assert!(by_id_opt(root, "revisions-histogram").is_none());
    assert!(by_id_opt(root, "space-pending").is_some());
    state.update(|s| {
        s.apply(FromWorker::Indexed {
            index: Box::new(IndexView {
                live_keys: 7,
                keys_with_history: 9,
                revisions: 30,
                revisions_histogram: vec![
                    HistogramBin {
                        label: "1".into(),
                        keys: 6,
                    },
                    HistogramBin {
                        label: "2".into(),
                        keys: 0,
                    },
                    HistogramBin {
                        label: "3–4".into(),
                        keys: 3,
                    },
                ],
                most_revisions: vec![("/registry/leases/a".into(), 4)],
                plan_facts: None,
            }),
        })
    });
    settle().await;
    let bins = root
        .query_selector_all("[data-testid=revisions-bin]")
        .unwrap();
    assert_eq!(bins.length(), 3);
    let bar_height = |i: u32| -> f64 {
        let g: Element = bins.item(i).unwrap().unchecked_into();
        attr(&g.query_selector("rect").unwrap().unwrap(), "height")
            .parse()
            .unwrap()
    };
    assert_eq!(bar_height(1), 0.0, "an empty bin has no bar");
    assert!(
        (bar_height(0) / bar_height(2) - 2.0).abs() < 0.01,
        "bars are to scale"
    );
    assert!(text(root, "most-revisions").contains("/registry/leases/a"));
}

// ---------------------------------------------------------------- the Live tab

fn live_status(v: serde_json::Value) -> etcd_lens_app::live::ClusterStatus {
    serde_json::from_value(v).expect("a ClusterStatus as the server sends it")
}

#[wasm_bindgen_test]
async fn live_status_marks_the_leader_draws_bars_and_says_why_a_member_is_down() {
    use etcd_lens_app::components::live_status::LiveStatusView;
    let quota: u64 = 8 * 1024 * 1024;
    let status = RwSignal::new(Some(live_status(json!({
        "cluster": "trio", "verdict": "degraded",
        "verdict_reason": "quorum held; 1 of 3 members unreachable",
        "leader_id": "a1",
        "quorum": {"voting_members": 3, "needed": 2, "reachable": 2, "held": true, "failures_tolerated": 0},
        "alarms": [{"member_id": "b2", "alarm": "NOSPACE"}], "alarms_source": "status+alarm",
        "warnings": ["member lens-2 did not answer"],
        "checked_at": "2026-12-01T13:15:07.5Z", "age_ms": 0,
        "members": [
            {"id": "a1", "name": "lens-0", "reachable": true, "is_leader": true, "latency_ms": 1.5,
             "db_size_bytes": quota / 2, "db_size_in_use_bytes": quota / 4, "quota_bytes": quota,
             "wal_fsync": {"p99_ms": 3.1, "bucket_low_ms": 2.0, "bucket_high_ms": 4.0,
                           "observations": 50.0, "guidance_ms": 10.0, "above_guidance": false},
             "backend_commit_p99_ms": 30.0},
            {"id": "b2", "name": "lens-1", "reachable": true, "db_size_bytes": quota + quota / 10,
             "quota_bytes": quota, "metrics_note": "not enough data yet"},
            {"id": "c3", "name": "lens-2", "reachable": false,
             "error": "connection refused (127.0.0.1:2379)"}
        ]
    }))));
    let m = mount(move || view! { <LiveStatusView status /> });
    settle().await;
    let root: &Element = &m.root;
    let verdict = by_id(root, "live-verdict");
    assert_eq!(attr(&verdict, "data-verdict"), "degraded");
    assert!(attr(&verdict, "class").contains("degraded"));
    assert!(text(root, "live-verdict").starts_with("Degraded: quorum held"));
    assert!(text(root, "live-quorum").starts_with("Quorum held: 2 of 3"));
    assert_eq!(text(root, "live-alarm"), "NOSPACE on member lens-1");

    let rows = root
        .query_selector_all("[data-testid=live-member]")
        .unwrap();
    assert_eq!(rows.length(), 3);
    let row = |i: u32| -> Element { rows.item(i).unwrap().unchecked_into() };
    assert_eq!(attr(&row(0), "data-leader"), "true");
    assert_eq!(
        root.query_selector_all("[data-testid=leader-mark]")
            .unwrap()
            .length(),
        1
    );
    assert!(text(&row(0), "leader-mark").contains("leader"));
    // Bars against the quota: half, a quarter; over the quota the bar is
    // full and the figure says by how much.
    assert_eq!(attr(&by_id(&row(0), "db-size-bar"), "value"), "50.00");
    assert_eq!(attr(&by_id(&row(0), "db-in-use-bar"), "value"), "25.00");
    assert!(text(&row(0), "member-db-size").contains("(50% of 8.0 MiB)"));
    let over = by_id(&row(1), "db-size-bar");
    assert_eq!(
        (
            attr(&over, "value").as_str(),
            attr(&over, "data-percent").as_str()
        ),
        ("100.00", "110.00")
    );
    assert_eq!(text(&row(0), "member-answer"), "answered in 1.5 ms");
    assert_eq!(
        text(&row(0), "member-disk"),
        "WAL fsync 3.1 ms (2–4 ms bucket); backend commit 30.0 ms"
    );
    assert_eq!(text(&row(1), "member-disk"), "not enough data yet");
    // The member that did not answer: its error, no bars, no role.
    assert_eq!(
        text(&row(2), "member-error"),
        "unreachable: connection refused (127.0.0.1:2379)"
    );
    assert!(by_id_opt(&row(2), "db-size-bar").is_none());
    assert_eq!(attr(&row(2), "data-reachable"), "false");

    status.set(Some(live_status(
        json!({"verdict": "no_quorum", "verdict_reason": "0 of 3 reachable",
        "quorum": {"voting_members": 3, "needed": 2, "reachable": 0, "held": false}}),
    )));
    settle().await;
    assert_eq!(
        attr(&by_id(root, "live-verdict"), "data-verdict"),
        "no-quorum"
    );
    assert!(text(root, "live-quorum").starts_with("Quorum NOT held"));
    assert!(text(root, "live-alarms").starts_with("No alarms"));
}

#[wasm_bindgen_test]
async fn live_catalog_marks_unencrypted_snapshots_and_delete_asks_first() {
    use etcd_lens_app::components::live_snapshots::LiveSnapshots;
    use etcd_lens_app::live::{ClusterSummary, Snapshot};
    use etcd_lens_app::pages::live::LiveState;
    let live = LiveState::new();
    live.selected.set(Some("plain".into()));
    let snap = |v: serde_json::Value| -> Snapshot { serde_json::from_value(v).unwrap() };
    live.catalog.set(vec![
        snap(
            json!({"id": "plain-1", "cluster": "plain", "status": "done", "revision": 42,
            "db_size_bytes": 20480, "stored_bytes": 20512, "encrypted": false,
            "started_at": "2026-12-01T13:15:07Z", "path": "snapshots/plain/plain-1.db"}),
        ),
        snap(
            json!({"id": "plain-2", "cluster": "plain", "status": "failed",
            "error": "the snapshot stream broke: reset", "started_at": "2026-12-01T13:16:00Z"}),
        ),
        snap(
            json!({"id": "other-1", "cluster": "other", "status": "done", "revision": 7,
            "encrypted": true, "started_at": "2026-12-01T13:15:07Z"}),
        ),
    ]);
    let m = mount(move || {
        let summary = Memo::new(|_| {
            Some(ClusterSummary {
                name: "plain".into(),
                encrypted_snapshots: false,
                ..ClusterSummary::default()
            })
        });
        view! { <LiveSnapshots live summary on_open=|_f: web_sys::File| {} /> }
    });
    settle().await;
    let root: &Element = &m.root;
    assert!(text(root, "unencrypted-warning").contains("UNENCRYPTED"));
    let rows = root
        .query_selector_all("[data-testid=catalog-row]")
        .unwrap();
    assert_eq!(rows.length(), 2, "only the selected cluster's snapshots");
    let done: Element = rows.item(0).unwrap().unchecked_into();
    let failed: Element = rows.item(1).unwrap().unchecked_into();
    let marker = by_id(&done, "snapshot-unencrypted");
    assert_eq!(marker.text_content().unwrap(), "UNENCRYPTED");
    assert!(attr(&marker, "class").contains("bad"), "in red");
    assert_eq!(text(&done, "snapshot-revision"), "42");
    assert_eq!(
        text(&failed, "snapshot-state"),
        "failed: the snapshot stream broke: reset"
    );
    assert!(
        by_id_opt(&failed, "snapshot-open").is_none(),
        "a failed snapshot has no file to open"
    );

    // Delete asks first; Keep keeps it.
    click(&by_id(&done, "snapshot-delete"));
    settle().await;
    assert!(by_id_opt(&done, "snapshot-open").is_none());
    click(&by_id(&done, "snapshot-delete-cancel"));
    settle().await;
    assert!(by_id_opt(&done, "snapshot-delete-confirm").is_none());
    assert!(by_id_opt(&done, "snapshot-open").is_some());
}
