//! What cluster to start: member count, binaries, quota, TLS, etcd auth and
//! its users, raft timings, extra flags.

use super::binaries::Binaries;

/// A user name and password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Login {
    pub user: String,
    pub password: String,
}

impl Login {
    pub fn new(user: &str, password: &str) -> Self {
        Self {
            user: user.to_string(),
            password: password.to_string(),
        }
    }
}

/// etcd auth, enabled once the cluster is healthy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthOptions {
    /// Password of `root` (which gets the `root` role).
    pub root_password: String,
    /// A user with role `read-only`: read on every key, nothing else.
    pub read_only: Option<Login>,
    /// `--auth-token-ttl`: seconds a simple token lives unused.
    pub token_ttl_secs: u64,
}

impl Default for AuthOptions {
    fn default() -> Self {
        Self {
            root_password: "lens-root-pw".to_string(),
            read_only: None,
            token_ttl_secs: 300,
        }
    }
}

/// Name of the role [`AuthOptions::read_only`] gets.
pub const READ_ONLY_ROLE: &str = "read-only";

/// What cluster to start. `ClusterOptions { members: 3, tls: true, ..Default::default() }`.
#[derive(Clone, Debug)]
pub struct ClusterOptions {
    /// 1, 3, 5…
    pub members: usize,
    pub binaries: Binaries,
    /// `--quota-backend-bytes`; `None` leaves etcd's default (2 GiB).
    pub quota_backend_bytes: Option<u64>,
    /// Client URLs are https and require a client certificate signed by
    /// [`TlsFiles::ca`](super::TlsFiles::ca); peer and metrics URLs stay plain http.
    pub tls: bool,
    pub auth: Option<AuthOptions>,
    /// `--heartbeat-interval` / `--election-timeout`: shorter than etcd's
    /// 100/1000 ms so elections (at start, after a kill) are quick, long
    /// enough not to flap on a busy 2-core machine.
    pub heartbeat_ms: u64,
    pub election_timeout_ms: u64,
    /// More flags for every member (`--metrics=extensive`, …).
    pub extra_args: Vec<String>,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        Self {
            members: 1,
            binaries: Binaries::default(),
            quota_backend_bytes: None,
            tls: false,
            auth: None,
            heartbeat_ms: 50,
            election_timeout_ms: 500,
            extra_args: Vec::new(),
        }
    }
}
