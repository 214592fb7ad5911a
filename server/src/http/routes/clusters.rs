//! `/api/v1/clusters…`: the configured clusters, their live status, and
//! starting a snapshot.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::Utc;
use serde::Deserialize;

use crate::config::ClusterSummary;
use crate::error::Error;
use crate::etcd::cache::Cached;
use crate::http::auth::Actor;
use crate::http::state::AppState;
use crate::ops::retention;

/// This server's part in the retention election (`etcd::election`).
fn coordination(state: &AppState) -> serde_json::Value {
    serde_json::to_value(state.services.leadership.view(std::time::Instant::now()))
        .unwrap_or_default()
}

pub async fn list(State(state): State<AppState>) -> Json<serde_json::Value> {
    let clusters: Vec<ClusterSummary> = state.clusters.iter().map(|c| c.summary()).collect();
    Json(serde_json::json!({
        "coordination": coordination(&state),
        "clusters": clusters,
        "hint": clusters.is_empty().then_some(
            "no cluster configured: start the server with --endpoints http://127.0.0.1:2379 or --config FILE ([[cluster]] tables; see etcd-lens.example.toml)"
        ),
    }))
}

/// The cluster's status, with this server's role in the retention
/// election beside it (`coordination`).
pub async fn status(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<serde_json::Value>, Error> {
    let cached: Cached = state
        .status
        .get(&name, Utc::now())
        .await
        .ok_or_else(|| Error::NotFound(format!("no cluster named {name:?}")))?;
    Ok(Json(with_coordination(&state, &cached)))
}

/// The status, with this server's role and the cluster's last pass over
/// its store (`catalog_sync`, `ops::sync`; null when the catalog does not
/// follow it).
fn with_coordination(state: &AppState, cached: &Cached) -> serde_json::Value {
    let mut v = serde_json::to_value(cached).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.insert("coordination".into(), coordination(state));
        let followed = state.services.follows.of(&cached.status.cluster);
        o.insert(
            "catalog_sync".into(),
            serde_json::to_value(followed).unwrap_or_default(),
        );
    }
    v
}

pub async fn fleet(State(state): State<AppState>) -> Json<serde_json::Value> {
    let all = state.status.fleet(Utc::now()).await;
    let all: Vec<serde_json::Value> = all.iter().map(|c| with_coordination(&state, c)).collect();
    Json(serde_json::json!({ "coordination": coordination(&state), "clusters": all }))
}

#[derive(Debug, Deserialize)]
pub struct SnapshotQuery {
    reason: Option<String>,
}

/// Start a snapshot; 202 with its id at once, 409 when one runs.
pub async fn start_snapshot(
    State(state): State<AppState>,
    Actor(actor): Actor,
    Path(name): Path<String>,
    Query(q): Query<SnapshotQuery>,
) -> Result<(StatusCode, Json<serde_json::Value>), Error> {
    let cluster = state
        .cluster(&name)
        .cloned()
        .ok_or_else(|| Error::NotFound(format!("no cluster named {name:?}")))?;
    let reason = q.reason.unwrap_or_else(|| "manual".into());
    if !matches!(reason.as_str(), "manual" | "pre-upgrade") {
        return Err(Error::BadRequest(format!(
            "reason {reason:?}: expected `manual` or `pre-upgrade`"
        )));
    }
    let job = state
        .services
        .jobs
        .begin(&cluster, &reason, Utc::now())
        .map_err(|running| {
            Error::Conflict(format!(
                "a snapshot of {name:?} is already running ({running})"
            ))
        })?;
    let id = job.id.clone();
    let services = state.services.clone();
    tokio::spawn(async move {
        let _ = services.snapshot(&cluster, &job, &reason, &actor).await;
    });
    Ok((StatusCode::ACCEPTED, Json(serde_json::json!({ "id": id }))))
}

/// Each schedule's last run, its result and the next run.
pub async fn schedules(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<serde_json::Value>, Error> {
    let cluster = state
        .cluster(&name)
        .ok_or_else(|| Error::NotFound(format!("no cluster named {name:?}")))?;
    // Before its scheduler task has started (or where none runs), the
    // states as the catalog leaves them.
    let mut states = state.schedules.of(&name);
    if states.is_empty() {
        states =
            crate::ops::scheduler::initial_states(cluster, &state.services.catalog, Utc::now());
    }
    let source = crate::ops::schedule_edit::source(cluster, &state.services.catalog);
    // Each state with its runs skipped for another server's claim.
    let schedules: Vec<serde_json::Value> = states
        .iter()
        .map(|st| {
            let mut v = serde_json::to_value(st).unwrap_or_default();
            if let Some(o) = v.as_object_mut() {
                o.insert(
                    "claimed_elsewhere".into(),
                    state.schedules.claimed_elsewhere(&name, &st.name).into(),
                );
            }
            v
        })
        .collect();
    Ok(Json(serde_json::json!({
        "cluster": cluster.name,
        "configured": states.len(),
        "schedules": schedules,
        "source": source,
        "coordination": coordination(&state),
    })))
}

#[derive(Debug, Deserialize)]
pub struct ScheduleEditBody {
    pub schedules: Vec<crate::schedule::ScheduleSpec>,
}

/// `PUT /clusters/{name}/schedules`: the page's snapshot schedules, kept in
/// the catalog; they replace the file's until reset. 400 names the bad one.
pub async fn edit_schedules(
    State(state): State<AppState>,
    Actor(actor): Actor,
    Path(name): Path<String>,
    Json(body): Json<ScheduleEditBody>,
) -> Result<Json<serde_json::Value>, Error> {
    change_schedules(state, actor, name, Some(body.schedules)).await
}

/// `DELETE /clusters/{name}/schedules`: back to the configuration file's.
pub async fn reset_schedules(
    State(state): State<AppState>,
    Actor(actor): Actor,
    Path(name): Path<String>,
) -> Result<Json<serde_json::Value>, Error> {
    change_schedules(state, actor, name, None).await
}

async fn change_schedules(
    state: AppState,
    actor: String,
    name: String,
    specs: Option<Vec<crate::schedule::ScheduleSpec>>,
) -> Result<Json<serde_json::Value>, Error> {
    let cluster = state
        .cluster(&name)
        .cloned()
        .ok_or_else(|| Error::NotFound(format!("no cluster named {name:?}")))?;
    crate::ops::schedule_edit::set(&state.services, &cluster, specs, &actor, Utc::now())
        .map_err(Error::BadRequest)?;
    state.schedules.reload(&name);
    // The scheduler restarts in the background: answer what now runs.
    let states =
        crate::ops::scheduler::initial_states(&cluster, &state.services.catalog, Utc::now());
    let source = crate::ops::schedule_edit::source(&cluster, &state.services.catalog);
    Ok(Json(serde_json::json!({
        "cluster": cluster.name,
        "configured": states.len(),
        "schedules": states,
        "source": source,
    })))
}

/// The retention dry run: what would be deleted now, and why, rule by rule.
pub async fn retention_plan(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<serde_json::Value>, Error> {
    let cluster = state
        .cluster(&name)
        .ok_or_else(|| Error::NotFound(format!("no cluster named {name:?}")))?;
    let plan = retention::dry_run(cluster, &state.services.catalog, Utc::now())
        .map_err(|e| Error::Internal(anyhow::anyhow!(e)))?;
    Ok(Json(serde_json::json!({
        "cluster": cluster.name,
        "policy": cluster.retention,
        "decisions": plan,
    })))
}

#[derive(Debug, Deserialize)]
pub struct DefragQuery {
    /// Default true: the page asks before it changes anything.
    dry_run: Option<bool>,
    min_reclaimable_bytes: Option<u64>,
    quota_ratio: Option<f64>,
    #[serde(default)]
    recover_nospace: bool,
}

/// Defragment (or plan it, the default): the report, member by member.
pub async fn defrag(
    State(state): State<AppState>,
    Actor(actor): Actor,
    Path(name): Path<String>,
    Query(q): Query<DefragQuery>,
) -> Result<Json<crate::ops::defrag::Report>, Error> {
    use crate::ops::defrag;
    let cluster = state
        .cluster(&name)
        .cloned()
        .ok_or_else(|| Error::NotFound(format!("no cluster named {name:?}")))?;
    let rule = defrag::Rule::custom(q.min_reclaimable_bytes, q.quota_ratio);
    let dry_run = q.dry_run.unwrap_or(true);
    let pause = std::time::Duration::from_secs(1);
    let report = if q.recover_nospace {
        defrag::recover_nospace(&cluster, pause).await
    } else {
        defrag::run(&cluster, rule, dry_run, pause).await
    };
    if !dry_run || q.recover_nospace {
        crate::ops::audit::record(
            &state.services.catalog,
            Utc::now(),
            &actor,
            if q.recover_nospace {
                "nospace.recover"
            } else {
                "defrag"
            },
            Some(&name),
            None,
            &match &report.stopped {
                None => Ok(()),
                Some(s) => Err(s.clone()),
            },
        );
    }
    Ok(Json(report))
}

#[derive(Debug, Deserialize)]
pub struct HoldingQuery {
    pub key: String,
}

/// `GET /clusters/{name}/holding?key=K`: the newest catalogued snapshot of
/// the cluster that still holds `K`, read with its drill identity. Only
/// revisions and snapshot ids are answered, never a value.
pub async fn holding(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<HoldingQuery>,
) -> Result<Json<crate::ops::find::Found>, Error> {
    let cluster = state
        .cluster(&name)
        .cloned()
        .ok_or_else(|| Error::NotFound(format!("no cluster named {name:?}")))?;
    if q.key.is_empty() {
        return Err(Error::BadRequest("give the key: ?key=/registry/…".into()));
    }
    let records = state.services.catalog.snapshots()?;
    let data_dir = state.services.data_dir.clone();
    let found = tokio::task::spawn_blocking(move || {
        let identities = cluster
            .drill
            .as_ref()
            .map(|d| d.identities.as_slice())
            .unwrap_or_default();
        crate::ops::find::newest_holding(
            records,
            &data_dir,
            Some(&cluster.name),
            q.key.as_bytes(),
            false,
            crate::ops::find::open_stored(identities),
        )
    })
    .await
    .map_err(|e| Error::Internal(anyhow::anyhow!("the search stopped: {e}")))?;
    Ok(Json(found))
}

/// `GET /clusters/{name}/scorecard`: every operations practice, judged
/// (pass / warn / fail / unknown) with its evidence and where to fix it.
pub async fn scorecard(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<etcd_lens_core::scorecard::Scorecard>, Error> {
    let cluster = state
        .cluster(&name)
        .cloned()
        .ok_or_else(|| Error::NotFound(format!("no cluster named {name:?}")))?;
    let now = Utc::now();
    let status = state
        .status
        .get(&name, now)
        .await
        .map(|c| c.status)
        .ok_or_else(|| format!("no status for {name:?}"));
    let schedules = state.schedules.of(&name);
    crate::ops::scorecard::scorecard(&state.services, &cluster, status, &schedules, now)
        .await
        .map(Json)
        .map_err(|e| Error::Internal(anyhow::anyhow!(e)))
}
