//! A Go tool of ours under `tools/` built for the tests of one process and
//! kept in the target directory, shared by the wrappers of each tool
//! ([`crate::apply_check`], [`crate::k8s_writer`]).
//!
//! The build is [`crate::go::build_tool`]'s (offline, from the module cache
//! scripts/setup.sh fills) into a temporary directory inside `go-tools/`
//! beside the test binaries' `deps/`, then one rename into place: test
//! processes building side by side each see a whole binary, never a half
//! written one.

use std::path::PathBuf;

/// Builds `tools/<name>` and returns `go-tools/<name>`; `None` after
/// [`crate::oracle_missing`] when Go is not installed. Call it once per
/// process (from a `OnceLock`): each call builds again.
pub fn build_into_target(name: &str) -> Option<PathBuf> {
    let dir = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.join("go-tools")))
        .unwrap_or_else(|| std::env::temp_dir().join("etcd-lens-go-tools"));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    let build = tempfile::tempdir_in(&dir).expect("a build directory");
    let built = crate::go::build_tool(name, build.path())?;
    let bin = dir.join(name);
    std::fs::rename(&built, &bin)
        .unwrap_or_else(|e| panic!("moving {} to {}: {e}", built.display(), bin.display()));
    Some(bin)
}
