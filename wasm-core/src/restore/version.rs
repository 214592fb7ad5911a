//! The etcd release after the restore: parsed from what the user gives or the
//! snapshot's `cluster/clusterVersion`, and what follows from it (which tool
//! restores, whether it has `--bump-revision`).

use serde::Serialize;

use super::error::RestoreError;

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
