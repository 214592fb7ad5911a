//! The restore runbook executed for real: a 3-member cluster (Debian's etcd
//! 3.4.23, etcd 3.5.1, 3.6.16, 3.7.3) with overwrites, deletes, a binary
//! value and a compaction; a snapshot; `etcd-lens restore-plan --json` with
//! `--members` on fresh loopback peer URLs and data dirs in a temp dir;
//! exactly the printed restore commands run (argv and env from the JSON, the
//! program found on PATH); the three members started from those data dirs
//! with the plan's start flags plus client URLs. Then every key reads back as
//! it was, and the members are the given ones.
//!
//! 3.4/3.5 restore as they are: the restored revision is the snapshot's, and
//! every restored member's HashKV at that revision equals the source
//! member's and the core's reading of the file. 3.6/3.7 restore with
//! `--bump-revision N --mark-compacted`: the restored revision is the
//! snapshot's + N, reads at the snapshot's revision are refused as
//! compacted, and the restored members' HashKV at the new revision equals
//! the core's reading of a restored data dir's `db`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use etcd_lens_core::MemSource;
use etcd_lens_core::mvcc::{HashFamily, hash_kv};
use etcd_lens_core::snapshot::Snapshot;
use etcd_lens_testkit::age::{Format, encrypt, passphrase};
use etcd_lens_testkit::cli::Lens;
use etcd_lens_testkit::cluster::{Binaries, Cluster, ClusterOptions, Flavor};
use serde_json::{Value, json};

const LENS: Lens = Lens(env!("CARGO_BIN_EXE_etcd-lens"));
const START_TIMEOUT: Duration = Duration::from_secs(60);

fn etcdctl(b: &Binaries, endpoints: &str, args: &[&str]) -> Output {
    Command::new(&b.etcdctl)
        .env("ETCDCTL_API", "3")
        .arg(format!("--endpoints={endpoints}"))
        .arg("--dial-timeout=2s")
        .arg("--command-timeout=5s")
        .args(args)
        .output()
        .expect("running etcdctl")
}

fn etcdctl_json(b: &Binaries, endpoints: &str, args: &[&str]) -> Value {
    let out = etcdctl(b, endpoints, args);
    assert!(
        out.status.success(),
        "etcdctl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every key-value of `get "" --prefix -w json`, and the header's revision.
fn everything(b: &Binaries, endpoints: &str) -> (Vec<Value>, i64) {
    let v = etcdctl_json(b, endpoints, &["get", "", "--prefix", "-w", "json"]);
    let kvs = v["kvs"].as_array().cloned().unwrap_or_default();
    (kvs, v["header"]["revision"].as_i64().unwrap())
}

/// `(hash, compact_revision)` of `endpoint hashkv --rev REV` on one endpoint.
fn hashkv(b: &Binaries, endpoint: &str, rev: i64) -> (u64, i64) {
    let v = etcdctl_json(
        b,
        endpoint,
        &[
            "endpoint",
            "hashkv",
            "--rev",
            &rev.to_string(),
            "-w",
            "json",
        ],
    );
    let h = &v[0]["HashKV"];
    (
        h["hash"].as_u64().unwrap(),
        h["compact_revision"].as_i64().unwrap_or(0),
    )
}

/// The restored members' processes, killed on drop.
struct Restored {
    children: Vec<Child>,
    logs: Vec<PathBuf>,
}

impl Drop for Restored {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Restored {
    fn log_tails(&self) -> String {
        self.logs
            .iter()
            .map(|l| {
                let text = std::fs::read_to_string(l).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                format!(
                    "--- {}:\n{}",
                    l.display(),
                    lines[lines.len().saturating_sub(20)..].join("\n")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// The gRPC error `etcdctl` prints for a revision below the compact revision.
const COMPACTED: &str = "required revision has been compacted";

fn restore_and_boot(flavor: Flavor, version: &str, family: HashFamily, bump: Option<u64>) {
    let binaries = flavor.binaries();
    if !binaries.installed() {
        etcd_lens_testkit::oracle_missing(&binaries.etcd.display().to_string());
        return;
    }
    let bin_dir = binaries.etcd.parent().unwrap().to_path_buf();
    let c = Cluster::start(ClusterOptions {
        members: 3,
        binaries: binaries.clone(),
        ..Default::default()
    });
    let pairs: Vec<(String, String)> = (0..60)
        .map(|i| (format!("/app/k{i:02}"), format!("v{i}")))
        .collect();
    c.put_many(&pairs);
    c.put("/app/k00", "overwritten");
    c.delete("/app/k01");
    c.compact(c.revision());
    c.put("/app/k02", "after-the-compaction");
    c.delete("/app/k03");
    c.put_bytes("/bin", b"\x00\x01\xfe\xff\n");
    let (before, rev) = everything(&binaries, &c.endpoints().join(","));
    assert_eq!(rev, c.revision());
    let source_hash = hashkv(&binaries, &c.member(0).client_url, rev);

    let work = tempfile::tempdir().unwrap();
    let snap = work.path().join("snap.db");
    c.snapshot(&snap);
    // The engine's HashKV of the file is the source member's.
    let file = Snapshot::open(MemSource(std::fs::read(&snap).unwrap())).unwrap();
    let core = hash_kv(&file, rev, family).unwrap();
    assert_eq!(
        (u64::from(core.hash), core.compact_revision),
        source_hash,
        "core HashKV vs the source member"
    );

    // The plan with the snapshot's own members names the cluster's members.
    let own_dirs = work.path().join("own-{name}");
    let own: Value = serde_json::from_str(&LENS.ok(&[
        "restore-plan",
        snap.to_str().unwrap(),
        "--json",
        "--version",
        version,
        "--data-dir-pattern",
        own_dirs.to_str().unwrap(),
    ]))
    .unwrap();
    assert_eq!(own["members_source"], "snapshot");
    let mut names: Vec<String> = own["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    assert_eq!(names, ["lens-0", "lens-1", "lens-2"]);
    for m in own["members"].as_array().unwrap() {
        let name = m["name"].as_str().unwrap();
        let i: usize = name.trim_start_matches("lens-").parse().unwrap();
        assert_eq!(strings(&m["peer_urls"]), [c.member(i).peer_url.clone()]);
    }
    // Text mode prints the same runbook.
    let text = LENS.ok(&[
        "restore-plan",
        snap.to_str().unwrap(),
        "--version",
        version,
        "--data-dir-pattern",
        own_dirs.to_str().unwrap(),
    ]);
    assert!(text.contains(" snapshot restore "), "{text}");

    // New peer and client ports, data dirs in the temp dir.
    let mut ports = Vec::new();
    while ports.len() < 6 {
        let p = etcd_lens_testkit::free_port();
        // Free now, so not one of the running cluster's ports.
        if !ports.contains(&p) {
            ports.push(p);
        }
    }
    let peer = |i: usize| format!("http://127.0.0.1:{}", ports[i]);
    let client = |i: usize| format!("http://127.0.0.1:{}", ports[3 + i]);
    let members = (0..3)
        .map(|i| format!("restored-{i}={}", peer(i)))
        .collect::<Vec<_>>()
        .join(",");
    let pattern = work.path().join("{name}.etcd");
    let bump_arg = bump.map(|n| n.to_string());
    let mut plan_args = vec![
        "restore-plan",
        snap.to_str().unwrap(),
        "--json",
        "--members",
        &members,
        "--version",
        version,
        "--data-dir-pattern",
        pattern.to_str().unwrap(),
        "--initial-cluster-token",
        "restore-test",
    ];
    if let Some(n) = &bump_arg {
        plan_args.extend(["--bump-revision", n.as_str()]);
    }
    let plan: Value = serde_json::from_str(&LENS.ok(&plan_args)).unwrap();
    let want_tool = if version.starts_with("3.4") {
        "etcdctl"
    } else {
        "etcdutl"
    };
    assert_eq!(plan["tool"], want_tool);
    assert_eq!(plan["revision"], rev);
    assert_eq!(plan["members_source"], "given");
    assert_eq!(plan["bump_revision"]["included"], json!(bump));

    // Exactly the printed restore commands.
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let planned = plan["members"].as_array().unwrap();
    assert_eq!(planned.len(), 3);
    for m in planned {
        let argv = strings(&m["restore"]["argv"]);
        assert_eq!(argv[0], want_tool);
        let flags = bump.map(|n| [format!("--bump-revision={n}"), "--mark-compacted".into()]);
        match &flags {
            Some(f) => assert!(argv.ends_with(f), "{argv:?}"),
            None => assert!(!argv.iter().any(|a| a.contains("bump")), "{argv:?}"),
        }
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..]).env("PATH", &path);
        for e in m["restore"]["env"].as_array().unwrap() {
            cmd.env(e["name"].as_str().unwrap(), e["value"].as_str().unwrap());
        }
        let out = cmd.output().expect("running the restore command");
        assert!(
            out.status.success(),
            "{argv:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            Path::new(m["data_dir"].as_str().unwrap())
                .join("member")
                .is_dir()
        );
    }

    // With a bump: what a member booted from a restored data dir would
    // answer, read from restored-0's `db` before etcd opens (and changes) it.
    let restored_file = bump.map(|_| {
        let db = Path::new(planned[0]["data_dir"].as_str().unwrap()).join("member/snap/db");
        Snapshot::open(MemSource(std::fs::read(&db).unwrap())).unwrap()
    });

    // Boot the three members with the plan's start flags plus client URLs.
    let mut restored = Restored {
        children: Vec::new(),
        logs: Vec::new(),
    };
    for (i, m) in planned.iter().enumerate() {
        let start = strings(&m["start"]["argv"]);
        assert_eq!(start[0], "etcd");
        let log = work.path().join(format!("restored-{i}.log"));
        let err = std::fs::File::create(&log).unwrap();
        let child = Command::new(&binaries.etcd)
            .args(&start[1..])
            .arg(format!("--listen-client-urls={}", client(i)))
            .arg(format!("--advertise-client-urls={}", client(i)))
            .args([
                "--heartbeat-interval=50",
                "--election-timeout=500",
                "--logger=zap",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err)
            .spawn()
            .expect("starting etcd");
        restored.children.push(child);
        restored.logs.push(log);
    }
    let endpoints = (0..3).map(client).collect::<Vec<_>>().join(",");
    let started = std::time::Instant::now();
    while !etcdctl(&binaries, &endpoints, &["endpoint", "health"])
        .status
        .success()
    {
        for ch in &mut restored.children {
            if let Some(status) = ch.try_wait().unwrap() {
                panic!(
                    "a restored member exited ({status})\n{}",
                    restored.log_tails()
                );
            }
        }
        assert!(
            started.elapsed() < START_TIMEOUT,
            "restored members not healthy after {START_TIMEOUT:?}\n{}",
            restored.log_tails()
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // Every key, as it was (a bump writes no key: its create and mod
    // revisions stay), at the snapshot's revision or N past it.
    let (after, after_rev) = everything(&binaries, &endpoints);
    let want_rev = rev + bump.map_or(0, |n| i64::try_from(n).unwrap());
    assert_eq!(after_rev, want_rev, "the restored revision");
    assert_eq!(after, before, "the restored keys");
    let members_json = etcdctl_json(&binaries, &endpoints, &["member", "list", "-w", "json"]);
    let mut listed: Vec<String> = members_json["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_string())
        .collect();
    listed.sort();
    assert_eq!(listed, ["restored-0", "restored-1", "restored-2"]);
    if bump.is_none() {
        for i in 0..3 {
            assert_eq!(
                hashkv(&binaries, &client(i), rev),
                source_hash,
                "HashKV of restored-{i}"
            );
        }
        return;
    }

    // --mark-compacted: the new revision is the compact revision, so the
    // snapshot's revision is refused, the new one served.
    let rev_arg = rev.to_string();
    let out = etcdctl(
        &binaries,
        &endpoints,
        &["get", "", "--prefix", "--rev", &rev_arg, "-w", "json"],
    );
    assert!(
        !out.status.success() && String::from_utf8_lossy(&out.stderr).contains(COMPACTED),
        "get --rev {rev} after --mark-compacted: {:?} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let want_arg = want_rev.to_string();
    let at_new = etcdctl_json(
        &binaries,
        &endpoints,
        &["get", "", "--prefix", "--rev", &want_arg, "-w", "json"],
    );
    assert_eq!(
        at_new["kvs"].as_array().cloned().unwrap_or_default(),
        before
    );

    // HashKV: the source's hash at the snapshot's revision cannot be asked
    // of the restored members (compacted), and their hash at the new
    // revision is not the source's (the bump writes an entry at the new
    // revision into the key bucket, and the resumed compaction drops every
    // revision but the latest of each key). What must hold: every restored
    // member answers the same at the new revision, and it is what the core
    // computes from a restored data dir's file.
    for i in 0..3 {
        let out = etcdctl(
            &binaries,
            &client(i),
            &["endpoint", "hashkv", "--rev", &rev_arg],
        );
        assert!(
            !out.status.success() && String::from_utf8_lossy(&out.stderr).contains(COMPACTED),
            "HashKV of restored-{i} at {rev}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let restored_file = restored_file.expect("read when bumped");
    let core = hash_kv(&restored_file, want_rev, family).unwrap();
    assert_eq!(
        core.compact_revision, want_rev,
        "the restored file's compaction"
    );
    for i in 0..3 {
        assert_eq!(
            hashkv(&binaries, &client(i), want_rev),
            (u64::from(core.hash), want_rev),
            "HashKV of restored-{i} at {want_rev} vs the core's of the restored db"
        );
    }
}

#[test]
fn printed_commands_restore_a_3_member_etcd_3_4_cluster() {
    restore_and_boot(
        Flavor::Debian34,
        "3.4.23",
        HashFamily::for_version("3.4.23").unwrap(),
        None,
    );
}

#[test]
fn printed_commands_restore_a_3_member_etcd_3_5_cluster() {
    restore_and_boot(
        Flavor::Etcd35,
        "3.5.1",
        HashFamily::for_version("3.5.1").unwrap(),
        None,
    );
}

/// The bump used for 3.6/3.7: far past any revision the test writes.
const BUMP: u64 = 1000;

#[test]
fn printed_commands_restore_a_3_member_etcd_3_6_cluster_with_a_bumped_revision() {
    restore_and_boot(
        Flavor::Etcd36,
        "3.6.16",
        HashFamily::for_version("3.6.16").unwrap(),
        Some(BUMP),
    );
}

#[test]
fn printed_commands_restore_a_3_member_etcd_3_7_cluster_with_a_bumped_revision() {
    restore_and_boot(
        Flavor::Etcd37,
        "3.7.3",
        HashFamily::for_version("3.7.3").unwrap(),
        Some(BUMP),
    );
}

#[test]
fn version_comes_from_the_files_cluster_version_unless_given() {
    // Both releases record their cluster version (major.minor.0), never the patch.
    for (flavor, tool) in [(Flavor::Etcd35, "etcdutl"), (Flavor::Debian34, "etcdctl")] {
        let binaries = flavor.binaries();
        if !binaries.installed() {
            etcd_lens_testkit::oracle_missing(&binaries.etcd.display().to_string());
            continue;
        }
        let c = Cluster::start(ClusterOptions {
            members: 1,
            binaries,
            ..Default::default()
        });
        c.put("/registry/secrets/default/s", "v");
        let work = tempfile::tempdir().unwrap();
        let snap = work.path().join("snap.db");
        c.snapshot(&snap);
        let snap = snap.to_str().unwrap();
        let p: Value = serde_json::from_str(&LENS.ok(&["restore-plan", snap, "--json"])).unwrap();
        assert_eq!(p["tool"], tool);
        assert_eq!(p["version_source"], "cluster_version");
        assert_eq!(p["bump_revision"]["availability"], "unknown");
        assert_eq!(p["members_source"], "snapshot");
        // Kubernetes keys: the API-server and encryption steps are in.
        let ids: Vec<&str> = p["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids.first(), Some(&"stop_api_servers"));
        assert!(ids.contains(&"keep_encryption_keys"));
        assert_eq!(ids.last(), Some(&"start_api_servers"));
        // A given version wins; one too old for --bump-revision is refused with the reason.
        let p: Value =
            serde_json::from_str(&LENS.ok(&["restore-plan", snap, "--json", "--version", "3.6"]))
                .unwrap();
        assert_eq!(p["version_source"], "given");
        assert_eq!(p["tool"], "etcdutl");
        let out = LENS.run(&[
            "restore-plan",
            snap,
            "--version",
            "3.5.1",
            "--bump-revision",
            "1000000000",
        ]);
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("3.5.10"));
        let out = LENS.run(&["restore-plan", snap, "--version", "3.3"]);
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("etcd 3.3 is not supported"));

        // An age-encrypted snapshot is read through; the plan names the plain file to copy.
        let plain = std::fs::read(snap).unwrap();
        let enc = work.path().join("snap.db.age");
        let r = passphrase("restore pass");
        std::fs::write(&enc, encrypt(&[&r], &plain, Format::Binary)).unwrap();
        let pass = work.path().join("pass.txt");
        std::fs::write(&pass, "restore pass\n").unwrap();
        let p: Value = serde_json::from_str(&LENS.ok(&[
            "restore-plan",
            enc.to_str().unwrap(),
            "--json",
            "--passphrase-file",
            pass.to_str().unwrap(),
        ]))
        .unwrap();
        let canonical = std::fs::canonicalize(snap).unwrap();
        assert_eq!(p["snapshot_path"], canonical.to_str().unwrap());
        let restore = strings(&p["members"][0]["restore"]["argv"]);
        assert_eq!(restore[3], canonical.to_str().unwrap());
        assert!(!restore.contains(&"--skip-hash-check".to_string()));
        assert!(
            p["warnings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|w| w.as_str().unwrap().contains("encrypted or compressed")),
            "{p}"
        );
    }
}
