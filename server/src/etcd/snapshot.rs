//! The snapshot stream of one member, and the facts recorded right after it.
//!
//! Which member: the one the cluster's `snapshot_member` names, else a
//! reachable voting follower (to spare the leader the disk and network
//! load), the most caught-up first (highest applied index, then name); the
//! leader only when no follower answers. Learners are never chosen: they
//! may lag arbitrarily.
//!
//! `Maintenance.Snapshot` sends the database in chunks and then one more
//! message whose blob is the data's SHA-256; checking it is the writer's job
//! (`crate::snapshot`), this only relays messages.

use std::time::Duration;

use etcd_client::{Client, SnapshotStreaming};

use super::connect::{self, EtcdError};
use super::status::{ClusterStatus, MemberStatus};
use crate::config::ClusterConfig;

/// The member a snapshot is taken from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Source {
    pub member_id: String,
    pub member_name: String,
    pub endpoint: String,
}

/// Pick the member by the rule in the module doc.
pub fn choose(cluster: &ClusterConfig, status: &ClusterStatus) -> Result<Source, EtcdError> {
    let usable = |m: &&MemberStatus| m.reachable && !m.is_learner && m.endpoint.is_some();
    let pick = if let Some(name) = &cluster.snapshot_member {
        let m = status
            .members
            .iter()
            .find(|m| &m.name == name)
            .ok_or_else(|| {
                EtcdError::Cluster(format!(
                    "snapshot_member {name:?} is not a member of cluster {:?}",
                    cluster.name
                ))
            })?;
        if !usable(&m) {
            return Err(EtcdError::Cluster(format!(
                "snapshot_member {name:?} is not reachable: {}",
                m.error.as_deref().unwrap_or("learner or no client URL")
            )));
        }
        m
    } else {
        let mut followers: Vec<&MemberStatus> = status
            .members
            .iter()
            .filter(usable)
            .filter(|m| !m.is_leader)
            .collect();
        followers.sort_by(|a, b| {
            b.raft_applied_index
                .cmp(&a.raft_applied_index)
                .then_with(|| a.name.cmp(&b.name))
        });
        followers
            .first()
            .copied()
            .or_else(|| status.members.iter().filter(usable).find(|m| m.is_leader))
            .ok_or_else(|| {
                EtcdError::Cluster(format!(
                    "no reachable voting member in cluster {:?} to snapshot from",
                    cluster.name
                ))
            })?
    };
    Ok(Source {
        member_id: pick.id.clone(),
        member_name: pick.name.clone(),
        endpoint: pick.endpoint.clone().unwrap_or_default(),
    })
}

/// An open snapshot stream.
pub struct Stream {
    pub source: Source,
    client: Client,
    stream: SnapshotStreaming,
    timeout: Duration,
}

impl Stream {
    pub async fn open(cluster: &ClusterConfig, source: Source) -> Result<Self, EtcdError> {
        // No per-call timeout on the stream itself: the caller bounds the
        // whole snapshot with the cluster's snapshot timeout.
        let mut client = connect::connect(cluster, &source.endpoint, None).await?;
        let stream = connect::within(cluster, &source.endpoint, client.snapshot()).await?;
        Ok(Self {
            source,
            client,
            stream,
            timeout: cluster.timeout,
        })
    }

    /// The next message's blob; `None` at the end of the stream. A message
    /// that takes longer than the cluster's timeout to arrive is a stall.
    pub async fn next(&mut self) -> Result<Option<Vec<u8>>, EtcdError> {
        match tokio::time::timeout(
            self.timeout.max(Duration::from_secs(30)),
            self.stream.message(),
        )
        .await
        {
            Ok(Ok(Some(m))) => Ok(Some(m.blob().to_vec())),
            Ok(Ok(None)) => Ok(None),
            Ok(Err(e)) => Err(EtcdError::call(&self.source.endpoint, &e)),
            Err(_) => Err(EtcdError::Timeout {
                endpoint: self.source.endpoint.clone(),
                timeout_ms: connect::millis(self.timeout.max(Duration::from_secs(30))),
            }),
        }
    }

    /// Facts a restore drill needs later and cannot fetch afterwards
    /// (Kubernetes compacts every five minutes): `HashKV` at the snapshot's
    /// revision, the member's version and the cluster id. Asked of the
    /// same member, right after the stream.
    pub async fn facts(&mut self, revision: i64) -> Result<Facts, EtcdError> {
        let endpoint = self.source.endpoint.clone();
        let status = tokio::time::timeout(self.timeout, self.client.status())
            .await
            .map_err(|_| EtcdError::Timeout {
                endpoint: endpoint.clone(),
                timeout_ms: connect::millis(self.timeout),
            })?
            .map_err(|e| EtcdError::call(&endpoint, &e))?;
        let hash = tokio::time::timeout(self.timeout, self.client.hash_kv(revision))
            .await
            .map_err(|_| EtcdError::Timeout {
                endpoint: endpoint.clone(),
                timeout_ms: connect::millis(self.timeout),
            })?;
        let (hash_kv, hash_error) = match hash {
            Ok(h) => (
                Some(HashKv {
                    hash: h.hash(),
                    compact_revision: h.compact_version(),
                    revision,
                }),
                None,
            ),
            // Compacted past the snapshot's revision already, or no root role.
            Err(e) => (None, Some(connect::describe(&e))),
        };
        Ok(Facts {
            version: status.version().to_string(),
            cluster_id: status
                .header()
                .map(|h| format!("{:x}", h.cluster_id()))
                .unwrap_or_default(),
            hash_kv,
            hash_kv_error: hash_error,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HashKv {
    pub hash: u32,
    pub compact_revision: i64,
    pub revision: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub version: String,
    pub cluster_id: String,
    pub hash_kv: Option<HashKv>,
    pub hash_kv_error: Option<String>,
}
