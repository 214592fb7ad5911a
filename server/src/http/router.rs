//! The router: `/healthz`, `/api/*` behind the token, everything else the app.

use axum::Router;
use axum::middleware;
use axum::routing::{get, post};
use tower_http::services::{ServeDir, ServeFile};

use super::state::AppState;
use super::{auth, headers, routes};

pub fn app(state: AppState) -> Router {
    let v1 = Router::new()
        .route("/clusters", get(routes::clusters::list))
        .route("/clusters/status", get(routes::clusters::fleet))
        .route("/clusters/{name}/status", get(routes::clusters::status))
        .route(
            "/clusters/{name}/snapshots",
            post(routes::clusters::start_snapshot),
        )
        .route(
            "/clusters/{name}/schedules",
            get(routes::clusters::schedules)
                .put(routes::clusters::edit_schedules)
                .delete(routes::clusters::reset_schedules),
        )
        .route("/clusters/{name}/holding", get(routes::clusters::holding))
        .route(
            "/clusters/{name}/scorecard",
            get(routes::clusters::scorecard),
        )
        .route(
            "/clusters/{name}/retention",
            get(routes::clusters::retention_plan),
        )
        .route("/snapshots", get(routes::snapshots::list))
        .route(
            "/snapshots/{id}",
            get(routes::snapshots::get).delete(routes::snapshots::delete),
        )
        .route("/snapshots/{id}/download", get(routes::snapshots::download))
        .route("/snapshots/{id}/drill", post(routes::snapshots::drill))
        .route("/audit-log", get(routes::snapshots::audit_log));
    let api = Router::new()
        .route("/health", get(routes::health::get))
        .nest("/v1", v1)
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ));
    let files = ServeDir::new(&state.dist).fallback(ServeFile::new(state.dist.join("index.html")));
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(routes::metrics::get))
        .nest("/api", api)
        .fallback_service(files)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            headers::count_and_secure,
        ))
        .with_state(state)
}
