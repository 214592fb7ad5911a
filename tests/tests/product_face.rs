//! Scenario: a new user opens a real snapshot in a 1400 × 900 window and
//! gets the auditor's answer in the header, without a click; every view
//! passes an accessibility scan (axe-core) in the light and the dark theme;
//! every view fits 1400, 1024 and 768 px windows without scrolling sideways;
//! screenshots of each land in target/screenshots/.

use etcd_lens_e2e::browser::{Browser, Turn};
use etcd_lens_e2e::etcd::Etcd;
use etcd_lens_e2e::server::Server;

const LONG_KEY: &str =
    "/registry/configmaps/kube-system/extension-apiserver-authentication-requestheader";

/// Two plaintext Secrets (one only in history), configmaps with long names, history.
fn make_snapshot(etcd: &Etcd) -> std::path::PathBuf {
    let secret = |name: &str, value: &str| {
        format!(
            r#"{{"apiVersion":"v1","kind":"Secret","metadata":{{"name":"{name}","namespace":"default"}},"type":"Opaque","data":{{"password":"{value}"}}}}"#
        )
    };
    etcd.put(
        "/registry/secrets/default/db-password",
        &secret("db-password", "aHVudGVyMg=="),
    );
    etcd.put(
        "/registry/secrets/default/rotated",
        &secret("rotated", "b2xkLXZhbHVl"),
    );
    etcd.delete("/registry/secrets/default/rotated");
    etcd.put(
        LONG_KEY,
        r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}"#,
    );
    for i in 0..30 {
        etcd.put(
            &format!("/registry/configmaps/team-{}/settings-{i}", i % 4),
            &format!("value-{i}"),
        );
    }
    let snap = etcd.dir().join("face.db");
    etcd.snapshot(&snap);
    snap
}

/// The views a file open shows, by tab and a testid each view renders.
const VIEWS: [(&str, &str, &str); 6] = [
    ("overview", "tab-overview", "overview"),
    ("browse", "tab-browse", "keys"),
    ("space", "tab-space", "space"),
    ("audit", "tab-audit", "audit"),
    ("planner", "tab-planner", "planner"),
    ("live", "tab-live", "live"),
];

async fn visit_every_view(b: &Browser, theme: &str) {
    for (name, tab, shown) in VIEWS {
        b.click(tab).await;
        b.find(shown).await;
        if name == "browse" {
            b.wait_css("[data-testid=key-row]").await;
        }
        if name == "audit" {
            b.find("finding-count").await;
        }
        b.assert_accessible(&format!("{name} view, {theme} theme"))
            .await;
        for width in [1400, 1024, 768] {
            b.set_size(width, 900).await;
            b.screenshot(&format!("{name}-{width}-{theme}")).await;
            // The view fits the window: the page itself never scrolls sideways.
            let overflow = b
                .client
                .execute(
                    "const e = document.scrollingElement; return e.scrollWidth - e.clientWidth;",
                    vec![],
                )
                .await
                .unwrap()
                .as_f64()
                .unwrap();
            assert!(
                overflow <= 1.0,
                "{name} view, {theme}, {width} px: the page is {overflow} px wider than the window"
            );
        }
        b.set_size(1400, 900).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_screen_answers_the_auditor_and_every_view_is_accessible() {
    let _turn = Turn::take();
    let etcd = Etcd::start();
    let snap = make_snapshot(&etcd);
    let server = Server::start().await;

    let b = Browser::start().await;
    b.set_size(1400, 900).await;
    b.goto(&server.url).await;
    // Before a file: what the tool does for each user, what it takes, the planner.
    let welcome = b.text("welcome").await;
    for word in ["Auditors", "Architects", "Operators"] {
        assert!(welcome.contains(word), "{welcome}");
    }
    let formats = b.text("formats").await;
    for f in ["age", "gzip", "zstd", "zip"] {
        assert!(formats.contains(f), "{formats}");
    }
    b.find("welcome-planner").await;
    b.assert_accessible("the empty page").await;
    b.screenshot("welcome-1400-light").await;

    b.pick_file(&snap).await;
    // The header answers without a click: the audit ran by itself.
    b.wait_text("chip-integrity-value", |t| t == "verified")
        .await;
    let exposed = b
        .wait_text("chip-secrets-value", |t| t != "checking…")
        .await;
    assert_eq!(exposed, "2", "one live plaintext Secret, one in history");
    assert_eq!(
        b.wait_attr("chip-secrets", "class", |_| true).await,
        "chip bad"
    );
    let link = b
        .client
        .find(fantoccini::Locator::Css("[data-testid=chip-secrets] a"))
        .await
        .unwrap();
    assert_eq!(link.attr("href").await.unwrap().as_deref(), Some("#/audit"));
    assert!(
        b.text("audit-summary-exposure")
            .await
            .starts_with("Secrets exposed: 2")
    );
    assert!(b.text("audit-summary-counts").await.contains("critical"));
    // The tabs sit right under the header, and the file's low-level report
    // is folded away once the file opened cleanly.
    let tabs_top = b
        .client
        .execute(
            "return document.querySelector('[data-testid=tabs]').getBoundingClientRect().top",
            vec![],
        )
        .await
        .unwrap()
        .as_f64()
        .unwrap();
    assert!(tabs_top < 160.0, "tabs start {tabs_top} px down");
    assert_eq!(
        b.wait_prop("file-details", "open", |_| true).await,
        "false",
        "File details are folded for a sound file"
    );
    visit_every_view(&b, "light").await;

    // Browse: the long key's name is shown whole, and the counter tells the truth.
    b.click("tab-browse").await;
    let css = format!("[data-testid=key-row][data-key=\"{LONG_KEY}\"] .tail");
    let tail = b.wait_css(&css).await;
    assert_eq!(
        tail.text().await.unwrap(),
        "extension-apiserver-authentication-requestheader"
    );
    let cut = b
        .client
        .execute(
            &format!(
                "const e = document.querySelector('{}'); return e.scrollWidth > e.clientWidth;",
                css.replace('\'', "\\'")
            ),
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(cut, serde_json::json!(false), "the key's name is cut");
    let count = b.text("key-count").await;
    assert!(count.ends_with("of 32 keys"), "{count}");

    // Enter on a row opens it and keeps the focus on the row; another tab and
    // back finds the filter, the open key and the focus where they were.
    b.type_into("filter-contains", "team-1/").await;
    b.wait_text("key-count", |t| t == "1–8 of 8 keys").await;
    let row = b
        .wait_css("[data-testid=key-row][data-key=\"/registry/configmaps/team-1/settings-1\"]")
        .await;
    row.send_keys(&fantoccini::key::Key::Enter.to_string())
        .await
        .unwrap();
    b.wait_text("detail-key", |t| {
        t == "/registry/configmaps/team-1/settings-1"
    })
    .await;
    let focused = b
        .client
        .execute(
            "return document.activeElement.getAttribute('data-key')",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        focused,
        serde_json::json!("/registry/configmaps/team-1/settings-1"),
        "focus fell off the row"
    );
    b.click("tab-space").await;
    b.click("tab-browse").await;
    assert_eq!(b.wait_value("filter-contains", |_| true).await, "team-1/");
    assert_eq!(b.text("key-count").await, "1–8 of 8 keys");
    assert_eq!(
        b.text("detail-key").await,
        "/registry/configmaps/team-1/settings-1"
    );
    assert!(
        b.client
            .current_url()
            .await
            .unwrap()
            .fragment()
            .unwrap()
            .starts_with("/browse/2f"),
        "the Browse tab leads back to the open key"
    );
    b.assert_no_csp_violations("the product's face, light")
        .await;

    let dark = Browser::start_dark().await;
    dark.set_size(1400, 900).await;
    dark.goto(&server.url).await;
    let is_dark = dark
        .client
        .execute(
            "return matchMedia('(prefers-color-scheme: dark)').matches",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(is_dark, serde_json::json!(true), "the dark theme is on");
    dark.assert_accessible("the empty page, dark").await;
    dark.pick_file(&snap).await;
    dark.wait_text("chip-secrets-value", |t| t == "2").await;
    visit_every_view(&dark, "dark").await;
    dark.assert_no_csp_violations("the product's face, dark")
        .await;
}
