use serde_json::json;

use super::export::{Candidate, ExportOptions, Skip, build, commands};
use super::*;

fn none() -> ExportedUids {
    ExportedUids::new()
}

#[test]
fn server_fields_and_status_are_dropped_spec_kept() {
    let obj = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "uid": "u1", "resourceVersion": "5",
            "creationTimestamp": "2026-01-01T00:00:00Z", "generation": 3, "selfLink": "/x",
            "managedFields": [{"manager": "kubectl"}],
            "labels": {"app": "web"},
            "annotations": {LAST_APPLIED: "{}", "keep": "me"}},
        "spec": {"replicas": 2},
        "status": {"readyReplicas": 2}
    });
    let p = prepare(&obj, &none(), &ApplyOptions::default()).unwrap();
    assert_eq!(
        p.object,
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}, "annotations": {"keep": "me"}},
            "spec": {"replicas": 2}})
    );
    let kept = prepare(
        &obj,
        &none(),
        &ApplyOptions {
            keep_last_applied: true,
            ..ApplyOptions::default()
        },
    )
    .unwrap();
    assert_eq!(kept.object["metadata"]["annotations"][LAST_APPLIED], "{}");
}

#[test]
fn owner_references_to_absent_owners_are_dropped_with_a_note() {
    let obj = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "c", "ownerReferences": [
            {"kind": "Foo", "name": "gone", "uid": "u-gone"},
            {"kind": "Bar", "name": "here", "uid": "u-here"}]}});
    let exported: ExportedUids = ["u-here".to_string()].into();
    let p = prepare(&obj, &exported, &ApplyOptions::default()).unwrap();
    assert_eq!(
        p.object["metadata"]["ownerReferences"],
        json!([{"kind": "Bar", "name": "here", "uid": "u-here"}])
    );
    assert!(matches!(&p.notes[0], Note::OwnerDropped { uid, .. } if uid == "u-gone"));
    assert!(matches!(&p.notes[1], Note::OwnerKept { name, .. } if name == "here"));
    let p = prepare(&obj, &none(), &ApplyOptions::default()).unwrap();
    assert!(p.object["metadata"].get("ownerReferences").is_none());
}

#[test]
fn assigned_fields_have_defaults_and_flags() {
    let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
        "spec": {"clusterIP": "10.0.0.5", "clusterIPs": ["10.0.0.5"], "type": "NodePort",
            "ports": [{"port": 80, "nodePort": 30080}]}});
    let p = prepare(&svc, &none(), &ApplyOptions::default()).unwrap();
    assert_eq!(
        p.object["spec"],
        json!({"type": "NodePort", "ports": [{"port": 80}]})
    );
    let keep = ApplyOptions {
        keep_cluster_ip: true,
        keep_node_ports: true,
        ..ApplyOptions::default()
    };
    assert_eq!(prepare(&svc, &none(), &keep).unwrap().object, svc);
    let headless = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "h"}, "spec": {"clusterIP": "None"}});
    assert_eq!(
        prepare(&headless, &none(), &ApplyOptions::default())
            .unwrap()
            .object,
        headless
    );

    let pv = json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "pv"},
        "spec": {"claimRef": {"kind": "PersistentVolumeClaim", "namespace": "n", "name": "c", "uid": "u", "resourceVersion": "9"}}});
    let p = prepare(&pv, &none(), &ApplyOptions::default()).unwrap();
    assert_eq!(
        p.object["spec"]["claimRef"],
        json!({"kind": "PersistentVolumeClaim", "namespace": "n", "name": "c"})
    );

    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"nodeName": "n1", "containers": []}});
    assert_eq!(
        prepare(&pod, &none(), &ApplyOptions::default())
            .unwrap()
            .object["spec"],
        json!({"containers": []})
    );

    let job = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
        "spec": {"selector": {"matchLabels": {"controller-uid": "u"}},
            "template": {"metadata": {"labels": {"controller-uid": "u", "batch.kubernetes.io/controller-uid": "u", "job-name": "j"}}}}});
    let p = prepare(&job, &none(), &ApplyOptions::default()).unwrap();
    assert_eq!(
        p.object["spec"],
        json!({"template": {"metadata": {"labels": {"job-name": "j"}}}})
    );
}

#[test]
fn the_removed_cluster_name_goes_from_every_metadata() {
    let job = json!({"apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "pi", "clusterName": ""},
        "spec": {"manualSelector": true, "template": {"metadata": {"clusterName": "", "labels": {"a": "b"}}}}});
    let p = prepare(&job, &none(), &ApplyOptions::default()).unwrap();
    assert_eq!(
        p.object,
        json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pi"},
            "spec": {"manualSelector": true, "template": {"metadata": {"labels": {"a": "b"}}}}})
    );
}

#[test]
fn secrets_need_the_explicit_flag() {
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"k": "dg=="}});
    assert_eq!(
        prepare(&secret, &none(), &ApplyOptions::default()),
        Err(ApplyError::SecretData)
    );
    let with = ApplyOptions {
        include_secret_data: true,
        ..ApplyOptions::default()
    };
    assert_eq!(
        prepare(&secret, &none(), &with).unwrap().object["data"]["k"],
        "dg=="
    );
}

fn cand(key: &str, o: serde_json::Value) -> Candidate {
    Candidate {
        key: key.as_bytes().to_vec(),
        object: Ok(o),
    }
}

#[test]
fn export_splits_namespaces_and_crds_first_and_skips_what_the_cluster_recreates() {
    let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "foos.example.com", "uid": "crd"}});
    let ns =
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "app", "uid": "ns"}});
    let deploy = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "app", "uid": "d1"}, "spec": {}});
    let rs = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web-1", "namespace": "app", "uid": "r1",
        "ownerReferences": [{"kind": "Deployment", "name": "web", "uid": "d1", "controller": true}]}});
    let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "app", "uid": "s1"}, "spec": {"selector": {"app": "web"}}});
    let ep = json!({"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "web", "namespace": "app", "uid": "e1"}});
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "app", "uid": "c1"}});
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "pw", "namespace": "app", "uid": "x1"}, "data": {}});
    let foo = json!({"apiVersion": "example.com/v1", "kind": "Foo", "metadata": {"name": "f", "namespace": "app", "uid": "f1"}});
    let candidates = vec![
        cand(
            "/registry/apiextensions.k8s.io/customresourcedefinitions/foos.example.com",
            crd,
        ),
        cand("/registry/configmaps/app/cfg", cm),
        cand("/registry/deployments/app/web", deploy),
        cand("/registry/example.com/foos/app/f", foo),
        cand("/registry/namespaces/app", ns),
        cand("/registry/replicasets/app/web-1", rs),
        cand("/registry/secrets/app/pw", secret),
        cand("/registry/services/endpoints/app/web", ep),
        cand("/registry/services/specs/app/web", svc),
        Candidate {
            key: b"/registry/secrets/app/enc".to_vec(),
            object: Err("encrypted".into()),
        },
    ];
    let e = build(candidates, "/registry/", &ExportOptions::default());
    let kinds = |v: &[super::export::Exported]| -> Vec<String> {
        v.iter()
            .map(|e| e.object["kind"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(kinds(&e.first), ["Namespace", "CustomResourceDefinition"]);
    assert_eq!(
        kinds(&e.second),
        ["ConfigMap", "Service", "Deployment", "Foo"]
    );
    assert_eq!(e.crds, ["foos.example.com"]);
    let skipped: Vec<(String, &Skip)> = e
        .skipped
        .iter()
        .map(|s| (String::from_utf8_lossy(&s.key).into_owned(), &s.skip))
        .collect();
    assert_eq!(skipped.len(), 4, "{skipped:?}");
    assert!(matches!(skipped[0].1, Skip::Undecodable { .. }));
    assert!(
        skipped
            .iter()
            .any(|(k, s)| k.ends_with("endpoints/app/web")
                && matches!(s, Skip::ClusterManaged { .. }))
    );
    assert!(skipped.iter().any(
        |(k, s)| k.ends_with("web-1") && matches!(s, Skip::Owned { name, .. } if name == "web")
    ));
    assert!(skipped.iter().any(|(k, s)| k.ends_with("pw")
        && matches!(
            s,
            Skip::Refused {
                error: ApplyError::SecretData
            }
        )));
    assert_eq!(
        commands(&e, "a.yaml", "b.yaml"),
        [
            "kubectl apply -f a.yaml",
            "kubectl wait --for condition=established --timeout=60s crd/foos.example.com",
            "kubectl apply -f b.yaml"
        ]
    );
}
