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
//!
//! The parts: `version.rs` reads the etcd version and what its tool has,
//! `members.rs` the member list and its URLs, `command.rs` a command as argv
//! and as a shell line, `runbook.rs` the input and the plan's shapes,
//! `steps.rs` the steps around the restore, `error.rs` what is refused;
//! this file checks the input and builds the per-member commands.

use std::collections::HashSet;

mod command;
mod error;
mod members;
mod runbook;
mod steps;
mod version;

pub use command::{CommandLine, EnvVar, shell_word};
pub use error::RestoreError;
pub use members::{MembersSource, PlanMember, members_from_snapshot, parse_members};
use members::{data_dir, listen_url, split_url, valid_name};
pub use runbook::{BumpAdvice, MemberCommand, MemberPlan, RestoreInput, RestorePlan, Step, StepId};
use steps::steps;
pub use version::{Availability, EtcdVersion, RestoreTool, VersionSource};

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

#[cfg(test)]
mod tests;
