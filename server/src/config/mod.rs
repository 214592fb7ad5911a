//! Server settings: where to listen, what to serve, where to keep data.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use std::sync::Arc;

use anyhow::{Context, bail};

pub mod clusters;
pub mod connection;
pub mod coordination;

pub use clusters::{ClusterConfig, ClusterSummary};
pub use coordination::CoordinationConfig;

/// The default address: loopback only.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";

#[derive(Debug, Clone)]
pub struct Config {
    pub addr: SocketAddr,
    /// The built app (Trunk's `dist/`).
    pub dist: PathBuf,
    /// Catalog database, snapshots, token.
    pub data_dir: PathBuf,
    /// API token; `None` disables the check (only with an explicit flag).
    pub token: Option<String>,
    /// The read-only token of `GET /metrics`.
    pub metrics_token: Option<String>,
    /// The clusters to watch and snapshot (none: the server only serves the app).
    pub clusters: Vec<Arc<ClusterConfig>>,
    /// The file's `[coordination]` (`None`: this server alone decides).
    pub coordination: Option<Arc<CoordinationConfig>>,
}

/// `$XDG_DATA_HOME/etcd-lens`, else `~/.local/share/etcd-lens`, else `./data`.
pub fn default_data_dir() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(x).join("etcd-lens");
    }
    if let Some(h) = std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(h).join(".local/share/etcd-lens");
    }
    PathBuf::from("data")
}

/// Refuse non-loopback addresses unless the operator explicitly allows them.
pub fn check_addr(addr: SocketAddr, allow_remote: bool) -> anyhow::Result<()> {
    if !addr.ip().is_loopback() && !allow_remote {
        bail!(
            "refusing to listen on {addr}: not a loopback address (pass --allow-remote to do it anyway)"
        );
    }
    Ok(())
}

/// Read the API token from `data_dir/token`, creating it (mode 0600) on first start.
pub fn load_or_create_token(data_dir: &Path) -> anyhow::Result<String> {
    load_or_create_secret(data_dir, "token")
}

/// The `/metrics` token: `data_dir/metrics-token`, created like the API token.
pub fn load_or_create_metrics_token(data_dir: &Path) -> anyhow::Result<String> {
    load_or_create_secret(data_dir, "metrics-token")
}

fn load_or_create_secret(data_dir: &Path, name: &str) -> anyhow::Result<String> {
    use std::io::{Read, Write};
    use std::os::unix::fs::OpenOptionsExt;
    let path = data_dir.join(name);
    if let Ok(t) = std::fs::read_to_string(&path) {
        let t = t.trim().to_string();
        if t.len() >= 32 {
            return Ok(t);
        }
    }
    let mut raw = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut raw))
        .context("reading /dev/urandom for a new API token")?;
    let token = hex::encode(raw);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(token.as_bytes())?;
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_by_default() {
        assert!(check_addr("127.0.0.1:1".parse().unwrap(), false).is_ok());
        assert!(check_addr("[::1]:1".parse().unwrap(), false).is_ok());
        assert!(check_addr("0.0.0.0:1".parse().unwrap(), false).is_err());
        assert!(check_addr("0.0.0.0:1".parse().unwrap(), true).is_ok());
    }

    #[test]
    fn token_is_created_once_and_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let a = load_or_create_token(dir.path()).unwrap();
        let b = load_or_create_token(dir.path()).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 64);
        let mode = std::fs::metadata(dir.path().join("token"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
