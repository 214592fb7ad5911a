//! Why there is no plan: what the checks of the version, the members, the
//! data-dir pattern, the token and `--bump-revision` refuse.

use serde::Serialize;

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
