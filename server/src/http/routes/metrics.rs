//! `GET /metrics`: the server's metrics for Prometheus, behind its own
//! read-only token (the API token can delete snapshots; Prometheus keeps
//! this one in `authorization.credentials_file`).

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;

use crate::http::state::AppState;

pub async fn get(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(expected) = state.metrics_token.as_deref() {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if !given
            .is_some_and(|g| crate::http::auth::constant_time_eq(g.as_bytes(), expected.as_bytes()))
        {
            return (
                StatusCode::UNAUTHORIZED,
                "missing or wrong metrics token (Authorization: Bearer <token>)\n",
            )
                .into_response();
        }
    }
    for c in state.status.fleet(Utc::now()).await {
        state.services.metrics.observe(&c.status);
    }
    state
        .services
        .metrics
        .observe_role(&state.services.leadership.view(std::time::Instant::now()));
    let mut res = state.services.metrics.encode().into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    res
}
