//! What the Live page shows, as the companion server sends it, and the pure
//! helpers that turn it into text: sizes against the quota, latencies, times,
//! a snapshot's progress. No browser types, so it is unit-tested natively.
//!
//! The types mirror the server's JSON (`server/src/etcd/status.rs`,
//! `server/src/ops/snapshots.rs`, `server/src/catalog/records.rs`) but read
//! leniently: every field the page does not need to act has a default, so a
//! newer server adding or dropping a figure does not break the page.
//! Secrets never pass through here: the API sends none (no credentials, no
//! key material), and the API token lives in `web::session` only.

use serde::Deserialize;

use crate::state::human_bytes;

/// Where the page stands with the server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Conn {
    /// Not asked yet (the Live tab was never opened).
    #[default]
    Unknown,
    Checking,
    /// The page did not come from an etcd-lens server; why it thinks so.
    NoServer(String),
    /// The server wants a token; `notice` says why it asks again.
    NeedToken {
        notice: Option<String>,
    },
    Connected,
    /// The server is there but failed to answer.
    Failed(String),
}

/// Said when a token given in the form is refused.
pub const TOKEN_REFUSED: &str = "The server refused this token. Check it (the server prints where it keeps it: DATA_DIR/token) and enter it again.";
/// Said when a token that worked is refused later (the server restarted with another one).
pub const TOKEN_EXPIRED: &str = "The server no longer accepts the token this tab had (was it restarted with a new one?). Enter the token again.";
/// Said when the page has no server behind it.
pub const NO_SERVER: &str = "Live needs the etcd-lens server: run `etcd-lens serve --endpoints …` (or `--config FILE`) and open the page it serves. Inspecting files works without it.";

/// `GET api/v1/clusters`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ClusterList {
    pub clusters: Vec<ClusterSummary>,
    /// How to add a cluster, when none is configured.
    pub hint: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ClusterSummary {
    pub name: String,
    pub endpoints: Vec<String>,
    pub mtls: bool,
    pub auth: bool,
    /// Fingerprints of the age recipients.
    pub recipients: Vec<String>,
    /// False: the server stores this cluster's snapshots UNENCRYPTED.
    pub encrypted_snapshots: bool,
    /// Restore drills are configured for it.
    #[serde(default)]
    pub drills: bool,
}

/// The one-line answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Healthy,
    Degraded,
    NoQuorum,
    /// A verdict this page does not know (a newer server).
    #[default]
    #[serde(other)]
    Unknown,
}

impl Verdict {
    /// The CSS class and `data-verdict` value.
    pub fn class(self) -> &'static str {
        match self {
            Verdict::Healthy => "healthy",
            Verdict::Degraded => "degraded",
            Verdict::NoQuorum => "no-quorum",
            Verdict::Unknown => "unknown",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Verdict::Healthy => "Healthy",
            Verdict::Degraded => "Degraded",
            Verdict::NoQuorum => "No quorum",
            Verdict::Unknown => "Unknown",
        }
    }
}

/// `GET api/v1/clusters/{name}/status`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ClusterStatus {
    pub cluster: String,
    pub cluster_id: Option<String>,
    pub verdict: Verdict,
    pub verdict_reason: String,
    pub leader_id: Option<String>,
    pub members: Vec<MemberStatus>,
    pub quorum: QuorumStatus,
    pub alarms: Vec<Alarm>,
    pub alarms_source: String,
    pub warnings: Vec<String>,
    /// RFC 3339, UTC: when the server asked the members.
    pub checked_at: String,
    /// How old the server's cached answer was when served.
    pub age_ms: i64,
    /// This server's part in the retention election.
    pub coordination: Option<Coordination>,
    /// The catalog's last pass over the cluster's store (servers sharing a
    /// bucket); `None` when the catalog does not follow it.
    pub catalog_sync: Option<CatalogSync>,
}

/// `coordination` of a status: this server's role among the servers that
/// share the bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Coordination {
    /// `leader`, `follower` or `none`.
    pub role: String,
    pub coordinated: bool,
    pub server_id: String,
    pub leader_id: Option<String>,
    pub error: Option<String>,
}

impl Coordination {
    /// One sentence on who applies retention; `None` for a server alone.
    pub fn sentence(&self) -> Option<String> {
        if !self.coordinated {
            return None;
        }
        Some(match self.role.as_str() {
            "leader" => format!(
                "This server ({}) leads the retention election: it applies retention for every server sharing the bucket.",
                self.server_id
            ),
            "follower" => format!(
                "This server ({}) follows {}: the leader applies retention; this server snapshots the slots it claims.",
                self.server_id,
                self.leader_id
                    .as_deref()
                    .unwrap_or("a leader not known yet")
            ),
            _ => format!(
                "This server ({}) is in no election ({}): nobody here applies retention until it is back.",
                self.server_id,
                self.error.as_deref().unwrap_or("not connected")
            ),
        })
    }
}

/// `catalog_sync` of a status (`ops::sync` on the server).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct CatalogSync {
    /// RFC 3339, UTC.
    pub at: Option<String>,
    pub imported: Vec<String>,
    pub deleted: Vec<String>,
    pub missing: Vec<String>,
    pub kept_pinned: Vec<String>,
    pub problems: Vec<serde_json::Value>,
    pub error: Option<String>,
}

impl CatalogSync {
    /// What the last pass did, in one sentence; `bad` when it failed or
    /// found snapshots missing from the store.
    pub fn sentence(&self) -> (String, bool) {
        let at = self.at.as_deref().unwrap_or("not yet");
        if let Some(e) = &self.error {
            return (
                format!("The catalog could not follow the store at {at}: {e}"),
                true,
            );
        }
        let mut s = format!(
            "The catalog follows the store (last pass {at}): {} catalogued from other servers, {} deleted here after another server deleted them",
            self.imported.len(),
            self.deleted.len()
        );
        if !self.missing.is_empty() {
            s.push_str(&format!(
                "; {} shipped from here but gone from the store without a tombstone, kept: {}",
                self.missing.len(),
                self.missing.join(", ")
            ));
        }
        if !self.kept_pinned.is_empty() {
            s.push_str(&format!(
                "; {} pinned here but deleted from the store, kept: {}",
                self.kept_pinned.len(),
                self.kept_pinned.join(", ")
            ));
        }
        if !self.problems.is_empty() {
            s.push_str(&format!(
                "; {} object(s) in the store make no complete snapshot",
                self.problems.len()
            ));
        }
        s.push('.');
        (s, !self.missing.is_empty() || !self.problems.is_empty())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct QuorumStatus {
    pub voting_members: u32,
    pub needed: u32,
    pub reachable: u32,
    pub held: bool,
    pub failures_tolerated: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Alarm {
    pub member_id: String,
    pub alarm: String,
}

/// A disk latency p99 with the histogram bucket it fell in.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct LatencyP99 {
    pub p99_ms: f64,
    pub bucket_low_ms: f64,
    pub bucket_high_ms: Option<f64>,
    pub observations: f64,
    pub guidance_ms: f64,
    pub above_guidance: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct MemberStatus {
    pub id: String,
    pub name: String,
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
    pub wal_fsync_p99_ms: Option<f64>,
    pub backend_commit_p99_ms: Option<f64>,
    pub wal_fsync: Option<LatencyP99>,
    pub backend_commit: Option<LatencyP99>,
    pub metrics_note: Option<String>,
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
}

impl ClusterStatus {
    /// What the planner takes from the running cluster.
    pub fn plan_facts(&self) -> etcd_lens_core::plan::assemble::LiveFacts {
        use etcd_lens_core::plan::assemble::LiveFacts;
        LiveFacts {
            cluster: self.cluster.clone(),
            voting_members: self.quorum.voting_members,
            learners: self.members.iter().filter(|m| m.is_learner).count() as u32,
            lowest_version: LiveFacts::lowest(
                self.members.iter().filter_map(|m| m.version.as_deref()),
            ),
            quorum_held: self.quorum.held,
            alarms: self
                .alarms
                .iter()
                .map(|a| format!("{} on member {}", a.alarm, a.member_id))
                .collect(),
        }
    }
}

impl MemberStatus {
    /// "leader", "learner" or "follower"; empty for a member that did not answer.
    pub fn role(&self) -> &'static str {
        if self.is_leader {
            "leader"
        } else if self.is_learner {
            "learner"
        } else if self.reachable {
            "follower"
        } else {
            ""
        }
    }
}

/// The state of a snapshot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotState {
    Running,
    Done,
    Failed,
    #[default]
    #[serde(other)]
    Unknown,
}

impl SnapshotState {
    pub fn as_str(self) -> &'static str {
        match self {
            SnapshotState::Running => "running",
            SnapshotState::Done => "done",
            SnapshotState::Failed => "failed",
            SnapshotState::Unknown => "unknown",
        }
    }
}

/// `GET api/v1/snapshots/{id}` (a catalog record, or a running or failed job).
/// `Hash`: the catalog table keys its rows by the whole record, so a row is
/// redrawn only when something in it changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(default)]
pub struct Snapshot {
    pub id: String,
    pub cluster: String,
    pub status: SnapshotState,
    pub error: Option<String>,
    pub reason: String,
    pub member_name: Option<String>,
    pub started_at: String,
    pub finished_at: Option<String>,
    /// Known once done (a job has none while it runs).
    pub revision: Option<i64>,
    pub db_size_bytes: Option<u64>,
    pub total_keys: Option<u64>,
    /// The stored file's size (the ciphertext when encrypted); catalog records only.
    pub stored_bytes: Option<u64>,
    pub bytes_received: u64,
    pub encrypted: bool,
    /// Relative to the server's data folder; catalog records only.
    pub path: Option<String>,
    pub pinned: bool,
    /// The last restore drill of it.
    pub drill: Option<DrillSummary>,
}

/// A restore drill's outcome, as the catalog records it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(default)]
pub struct DrillSummary {
    pub at: String,
    /// `passed`, `failed`, `cannot_drill`.
    pub verdict: String,
    pub failed_check: Option<String>,
    pub error: Option<String>,
    /// `local` or `store:<name>`.
    pub source: String,
}

/// How a snapshot's restore stands, for its row: a class and the words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestoreMark {
    /// Restored and verified by a drill at this time.
    Verified { at: String },
    /// The last drill failed, at this check or step.
    Failed { at: String, why: String },
    /// It could not be drilled here.
    CannotDrill { why: String },
    /// Never drilled: a hope, not yet a plan.
    Unverified,
}

impl RestoreMark {
    pub fn of(s: &Snapshot) -> Self {
        match &s.drill {
            None => Self::Unverified,
            Some(d) => match d.verdict.as_str() {
                "passed" => Self::Verified { at: d.at.clone() },
                "cannot_drill" => Self::CannotDrill {
                    why: d.error.clone().unwrap_or_else(|| "no reason given".into()),
                },
                _ => Self::Failed {
                    at: d.at.clone(),
                    why: match (&d.failed_check, &d.error) {
                        (Some(c), Some(e)) => format!("{c}: {e}"),
                        (Some(c), None) => c.clone(),
                        (None, Some(e)) => e.clone(),
                        (None, None) => "no reason given".into(),
                    },
                },
            },
        }
    }

    /// `ok`, `bad` or `warn`: how it is drawn.
    pub fn class(&self) -> &'static str {
        match self {
            Self::Verified { .. } => "ok",
            Self::Failed { .. } => "bad",
            Self::CannotDrill { .. } | Self::Unverified => "warn",
        }
    }

    /// The testable state name.
    pub fn state(&self) -> &'static str {
        match self {
            Self::Verified { .. } => "verified",
            Self::Failed { .. } => "failed",
            Self::CannotDrill { .. } => "cannot-drill",
            Self::Unverified => "unverified",
        }
    }
}

/// One schedule's state (`GET …/schedules`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ScheduleRow {
    pub name: String,
    /// `snapshot` or `drill`.
    pub kind: String,
    pub pattern: String,
    pub time_zone: String,
    pub next_run: Option<String>,
    pub last_run: Option<String>,
    pub last_result: Option<String>,
    pub last_snapshot_id: Option<String>,
    pub skipped_overlapping: u64,
    pub missed_while_down: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ScheduleList {
    pub schedules: Vec<ScheduleRow>,
    pub source: ScheduleSource,
}

/// A snapshot schedule as the configuration (or the page) writes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(default)]
pub struct ScheduleSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub cron: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    pub catch_up: bool,
}

/// Where the snapshot schedules come from: `file`, or `page` (an edit that
/// wins until reset), with what the file says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ScheduleSource {
    pub source: String,
    pub edited_at: Option<String>,
    pub edited_by: Option<String>,
    pub file: Vec<ScheduleSpec>,
    pub effective: Vec<ScheduleSpec>,
}

/// One row of the schedule editor, as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScheduleDraft {
    pub name: String,
    pub cron: String,
    pub time_zone: String,
    pub catch_up: bool,
}

impl ScheduleDraft {
    pub fn of(s: &ScheduleSpec) -> Self {
        Self {
            name: s.name.clone().unwrap_or_default(),
            cron: s.cron.clone(),
            time_zone: s.time_zone.clone().unwrap_or_default(),
            catch_up: s.catch_up,
        }
    }

    /// The specs the rows say: fields trimmed, empty name and zone left to
    /// the server's defaults (the pattern; UTC), blank rows dropped. The
    /// server checks the patterns (one owner of the rule).
    pub fn specs(rows: &[ScheduleDraft]) -> Vec<ScheduleSpec> {
        rows.iter()
            .filter(|r| !(r.name.trim().is_empty() && r.cron.trim().is_empty()))
            .map(|r| ScheduleSpec {
                name: Some(r.name.trim().to_string()).filter(|n| !n.is_empty()),
                cron: r.cron.split_whitespace().collect::<Vec<_>>().join(" "),
                time_zone: Some(r.time_zone.trim().to_string()).filter(|z| !z.is_empty()),
                catch_up: r.catch_up,
            })
            .collect()
    }
}

/// The body of `PUT …/schedules`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ScheduleEditBody {
    pub schedules: Vec<ScheduleSpec>,
}

/// A drill's answer (`POST …/drill`): what the row's note says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct DrillAnswer {
    pub verdict: String,
    pub failed_check: Option<String>,
    pub error: Option<String>,
    pub checks: Vec<DrillCheckAnswer>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct DrillCheckAnswer {
    pub name: String,
    pub ok: bool,
}

impl DrillAnswer {
    pub fn describe(&self) -> String {
        let passed = self.checks.iter().filter(|c| c.ok).count();
        match self.verdict.as_str() {
            "passed" => format!(
                "Restore verified: {passed} of {} comparisons agree.",
                self.checks.len()
            ),
            "cannot_drill" => format!(
                "Cannot drill: {}",
                self.error.as_deref().unwrap_or("no reason given")
            ),
            _ => format!(
                "The drill failed at {}{}",
                self.failed_check.as_deref().unwrap_or("an unnamed step"),
                self.error
                    .as_deref()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default()
            ),
        }
    }
}

impl Snapshot {
    /// The file name to give the fetched file: the stored file's own name
    /// (`<id>.db` or `<id>.db.age`), so it reads as it would after a download.
    pub fn file_name(&self) -> String {
        match self
            .path
            .as_deref()
            .and_then(|p| p.rsplit('/').next())
            .filter(|n| !n.is_empty())
        {
            Some(n) => n.to_string(),
            None if self.encrypted => format!("{}.db.age", self.id),
            None => format!("{}.db", self.id),
        }
    }
}

/// `GET api/v1/snapshots`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct SnapshotList {
    pub snapshots: Vec<Snapshot>,
}

/// `POST api/v1/clusters/{name}/snapshots` (202).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Started {
    pub id: String,
}

/// The API's paths, relative to the page (so a page served under a path
/// asks its own server, and a page from a static host asks nothing real).
pub mod paths {
    use super::segment;

    pub const HEALTH: &str = "api/health";
    pub const CLUSTERS: &str = "api/v1/clusters";
    pub const SNAPSHOTS: &str = "api/v1/snapshots";

    pub fn status(cluster: &str) -> String {
        format!("api/v1/clusters/{}/status", segment(cluster))
    }

    pub fn take_snapshot(cluster: &str) -> String {
        format!("api/v1/clusters/{}/snapshots", segment(cluster))
    }

    pub fn snapshot(id: &str) -> String {
        format!("api/v1/snapshots/{}", segment(id))
    }

    pub fn download(id: &str) -> String {
        format!("api/v1/snapshots/{}/download", segment(id))
    }

    pub fn scorecard(cluster: &str) -> String {
        format!("api/v1/clusters/{}/scorecard", segment(cluster))
    }

    pub fn schedules(cluster: &str) -> String {
        format!("api/v1/clusters/{}/schedules", segment(cluster))
    }

    pub fn drill(id: &str) -> String {
        format!("api/v1/snapshots/{}/drill", segment(id))
    }

    /// The newest snapshot of `cluster` still holding `key`.
    pub fn holding(cluster: &str, key: &str) -> String {
        format!(
            "api/v1/clusters/{}/holding?key={}",
            segment(cluster),
            segment(key)
        )
    }
}

/// One snapshot the server looked at for a key (`GET …/holding`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default)]
pub struct HoldingLook {
    pub id: String,
    pub revision: i64,
    /// `live`, `deleted` or `absent`; none when the file could not be read.
    pub presence: Option<String>,
    pub mod_revision: Option<i64>,
    pub deleted_at: Option<i64>,
    pub before: Option<i64>,
    pub error: Option<String>,
}

impl HoldingLook {
    /// What this snapshot holds of the key, in words.
    pub fn describe(&self) -> String {
        match (self.presence.as_deref(), &self.error) {
            (Some("live"), _) => format!(
                "holds it (written at revision {})",
                self.mod_revision.unwrap_or_default()
            ),
            (Some("deleted"), _) => match self.before {
                Some(b) => format!(
                    "deleted at revision {}; the version of revision {b} is retained",
                    self.deleted_at.unwrap_or_default()
                ),
                None => format!(
                    "deleted at revision {}",
                    self.deleted_at.unwrap_or_default()
                ),
            },
            (Some("absent"), _) => "not in it".into(),
            (_, Some(e)) => format!("not readable: {e}"),
            _ => "unknown".into(),
        }
    }
}

/// The answer of `GET …/holding`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default)]
pub struct Holding {
    pub looked: Vec<HoldingLook>,
    /// The newest snapshot holding the key live.
    pub holding: Option<String>,
}

/// `s` as one URL path segment: unreserved characters as they are, every
/// other byte percent-encoded. Cluster names and snapshot ids are already
/// safe (the server checks them); this keeps a surprise from becoming a path.
pub fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// How full `part` is of `whole`, in percent (above 100 when over the
/// quota); `None` when either is unknown or the whole is zero.
pub fn percent_of(part: Option<i64>, whole: Option<u64>) -> Option<f64> {
    let part = u64::try_from(part?).ok()?;
    let whole = whole.filter(|&w| w > 0)?;
    Some(part as f64 * 100.0 / whole as f64)
}

/// "1.5 MiB (0.1% of 2.0 GiB)", "1.5 MiB (quota unknown)", or "—".
pub fn size_text(part: Option<i64>, quota: Option<u64>) -> String {
    let Some(p) = part.and_then(|p| u64::try_from(p).ok()) else {
        return "—".into();
    };
    match (percent_of(part, quota), quota) {
        (Some(pc), Some(q)) => format!(
            "{} ({} of {})",
            human_bytes(p),
            percent_text(pc),
            human_bytes(q)
        ),
        _ => format!("{} (quota unknown)", human_bytes(p)),
    }
}

/// "0.1%", "42%", "112%": one decimal below 10 %, none above.
pub fn percent_text(pc: f64) -> String {
    if pc < 10.0 {
        format!("{pc:.1}%")
    } else {
        format!("{pc:.0}%")
    }
}

/// "0.42 ms", "3.1 ms", "250 ms".
pub fn ms_text(ms: f64) -> String {
    if ms < 1.0 {
        format!("{ms:.2} ms")
    } else if ms < 100.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

/// A disk p99 with its bucket: "3.1 ms (2–4 ms bucket)"; "≥ 8192 ms" for the top bucket.
pub fn p99_text(l: &LatencyP99) -> String {
    match l.bucket_high_ms {
        Some(high) => format!(
            "{} ({}–{} ms bucket)",
            ms_text(l.p99_ms),
            trim_ms(l.bucket_low_ms),
            trim_ms(high)
        ),
        None => format!("≥ {} ms", trim_ms(l.bucket_low_ms)),
    }
}

/// Bucket bounds are powers of two in ms (0.5, 1, 2 …): no trailing zeros.
fn trim_ms(ms: f64) -> String {
    let s = format!("{ms:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Milliseconds since the Unix epoch of an RFC 3339 UTC time as the server
/// writes it (`2026-12-01T13:15:07.123456789Z`, or with `+00:00`); `None`
/// for anything else. Fractions past milliseconds are dropped.
pub fn utc_millis(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())
            .flatten()
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut rest = &s[19..];
    let mut millis = 0i64;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let padded = format!("{:0<3}", &frac[..digits.min(3)]);
        millis = padded.parse().ok()?;
        rest = &frac[digits..];
    }
    if !matches!(rest, "Z" | "z" | "+00:00" | "-00:00") {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    Some((((days * 24 + h) * 60 + mi) * 60 + sec) as f64 * 1000.0 + millis as f64)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A wall-clock time, as the page shows it: "09:05:03".
pub fn clock_text(h: u32, m: u32, s: u32) -> String {
    format!("{h:02}:{m:02}:{s:02}")
}

/// A date and time: "2026-12-01 09:05:03".
pub fn datetime_text(y: u32, mo: u32, d: u32, h: u32, m: u32, s: u32) -> String {
    format!("{y:04}-{mo:02}-{d:02} {}", clock_text(h, m, s))
}

/// One line on a snapshot being taken.
pub fn progress_text(s: &Snapshot) -> String {
    match s.status {
        SnapshotState::Running if s.bytes_received == 0 => {
            format!("Snapshot {}: started, waiting for the first bytes…", s.id)
        }
        SnapshotState::Running => format!(
            "Snapshot {}: running, {} received…",
            s.id,
            human_bytes(s.bytes_received)
        ),
        SnapshotState::Done => format!(
            "Snapshot {}: done at revision {}, {}{}.",
            s.id,
            s.revision.map_or_else(|| "?".into(), |r| r.to_string()),
            human_bytes(s.db_size_bytes.unwrap_or(s.bytes_received)),
            if s.encrypted {
                ", encrypted"
            } else {
                ", stored UNENCRYPTED"
            }
        ),
        SnapshotState::Failed => format!(
            "Snapshot {} failed: {}",
            s.id,
            s.error.as_deref().unwrap_or("no reason given")
        ),
        SnapshotState::Unknown => format!("Snapshot {}: state unknown", s.id),
    }
}

/// "12.0 MiB of 40.0 MiB" while a stored file is fetched into the tab.
pub fn fetch_progress_text(done: u64, total: Option<u64>) -> String {
    match total.filter(|&t| t > 0) {
        Some(t) => format!("{} of {}", human_bytes(done), human_bytes(t)),
        None => human_bytes(done),
    }
}

#[cfg(test)]
mod tests;
