//! Each cluster's last status answer, with its age, so a page refreshing
//! every few seconds (or many pages) never multiplies the load on etcd.
//!
//! - An answer younger than `max_age` (counted from the end of the refresh
//!   that made it) is served as is.
//! - A stale answer starts one refresh in the background (never two at once
//!   per cluster: later askers wait for the same one) and waits for it at most
//!   `wait`; a cluster whose members hang for their whole timeout is then
//!   answered from its last answer, marked `refreshing`, instead of holding
//!   every fleet answer for the timeout.
//! - The first answer of a cluster is always waited for (it is bounded by
//!   the cluster's own timeouts).
//! - The fleet answer asks at most [`FLEET_CONCURRENCY`] clusters at once.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::{Semaphore, watch};

use super::status::{ClusterStatus, PreviousScrapes, cluster_status};
use crate::config::ClusterConfig;

/// How many clusters are refreshed at once.
pub const FLEET_CONCURRENCY: usize = 8;
/// How long an asker waits for a refresh when an older answer exists.
pub const REFRESH_WAIT: Duration = Duration::from_millis(750);

#[derive(Debug, Clone, Serialize)]
pub struct Cached {
    #[serde(flatten)]
    pub status: ClusterStatus,
    /// Milliseconds since the answer was complete.
    pub age_ms: i64,
    /// A newer answer is being fetched (this one is older than the cache's limit).
    pub refreshing: bool,
}

#[derive(Default)]
struct SlotState {
    /// The answer and when its refresh finished.
    answer: Option<(ClusterStatus, DateTime<Utc>)>,
    /// Set while a refresh runs; it flips to `true` when done.
    inflight: Option<watch::Receiver<bool>>,
}

struct Slot {
    cluster: Arc<ClusterConfig>,
    state: Mutex<SlotState>,
    /// Scrapes of the previous refresh (the disk p99 is over the interval).
    previous: tokio::sync::Mutex<PreviousScrapes>,
}

pub struct StatusCache {
    slots: Vec<Arc<Slot>>,
    max_age: Duration,
    wait: Duration,
    fleet: Arc<Semaphore>,
    clock: fn() -> DateTime<Utc>,
}

impl StatusCache {
    pub fn new(clusters: &[Arc<ClusterConfig>], max_age: Duration) -> Self {
        Self {
            slots: clusters
                .iter()
                .map(|c| {
                    Arc::new(Slot {
                        cluster: c.clone(),
                        state: Mutex::default(),
                        previous: tokio::sync::Mutex::default(),
                    })
                })
                .collect(),
            max_age,
            wait: REFRESH_WAIT,
            fleet: Arc::new(Semaphore::new(FLEET_CONCURRENCY)),
            clock: Utc::now,
        }
    }

    /// One cluster's answer at `now`; `None` for an unknown cluster.
    pub async fn get(&self, name: &str, now: DateTime<Utc>) -> Option<Cached> {
        let slot = self.slots.iter().find(|s| s.cluster.name == name)?;
        Some(self.answer(slot, now).await)
    }

    /// Every cluster, in configuration order.
    pub async fn fleet(&self, now: DateTime<Utc>) -> Vec<Cached> {
        futures::future::join_all(self.slots.iter().map(|s| self.answer(s, now))).await
    }

    async fn answer(&self, slot: &Arc<Slot>, now: DateTime<Utc>) -> Cached {
        loop {
            let (done, have_answer) = {
                let mut st = slot.state.lock().expect("cache lock");
                if let Some((status, at)) = &st.answer
                    && is_fresh(*at, now, self.max_age)
                {
                    return self.cached(status, *at, false);
                }
                let have_answer = st.answer.is_some();
                let rx = match &st.inflight {
                    Some(rx) => rx.clone(),
                    None => {
                        let rx = self.start_refresh(slot);
                        st.inflight = Some(rx.clone());
                        rx
                    }
                };
                (rx, have_answer)
            };
            let mut done = done;
            let waited = if have_answer {
                tokio::time::timeout(self.wait, done.wait_for(|d| *d))
                    .await
                    .ok()
            } else {
                Some(done.wait_for(|d| *d).await)
            };
            let finished = matches!(waited, Some(Ok(_)));
            let mut st = slot.state.lock().expect("cache lock");
            if matches!(waited, Some(Err(_))) {
                // The refresh task ended without sending (cancelled): forget it.
                st.inflight = None;
            }
            if let Some((status, at)) = &st.answer {
                let refreshing = !finished && st.inflight.is_some();
                return self.cached(status, *at, refreshing);
            }
            // The first refresh ended without an answer (its task was
            // cancelled at shutdown): try again.
        }
    }

    fn cached(&self, status: &ClusterStatus, at: DateTime<Utc>, refreshing: bool) -> Cached {
        Cached {
            status: status.clone(),
            age_ms: ((self.clock)() - at).num_milliseconds().max(0),
            refreshing,
        }
    }

    /// Refresh in a task of its own, so an asker that stops waiting does not
    /// cancel it.
    fn start_refresh(&self, slot: &Arc<Slot>) -> watch::Receiver<bool> {
        let (tx, rx) = watch::channel(false);
        let slot = slot.clone();
        let fleet = self.fleet.clone();
        let clock = self.clock;
        tokio::spawn(async move {
            let _permit = fleet.acquire_owned().await;
            let mut previous = slot.previous.lock().await;
            let status = cluster_status(&slot.cluster, &mut previous, clock()).await;
            let at = clock();
            let mut st = slot.state.lock().expect("cache lock");
            st.answer = Some((status, at));
            st.inflight = None;
            let _ = tx.send(true);
        });
        rx
    }
}

/// Whether an answer completed at `at` may still be served at `now`. An
/// answer completed after `now` (a refresh that finished while this asker
/// waited for it) is fresh; one from further in the future than `max_age`
/// means the clock stepped back, and is refreshed.
pub fn is_fresh(at: DateTime<Utc>, now: DateTime<Utc>, max_age: Duration) -> bool {
    let Ok(max) = chrono::TimeDelta::from_std(max_age) else {
        return false;
    };
    let age = now - at;
    age < max && age > -max
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
            is_fresh(t, t - chrono::TimeDelta::milliseconds(500), s),
            "finished while the asker waited"
        );
        assert!(
            !is_fresh(t, t - chrono::TimeDelta::seconds(60), s),
            "a clock step back refreshes"
        );
    }
}
