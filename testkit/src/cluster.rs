//! Real etcd clusters on loopback: N members on random 127.0.0.1 ports, a temp
//! dir for data, logs and certificates, every process killed on drop.
//!
//! What it does: starts the members concurrently and waits until each one's
//! `/health` (on its own metrics URL) is true, which implies a leader; can
//! require client certificates (`tls`), enable etcd auth with a root user and an
//! optional read-only user, set a backend quota; stops, kills and restarts
//! members with the same data dir and ports; drives etcdctl with the
//! cluster's TLS files and root's credentials filled in.
//!
//! What it does not: peer TLS (peers talk plain http), members added or removed
//! at run time, any address but 127.0.0.1.
//!
//! Invariants: a member's URLs never change over its life (a restart reuses
//! them); etcdctl helpers only dial members this harness believes are running,
//! so a stopped member does not slow them down.

mod binaries;
mod ctl;
mod etcdctl;
mod options;
mod tls;

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::free_port;
pub use binaries::{
    Binaries, DEBIAN_BIN_DIR, ETCD35_BIN_DIR, ETCD36_BIN_DIR, ETCD37_BIN_DIR, Flavor,
};
pub use options::{AuthOptions, ClusterOptions, Login, READ_ONLY_ROLE};
pub use tls::{CLIENT_CN, TlsFiles};

/// How long a member may take to become healthy (or, on restart, to listen).
/// A 3-member start took 0.2–2.3 s here (about one election, with split votes
/// now and then); a minute leaves room for a loaded CI machine.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a SIGTERM'd member may take to exit (it may first hand off leadership).
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(50);
/// Lines of a member's log quoted in a panic message.
const LOG_TAIL_LINES: usize = 40;

/// One member's fixed addresses and paths.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub name: String,
    /// `http://127.0.0.1:PORT`, or `https://…` with tls.
    pub client_url: String,
    pub peer_url: String,
    /// `http://127.0.0.1:PORT`: `/metrics` and `/health`, never TLS.
    pub metrics_url: String,
    pub data_dir: PathBuf,
    /// The member's stderr (appended to across restarts).
    pub log: PathBuf,
}

impl Member {
    pub fn client_port(&self) -> u16 {
        port_of(&self.client_url)
    }
}

/// Who etcdctl acts as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// Present [`TlsFiles::client_cert`] (only meaningful with tls; the CA is
    /// always trusted when there is one).
    pub client_cert: bool,
    pub login: Option<Login>,
}

pub struct Cluster {
    opts: ClusterOptions,
    members: Vec<Member>,
    /// `None` once stopped (or when the process was reaped).
    children: Vec<Mutex<Option<Child>>>,
    initial_cluster: String,
    token: String,
    tls: Option<TlsFiles>,
    dir: TempDir,
}

impl Cluster {
    /// Start the cluster and wait until every member is healthy (so a leader
    /// exists), then enable auth if asked. Panics with the members' log tails
    /// if that takes longer than a minute or a member exits.
    pub fn start(opts: ClusterOptions) -> Self {
        Self::start_named(opts, |i| format!("lens-{i}"))
    }

    /// [`Self::start`] with chosen member names (the single-member
    /// [`crate::etcd::Etcd`] keeps its historical name).
    pub(crate) fn start_named(opts: ClusterOptions, name: impl Fn(usize) -> String) -> Self {
        assert!(opts.members >= 1, "a cluster needs at least one member");
        let dir = tempfile::Builder::new()
            .prefix("etcd-lens-cluster-")
            .tempdir()
            .expect("temp dir");
        let tls = opts.tls.then(|| {
            let d = dir.path().join("tls");
            std::fs::create_dir(&d).expect("tls dir");
            tls::generate(&d)
        });
        let scheme = if opts.tls { "https" } else { "http" };
        let mut ports = distinct_free_ports(3 * opts.members).into_iter();
        let mut port = || ports.next().expect("enough ports");
        let members: Vec<Member> = (0..opts.members)
            .map(|i| {
                let name = name(i);
                Member {
                    client_url: format!("{scheme}://127.0.0.1:{}", port()),
                    peer_url: format!("http://127.0.0.1:{}", port()),
                    metrics_url: format!("http://127.0.0.1:{}", port()),
                    data_dir: dir.path().join(format!("{name}.etcd")),
                    log: dir.path().join(format!("{name}.log")),
                    name,
                }
            })
            .collect();
        let initial_cluster = members
            .iter()
            .map(|m| format!("{}={}", m.name, m.peer_url))
            .collect::<Vec<_>>()
            .join(",");
        let token = dir
            .path()
            .file_name()
            .expect("temp dir name")
            .to_string_lossy()
            .into_owned();
        let me = Self {
            children: members.iter().map(|_| Mutex::new(None)).collect(),
            members,
            initial_cluster,
            token,
            tls,
            opts,
            dir,
        };
        // Spawn all before waiting on any: no member is healthy without quorum.
        for i in 0..me.members.len() {
            me.spawn(i);
        }
        me.wait_healthy();
        if let Some(auth) = me.opts.auth.clone() {
            me.enable_auth(&auth);
        }
        me
    }

    fn child(&self, i: usize) -> MutexGuard<'_, Option<Child>> {
        // A panic while holding the lock leaves the Child intact: ignore poisoning.
        self.children[i]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn spawn(&self, i: usize) {
        let m = &self.members[i];
        let o = &self.opts;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&m.log)
            .unwrap_or_else(|e| panic!("opening {}: {e}", m.log.display()));
        let mut c = Command::new(&o.binaries.etcd);
        c.arg(format!("--name={}", m.name))
            .arg(format!("--data-dir={}", m.data_dir.display()))
            .arg(format!("--listen-client-urls={}", m.client_url))
            .arg(format!("--advertise-client-urls={}", m.client_url))
            .arg(format!("--listen-peer-urls={}", m.peer_url))
            .arg(format!("--initial-advertise-peer-urls={}", m.peer_url))
            .arg(format!("--initial-cluster={}", self.initial_cluster))
            .arg(format!("--initial-cluster-token={}", self.token))
            // Ignored once the data dir exists, so restarts rejoin.
            .arg("--initial-cluster-state=new")
            .arg(format!("--listen-metrics-urls={}", m.metrics_url))
            .arg(format!("--heartbeat-interval={}", o.heartbeat_ms))
            .arg(format!("--election-timeout={}", o.election_timeout_ms))
            .arg("--logger=zap");
        if let Some(q) = o.quota_backend_bytes {
            c.arg(format!("--quota-backend-bytes={q}"));
        }
        if let Some(t) = &self.tls {
            c.arg("--client-cert-auth")
                .arg(format!("--trusted-ca-file={}", t.ca.display()))
                .arg(format!("--cert-file={}", t.server_cert.display()))
                .arg(format!("--key-file={}", t.server_key.display()));
        }
        if let Some(a) = &o.auth {
            c.arg("--auth-token=simple")
                .arg(format!("--auth-token-ttl={}", a.token_ttl_secs))
                // bcrypt's minimum: every authenticated etcdctl call hashes the
                // password once, and cost 10 (the default) takes ~50 ms a time.
                .arg("--bcrypt-cost=4");
        }
        c.args(&o.extra_args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        let child = c.spawn().unwrap_or_else(|e| {
            panic!(
                "starting {}: {e} (run scripts/setup.sh)",
                o.binaries.etcd.display()
            )
        });
        *self.child(i) = Some(child);
    }

    /// Wait until every running member's `/health` is true (a leader, no
    /// alarm, a read served through raft). Needs quorum.
    pub fn wait_healthy(&self) {
        let running: Vec<usize> = (0..self.members.len())
            .filter(|&i| self.is_running(i))
            .collect();
        let mut pending = running.clone();
        let start = Instant::now();
        while !pending.is_empty() {
            pending.retain(|&i| {
                self.panic_if_exited(i, "while becoming healthy");
                !self.healthy(i)
            });
            if pending.is_empty() {
                break;
            }
            if start.elapsed() > START_TIMEOUT {
                let tails: String = pending
                    .iter()
                    .map(|&i| self.log_report(i))
                    .collect::<Vec<_>>()
                    .join("\n");
                panic!(
                    "etcd members {pending:?} of {running:?} not healthy after {START_TIMEOUT:?}\n{tails}"
                );
            }
            std::thread::sleep(POLL);
        }
    }

    /// Member `i`'s `/health` says true right now.
    pub fn healthy(&self, i: usize) -> bool {
        http_get(&self.members[i].metrics_url, "/health")
            .is_some_and(|r| r.contains("\"health\":\"true\""))
    }

    fn panic_if_exited(&self, i: usize, when: &str) {
        let status: Option<ExitStatus> = self
            .child(i)
            .as_mut()
            .and_then(|c| c.try_wait().expect("polling etcd"));
        if let Some(status) = status {
            *self.child(i) = None;
            panic!(
                "etcd member {i} exited ({status}) {when}\n{}",
                self.log_report(i)
            );
        }
    }

    fn log_report(&self, i: usize) -> String {
        let m = &self.members[i];
        format!(
            "--- last {LOG_TAIL_LINES} lines of {} ({}):\n{}",
            m.name,
            m.log.display(),
            log_tail(&m.log, LOG_TAIL_LINES)
        )
    }

    fn enable_auth(&self, auth: &AuthOptions) {
        let ctl = |args: &[&str]| self.ctl_as(&self.anonymous(), args);
        ctl(&["user", "add", &format!("root:{}", auth.root_password)]);
        ctl(&["role", "add", "root"]);
        ctl(&["user", "grant-role", "root", "root"]);
        if let Some(ro) = &auth.read_only {
            ctl(&["role", "add", READ_ONLY_ROLE]);
            // Key "" with --from-key: every key.
            ctl(&[
                "role",
                "grant-permission",
                "--from-key",
                READ_ONLY_ROLE,
                "read",
                "",
            ]);
            ctl(&["user", "add", &format!("{}:{}", ro.user, ro.password)]);
            ctl(&["user", "grant-role", &ro.user, READ_ONLY_ROLE]);
        }
        ctl(&["auth", "enable"]);
    }

    // ---- accessors ----

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    pub fn member(&self, i: usize) -> &Member {
        &self.members[i]
    }

    pub fn members(&self) -> &[Member] {
        &self.members
    }

    /// Every member's client URL, running or not, in member order.
    pub fn endpoints(&self) -> Vec<String> {
        self.members.iter().map(|m| m.client_url.clone()).collect()
    }

    /// The client URLs of the members that are running now.
    pub fn running_endpoints(&self) -> Vec<String> {
        (0..self.members.len())
            .filter(|&i| self.is_running(i))
            .map(|i| self.members[i].client_url.clone())
            .collect()
    }

    pub fn tls(&self) -> Option<&TlsFiles> {
        self.tls.as_ref()
    }

    pub fn root_password(&self) -> Option<&str> {
        self.opts.auth.as_ref().map(|a| a.root_password.as_str())
    }

    pub fn options(&self) -> &ClusterOptions {
        &self.opts
    }

    pub fn binaries(&self) -> &Binaries {
        &self.opts.binaries
    }

    /// The temp dir: data dirs, logs, `tls/`; tests may put files here.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Client cert if tls, root if auth: what [`Self::ctl`] uses.
    pub fn root(&self) -> Identity {
        Identity {
            client_cert: self.tls.is_some(),
            login: self
                .opts
                .auth
                .as_ref()
                .map(|a| Login::new("root", &a.root_password)),
        }
    }

    /// Client cert if tls, no user.
    pub fn anonymous(&self) -> Identity {
        Identity {
            client_cert: self.tls.is_some(),
            login: None,
        }
    }

    /// Client cert if tls, the read-only user if one was configured.
    pub fn read_only(&self) -> Option<Identity> {
        let ro = self.opts.auth.as_ref()?.read_only.clone()?;
        Some(Identity {
            client_cert: self.tls.is_some(),
            login: Some(ro),
        })
    }

    // ---- control ----

    /// Whether member `i`'s process is alive (it may still be unhealthy).
    pub fn is_running(&self, i: usize) -> bool {
        let mut child = self.child(i);
        match child.as_mut().map(|c| c.try_wait().expect("polling etcd")) {
            Some(None) => true,
            Some(Some(_exited)) => {
                *child = None;
                false
            }
            None => false,
        }
    }

    /// SIGKILL member `i` and reap it. No-op if it is not running.
    pub fn stop(&self, i: usize) {
        if let Some(mut c) = self.child(i).take() {
            let _ = c.kill();
            c.wait().expect("reaping etcd");
        }
    }

    /// SIGTERM member `i` and wait for it to exit (SIGKILL and panic after 30 s).
    pub fn stop_gracefully(&self, i: usize) {
        let Some(mut c) = self.child(i).take() else {
            return;
        };
        let term = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status()
            .expect("running kill");
        assert!(term.success(), "kill -TERM {} failed", c.id());
        let start = Instant::now();
        while c.try_wait().expect("polling etcd").is_none() {
            if start.elapsed() > STOP_TIMEOUT {
                let _ = c.kill();
                let _ = c.wait();
                panic!(
                    "etcd member {i} ignored SIGTERM for {STOP_TIMEOUT:?}\n{}",
                    self.log_report(i)
                );
            }
            std::thread::sleep(POLL);
        }
    }

    /// Start stopped member `i` again (same data dir, same ports) and wait
    /// until its client port accepts connections. It need not be healthy: a
    /// lone member of three has no quorum. Call [`Self::wait_healthy`] for that.
    pub fn restart(&self, i: usize) {
        assert!(!self.is_running(i), "member {i} is running; stop it first");
        self.spawn(i);
        let port = self.members[i].client_port();
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            self.panic_if_exited(i, "after a restart");
            if start.elapsed() > START_TIMEOUT {
                panic!(
                    "etcd member {i} not listening on {port} {START_TIMEOUT:?} after a restart\n{}",
                    self.log_report(i)
                );
            }
            std::thread::sleep(POLL);
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for c in &mut self.children {
            let c = c.get_mut().unwrap_or_else(|p| p.into_inner());
            if let Some(mut c) = c.take() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
        // The TempDir field then removes data, logs and certificates.
    }
}

/// `n` ports that were free a moment ago, no two alike.
fn distinct_free_ports(n: usize) -> Vec<u16> {
    let mut seen = HashSet::new();
    let mut ports = Vec::with_capacity(n);
    // Bounded: the kernel hands out ephemeral ports from thousands.
    for _ in 0..n * 20 {
        if ports.len() == n {
            break;
        }
        let p = free_port();
        if seen.insert(p) {
            ports.push(p);
        }
    }
    assert_eq!(ports.len(), n, "could not find {n} distinct free ports");
    ports
}

fn port_of(url: &str) -> u16 {
    url.rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {url}"))
}

/// A plain HTTP/1.0 GET on loopback; the whole response, or `None` on any error.
fn http_get(base_url: &str, path: &str) -> Option<String> {
    let addr = base_url.strip_prefix("http://")?;
    let mut s = TcpStream::connect_timeout(&addr.parse().ok()?, Duration::from_millis(500)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut response = String::new();
    s.read_to_string(&mut response).ok()?;
    Some(response)
}

fn log_tail(path: &Path, lines: usize) -> String {
    match std::fs::read_to_string(path) {
        Ok(log) => {
            let all: Vec<&str> = log.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("(cannot read: {e})"),
    }
}
