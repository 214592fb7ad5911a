//! The restore runbook: prefilled from the file's facts, the core's plan on
//! every edit, the core's error at the field it is about (and no runbook
//! then), and Copy saying what happened.

use etcd_lens_app::components::restore_runbook::RestoreRunbook;
use etcd_lens_app::protocol::{FromWorker, IndexView, RestoreFacts, RestoreMember};
use etcd_lens_core::restore::{self, EtcdVersion, MembersSource, RestoreInput, VersionSource};
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::Element;

use crate::{attr, by_id, by_id_opt, click, mount, opened, settle, sleep_ms, text, type_into};

fn facts() -> RestoreFacts {
    let m = |name: &str, port: u16| RestoreMember {
        name: name.into(),
        peer_urls: vec![format!("http://127.0.0.1:{port}")],
        client_urls: vec![format!("http://127.0.0.1:{}", port - 1)],
        learner: false,
    };
    RestoreFacts {
        members: vec![m("m1", 12380), m("m2", 22380), m("m3", 32380)],
        members_error: None,
        cluster_version: Some("3.5.0".into()),
        revision: 7,
        has_trailer: true,
        kubernetes: false,
    }
}

fn indexed(facts: RestoreFacts) -> FromWorker {
    FromWorker::Indexed {
        index: Box::new(IndexView {
            live_keys: 1,
            keys_with_history: 1,
            revisions: 7,
            revisions_histogram: Vec::new(),
            most_revisions: Vec::new(),
            plan_facts: None,
            restore_facts: Some(facts),
        }),
    }
}

fn value(root: &Element, id: &str) -> String {
    js_sys::Reflect::get(&by_id(root, id), &"value".into())
        .unwrap()
        .as_string()
        .unwrap_or_default()
}

/// The printed command lines of one step, by member.
fn commands(root: &Element, step: &str) -> Vec<(String, String)> {
    let list = root
        .query_selector_all(&format!("[data-testid=runbook-command][data-step={step}]"))
        .unwrap();
    (0..list.length())
        .filter_map(|i| list.item(i))
        .map(|n| {
            let el: Element = n.unchecked_into();
            let shell = el
                .query_selector("[data-testid=runbook-shell]")
                .unwrap()
                .unwrap()
                .text_content()
                .unwrap_or_default();
            (attr(&el, "data-member"), shell)
        })
        .collect()
}

#[wasm_bindgen_test]
async fn runbook_is_prefilled_follows_edits_and_shows_the_cores_errors() {
    let state = RwSignal::new(opened());
    let m = mount(move || view! { <RestoreRunbook state /> });
    let root: &Element = &m.root;
    settle().await;
    // Before the index: it says what it waits for.
    assert!(by_id_opt(root, "runbook-pending").is_some());
    state.update(|s| s.apply(indexed(facts())));
    settle().await;
    assert!(by_id_opt(root, "runbook-pending").is_none());
    assert_eq!(
        value(root, "runbook-members"),
        "m1=http://127.0.0.1:12380,m2=http://127.0.0.1:22380,m3=http://127.0.0.1:32380"
    );
    assert_eq!(value(root, "runbook-version"), "3.5");
    assert!(text(root, "runbook-version-source").contains("cluster/clusterVersion 3.5.0"));
    assert!(text(root, "runbook-members-source").contains("members bucket (3 members)"));
    assert_eq!(value(root, "runbook-token"), "etcd-restore-r7");
    // Three members on one host with /var/lib/etcd: the core's refusal, at the data dir.
    let dd = text(root, "runbook-data-dir-error");
    assert!(dd.contains("put {name} in the data-dir pattern"), "{dd}");
    assert_eq!(
        attr(&by_id(root, "runbook-data-dir"), "aria-invalid"),
        "true"
    );
    assert!(by_id_opt(root, "runbook-plan").is_none());
    assert!(by_id_opt(root, "runbook-invalid").is_some());

    type_into(&by_id(root, "runbook-data-dir"), "/tmp/restored/{name}");
    settle().await;
    assert!(by_id_opt(root, "runbook-data-dir-error").is_none());
    assert!(by_id_opt(root, "runbook-invalid").is_none());
    let typed = "a=http://127.0.0.1:41380,b=http://127.0.0.1:42380,c=http://127.0.0.1:43380";
    type_into(&by_id(root, "runbook-members"), typed);
    settle().await;
    assert!(text(root, "runbook-members-source").starts_with("As typed"));
    let expected = restore::plan(&RestoreInput {
        members: restore::parse_members(typed).unwrap(),
        members_source: MembersSource::Given,
        version: EtcdVersion::parse("3.5").unwrap(),
        version_source: VersionSource::ClusterVersion,
        data_dir_pattern: "/tmp/restored/{name}".into(),
        initial_cluster_token: "etcd-restore-r7".into(),
        snapshot_path: "/var/tmp/snap.db".into(),
        skip_hash_check: false,
        revision: 7,
        kubernetes: false,
        bump_revision: None,
    })
    .unwrap();
    let want = |pick: fn(&restore::MemberPlan) -> &restore::CommandLine| {
        expected
            .members
            .iter()
            .map(|p| (p.name.clone(), pick(p).shell.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(commands(root, "restore"), want(|p| &p.restore));
    assert_eq!(commands(root, "start_etcd"), want(|p| &p.start));
    assert_eq!(
        commands(root, "move_data_dirs_aside"),
        want(|p| &p.move_aside)
    );
    let steps = root
        .query_selector_all("[data-testid=runbook-step]")
        .unwrap();
    let ids: Vec<String> = (0..steps.length())
        .filter_map(|i| steps.item(i))
        .map(|n| attr(n.unchecked_ref(), "data-step"))
        .collect();
    assert_eq!(
        ids,
        [
            "stop_etcd",
            "copy_snapshot",
            "move_data_dirs_aside",
            "restore",
            "start_etcd",
            "check_health"
        ]
    );

    // --bump-revision on a version without it: the core's message at the field.
    type_into(&by_id(root, "runbook-version"), "3.5.1");
    settle().await;
    assert!(text(root, "runbook-bump-note").contains("etcd 3.5.1 does not have them"));
    type_into(&by_id(root, "runbook-bump-revision"), "1000");
    settle().await;
    assert_eq!(
        text(root, "runbook-bump-revision-error"),
        "--bump-revision needs etcdctl 3.4.27+ / etcdutl 3.5.10+; etcd 3.5.1 does not have it"
    );
    type_into(&by_id(root, "runbook-version"), "3.5.10");
    settle().await;
    assert!(
        commands(root, "restore")
            .iter()
            .all(|(_, c)| c.ends_with("--bump-revision=1000 --mark-compacted"))
    );

    // A wrong member: the core's text next to the field, and no runbook.
    type_into(
        &by_id(root, "runbook-members"),
        "a=http://127.0.0.1:41380,b",
    );
    settle().await;
    assert_eq!(
        text(root, "runbook-members-error"),
        "\"b\" is not name=peer-url"
    );
    assert!(by_id_opt(root, "runbook-plan").is_none());
    assert!(commands(root, "restore").is_empty());
}

#[wasm_bindgen_test]
async fn copy_says_what_happened() {
    let state = RwSignal::new(opened());
    let mut f = facts();
    f.members.truncate(1);
    state.update(|s| s.apply(indexed(f)));
    let m = mount(move || view! { <RestoreRunbook state /> });
    let root: &Element = &m.root;
    settle().await;
    assert_eq!(text(root, "runbook-copy-all"), "Copy all as a shell script");
    click(&by_id(root, "runbook-copy-all"));
    // The browser answers the clipboard request asynchronously: copied, or
    // refused (a test page is not focused) with its reason.
    let mut state_now = String::new();
    for _ in 0..50 {
        settle().await;
        state_now = attr(&by_id(root, "runbook-copy-all-status"), "data-state");
        if !state_now.is_empty() {
            break;
        }
        sleep_ms(20).await;
    }
    let said = text(root, "runbook-copy-all-status");
    match state_now.as_str() {
        "copied" => assert_eq!(said, "Copied"),
        "failed" => assert!(said.starts_with("Could not copy: "), "{said}"),
        other => panic!("no answer from the clipboard: {other:?} {said:?}"),
    }
    // Only the button pressed says so.
    let restore = root
        .query_selector(
            "[data-testid=runbook-command][data-step=restore] [data-testid=runbook-copy-status]",
        )
        .unwrap()
        .unwrap();
    assert_eq!(restore.text_content().unwrap_or_default(), "");
    let button = root
        .query_selector(
            "[data-testid=runbook-command][data-step=restore] [data-testid=runbook-copy]",
        )
        .unwrap()
        .unwrap();
    assert_eq!(attr(&button, "aria-label"), "Copy m1's restore command");
}
