//! The unlock form of an encrypted file: what it sends for a passphrase or an
//! identity (with an optional SSH key passphrase), and what it shows without
//! a prompt or after an error.

use std::cell::Cell;
use std::rc::Rc;

use etcd_lens_app::components::unlock::Unlock;
use etcd_lens_app::protocol::{FromWorker, SecretPrompt, UnlockSecret};
use etcd_lens_app::state::Inspection;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;
use web_sys::Element;

use crate::{attr, by_id, by_id_opt, click, mount, settle, text, type_into};

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
        view! { <Unlock prompt=Signal::derive(move || state.with(|s| s.secret_prompt.clone())) error=Signal::derive(move || state.with(|s| s.unlock_error.clone())) on_secret=move |s: UnlockSecret| sent.update(|v| v.push(describe(&s))) /> }
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
        view! { <Unlock prompt=Signal::derive(move || state.with(|s| s.secret_prompt.clone())) error=Signal::derive(move || state.with(|s| s.unlock_error.clone())) on_secret=move |s: UnlockSecret| sent.update(|v| v.push(describe(&s))) /> }
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
    let m = mount(
        move || view! { <Unlock prompt=Signal::derive(move || state.with(|s| s.secret_prompt.clone())) error=Signal::derive(move || state.with(|s| s.unlock_error.clone())) on_secret=|_: UnlockSecret| () /> },
    );
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
