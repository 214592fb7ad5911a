//! Each cluster's last status answer, with its age, so a page refreshing
//! every few seconds (or many pages) never multiplies the load on etcd: an
//! answer younger than `max_age` is served as is, and concurrent askers of
//! a stale one wait for a single refresh. The fleet answer refreshes stale
//! clusters with bounded concurrency.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::{Mutex, Semaphore};

use super::status::{ClusterStatus, PreviousScrapes, cluster_status};
use crate::config::ClusterConfig;

/// How many clusters are asked at once by a fleet answer.
pub const FLEET_CONCURRENCY: usize = 8;

#[derive(Debug, Clone, Serialize)]
pub struct Cached {
    #[serde(flatten)]
    pub status: ClusterStatus,
    /// How old the answer is, when served.
    pub age_ms: i64,
}

struct Slot {
    cluster: Arc<ClusterConfig>,
    inner: Mutex<(Option<ClusterStatus>, PreviousScrapes)>,
}

pub struct StatusCache {
    slots: Vec<Slot>,
    max_age: Duration,
    fleet: Semaphore,
}

impl StatusCache {
    pub fn new(clusters: &[Arc<ClusterConfig>], max_age: Duration) -> Self {
        Self {
            slots: clusters
                .iter()
                .map(|c| Slot {
                    cluster: c.clone(),
                    inner: Mutex::new((None, PreviousScrapes::default())),
                })
                .collect(),
            max_age,
            fleet: Semaphore::new(FLEET_CONCURRENCY),
        }
    }

    /// One cluster's answer, fresh if the cached one is older than `max_age` at `now`.
    /// `None` for an unknown cluster.
    pub async fn get(&self, name: &str, now: DateTime<Utc>) -> Option<Cached> {
        let slot = self.slots.iter().find(|s| s.cluster.name == name)?;
        Some(self.refresh(slot, now).await)
    }

    /// Every cluster, in configuration order.
    pub async fn fleet(&self, now: DateTime<Utc>) -> Vec<Cached> {
        futures::future::join_all(self.slots.iter().map(|s| async move {
            let _permit = self.fleet.acquire().await;
            self.refresh(s, now).await
        }))
        .await
    }

    async fn refresh(&self, slot: &Slot, now: DateTime<Utc>) -> Cached {
        let mut guard = slot.inner.lock().await;
        let (cached, previous) = &mut *guard;
        if let Some(c) = cached
            && is_fresh(c.checked_at, now, self.max_age)
        {
            return Cached {
                age_ms: (now - c.checked_at).num_milliseconds().max(0),
                status: c.clone(),
            };
        }
        let status = cluster_status(&slot.cluster, previous, now).await;
        *cached = Some(status.clone());
        Cached { status, age_ms: 0 }
    }
}

/// Whether an answer checked at `checked_at` may still be served at `now`.
pub fn is_fresh(checked_at: DateTime<Utc>, now: DateTime<Utc>, max_age: Duration) -> bool {
    let age = now - checked_at;
    age >= chrono::TimeDelta::zero() && age.to_std().is_ok_and(|a| a < max_age)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freshness() {
        let t = Utc::now();
        let s = Duration::from_secs(2);
        assert!(is_fresh(t, t + chrono::TimeDelta::milliseconds(1999), s));
        assert!(!is_fresh(t, t + chrono::TimeDelta::milliseconds(2000), s));
        assert!(
            !is_fresh(t, t - chrono::TimeDelta::milliseconds(1), s),
            "a clock step back refreshes"
        );
    }
}
