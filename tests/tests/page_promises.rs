//! Promises the page makes, driven the way a user drives it: a Secret's
//! values never show unmasked in any view (the history diff included, for a
//! Secret later encrypted, changed or deleted), the key list scrolls to its
//! last key with the mouse wheel and its counter tells the rows in view, and
//! no view breaks the page's own Content-Security-Policy.

use base64::Engine;
use etcd_lens_e2e::browser::{Browser, Turn};
use etcd_lens_e2e::etcd::Etcd;
use etcd_lens_e2e::server::Server;
use fantoccini::Locator;

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn hex(s: &[u8]) -> String {
    s.iter().map(|c| format!("{c:02x}")).collect()
}

fn secret_json(name: &str, password: &str, extra_label: &str) -> String {
    let last_applied = serde_json::json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "namespace": "default"}, "data": {"password": b64(password)}})
    .to_string();
    serde_json::json!({
        "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": name, "namespace": "default", "labels": {"rev": extra_label},
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": last_applied}},
        "data": {"password": b64(password)},
    })
    .to_string()
}

/// Every form in which a plaintext could reach the page: as it is, in
/// base64 (whole and the start the issue saw), and in hex (the hex view).
fn needles(plain: &str) -> Vec<String> {
    let b = b64(plain);
    vec![
        plain.to_string(),
        b.clone(),
        b[..12].to_string(),
        hex(&plain.as_bytes()[..6]),
        hex(&b.as_bytes()[..6]),
    ]
}

/// Fail when anything the page shows (text, markup, export links) holds a
/// plaintext, and on any CSP violation so far.
async fn assert_clean(b: &Browser, plaintexts: &[&str], when: &str) {
    let shown = b.everything_shown().await;
    let squeezed: String = shown.chars().filter(|c| !c.is_whitespace()).collect();
    for p in plaintexts {
        for n in needles(p) {
            assert!(
                !shown.contains(&n) && !squeezed.contains(&n),
                "{when}: the page shows {n:?} (of the Secret value {p:?})"
            );
        }
    }
    b.assert_no_csp_violations(when).await;
}

async fn open_key(b: &Browser, server: &Server, key: &str) {
    b.goto(&format!("{}#/browse/{}", server.url, hex(key.as_bytes())))
        .await;
    b.wait_text("detail-key", |t| t == key).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_values_stay_masked_in_every_view_and_the_history_diff() {
    let _turn = Turn::take();
    // Unlike any key name, so a hit is a leak (hex of a key is in every link).
    const ROTATED: &str = "Xq7-rotated-plaintext";
    const FIRST: &str = "Yv3-first-password";
    const SECOND: &str = "Zk9-second-password!";
    const DELETED: &str = "Wm2-deleted-plaintext";
    let plaintexts = [ROTATED, FIRST, SECOND, DELETED];
    let etcd = Etcd::start();
    // Plaintext, then encrypted with aescbc key1 (the provider's layout; no
    // real decryption needed: the page must name it, not print its bytes).
    etcd.put(
        "/registry/secrets/default/rotated",
        &secret_json("rotated", ROTATED, "1"),
    );
    let mut sealed = b"k8s:enc:aescbc:v1:key1:".to_vec();
    sealed.extend((0u8..48).map(|i| i.wrapping_mul(97).wrapping_add(13)));
    etcd.put_bytes("/registry/secrets/default/rotated", &sealed);
    // Changed, then only relabelled.
    etcd.put(
        "/registry/secrets/default/changed",
        &secret_json("changed", FIRST, "1"),
    );
    etcd.put(
        "/registry/secrets/default/changed",
        &secret_json("changed", SECOND, "2"),
    );
    etcd.put(
        "/registry/secrets/default/changed",
        &secret_json("changed", SECOND, "3"),
    );
    // Plaintext, then deleted.
    etcd.put(
        "/registry/secrets/default/deleted",
        &secret_json("deleted", DELETED, "1"),
    );
    etcd.delete("/registry/secrets/default/deleted");
    etcd.put("/registry/configmaps/default/plain", "not-a-secret");
    let snap = etcd.dir().join("secrets.db");
    etcd.snapshot(&snap);

    let server = Server::start().await;
    let b = Browser::start().await;
    b.open_snapshot(&server.url, &snap).await;
    assert_clean(&b, &plaintexts, "overview").await;
    b.click("tab-space").await;
    b.find("space-bar").await;
    assert_clean(&b, &plaintexts, "space").await;
    b.click("tab-audit").await;
    b.wait_text("finding-count", |t| t.ends_with("findings"))
        .await;
    assert_clean(&b, &plaintexts, "audit").await;
    // Each export is made on request; none holds a plaintext.
    for format in ["json", "csv", "sarif", "html"] {
        b.click(&format!("export-{format}-button")).await;
        b.find(&format!("export-{format}")).await;
        assert_clean(&b, &plaintexts, &format!("the audit's {format} export")).await;
    }
    b.click("tab-browse").await;
    b.wait_text("key-count", |t| t.ends_with("of 3 keys")).await;
    assert_clean(&b, &plaintexts, "browse").await;

    for key in [
        "/registry/secrets/default/rotated",
        "/registry/secrets/default/changed",
        "/registry/secrets/default/deleted",
    ] {
        open_key(&b, &server, key).await;
        for fmt in ["fmt-yaml", "fmt-json", "fmt-text", "fmt-hex"] {
            b.click(fmt).await;
            assert_clean(&b, &plaintexts, &format!("{key} in {fmt}")).await;
        }
        b.click("show-diff").await;
        let diff = b.wait_text("diff", |t| !t.is_empty()).await;
        assert_clean(&b, &plaintexts, &format!("{key}: the history diff")).await;
        assert!(
            !diff.contains("k8s:enc"),
            "{key}: ciphertext as text: {diff}"
        );
        match key {
            "/registry/secrets/default/rotated" => assert!(
                diff.contains("encrypted with aescbc key1"),
                "the encrypted revision is named: {diff}"
            ),
            "/registry/secrets/default/deleted" => {
                assert!(diff.contains("tombstone"), "{diff}")
            }
            _ => assert!(
                !diff.contains("value changed"),
                "the last two revisions hold the same password: {diff}"
            ),
        }
    }

    // The changed Secret: choose the first and last revisions; the same
    // button shows their diff (it does not toggle), which says the value
    // changed and by how much, without showing either value.
    open_key(&b, &server, "/registry/secrets/default/changed").await;
    b.click("show-diff").await;
    b.wait_text("diff", |t| !t.is_empty()).await;
    b.client
        .find_all(Locator::Css("input[name=diff-from]"))
        .await
        .unwrap()[0]
        .click()
        .await
        .unwrap();
    b.click("show-diff").await;
    let diff = b.wait_text("diff", |t| t.contains("value changed")).await;
    assert!(
        diff.contains(&format!(
            "value changed ({} → {} bytes, masked)",
            FIRST.len(),
            SECOND.len()
        )),
        "{diff}"
    );
    assert_clean(&b, &plaintexts, "the diff of the first and last revisions").await;
    // Revealed one field at a time, in the diff itself: the masking is what hid it.
    b.click("diff-reveal-data.password").await;
    let diff = b.wait_text("diff", |t| t.contains(&b64(SECOND))).await;
    assert!(diff.contains(&b64(FIRST)), "{diff}");
    b.click("diff-reveal-data.password").await;
    b.wait_text("diff", |t| !t.contains(&b64(SECOND))).await;
    b.click("close-diff").await;
    b.wait_gone("diff", "Close the diff closes it").await;
    assert_clean(&b, &plaintexts, "after the diff closed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_key_list_scrolls_to_its_last_key_with_the_mouse_wheel() {
    let _turn = Turn::take();
    const KEYS: usize = 150;
    let etcd = Etcd::start();
    let pairs: Vec<(String, String)> = (0..KEYS)
        .map(|i| {
            (
                format!("/registry/configmaps/default/cm-{i:03}"),
                format!("value-{i}"),
            )
        })
        .collect();
    etcd.put_many(&pairs);
    let snap = etcd.dir().join("many.db");
    etcd.snapshot(&snap);

    let server = Server::start().await;
    let b = Browser::start().await;
    b.open_snapshot(&server.url, &snap).await;
    b.click("tab-browse").await;
    let counter = b
        .wait_text("key-count", |t| t.ends_with(&format!("of {KEYS} keys")))
        .await;
    b.assert_no_csp_violations("browse").await;
    // The counter names the rows in view, and only a window of rows is in the page.
    let (first, last) = range(&counter);
    assert_eq!(first, 1, "{counter}");
    let rows = b
        .client
        .find_all(Locator::Css("[data-testid=key-row]"))
        .await
        .unwrap();
    assert!(
        rows.len() < KEYS && rows.len() as u64 >= last,
        "{} rows in the page for {counter}",
        rows.len()
    );
    let box_height = b
        .client
        .execute(
            "return document.querySelector('[data-testid=keys-viewport]').clientHeight",
            vec![],
        )
        .await
        .unwrap()
        .as_f64()
        .unwrap();
    assert!(
        box_height < 800.0,
        "the list scrolls inside its own box ({box_height} px)"
    );
    assert_eq!(
        last,
        (box_height / 26.0).ceil() as u64,
        "{counter}: the rows that fit in {box_height} px"
    );

    // The mouse wheel over the list reaches the last key.
    let last_row = format!(
        "[data-testid=key-row][data-key='/registry/configmaps/default/cm-{:03}']",
        KEYS - 1
    );
    let at_end = format!("–{KEYS} of {KEYS} keys");
    for _ in 0..40 {
        if b.text("key-count").await.ends_with(&at_end) {
            break;
        }
        b.wheel("keys-viewport", 600).await;
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    }
    let counter = b.wait_text("key-count", |t| t.ends_with(&at_end)).await;
    let row = b
        .client
        .find(Locator::Css(&last_row))
        .await
        .expect("the mouse wheel reaches the last key");
    let (first, last) = range(&counter);
    assert!(first > 100 && last == KEYS as u64, "{counter}");
    row.click().await.unwrap();
    b.wait_text("detail-key", |t| {
        t == format!("/registry/configmaps/default/cm-{:03}", KEYS - 1)
    })
    .await;
    // Opening a key keeps the list where it was: the same rows, the same counter.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        b.text("key-count").await,
        counter,
        "the list kept its place"
    );
    b.client
        .find(Locator::Css(&last_row))
        .await
        .expect("the opened key's row is still shown");
    b.assert_no_csp_violations("scrolled and opened").await;

    // One key: singular; none: said so.
    b.type_into("filter-contains", "cm-007").await;
    b.wait_text("key-count", |t| t == "1 of 1 key").await;
    b.type_into("filter-contains", "no-such-key").await;
    b.wait_text("key-count", |t| t == "no keys match").await;

    // A link that names no key says so instead of showing the key opened before.
    b.goto(&format!("{}#/browse/zzzz", server.url)).await;
    let err = b.wait_text("detail-error", |t| !t.is_empty()).await;
    assert!(err.contains("does not name a key"), "{err}");
    b.wait_gone("detail-key", "the previous key is no longer shown")
        .await;
    b.assert_no_csp_violations("a bad link").await;
}

/// `(first, last)` of a counter like `131–150 of 150 keys`.
fn range(counter: &str) -> (u64, u64) {
    let span = counter.split(" of ").next().unwrap_or_default();
    let mut parts = span.split('–').map(|n| n.trim().parse::<u64>().unwrap());
    let first = parts.next().unwrap();
    (first, parts.next().unwrap_or(first))
}
