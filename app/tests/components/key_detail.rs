//! The key detail view: Secret values masked until revealed (one by one, the
//! raw value and the last-applied annotation too, in the history diff as
//! well), masked again on another key; other kinds shown as they are.

use etcd_lens_app::components::key_detail::KeyDetailView;
use etcd_lens_app::protocol::KeyDetail;
use etcd_lens_app::secret;
use etcd_lens_app::state::Inspection;
use leptos::prelude::*;
use serde_json::json;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlInputElement};

use crate::{attr, by_id, by_id_opt, click, mount, settle, text};

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
