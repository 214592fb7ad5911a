//! The restore runbook: from a snapshot's member list (or one the user gives)
//! the exact per-member `snapshot restore` commands and the steps around
//! them, in order.
//!
//! What it does: validates the members (names and peer URLs fit etcd's
//! `--initial-cluster` syntax, no duplicates), picks the tool by version
//! (`etcdctl snapshot restore` with `ETCDCTL_API=3` for 3.4, `etcdutl
//! snapshot restore` for 3.5 and later), fills `--name`, `--initial-cluster`,
//! `--initial-cluster-token`, `--initial-advertise-peer-urls` and
//! `--data-dir` (from a pattern with `{name}`), adds `--skip-hash-check` for a
//! file without the SHA-256 trailer and `--bump-revision N --mark-compacted`
//! when asked and the version has them (etcdctl 3.4.27+, etcdutl 3.5.10+,
//! checked in etcd's release tags), and says when to ask.
//!
//! What it does not: run anything, read files or guess a version (files carry
//! only the cluster's major.minor in `cluster/clusterVersion`, never the patch
//! of the binaries; the caller gives it or takes that). Commands are argv arrays (what a program
//! executes) with a shell rendering beside them (what a person pastes); the
//! steps around the restore are examples for kubeadm and systemd hosts.
//!
//! Invariant: the restore command of every member names the same snapshot
//! file, the same `--initial-cluster` and the same token, and is the only
//! place a member's data dir is created.

use std::collections::HashSet;

use serde::Serialize;

use crate::snapshot::Member;

/// The etcd release the cluster will run after the restore.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct EtcdVersion {
    pub major: u32,
    pub minor: u32,
    /// `None` when only `3.4` / `3.5` was given.
    pub patch: Option<u32>,
}

/// Which program restores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RestoreTool {
    /// etcd 3.4: `ETCDCTL_API=3 etcdctl snapshot restore`.
    Etcdctl,
    /// etcd 3.5+: `etcdutl snapshot restore` (etcdctl's is deprecated in 3.5, gone in 3.6).
    Etcdutl,
}

impl RestoreTool {
    pub fn program(self) -> &'static str {
        match self {
            RestoreTool::Etcdctl => "etcdctl",
            RestoreTool::Etcdutl => "etcdutl",
        }
    }
}

/// Whether the restore tool has `--bump-revision` / `--mark-compacted`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Availability {
    Available,
    /// The version given is older than 3.4.27 / 3.5.10.
    Unavailable,
    /// Only `3.4` or `3.5` was given: it depends on the patch release.
    Unknown,
}

/// etcdctl 3.4.27 and etcdutl 3.5.10 added `--bump-revision` / `--mark-compacted`.
const BUMP_SINCE_34: u32 = 27;
const BUMP_SINCE_35: u32 = 10;

impl EtcdVersion {
    /// `3.4`, `3.5.1`, `v3.6.0`. Only etcd 3.4 and later (earlier releases restore differently).
    pub fn parse(s: &str) -> Result<Self, RestoreError> {
        let bad = || RestoreError::Version {
            given: s.to_string(),
        };
        let t = s.trim();
        let t = t.strip_prefix('v').unwrap_or(t);
        let nums: Vec<&str> = t.split('.').collect();
        if !(2..=3).contains(&nums.len())
            || nums
                .iter()
                .any(|n| n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(bad());
        }
        let num = |i: usize| -> Result<u32, RestoreError> { nums[i].parse().map_err(|_| bad()) };
        let v = Self {
            major: num(0)?,
            minor: num(1)?,
            patch: if nums.len() == 3 { Some(num(2)?) } else { None },
        };
        if v.major != 3 || v.minor < 4 {
            return Err(RestoreError::UnsupportedVersion {
                version: v.to_string(),
            });
        }
        Ok(v)
    }

    pub fn tool(&self) -> RestoreTool {
        if self.minor == 4 {
            RestoreTool::Etcdctl
        } else {
            RestoreTool::Etcdutl
        }
    }

    pub fn bump_revision(&self) -> Availability {
        let since = match self.minor {
            4 => BUMP_SINCE_34,
            5 => BUMP_SINCE_35,
            _ => return Availability::Available,
        };
        match self.patch {
            None => Availability::Unknown,
            Some(p) if p >= since => Availability::Available,
            Some(_) => Availability::Unavailable,
        }
    }
}

impl std::fmt::Display for EtcdVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)?;
        if let Some(p) = self.patch {
            write!(f, ".{p}")?;
        }
        Ok(())
    }
}

/// Where the version came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VersionSource {
    /// The user said.
    Given,
    /// The snapshot's `cluster/clusterVersion` (major.minor: the patch is unknown).
    ClusterVersion,
}

/// A member of the restored cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanMember {
    pub name: String,
    pub peer_urls: Vec<String>,
    /// Known only when the members come from the snapshot.
    pub client_urls: Vec<String>,
    /// A learner in the snapshot (restore makes every member a voter).
    pub learner: bool,
}

/// Where the member list came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MembersSource {
    /// The snapshot's `members` bucket.
    Snapshot,
    /// `--members name=peer-url,…`.
    Given,
}

/// Why there is no plan.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RestoreError {
    #[error("{given:?} is not an etcd version (3.4, 3.5, 3.6 or with a patch: 3.5.1)")]
    Version { given: String },
    #[error("etcd {version} is not supported: this runbook is for etcd 3.4 and later")]
    UnsupportedVersion { version: String },
    #[error("no members: give --members name=peer-url,…")]
    NoMembers,
    #[error("{entry:?} is not name=peer-url")]
    MemberSyntax { entry: String },
    #[error(
        "member name {name:?}: a name is not empty and has no '=', ',' or whitespace (etcd's --initial-cluster syntax)"
    )]
    MemberName { name: String },
    #[error(
        "member {member} (id {id}) has no name in the snapshot (it was added but never started): give --members"
    )]
    UnnamedMember { id: String, member: usize },
    #[error("member {name:?} has no peer URL")]
    NoPeerUrl { name: String },
    #[error("peer URL {url:?} of {name:?}: expected http://host:port or https://host:port")]
    PeerUrl { name: String, url: String },
    #[error("peer URL {url} is given to both {first:?} and {second:?}")]
    DuplicatePeerUrl {
        url: String,
        first: String,
        second: String,
    },
    #[error("the data-dir pattern is empty")]
    EmptyDataDir,
    #[error("the data-dir pattern {pattern:?} has a placeholder other than {{name}}")]
    DataDirPlaceholder { pattern: String },
    #[error(
        "members {first:?} and {second:?} share the host {host} and would share the data dir {data_dir}: put {{name}} in the data-dir pattern"
    )]
    SharedDataDir {
        first: String,
        second: String,
        host: String,
        data_dir: String,
    },
    #[error(
        "the initial cluster token is empty or has whitespace or ','; give a fresh one for the restored cluster"
    )]
    Token,
    #[error(
        "--bump-revision needs etcdctl 3.4.27+ / etcdutl 3.5.10+; etcd {version} does not have it"
    )]
    BumpUnavailable { version: String },
    #[error("--bump-revision must be greater than 0")]
    BumpZero,
}

/// One environment variable of a command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvVar {
    pub name: String,
    pub value: String,
}

/// A command: what a program executes (`env` + `argv`, `argv[0]` found on
/// `PATH`) and the same as one line for a POSIX shell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandLine {
    pub env: Vec<EnvVar>,
    pub argv: Vec<String>,
    pub shell: String,
}

impl CommandLine {
    fn new(env: &[(&str, &str)], argv: Vec<String>) -> Self {
        let shell = env
            .iter()
            .map(|(k, v)| format!("{k}={}", shell_word(v)))
            .chain(argv.iter().map(|a| shell_word(a)))
            .collect::<Vec<_>>()
            .join(" ");
        Self {
            env: env
                .iter()
                .map(|(k, v)| EnvVar {
                    name: (*k).to_string(),
                    value: (*v).to_string(),
                })
                .collect(),
            argv,
            shell,
        }
    }
}

/// A word a POSIX shell reads back unchanged.
pub fn shell_word(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_@%+=:,./-".contains(&b));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
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

/// `name=peer-url,name=peer-url,…` (a name repeated for several peer URLs, as
/// in `--initial-cluster`), in the order given.
pub fn parse_members(s: &str) -> Result<Vec<PlanMember>, RestoreError> {
    let mut out: Vec<PlanMember> = Vec::new();
    for entry in s.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let Some((name, url)) = entry.split_once('=') else {
            return Err(RestoreError::MemberSyntax {
                entry: entry.to_string(),
            });
        };
        let (name, url) = (name.trim(), url.trim());
        match out.iter_mut().find(|m| m.name == name) {
            Some(m) => m.peer_urls.push(url.to_string()),
            None => out.push(PlanMember {
                name: name.to_string(),
                peer_urls: vec![url.to_string()],
                client_urls: Vec::new(),
                learner: false,
            }),
        }
    }
    if out.is_empty() {
        return Err(RestoreError::NoMembers);
    }
    Ok(out)
}

/// The snapshot's members (its `members` bucket, in member-id order).
pub fn members_from_snapshot(members: &[Member]) -> Result<Vec<PlanMember>, RestoreError> {
    if members.is_empty() {
        return Err(RestoreError::NoMembers);
    }
    members
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let name = m.name.clone().filter(|n| !n.is_empty()).ok_or_else(|| {
                RestoreError::UnnamedMember {
                    id: m.id.clone(),
                    member: i,
                }
            })?;
            Ok(PlanMember {
                name,
                peer_urls: m.peer_urls.clone(),
                client_urls: m.client_urls.clone(),
                learner: m.is_learner,
            })
        })
        .collect()
}

/// `scheme://host:port/…` → (scheme, host, port); host without IPv6 brackets.
fn split_url(url: &str) -> Option<(&str, &str, Option<&str>)> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let authority = rest.split('/').next()?;
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6.split_once(']')?;
        (h, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty()
        || port.is_some_and(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    Some((scheme, host, port))
}

fn is_ip(host: &str) -> bool {
    host.parse::<std::net::IpAddr>().is_ok()
}

/// What `--listen-peer-urls` can bind: etcd binds only IPs (and
/// `localhost`), so a name becomes 0.0.0.0 with the same port.
fn listen_url(url: &str) -> (String, bool) {
    match split_url(url) {
        Some((scheme, host, port)) if !is_ip(host) && host != "localhost" => {
            let port = port.map(|p| format!(":{p}")).unwrap_or_default();
            (format!("{scheme}://0.0.0.0{port}"), true)
        }
        _ => (url.to_string(), false),
    }
}

fn valid_name(n: &str) -> bool {
    !n.is_empty() && !n.contains(['=', ',']) && !n.chars().any(char::is_whitespace)
}

/// The data dir of `name` from `pattern`.
fn data_dir(pattern: &str, name: &str) -> String {
    pattern.replace("{name}", name)
}

/// Build the runbook.
pub fn plan(input: &RestoreInput) -> Result<RestorePlan, RestoreError> {
    let members = &input.members;
    if members.is_empty() {
        return Err(RestoreError::NoMembers);
    }
    let mut names = HashSet::new();
    let mut urls: Vec<(&str, &str)> = Vec::new();
    for m in members {
        if !valid_name(&m.name) || !names.insert(m.name.as_str()) {
            return Err(RestoreError::MemberName {
                name: m.name.clone(),
            });
        }
        if m.peer_urls.is_empty() {
            return Err(RestoreError::NoPeerUrl {
                name: m.name.clone(),
            });
        }
        for u in &m.peer_urls {
            if split_url(u).is_none() || u.contains([',', ' ']) {
                return Err(RestoreError::PeerUrl {
                    name: m.name.clone(),
                    url: u.clone(),
                });
            }
            if let Some((_, first)) = urls.iter().find(|(url, _)| url == u) {
                return Err(RestoreError::DuplicatePeerUrl {
                    url: u.clone(),
                    first: (*first).to_string(),
                    second: m.name.clone(),
                });
            }
            urls.push((u, &m.name));
        }
    }
    let pattern = input.data_dir_pattern.trim();
    if pattern.is_empty() {
        return Err(RestoreError::EmptyDataDir);
    }
    if pattern.replace("{name}", "").contains(['{', '}']) {
        return Err(RestoreError::DataDirPlaceholder {
            pattern: pattern.to_string(),
        });
    }
    // Two members on one host need two data dirs.
    if !pattern.contains("{name}") {
        let host_of = |m: &PlanMember| {
            m.peer_urls
                .first()
                .and_then(|u| split_url(u))
                .map(|(_, h, _)| h.to_string())
        };
        for (i, a) in members.iter().enumerate() {
            if let Some(b) = members[i + 1..].iter().find(|b| host_of(b) == host_of(a)) {
                return Err(RestoreError::SharedDataDir {
                    first: a.name.clone(),
                    second: b.name.clone(),
                    host: host_of(a).unwrap_or_default(),
                    data_dir: pattern.to_string(),
                });
            }
        }
    }
    let token = input.initial_cluster_token.trim();
    if token.is_empty() || token.contains(',') || token.chars().any(char::is_whitespace) {
        return Err(RestoreError::Token);
    }
    let version = input.version;
    let availability = version.bump_revision();
    match input.bump_revision {
        Some(0) => return Err(RestoreError::BumpZero),
        Some(_) if availability == Availability::Unavailable => {
            return Err(RestoreError::BumpUnavailable {
                version: version.to_string(),
            });
        }
        _ => {}
    }

    let tool = version.tool();
    let initial_cluster = members
        .iter()
        .flat_map(|m| m.peer_urls.iter().map(move |u| format!("{}={u}", m.name)))
        .collect::<Vec<_>>()
        .join(",");
    let env: &[(&str, &str)] = match tool {
        RestoreTool::Etcdctl => &[("ETCDCTL_API", "3")],
        RestoreTool::Etcdutl => &[],
    };
    let mut warnings = Vec::new();
    let mut plans = Vec::new();
    for m in members {
        let dir = data_dir(pattern, &m.name);
        let peers = m.peer_urls.join(",");
        let mut argv = vec![
            tool.program().to_string(),
            "snapshot".into(),
            "restore".into(),
            input.snapshot_path.clone(),
            format!("--name={}", m.name),
            format!("--initial-cluster={initial_cluster}"),
            format!("--initial-cluster-token={token}"),
            format!("--initial-advertise-peer-urls={peers}"),
            format!("--data-dir={dir}"),
        ];
        if input.skip_hash_check {
            argv.push("--skip-hash-check".into());
        }
        if let Some(n) = input.bump_revision {
            argv.push(format!("--bump-revision={n}"));
            argv.push("--mark-compacted".into());
        }
        let mut listen = Vec::new();
        for u in &m.peer_urls {
            let (l, rewritten) = listen_url(u);
            if rewritten {
                warnings.push(format!(
                    "{}: etcd listens only on IP addresses; --listen-peer-urls has {l} for {u} (or give the host's IP)",
                    m.name
                ));
            }
            listen.push(l);
        }
        let start = vec![
            "etcd".to_string(),
            format!("--name={}", m.name),
            format!("--data-dir={dir}"),
            format!("--listen-peer-urls={}", listen.join(",")),
            format!("--initial-advertise-peer-urls={peers}"),
            format!("--initial-cluster={initial_cluster}"),
            format!("--initial-cluster-token={token}"),
        ];
        if m.learner {
            warnings.push(format!(
                "{} was a learner in the snapshot; restore makes every listed member a voting member",
                m.name
            ));
        }
        plans.push(MemberPlan {
            name: m.name.clone(),
            peer_urls: m.peer_urls.clone(),
            move_aside: CommandLine::new(
                &[],
                vec!["mv".into(), dir.clone(), format!("{dir}.before-restore")],
            ),
            restore: CommandLine::new(env, argv),
            start: CommandLine::new(&[], start),
            data_dir: dir,
        });
    }
    if members.len().is_multiple_of(2) {
        warnings.push(format!(
            "{} members: an even count tolerates no more failures than one member fewer",
            members.len()
        ));
    }
    let bump = bump_advice(version, availability, input.bump_revision);
    let steps = steps(input, tool, &plans, &bump);
    Ok(RestorePlan {
        tool,
        version: version.to_string(),
        version_source: input.version_source,
        members_source: input.members_source,
        snapshot_path: input.snapshot_path.clone(),
        revision: input.revision,
        initial_cluster,
        initial_cluster_token: token.to_string(),
        members: plans,
        steps,
        bump_revision: bump,
        warnings,
    })
}

fn bump_advice(version: EtcdVersion, availability: Availability, asked: Option<u64>) -> BumpAdvice {
    let why = "Add --bump-revision N --mark-compacted when clients that watched the old cluster will \
               watch the restored one — Kubernetes API servers, controllers and kubelets do. Restoring \
               an older snapshot moves the revision back: a watcher that resumes from a revision it saw \
               misses changes or sees wrong ones. --bump-revision N raises the restored revision by N \
               (more than the revisions written since the snapshot, e.g. 1000000000); --mark-compacted \
               then makes every watch from an older revision fail as compacted, so clients re-list.";
    let when = match availability {
        Availability::Available => format!("etcd {version} has both flags."),
        Availability::Unavailable => format!(
            "etcd {version} does not have them (etcdctl 3.4.27+ / etcdutl 3.5.10+ do): after the restore, \
             restart every client that watches (API servers, kube-controller-manager, kube-scheduler, kubelets) \
             so they re-list."
        ),
        Availability::Unknown => format!(
            "They exist from etcdctl 3.4.27 / etcdutl 3.5.10 on; give the full version (e.g. {}.{}.x) to know, \
             or check `{} snapshot restore --help`.",
            version.major,
            version.minor,
            version.tool().program()
        ),
    };
    let included = match asked {
        Some(n) => format!(" The commands below include --bump-revision={n} --mark-compacted."),
        None => String::new(),
    };
    BumpAdvice {
        availability,
        included: asked,
        note: format!("{why} {when}{included}"),
    }
}

fn per_member(
    plans: &[MemberPlan],
    pick: impl Fn(&MemberPlan) -> &CommandLine,
) -> Vec<MemberCommand> {
    plans
        .iter()
        .map(|p| MemberCommand {
            member: p.name.clone(),
            command: pick(p).clone(),
        })
        .collect()
}

fn steps(
    input: &RestoreInput,
    tool: RestoreTool,
    plans: &[MemberPlan],
    bump: &BumpAdvice,
) -> Vec<Step> {
    let k8s = input.kubernetes;
    let path = shell_word(&input.snapshot_path);
    let mut out = Vec::new();
    if k8s {
        out.push(Step {
            id: StepId::StopApiServers,
            title: "Stop the Kubernetes API servers".into(),
            detail: "On every control-plane node, so nothing writes to etcd while it is replaced. \
                     kubeadm runs them as static pods: move the manifest out of the manifests \
                     folder and the kubelet stops the pod."
                .into(),
            commands: Vec::new(),
            examples: vec![
                "mv /etc/kubernetes/manifests/kube-apiserver.yaml /etc/kubernetes/kube-apiserver.yaml.restore".into(),
                "crictl ps --name kube-apiserver   # wait until it lists nothing".into(),
                "systemctl stop kube-apiserver     # not kubeadm: a systemd unit".into(),
            ],
        });
    }
    out.push(Step {
        id: StepId::StopEtcd,
        title: "Stop etcd on every member".into(),
        detail:
            "All members, before any is restored: a restored member must not join the old cluster."
                .into(),
        commands: Vec::new(),
        examples: vec![
            "mv /etc/kubernetes/manifests/etcd.yaml /etc/kubernetes/etcd.yaml.restore   # kubeadm"
                .into(),
            "systemctl stop etcd   # systemd".into(),
        ],
    });
    let mut copy_detail =
        "The same file on every member: members restored from different snapshots \
                           diverge. Check its SHA-256 on each host."
            .to_string();
    if input.skip_hash_check {
        copy_detail += " This file has no SHA-256 trailer (a db file copied from a data dir), so the \
                        restore commands carry --skip-hash-check.";
    }
    out.push(Step {
        id: StepId::CopySnapshot,
        title: format!("Copy the snapshot to {path} on every member"),
        detail: copy_detail,
        commands: Vec::new(),
        examples: vec![
            format!("scp SNAPSHOT_FILE HOST:{path}"),
            format!("sha256sum {path}   # the same on every member"),
        ],
    });
    out.push(Step {
        id: StepId::MoveDataDirsAside,
        title: "Move each member's data dir aside".into(),
        detail:
            "The restore refuses to write into an existing data dir; keep the old one until the \
                 restored cluster is healthy."
                .into(),
        commands: per_member(plans, |p| &p.move_aside),
        examples: Vec::new(),
    });
    out.push(Step {
        id: StepId::Restore,
        title: format!("Restore on every member ({})", tool.program()),
        detail: format!(
            "Each member runs its own command; all name the same file, --initial-cluster and token. \
             The snapshot is at revision {}.",
            input.revision
        ),
        commands: per_member(plans, |p| &p.restore),
        examples: Vec::new(),
    });
    let mut start_examples = Vec::new();
    if k8s {
        start_examples.push(
            "kubeadm: set --data-dir, --initial-cluster and --initial-cluster-token in /etc/kubernetes/etcd.yaml.restore \
             (and the etcd-data hostPath to the data dir), then move it back to /etc/kubernetes/manifests/etcd.yaml"
                .to_string(),
        );
    }
    start_examples.push(
        "systemctl start etcd   # with the flags above in the unit or its environment file".into(),
    );
    out.push(Step {
        id: StepId::StartEtcd,
        title: "Start etcd on every member".into(),
        detail: "With the same name, data dir, peer URLs, --initial-cluster and token as the restore; add \
                 the member's client URL, TLS and tuning flags as before. Start them all: none is healthy \
                 without a quorum."
            .into(),
        commands: per_member(plans, |p| &p.start),
        examples: start_examples,
    });
    let clients: Vec<&str> = input
        .members
        .iter()
        .flat_map(|m| m.client_urls.iter().map(String::as_str))
        .collect();
    let endpoints = if clients.is_empty() {
        "CLIENT_URL_1,CLIENT_URL_2,…".to_string()
    } else {
        clients.join(",")
    };
    let ctl = match tool {
        RestoreTool::Etcdctl => "ETCDCTL_API=3 etcdctl",
        RestoreTool::Etcdutl => "etcdctl",
    };
    out.push(Step {
        id: StepId::CheckHealth,
        title: "Check health".into(),
        detail: format!(
            "Every member healthy, one leader, the same revision everywhere: {} (more if leases \
             expired at boot and their keys were deleted).",
            input.revision
        ),
        commands: Vec::new(),
        examples: vec![
            format!("{ctl} --endpoints={endpoints} endpoint health"),
            format!("{ctl} --endpoints={endpoints} endpoint status -w table"),
        ],
    });
    if k8s {
        out.push(Step {
            id: StepId::KeepEncryptionKeys,
            title: "Keep the EncryptionConfiguration's keys".into(),
            detail: "The API servers' --encryption-provider-config must still hold every key that was in \
                     use when this snapshot was taken; Secrets encrypted with a key that is gone cannot be \
                     read after the restore."
                .into(),
            commands: Vec::new(),
            examples: Vec::new(),
        });
        let mut detail = "Move the manifests back (kubeadm) or start the units.".to_string();
        if bump.included.is_none() {
            detail += " Then restart kube-controller-manager, kube-scheduler and the kubelets so their \
                       watches re-list instead of trusting revisions from before the restore.";
        }
        out.push(Step {
            id: StepId::StartApiServers,
            title: "Start the API servers".into(),
            detail,
            commands: Vec::new(),
            examples: vec![
                "mv /etc/kubernetes/kube-apiserver.yaml.restore /etc/kubernetes/manifests/kube-apiserver.yaml".into(),
                "systemctl start kube-apiserver   # not kubeadm".into(),
            ],
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(members: &str, version: &str) -> RestoreInput {
        RestoreInput {
            members: parse_members(members).unwrap(),
            members_source: MembersSource::Given,
            version: EtcdVersion::parse(version).unwrap(),
            version_source: VersionSource::Given,
            data_dir_pattern: "/var/lib/etcd-{name}".into(),
            initial_cluster_token: "restored-1".into(),
            snapshot_path: "/tmp/snap.db".into(),
            skip_hash_check: false,
            revision: 42,
            kubernetes: false,
            bump_revision: None,
        }
    }

    #[test]
    fn versions_pick_the_tool_and_the_bump_flags() {
        let v = |s| EtcdVersion::parse(s).unwrap();
        assert_eq!(v("3.4").tool(), RestoreTool::Etcdctl);
        assert_eq!(v("v3.5.1").tool(), RestoreTool::Etcdutl);
        assert_eq!(v("3.6").tool(), RestoreTool::Etcdutl);
        assert_eq!(v("3.4.23").bump_revision(), Availability::Unavailable);
        assert_eq!(v("3.4.27").bump_revision(), Availability::Available);
        assert_eq!(v("3.5.9").bump_revision(), Availability::Unavailable);
        assert_eq!(v("3.5.10").bump_revision(), Availability::Available);
        assert_eq!(v("3.5").bump_revision(), Availability::Unknown);
        assert_eq!(v("3.6.0").bump_revision(), Availability::Available);
        for bad in ["", "3", "3.x", "3.5.1.1", "3.5-rc"] {
            assert!(
                matches!(EtcdVersion::parse(bad), Err(RestoreError::Version { .. })),
                "{bad}"
            );
        }
        assert!(matches!(
            EtcdVersion::parse("3.3.27"),
            Err(RestoreError::UnsupportedVersion { .. })
        ));
    }

    #[test]
    fn etcd_34_restores_with_etcdctl_and_api_3() {
        let p = plan(&input(
            "a=http://10.0.0.1:2380,b=http://10.0.0.2:2380,c=http://10.0.0.3:2380",
            "3.4.23",
        ))
        .unwrap();
        assert_eq!(
            p.initial_cluster,
            "a=http://10.0.0.1:2380,b=http://10.0.0.2:2380,c=http://10.0.0.3:2380"
        );
        let r = &p.members[1].restore;
        assert_eq!(
            r.env,
            vec![EnvVar {
                name: "ETCDCTL_API".into(),
                value: "3".into()
            }]
        );
        assert_eq!(
            r.argv,
            [
                "etcdctl",
                "snapshot",
                "restore",
                "/tmp/snap.db",
                "--name=b",
                "--initial-cluster=a=http://10.0.0.1:2380,b=http://10.0.0.2:2380,c=http://10.0.0.3:2380",
                "--initial-cluster-token=restored-1",
                "--initial-advertise-peer-urls=http://10.0.0.2:2380",
                "--data-dir=/var/lib/etcd-b",
            ]
        );
        assert!(
            r.shell
                .starts_with("ETCDCTL_API=3 etcdctl snapshot restore /tmp/snap.db --name=b ")
        );
        assert_eq!(p.bump_revision.availability, Availability::Unavailable);
        assert!(p.bump_revision.note.contains("3.4.23 does not have them"));
        let ids: Vec<StepId> = p.steps.iter().map(|s| s.id).collect();
        assert_eq!(
            ids,
            [
                StepId::StopEtcd,
                StepId::CopySnapshot,
                StepId::MoveDataDirsAside,
                StepId::Restore,
                StepId::StartEtcd,
                StepId::CheckHealth
            ]
        );
    }

    #[test]
    fn etcd_35_uses_etcdutl_and_bump_flags_when_asked() {
        let mut i = input(
            "a=https://e1.example:2380,a=https://10.1.0.1:2380",
            "3.5.10",
        );
        i.bump_revision = Some(1_000_000_000);
        i.skip_hash_check = true;
        i.kubernetes = true;
        let p = plan(&i).unwrap();
        assert_eq!(
            p.initial_cluster,
            "a=https://e1.example:2380,a=https://10.1.0.1:2380"
        );
        let r = &p.members[0].restore;
        assert!(r.env.is_empty());
        assert_eq!(r.argv[0], "etcdutl");
        assert!(r.argv.ends_with(&[
            "--data-dir=/var/lib/etcd-a".to_string(),
            "--skip-hash-check".into(),
            "--bump-revision=1000000000".into(),
            "--mark-compacted".into()
        ]));
        // A host name cannot be bound: 0.0.0.0 with the same port, and a warning.
        assert!(p.members[0].start.argv.contains(
            &"--listen-peer-urls=https://0.0.0.0:2380,https://10.1.0.1:2380".to_string()
        ));
        assert!(
            p.warnings
                .iter()
                .any(|w| w.contains("only on IP addresses"))
        );
        assert!(p.steps.iter().any(|s| s.id == StepId::KeepEncryptionKeys));
        assert_eq!(p.steps.first().map(|s| s.id), Some(StepId::StopApiServers));
        assert_eq!(p.steps.last().map(|s| s.id), Some(StepId::StartApiServers));
        // Too old for the flags: refused, not silently dropped.
        i.version = EtcdVersion::parse("3.5.1").unwrap();
        assert!(matches!(
            plan(&i),
            Err(RestoreError::BumpUnavailable { .. })
        ));
    }

    #[test]
    fn bad_members_and_patterns_are_refused() {
        let err = |members: &str, pattern: &str| {
            let mut i = RestoreInput {
                members: Vec::new(),
                ..input("x=http://127.0.0.1:1", "3.5")
            };
            i.members = match parse_members(members) {
                Ok(m) => m,
                Err(e) => return e,
            };
            i.data_dir_pattern = pattern.into();
            plan(&i).unwrap_err()
        };
        assert_eq!(err("", "/d"), RestoreError::NoMembers);
        assert!(matches!(err("a", "/d"), RestoreError::MemberSyntax { .. }));
        assert!(matches!(
            err("a b=http://h:1", "/d"),
            RestoreError::MemberName { .. }
        ));
        assert!(matches!(
            err("a=ftp://h:1", "/d"),
            RestoreError::PeerUrl { .. }
        ));
        assert!(matches!(
            err("a=http://h:x", "/d"),
            RestoreError::PeerUrl { .. }
        ));
        assert!(matches!(
            err("a=http://h:1,b=http://h:1", "/d-{name}"),
            RestoreError::DuplicatePeerUrl { .. }
        ));
        assert!(matches!(
            err("a=http://h:1,b=http://h:2", "/var/lib/etcd"),
            RestoreError::SharedDataDir { .. }
        ));
        assert!(matches!(
            err("a=http://h:1", "/d-{member}"),
            RestoreError::DataDirPlaceholder { .. }
        ));
        // Different hosts may share one path.
        let mut i = input("a=http://h1:1,b=http://[::1]:2", "3.5");
        i.data_dir_pattern = "/var/lib/etcd".into();
        assert_eq!(plan(&i).unwrap().members[1].data_dir, "/var/lib/etcd");
    }

    #[test]
    fn shell_words_round_trip_through_single_quotes() {
        assert_eq!(shell_word("--name=a"), "--name=a");
        assert_eq!(shell_word("/tmp/my snap.db"), "'/tmp/my snap.db'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word(""), "''");
    }
}
