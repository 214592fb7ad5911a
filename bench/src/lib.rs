//! What both benchmarks share: the snapshot made with a real etcd and cached,
//! timing a command with its peak RSS, dropping a file from the page cache.
//!
//! The snapshot is made once with a real etcd (Debian's 3.4) and cached in
//! `$ETCD_LENS_BENCH_DIR` (default `~/.cache/etcd-lens-bench`): keys are loaded
//! with batched transactions through etcd's gRPC gateway (JSON over HTTP on the
//! client port) with a raised `--quota-backend-bytes`; 10 % are overwritten and
//! 5 % deleted.
//!
//! [`fleet`] holds the fleet benchmark's helpers (`src/bin/fleet/`).

pub mod fleet;
pub mod k8s;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Puts per transaction: 500, or fewer so one request stays near 2 MiB
/// (etcd is started with `--max-request-bytes` 8 MiB; values travel base64'd).
fn batch(value_bytes: usize) -> usize {
    ((2 << 20) / value_bytes.max(1)).clamp(1, 500)
}

pub fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| v.parse().expect("a number"))
        .unwrap_or(default)
}

fn b64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                s.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// POST a JSON body to etcd's gateway; panics on a non-200 answer.
fn post(port: u16, path: &str, body: &str) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to etcd");
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    assert!(
        resp.starts_with("HTTP/1.1 200"),
        "etcd answered: {}",
        &resp[..resp.len().min(300)]
    );
}

pub fn make_snapshot(path: &Path, keys: u64, value_bytes: usize) {
    make_snapshots(path, None, keys, value_bytes);
}

/// [`make_snapshot`], and when `then` is given, a second snapshot of the same
/// etcd after a day's worth of change: 1 % of the keys overwritten, 0.5 %
/// deleted, 0.5 % added (the diff benchmark's pair).
pub fn make_snapshots(path: &Path, then: Option<&Path>, keys: u64, value_bytes: usize) {
    let value: Vec<u8> = (0..value_bytes).map(|i| b'a' + (i % 26) as u8).collect();
    let value_b64 = b64(&value);
    let put = |i: u64, _generation: u64| {
        (
            b64(format!("/registry/bench/{:08}", i).as_bytes()),
            value_b64.clone(),
        )
    };
    load_snapshots(path, then, keys, batch(value_bytes), &put);
}

/// The cached snapshot of `objects` Kubernetes objects ([`k8s::object`],
/// ConfigMaps of about `config_bytes`), made first if missing: 10 % written
/// twice and 5 % deleted, as [`snapshot`]'s keys.
pub fn k8s_snapshot(objects: u64, config_bytes: usize) -> PathBuf {
    let snap = bench_dir().join(format!("k8s-{objects}x{config_bytes}.db"));
    if !snap.exists() {
        let put = |i: u64, generation: u64| {
            let (key, value) = k8s::object(i, generation, config_bytes);
            (b64(key.as_bytes()), b64(&value))
        };
        load_snapshots(&snap, None, objects, batch(config_bytes + 256), &put);
    }
    snap
}

/// Start an etcd, put keys `0..keys` (`put(i, generation)` gives the base64
/// key and value), write 10 % again and delete 5 %, save the snapshot at
/// `path`, and when `then` is given a second one after a day's worth of
/// change.
fn load_snapshots(
    path: &Path,
    then: Option<&Path>,
    keys: u64,
    batch: usize,
    put: &dyn Fn(u64, u64) -> (String, String),
) {
    let dir = path.parent().unwrap().join("etcd-data");
    let _ = std::fs::remove_dir_all(&dir);
    let (client, peer) = (free_port(), free_port());
    let curl = format!("http://127.0.0.1:{client}");
    let purl = format!("http://127.0.0.1:{peer}");
    let mut etcd = Command::new("/usr/bin/etcd")
        .args(["--name", "bench", "--data-dir"])
        .arg(&dir)
        .args([
            "--listen-client-urls",
            &curl,
            "--advertise-client-urls",
            &curl,
        ])
        .args([
            "--listen-peer-urls",
            &purl,
            "--initial-advertise-peer-urls",
            &purl,
        ])
        .args(["--initial-cluster", &format!("bench={purl}")])
        .args([
            "--quota-backend-bytes",
            &(16u64 << 30).to_string(),
            "--max-txn-ops",
            "10000",
        ])
        .args(["--max-request-bytes", &(8u64 << 20).to_string()])
        .args([
            "--listen-metrics-urls",
            &format!("http://127.0.0.1:{}", free_port()),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting /usr/bin/etcd");
    let t0 = Instant::now();
    while TcpStream::connect(("127.0.0.1", client)).is_err() {
        assert!(t0.elapsed() < Duration::from_secs(30), "etcd did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(1));
    let generation = std::cell::Cell::new(0u64);
    let load = |ids: &mut dyn Iterator<Item = u64>, delete: bool| {
        generation.set(generation.get() + 1);
        let ids: Vec<u64> = ids.collect();
        for chunk in ids.chunks(batch) {
            let ops: Vec<String> = chunk
                .iter()
                .map(|i| {
                    let (key, value) = put(*i, generation.get());
                    if delete {
                        format!("{{\"requestDeleteRange\":{{\"key\":\"{key}\"}}}}")
                    } else {
                        format!("{{\"requestPut\":{{\"key\":\"{key}\",\"value\":\"{value}\"}}}}")
                    }
                })
                .collect();
            post(
                client,
                "/v3/kv/txn",
                &format!("{{\"success\":[{}]}}", ops.join(",")),
            );
        }
    };
    load(&mut (0..keys), false);
    load(&mut (0..keys).step_by(10), false);
    load(&mut (0..keys).skip(3).step_by(20), true);
    eprintln!("loaded {keys} keys in {:?}", t0.elapsed());
    let st = Command::new("/usr/bin/etcdctl")
        .env("ETCDCTL_API", "3")
        .args([
            "--endpoints",
            &curl,
            "--command-timeout=600s",
            "snapshot",
            "save",
        ])
        .arg(path)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success(), "etcdctl snapshot save");
    if let Some(then) = then {
        load(&mut (0..keys).skip(1).step_by(100), false);
        load(&mut (0..keys).skip(2).step_by(200), true);
        load(&mut (keys..keys + keys / 200), false);
        let st = Command::new("/usr/bin/etcdctl")
            .env("ETCDCTL_API", "3")
            .args([
                "--endpoints",
                &curl,
                "--command-timeout=600s",
                "snapshot",
                "save",
            ])
            .arg(then)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success(), "etcdctl snapshot save (the second)");
    }
    let _ = etcd.kill();
    let _ = etcd.wait();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Run a command, returning (wall time, peak RSS in KiB, stdout).
pub fn measure(cmd: &[&str]) -> (Duration, u64, String) {
    measure_exiting(cmd, &[0])
}

/// [`measure`] of a command whose success is any of `codes` (`diff` exits 1 on a difference).
pub fn measure_exiting(cmd: &[&str], codes: &[i32]) -> (Duration, u64, String) {
    let t0 = Instant::now();
    let mut child = Command::new(cmd[0])
        .args(&cmd[1..])
        .env("ETCDCTL_API", "3")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", cmd[0]));
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let pid = i32::try_from(child.id()).unwrap();
    let mut status = 0;
    // SAFETY: `rusage` is plain data; wait4 fills it for our own child.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pid of an unreaped child and valid out-pointers.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    assert_eq!(r, pid, "wait4");
    let elapsed = t0.elapsed();
    assert!(
        libc::WIFEXITED(status) && codes.contains(&libc::WEXITSTATUS(status)),
        "{cmd:?} failed"
    );
    (
        elapsed,
        u64::try_from(ru.ru_maxrss).unwrap_or(0),
        out.trim().to_string(),
    )
}

pub fn drop_cache(path: &Path) {
    let f = std::fs::File::open(path).unwrap();
    // SAFETY: a valid open descriptor; advice only.
    unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
}

pub fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Where snapshots are cached: `$ETCD_LENS_BENCH_DIR` or `~/.cache/etcd-lens-bench`.
pub fn bench_dir() -> PathBuf {
    let dir = std::env::var_os("ETCD_LENS_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/etcd-lens-bench")
        });
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The cached snapshot of `keys` keys of `value_bytes` bytes, made first if missing.
pub fn snapshot(keys: u64, value_bytes: usize) -> PathBuf {
    let snap = bench_dir().join(format!("snap-{keys}x{value_bytes}.db"));
    if !snap.exists() {
        make_snapshot(&snap, keys, value_bytes);
    }
    snap
}
