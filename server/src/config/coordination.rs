//! `[coordination]`: the etcd on which several etcd-lens servers over the
//! same bucket elect the one that applies retention.
//!
//! ```toml
//! [coordination]
//! endpoints = ["https://127.0.0.1:2379"]   # not the managed cluster, by default
//! ca = "coord-ca.pem"                      # optional TLS and auth, as for [[cluster]]
//! cert = "coord-client.pem"
//! key = "coord-client-key.pem"
//! username = "etcd-lens"
//! password_file = "coord-password"
//! lease_ttl_seconds = 10                   # a dead leader is replaced within this
//! server_id = "backup-a"                   # default: hostname:port
//! election = "etcd-lens/retention"         # the election's name (key prefix)
//! timeout_seconds = 3                      # per call
//! catalog_sync_seconds = 30                # how often the catalog follows the store
//! ```
//!
//! Without the table a server is alone: it applies retention after each of
//! its snapshots, as it always did. Scheduled runs claim their slot in the
//! cluster's store either way (`ship::claim`); the election decides only who
//! prunes. The coordination etcd should be a different one from the managed
//! cluster: the election writes to it, and writes stall without quorum
//! while snapshots (a read from one member) do not.
//!
//! With the table, each server's catalog also follows each cluster's store
//! (`ops::sync`): every `catalog_sync_seconds`, at start, and before the
//! leader applies retention.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::connection::{ConfigError, Connection, Credentials, Tls, check_endpoints, connection};

/// Per call, unless the file says otherwise (as for a cluster's `timeout_seconds`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);

/// The lease's time to live unless the file says otherwise: a dead leader
/// is replaced within this, and a live one renews three times per period.
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(10);
/// etcd raises a shorter TTL to its minimum (1.5 election timeouts: 2 s at
/// the defaults) without saying so; a week is longer than any sensible one.
const MIN_LEASE_TTL_SECONDS: u64 = 2;
const MAX_LEASE_TTL_SECONDS: u64 = 7 * 24 * 3600;
pub const DEFAULT_ELECTION: &str = "etcd-lens/retention";
/// How often a server's catalog follows the store, unless the file says otherwise.
pub const DEFAULT_CATALOG_SYNC: Duration = Duration::from_secs(30);

/// The table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CoordinationFile {
    endpoints: Vec<String>,
    ca: Option<PathBuf>,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    tls_server_name: Option<String>,
    username: Option<String>,
    password_file: Option<PathBuf>,
    lease_ttl_seconds: Option<u64>,
    server_id: Option<String>,
    election: Option<String>,
    timeout_seconds: Option<u64>,
    catalog_sync_seconds: Option<u64>,
}

/// A checked `[coordination]`, every file read.
#[derive(Clone)]
pub struct CoordinationConfig {
    pub endpoints: Vec<String>,
    pub tls: Option<Tls>,
    pub credentials: Option<Credentials>,
    pub lease_ttl: Duration,
    /// `None`: `hostname:port` of the address the server listens on.
    pub server_id: Option<String>,
    pub election: String,
    /// Per call (connect, grant, revoke).
    pub timeout: Duration,
    /// How often each cluster's catalog follows its store (`ops::sync`).
    pub catalog_sync: Duration,
}

impl std::fmt::Debug for CoordinationConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CoordinationConfig")
            .field("endpoints", &self.endpoints)
            .field("tls", &self.tls.is_some())
            .field("credentials", &self.credentials)
            .field("lease_ttl", &self.lease_ttl)
            .field("server_id", &self.server_id)
            .field("election", &self.election)
            .finish_non_exhaustive()
    }
}

impl CoordinationFile {
    /// Check the table; `e` gets the field's name inside the table.
    pub(crate) fn resolve(
        &self,
        base: &Path,
        e: &dyn Fn(&str, String) -> ConfigError,
    ) -> Result<CoordinationConfig, ConfigError> {
        check_endpoints(&self.endpoints).map_err(|m| e("endpoints", m))?;
        let (tls, credentials) = connection(
            &Connection {
                endpoints: &self.endpoints,
                ca: &self.ca,
                cert: &self.cert,
                key: &self.key,
                tls_server_name: &self.tls_server_name,
                username: &self.username,
                password_file: &self.password_file,
            },
            base,
            e,
        )?;
        let lease_ttl = match self.lease_ttl_seconds {
            None => DEFAULT_LEASE_TTL,
            Some(s) if (MIN_LEASE_TTL_SECONDS..=MAX_LEASE_TTL_SECONDS).contains(&s) => {
                Duration::from_secs(s)
            }
            Some(s) => {
                return Err(e(
                    "lease_ttl_seconds",
                    format!(
                        "{s} is outside {MIN_LEASE_TTL_SECONDS}–{MAX_LEASE_TTL_SECONDS} (etcd raises shorter leases to its minimum without saying so)"
                    ),
                ));
            }
        };
        if let Some(id) = &self.server_id {
            check_server_id(id).map_err(|m| e("server_id", m))?;
        }
        let election = self
            .election
            .clone()
            .unwrap_or_else(|| DEFAULT_ELECTION.to_string());
        if election.is_empty() || election.chars().any(char::is_control) {
            return Err(e(
                "election",
                "must be a non-empty name without control characters".into(),
            ));
        }
        let timeout = match self.timeout_seconds {
            None => DEFAULT_TIMEOUT,
            Some(0) => return Err(e("timeout_seconds", "must be at least 1".into())),
            Some(s) => Duration::from_secs(s),
        };
        let catalog_sync = match self.catalog_sync_seconds {
            None => DEFAULT_CATALOG_SYNC,
            Some(0) => return Err(e("catalog_sync_seconds", "must be at least 1".into())),
            Some(s) => Duration::from_secs(s),
        };
        Ok(CoordinationConfig {
            endpoints: self.endpoints.clone(),
            tls,
            credentials,
            lease_ttl,
            server_id: self.server_id.clone(),
            election,
            timeout,
            catalog_sync,
        })
    }
}

impl CoordinationConfig {
    /// This server's name in the election and in its claims: the
    /// configured `server_id`, else `hostname:port` of `addr`.
    pub fn server_id_for(&self, addr: SocketAddr) -> String {
        self.server_id
            .clone()
            .unwrap_or_else(|| default_server_id(addr))
    }
}

/// `hostname:port`: unique per server as long as no two share a host and port.
pub fn default_server_id(addr: SocketAddr) -> String {
    format!("{}:{}", hostname(), addr.port())
}

/// The CLI's id (its on-demand snapshots take no claim; it appears only
/// in logs): `hostname:cli`.
pub fn cli_server_id() -> String {
    format!("{}:cli", hostname())
}

/// The machine's host name (`/proc/sys/kernel/hostname`, `/etc/hostname`,
/// `$HOSTNAME`), else `localhost`.
fn hostname() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .chain(std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .find(|h| !h.is_empty() && check_server_id(h).is_ok())
        .unwrap_or_else(|| "localhost".to_string())
}

/// Ids appear in logs, claims and metric labels: 1–128 printable characters.
fn check_server_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > 128 || id.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(format!(
            "{id:?} is not a usable server id (1–128 characters, no spaces or control characters)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::clusters::{load, load_settings};
    use super::*;

    #[test]
    fn defaults_and_mistakes() {
        let dir = tempfile::tempdir().unwrap();
        let cluster = "[[cluster]]\nname = \"a\"\nendpoints = [\"http://127.0.0.1:1\"]\n";
        let p = dir.path().join("c.toml");
        std::fs::write(
            &p,
            format!("[coordination]\nendpoints = [\"http://127.0.0.1:2\"]\n{cluster}"),
        )
        .unwrap();
        let settings = load_settings(&p).unwrap();
        assert_eq!(settings.clusters.len(), 1);
        let c = settings.coordination.expect("read with the clusters");
        assert_eq!(c.lease_ttl, DEFAULT_LEASE_TTL);
        assert_eq!(c.catalog_sync, DEFAULT_CATALOG_SYNC);
        assert_eq!(c.election, DEFAULT_ELECTION);
        let id = c.server_id_for("127.0.0.1:8080".parse().unwrap());
        assert!(id.ends_with(":8080") && id.len() > 5, "{id}");

        std::fs::write(&p, cluster).unwrap();
        assert!(load_settings(&p).unwrap().coordination.is_none());
        assert_eq!(load(&p).unwrap().len(), 1);

        for (table, want) in [
            (
                "endpoints = [\"http://127.0.0.1:2\"]\ncatalog_sync_seconds = 0\n",
                "field `coordination.catalog_sync_seconds`: must be at least 1",
            ),
            (
                "endpoints = [\"http://127.0.0.1:2\"]\nlease_ttl_seconds = 1\n",
                "field `coordination.lease_ttl_seconds`: 1 is outside",
            ),
            ("endpoints = []\n", "field `coordination.endpoints`"),
            (
                "endpoints = [\"http://127.0.0.1:2\"]\nserver_id = \"a b\"\n",
                "field `coordination.server_id`",
            ),
            (
                "endpoints = [\"https://127.0.0.1:2\"]\n",
                "field `coordination.ca`: https endpoints need",
            ),
            (
                "endpoints = [\"http://127.0.0.1:2\"]\nusername = \"u\"\n",
                "field `coordination.password_file`",
            ),
            (
                "endpoints = [\"http://127.0.0.1:2\"]\nleader = true\n",
                "unknown field `leader`",
            ),
        ] {
            std::fs::write(&p, format!("[coordination]\n{table}{cluster}")).unwrap();
            let got = load(&p).unwrap_err().to_string();
            assert!(got.contains(want), "{table}\n→ {got}\nwanted {want}");
        }
    }
}
