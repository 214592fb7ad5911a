//! One drill, step by step; each step timed, each comparison recorded.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use etcd_lens_core::mvcc::digest::{LiveDigest, LiveDigestBuilder, live_digest};
use etcd_lens_core::mvcc::hashkv::{HashFamily, hash_kv};
use etcd_lens_core::snapshot::Snapshot;
use futures::future::BoxFuture;
use sha2::{Digest, Sha256};

use crate::records::{DrillCheck, DrillRecord, DrillVerdict, HashKvRecord};
use crate::snapshot::file::FileSource;

/// etcd binaries per version family: a folder holding `etcd` and `etcdctl`
/// (3.4) or `etcd` and `etcdutl` (3.5+).
#[derive(Debug, Clone, Default)]
pub struct Binaries {
    pub by_family: BTreeMap<String, PathBuf>,
}

/// Brings a copy of the stored file into the work folder (given as the
/// argument) and returns its path there, or why it could not; run as the
/// drill's `fetch` step.
pub type Fetch<'a> = Box<dyn FnOnce(PathBuf) -> BoxFuture<'a, Result<PathBuf, String>> + Send + 'a>;

/// Which copy of the stored file (age-encrypted when `encrypted`) a drill reads.
pub enum Stored<'a> {
    /// A file here, read where it is (`source: local`).
    Local(&'a Path),
    /// A copy fetched into the work folder first (the object store's), so it
    /// goes with the folder whatever happens; removed once decrypted.
    Fetched {
        /// What the record's `source` says (`store:<name>`).
        source: String,
        fetch: Fetch<'a>,
    },
}

/// What a drill is given.
pub struct DrillInputs<'a> {
    pub id: &'a str,
    pub stored: Stored<'a>,
    pub encrypted: bool,
    /// zstd under the age layer (`.db.zst.age`): decompressed while decrypted.
    pub compressed: bool,
    pub identities: &'a [age::x25519::Identity],
    /// Facts recorded at save; `None` for a bare file (restore fidelity only).
    pub plaintext_sha256: Option<&'a str>,
    pub revision: Option<i64>,
    pub hash_kv: Option<&'a HashKvRecord>,
    /// The source member's version ("3.4.23"): picks the family.
    pub etcd_version: &'a str,
    /// Where the work folder goes (tmpfs when it fits is the caller's choice).
    pub work_root: &'a Path,
}

/// Run a drill; never panics, always removes its work folder.
pub async fn drill(bins: &Binaries, input: DrillInputs<'_>) -> DrillRecord {
    let mut rec = DrillRecord {
        at: Utc::now(),
        verdict: DrillVerdict::Failed,
        failed_check: None,
        checks: Vec::new(),
        timings_ms: BTreeMap::new(),
        error: None,
        etcd_version: input.etcd_version.to_string(),
        source: match &input.stored {
            Stored::Local(_) => DrillRecord::LOCAL.to_string(),
            Stored::Fetched { source, .. } => source.clone(),
        },
    };
    let family_name: String = input
        .etcd_version
        .split('.')
        .take(2)
        .collect::<Vec<_>>()
        .join(".");
    let (Some(family), Some(dir)) = (
        HashFamily::for_version(input.etcd_version),
        bins.by_family.get(&family_name),
    ) else {
        rec.verdict = DrillVerdict::CannotDrill;
        rec.error = Some(if input.etcd_version.is_empty() {
            "cannot drill: the source member's version was not recorded".into()
        } else {
            format!("cannot drill: no etcd {family_name} here (configure [cluster.drill] binaries)")
        });
        return rec;
    };
    let work = input
        .work_root
        .join(format!("{}{}", super::WORK_PREFIX, input.id));
    let result = steps(dir, family, input, &work, &mut rec).await;
    let _ = std::fs::remove_dir_all(&work);
    match result {
        Ok(()) => {
            rec.verdict = if rec.checks.iter().all(|c| c.ok) {
                DrillVerdict::Passed
            } else {
                DrillVerdict::Failed
            };
            rec.failed_check = rec.checks.iter().find(|c| !c.ok).map(|c| c.name.clone());
        }
        Err((step, e)) => {
            rec.verdict = DrillVerdict::Failed;
            rec.failed_check = Some(step.to_string());
            rec.error = Some(e);
        }
    }
    rec
}

type StepResult = Result<(), (&'static str, String)>;

fn check(rec: &mut DrillRecord, name: &str, expected: impl ToString, actual: impl ToString) {
    let (expected, actual) = (expected.to_string(), actual.to_string());
    rec.checks.push(DrillCheck {
        name: name.to_string(),
        ok: expected == actual,
        expected,
        actual,
    });
}

fn timed(rec: &mut DrillRecord, step: &str, t: Instant) {
    rec.timings_ms.insert(
        step.to_string(),
        u64::try_from(t.elapsed().as_millis()).unwrap_or(u64::MAX),
    );
}

async fn steps(
    dir: &Path,
    family: HashFamily,
    input: DrillInputs<'_>,
    work: &Path,
    rec: &mut DrillRecord,
) -> StepResult {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .mode(0o700)
        .recursive(true)
        .create(work)
        .map_err(|e| ("prepare", format!("creating the work folder: {e}")))?;
    let plain = work.join("snapshot.db");

    // The copy to read: where it is, or fetched into the private folder.
    let (stored, fetched): (PathBuf, bool) = match input.stored {
        Stored::Local(p) => (p.to_path_buf(), false),
        Stored::Fetched { fetch, .. } => {
            let t = Instant::now();
            let p = fetch(work.to_path_buf()).await.map_err(|e| ("fetch", e))?;
            timed(rec, "fetch", t);
            (p, true)
        }
    };

    // Decrypt (or copy) into the private folder.
    let t = Instant::now();
    decrypt_to(
        input.encrypted,
        input.compressed,
        input.identities,
        &stored,
        &plain,
    )
    .map_err(|e| ("decrypt", e))?;
    if fetched {
        // Only the plaintext is needed from here on: free the folder's space.
        let _ = std::fs::remove_file(&stored);
    }
    timed(rec, "decrypt", t);

    // The trailer, and what etcd sent at save.
    let data = std::fs::File::open(&plain).map_err(|e| ("trailer", e.to_string()))?;
    let len = data
        .metadata()
        .map_err(|e| ("trailer", e.to_string()))?
        .len();
    if len % 512 != 32 {
        return Err((
            "trailer",
            format!("{len} bytes: no SHA-256 trailer (a snapshot is 32 mod 512 bytes)"),
        ));
    }
    let (digest, trailer) = hash_and_trailer(&plain, len).map_err(|e| ("trailer", e))?;
    check(rec, "trailer", hex::encode(trailer), hex::encode(digest));
    if let Some(want) = input.plaintext_sha256 {
        check(rec, "plaintext_sha256", want, hex::encode(trailer));
    }
    if rec.checks.iter().any(|c| !c.ok) {
        return Ok(());
    }

    // The engine's reading of the same bytes.
    let snap = Snapshot::open(FileSource::new(data).map_err(|e| ("engine", e.to_string()))?)
        .map_err(|e| ("engine", format!("the engine cannot read it: {e}")))?;
    let revision = match input.revision {
        Some(r) => r,
        None => {
            etcd_lens_core::status::status(snap.db(), etcd_lens_core::status::Compat::V35)
                .map_err(|e| ("engine", e.to_string()))?
                .revision
        }
    };
    let engine_hash = hash_kv(&snap, revision, family).map_err(|e| ("engine", e.to_string()))?;
    let engine_live = live_digest(&snap, revision).map_err(|e| ("engine", e.to_string()))?;
    drop(snap);

    // Restore with the family's own tool.
    let t = Instant::now();
    let data_dir = work.join("data");
    let peer_port = crate::drill::run::free_port().map_err(|e| ("restore", e))?;
    let client_port = crate::drill::run::free_port().map_err(|e| ("restore", e))?;
    let peer = format!("http://127.0.0.1:{peer_port}");
    let client = format!("http://127.0.0.1:{client_port}");
    let token = format!("etcd-lens-drill-{}", input.id);
    let (tool, api) = match family {
        HashFamily::V34 => (dir.join("etcdctl"), true),
        _ => (dir.join("etcdutl"), false),
    };
    let mut cmd = Command::new(&tool);
    if api {
        cmd.env("ETCDCTL_API", "3");
    }
    let out = cmd
        .arg("snapshot")
        .arg("restore")
        .arg(&plain)
        .arg("--data-dir")
        .arg(&data_dir)
        .args([
            "--name",
            "drill",
            "--initial-cluster",
            &format!("drill={peer}"),
        ])
        .args([
            "--initial-cluster-token",
            &token,
            "--initial-advertise-peer-urls",
            &peer,
        ])
        .output()
        .map_err(|e| ("restore", format!("running {}: {e}", tool.display())))?;
    if !out.status.success() {
        return Err((
            "restore",
            format!(
                "{} snapshot restore failed: {}",
                tool.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ));
    }
    // The plaintext copy is no longer needed once restored.
    let _ = std::fs::remove_file(&plain);
    timed(rec, "restore", t);

    // Boot a throwaway member.
    let t = Instant::now();
    let db_bytes = std::fs::metadata(data_dir.join("member/snap/db"))
        .map(|m| m.len())
        .unwrap_or(0);
    let quota = (db_bytes * 2).max(2 << 30);
    let mut etcd =
        Throwaway::start(dir, work, &data_dir, &client, &peer, quota).map_err(|e| ("boot", e))?;
    let cfg = drill_cluster(&client);
    let mut healthy = false;
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Some(code) = etcd.exited() {
            return Err((
                "boot",
                format!("the restored member exited ({code}): {}", etcd.log_tail()),
            ));
        }
        if let Ok(mut c) =
            crate::etcd::connect::connect(&cfg, &client, Some(Duration::from_secs(2))).await
            && c.status().await.is_ok()
        {
            healthy = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if !healthy {
        return Err((
            "boot",
            format!(
                "the restored member did not answer within 60 s: {}",
                etcd.log_tail()
            ),
        ));
    }
    timed(rec, "boot", t);

    // Compare.
    let t = Instant::now();
    let mut c = crate::etcd::connect::connect(&cfg, &client, Some(Duration::from_secs(60)))
        .await
        .map_err(|e| ("compare", e.to_string()))?;
    let served = c
        .hash_kv(revision)
        .await
        .map_err(|e| ("compare", crate::etcd::connect::describe(&e)))?;
    if let Some(h) = input.hash_kv {
        if h.compact_revision == served.compact_version() {
            check(rec, "hash_kv_recorded_at_save", h.hash, served.hash());
        } else {
            rec.checks.push(DrillCheck {
                name: "hash_kv_recorded_at_save".into(),
                ok: true,
                expected: format!("compact revision {}", h.compact_revision),
                actual: format!(
                    "compact revision {} (not comparable: skipped)",
                    served.compact_version()
                ),
            });
        }
    }
    check(rec, "hash_kv_engine", engine_hash.hash, served.hash());
    let served_digest = served_live(&mut c, revision)
        .await
        .map_err(|e| ("compare", e))?;
    check(
        rec,
        "live_keys_at_revision",
        engine_live.keys,
        served_digest.keys,
    );
    check(
        rec,
        "live_digest_at_revision",
        hex::encode(engine_live.sha256),
        hex::encode(served_digest.sha256),
    );
    timed(rec, "compare", t);
    etcd.stop();
    Ok(())
}

/// The stored file as the plain snapshot at `out`: decrypted when
/// `encrypted`, then decompressed when `compressed` (zstd's seekable format
/// is ordinary zstd frames plus a skippable seek table to a stream decoder).
fn decrypt_to(
    encrypted: bool,
    compressed: bool,
    identities: &[age::x25519::Identity],
    stored: &Path,
    out: &Path,
) -> Result<(), String> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut dst = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(out)
        .map_err(|e| format!("creating {}: {e}", out.display()))?;
    let src =
        std::fs::File::open(stored).map_err(|e| format!("opening the stored snapshot: {e}"))?;
    let src = std::io::BufReader::with_capacity(1 << 20, src);
    if encrypted {
        let d = age::Decryptor::new(src).map_err(|e| format!("not a readable age file: {e}"))?;
        let ids = identities.iter().map(|i| i as &dyn age::Identity);
        let r = d
            .decrypt(ids)
            .map_err(|e| format!("the drill identity cannot decrypt it: {e}"))?;
        copy_out(r, compressed, &mut dst)
            .map_err(|e| format!("decrypting: {e} (the stored file is damaged)"))?;
    } else {
        copy_out(src, compressed, &mut dst).map_err(|e| format!("copying: {e}"))?;
    }
    dst.sync_all().map_err(|e| e.to_string())
}

fn copy_out(
    r: impl std::io::Read,
    compressed: bool,
    dst: &mut std::fs::File,
) -> Result<u64, String> {
    if compressed {
        let mut z =
            zstd::stream::read::Decoder::new(r).map_err(|e| format!("starting zstd: {e}"))?;
        std::io::copy(&mut z, dst).map_err(|e| format!("{e} (while decompressing zstd)"))
    } else {
        let mut r = r;
        std::io::copy(&mut r, dst).map_err(|e| e.to_string())
    }
}

fn hash_and_trailer(path: &Path, len: u64) -> Result<([u8; 32], [u8; 32]), String> {
    let mut f = std::io::BufReader::with_capacity(
        1 << 20,
        std::fs::File::open(path).map_err(|e| e.to_string())?,
    );
    let mut sha = Sha256::new();
    let mut left = len - 32;
    let mut buf = vec![0u8; 1 << 20];
    while left > 0 {
        let n = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
        f.read_exact(&mut buf[..n]).map_err(|e| e.to_string())?;
        sha.update(&buf[..n]);
        left -= n as u64;
    }
    let mut trailer = [0u8; 32];
    f.read_exact(&mut trailer).map_err(|e| e.to_string())?;
    Ok((sha.finalize().into(), trailer))
}

/// Live keys at `revision` on the restored member, paged, digested by the
/// core's [`LiveDigestBuilder`] (one owner of the digest's layout).
async fn served_live(c: &mut etcd_client::Client, revision: i64) -> Result<LiveDigest, String> {
    use etcd_client::GetOptions;
    const PAGE: i64 = 1000;
    let mut digest = LiveDigestBuilder::new();
    let mut from: Vec<u8> = vec![0];
    loop {
        let opts = GetOptions::new()
            .with_from_key()
            .with_revision(revision)
            .with_limit(PAGE);
        let r = c
            .get(from.clone(), Some(opts))
            .await
            .map_err(|e| crate::etcd::connect::describe(&e))?;
        for kv in r.kvs() {
            digest
                .add(kv.key(), kv.mod_revision(), kv.value())
                .map_err(|e| e.to_string())?;
        }
        if !r.more() || r.kvs().is_empty() {
            break;
        }
        let mut next = r
            .kvs()
            .last()
            .map(|kv| kv.key().to_vec())
            .unwrap_or_default();
        next.push(0);
        from = next;
    }
    Ok(digest.finish())
}

fn drill_cluster(client: &str) -> crate::config::ClusterConfig {
    crate::config::ClusterConfig::from_endpoints(vec![client.to_string()], Vec::new())
}

pub(crate) fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free loopback port: {e}"))
}

/// The throwaway etcd: killed on drop, and with the server (PR_SET_PDEATHSIG).
struct Throwaway {
    child: Child,
    log: PathBuf,
}

impl Throwaway {
    fn start(
        dir: &Path,
        work: &Path,
        data_dir: &Path,
        client: &str,
        peer: &str,
        quota: u64,
    ) -> Result<Self, String> {
        use std::os::unix::process::CommandExt;
        let log = work.join("etcd.log");
        let log_file = std::fs::File::create(&log).map_err(|e| e.to_string())?;
        let mut cmd = Command::new(dir.join("etcd"));
        cmd.arg("--name")
            .arg("drill")
            .arg("--data-dir")
            .arg(data_dir)
            .args([
                "--listen-client-urls",
                client,
                "--advertise-client-urls",
                client,
            ])
            .args([
                "--listen-peer-urls",
                peer,
                "--initial-advertise-peer-urls",
                peer,
            ])
            .args(["--initial-cluster", &format!("drill={peer}")])
            .args([
                "--listen-metrics-urls",
                &format!("http://127.0.0.1:{}", free_port()?),
            ])
            .arg(format!("--quota-backend-bytes={quota}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file);
        // SAFETY: prctl(PR_SET_PDEATHSIG) is async-signal-safe and touches no
        // memory of the parent; it makes the kernel SIGKILL the child when the
        // thread that spawned it (and so the server) dies.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .map_err(|e| format!("starting {}: {e}", dir.join("etcd").display()))?;
        std::fs::write(work.join("etcd.pid"), child.id().to_string()).map_err(|e| e.to_string())?;
        Ok(Self { child, log })
    }

    fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(s)) => Some(s.to_string()),
            _ => None,
        }
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().rev().take(5).collect();
        lines.into_iter().rev().collect::<Vec<_>>().join(" | ")
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Throwaway {
    fn drop(&mut self) {
        self.stop();
    }
}
