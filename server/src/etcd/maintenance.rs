//! Maintenance calls on one member: defragment, compact, disarm an alarm.
//! The order and the rules (who, when, whether it is worth it) are
//! `ops::defrag`'s; this only talks to etcd.

use std::time::Duration;

use etcd_client::{AlarmAction, AlarmOptions, AlarmType, CompactionOptions};

use super::connect::{self, EtcdError};
use crate::config::ClusterConfig;

/// Defragment the member at `endpoint` (it blocks the member's writes while
/// it runs; a large database takes minutes, so the bound is `timeout`).
pub async fn defragment(
    cluster: &ClusterConfig,
    endpoint: &str,
    timeout: Duration,
) -> Result<(), EtcdError> {
    let mut c = connect::connect(cluster, endpoint, None).await?;
    match tokio::time::timeout(timeout, c.defragment()).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(EtcdError::call(endpoint, &e)),
        Err(_) => Err(EtcdError::Timeout {
            endpoint: endpoint.to_string(),
            timeout_ms: connect::millis(timeout),
        }),
    }
}

/// Compact the key history up to `revision`, physically (waits until the
/// compaction is applied to the backend).
pub async fn compact(
    cluster: &ClusterConfig,
    endpoint: &str,
    revision: i64,
) -> Result<(), EtcdError> {
    let mut c = connect::connect(cluster, endpoint, Some(cluster.snapshot_timeout)).await?;
    match c
        .compact(revision, Some(CompactionOptions::new().with_physical()))
        .await
    {
        Ok(_) => Ok(()),
        // Compacting to a revision already compacted is not an error for us.
        Err(etcd_client::Error::GRpcStatus(s))
            if s.message().contains("required revision has been compacted") =>
        {
            Ok(())
        }
        Err(e) => Err(EtcdError::call(endpoint, &e)),
    }
}

/// The store's current revision, as a linearizable read answers it.
pub async fn current_revision(cluster: &ClusterConfig, endpoint: &str) -> Result<i64, EtcdError> {
    let mut c = connect::connect(cluster, endpoint, Some(cluster.timeout)).await?;
    let r = connect::within(
        cluster,
        endpoint,
        c.get(
            "\0etcd-lens-revision-probe",
            Some(etcd_client::GetOptions::new().with_count_only()),
        ),
    )
    .await?;
    Ok(r.header().map_or(0, |h| h.revision()))
}

/// Disarm `NOSPACE` for `member_id` (goes through raft: needs quorum).
pub async fn disarm_nospace(
    cluster: &ClusterConfig,
    endpoint: &str,
    member_id: u64,
) -> Result<(), EtcdError> {
    let mut c = connect::connect(cluster, endpoint, Some(cluster.timeout)).await?;
    let mut opts = AlarmOptions::new();
    opts.with_member(member_id);
    connect::within(
        cluster,
        endpoint,
        c.alarm(AlarmAction::Deactivate, AlarmType::Nospace, Some(opts)),
    )
    .await
    .map(|_| ())
}
