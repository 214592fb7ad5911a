//! The cluster harness against real etcd 3.4 and 3.5 binaries. Each test
//! shares one cluster between its assertions: starting one is the slow part.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use etcd_lens_testkit::cluster::{
    AuthOptions, Binaries, Cluster, ClusterOptions, Flavor, Identity, Login,
};
use etcd_lens_testkit::etcd::Etcd;
use etcd_lens_testkit::wait_for;
use serde_json::Value;

/// `endpoint status --cluster`: every member's entry, and how many say they lead.
fn status_of_all(c: &Cluster) -> (usize, usize) {
    let out = c.ctl(&["endpoint", "status", "--cluster", "-w", "json"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    let entries = v.as_array().unwrap();
    let leaders = entries
        .iter()
        .filter(|e| e["Status"]["header"]["member_id"] == e["Status"]["leader"])
        .count();
    (entries.len(), leaders)
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn three_members_keep_quorum_when_one_stops() {
    let c = Cluster::start(ClusterOptions {
        members: 3,
        ..Default::default()
    });
    assert_eq!(c.endpoints().len(), 3);
    assert_eq!(status_of_all(&c), (3, 1), "3 members, exactly one leader");
    let leader = c.leader_index().expect("a leader");
    let follower = (leader + 1) % 3;

    // A follower dies: two of three still commit.
    let before = c.revision();
    c.stop(follower);
    assert!(!c.is_running(follower));
    assert_eq!(c.running_endpoints().len(), 2);
    c.put("after-kill", "v");
    assert!(c.revision() > before);

    // Back with the same data dir and ports; it catches up.
    c.restart(follower);
    assert!(c.is_running(follower));
    c.wait_healthy();
    assert_eq!(
        c.ctl_member(follower, &["get", "after-kill", "--print-value-only"])
            .trim(),
        "v"
    );

    // The leader is SIGTERM'd: it hands off leadership, the rest go on.
    c.stop_gracefully(leader);
    c.put("after-term", "v");
    let new_leader = c.leader_index().expect("a new leader");
    assert_ne!(new_leader, leader);
    assert_eq!(c.alarm_list().trim(), "");

    // One of three left: Status still answers, and soon names no leader
    // (a lone leader steps down after an election timeout).
    c.stop(new_leader);
    wait_for(
        "the survivor to lose its leader",
        Duration::from_secs(10),
        || c.leader_index().is_none().then_some(()),
    );
    // A restart returns once the port answers, quorum or not; with two, it is back.
    c.restart(leader);
    c.wait_healthy();
    c.put("after-quorum-loss", "v");
    assert_eq!(c.running_endpoints().len(), 2);
}

#[test]
fn tls_cluster_requires_a_client_certificate() {
    let c = Cluster::start(ClusterOptions {
        tls: true,
        ..Default::default()
    });
    let tls = c.tls().expect("tls files");
    let m = c.member(0);
    assert!(m.client_url.starts_with("https://127.0.0.1:"));
    assert!(m.metrics_url.starts_with("http://127.0.0.1:"));
    c.put("k", "with-cert");

    // Each refusal is a failed handshake, which etcdctl retries until its
    // deadline: keep that short, and read the member's log for the reason.
    let log = || std::fs::read_to_string(&m.log).unwrap();
    let refused = |o: std::process::Output, reason: &str| {
        assert!(!o.status.success(), "accepted; {reason} expected");
        assert!(log().contains(reason), "no {reason:?} in the log");
    };
    let no_cert = Identity {
        client_cert: false,
        login: None,
    };
    refused(
        c.ctl_output_as(&no_cert, &["get", "k", "--command-timeout=1s"]),
        "tls: client didn't provide a certificate",
    );

    let run = |ca: &Path, cert: &Path, key: &Path, timeout: &str| {
        Command::new(&c.binaries().etcdctl)
            .env("ETCDCTL_API", "3")
            .arg(format!("--endpoints={}", m.client_url))
            .args(["--dial-timeout=1s", timeout])
            .arg(format!("--cacert={}", ca.display()))
            .arg(format!("--cert={}", cert.display()))
            .arg(format!("--key={}", key.display()))
            .args(["get", "k", "--print-value-only"])
            .output()
            .unwrap()
    };
    let short = "--command-timeout=1s";
    refused(
        run(
            &tls.ca,
            &tls.wrong_client_cert,
            &tls.wrong_client_key,
            short,
        ),
        "x509: certificate signed by unknown authority",
    );
    // The client checks the server against the wrong CA and hangs up.
    refused(
        run(&tls.wrong_ca, &tls.client_cert, &tls.client_key, short),
        "remote error: tls: bad certificate",
    );
    let right = run(
        &tls.ca,
        &tls.client_cert,
        &tls.client_key,
        "--command-timeout=10s",
    );
    assert_eq!(String::from_utf8_lossy(&right.stdout).trim(), "with-cert");
}

#[test]
fn auth_cluster_refuses_anonymous_writes() {
    // With tls too: a verified client certificate's CN counts as a user name,
    // so this also checks that the harness's CN is nobody.
    let c = Cluster::start(ClusterOptions {
        tls: true,
        auth: Some(AuthOptions {
            read_only: Some(Login::new("reader", "reader-pw")),
            ..Default::default()
        }),
        ..Default::default()
    });
    assert_eq!(c.root_password(), Some("lens-root-pw"));

    let anon = c.ctl_output_as(&c.anonymous(), &["put", "k", "anon"]);
    assert!(!anon.status.success(), "anonymous put accepted");
    assert!(
        stderr(&anon).contains("user name is empty") || stderr(&anon).contains("permission denied"),
        "{}",
        stderr(&anon)
    );
    c.put("k", "root"); // as root
    assert_eq!(c.revision(), 2);

    let ro = c.read_only().expect("a read-only user");
    assert_eq!(
        c.ctl_as(&ro, &["get", "k", "--print-value-only"]).trim(),
        "root"
    );
    let ro_put = c.ctl_output_as(&ro, &["put", "k", "reader"]);
    assert!(
        stderr(&ro_put).contains("permission denied"),
        "{}",
        stderr(&ro_put)
    );
    let wrong = c.ctl_output_as(
        &Identity {
            login: Some(Login::new("root", "not-the-password")),
            ..c.root()
        },
        &["get", "k"],
    );
    assert!(!wrong.status.success());
}

#[test]
fn etcd_3_5_cluster_starts_and_snapshots() {
    let binaries = Flavor::Etcd35.binaries();
    if !binaries.installed() {
        etcd_lens_testkit::oracle_missing("etcd 3.5 in /opt/etcd-3.5/bin");
        return;
    }
    let c = Cluster::start(ClusterOptions {
        members: 3,
        binaries,
        quota_backend_bytes: Some(16 << 20),
        ..Default::default()
    });
    assert_eq!(status_of_all(&c), (3, 1));
    let version = c.endpoint_status()[0]["Status"]["version"].clone();
    assert_eq!(version, "3.5.1");
    c.put_many(&[("a".into(), "1".into()), ("b".into(), "2".into())]);
    let rev = c.revision();

    let snap = c.dir().join("snap.db");
    c.snapshot(&snap);
    let st = c.snapshot_status(&snap);
    assert_eq!(st["revision"].as_i64(), Some(rev), "{st}");
    assert_eq!(c.alarm_list().trim(), "");
    let log = std::fs::read_to_string(&c.member(0).log).unwrap();
    assert!(log.contains("lens-0"), "the log is the member's");
}

#[test]
fn single_member_etcd_keeps_its_api() {
    let e = Etcd::start();
    assert_eq!(e.cluster().member(0).name, "lens-test");
    assert_eq!(e.endpoint, e.cluster().endpoints()[0]);
    e.put("k", "v");
    e.put_bytes("bin", &[0, 1, 2, 255]);
    assert_eq!(e.delete("k"), 1);
    let snap = e.dir().join("s.db");
    e.snapshot(&snap);
    assert_eq!(
        e.snapshot_status(&snap)["revision"].as_i64(),
        Some(e.revision())
    );
    assert_eq!(Binaries::default(), Flavor::Debian34.binaries());
}

#[test]
fn a_small_quota_raises_nospace() {
    let c = Cluster::start(ClusterOptions {
        quota_backend_bytes: Some(1 << 20),
        ..Default::default()
    });
    let value = vec![b'x'; 200 << 10];
    // Bounded: 1 MiB of quota takes a handful of 200 KiB values.
    let refused = (0..20)
        .map(|i| c.ctl_output_with_stdin(&["put", &format!("big-{i}")], &value))
        .find(|o| !o.status.success())
        .expect("a put past the quota is refused");
    assert!(
        stderr(&refused).contains("database space exceeded"),
        "{}",
        stderr(&refused)
    );
    assert!(c.alarm_list().contains("alarm:NOSPACE"));
}
