//! The members of the restored cluster: from `--members` or the snapshot's
//! `members` bucket, and the checks and rewrites of their names, peer URLs
//! and data dirs.

use serde::Serialize;

use super::error::RestoreError;
use crate::snapshot::Member;

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
pub(super) fn split_url(url: &str) -> Option<(&str, &str, Option<&str>)> {
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
pub(super) fn listen_url(url: &str) -> (String, bool) {
    match split_url(url) {
        Some((scheme, host, port)) if !is_ip(host) && host != "localhost" => {
            let port = port.map(|p| format!(":{p}")).unwrap_or_default();
            (format!("{scheme}://0.0.0.0{port}"), true)
        }
        _ => (url.to_string(), false),
    }
}

pub(super) fn valid_name(n: &str) -> bool {
    !n.is_empty() && !n.contains(['=', ',']) && !n.chars().any(char::is_whitespace)
}

/// The data dir of `name` from `pattern`.
pub(super) fn data_dir(pattern: &str, name: &str) -> String {
    pattern.replace("{name}", name)
}
