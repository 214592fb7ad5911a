//! Two servers, one schedule: two real `etcd-lens serve` processes over one
//! local-folder bucket (object_store's `LocalFileSystem`, whose create-only
//! put is atomic), one coordination etcd and one managed etcd, a schedule
//! every 2 s. Exactly one server leads the retention election; SIGKILL the
//! leader and the other takes over within the lease's TTL and keeps
//! snapshotting; with the coordination etcd down, nobody leads (retention
//! stops) while snapshots go on, and leadership comes back with it. Across
//! the bucket and both catalogs: no slot was snapshotted twice, every
//! scheduled snapshot has exactly one claim, naming it and its server, and
//! retention ran only where the server led. Each catalog follows the
//! bucket: both list every snapshot in it, and a snapshot of the follower's
//! pruned by the leader's retention goes from the follower's disk too.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use etcd_lens_server::catalog::Catalog;
use etcd_lens_testkit::cluster::{Cluster, ClusterOptions};

use crate::{TOKEN, files_under, http};

/// Short, so the test is quick; etcd's minimum at the harness's timings is 1 s.
const LEASE_TTL_SECONDS: u64 = 3;
/// Room beyond the TTL for etcd's lease checks (every 500 ms) and our polling.
const TAKEOVER_MARGIN: Duration = Duration::from_secs(2);

struct Server {
    id: &'static str,
    child: std::process::Child,
    addr: String,
    data: PathBuf,
    log: PathBuf,
}

impl Server {
    fn start(dir: &Path, id: &'static str, config: &Path) -> Self {
        let dist = dir.join("dist");
        std::fs::create_dir_all(&dist).unwrap();
        std::fs::write(dist.join("index.html"), "<!DOCTYPE html><html></html>").unwrap();
        let port = etcd_lens_testkit::free_port();
        let addr = format!("127.0.0.1:{port}");
        let data = dir.join(format!("data-{id}"));
        let log = dir.join(format!("{id}.log"));
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_etcd-lens"))
            .args(["serve", "--addr", &addr, "--token", TOKEN])
            .args(["--metrics-token", TOKEN])
            .arg("--config")
            .arg(config)
            .arg("--dist")
            .arg(&dist)
            .arg("--data-dir")
            .arg(&data)
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        etcd_lens_testkit::wait_for_port("etcd-lens serve", port, Duration::from_secs(30));
        Self {
            id,
            child,
            addr,
            data,
            log,
        }
    }

    fn get(&self, path: &str) -> serde_json::Value {
        let (st, body) = http(&self.addr, "GET", path);
        assert_eq!(st, 200, "{path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"))
    }

    fn role(&self) -> serde_json::Value {
        self.get("/api/v1/clusters")["coordination"].clone()
    }

    /// `etcd_lens_coordination_leader` for this server, from `GET /metrics`.
    fn leader_gauge(&self) -> Option<f64> {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(&self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        write!(
            s,
            "GET /metrics HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {TOKEN}\r\nConnection: close\r\n\r\n",
            self.addr
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        let want = format!(
            "etcd_lens_coordination_leader{{server_id=\"{}\"}} ",
            self.id
        );
        out.lines()
            .find_map(|l| l.strip_prefix(&want))
            .and_then(|v| v.trim().parse().ok())
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn kill(&mut self) {
        let _ = self.child.kill(); // SIGKILL
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

fn wait_role(s: &Server, role: &str, within: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let v = s.role();
        if v["role"] == role {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < within,
            "{} is not {role} after {within:?}: {v}\n{}",
            s.id,
            s.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Scheduled snapshots this server has taken (its audit log), by id.
fn created(entries: &Audit) -> Vec<String> {
    entries
        .iter()
        .filter(|(action, result, actor, _)| {
            action == "snapshot.create" && !result.starts_with("error") && actor == "scheduler"
        })
        .map(|e| e.1.clone())
        .collect()
}

/// (action, snapshot id or result, actor, at) of every audit entry.
type Audit = Vec<(String, String, String, DateTime<Utc>)>;

fn audit_of(catalog_dir: &Path) -> Audit {
    let catalog = Catalog::open(catalog_dir).unwrap();
    catalog
        .audit_log()
        .unwrap()
        .into_iter()
        .map(|e| {
            (
                e.action.clone(),
                if e.action == "snapshot.create" && e.result == "ok" {
                    e.snapshot_id.clone().unwrap_or_default()
                } else {
                    e.result.clone()
                },
                e.actor.clone(),
                e.at,
            )
        })
        .collect()
}

fn audit_via_api(s: &Server) -> Vec<serde_json::Value> {
    s.get("/api/v1/audit-log")["entries"]
        .as_array()
        .unwrap()
        .clone()
}

fn scheduled_creates(entries: &[serde_json::Value]) -> usize {
    entries
        .iter()
        .filter(|e| {
            e["action"] == "snapshot.create" && e["result"] == "ok" && e["actor"] == "scheduler"
        })
        .count()
}

/// The time in a snapshot id `<cluster>-<YYYYMMDDTHHMMSSZ>-<hex>`.
fn id_time(id: &str) -> DateTime<Utc> {
    let t = id.split('-').nth(1).unwrap();
    chrono::NaiveDateTime::parse_from_str(t, "%Y%m%dT%H%M%SZ")
        .unwrap()
        .and_utc()
}

#[test]
fn two_servers_one_schedule_and_a_failover() {
    let test_start = Instant::now();
    let managed = Cluster::start(ClusterOptions::default());
    managed.put("/registry/configmaps/default/a", "1");
    let coordination = Cluster::start(ClusterOptions::default());
    let tmp = tempfile::tempdir().unwrap();
    let bucket = tmp.path().join("bucket");
    std::fs::create_dir_all(&bucket).unwrap();
    let identity = age::x25519::Identity::generate();
    let config = |id: &str| {
        let path = tmp.path().join(format!("{id}.toml"));
        std::fs::write(
            &path,
            format!(
                "[coordination]\nendpoints = [\"{}\"]\nlease_ttl_seconds = {LEASE_TTL_SECONDS}\ncatalog_sync_seconds = 1\nserver_id = \"{id}\"\n\n\
                 [[cluster]]\nname = \"main\"\nendpoints = [\"{}\"]\nrecipients = [\"{}\"]\n\
                 [[cluster.schedule]]\nname = \"every-2s\"\ncron = \"*/2 * * * * *\"\n\
                 [cluster.retention]\nkeep_last = 1\n\
                 [cluster.store]\nkind = \"local\"\npath = \"{}\"\n",
                coordination.endpoints()[0],
                managed.endpoints()[0],
                identity.to_public(),
                bucket.display()
            ),
        )
        .unwrap();
        path
    };
    let mut a = Server::start(tmp.path(), "lens-a", &config("lens-a"));
    let mut b = Server::start(tmp.path(), "lens-b", &config("lens-b"));

    // Exactly one leads; the other follows and names it.
    let ttl = Duration::from_secs(LEASE_TTL_SECONDS);
    etcd_lens_testkit::wait_for("a leader", ttl + TAKEOVER_MARGIN, || {
        (a.role()["role"] == "leader" || b.role()["role"] == "leader").then_some(())
    });
    let a_leads = a.role()["role"] == "leader";
    let (leader, follower) = if a_leads {
        (&mut a, &mut b)
    } else {
        (&mut b, &mut a)
    };
    wait_role(follower, "follower", ttl);
    // The follower learns the leader's id from the election's observe stream.
    let f = etcd_lens_testkit::wait_for("the follower to name the leader", ttl, || {
        let f = follower.role();
        (!f["leader_id"].is_null()).then_some(f)
    });
    assert_eq!(f["leader_id"], leader.id, "{f}");
    assert_eq!(f["server_id"], follower.id, "{f}");
    let l = leader.role();
    assert_eq!(
        (&l["leader_id"], &l["coordinated"]),
        (&leader.id.into(), &true.into())
    );
    let status = leader.get("/api/v1/clusters/main/status");
    assert_eq!(status["coordination"]["role"], "leader", "{status}");
    assert_eq!(leader.leader_gauge(), Some(1.0));
    assert_eq!(follower.leader_gauge(), Some(0.0));

    // Both run the schedule and contend for each slot: whichever claims it
    // first snapshots it (the race may favour one server throughout).
    let ran = |s: &Server| -> bool {
        !s.get("/api/v1/clusters/main/schedules")["schedules"][0]["last_run"].is_null()
    };
    let both = Instant::now();
    etcd_lens_testkit::wait_for(
        "three scheduled snapshots, both servers running the schedule",
        Duration::from_secs(20),
        || {
            let taken = scheduled_creates(&audit_via_api(leader))
                + scheduled_creates(&audit_via_api(follower));
            (both.elapsed() > Duration::from_secs(6) && taken >= 3 && ran(leader) && ran(follower))
                .then_some(())
        },
    );
    // Retention is the leader's: the follower's scheduled snapshots so far.
    let f_creates = scheduled_creates(&audit_via_api(follower));

    // Each catalog follows the bucket (`catalog_sync_seconds = 1`). An
    // on-demand snapshot on the follower (it takes no claim) is catalogued
    // by the leader, pruned by the leader's retention (keep_last = 1) with a
    // tombstone, and the follower then deletes its own copy, file and entry.
    // The follower's own scheduled run (every 2 s) may hold the cluster's
    // one run at a time: a 409 saying so is asked again.
    let body = etcd_lens_testkit::wait_for(
        "the follower to take an on-demand snapshot",
        Duration::from_secs(20),
        || {
            let (st, body) = http(&follower.addr, "POST", "/api/v1/clusters/main/snapshots");
            match st {
                202 => Some(body),
                409 if body.contains("already running") => None,
                _ => panic!("{st}: {body}"),
            }
        },
    );
    let manual = serde_json::from_str::<serde_json::Value>(&body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let manual_file = etcd_lens_testkit::wait_for(
        "the follower's on-demand snapshot, shipped",
        Duration::from_secs(20),
        || {
            let v = follower.get(&format!("/api/v1/snapshots/{manual}"));
            (v["status"] == "done" && !v["shipped"]["at"].is_null()).then_some(v)
        },
    );
    let manual_path = follower
        .data
        .join(manual_file["path"].as_str().expect("a stored path"));
    assert!(manual_path.is_file(), "{}", manual_path.display());
    let ids = |s: &Server| -> Vec<String> {
        s.get("/api/v1/snapshots")["snapshots"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["status"] == "done")
            .map(|v| v["id"].as_str().unwrap().to_string())
            .collect()
    };
    // The leader catalogs it, then prunes it: often in the same round (it
    // follows the bucket right before its retention, every 2 s here), so
    // the record may never be seen listed. Its retention's audit entry for
    // the snapshot is what proves the leader's catalog held it.
    let mut seen_in_leader = None;
    etcd_lens_testkit::wait_for(
        "the leader to catalog the follower's snapshot and prune it",
        Duration::from_secs(30),
        || {
            if seen_in_leader.is_none() && ids(leader).contains(&manual) {
                seen_in_leader = Some(leader.get(&format!("/api/v1/snapshots/{manual}")));
            }
            audit_via_api(leader)
                .iter()
                .any(|e| {
                    e["action"] == "retention.delete"
                        && e["snapshot_id"] == manual.as_str()
                        && e["result"] == "ok"
                })
                .then_some(())
        },
    );
    // Seen listed, the leader's copy of the record points at no file of its own.
    if let Some(in_leader) = &seen_in_leader {
        let path = in_leader["path"].as_str().unwrap_or_default();
        assert!(
            in_leader["status"] != "done" || path.starts_with("in-store/main/"),
            "{in_leader}"
        );
    }
    etcd_lens_testkit::wait_for(
        "the leader's retention to prune it, and the follower to follow",
        Duration::from_secs(20),
        || (!ids(follower).contains(&manual) && !manual_path.exists()).then_some(()),
    );
    let tombstone: serde_json::Value = serde_json::from_slice(
        &std::fs::read(bucket.join(format!("deleted/main/{manual}.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(tombstone["deleted_by"], leader.id, "{tombstone}");
    assert!(!bucket.join(format!("main/{manual}.json")).exists());
    let f_audit = audit_via_api(follower);
    assert!(
        f_audit.iter().any(|e| e["action"] == "sync.delete"
            && e["snapshot_id"] == manual.as_str()
            && e["result"] == "ok"),
        "{f_audit:?}"
    );
    // Every snapshot in the bucket is in both catalogs, whoever took it.
    let in_bucket = || -> Vec<String> {
        files_under(&bucket.join("main"))
            .iter()
            .filter_map(|p| {
                let name = p.file_name()?.to_str()?;
                name.strip_suffix(".json").map(str::to_string)
            })
            .collect()
    };
    etcd_lens_testkit::wait_for(
        "both catalogs to list every snapshot of the bucket",
        Duration::from_secs(15),
        || {
            let b = in_bucket();
            let (l, f) = (ids(leader), ids(follower));
            (!b.is_empty() && b.iter().all(|id| l.contains(id) && f.contains(id))).then_some(())
        },
    );
    let sync = follower.get("/api/v1/clusters/main/status")["catalog_sync"].clone();
    assert!(sync["error"].is_null() && !sync["at"].is_null(), "{sync}");

    // SIGKILL the leader: the follower leads within the TTL (+ margin).
    leader.kill();
    let killed_at = Utc::now();
    let took = wait_role(follower, "leader", ttl + TAKEOVER_MARGIN);
    eprintln!("takeover after {took:?}");
    assert_eq!(follower.role()["leader_id"], follower.id);
    assert_eq!(follower.leader_gauge(), Some(1.0));
    // …and keeps snapshotting, now applying retention.
    let before = scheduled_creates(&audit_via_api(follower));
    etcd_lens_testkit::wait_for(
        "two more snapshots by the new leader",
        Duration::from_secs(12),
        || (scheduled_creates(&audit_via_api(follower)) >= before + 2).then_some(()),
    );

    // The coordination etcd goes away: the leader stops leading within the
    // TTL (nobody prunes), snapshots go on; it comes back as leader.
    coordination.stop(0);
    let lost = wait_role(follower, "none", ttl + TAKEOVER_MARGIN);
    eprintln!("leadership dropped {lost:?} after the coordination etcd died");
    let r = follower.role();
    assert!(r["error"].as_str().is_some_and(|e| !e.is_empty()), "{r}");
    assert_eq!(follower.leader_gauge(), Some(0.0));
    let without = scheduled_creates(&audit_via_api(follower));
    let down_at = Utc::now();
    etcd_lens_testkit::wait_for(
        "a snapshot while the coordination etcd is down",
        Duration::from_secs(8),
        || (scheduled_creates(&audit_via_api(follower)) > without).then_some(()),
    );
    coordination.restart(0);
    let up_at = Utc::now();
    // Its old lease outlives the restart by a TTL (etcd renews leases when
    // it starts), so the new campaign waits that long.
    wait_role(follower, "leader", 2 * ttl + TAKEOVER_MARGIN);
    follower.kill();
    let leader_audit = audit_of(&leader.data);
    let follower_audit = audit_of(&follower.data);
    let leader_log = leader.log_text();
    let follower_log = follower.log_text();

    // Across the bucket: claims and snapshots.
    let claims: Vec<serde_json::Value> = files_under(&bucket.join("claims/main"))
        .iter()
        .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
        .collect();
    assert!(claims.len() >= 6, "{claims:?}");
    let mut claimed_ids: BTreeMap<String, (String, DateTime<Utc>)> = BTreeMap::new();
    for c in &claims {
        let slot: DateTime<Utc> = serde_json::from_value(c["slot"].clone()).unwrap();
        let prev = claimed_ids.insert(
            c["snapshot_id"].as_str().unwrap().to_string(),
            (c["server_id"].as_str().unwrap().to_string(), slot),
        );
        assert!(prev.is_none(), "one claim per snapshot id: {c}");
    }
    // Every scheduled snapshot (each server's audit log: the catalogued
    // ones, pruned or not) is named by exactly one claim, of its server.
    let mut taken: Vec<(String, String)> = Vec::new();
    for (server, audit) in [(leader.id, &leader_audit), (follower.id, &follower_audit)] {
        for id in created(audit) {
            let (by, slot) = claimed_ids
                .get(&id)
                .unwrap_or_else(|| panic!("snapshot {id} of {server} has no claim"));
            assert_eq!(by, server, "snapshot {id} was claimed by {by}");
            assert!(
                (id_time(&id) - *slot).num_seconds().abs() <= 1,
                "{id} taken at its slot {slot}"
            );
            taken.push((server.to_string(), id));
        }
    }
    // Every snapshot in the bucket is one of those, with its claim.
    for p in files_under(&bucket.join("main")) {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if let Some(id) = name.strip_suffix(".json") {
            assert!(claimed_ids.contains_key(id), "{name} has no claim");
            assert!(
                taken.iter().any(|(_, t)| t == id),
                "{name} not in a catalog"
            );
        }
    }
    // No slot twice: at most one snapshot near each claim's slot.
    for c in &claims {
        let slot: DateTime<Utc> = serde_json::from_value(c["slot"].clone()).unwrap();
        let near: Vec<_> = taken
            .iter()
            .filter(|(_, id)| (id_time(id) - slot).num_seconds().abs() <= 1)
            .collect();
        assert!(near.len() <= 1, "slot {slot} snapshotted twice: {near:?}");
    }
    let by_leader = created(&leader_audit).len();
    let by_follower = created(&follower_audit).len();
    assert!(by_follower >= 4, "{by_leader} / {by_follower}");

    // Retention ran only on the leader: the first leader never left it to
    // anyone; the second deleted only while it led, and said it skipped
    // before the takeover.
    assert!(
        !leader_log.contains("retention for \"main\" skipped"),
        "{leader_log}"
    );
    if f_creates >= 1 {
        assert!(
            follower_log.contains(&format!(
                "is a follower; the leader ({}) applies retention",
                leader.id
            )),
            "{follower_log}"
        );
    }
    let deletions = |audit: &Audit| -> Vec<DateTime<Utc>> {
        audit
            .iter()
            .filter(|(action, ..)| action == "retention.delete")
            .map(|(.., at)| *at)
            .collect()
    };
    let f_deleted = deletions(&follower_audit);
    assert!(!f_deleted.is_empty(), "the new leader applied retention");
    for at in &f_deleted {
        assert!(*at >= killed_at, "deleted at {at}, before it led");
        assert!(
            *at < down_at || *at >= up_at,
            "deleted at {at} while the coordination etcd was down"
        );
    }
    if by_leader >= 2 {
        assert!(
            !deletions(&leader_audit).is_empty(),
            "the first leader pruned"
        );
    }
    let lost_claims = [&leader_audit, &follower_audit]
        .iter()
        .flat_map(|a| a.iter())
        .filter(|(action, ..)| action == "schedule.claimed_elsewhere")
        .count();
    assert!(lost_claims >= 1, "lost claims are in the audit log");
    eprintln!(
        "{} claims, {by_leader} + {by_follower} scheduled snapshots, test took {:?}",
        claims.len(),
        test_start.elapsed()
    );
}
