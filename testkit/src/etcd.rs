//! A real etcd member on loopback, for as long as the value lives: a
//! one-member [`Cluster`] without TLS or auth, named `lens-test`.

use std::path::Path;

use crate::cluster::{Binaries, Cluster, ClusterOptions};

/// Debian's etcd 3.4 (package etcd-server / etcd-client).
pub const DEBIAN_ETCD: &str = "/usr/bin/etcd";
pub const DEBIAN_ETCDCTL: &str = "/usr/bin/etcdctl";

pub struct Etcd {
    cluster: Cluster,
    pub endpoint: String,
}

impl Etcd {
    /// Start Debian's etcd.
    pub fn start() -> Self {
        Self::start_with(Path::new(DEBIAN_ETCD), Path::new(DEBIAN_ETCDCTL))
    }

    /// Start the given etcd binary, driven with the given etcdctl.
    pub fn start_with(etcd: &Path, etcdctl: &Path) -> Self {
        let opts = ClusterOptions {
            members: 1,
            binaries: Binaries {
                etcd: etcd.to_path_buf(),
                etcdctl: etcdctl.to_path_buf(),
                // snapshot_status keeps using etcdctl, as it always has.
                etcdutl: None,
            },
            ..ClusterOptions::default()
        };
        let cluster = Cluster::start_named(opts, |_| "lens-test".to_string());
        let endpoint = cluster.member(0).client_url.clone();
        Self { cluster, endpoint }
    }

    /// The one-member cluster underneath (member 0).
    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    /// Run etcdctl against this member; panics with its stderr on failure.
    pub fn ctl(&self, args: &[&str]) -> String {
        self.cluster.ctl(args)
    }

    pub fn put(&self, key: &str, value: &str) {
        self.cluster.put(key, value);
    }

    /// `etcdctl put KEY` with a binary value on standard input.
    pub fn put_bytes(&self, key: &str, value: &[u8]) {
        self.cluster.put_bytes(key, value);
    }

    /// Many puts, 100 to a transaction; keys and values must be single words.
    pub fn put_many(&self, pairs: &[(String, String)]) {
        self.cluster.put_many(pairs);
    }

    /// `etcdctl snapshot status -w json FILE`, parsed.
    pub fn snapshot_status(&self, file: &Path) -> serde_json::Value {
        self.cluster.snapshot_status(file)
    }

    /// `etcdctl del KEY`; the number of keys deleted.
    pub fn delete(&self, key: &str) -> u64 {
        self.cluster.delete(key)
    }

    /// Grant a lease of `ttl_secs`; its id in hex, as `put --lease` takes it.
    pub fn grant_lease(&self, ttl_secs: u64) -> String {
        self.cluster.grant_lease(ttl_secs)
    }

    /// `etcdctl put --lease=ID KEY VALUE`.
    pub fn put_with_lease(&self, key: &str, value: &str, lease_hex: &str) {
        self.cluster.put_with_lease(key, value, lease_hex);
    }

    /// Compact the key history up to `rev` (physically, so the snapshot shows it).
    pub fn compact(&self, rev: i64) {
        self.cluster.compact(rev);
    }

    /// The store's current revision.
    pub fn revision(&self) -> i64 {
        self.cluster.revision()
    }

    /// `etcdctl snapshot save` into `path`.
    pub fn snapshot(&self, path: &Path) {
        self.cluster.snapshot(path);
    }

    /// The member's temp directory (logs, data).
    pub fn dir(&self) -> &Path {
        self.cluster.dir()
    }
}
