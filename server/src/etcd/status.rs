//! A cluster's live status, asked of every member at once.
//!
//! Members come from `MemberList` (any reachable endpoint answers it); every
//! configured endpoint and every member's client URL is then asked for
//! `Status` concurrently, each with the cluster's timeout, so one member
//! down never hides the others. An endpoint whose cluster id differs from
//! the majority's is reported in `foreign_endpoints`, not merged.
//!
//! Quorum is not reachability: `held` needs a reachable voting member that
//! reports a leader *and* a linearizable read answered within the timeout.
//! Alarms come from each member's `Status.errors` (local, no quorum needed)
//! and, when quorum holds, from the `Alarm` call (which goes through raft).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use chrono::{DateTime, Utc};
use etcd_client::{AlarmAction, AlarmType, Client, GetOptions};
use etcd_lens_core::metrics::{Quantile, Scrape, quantile_between};
use etcd_lens_core::plan::{Quorum, rules};
use futures::future::join_all;
use serde::Serialize;

use super::connect::{self, EtcdError, millis};
use super::metrics::{self, MetricsClient};
use crate::config::ClusterConfig;

/// The one-line answer the page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Quorum held, every member reachable, no alarm or warning.
    Healthy,
    /// Quorum held, but a member is down or something needs a look.
    Degraded,
    /// No quorum: writes (and linearizable reads) fail.
    NoQuorum,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ClusterStatus {
    pub cluster: String,
    /// Hex, as etcdctl prints it; `None` when no endpoint answered.
    pub cluster_id: Option<String>,
    pub verdict: Verdict,
    /// Why the verdict is what it is, in one sentence.
    pub verdict_reason: String,
    pub leader_id: Option<String>,
    pub members: Vec<MemberStatus>,
    pub quorum: QuorumStatus,
    pub alarms: Vec<Alarm>,
    /// `status` (each member's local Status) or `status+alarm` (plus the Alarm call, quorum held).
    pub alarms_source: String,
    /// Endpoints that answered for another cluster (or for no member of this one).
    pub foreign_endpoints: Vec<ForeignEndpoint>,
    pub warnings: Vec<String>,
    pub checked_at: DateTime<Utc>,
    pub took_ms: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct QuorumStatus {
    pub voting_members: u32,
    pub needed: u32,
    pub reachable: u32,
    pub held: bool,
    pub failures_tolerated: u32,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Alarm {
    pub member_id: String,
    pub alarm: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ForeignEndpoint {
    pub endpoint: String,
    pub cluster_id: String,
    pub member_id: String,
}

/// A disk latency p99 over the interval between two scrapes.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LatencyP99 {
    pub p99_ms: f64,
    /// The histogram bucket it fell in (etcd's buckets are powers of two in ms).
    pub bucket_low_ms: f64,
    pub bucket_high_ms: Option<f64>,
    pub observations: f64,
    /// etcd's guidance for this figure (10 ms WAL fsync, 25 ms backend commit).
    pub guidance_ms: f64,
    /// Above the guidance over enough observations to mean it (at least
    /// `plan::rules::LATENCY_MIN_OBSERVATIONS`; fewer are shown, not judged).
    pub above_guidance: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MemberStatus {
    pub id: String,
    /// Empty for a member added but never started.
    pub name: String,
    /// The URL it was asked at.
    pub endpoint: Option<String>,
    pub reachable: bool,
    pub error: Option<String>,
    pub latency_ms: Option<f64>,
    pub version: Option<String>,
    pub db_size_bytes: Option<i64>,
    pub db_size_in_use_bytes: Option<i64>,
    pub quota_bytes: Option<u64>,
    pub is_leader: bool,
    pub is_learner: bool,
    pub raft_term: Option<u64>,
    pub raft_index: Option<u64>,
    pub raft_applied_index: Option<u64>,
    pub peer_urls: Vec<String>,
    pub client_urls: Vec<String>,
    pub wal_fsync_p99_ms: Option<f64>,
    pub backend_commit_p99_ms: Option<f64>,
    pub wal_fsync: Option<LatencyP99>,
    pub backend_commit: Option<LatencyP99>,
    /// Why there is no latency figure: "not enough data yet", or the scrape's error.
    pub metrics_note: Option<String>,
    pub metrics_url: Option<String>,
    /// What the member's Status listed in `errors` (alarms, "etcdserver: no leader").
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
}

/// The previous scrape of each member's histograms, by member id: the p99
/// is over the interval since then. The caller keeps it between answers.
#[derive(Debug, Default, Clone)]
pub struct PreviousScrapes {
    by_member: BTreeMap<u64, Histograms>,
}

#[derive(Debug, Clone, Default)]
struct Histograms {
    wal: Vec<(f64, f64)>,
    commit: Vec<(f64, f64)>,
}

/// What one endpoint said.
struct Probe {
    endpoint: String,
    client: Client,
    member_id: u64,
    cluster_id: u64,
    latency_ms: f64,
    status: etcd_client::StatusResponse,
    members: Option<Vec<etcd_client::Member>>,
}

async fn probe(
    cluster: &ClusterConfig,
    endpoint: String,
    with_members: bool,
) -> Result<Probe, EtcdError> {
    let mut client = connect::connect(cluster, &endpoint, Some(cluster.timeout)).await?;
    let t = Instant::now();
    let status = connect::within(cluster, &endpoint, client.status()).await?;
    let latency_ms = t.elapsed().as_secs_f64() * 1000.0;
    let header = status.header().cloned();
    let members = if with_members {
        connect::within(cluster, &endpoint, client.member_list())
            .await
            .ok()
            .map(|m| m.members().to_vec())
    } else {
        None
    };
    Ok(Probe {
        endpoint,
        client,
        member_id: header.as_ref().map_or(0, |h| h.member_id()),
        cluster_id: header.as_ref().map_or(0, |h| h.cluster_id()),
        latency_ms,
        status,
        members,
    })
}

/// Ask every member of `cluster`. `now` is the time the answer is for.
pub async fn cluster_status(
    cluster: &ClusterConfig,
    previous: &mut PreviousScrapes,
    now: DateTime<Utc>,
) -> ClusterStatus {
    let started = Instant::now();
    // 1. Every configured endpoint, at once, with the member list.
    let first: Vec<(String, Result<Probe, EtcdError>)> =
        join_all(cluster.endpoints.iter().map(|e| {
            let e = e.clone();
            async move { (e.clone(), probe(cluster, e, true).await) }
        }))
        .await;
    let cluster_ids: Vec<u64> = first
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok().map(|p| p.cluster_id))
        .collect();
    let majority_id = majority(&cluster_ids);
    let members: Vec<etcd_client::Member> = first
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok())
        .filter(|p| Some(p.cluster_id) == majority_id)
        .find_map(|p| p.members.clone())
        .unwrap_or_default();

    // 2. Members whose client URLs were not among the configured endpoints.
    let asked: BTreeSet<String> = cluster.endpoints.iter().map(|e| normalize(e)).collect();
    let mut extra_urls = Vec::new();
    for m in &members {
        if !m
            .client_urls()
            .iter()
            .any(|u| asked.contains(&normalize(u)))
            && let Some(u) = m.client_urls().first()
        {
            extra_urls.push(u.clone());
        }
    }
    let second: Vec<(String, Result<Probe, EtcdError>)> = join_all(
        extra_urls
            .into_iter()
            .map(|e| async move { (e.clone(), probe(cluster, e, false).await) }),
    )
    .await;

    let mut probes: Vec<Probe> = Vec::new();
    let mut failures: BTreeMap<String, EtcdError> = BTreeMap::new();
    let mut foreign = Vec::new();
    let member_ids: BTreeSet<u64> = members.iter().map(|m| m.id()).collect();
    for (endpoint, r) in first.into_iter().chain(second) {
        match r {
            Ok(p)
                if Some(p.cluster_id) == majority_id
                    && (members.is_empty() || member_ids.contains(&p.member_id)) =>
            {
                probes.push(p)
            }
            Ok(p) => foreign.push(ForeignEndpoint {
                endpoint,
                cluster_id: format!("{:x}", p.cluster_id),
                member_id: format!("{:x}", p.member_id),
            }),
            Err(e) => {
                failures.insert(normalize(&endpoint), e);
            }
        }
    }

    // 3. Metrics of every reachable member, at once.
    let metrics = MetricsClient::new(cluster);
    let scrapes: Vec<Option<Result<Scrape, String>>> = join_all(probes.iter().map(|p| {
        let url = metrics_url(cluster, &members, p);
        let metrics = &metrics;
        async move {
            match metrics {
                Ok(m) => Some(m.scrape(&url).await),
                Err(e) => Some(Err(e.clone())),
            }
        }
    }))
    .await;

    // 4. One row per member (or per answering endpoint when no list came back).
    let mut rows: Vec<MemberStatus> = Vec::new();
    let mut warnings = Vec::new();
    let mut leader_ids: BTreeSet<u64> = BTreeSet::new();
    let mut alarms: BTreeSet<Alarm> = BTreeSet::new();
    for (p, scrape) in probes.iter().zip(scrapes) {
        if p.status.leader() != 0 {
            leader_ids.insert(p.status.leader());
        }
        for e in p.status.errors() {
            if let Some(a) = parse_alarm(e) {
                alarms.insert(a);
            }
        }
        let m = members.iter().find(|m| m.id() == p.member_id);
        let mut row = row_for(p, m);
        row.metrics_url = Some(metrics_url(cluster, &members, p));
        apply_metrics(&mut row, p, scrape, previous);
        rows.push(row);
    }
    for m in &members {
        if rows.iter().any(|r| r.id == format!("{:x}", m.id())) {
            continue;
        }
        let url = m
            .client_urls()
            .iter()
            .find(|u| failures.contains_key(&normalize(u)))
            .or(m.client_urls().first())
            .cloned();
        let error = url
            .as_ref()
            .and_then(|u| failures.get(&normalize(u)))
            .map(ToString::to_string)
            .unwrap_or_else(|| {
                if m.name().is_empty() {
                    "not started yet (added to the cluster, never joined)".into()
                } else {
                    "did not answer".into()
                }
            });
        rows.push(MemberStatus {
            id: format!("{:x}", m.id()),
            name: m.name().to_string(),
            endpoint: url,
            reachable: false,
            error: Some(error),
            is_learner: m.is_learner(),
            peer_urls: m.peer_urls().to_vec(),
            client_urls: m.client_urls().to_vec(),
            ..MemberStatus::empty()
        });
    }
    if members.is_empty() {
        // Nothing answered the member list: show each endpoint's failure.
        for (endpoint, e) in &failures {
            rows.push(MemberStatus {
                id: String::new(),
                endpoint: Some(endpoint.clone()),
                error: Some(e.to_string()),
                ..MemberStatus::empty()
            });
        }
    }
    rows.sort_by(|a, b| (a.name.as_str(), a.id.as_str()).cmp(&(b.name.as_str(), b.id.as_str())));

    let leader = if leader_ids.len() == 1 {
        leader_ids.iter().next().copied()
    } else {
        if leader_ids.len() > 1 {
            warnings.push(format!(
                "members disagree about the leader ({}): an election is under way or the cluster is split",
                leader_ids.iter().map(|l| format!("{l:x}")).collect::<Vec<_>>().join(", ")
            ));
        }
        None
    };
    for r in &mut rows {
        r.is_leader = leader.is_some_and(|l| format!("{l:x}") == r.id);
    }

    // 5. Quorum: a voting member that knows a leader, and a linearizable read.
    let voting = if members.is_empty() {
        0
    } else {
        u32::try_from(members.iter().filter(|m| !m.is_learner()).count()).unwrap_or(u32::MAX)
    };
    let q = Quorum::of(voting);
    let reachable_voting =
        u32::try_from(rows.iter().filter(|r| r.reachable && !r.is_learner).count()).unwrap_or(0);
    let reader = probes
        .iter()
        .find(|p| p.status.leader() != 0 && !p.status.is_learner());
    let mut held = false;
    let mut read_error = None;
    if let Some(p) = reader {
        let mut kv = p.client.kv_client();
        let read = kv.get(
            "\0etcd-lens-quorum-probe",
            Some(GetOptions::new().with_count_only().with_limit(1)),
        );
        match connect::within(cluster, &p.endpoint, read).await {
            Ok(_) => held = true,
            Err(e) => read_error = Some(e.to_string()),
        }
    }
    let mut alarms_source = "status".to_string();
    if held && let Some(p) = reader {
        let mut mc = p.client.maintenance_client();
        match connect::within(
            cluster,
            &p.endpoint,
            mc.alarm(AlarmAction::Get, AlarmType::None, None),
        )
        .await
        {
            Ok(r) => {
                alarms_source = "status+alarm".into();
                for a in r.alarms() {
                    alarms.insert(Alarm {
                        member_id: format!("{:x}", a.member_id()),
                        alarm: a.alarm().as_str_name().to_string(),
                    });
                }
            }
            Err(e) => warnings.push(format!("the Alarm call failed: {e}")),
        }
    }

    // 6. Warnings and the verdict.
    if voting > 0 && voting % 2 == 0 {
        warnings.push(format!(
            "{voting} voting members: an even count tolerates no more failures than {} and costs one more replica",
            voting - 1
        ));
    }
    if voting > rules::MAX_ADVISED_MEMBERS {
        warnings.push(format!(
            "{voting} voting members: etcd advises at most {}; each adds replication cost",
            rules::MAX_ADVISED_MEMBERS
        ));
    }
    let mut cluster_ids_seen: Vec<u64> = cluster_ids.clone();
    cluster_ids_seen.dedup();
    if !foreign.is_empty() {
        warnings.push(format!(
            "{} endpoint(s) answered for another cluster or an unknown member; they are listed apart",
            foreign.len()
        ));
    }
    let unreachable = rows.iter().filter(|r| !r.reachable).count();
    let member_warnings = rows.iter().any(|r| !r.warnings.is_empty());
    let (verdict, verdict_reason) = if probes.is_empty() {
        (Verdict::NoQuorum, "no endpoint answered".to_string())
    } else if !held {
        let why = match (&read_error, reader) {
            (Some(e), _) => format!("a linearizable read failed: {e}"),
            (None, None) => "no reachable voting member knows a leader".to_string(),
            (None, Some(_)) => "the quorum read did not answer".to_string(),
        };
        (
            Verdict::NoQuorum,
            format!(
                "no quorum: {reachable_voting} of {voting} voting members reachable, {} needed; {why}",
                q.needed
            ),
        )
    } else if unreachable > 0 || !alarms.is_empty() || !warnings.is_empty() || member_warnings {
        let mut why = Vec::new();
        if unreachable > 0 {
            why.push(format!("{unreachable} member(s) unreachable"));
        }
        if !alarms.is_empty() {
            why.push(format!(
                "alarm {}",
                alarms
                    .iter()
                    .map(|a| a.alarm.as_str())
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if member_warnings || !warnings.is_empty() {
            why.push("warnings".into());
        }
        (
            Verdict::Degraded,
            format!(
                "quorum held ({reachable_voting} of {voting} voting members), but: {}",
                why.join("; ")
            ),
        )
    } else {
        (
            Verdict::Healthy,
            format!("all {voting} voting members reachable, quorum held"),
        )
    };

    ClusterStatus {
        cluster: cluster.name.clone(),
        cluster_id: majority_id.map(|id| format!("{id:x}")),
        verdict,
        verdict_reason,
        leader_id: leader.map(|l| format!("{l:x}")),
        members: rows,
        quorum: QuorumStatus {
            voting_members: voting,
            needed: q.needed,
            reachable: reachable_voting,
            held,
            failures_tolerated: q.failures_tolerated,
        },
        alarms: alarms.into_iter().collect(),
        alarms_source,
        foreign_endpoints: foreign,
        warnings,
        checked_at: now,
        took_ms: millis(started.elapsed()),
    }
}

impl MemberStatus {
    fn empty() -> Self {
        MemberStatus {
            id: String::new(),
            name: String::new(),
            endpoint: None,
            reachable: false,
            error: None,
            latency_ms: None,
            version: None,
            db_size_bytes: None,
            db_size_in_use_bytes: None,
            quota_bytes: None,
            is_leader: false,
            is_learner: false,
            raft_term: None,
            raft_index: None,
            raft_applied_index: None,
            peer_urls: Vec::new(),
            client_urls: Vec::new(),
            wal_fsync_p99_ms: None,
            backend_commit_p99_ms: None,
            wal_fsync: None,
            backend_commit: None,
            metrics_note: None,
            metrics_url: None,
            errors: Vec::new(),
            warnings: Vec::new(),
        }
    }
}

fn row_for(p: &Probe, m: Option<&etcd_client::Member>) -> MemberStatus {
    let s = &p.status;
    let quota_36 = u64::try_from(s.db_size_quota()).ok().filter(|q| *q > 0);
    MemberStatus {
        id: format!("{:x}", p.member_id),
        name: m.map(|m| m.name().to_string()).unwrap_or_default(),
        endpoint: Some(p.endpoint.clone()),
        reachable: true,
        latency_ms: Some((p.latency_ms * 100.0).round() / 100.0),
        version: Some(s.version().to_string()),
        db_size_bytes: Some(s.db_size()),
        db_size_in_use_bytes: Some(s.raft_used_db_size()),
        quota_bytes: quota_36,
        is_learner: s.is_learner() || m.is_some_and(|m| m.is_learner()),
        raft_term: Some(s.raft_term()),
        raft_index: Some(s.raft_index()),
        raft_applied_index: Some(s.raft_applied_index()),
        peer_urls: m.map(|m| m.peer_urls().to_vec()).unwrap_or_default(),
        client_urls: m.map(|m| m.client_urls().to_vec()).unwrap_or_default(),
        errors: s.errors().to_vec(),
        ..MemberStatus::empty()
    }
}

fn metrics_url(cluster: &ClusterConfig, members: &[etcd_client::Member], p: &Probe) -> String {
    let name = members
        .iter()
        .find(|m| m.id() == p.member_id)
        .map(|m| m.name().to_string())
        .unwrap_or_default();
    cluster
        .metrics_urls
        .get(&name)
        .cloned()
        .unwrap_or_else(|| format!("{}/metrics", p.endpoint.trim_end_matches('/')))
}

fn apply_metrics(
    row: &mut MemberStatus,
    p: &Probe,
    scrape: Option<Result<Scrape, String>>,
    previous: &mut PreviousScrapes,
) {
    let scrape = match scrape {
        Some(Ok(s)) => s,
        Some(Err(e)) => {
            row.metrics_note = Some(format!("metrics unavailable: {e}"));
            return;
        }
        None => return,
    };
    if row.quota_bytes.is_none() {
        row.quota_bytes = scrape.value(metrics::QUOTA).and_then(|q| {
            // Metrics print floats; quotas are whole bytes.
            (q.is_finite() && q >= 0.0).then(|| q.round() as u64)
        });
    }
    let now = Histograms {
        wal: scrape.buckets(metrics::WAL_FSYNC),
        commit: scrape.buckets(metrics::BACKEND_COMMIT),
    };
    let before = previous.by_member.insert(p.member_id, now.clone());
    match before {
        None => {
            row.metrics_note =
                Some("not enough data yet: the p99 is over the interval between two answers".into())
        }
        Some(before) => {
            row.wal_fsync = quantile_between(0.99, &before.wal, &now.wal)
                .map(|q| latency(q, rules::WAL_FSYNC_P99_MAX_MS));
            row.backend_commit = quantile_between(0.99, &before.commit, &now.commit)
                .map(|q| latency(q, rules::BACKEND_COMMIT_P99_MAX_MS));
            row.wal_fsync_p99_ms = row.wal_fsync.as_ref().map(|l| l.p99_ms);
            row.backend_commit_p99_ms = row.backend_commit.as_ref().map(|l| l.p99_ms);
            if row.wal_fsync.is_none() && row.backend_commit.is_none() {
                row.metrics_note = Some("no disk writes since the previous answer".into());
            }
        }
    }
    if let Some(l) = &row.wal_fsync
        && l.above_guidance
    {
        row.warnings.push(format!(
            "WAL fsync p99 {:.1} ms is above etcd's guidance of {} ms",
            l.p99_ms,
            rules::WAL_FSYNC_P99_MAX_MS
        ));
    }
    if let Some(l) = &row.backend_commit
        && l.above_guidance
    {
        row.warnings.push(format!(
            "backend commit p99 {:.1} ms is above etcd's guidance of {} ms",
            l.p99_ms,
            rules::BACKEND_COMMIT_P99_MAX_MS
        ));
    }
    if let (Some(size), Some(quota)) = (row.db_size_bytes, row.quota_bytes)
        && quota > 0
        && size as f64 >= rules::QUOTA_WARN_RATIO * quota as f64
    {
        row.warnings.push(format!(
            "database {} bytes is {:.0}% of the {} byte quota",
            size,
            100.0 * size as f64 / quota as f64,
            quota
        ));
    }
}

fn latency(q: Quantile, guidance_ms: f64) -> LatencyP99 {
    let ms = q.value * 1000.0;
    LatencyP99 {
        p99_ms: (ms * 1000.0).round() / 1000.0,
        bucket_low_ms: q.bucket_low * 1000.0,
        bucket_high_ms: q.bucket_high.is_finite().then_some(q.bucket_high * 1000.0),
        observations: q.observations,
        guidance_ms,
        above_guidance: ms > guidance_ms && q.observations >= rules::LATENCY_MIN_OBSERVATIONS,
    }
}

/// `memberID:8e9e05c52164694d alarm:NOSPACE ` (the text form etcd puts in Status.errors).
pub fn parse_alarm(text: &str) -> Option<Alarm> {
    let id = text.split("memberID:").nth(1)?.split_whitespace().next()?;
    let alarm = text.split("alarm:").nth(1)?.split_whitespace().next()?;
    // The text form prints the id in decimal.
    let id = id
        .parse::<u64>()
        .map(|v| format!("{v:x}"))
        .unwrap_or_else(|_| id.to_string());
    Some(Alarm {
        member_id: id,
        alarm: alarm.to_string(),
    })
}

fn normalize(url: &str) -> String {
    url.trim_end_matches('/').to_ascii_lowercase()
}

fn majority(ids: &[u64]) -> Option<u64> {
    let mut counts: BTreeMap<u64, usize> = BTreeMap::new();
    for id in ids {
        *counts.entry(*id).or_default() += 1;
    }
    counts
        .into_iter()
        .max_by_key(|(id, n)| (*n, std::cmp::Reverse(*id)))
        .map(|(id, _)| id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alarms_parse_from_status_errors() {
        let a = parse_alarm("memberID:10276657743932975437 alarm:NOSPACE ").unwrap();
        assert_eq!(a.alarm, "NOSPACE");
        assert_eq!(a.member_id, format!("{:x}", 10276657743932975437u64));
        assert!(parse_alarm("etcdserver: no leader").is_none());
    }

    #[test]
    fn majority_picks_the_common_id() {
        assert_eq!(majority(&[1, 2, 2]), Some(2));
        assert_eq!(majority(&[]), None);
    }
}
