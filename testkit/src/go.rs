//! Go tools of ours under `tools/` (such as `tools/bbolt-gen`), built for a
//! test with Go 1.26 from /usr/local/go.
//!
//! The build never reaches the network (`GOPROXY=off`, `-mod=readonly`): the
//! modules come from the cache that scripts/setup.sh fills, and a module
//! missing from it fails the build with go's own message. Debian's older
//! `go` in /usr/bin is never used: the modules need Go 1.26.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The Go toolchain scripts/setup.sh expects (the machine image ships it).
pub const GO: &str = "/usr/local/go/bin/go";

/// Builds the main package of `tools/<name>` into `out_dir/<name>` and returns
/// that path; `None` after [`crate::oracle_missing`] when Go is not installed.
/// Panics with go's output when the build fails.
pub fn build_tool(name: &str, out_dir: &Path) -> Option<PathBuf> {
    if !Path::new(GO).exists() {
        crate::oracle_missing(&format!("Go 1.26 ({GO}) for tools/{name}"));
        return None;
    }
    let src = crate::workspace_root().join("tools").join(name);
    let bin = out_dir.join(name);
    let out = Command::new(GO)
        .current_dir(&src)
        .env("GOTOOLCHAIN", "local")
        .env("GOPROXY", "off")
        .env("GOFLAGS", "-mod=readonly -buildvcs=false")
        .env("GOCACHE", std::env::temp_dir().join("etcd-lens-gocache"))
        .arg("build")
        .arg("-o")
        .arg(&bin)
        .arg(".")
        .output()
        .unwrap_or_else(|e| panic!("running {GO} build in {}: {e}", src.display()));
    assert!(
        out.status.success(),
        "go build of tools/{name} failed (scripts/setup.sh downloads its modules): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(bin)
}
