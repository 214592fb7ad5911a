//! The companion server's API over `fetch`, for the Live page.
//!
//! Every call sends the API token as `Authorization: Bearer …` (never in a
//! URL), omits cookies and is not cached. A 401 becomes
//! [`ApiError::Unauthorized`], so the page can forget the token and ask
//! again; an error answer becomes its `{"error": …}` message. Nothing here
//! logs: the token must never reach the console.

use serde::de::DeserializeOwned;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, Request, RequestCache, RequestCredentials, RequestInit, Response};

use super::js_error;
use crate::live::paths;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// The page was not served by etcd-lens (a static host, a file): there is no API here.
    #[error("{0}")]
    NoServer(String),
    /// The token is missing or was refused.
    #[error("the server refused the API token")]
    Unauthorized,
    /// The server answered with an error.
    #[error("{message} (HTTP {status})")]
    Server { status: u16, message: String },
    /// No answer at all (the server stopped, the network failed).
    #[error("no answer from the server: {0}")]
    Network(String),
    /// An answer that does not read as expected.
    #[error("an unexpected answer from the server: {0}")]
    BadAnswer(String),
}

/// Send `method path` with the token; a 2xx response as it is, else the error.
pub async fn request(method: &str, path: &str, token: Option<&str>) -> Result<Response, ApiError> {
    request_with(method, path, token, None).await
}

/// [`request`] with a JSON body.
async fn request_with(
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> Result<Response, ApiError> {
    let init = RequestInit::new();
    init.set_method(method);
    init.set_credentials(RequestCredentials::Omit);
    init.set_cache(RequestCache::NoStore);
    let headers = Headers::new().map_err(|e| ApiError::Network(js_error(&e)))?;
    if let Some(t) = token {
        // The only place the token goes: this header, to this origin.
        headers
            .set("Authorization", &format!("Bearer {t}"))
            .map_err(|_| {
                ApiError::BadAnswer("the token holds characters a header cannot carry".into())
            })?;
    }
    if let Some(b) = body {
        headers
            .set("Content-Type", "application/json")
            .map_err(|e| ApiError::Network(js_error(&e)))?;
        init.set_body(&wasm_bindgen::JsValue::from_str(b));
    }
    init.set_headers(&headers);
    let req =
        Request::new_with_str_and_init(path, &init).map_err(|e| ApiError::Network(js_error(&e)))?;
    let res: Response = JsFuture::from(
        web_sys::window()
            .expect("a window")
            .fetch_with_request(&req),
    )
    .await
    .map_err(|e| ApiError::Network(js_error(&e)))?
    .dyn_into()
    .map_err(|_| ApiError::BadAnswer("fetch gave no Response".into()))?;
    match res.status() {
        200..=299 => Ok(res),
        401 => Err(ApiError::Unauthorized),
        status => Err(ApiError::Server {
            status,
            message: error_message(&res).await,
        }),
    }
}

/// The server's `{"error": "…"}`, or its text, or the status line.
async fn error_message(res: &Response) -> String {
    let text = match res.text() {
        Ok(p) => JsFuture::from(p)
            .await
            .ok()
            .and_then(|t| t.as_string())
            .unwrap_or_default(),
        Err(_) => String::new(),
    };
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text)
        && let Some(e) = v.get("error").and_then(|e| e.as_str())
    {
        return e.to_string();
    }
    let t = text.trim();
    if t.is_empty() || t.starts_with('<') {
        res.status_text()
    } else {
        // A bounded quote: an HTML error page says nothing useful at length.
        t.chars().take(300).collect()
    }
}

/// `method path`, its JSON body read as `T`.
pub async fn json<T: DeserializeOwned>(
    method: &str,
    path: &str,
    token: Option<&str>,
) -> Result<T, ApiError> {
    read_json(request(method, path, token).await?).await
}

/// `method path` sending `body` as JSON, the answer read as `T`.
pub async fn send_json<T: DeserializeOwned>(
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &impl serde::Serialize,
) -> Result<T, ApiError> {
    let body = serde_json::to_string(body).map_err(|e| ApiError::BadAnswer(e.to_string()))?;
    read_json(request_with(method, path, token, Some(&body)).await?).await
}

async fn read_json<T: DeserializeOwned>(res: Response) -> Result<T, ApiError> {
    let text = JsFuture::from(res.text().map_err(|e| ApiError::Network(js_error(&e)))?)
        .await
        .map_err(|e| ApiError::Network(js_error(&e)))?
        .as_string()
        .unwrap_or_default();
    serde_json::from_str(&text).map_err(|e| ApiError::BadAnswer(e.to_string()))
}

/// Is this page served by etcd-lens, and does it take `token`?
/// `Ok` when the API answers; [`ApiError::Unauthorized`] when it is there
/// but wants a (different) token; [`ApiError::NoServer`] when nothing here
/// is an etcd-lens API: no answer, a 404, or a static host's HTML fallback.
pub async fn health(token: Option<&str>) -> Result<(), ApiError> {
    let no_server = |why: String| ApiError::NoServer(why);
    match request("GET", paths::HEALTH, token).await {
        Ok(res) => {
            let json = res
                .headers()
                .get("content-type")
                .ok()
                .flatten()
                .is_some_and(|t| t.contains("json"));
            if json {
                Ok(())
            } else {
                Err(no_server(format!(
                    "{} answers with a page, not the API",
                    paths::HEALTH
                )))
            }
        }
        Err(ApiError::Unauthorized) => Err(ApiError::Unauthorized),
        // etcd-lens is there but failing (its catalog, say): say that, not "no server".
        Err(e @ ApiError::Server { status: 500.., .. }) => Err(e),
        Err(ApiError::Server { status, .. }) => Err(no_server(format!(
            "{} answers HTTP {status}",
            paths::HEALTH
        ))),
        Err(ApiError::Network(e)) => {
            Err(no_server(format!("{} does not answer: {e}", paths::HEALTH)))
        }
        Err(e) => Err(e),
    }
}
