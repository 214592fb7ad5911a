//! Claims: before a scheduled run snapshots, it creates
//! `<prefix>/claims/<cluster>/<slot>` in the cluster's store with a
//! create-only put (`PutMode::Create`); only the server whose put succeeded
//! snapshots that slot, so servers sharing a bucket never take one slot twice.
//!
//! ```text
//! <prefix>/claims/<cluster>/<YYYYMMDDTHHMMSSZ>   {"server_id", "cluster", "slot", "schedule", "snapshot_id", "claimed_at"}
//! ```
//!
//! The slot is the run's due time in UTC, to the second (cron's
//! granularity), written like the time in snapshot ids. Claims sit beside
//! the clusters' folders, one level deeper, so `rebuild` (which reads only a
//! cluster folder's own objects) never mistakes one for a snapshot.
//!
//! Exclusion rests on the store's create-only put: honoured atomically by a
//! local folder (object_store's `LocalFileSystem` links the new file into
//! place) and by S3 with `If-None-Match: *`; the start-up probe says whether
//! the store honours it.
//!
//! What this does not do: decide what a failed claim means (the scheduler
//! does: a lost claim skips the run, an unreachable store does not), or read
//! a clock (the caller passes `claimed_at` and `now`).

use chrono::{DateTime, Utc};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStoreExt, PutMode, PutPayload};
use serde::{Deserialize, Serialize};

use super::ShipError;
use super::store::Store;
/// The key format lives with the other object keys (`store`).
pub use super::store::{claim_key, claims_prefix, parse_slot, slot_name};

/// What a claim object holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimBody {
    pub server_id: String,
    pub cluster: String,
    pub slot: DateTime<Utc>,
    pub schedule: String,
    /// The snapshot the claimant takes for the slot.
    pub snapshot_id: String,
    pub claimed_at: DateTime<Utc>,
}

/// How a claim went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claimed {
    /// Ours: snapshot the slot.
    Won { key: String },
    /// Someone created the key first (`by`: its server id, as its body says).
    Lost { key: String, by: String },
}

/// Claim `body.slot` for `body.cluster`. `Err` when the store could not be
/// asked at all (not a lost claim).
pub async fn claim(store: &Store, body: &ClaimBody) -> Result<Claimed, ShipError> {
    let key = store.claim_key(&body.cluster, body.slot);
    let path = ObjectPath::from(key.as_str());
    let json = serde_json::to_vec(body).unwrap_or_default();
    match store
        .inner
        .put_opts(&path, PutPayload::from(json), PutMode::Create.into())
        .await
    {
        Ok(_) => Ok(Claimed::Won { key }),
        Err(object_store::Error::AlreadyExists { .. })
        | Err(object_store::Error::Precondition { .. }) => {
            let by = match read(store, &key).await {
                Ok(b) => b.server_id,
                Err(e) => format!("another server (its claim could not be read: {e})"),
            };
            Ok(Claimed::Lost { key, by })
        }
        Err(e) => Err(store.err("claiming", &key, e)),
    }
}

/// One claim object.
pub async fn read(store: &Store, key: &str) -> Result<ClaimBody, ShipError> {
    let path = ObjectPath::from(key);
    let bytes = store
        .inner
        .get(&path)
        .await
        .map_err(|e| store.err("reading", key, e))?
        .bytes()
        .await
        .map_err(|e| store.err("reading", key, e))?;
    serde_json::from_slice(&bytes).map_err(|e| ShipError::Damaged {
        store: store.name().to_string(),
        key: key.to_string(),
        what: format!("not a claim: {e}"),
    })
}

/// Every claim of `cluster`: (key, slot), sorted by slot.
pub async fn list(store: &Store, cluster: &str) -> Result<Vec<(String, DateTime<Utc>)>, ShipError> {
    let folder = store.claims_prefix(cluster);
    let listed = store.list_folder(&folder).await?;
    let mut out: Vec<(String, DateTime<Utc>)> = listed
        .into_iter()
        .filter_map(|m| {
            let key = m.location.to_string();
            let slot = parse_slot(key.strip_prefix(&folder)?)?;
            Some((key, slot))
        })
        .collect();
    out.sort_by_key(|(_, slot)| *slot);
    Ok(out)
}

/// The claims whose slot is older than `keep` at `now`: no server claims a
/// slot that old any more (runs missed while down are counted, not run;
/// a catch-up claims the latest slot).
pub fn expired(
    claims: &[(String, DateTime<Utc>)],
    now: DateTime<Utc>,
    keep: chrono::Duration,
) -> Vec<String> {
    claims
        .iter()
        .filter(|(_, slot)| now - *slot > keep)
        .map(|(k, _)| k.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn keys_follow_the_layout() {
        let slot = at("2026-12-02T14:26:50Z");
        assert_eq!(
            claim_key("prod", "main", slot),
            "prod/claims/main/20261202T142650Z"
        );
        assert_eq!(claim_key("", "main", slot), "claims/main/20261202T142650Z");
        assert_eq!(parse_slot("20261202T142650Z"), Some(slot));
        assert_eq!(parse_slot("x.json"), None);
        let claims = vec![
            ("a".to_string(), at("2026-11-20T00:00:00Z")),
            ("b".to_string(), at("2026-12-01T00:00:00Z")),
        ];
        assert_eq!(
            expired(
                &claims,
                at("2026-12-02T00:00:00Z"),
                chrono::Duration::days(7)
            ),
            vec!["a".to_string()]
        );
    }

    /// Two claimants of one slot on a local folder: exactly one wins, and
    /// the loser is told who.
    #[test]
    fn one_slot_one_winner() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = crate::ship::StoreConfig {
            backend: crate::ship::Backend::Local {
                path: dir.path().to_path_buf(),
            },
            prefix: "p".into(),
            upload_attempts: 1,
            retry_timeout: std::time::Duration::from_secs(1),
        };
        let store = Store::open(&cfg).unwrap();
        let slot = at("2026-12-02T14:26:50Z");
        let body = |server: &str| ClaimBody {
            server_id: server.into(),
            cluster: "main".into(),
            slot,
            schedule: "every-2s".into(),
            snapshot_id: format!("main-{server}"),
            claimed_at: slot,
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let (body_a, body_b) = (body("a"), body("b"));
            let (a, b) = tokio::join!(claim(&store, &body_a), claim(&store, &body_b));
            let outcomes = [a.unwrap(), b.unwrap()];
            let won: Vec<_> = outcomes
                .iter()
                .filter(|c| matches!(c, Claimed::Won { .. }))
                .collect();
            assert_eq!(won.len(), 1, "{outcomes:?}");
            let winner = if matches!(outcomes[0], Claimed::Won { .. }) {
                "a"
            } else {
                "b"
            };
            assert!(
                outcomes
                    .iter()
                    .any(|c| matches!(c, Claimed::Lost { by, .. } if by == winner)),
                "{outcomes:?}"
            );
            let listed = list(&store, "main").await.unwrap();
            assert_eq!(
                listed,
                vec![("p/claims/main/20261202T142650Z".into(), slot)]
            );
            assert_eq!(read(&store, &listed[0].0).await.unwrap().server_id, winner);
        });
    }
}
