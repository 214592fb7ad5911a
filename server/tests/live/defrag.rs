//! Defragmentation on a real 3-member cluster: followers first, leader last,
//! NOSPACE recovery, and refusal while a member is down.

use std::time::{Duration, Instant};

use etcd_lens_server::config::ClusterConfig;
use etcd_lens_testkit::cluster::{Cluster, ClusterOptions};

use crate::{config_for, rt, status_of};

/// Defragmentation on a real 3-member cluster: fragmentation made by writes,
/// deletes and a compaction; the dry run and the run visit the followers
/// first and the leader last and give space back; a NOSPACE raised with a
/// small quota is recovered; a member down stops the run before it starts.
#[test]
fn defrag_leader_last_nospace_recovery_and_refusal() {
    use etcd_lens_server::ops::defrag::{self, Action, Rule};
    let c = Cluster::start(ClusterOptions {
        members: 3,
        quota_backend_bytes: Some(16 * 1024 * 1024),
        ..Default::default()
    });
    let cfg = config_for(&c, "frag", "");
    let endpoint = c.endpoints()[0].clone();
    let r = rt();
    let put_values = |prefix: &'static str, n: usize, bytes: usize| {
        let endpoint = endpoint.clone();
        r.block_on(async move {
            let client = etcd_client::Client::connect([endpoint.as_str()], None)
                .await
                .unwrap();
            let mut out = Vec::new();
            for i in 0..n {
                let mut kv = client.kv_client();
                out.push(
                    kv.put(format!("{prefix}{i:04}"), vec![b'f'; bytes], None)
                        .await
                        .map(|_| ()),
                );
            }
            out
        })
    };
    assert!(
        put_values("/frag/", 24, 256 * 1024)
            .iter()
            .all(Result::is_ok)
    );
    c.ctl(&["del", "--prefix", "/frag/"]);
    c.compact(c.revision());
    // bbolt counts pages freed by a transaction as free only once a later
    // write transaction commits: a few small writes release the compaction's pages.
    for i in 0..3 {
        c.put(&format!("/nudge/{i}"), "x");
        std::thread::sleep(Duration::from_millis(150));
    }
    let rule = Rule::Custom {
        min_reclaimable_bytes: 1024 * 1024,
        quota_ratio: 0.95,
    };
    // A busy test machine: wait until every member answers before judging the run.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let st = status_of(&cfg);
        // …and has applied the compaction (followers apply it a moment after the leader).
        let applied = st.members.iter().all(|m| {
            m.db_size_bytes.unwrap_or(0) - m.db_size_in_use_bytes.unwrap_or(0) > 1024 * 1024
        });
        if st.quorum.held && st.members.iter().all(|m| m.reachable) && applied {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not ready for the defrag: {st:#?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let leader = st_leader_name(&cfg);

    let plan = r.block_on(defrag::run(&cfg, rule, true, Duration::ZERO));
    assert!(plan.stopped.is_none(), "{plan:#?}");
    assert_eq!(plan.members.len(), 3);
    assert!(
        plan.members
            .iter()
            .all(|m| m.action == Action::WouldDefragment),
        "{plan:#?}"
    );
    assert_eq!(plan.members.last().unwrap().name, leader, "the leader last");
    assert!(
        plan.members.iter().all(|m| m.after_bytes.is_none()),
        "a dry run touches nothing"
    );

    let done = r.block_on(defrag::run(&cfg, rule, false, Duration::from_millis(100)));
    assert!(done.stopped.is_none(), "{done:#?}");
    assert_eq!(done.members.last().unwrap().name, leader);
    assert!(done.members[..2].iter().all(|m| !m.is_leader));
    for m in &done.members {
        assert_eq!(m.action, Action::Defragmented, "{m:#?}");
        let after = m.after_bytes.unwrap();
        assert!(
            after < m.before_bytes - 1024 * 1024,
            "{} gave back space: {} → {after}",
            m.name,
            m.before_bytes
        );
        assert_eq!(m.reclaimed_bytes, Some(m.before_bytes - after));
    }
    // A second run finds nothing worth doing.
    let again = r.block_on(defrag::run(&cfg, rule, false, Duration::ZERO));
    assert!(
        again.members.iter().all(|m| m.action == Action::Skipped),
        "{again:#?}"
    );

    // NOSPACE: fill the 16 MiB quota, then the guided recovery.
    let results = put_values("/fill/", 80, 512 * 1024);
    assert!(
        results.iter().any(Result::is_err),
        "the quota was never exceeded"
    );
    let st = status_of(&cfg);
    assert!(st.alarms.iter().any(|a| a.alarm == "NOSPACE"), "{st:#?}");
    c.ctl(&["del", "--prefix", "/fill/"]);
    let rec = r.block_on(defrag::recover_nospace(&cfg, Duration::from_millis(100)));
    assert!(rec.stopped.is_none(), "{rec:#?}");
    assert!(rec.compacted_to.is_some());
    assert_eq!(rec.alarms_after, Some(vec![]), "{rec:#?}");
    assert!(rec.members.iter().all(|m| m.action == Action::Defragmented));
    c.put("/after/recovery", "writes work again");

    // A member down: nothing is touched.
    let follower = (0..3).find(|&i| c.member(i).name != leader).unwrap();
    c.stop(follower);
    let refused = r.block_on(defrag::run(&cfg, Rule::ALWAYS, false, Duration::ZERO));
    let why = refused.stopped.as_deref().unwrap_or_default();
    assert!(
        why.contains(&c.member(follower).name) && why.contains("not defragmenting"),
        "{refused:#?}"
    );
    assert!(
        refused.members.iter().all(|m| m.action == Action::Skipped),
        "{refused:#?}"
    );
}

fn st_leader_name(cfg: &ClusterConfig) -> String {
    status_of(cfg)
        .members
        .into_iter()
        .find(|m| m.is_leader)
        .expect("a leader")
        .name
}
