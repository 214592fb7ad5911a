//! The real server process killed with SIGKILL in the middle of a snapshot:
//! no catalog entry and no part file are left behind.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use etcd_lens_testkit::cluster::{Cluster, ClusterOptions};

use crate::{CANARY, TOKEN, contains, decrypt, files_under, http, lens, lens_cmd, rt};

struct ServerProcess {
    child: std::process::Child,
    addr: String,
    log: PathBuf,
}

impl ServerProcess {
    fn start(data: &Path, endpoint: &str, recipient: &str) -> Self {
        Self::start_with(data, &["--endpoints", endpoint, "--recipient", recipient])
    }

    fn start_with(data: &Path, clusters: &[&str]) -> Self {
        let dist = data.join("dist");
        std::fs::create_dir_all(&dist).unwrap();
        std::fs::write(dist.join("index.html"), "<!DOCTYPE html><html></html>").unwrap();
        let port = etcd_lens_testkit::free_port();
        let addr = format!("127.0.0.1:{port}");
        let log = data.join(format!("server-{port}.log"));
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_etcd-lens"))
            .args(["serve", "--addr", &addr, "--token", TOKEN])
            .args(clusters)
            .arg("--dist")
            .arg(&dist)
            .arg("--data-dir")
            .arg(data.join("data"))
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        etcd_lens_testkit::wait_for_port("etcd-lens serve", port, Duration::from_secs(30));
        Self { child, addr, log }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_snapshot(
    addr: &str,
    id: &str,
    until: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (st, body) = http(addr, "GET", &format!("/api/v1/snapshots/{id}"));
        assert_eq!(st, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        if until(&v) {
            return v;
        }
        assert!(v["status"] != "failed", "{v}");
        assert!(Instant::now() < deadline, "gave up waiting: {v}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn kill_nine_mid_snapshot_leaves_no_entry_and_no_part_file() {
    let c = Cluster::start(ClusterOptions::default());
    // About 200 MiB of values, written with etcd-client, 1 MiB a put.
    let endpoint = c.endpoints()[0].clone();
    rt().block_on(async {
        let client = etcd_client::Client::connect([endpoint.as_str()], None)
            .await
            .unwrap();
        let value = vec![b'v'; 1024 * 1024 - 1024];
        let puts = (0..200).map(|i| {
            let mut kv = client.kv_client();
            let value = value.clone();
            async move { kv.put(format!("/big/{i:04}"), value, None).await.unwrap() }
        });
        futures::future::join_all(puts).await;
    });
    c.put("/registry/secrets/default/canary", CANARY);
    let tmp = tempfile::tempdir().unwrap();
    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public().to_string();

    let mut server = ServerProcess::start(tmp.path(), &endpoint, &recipient);
    let (st, body) = http(&server.addr, "POST", "/api/v1/clusters/default/snapshots");
    assert_eq!(st, 202, "{body}");
    let id = serde_json::from_str::<serde_json::Value>(&body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (st, body) = http(&server.addr, "POST", "/api/v1/clusters/default/snapshots");
    assert_eq!(st, 409, "a second snapshot while one runs: {body}");
    let seen = wait_snapshot(&server.addr, &id, |v| {
        v["bytes_received"].as_u64().unwrap_or(0) > 20 << 20
    });
    assert_eq!(
        seen["status"], "running",
        "finished before the kill; make the database bigger: {seen}"
    );
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    let data = tmp.path().join("data");
    let parts: Vec<_> = files_under(&data)
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".part"))
        .collect();
    assert_eq!(
        parts.len(),
        1,
        "killed mid-write, a .part stays behind until restart: {parts:?}"
    );
    for f in files_under(&data) {
        let b = std::fs::read(&f).unwrap();
        assert!(
            !contains(&b, CANARY.as_bytes()),
            "plaintext canary in {}",
            f.display()
        );
    }
    drop(server);

    let server = ServerProcess::start(tmp.path(), &endpoint, &recipient);
    let log = std::fs::read_to_string(&server.log).unwrap();
    assert!(
        log.contains("removed") && log.contains(".part"),
        "start-up says what it removed: {log}"
    );
    assert!(
        files_under(&data)
            .iter()
            .all(|p| !p.to_string_lossy().ends_with(".part"))
    );
    let (st, body) = http(&server.addr, "GET", "/api/v1/snapshots");
    assert_eq!(st, 200);
    let list: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        list["snapshots"],
        serde_json::json!([]),
        "no entry for the killed snapshot"
    );
    let (st, body) = http(&server.addr, "GET", &format!("/api/v1/snapshots/{id}"));
    assert_eq!(st, 404, "{body}");

    // The next snapshot succeeds.
    let (st, body) = http(&server.addr, "POST", "/api/v1/clusters/default/snapshots");
    assert_eq!(st, 202, "{body}");
    let id = serde_json::from_str::<serde_json::Value>(&body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let done = wait_snapshot(&server.addr, &id, |v| v["status"] == "done");
    assert!(
        done["db_size_bytes"].as_u64().unwrap() > 200_000_000,
        "{done}"
    );
    assert_eq!(done["revision"].as_i64().unwrap(), c.revision(), "{done}");
    let (st, body) = http(&server.addr, "GET", "/api/v1/snapshots");
    assert_eq!(st, 200);
    let list: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(list["snapshots"].as_array().unwrap().len(), 1);

    // The stored .age file opens like any other: `etcd-lens status --identity` = etcdctl on the plaintext.
    let stored = data.join(done["path"].as_str().unwrap());
    let key = tmp.path().join("identity.txt");
    {
        use age::secrecy::ExposeSecret;
        std::fs::write(&key, format!("{}\n", identity.to_string().expose_secret())).unwrap();
    }
    let lens = lens(&[
        "--identity",
        key.to_str().unwrap(),
        "status",
        stored.to_str().unwrap(),
        "--json",
    ]);
    assert!(
        lens.status.success(),
        "{}",
        String::from_utf8_lossy(&lens.stderr)
    );
    let plain = tmp.path().join("plain.db");
    std::fs::write(&plain, decrypt(&std::fs::read(&stored).unwrap(), &identity)).unwrap();
    let oracle = c.snapshot_status(&plain);
    let ours: serde_json::Value = serde_json::from_slice(&lens.stdout).unwrap();
    assert_eq!(ours, oracle);

    // The catalog is the server's while it runs: the CLI says so instead of waiting or corrupting.
    let out = lens_cmd(&["snapshot", "ls", "--data-dir", data.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("in use by a running server"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(server);

    // Without the server, the CLI takes one into the same catalog and lists both.
    let out = lens_cmd(&[
        "snapshot",
        "save",
        "--endpoints",
        &endpoint,
        "--recipient",
        &recipient,
        "--data-dir",
        data.to_str().unwrap(),
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let record: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (record["status"].as_str(), record["encrypted"].as_bool()),
        (Some("done"), Some(true)),
        "{record}"
    );
    let out = lens_cmd(&[
        "snapshot",
        "ls",
        "--data-dir",
        data.to_str().unwrap(),
        "--json",
    ]);
    assert!(out.status.success());
    let all: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(all.as_array().unwrap().len(), 2, "{all}");
    assert_eq!(all[0]["id"], record["id"], "newest first");
}

/// The real server killed with SIGKILL while a restore drill's throwaway
/// etcd runs: that etcd dies with it (`PR_SET_PDEATHSIG`), and the next
/// start removes the drill's folder (the plaintext's only place on disk).
#[test]
fn kill_nine_mid_drill_leaves_nothing_after_the_next_start() {
    let c = Cluster::start(ClusterOptions::default());
    for i in 0..200 {
        c.put(
            &format!("/registry/configmaps/default/cm-{i:03}"),
            &"x".repeat(2048),
        );
    }
    c.put("/registry/secrets/default/canary", CANARY);
    let tmp = tempfile::tempdir().unwrap();
    let identity = age::x25519::Identity::generate();
    let key = tmp.path().join("drill.key");
    {
        use age::secrecy::ExposeSecret;
        std::fs::write(&key, format!("{}\n", identity.to_string().expose_secret())).unwrap();
    }
    let work = tmp.path().join("drills");
    std::fs::create_dir_all(&work).unwrap();
    let config = tmp.path().join("clusters.toml");
    std::fs::write(
        &config,
        format!(
            "[[cluster]]\nname = \"default\"\nendpoints = [\"{}\"]\nrecipients = [\"{}\"]\n[cluster.drill]\nidentity = \"{}\"\nwork_dir = \"{}\"\nbinaries = {{ \"3.4\" = \"/usr/bin\" }}\n",
            c.endpoints()[0],
            identity.to_public(),
            key.display(),
            work.display()
        ),
    )
    .unwrap();
    let config_arg = config.to_str().unwrap().to_string();
    let args = ["--config", config_arg.as_str()];
    let mut server = ServerProcess::start_with(tmp.path(), &args);
    let (st, body) = http(&server.addr, "POST", "/api/v1/clusters/default/snapshots");
    assert_eq!(st, 202, "{body}");
    let id = serde_json::from_str::<serde_json::Value>(&body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    wait_snapshot(&server.addr, &id, |v| v["status"] == "done");

    // Start the drill (the call answers at its end) and kill the server once
    // the throwaway etcd has its pidfile.
    let addr = server.addr.clone();
    let drill_id = id.clone();
    let call = std::thread::spawn(move || {
        http(
            &addr,
            "POST",
            &format!("/api/v1/snapshots/{drill_id}/drill"),
        )
    });
    let (folder, pid) =
        etcd_lens_testkit::wait_for("the drill's etcd to start", Duration::from_secs(60), || {
            let entry = std::fs::read_dir(&work).ok()?.flatten().next()?;
            let pid: i32 = std::fs::read_to_string(entry.path().join("etcd.pid"))
                .ok()?
                .trim()
                .parse()
                .ok()?;
            Some((entry.path(), pid))
        });
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    let _ = call.join();
    assert!(
        folder.exists(),
        "killed mid-drill, its folder is still there"
    );
    // The throwaway etcd died with the server.
    etcd_lens_testkit::wait_for("the drill's etcd to die", Duration::from_secs(10), || {
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        (!String::from_utf8_lossy(&cmdline).contains(&*folder.to_string_lossy())).then_some(())
    });
    drop(server);

    let server = ServerProcess::start_with(tmp.path(), &args);
    assert!(
        !folder.exists(),
        "the next start removed {}",
        folder.display()
    );
    assert!(
        files_under(&work).is_empty(),
        "nothing left: {:?}",
        files_under(&work)
    );
    let log = std::fs::read_to_string(&server.log).unwrap();
    assert!(
        log.contains("removed") && log.contains("restore drill"),
        "start-up says what it removed: {log}"
    );
    // The killed drill recorded nothing; a new one passes.
    let (st, body) = http(&server.addr, "GET", &format!("/api/v1/snapshots/{id}"));
    assert_eq!(st, 200, "{body}");
    let rec: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(rec["drill"].is_null(), "{rec}");
    let (st, body) = http(
        &server.addr,
        "POST",
        &format!("/api/v1/snapshots/{id}/drill"),
    );
    assert_eq!(st, 200, "{body}");
    let d: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(d["verdict"], "passed", "{d}");
}
