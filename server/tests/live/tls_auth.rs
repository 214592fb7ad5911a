//! Clusters that need credentials: mutual TLS on etcd 3.5, and etcd auth
//! with a 3-second token TTL (answers and snapshots still work past it).

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::Method;
use chrono::Utc;
use etcd_lens_server::catalog::Catalog;
use etcd_lens_server::config::clusters;
use etcd_lens_server::etcd::status::Verdict;
use etcd_lens_server::ops::snapshots;
use etcd_lens_testkit::cluster::{AuthOptions, Cluster, ClusterOptions, Flavor};

use crate::{
    CANARY, config_for, files_under, json, rt, snapshot_through_the_api, state, status_of,
};

#[test]
fn mutual_tls_on_etcd_35() {
    let c = Cluster::start(ClusterOptions {
        members: 1,
        tls: true,
        binaries: Flavor::Etcd35.binaries(),
        ..Default::default()
    });
    c.put("/registry/secrets/default/canary", CANARY);
    let tls = c.tls().unwrap().clone();
    let cfg = config_for(&c, "secure", "");
    let st = status_of(&cfg);
    assert_eq!(st.verdict, Verdict::Healthy, "{st:#?}");
    assert_eq!(st.members[0].version.as_deref(), Some("3.5.1"));
    assert_eq!(
        st.members[0].quota_bytes,
        Some(2 * 1024 * 1024 * 1024),
        "metrics over mTLS: {:#?}",
        st.members[0]
    );

    // Without a client certificate: refused, and said so.
    let endpoint = c.endpoints()[0].clone();
    let no_cert = c.dir().join("no-cert.toml");
    std::fs::write(&no_cert, format!("[[cluster]]\nname = \"x\"\nendpoints = [\"{endpoint}\"]\nca = \"{}\"\ntimeout_seconds = 2\n", tls.ca.display())).unwrap();
    let cfg2 = Arc::new(clusters::load(&no_cert).unwrap().remove(0));
    let st = status_of(&cfg2);
    assert_eq!(st.verdict, Verdict::NoQuorum);
    let err = st.members[0].error.clone().unwrap_or_default();
    assert!(
        !st.members[0].reachable && err.contains(&endpoint),
        "{st:#?}"
    );

    // With the wrong CA: the server's certificate is not trusted.
    let wrong = c.dir().join("wrong-ca.toml");
    std::fs::write(&wrong, format!("[[cluster]]\nname = \"x\"\nendpoints = [\"{endpoint}\"]\nca = \"{}\"\ncert = \"{}\"\nkey = \"{}\"\ntimeout_seconds = 2\n", tls.wrong_ca.display(), tls.client_cert.display(), tls.client_key.display())).unwrap();
    let cfg3 = Arc::new(clusters::load(&wrong).unwrap().remove(0));
    let st = status_of(&cfg3);
    let err = st.members[0].error.clone().unwrap_or_default();
    assert!(!st.members[0].reachable, "{st:#?}");
    assert!(
        err.to_lowercase().contains("certificate")
            || err.contains("UnknownIssuer")
            || err.contains("invalid peer"),
        "a clear TLS error: {err}"
    );

    // An unencrypted snapshot (no recipients) over mTLS, via the CLI's path; etcdutl agrees.
    let data = tempfile::tempdir().unwrap();
    let catalog = Catalog::open(data.path()).unwrap();
    let jobs = snapshots::Jobs::default();
    let job = jobs.begin(&cfg, "manual", Utc::now()).unwrap();
    assert!(
        jobs.begin(&cfg, "manual", Utc::now()).is_err(),
        "one snapshot at a time per cluster"
    );
    let record = rt()
        .block_on(snapshots::take(
            &cfg,
            data.path(),
            &catalog,
            &job,
            "manual",
            Utc::now,
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!record.encrypted);
    let file = data.path().join(&record.path);
    let oracle = c.snapshot_status(&file);
    assert_eq!(record.revision, oracle["revision"].as_i64().unwrap());
    assert_eq!(record.total_keys, oracle["totalKey"].as_u64().unwrap());
    assert_eq!(record.status_hash as u64, oracle["hash"].as_u64().unwrap());
    assert_eq!(record.etcd_version, "3.5.1");
}

#[test]
fn auth_with_a_short_token_ttl() {
    let c = Cluster::start(ClusterOptions {
        members: 1,
        auth: Some(AuthOptions {
            token_ttl_secs: 3,
            read_only: Some(etcd_lens_testkit::cluster::Login::new(
                "viewer",
                "viewer-pw",
            )),
            ..Default::default()
        }),
        ..Default::default()
    });
    c.put("/registry/secrets/default/canary", CANARY);
    let pw = c.dir().join("root.pw");
    std::fs::write(&pw, format!("{}\n", c.root_password().unwrap())).unwrap();
    let identity = age::x25519::Identity::generate();
    let cfg = config_for(
        &c,
        "guarded",
        &format!(
            "username = \"root\"\npassword_file = \"{}\"\nrecipients = [\"{}\"]\n",
            pw.display(),
            identity.to_public()
        ),
    );
    let r = rt();
    assert_eq!(
        r.block_on(etcd_lens_server::etcd::connect::check_rights(&cfg)),
        Ok(None)
    );
    let data = tempfile::tempdir().unwrap();
    let s = state(data.path(), vec![cfg.clone()]);
    r.block_on(async {
        let (_, v) = json(&s, Method::GET, "/api/v1/clusters/guarded/status").await;
        assert_eq!(v["verdict"], "healthy", "{v}");
        snapshot_through_the_api(&c, &s, "guarded", &identity).await;
        // Past the token's TTL: a fresh answer and a snapshot still work.
        tokio::time::sleep(Duration::from_secs(5)).await;
        let (_, v) = json(&s, Method::GET, "/api/v1/clusters/guarded/status").await;
        // Not `healthy` necessarily: this second answer has a disk p99, and a
        // busy test machine's fsync can be above etcd's 10 ms guidance.
        assert_eq!(
            (
                &v["quorum"]["held"],
                &v["members"][0]["reachable"],
                &v["members"][0]["error"]
            ),
            (
                &serde_json::json!(true),
                &serde_json::json!(true),
                &serde_json::Value::Null
            ),
            "{v}"
        );
        assert!(
            v["verdict"] == "healthy"
                || v["verdict_reason"]
                    .as_str()
                    .unwrap()
                    .ends_with("but: warnings"),
            "{v}"
        );
        assert_eq!(v["age_ms"], 0, "a fresh answer, not the cache: {v}");
        snapshot_through_the_api(&c, &s, "guarded", &identity).await;
    });

    // A non-root user: status works, start-up says snapshots will be refused,
    // and a snapshot fails saying why.
    let vpw = c.dir().join("viewer.pw");
    std::fs::write(&vpw, "viewer-pw").unwrap();
    let viewer = config_for(
        &c,
        "viewer",
        &format!(
            "username = \"viewer\"\npassword_file = \"{}\"\n",
            vpw.display()
        ),
    );
    let note = r
        .block_on(etcd_lens_server::etcd::connect::check_rights(&viewer))
        .unwrap();
    assert!(note.is_some_and(|n| n.contains("root")));
    let catalog = Catalog::open(&data.path().join("viewer-data")).err();
    drop(catalog);
    let vdata = tempfile::tempdir().unwrap();
    let catalog = Catalog::open(vdata.path()).unwrap();
    let jobs = snapshots::Jobs::default();
    let job = jobs.begin(&viewer, "manual", Utc::now()).unwrap();
    let err = r
        .block_on(snapshots::take(
            &viewer,
            vdata.path(),
            &catalog,
            &job,
            "manual",
            Utc::now,
        ))
        .unwrap_err();
    assert!(
        err.message.contains("root") || err.message.contains("permission denied"),
        "{err}"
    );
    assert!(
        files_under(&vdata.path().join("snapshots")).is_empty(),
        "no file after a refused snapshot"
    );
    assert!(catalog.snapshots().unwrap().is_empty());

    // A wrong password: a clear error, not a hang.
    let bad = c.dir().join("bad.pw");
    std::fs::write(&bad, "nope").unwrap();
    let wrong = config_for(
        &c,
        "wrong",
        &format!(
            "username = \"root\"\npassword_file = \"{}\"\n",
            bad.display()
        ),
    );
    let st = status_of(&wrong);
    let err = st.members[0].error.clone().unwrap_or_default();
    assert!(
        err.contains("authentication failed") || err.contains("invalid user"),
        "{err}"
    );
    let _ = age::x25519::Identity::from_str;
}
