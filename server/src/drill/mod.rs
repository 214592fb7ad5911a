//! Restore drills: prove a stored snapshot restores, by restoring it.
//!
//! Take the copy to drill — the stored file here, or the shipped object
//! fetched into the work folder first (the `fetch` step, [`Stored::Fetched`]:
//! still ciphertext, checked by the fetcher against the record's size and
//! SHA-256, removed once decrypted) — decrypt it with the drill identity (an
//! extra recipient whose key lives on the server) into a private work folder
//! (mode 0700, on tmpfs when it fits), check its SHA-256 trailer, run the
//! real restore of the source member's version family (`etcdctl snapshot
//! restore` for 3.4, `etcdutl snapshot restore` for 3.5), boot a throwaway
//! single-member etcd from it on free loopback ports (a fresh cluster token,
//! no peer URL of the real members), and compare what it serves at the
//! snapshot's revision R:
//! - `HashKV(R)` against the value the source member reported right after
//!   the save (the real oracle; only within one version family and at equal
//!   compact revisions);
//! - `HashKV(R)` against the core's own computation on the same bytes
//!   (restore fidelity), and the live keys at R (count and a digest over key,
//!   mod revision and value) against the core's reading.
//!
//! The `snapshot status` hash is not compared: restore rewrites the
//! membership buckets and the consistent index. This is the one place
//! plaintext touches the server's disk; the folder is removed afterwards,
//! and the etcd child gets SIGKILL when the server dies (`PR_SET_PDEATHSIG`);
//! folders a killed server left are removed at the next start
//! ([`clean_leftovers`]), their etcd killed only when its command line names
//! the folder.

pub mod run;

pub use run::{Binaries, DrillInputs, Fetch, Stored, drill};

/// Prefix of a drill's work folder.
pub const WORK_PREFIX: &str = "etcd-lens-drill-";

/// Remove work folders left by a killed drill under `root`, killing their
/// etcd first when its pidfile's process still runs *with that folder on its
/// command line* (a reused pid is left alone). Returns what was removed.
pub fn clean_leftovers(root: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut removed = Vec::new();
    let Ok(rd) = std::fs::read_dir(root) else {
        return removed;
    };
    for e in rd.flatten() {
        let path = e.path();
        let is_drill = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(WORK_PREFIX));
        if !is_drill || !path.is_dir() {
            continue;
        }
        if let Some(pid) = std::fs::read_to_string(path.join("etcd.pid"))
            .ok()
            .and_then(|p| p.trim().parse::<i32>().ok())
        {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let ours = String::from_utf8_lossy(&cmdline).contains(&*path.to_string_lossy());
            if ours {
                let _ = std::process::Command::new("kill")
                    .args(["-9", &pid.to_string()])
                    .status();
                // Give the kernel a moment to reap it before the folder goes.
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        }
        if std::fs::remove_dir_all(&path).is_ok() {
            removed.push(path);
        }
    }
    removed
}
