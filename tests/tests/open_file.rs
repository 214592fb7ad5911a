//! Scenario: a user opens files on the page and sees what they are.
//! Real etcd, real server, real headless Chromium.

use etcd_lens_e2e::browser::{Browser, Turn};
use etcd_lens_e2e::etcd::Etcd;
use etcd_lens_e2e::fixture;
use etcd_lens_e2e::server::Server;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auger_member_db_shows_header_and_freelist_warning() {
    let _turn = Turn::take();
    let server = Server::start().await;
    let b = Browser::start().await;
    b.goto(&server.url).await;
    b.pick_file(&fixture("auger/boltdb/db")).await;

    b.wait_attr("trailer-status", "data-state", |s| s == "absent")
        .await;
    assert!(
        b.text("trailer-status")
            .await
            .contains("no SHA-256 trailer")
    );
    assert_eq!(
        b.wait_attr("file-size", "data-bytes", |_| true).await,
        "20480"
    );
    assert_eq!(b.text("page-size").await, "4096");
    assert_eq!(b.text("meta-0-checksum").await, "valid");
    assert_eq!(b.text("meta-1-checksum").await, "valid");
    assert_eq!(b.text("meta-0-txid").await, "2");
    assert_eq!(b.text("meta-1-txid").await, "3");
    assert!(b.text("meta-in-force").await.starts_with("meta page 1"));
    assert_eq!(b.text("meta-1-freelist").await, "2");
    let warnings = b.text("warnings").await;
    assert!(
        warnings.contains("freelist page 2") && warnings.contains("not a freelist page"),
        "{warnings}"
    );
    assert!(
        b.client
            .find(fantoccini::Locator::Css("[data-testid=error]"))
            .await
            .is_err()
    );
    b.assert_no_csp_violations("auger_member_db_shows_header_and_freelist_warning")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_snapshot_verifies_and_a_flipped_byte_does_not() {
    let _turn = Turn::take();
    let etcd = Etcd::start();
    for i in 0..20 {
        etcd.put(
            &format!("/registry/configmaps/default/cm-{i}"),
            &format!("value-{i}"),
        );
    }
    let snap = etcd.dir().join("snap.db");
    etcd.snapshot(&snap);
    let bytes = std::fs::read(&snap).unwrap();
    assert_eq!(bytes.len() % 512, 32, "etcdctl appends a 32-byte hash");

    let server = Server::start().await;
    let b = Browser::start().await;
    b.open_snapshot(&server.url, &snap).await;
    assert_eq!(b.text("trailer-status").await, "SHA-256 trailer verified");
    assert_eq!(
        b.wait_attr("file-size", "data-bytes", |_| true).await,
        bytes.len().to_string()
    );
    assert_eq!(b.text("page-size").await, "4096");
    assert_eq!(b.text("meta-0-checksum").await, "valid");

    // One byte flipped inside the database (last page, before the trailer).
    let mut flipped = bytes.clone();
    let at = flipped.len() - 32 - 100;
    flipped[at] ^= 0x01;
    let bad = etcd.dir().join("flipped.db");
    std::fs::write(&bad, &flipped).unwrap();
    b.pick_file(&bad).await;
    b.wait_attr("trailer-status", "data-state", |s| s == "mismatch")
        .await;
    let err = b.wait_text("error", |t| !t.is_empty()).await;
    assert!(err.contains("Do not restore from this file."), "{err}");
    // The trailer line names both digests, once on the page.
    let trailer = b.text("trailer-status").await;
    assert!(trailer.starts_with("SHA-256 mismatch"), "{trailer}");
    use sha2::Digest;
    let stored = hex_of(&bytes[bytes.len() - 32..]);
    let computed = hex_of(&sha2::Sha256::digest(&flipped[..flipped.len() - 32]));
    assert!(
        trailer.contains(&stored) && trailer.contains(&computed),
        "{trailer}"
    );
    assert_eq!(b.body_text().await.matches(&stored).count(), 1);
    b.assert_no_csp_violations("etcd_snapshot_verifies_and_a_flipped_byte_does_not")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_file_is_rejected_and_the_page_stays_usable() {
    let _turn = Turn::take();
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("random.bin");
    // xorshift: reproducible noise, 1 MB.
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let data: Vec<u8> = (0..1_000_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(&junk, &data).unwrap();

    let server = Server::start().await;
    let b = Browser::start().await;
    b.goto(&server.url).await;
    b.pick_file(&junk).await;
    let err = b.wait_text("error", |t| !t.is_empty()).await;
    assert!(
        err.starts_with("not an etcd snapshot or bbolt database"),
        "{err}"
    );
    assert!(
        b.client
            .find(fantoccini::Locator::Css("[data-testid=page-size]"))
            .await
            .is_err()
    );

    // The next file opens normally.
    b.pick_file(&fixture("auger/boltdb/db")).await;
    assert_eq!(b.text("page-size").await, "4096");
    assert!(
        b.client
            .find(fantoccini::Locator::Css("[data-testid=error]"))
            .await
            .is_err()
    );
    b.assert_no_csp_violations("random_file_is_rejected_and_the_page_stays_usable")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_and_worker_are_served_with_the_csp_header() {
    let _turn = Turn::take();
    let server = Server::start().await;
    let port = server
        .url
        .trim_start_matches("http://127.0.0.1:")
        .trim_end_matches('/')
        .to_string();
    for path in ["/", "/worker_loader.js", "/worker.js"] {
        let head = http_head(&port, path).await;
        assert!(head.starts_with("HTTP/1.1 200"), "{path}: {head}");
        let csp = head
            .lines()
            .find_map(|l| l.strip_prefix("content-security-policy: "))
            .unwrap_or_else(|| panic!("{path}: no CSP header in {head}"));
        assert!(
            csp.contains("default-src 'none'") && csp.contains("connect-src 'self'"),
            "{csp}"
        );
    }
    // The API wants the token.
    let head = http_head(&port, "/api/health").await;
    assert!(head.starts_with("HTTP/1.1 401"), "{head}");
}

fn hex_of(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A plain HTTP/1.1 GET over loopback, returning the status line and headers.
async fn http_head(port: &str, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(format!("127.0.0.1:{port}"))
        .await
        .unwrap();
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf);
    text.split("\r\n\r\n")
        .next()
        .unwrap_or_default()
        .replace("\r\n", "\n")
        .to_lowercase()
        .replacen("http/1.1", "HTTP/1.1", 1)
}
