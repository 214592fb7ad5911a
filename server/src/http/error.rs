//! [`crate::error::Error`] as an HTTP response: `{"error": "…"}` with its status.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::error::Error;

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = match &self {
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::Internal(detail) => {
                // Logged here, once; the caller gets no detail.
                tracing::error!("{detail:#}");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        (
            status,
            Json(serde_json::json!({ "error": self.to_string() })),
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_detail_is_not_sent() {
        let r =
            Error::Internal(anyhow::anyhow!("reading /etc/etcd/secret.key failed")).into_response();
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let r = Error::NotFound("no snapshot 42".into()).into_response();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }
}
