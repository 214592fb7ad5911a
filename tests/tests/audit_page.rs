//! Scenario: an auditor pastes the API server's EncryptionConfiguration; the
//! page decrypts an aesgcm Secret locally (test vector made by an independent
//! Python script), shows it masked, and names a Secret whose key is missing.

use std::io::Write;
use std::process::{Command, Stdio};

use etcd_lens_e2e::browser::{Browser, Turn};
use etcd_lens_e2e::etcd::Etcd;
use etcd_lens_e2e::server::Server;
use etcd_lens_e2e::workspace_root;
use fantoccini::Locator;

const KEY_B64: &str = "c2VjcmV0LWtleS1mb3ItZTJlLXRlc3RzLTMyYnl0ZXM=";

/// `tools/audit-vectors/make_vectors.py`: encrypted values written from the Kubernetes layout.
fn vectors(items: serde_json::Value) -> Vec<(String, Vec<u8>)> {
    let script = workspace_root().join("tools/audit-vectors/make_vectors.py");
    let mut child = Command::new("python3")
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(items.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "make_vectors.py failed");
    let list: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    list.iter()
        .map(|v| {
            let hex = v["value_hex"].as_str().unwrap();
            let bytes = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            (v["key"].as_str().unwrap().to_string(), bytes)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pasted_encryption_config_decrypts_locally_and_masks() {
    let _turn = Turn::take();
    let secret = |name: &str| {
        serde_json::json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": name, "namespace": "prod"}, "data": {"token": "czNjcjN0LXRva2Vu"}})
    };
    let items = serde_json::json!([
        {"key": "/registry/secrets/prod/api-key", "format": "json", "object": secret("api-key"),
         "encrypt": {"provider": "aesgcm", "key_name": "k1", "secret_b64": KEY_B64}},
        {"key": "/registry/secrets/prod/orphan", "format": "json", "object": secret("orphan"),
         "encrypt": {"provider": "aesgcm", "key_name": "gone", "secret_b64": KEY_B64}},
    ]);
    let etcd = Etcd::start();
    for (key, value) in vectors(items) {
        etcd.put_bytes(&key, &value);
    }
    let snap = etcd.dir().join("enc.db");
    etcd.snapshot(&snap);
    let config = format!(
        "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n  - resources: [secrets]\n    providers:\n      - aesgcm:\n          keys:\n            - name: k1\n              secret: {KEY_B64}\n      - identity: {{}}\n"
    );

    let server = Server::start().await;
    let b = Browser::start().await;
    b.open_snapshot(&server.url, &snap).await;
    b.goto(&format!("{}#/audit", server.url)).await;
    b.wait_text("finding-count", |_| true).await;
    b.client
        .find(Locator::Css("[data-testid=audit] details summary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // A configuration that does not parse: the error in place, with its
    // line and column, and the results of the previous run kept.
    let census_before = b.text("census").await;
    b.type_into("encryption-config", "this: is: not: valid")
        .await;
    b.click("run-audit").await;
    let err = b.wait_text("audit-error", |t| !t.is_empty()).await;
    assert!(
        err.contains("line 1") && err.contains("column"),
        "the error names where: {err}"
    );
    assert_eq!(
        b.text("census").await,
        census_before,
        "previous results kept"
    );
    b.find("encryption-config").await.clear().await.unwrap();
    b.client
        .find(Locator::Css("[data-testid=encryption-config]"))
        .await
        .unwrap()
        .send_keys(&config)
        .await
        .unwrap();
    b.client
        .find(Locator::Css("[data-testid=run-audit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait_text("census", |t| t.contains("decrypted with the configuration"))
        .await;
    let undecryptable = b
        .client
        .find_all(Locator::Css(
            "[data-testid=finding][data-rule=secret-undecryptable]",
        ))
        .await
        .unwrap();
    assert_eq!(undecryptable.len(), 1);
    assert_eq!(
        undecryptable[0].attr("data-key").await.unwrap().as_deref(),
        Some("/registry/secrets/prod/orphan")
    );

    // Sorting by key orders the rows by key; the severity order puts the worst first.
    b.client
        .find(Locator::Css("[data-testid=sort-key]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let mut keys = Vec::new();
    for f in b
        .client
        .find_all(Locator::Css("[data-testid=finding]"))
        .await
        .unwrap()
    {
        keys.push(f.attr("data-key").await.unwrap().unwrap_or_default());
    }
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    assert!(keys.len() >= 3, "{keys:?}");

    // The decrypted Secret, masked like a plaintext one until revealed.
    let hex: String = "/registry/secrets/prod/api-key"
        .bytes()
        .map(|c| format!("{c:02x}"))
        .collect();
    b.goto(&format!("{}#/browse/{hex}", server.url)).await;
    b.wait_text("detail-decrypted", |t| t.contains("aesgcm"))
        .await;
    assert_eq!(b.text("detail-kind").await, "v1 Secret");
    assert!(b.text("secret-data.token").await.contains("masked"));
    assert!(!b.body_text().await.contains("s3cr3t-token"));
    b.client
        .find(Locator::Css("[data-testid='reveal-data.token']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait_text("secret-data.token", |t| t == "s3cr3t-token")
        .await;

    let hex: String = "/registry/secrets/prod/orphan"
        .bytes()
        .map(|c| format!("{c:02x}"))
        .collect();
    b.goto(&format!("{}#/browse/{hex}", server.url)).await;
    let err = b.wait_text("detail-decrypt-error", |t| !t.is_empty()).await;
    assert!(err.contains("no aesgcm key named \"gone\""), "{err}");
    b.assert_no_csp_violations("the audit with a configuration")
        .await;
}
