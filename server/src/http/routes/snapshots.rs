//! `/api/v1/snapshots…`: the catalog (with running and failed snapshots),
//! one snapshot, its stored file, and deleting it.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;

use crate::error::Error;
use crate::http::auth::Actor;
use crate::http::state::AppState;
use crate::ops::audit;
use crate::ops::snapshots::{self, DeleteError, SnapshotView};

pub async fn list(State(state): State<AppState>) -> Result<Json<serde_json::Value>, Error> {
    let mut all: Vec<SnapshotView> = state
        .services
        .jobs
        .list()
        .into_iter()
        .map(SnapshotView::Job)
        .collect();
    all.extend(
        state
            .services
            .catalog
            .snapshots()?
            .into_iter()
            .map(|r| SnapshotView::Stored(Box::new(r))),
    );
    Ok(Json(serde_json::json!({ "snapshots": all })))
}

pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<SnapshotView>, Error> {
    if let Some(j) = state.services.jobs.get(&id) {
        return Ok(Json(SnapshotView::Job(j)));
    }
    state
        .services
        .catalog
        .snapshot(&id)?
        .map(|r| Json(SnapshotView::Stored(Box::new(r))))
        .ok_or_else(|| Error::NotFound(format!("no snapshot {id:?}")))
}

/// The stored file as it is (still encrypted when it was encrypted).
pub async fn download(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, Error> {
    let record = state
        .services
        .catalog
        .snapshot(&id)?
        .ok_or_else(|| Error::NotFound(format!("no snapshot {id:?}")))?;
    let path = snapshots::file_of(&state.services.data_dir, &record);
    let file = tokio::fs::File::open(&path).await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::NotFound(format!(
                "the file of snapshot {id:?} is missing from the snapshot folder"
            ))
        } else {
            Error::Internal(anyhow::anyhow!("opening {}: {e}", path.display()))
        }
    })?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| id.clone());
    let body = Body::from_stream(tokio_util::io::ReaderStream::with_capacity(
        file,
        256 * 1024,
    ));
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(
        header::CONTENT_LENGTH,
        HeaderValue::from(record.stored_bytes),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}

#[derive(Debug, Deserialize)]
pub struct DeleteQuery {
    #[serde(default)]
    force: bool,
}

pub async fn delete(
    State(state): State<AppState>,
    Actor(actor): Actor,
    Path(id): Path<String>,
    Query(q): Query<DeleteQuery>,
) -> Result<Json<serde_json::Value>, Error> {
    let r = snapshots::delete(
        &state.services.data_dir,
        &state.services.catalog,
        &id,
        q.force,
    );
    let cluster = r.as_ref().ok().map(|r| r.cluster.clone());
    audit::record(
        &state.services.catalog,
        Utc::now(),
        &actor,
        "snapshot.delete",
        cluster.as_deref(),
        Some(&id),
        &r.as_ref().map(|_| ()).map_err(ToString::to_string),
    );
    // The store's copy goes in the background (queued by the delete, so a
    // failure is retried by the next run).
    if let Some(c) = cluster.as_deref().and_then(|c| state.cluster(c)) {
        crate::ops::ship::spawn_drain(c.clone(), state.services.clone(), actor.clone());
    }
    match r {
        Ok(_) => Ok(Json(serde_json::json!({ "deleted": id }))),
        Err(DeleteError::NotFound) => Err(Error::NotFound(format!("no snapshot {id:?}"))),
        Err(DeleteError::Pinned) => Err(Error::Conflict(format!(
            "snapshot {id:?} is pinned (taken before an upgrade): add ?force=true to delete it"
        ))),
        Err(e) => Err(Error::Internal(anyhow::anyhow!(
            "deleting snapshot {id}: {e}"
        ))),
    }
}

pub async fn audit_log(State(state): State<AppState>) -> Result<Json<serde_json::Value>, Error> {
    Ok(Json(
        serde_json::json!({ "entries": state.services.catalog.audit_log()? }),
    ))
}

/// `?source=local|store|auto` (default auto: the stored file when it is here).
#[derive(Debug, Deserialize)]
pub struct DrillQuery {
    #[serde(default)]
    source: crate::ops::drill::DrillSource,
}

/// Run a restore drill of the snapshot now; the drill's record (also kept in the catalog).
pub async fn drill(
    State(state): State<AppState>,
    Actor(actor): Actor,
    Path(id): Path<String>,
    Query(q): Query<DrillQuery>,
) -> Result<Json<crate::catalog::DrillRecord>, Error> {
    let record = state
        .services
        .catalog
        .snapshot(&id)?
        .ok_or_else(|| Error::NotFound(format!("no snapshot {id:?}")))?;
    let cluster = state.cluster(&record.cluster).cloned().ok_or_else(|| {
        Error::BadRequest(format!(
            "snapshot {id:?} belongs to cluster {:?}, which is not configured",
            record.cluster
        ))
    })?;
    crate::ops::drill::drill_snapshot_from(&state.services, &cluster, &id, &actor, q.source)
        .await
        .map(Json)
        .map_err(Error::BadRequest)
}
