//! The runbook's shapes: what it needs ([`RestoreInput`]) and what it is
//! ([`RestorePlan`]): per-member commands, the steps in order, the advice on
//! `--bump-revision`.

use serde::Serialize;

use super::command::CommandLine;
use super::members::{MembersSource, PlanMember};
use super::version::{Availability, EtcdVersion, RestoreTool, VersionSource};

/// What the runbook needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreInput {
    pub members: Vec<PlanMember>,
    pub members_source: MembersSource,
    pub version: EtcdVersion,
    pub version_source: VersionSource,
    /// A member's data dir; `{name}` becomes the member's name.
    pub data_dir_pattern: String,
    /// `--initial-cluster-token` of the restored cluster (a fresh one, so it
    /// never talks to the old members).
    pub initial_cluster_token: String,
    /// Where the one snapshot file lies on every member.
    pub snapshot_path: String,
    /// The file has no SHA-256 trailer (a `db` file copied from a data dir).
    pub skip_hash_check: bool,
    /// The snapshot's revision (what the restored members serve).
    pub revision: i64,
    /// The snapshot holds Kubernetes objects (`/registry/…`): add the API-server steps.
    pub kubernetes: bool,
    /// Add `--bump-revision N --mark-compacted`.
    pub bump_revision: Option<u64>,
}

/// The runbook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RestorePlan {
    pub tool: RestoreTool,
    pub version: String,
    pub version_source: VersionSource,
    pub members_source: MembersSource,
    pub snapshot_path: String,
    pub revision: i64,
    pub initial_cluster: String,
    pub initial_cluster_token: String,
    pub members: Vec<MemberPlan>,
    pub steps: Vec<Step>,
    pub bump_revision: BumpAdvice,
    pub warnings: Vec<String>,
}

/// One member's part of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberPlan {
    pub name: String,
    pub peer_urls: Vec<String>,
    pub data_dir: String,
    /// `mv DATA_DIR DATA_DIR.before-restore`, when the data dir exists.
    pub move_aside: CommandLine,
    /// The exact restore command.
    pub restore: CommandLine,
    /// The flags of `etcd` that must match the restore; add the member's
    /// client URL, TLS and tuning flags as before.
    pub start: CommandLine,
}

/// What a step is, for a page that lays them out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepId {
    StopApiServers,
    StopEtcd,
    CopySnapshot,
    MoveDataDirsAside,
    Restore,
    StartEtcd,
    CheckHealth,
    KeepEncryptionKeys,
    StartApiServers,
}

/// A command for one member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberCommand {
    pub member: String,
    #[serde(flatten)]
    pub command: CommandLine,
}

/// One step of the runbook, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub id: StepId,
    pub title: String,
    pub detail: String,
    /// Exact commands, one per member.
    pub commands: Vec<MemberCommand>,
    /// Example shell lines (kubeadm, systemd); adapt to the hosts.
    pub examples: Vec<String>,
}

/// When to add `--bump-revision` / `--mark-compacted`, and whether they are in the commands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BumpAdvice {
    pub availability: Availability,
    /// The amount put in the commands, when asked for.
    pub included: Option<u64>,
    pub note: String,
}
