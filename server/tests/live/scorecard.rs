//! The operations scorecard on a real 3-member etcd 3.4: every practice met
//! (schedule, encryption, shipping, a passed drill, encrypted Secrets), then
//! one practice broken at a time: exactly its check moves.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::http::Method;
use chrono::Utc;
use etcd_lens_core::scorecard::{Scorecard, Status};
use etcd_lens_server::AppState;
use etcd_lens_server::config::ClusterConfig;
use etcd_lens_server::ops::{scheduler, scorecard};
use etcd_lens_testkit::cluster::{Cluster, ClusterOptions};

use crate::{config_for, json, lens, rt, state, status_of};

fn card(s: &AppState, cfg: &Arc<ClusterConfig>) -> Scorecard {
    let now = Utc::now();
    let schedules = scheduler::initial_states(cfg, &s.services.catalog, now);
    rt().block_on(scorecard::scorecard(
        &s.services,
        cfg,
        Ok(status_of(cfg)),
        &schedules,
        now,
    ))
    .unwrap()
}

fn statuses(c: &Scorecard) -> BTreeMap<String, Status> {
    c.checks.iter().map(|c| (c.id.clone(), c.status)).collect()
}

fn evidence<'a>(c: &'a Scorecard, id: &str) -> &'a str {
    &c.checks.iter().find(|c| c.id == id).unwrap().evidence
}

/// `base` with `id` set to `st`.
fn moved(base: &BTreeMap<String, Status>, changes: &[(&str, Status)]) -> BTreeMap<String, Status> {
    let mut m = base.clone();
    for (id, st) in changes {
        m.insert((*id).to_string(), *st);
    }
    m
}

#[test]
fn scorecard_on_a_real_cluster_one_practice_broken_at_a_time() {
    use etcd_lens_server::catalog::DrillVerdict;
    let c = Cluster::start(ClusterOptions {
        members: 3,
        ..Default::default()
    });
    // An API server with an aescbc EncryptionConfiguration writes this envelope.
    let mut sealed = b"k8s:enc:aescbc:v1:key1:".to_vec();
    sealed.extend((0..48u8).map(|i| i.wrapping_mul(37)));
    c.put_bytes("/registry/secrets/default/sealed", &sealed);
    c.put("/registry/configmaps/default/app", "settings");
    let identity = age::x25519::Identity::generate();
    let key = c.dir().join("drill.key");
    {
        use age::secrecy::ExposeSecret;
        std::fs::write(&key, format!("{}\n", identity.to_string().expose_secret())).unwrap();
    }
    let work = tempfile::tempdir().unwrap();
    let bucket = tempfile::tempdir().unwrap();
    let recipients = format!("recipients = [\"{}\"]\n", identity.to_public());
    let schedule = "[[cluster.schedule]]\nname = \"hourly\"\ncron = \"0 * * * *\"\n";
    let store = format!(
        "[cluster.store]\nkind = \"local\"\npath = \"{}\"\n",
        bucket.path().display()
    );
    let drill = format!(
        "[cluster.drill]\nidentity = \"{}\"\nwork_dir = \"{}\"\nbinaries = {{ \"3.4\" = \"/usr/bin\" }}\n",
        key.display(),
        work.path().display()
    );
    let cfg_of = |parts: &[&str]| config_for(&c, "scored", &parts.concat());
    let full = cfg_of(&[&recipients, schedule, &store, &drill]);
    let data = tempfile::tempdir().unwrap();
    let s = state(data.path(), vec![full.clone()]);
    let r = rt();
    let take = |s: &AppState| {
        r.block_on(async {
            let job = s.services.jobs.begin(&full, "manual", Utc::now()).unwrap();
            s.services
                .snapshot(&full, &job, "manual", "test")
                .await
                .unwrap()
        })
    };

    // Before any snapshot: no drill has run, nothing to audit.
    let before = card(&s, &full);
    assert_eq!(
        statuses(&before)["restore-drill"],
        Status::Fail,
        "{before:#?}"
    );
    assert_eq!(statuses(&before)["secrets-encrypted"], Status::Unknown);

    // Every practice met.
    let snap = take(&s);
    let d = r
        .block_on(etcd_lens_server::ops::drill::drill_snapshot(
            &s.services,
            &full,
            &snap.id,
            "test",
        ))
        .unwrap();
    assert_eq!(d.verdict, DrillVerdict::Passed, "{d:#?}");
    let (_, api) = r.block_on(json(&s, Method::GET, "/api/v1/clusters/scored/scorecard"));
    let good: Scorecard = serde_json::from_value(api.clone()).unwrap();
    let base = statuses(&good);
    for (id, st) in &base {
        let want_pass = id != "disk-latency";
        if want_pass {
            assert_eq!(*st, Status::Pass, "{id}: {api:#}");
        } else {
            // A fresh loopback cluster may not have 20 fsyncs between two looks.
            assert!(
                matches!(st, Status::Pass | Status::Unknown),
                "{id}: {api:#}"
            );
        }
    }
    assert_eq!(evidence(&good, "member-count"), "3 voting members");
    assert!(
        evidence(&good, "secrets-encrypted").contains(&format!(
            "all 1 Secrets in the newest snapshot ({}) are encrypted (aescbc: 1)",
            snap.id
        )),
        "{api:#}"
    );
    assert!(
        evidence(&good, "restore-drill").contains(&snap.id),
        "{api:#}"
    );
    assert!(
        evidence(&good, "snapshots-shipped").contains(&snap.id),
        "{api:#}"
    );
    assert!(evidence(&good, "quota").starts_with("largest: "), "{api:#}");
    let base_latency = base["disk-latency"];
    let keep_latency = |m: &mut BTreeMap<String, Status>, now: &Scorecard| {
        // Latency is measured anew each time; it is not what these steps break.
        m.insert("disk-latency".into(), statuses(now)["disk-latency"]);
        let _ = base_latency;
    };

    // One practice broken at a time, by the configuration alone.
    for (what, cfg, changes) in [
        (
            "no recipients",
            cfg_of(&[schedule, &store, &drill]),
            vec![("snapshots-encrypted", Status::Fail)],
        ),
        (
            "no schedule",
            cfg_of(&[&recipients, &store, &drill]),
            vec![("snapshot-schedule", Status::Fail)],
        ),
        (
            "no store",
            cfg_of(&[&recipients, schedule, &drill]),
            vec![("snapshots-shipped", Status::Fail)],
        ),
        (
            // The census of the newest snapshot was read once with the
            // identity, and a snapshot does not change: it still counts.
            "no drills",
            cfg_of(&[&recipients, schedule, &store]),
            vec![("restore-drill", Status::Fail)],
        ),
    ] {
        let now = card(&s, &cfg);
        let mut want = moved(&base, &changes);
        keep_latency(&mut want, &now);
        assert_eq!(statuses(&now), want, "{what}: {now:#?}");
    }

    // A Secret written in plaintext: the next snapshot's audit fails the check.
    c.put(
        "/registry/secrets/default/plain",
        r#"{"kind":"Secret","apiVersion":"v1","metadata":{"name":"plain","namespace":"default"},"data":{"password":"aHVudGVyMg=="}}"#,
    );
    let newer = take(&s);
    let now = card(&s, &full);
    let mut want = moved(&base, &[("secrets-encrypted", Status::Fail)]);
    keep_latency(&mut want, &now);
    assert_eq!(statuses(&now), want, "{now:#?}");
    assert_eq!(
        evidence(&now, "secrets-encrypted"),
        format!(
            "1 of 2 Secrets in the newest snapshot ({}) are stored in plaintext",
            newer.id
        )
    );

    // A fourth voting member (added, never started): the member-count rule warns.
    let peer = format!("http://127.0.0.1:{}", etcd_lens_testkit::free_port());
    etcd_lens_testkit::wait_for("member add", std::time::Duration::from_secs(30), || {
        // etcd refuses reconfiguration until every member has been up a few seconds.
        let out = c.ctl_output(&["member", "add", "lens-3", &format!("--peer-urls={peer}")]);
        out.status.success().then_some(())
    });
    let now = card(&s, &full);
    assert_eq!(statuses(&now)["member-count"], Status::Warn, "{now:#?}");
    assert!(
        evidence(&now, "member-count").starts_with("4 members tolerate 1 failure"),
        "{now:#?}"
    );

    // The CLI answers the same, once the server's catalog is closed; exit 1 on a fail.
    drop(s);
    // config_for wrote each variant to the same file: the full one again.
    cfg_of(&[&recipients, schedule, &store, &drill]);
    let cfg_file = c.dir().join("scored.toml");
    let out = lens(&[
        "scorecard",
        "--config",
        cfg_file.to_str().unwrap(),
        "--data-dir",
        data.path().to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cli: Scorecard = serde_json::from_slice(&out.stdout).unwrap();
    let mut cli_st = statuses(&cli);
    let mut api_st = statuses(&now);
    cli_st.remove("disk-latency");
    api_st.remove("disk-latency");
    assert_eq!(cli_st, api_st, "{cli:#?}");
}
