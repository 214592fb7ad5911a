//! Webhooks: a JSON message to a cluster's `[cluster.webhook]` URL when a
//! snapshot fails, and once when the next one succeeds again (recovery).
//! Delivery is best effort with a short timeout and two retries; a webhook
//! that cannot be reached is logged, never blocks a snapshot.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::ClusterConfig;

/// The message posted.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Message {
    /// `snapshot_failed` or `snapshot_recovered`.
    pub event: &'static str,
    pub cluster: String,
    pub snapshot_id: String,
    pub stage: Option<String>,
    pub error: Option<String>,
    pub at: DateTime<Utc>,
}

/// Which clusters are failing now (so recovery is sent once).
#[derive(Default)]
pub struct Alerts {
    failing: Mutex<BTreeSet<String>>,
}

impl Alerts {
    /// The message due for this outcome, if any.
    pub fn on_outcome(
        &self,
        cluster: &str,
        id: &str,
        failure: Option<(&str, &str)>,
        now: DateTime<Utc>,
    ) -> Option<Message> {
        let mut failing = self.failing.lock().expect("alerts lock");
        match failure {
            Some((stage, error)) => {
                failing.insert(cluster.to_string());
                Some(Message {
                    event: "snapshot_failed",
                    cluster: cluster.to_string(),
                    snapshot_id: id.to_string(),
                    stage: Some(stage.to_string()),
                    error: Some(error.to_string()),
                    at: now,
                })
            }
            None if failing.remove(cluster) => Some(Message {
                event: "snapshot_recovered",
                cluster: cluster.to_string(),
                snapshot_id: id.to_string(),
                stage: None,
                error: None,
                at: now,
            }),
            None => None,
        }
    }
}

/// POST `message` to the cluster's webhook (nothing when none is configured).
pub async fn deliver(cluster: &ClusterConfig, message: &Message) {
    let Some(hook) = &cluster.webhook else { return };
    let client = match crate::etcd::metrics::plain_http_client(Duration::from_secs(5)) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!("webhook of {:?}: {e}", cluster.name);
            return;
        }
    };
    for attempt in 0..3u32 {
        let mut req = client.post(&hook.url).json(message);
        if let Some((name, value)) = &hook.header {
            req = req.header(name.as_str(), value.as_str());
        }
        match req.send().await {
            Ok(r) if r.status().is_success() => return,
            Ok(r) => tracing::warn!(
                "webhook of {:?}: HTTP {} (attempt {})",
                cluster.name,
                r.status(),
                attempt + 1
            ),
            Err(e) => tracing::warn!(
                "webhook of {:?}: {e} (attempt {})",
                cluster.name,
                attempt + 1
            ),
        }
        tokio::time::sleep(Duration::from_millis(500 * 2u64.pow(attempt))).await;
    }
}
