//! The router as a client sees it (in-process, `tower::ServiceExt::oneshot`):
//! the API needs the right token, answers with it, and every response carries
//! the page's security headers.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use etcd_lens_server::catalog::Catalog;
use etcd_lens_server::{AppState, app};
use http_body_util::BodyExt;
use tower::ServiceExt;

const TOKEN: &str = "a-test-token-0123456789abcdef0123456789";

fn state(dir: &std::path::Path) -> AppState {
    let dist = dir.join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(
        dist.join("index.html"),
        "<!DOCTYPE html><html><head><script>boot()</script></head><body></body></html>",
    )
    .unwrap();
    let catalog = Catalog::open(dir).unwrap();
    AppState::new(dist, dir.to_path_buf(), Some(TOKEN.into()), catalog).unwrap()
}

async fn call(state: &AppState, path: &str, token: Option<&str>) -> (StatusCode, String, String) {
    let mut req = Request::get(path);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let res = app(state.clone())
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let csp = res
        .headers()
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned(), csp)
}

#[tokio::test]
async fn the_api_answers_the_right_token_only() {
    let dir = tempfile::tempdir().unwrap();
    let s = state(dir.path());
    let (status, body, csp) = call(&s, "/api/health", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
    let (status, _, _) = call(&s, "/api/health", Some("wrong-token")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let almost = &TOKEN[..TOKEN.len() - 1];
    let (status, _, _) = call(&s, "/api/health", Some(almost)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a prefix of the token");

    let (status, body, _) = call(&s, "/api/health", Some(TOKEN)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v, serde_json::json!({"ok": true, "snapshots": 0}));

    // The page itself needs no token, and its inline loader is allowed by hash.
    let (status, body, csp) = call(&s, "/", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("boot()"));
    assert!(csp.contains("'sha256-"), "{csp}");
    assert_eq!(call(&s, "/healthz", None).await.0, StatusCode::OK);
}
