//! Schedules and retention: cron runs take snapshots, retention prunes, missed
//! runs are counted, alerts reach a webhook receiver.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use chrono::Utc;
use etcd_lens_server::app;
use etcd_lens_testkit::cluster::{Cluster, ClusterOptions};
use tower::ServiceExt;

use crate::{CANARY, TOKEN, config_for, files_under, json, metrics, rt, state};

/// Schedules (a seconds-level cron) take snapshots through the same path,
/// retention (keep the last 2) prunes after each, runs missed while the server
/// was down are counted at start, and the dry run explains itself.
#[test]
fn schedules_take_snapshots_and_retention_prunes() {
    let c = Cluster::start(ClusterOptions::default());
    c.put("/registry/secrets/default/canary", CANARY);
    let hook = Receiver::start();
    let hook_secret = c.dir().join("hook.secret");
    std::fs::write(&hook_secret, "hook-secret-42\n").unwrap();
    let identity = age::x25519::Identity::generate();
    let cfg = config_for(
        &c,
        "timed",
        &format!(
            "recipients = [\"{}\"]\n[[cluster.schedule]]\nname = \"every-2s\"\ncron = \"*/2 * * * * *\"\n[cluster.retention]\nkeep_last = 2\n[cluster.webhook]\nurl = \"{}\"\nheader_name = \"X-Lens-Secret\"\nheader_value_file = \"{}\"\n",
            identity.to_public(),
            hook.url,
            hook_secret.display()
        ),
    );
    let data = tempfile::tempdir().unwrap();
    let s = state(data.path(), vec![cfg.clone()])
        .with_metrics_token(Some("metrics-token-0123456789".into()));
    // The server "was down" for the last 10 s: five runs were due.
    let key = "timed/every-2s";
    s.services
        .catalog
        .set_last_scheduled(key, Utc::now() - chrono::Duration::seconds(10))
        .unwrap();
    let r = rt();
    r.block_on(async {
        let task = tokio::spawn(etcd_lens_server::ops::scheduler::run(
            cfg.clone(),
            s.scheduler_context(),
        ));
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (_, v) = json(&s, Method::GET, "/api/v1/clusters/timed/schedules").await;
        let missed = v["schedules"][0]["missed_while_down"].as_u64().unwrap();
        assert!((4..=6).contains(&missed), "about five missed runs: {v}");
        // Wait for at least four scheduled snapshots.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let created = s
                .services
                .catalog
                .audit_log()
                .unwrap()
                .iter()
                .filter(|e| e.action == "snapshot.create" && e.result == "ok")
                .count();
            if created >= 4 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "fewer than 4 scheduled snapshots in 30 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Let the last run's retention finish.
        tokio::time::sleep(Duration::from_millis(500)).await;
        task.abort();
        let all = s.services.catalog.snapshots().unwrap();
        assert!(
            all.len() <= 3,
            "keep-last 2 (a third may be mid-retention): {}",
            all.len()
        );
        assert!(all.iter().all(|r| r.reason == "scheduled"), "{all:?}");
        let log = s.services.catalog.audit_log().unwrap();
        let deleted = log
            .iter()
            .filter(|e| e.action == "retention.delete" && e.result == "ok")
            .count();
        assert!(deleted >= 2, "retention deleted the older ones: {log:?}");
        assert!(
            log.iter().any(|e| e.action == "schedule.missed"),
            "missed runs are in the audit log"
        );
        let files = files_under(&data.path().join("snapshots"));
        assert_eq!(
            files.len(),
            all.len(),
            "a file per entry, none left behind: {files:?}"
        );

        let (_, v) = json(&s, Method::GET, "/api/v1/clusters/timed/schedules").await;
        let st = &v["schedules"][0];
        assert_eq!(st["last_result"], "ok", "{v}");
        assert!(
            st["next_run"].as_str().is_some() && st["last_snapshot_id"].as_str().is_some(),
            "{v}"
        );

        let (_, plan) = json(&s, Method::GET, "/api/v1/clusters/timed/retention").await;
        let decisions = plan["decisions"].as_array().unwrap();
        assert!(
            decisions.iter().take(2).all(|d| d["keep"] == true
                && d["kept_by"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|k| k == "keep-last")),
            "{plan}"
        );

        // The member goes down: scheduled runs fail at `connect`, the webhook hears it,
        // the metrics count it and show the member down.
        let task = tokio::spawn(etcd_lens_server::ops::scheduler::run(
            cfg.clone(),
            s.scheduler_context(),
        ));
        c.stop(0);
        let failed = hook.wait_for("snapshot_failed", Duration::from_secs(30));
        assert_eq!(
            (failed["cluster"].as_str(), failed["stage"].as_str()),
            (Some("timed"), Some("connect")),
            "{failed}"
        );
        assert_eq!(
            hook.header("x-lens-secret").as_deref(),
            Some("hook-secret-42")
        );
        let m = metrics(&s, Some("metrics-token-0123456789")).await;
        assert!(
            m.value_of(
                "etcd_lens_snapshot_failures_total",
                &[("cluster", "timed"), ("stage", "connect")]
            )
            .unwrap_or(0.0)
                >= 1.0,
            "{m:?}"
        );
        assert!(
            m.value_of("etcd_lens_snapshots_total", &[("cluster", "timed")])
                .unwrap_or(0.0)
                >= 4.0,
            "{m:?}"
        );
        assert_eq!(
            m.value_of("etcd_lens_member_up", &[("cluster", "timed")]),
            Some(0.0),
            "{m:?}"
        );
        assert!(
            m.value_of(
                "etcd_lens_snapshot_last_success_timestamp_seconds",
                &[("cluster", "timed")]
            )
            .unwrap_or(0.0)
                > 1.7e9,
            "{m:?}"
        );
        assert!(
            m.value_of(
                "etcd_lens_retention_deletions_total",
                &[("cluster", "timed")]
            )
            .unwrap_or(0.0)
                >= 2.0,
            "{m:?}"
        );
        // The API token is not the metrics token.
        let req = Request::builder()
            .uri("/metrics")
            .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
            .body(Body::empty())
            .unwrap();
        assert_eq!(
            app(s.clone()).oneshot(req).await.unwrap().status(),
            StatusCode::UNAUTHORIZED
        );

        // Back up: the next run succeeds and the webhook hears the recovery.
        c.restart(0);
        c.wait_healthy();
        let recovered = hook.wait_for("snapshot_recovered", Duration::from_secs(30));
        assert_eq!(recovered["cluster"], "timed");
        task.abort();
    });
}

/// A webhook receiver on 127.0.0.1: keeps every JSON body with its headers.
struct Receiver {
    url: String,
    got: Arc<std::sync::Mutex<Vec<(String, serde_json::Value)>>>,
}

impl Receiver {
    fn start() -> Self {
        use std::io::{BufRead, BufReader, Read, Write};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", l.local_addr().unwrap());
        let got: Arc<std::sync::Mutex<Vec<(String, serde_json::Value)>>> = Arc::default();
        let sink = got.clone();
        std::thread::spawn(move || {
            for conn in l.incoming() {
                let Ok(mut conn) = conn else { continue };
                let mut r = BufReader::new(conn.try_clone().unwrap());
                let mut head = String::new();
                let mut len = 0usize;
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                    head.push_str(&line);
                }
                let mut body = vec![0; len];
                let _ = r.read_exact(&mut body);
                if let Ok(v) = serde_json::from_slice(&body) {
                    sink.lock().unwrap().push((head, v));
                }
                let _ = conn.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                );
            }
        });
        Self { url, got }
    }

    fn wait_for(&self, event: &str, within: Duration) -> serde_json::Value {
        let deadline = Instant::now() + within;
        loop {
            if let Some((_, v)) = self
                .got
                .lock()
                .unwrap()
                .iter()
                .find(|(_, v)| v["event"] == event)
            {
                return v.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no {event} webhook within {within:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn header(&self, name: &str) -> Option<String> {
        let got = self.got.lock().unwrap();
        let (head, _) = got.last()?;
        head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }
}

/// `PUT …/schedules` with a JSON body, through the router.
async fn put_json(
    s: &etcd_lens_server::AppState,
    path: &str,
    body: serde_json::Value,
) -> (StatusCode, serde_json::Value) {
    use http_body_util::BodyExt;
    let req = Request::builder()
        .method(Method::PUT)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let res = app(s.clone()).oneshot(req).await.unwrap();
    let st = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (st, serde_json::from_slice(&bytes).unwrap())
}

/// Schedules edited from the page: a cluster with none in its file gets a
/// seconds-level one, its scheduler starts at once and takes snapshots; a
/// bad pattern is refused by name and changes nothing; a reset returns to
/// the file's (none) and the snapshots stop. Each change is in the audit log.
#[test]
fn schedules_edited_from_the_page_win_until_reset() {
    let c = Cluster::start(ClusterOptions::default());
    let identity = age::x25519::Identity::generate();
    let cfg = config_for(
        &c,
        "edited",
        &format!("recipients = [\"{}\"]\n", identity.to_public()),
    );
    let data = tempfile::tempdir().unwrap();
    let s = state(data.path(), vec![cfg.clone()]);
    let created = |s: &etcd_lens_server::AppState| {
        s.services
            .catalog
            .audit_log()
            .unwrap()
            .iter()
            .filter(|e| e.action == "snapshot.create" && e.result == "ok")
            .count()
    };
    let r = rt();
    r.block_on(async {
        let task = tokio::spawn(etcd_lens_server::ops::scheduler::run(
            cfg.clone(),
            s.scheduler_context(),
        ));
        let (_, v) = json(&s, Method::GET, "/api/v1/clusters/edited/schedules").await;
        assert_eq!(v["source"]["source"], "file", "{v}");
        assert_eq!(v["schedules"], serde_json::json!([]), "{v}");

        // A bad pattern: 400 naming it, nothing kept.
        let (st, v) = put_json(
            &s,
            "/api/v1/clusters/edited/schedules",
            serde_json::json!({"schedules": [{"cron": "*/2 * * * * *"}, {"cron": "61 * * * *"}]}),
        )
        .await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
        assert!(v["error"].as_str().unwrap().starts_with("schedule 2: "), "{v}");
        let (_, v) = json(&s, Method::GET, "/api/v1/clusters/edited/schedules").await;
        assert_eq!(v["source"]["source"], "file", "{v}");

        // A good one: kept, and it runs.
        let (st, v) = put_json(
            &s,
            "/api/v1/clusters/edited/schedules",
            serde_json::json!({"schedules": [{"name": "every-2s", "cron": "*/2 * * * * *", "time_zone": "Europe/Berlin"}]}),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        assert_eq!(v["source"]["source"], "page", "{v}");
        assert_eq!(v["source"]["edited_by"].as_str().map(|a| a.starts_with("token:")), Some(true), "{v}");
        assert_eq!(v["schedules"][0]["name"], "every-2s", "{v}");
        assert_eq!(v["schedules"][0]["time_zone"], "Europe/Berlin", "{v}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while created(&s) < 2 {
            assert!(Instant::now() < deadline, "the edited schedule took no snapshots");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let all = s.services.catalog.snapshots().unwrap();
        assert!(all.iter().all(|r| r.reason == "scheduled"), "{all:?}");

        // Reset: back to the file's (none), the snapshots stop.
        let (st, v) = json(&s, Method::DELETE, "/api/v1/clusters/edited/schedules").await;
        assert_eq!(st, StatusCode::OK, "{v}");
        assert_eq!(v["source"]["source"], "file", "{v}");
        assert_eq!(v["schedules"], serde_json::json!([]), "{v}");
        // A run started just before the reset may still finish.
        tokio::time::sleep(Duration::from_millis(2500)).await;
        let after_reset = created(&s);
        tokio::time::sleep(Duration::from_millis(4500)).await;
        assert_eq!(created(&s), after_reset, "no snapshot after the reset");
        task.abort();
    });
    let log = s.services.catalog.audit_log().unwrap();
    let actions: Vec<(&str, &str)> = log
        .iter()
        .filter(|e| e.action.starts_with("schedule."))
        .map(|e| (e.action.as_str(), e.result.as_str()))
        .collect();
    assert_eq!(actions.len(), 3, "{actions:?}");
    assert!(
        actions[0].0 == "schedule.edit" && actions[0].1 != "ok",
        "{actions:?}"
    );
    assert_eq!(
        &actions[1..],
        [("schedule.edit", "ok"), ("schedule.reset", "ok")]
    );
}
