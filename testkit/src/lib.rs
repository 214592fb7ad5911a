//! Test helpers shared by every crate's tests: real processes on loopback only.
//!
//! - [`etcd::Etcd`]: a real etcd on random 127.0.0.1 ports with a temp data dir, killed on drop.
//! - [`fixture`]: the read-only fixtures beside the repository (`../shared/fixtures`).

pub mod etcd;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("binding 127.0.0.1:0")
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
