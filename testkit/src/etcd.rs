//! A real etcd member on loopback, for as long as the value lives.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use tempfile::TempDir;

use crate::{free_port, wait_for};

/// Debian's etcd 3.4 (package etcd-server / etcd-client).
pub const DEBIAN_ETCD: &str = "/usr/bin/etcd";
pub const DEBIAN_ETCDCTL: &str = "/usr/bin/etcdctl";

pub struct Etcd {
    child: Child,
    pub endpoint: String,
    etcdctl: PathBuf,
    dir: TempDir,
}

impl Etcd {
    /// Start Debian's etcd.
    pub fn start() -> Self {
        Self::start_with(Path::new(DEBIAN_ETCD), Path::new(DEBIAN_ETCDCTL))
    }

    /// Start the given etcd binary, driven with the given etcdctl.
    pub fn start_with(etcd: &Path, etcdctl: &Path) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let (client, peer) = (free_port(), free_port());
        let endpoint = format!("http://127.0.0.1:{client}");
        let peer_url = format!("http://127.0.0.1:{peer}");
        let log = std::fs::File::create(dir.path().join("etcd.log")).expect("etcd log");
        let child = Command::new(etcd)
            .args(["--name", "lens-test", "--data-dir"])
            .arg(dir.path().join("member"))
            .args([
                "--listen-client-urls",
                &endpoint,
                "--advertise-client-urls",
                &endpoint,
            ])
            .args([
                "--listen-peer-urls",
                &peer_url,
                "--initial-advertise-peer-urls",
                &peer_url,
            ])
            .args(["--initial-cluster", &format!("lens-test={peer_url}")])
            .args([
                "--listen-metrics-urls",
                &format!("http://127.0.0.1:{}", free_port()),
            ])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e} (run scripts/setup.sh)", etcd.display()));
        let me = Self {
            child,
            endpoint,
            etcdctl: etcdctl.to_path_buf(),
            dir,
        };
        wait_for("etcd to become healthy", Duration::from_secs(30), || {
            me.ctl_output(&["endpoint", "health"])
                .status
                .success()
                .then_some(())
        });
        me
    }

    fn ctl_output(&self, args: &[&str]) -> Output {
        Command::new(&self.etcdctl)
            .env("ETCDCTL_API", "3")
            .args([
                "--endpoints",
                &self.endpoint,
                "--dial-timeout=2s",
                "--command-timeout=10s",
            ])
            .args(args)
            .output()
            .expect("running etcdctl")
    }

    /// Run etcdctl against this member; panics with its stderr on failure.
    pub fn ctl(&self, args: &[&str]) -> String {
        let out = self.ctl_output(args);
        assert!(
            out.status.success(),
            "etcdctl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn put(&self, key: &str, value: &str) {
        self.ctl(&["put", key, value]);
    }

    /// Run etcdctl with `input` on its standard input; panics with its stderr on failure.
    fn ctl_with_stdin(&self, args: &[&str], input: &[u8]) -> String {
        use std::io::Write;
        let mut child = Command::new(&self.etcdctl)
            .env("ETCDCTL_API", "3")
            .args([
                "--endpoints",
                &self.endpoint,
                "--dial-timeout=2s",
                "--command-timeout=30s",
            ])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("running etcdctl");
        child
            .stdin
            .take()
            .expect("etcdctl stdin")
            .write_all(input)
            .expect("writing to etcdctl");
        let out = child.wait_with_output().expect("waiting for etcdctl");
        assert!(
            out.status.success(),
            "etcdctl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `etcdctl put KEY` with a binary value on standard input (etcdctl reads
    /// all of it, unchanged, when no value argument is given).
    pub fn put_bytes(&self, key: &str, value: &[u8]) {
        self.ctl_with_stdin(&["put", key], value);
    }

    /// Many puts, 100 to a transaction (`etcdctl txn`; etcd allows 128 ops per txn).
    /// Keys and values must be single words (no spaces or newlines).
    pub fn put_many(&self, pairs: &[(String, String)]) {
        for batch in pairs.chunks(100) {
            let mut script = String::from("\n");
            for (k, v) in batch {
                assert!(
                    !k.contains(char::is_whitespace) && !v.contains(char::is_whitespace),
                    "put_many takes single words: {k:?} {v:?}"
                );
                script.push_str(&format!("put {k} {v}\n"));
            }
            script.push_str("\n\n");
            let out = self.ctl_with_stdin(&["txn"], script.as_bytes());
            assert!(out.starts_with("SUCCESS"), "etcdctl txn: {out}");
        }
    }

    /// `etcdctl snapshot status -w json FILE`, parsed.
    pub fn snapshot_status(&self, file: &Path) -> serde_json::Value {
        let json = self.ctl(&["snapshot", "status", "-w", "json", &file.to_string_lossy()]);
        serde_json::from_str(&json).unwrap_or_else(|e| panic!("etcdctl's status JSON: {e}: {json}"))
    }

    /// `etcdctl del KEY`; the number of keys deleted.
    pub fn delete(&self, key: &str) -> u64 {
        self.ctl(&["del", key])
            .trim()
            .parse()
            .expect("etcdctl del prints a count")
    }

    /// Grant a lease of `ttl_secs`; its id in hex, as `put --lease` takes it.
    pub fn grant_lease(&self, ttl_secs: u64) -> String {
        // "lease 694d7f5c0b2ad10b granted with TTL(600s)"
        let out = self.ctl(&["lease", "grant", &ttl_secs.to_string()]);
        out.split_whitespace()
            .nth(1)
            .expect("etcdctl lease grant output")
            .to_string()
    }

    /// `etcdctl put --lease=ID KEY VALUE`.
    pub fn put_with_lease(&self, key: &str, value: &str, lease_hex: &str) {
        self.ctl(&["put", &format!("--lease={lease_hex}"), key, value]);
    }

    /// Compact the key history up to `rev` (physically, so the snapshot shows it).
    pub fn compact(&self, rev: i64) {
        self.ctl(&["compaction", "--physical", &rev.to_string()]);
    }

    /// The store's current revision.
    pub fn revision(&self) -> i64 {
        let out = self.ctl(&["get", "revision-probe", "-w", "json"]);
        let at = out
            .find("\"revision\":")
            .expect("revision in etcdctl's JSON header")
            + "\"revision\":".len();
        out[at..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .expect("a revision number")
    }

    /// `etcdctl snapshot save` into `path`.
    pub fn snapshot(&self, path: &Path) {
        self.ctl(&["snapshot", "save", path.to_str().expect("utf-8 path")]);
    }

    /// The member's temp directory (logs, data).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
