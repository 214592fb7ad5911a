//! The runbook's tests: the tool and flags per version, the exact commands
//! for 3.4 and 3.5, refused inputs, and shell quoting.

use super::*;

fn input(members: &str, version: &str) -> RestoreInput {
    RestoreInput {
        members: parse_members(members).unwrap(),
        members_source: MembersSource::Given,
        version: EtcdVersion::parse(version).unwrap(),
        version_source: VersionSource::Given,
        data_dir_pattern: "/var/lib/etcd-{name}".into(),
        initial_cluster_token: "restored-1".into(),
        snapshot_path: "/tmp/snap.db".into(),
        skip_hash_check: false,
        revision: 42,
        kubernetes: false,
        bump_revision: None,
    }
}

#[test]
fn versions_pick_the_tool_and_the_bump_flags() {
    let v = |s| EtcdVersion::parse(s).unwrap();
    assert_eq!(v("3.4").tool(), RestoreTool::Etcdctl);
    assert_eq!(v("v3.5.1").tool(), RestoreTool::Etcdutl);
    assert_eq!(v("3.6").tool(), RestoreTool::Etcdutl);
    assert_eq!(v("3.4.23").bump_revision(), Availability::Unavailable);
    assert_eq!(v("3.4.27").bump_revision(), Availability::Available);
    assert_eq!(v("3.5.9").bump_revision(), Availability::Unavailable);
    assert_eq!(v("3.5.10").bump_revision(), Availability::Available);
    assert_eq!(v("3.5").bump_revision(), Availability::Unknown);
    assert_eq!(v("3.6.0").bump_revision(), Availability::Available);
    for bad in ["", "3", "3.x", "3.5.1.1", "3.5-rc"] {
        assert!(
            matches!(EtcdVersion::parse(bad), Err(RestoreError::Version { .. })),
            "{bad}"
        );
    }
    assert!(matches!(
        EtcdVersion::parse("3.3.27"),
        Err(RestoreError::UnsupportedVersion { .. })
    ));
}

#[test]
fn etcd_34_restores_with_etcdctl_and_api_3() {
    let p = plan(&input(
        "a=http://10.0.0.1:2380,b=http://10.0.0.2:2380,c=http://10.0.0.3:2380",
        "3.4.23",
    ))
    .unwrap();
    assert_eq!(
        p.initial_cluster,
        "a=http://10.0.0.1:2380,b=http://10.0.0.2:2380,c=http://10.0.0.3:2380"
    );
    let r = &p.members[1].restore;
    assert_eq!(
        r.env,
        vec![EnvVar {
            name: "ETCDCTL_API".into(),
            value: "3".into()
        }]
    );
    assert_eq!(
        r.argv,
        [
            "etcdctl",
            "snapshot",
            "restore",
            "/tmp/snap.db",
            "--name=b",
            "--initial-cluster=a=http://10.0.0.1:2380,b=http://10.0.0.2:2380,c=http://10.0.0.3:2380",
            "--initial-cluster-token=restored-1",
            "--initial-advertise-peer-urls=http://10.0.0.2:2380",
            "--data-dir=/var/lib/etcd-b",
        ]
    );
    assert!(
        r.shell
            .starts_with("ETCDCTL_API=3 etcdctl snapshot restore /tmp/snap.db --name=b ")
    );
    assert_eq!(p.bump_revision.availability, Availability::Unavailable);
    assert!(p.bump_revision.note.contains("3.4.23 does not have them"));
    let ids: Vec<StepId> = p.steps.iter().map(|s| s.id).collect();
    assert_eq!(
        ids,
        [
            StepId::StopEtcd,
            StepId::CopySnapshot,
            StepId::MoveDataDirsAside,
            StepId::Restore,
            StepId::StartEtcd,
            StepId::CheckHealth
        ]
    );
}

#[test]
fn etcd_35_uses_etcdutl_and_bump_flags_when_asked() {
    let mut i = input(
        "a=https://e1.example:2380,a=https://10.1.0.1:2380",
        "3.5.10",
    );
    i.bump_revision = Some(1_000_000_000);
    i.skip_hash_check = true;
    i.kubernetes = true;
    let p = plan(&i).unwrap();
    assert_eq!(
        p.initial_cluster,
        "a=https://e1.example:2380,a=https://10.1.0.1:2380"
    );
    let r = &p.members[0].restore;
    assert!(r.env.is_empty());
    assert_eq!(r.argv[0], "etcdutl");
    assert!(r.argv.ends_with(&[
        "--data-dir=/var/lib/etcd-a".to_string(),
        "--skip-hash-check".into(),
        "--bump-revision=1000000000".into(),
        "--mark-compacted".into()
    ]));
    // A host name cannot be bound: 0.0.0.0 with the same port, and a warning.
    assert!(
        p.members[0]
            .start
            .argv
            .contains(&"--listen-peer-urls=https://0.0.0.0:2380,https://10.1.0.1:2380".to_string())
    );
    assert!(
        p.warnings
            .iter()
            .any(|w| w.contains("only on IP addresses"))
    );
    assert!(p.steps.iter().any(|s| s.id == StepId::KeepEncryptionKeys));
    assert_eq!(p.steps.first().map(|s| s.id), Some(StepId::StopApiServers));
    assert_eq!(p.steps.last().map(|s| s.id), Some(StepId::StartApiServers));
    // Too old for the flags: refused, not silently dropped.
    i.version = EtcdVersion::parse("3.5.1").unwrap();
    assert!(matches!(
        plan(&i),
        Err(RestoreError::BumpUnavailable { .. })
    ));
}

#[test]
fn bad_members_and_patterns_are_refused() {
    let err = |members: &str, pattern: &str| {
        let mut i = RestoreInput {
            members: Vec::new(),
            ..input("x=http://127.0.0.1:1", "3.5")
        };
        i.members = match parse_members(members) {
            Ok(m) => m,
            Err(e) => return e,
        };
        i.data_dir_pattern = pattern.into();
        plan(&i).unwrap_err()
    };
    assert_eq!(err("", "/d"), RestoreError::NoMembers);
    assert!(matches!(err("a", "/d"), RestoreError::MemberSyntax { .. }));
    assert!(matches!(
        err("a b=http://h:1", "/d"),
        RestoreError::MemberName { .. }
    ));
    assert!(matches!(
        err("a=ftp://h:1", "/d"),
        RestoreError::PeerUrl { .. }
    ));
    assert!(matches!(
        err("a=http://h:x", "/d"),
        RestoreError::PeerUrl { .. }
    ));
    assert!(matches!(
        err("a=http://h:1,b=http://h:1", "/d-{name}"),
        RestoreError::DuplicatePeerUrl { .. }
    ));
    assert!(matches!(
        err("a=http://h:1,b=http://h:2", "/var/lib/etcd"),
        RestoreError::SharedDataDir { .. }
    ));
    assert!(matches!(
        err("a=http://h:1", "/d-{member}"),
        RestoreError::DataDirPlaceholder { .. }
    ));
    // Different hosts may share one path.
    let mut i = input("a=http://h1:1,b=http://[::1]:2", "3.5");
    i.data_dir_pattern = "/var/lib/etcd".into();
    assert_eq!(plan(&i).unwrap().members[1].data_dir, "/var/lib/etcd");
}

#[test]
fn shell_words_round_trip_through_single_quotes() {
    assert_eq!(shell_word("--name=a"), "--name=a");
    assert_eq!(shell_word("/tmp/my snap.db"), "'/tmp/my snap.db'");
    assert_eq!(shell_word("it's"), r"'it'\''s'");
    assert_eq!(shell_word(""), "''");
}
