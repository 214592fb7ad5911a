//! The audit log's entries: who did what to which cluster or snapshot.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::catalog::{AuditEntry, Catalog};

/// The actor of an API call: a fingerprint of its token, never the token.
pub fn token_actor(token: Option<&str>) -> String {
    match token {
        Some(t) => format!("token:{}", hex::encode(&Sha256::digest(t.as_bytes())[..6])),
        None => "no-token".into(),
    }
}

/// Append one entry; a failure to log is logged, not hidden, and does not
/// undo the action (which already happened).
#[allow(clippy::too_many_arguments)]
pub fn record(
    catalog: &Catalog,
    now: DateTime<Utc>,
    actor: &str,
    action: &str,
    cluster: Option<&str>,
    snapshot_id: Option<&str>,
    result: &Result<(), String>,
) {
    let result = match result {
        Ok(()) => "ok".to_string(),
        Err(e) => format!("error: {e}"),
    };
    note(catalog, now, actor, action, cluster, snapshot_id, result);
}

/// Append an entry whose result is neither `ok` nor an error (a run
/// skipped because another server claimed its slot).
pub fn note(
    catalog: &Catalog,
    now: DateTime<Utc>,
    actor: &str,
    action: &str,
    cluster: Option<&str>,
    snapshot_id: Option<&str>,
    result: String,
) {
    let entry = AuditEntry {
        seq: 0,
        at: now,
        actor: actor.to_string(),
        action: action.to_string(),
        cluster: cluster.map(str::to_string),
        snapshot_id: snapshot_id.map(str::to_string),
        result,
    };
    if let Err(e) = catalog.append_audit(entry) {
        tracing::error!("writing the audit log: {e}");
    }
}
