//! The audit panel: runs on first visit and with a pasted configuration,
//! findings sorted, filtered and linked to their keys, exports on request.

use etcd_lens_app::components::audit::AuditPanel;
use etcd_lens_app::protocol::{AuditView, ExportFormat, FromWorker};
use etcd_lens_app::state::{EXPORT_SEQ_BASE, Inspection};
use etcd_lens_core::audit::Rule;
use leptos::prelude::*;
use serde_json::json;
use wasm_bindgen_test::*;
use web_sys::Element;

use crate::{
    attr, by_id, by_id_opt, click, finding_rows, keys, mount, select, settle, text, type_into,
};

/// An `on_run` that does nothing.
fn ignore(_: Option<String>) {}

/// An `on_export` that does nothing.
fn no_export(_: ExportFormat) {}

/// An `on_cancel` that does nothing.
fn no_cancel() {}

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
    let m = mount(
        move || view! { <AuditPanel state on_run on_cancel=no_cancel on_export=no_export /> },
    );
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
async fn a_running_audit_shows_how_far_it_is_and_stops_on_request() {
    let state = RwSignal::new(Inspection::default());
    state.update(|s| s.auditing(1));
    let runs = RwSignal::new(0u32);
    let stops = RwSignal::new(0u32);
    let on_run = move |_: Option<String>| runs.update(|n| *n += 1);
    let on_cancel = move || {
        stops.update(|n| *n += 1);
        state.update(Inspection::cancel_audit);
    };
    let m = mount(move || view! { <AuditPanel state on_run on_cancel on_export=no_export /> });
    settle().await;
    let root: &Element = &m.root;
    assert_eq!(runs.get_untracked(), 0, "one is running already");
    state.update(|s| {
        s.apply(FromWorker::AuditProgress {
            seq: 1,
            keys_done: 250,
            keys_total: 1000,
        })
    });
    settle().await;
    assert!(
        text(root, "audit-running").contains("250 of 1000 keys"),
        "{}",
        text(root, "audit-running")
    );
    click(&by_id(root, "stop-audit"));
    settle().await;
    assert_eq!(stops.get_untracked(), 1);
    assert!(by_id_opt(root, "audit-running").is_none());
    assert!(text(root, "audit-stopped").contains("stopped"));
    assert_eq!(
        runs.get_untracked(),
        0,
        "a stopped audit is not run again by itself"
    );
    click(&by_id(root, "run-audit"));
    settle().await;
    assert_eq!(runs.get_untracked(), 1, "the button runs it");
}

#[wasm_bindgen_test]
async fn audit_findings_render_sorted_by_severity_with_links_to_keys() {
    let state = RwSignal::new(Inspection {
        audit: Some(audit_view()),
        ..Inspection::default()
    });
    let runs = RwSignal::new(0);
    let on_run = move |_: Option<String>| runs.update(|n| *n += 1);
    let m = mount(
        move || view! { <AuditPanel state on_run on_cancel=no_cancel on_export=no_export /> },
    );
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
    let m = mount(
        move || view! { <AuditPanel state on_run=ignore on_cancel=no_cancel on_export=no_export /> },
    );
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
    let m = mount(
        move || view! { <AuditPanel state on_run=ignore on_cancel=no_cancel on_export=no_export /> },
    );
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
    let m =
        mount(move || view! { <AuditPanel state on_run=ignore on_cancel=no_cancel on_export /> });
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
