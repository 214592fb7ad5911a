//! `GET /api/health`: the server is up and its catalog answers.

use axum::Json;
use axum::extract::State;

use crate::error::Error;
use crate::http::state::AppState;

pub async fn get(State(state): State<AppState>) -> Result<Json<serde_json::Value>, Error> {
    let n = state.services.catalog.snapshot_count()?;
    Ok(Json(serde_json::json!({ "ok": true, "snapshots": n })))
}
