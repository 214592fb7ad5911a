//! Test helpers shared by every crate's tests: real processes on loopback only.
//!
//! - [`etcd::Etcd`]: a real etcd on random 127.0.0.1 ports with a temp data dir, killed on drop.
//! - [`cluster::Cluster`]: N real etcd members on loopback, optionally with
//!   client-cert TLS, auth and a quota; members can be killed and restarted.
//! - [`fixture`], [`fixture_bytes`]: the read-only fixtures beside the repository (`../shared/fixtures`).
//! - [`cli::Lens`]: the `etcd-lens` binary under test; [`json::prune`]: JSON compared without Go's zero values.
//! - [`age::encrypt`], [`age::passphrase`]: age files made by the `age` crate, binary or armored.
//! - [`go::build_tool`]: a Go tool of ours under `tools/` (the bbolt oracle), built for a test.
//! - [`apply_check::k8s_apply_check`]: Kubernetes' strict typed decoding of YAML documents (`tools/k8s-apply-check`).
//! - [`oracle_missing`]: what a test does when its reference tool is not installed.

pub mod age;
pub mod apply_check;
pub mod cli;
pub mod cluster;
pub mod etcd;
pub mod go;
pub mod go_tool;
pub mod json;
pub mod k8s_writer;
pub mod vectors;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A port that was free a moment ago on 127.0.0.1, and that no other caller
/// in this process has been given: tests run in parallel threads, and a port
/// released by one test's probe could otherwise be handed to another before
/// the first test's etcd binds it ("address already in use").
pub fn free_port() -> u16 {
    use std::collections::HashSet;
    use std::sync::Mutex;
    static GIVEN: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    let mut given = GIVEN.lock().unwrap_or_else(|p| p.into_inner());
    let given = given.get_or_insert_with(HashSet::new);
    // Bounded: the kernel hands out ports from a range of thousands.
    for _ in 0..1000 {
        let p = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("binding 127.0.0.1:0");
        if given.insert(p) {
            return p;
        }
    }
    panic!("no loopback port left that this process has not handed out already")
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("testkit/ has a parent")
        .to_path_buf()
}

/// A fixture file from `../shared/fixtures` (see its README for provenance).
pub fn fixture(rel: &str) -> PathBuf {
    let p = workspace_root().join("../shared/fixtures").join(rel);
    // Canonical: chromedriver refuses upload paths with `..` in them.
    p.canonicalize()
        .unwrap_or_else(|e| panic!("fixture {}: {e}", p.display()))
}

/// A test's oracle (a reference tool such as Go bbolt, etcd 3.5's etcdutl,
/// ssh-keygen or zstd) is not installed. Under `ETCD_LENS_REQUIRE_ORACLES=1`
/// (set by `scripts/test.sh`, so in CI) that fails the test; elsewhere the
/// test says so on stderr and the caller returns early.
pub fn oracle_missing(what: &str) {
    let required = std::env::var("ETCD_LENS_REQUIRE_ORACLES").is_ok_and(|v| v == "1");
    assert!(
        !required,
        "{what} is missing (scripts/setup.sh installs it); ETCD_LENS_REQUIRE_ORACLES=1 makes that a failure"
    );
    eprintln!("NOTICE: {what} is missing (scripts/setup.sh installs it); skipping this check");
}

/// The bytes of a fixture file.
pub fn fixture_bytes(rel: &str) -> Vec<u8> {
    let p = fixture(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
}

/// Poll `f` until it returns `Some`, or panic after `timeout` naming `what`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Wait until something accepts TCP connections on 127.0.0.1:`port`.
pub fn wait_for_port(what: &str, port: u16, timeout: Duration) {
    wait_for(what, timeout, || {
        std::net::TcpStream::connect(("127.0.0.1", port)).ok()
    });
}
