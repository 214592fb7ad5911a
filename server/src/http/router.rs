//! The router: `/healthz`, `/api/*` behind the token, everything else the app.

use axum::Router;
use axum::middleware;
use axum::routing::get;
use tower_http::services::{ServeDir, ServeFile};

use super::state::AppState;
use super::{auth, headers, routes};

pub fn app(state: AppState) -> Router {
    let api = Router::new()
        .route("/health", get(routes::health::get))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ));
    let files = ServeDir::new(&state.dist).fallback(ServeFile::new(state.dist.join("index.html")));
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .nest("/api", api)
        .fallback_service(files)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            headers::count_and_secure,
        ))
        .with_state(state)
}
