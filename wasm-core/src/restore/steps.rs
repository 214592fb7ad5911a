//! The runbook's steps in order: stopping the API servers and etcd, copying
//! the snapshot, the per-member restore, starting and checking, with the
//! exact commands per member and example lines for kubeadm and systemd hosts.

use super::command::{CommandLine, shell_word};
use super::runbook::{BumpAdvice, MemberCommand, MemberPlan, RestoreInput, Step, StepId};
use super::version::RestoreTool;

fn per_member(
    plans: &[MemberPlan],
    pick: impl Fn(&MemberPlan) -> &CommandLine,
) -> Vec<MemberCommand> {
    plans
        .iter()
        .map(|p| MemberCommand {
            member: p.name.clone(),
            command: pick(p).clone(),
        })
        .collect()
}

pub(super) fn steps(
    input: &RestoreInput,
    tool: RestoreTool,
    plans: &[MemberPlan],
    bump: &BumpAdvice,
) -> Vec<Step> {
    let k8s = input.kubernetes;
    let path = shell_word(&input.snapshot_path);
    let mut out = Vec::new();
    if k8s {
        out.push(Step {
            id: StepId::StopApiServers,
            title: "Stop the Kubernetes API servers".into(),
            detail: "On every control-plane node, so nothing writes to etcd while it is replaced. \
                     kubeadm runs them as static pods: move the manifest out of the manifests \
                     folder and the kubelet stops the pod."
                .into(),
            commands: Vec::new(),
            examples: vec![
                "mv /etc/kubernetes/manifests/kube-apiserver.yaml /etc/kubernetes/kube-apiserver.yaml.restore".into(),
                "crictl ps --name kube-apiserver   # wait until it lists nothing".into(),
                "systemctl stop kube-apiserver     # not kubeadm: a systemd unit".into(),
            ],
        });
    }
    out.push(Step {
        id: StepId::StopEtcd,
        title: "Stop etcd on every member".into(),
        detail:
            "All members, before any is restored: a restored member must not join the old cluster."
                .into(),
        commands: Vec::new(),
        examples: vec![
            "mv /etc/kubernetes/manifests/etcd.yaml /etc/kubernetes/etcd.yaml.restore   # kubeadm"
                .into(),
            "systemctl stop etcd   # systemd".into(),
        ],
    });
    let mut copy_detail =
        "The same file on every member: members restored from different snapshots \
                           diverge. Check its SHA-256 on each host."
            .to_string();
    if input.skip_hash_check {
        copy_detail += " This file has no SHA-256 trailer (a db file copied from a data dir), so the \
                        restore commands carry --skip-hash-check.";
    }
    out.push(Step {
        id: StepId::CopySnapshot,
        title: format!("Copy the snapshot to {path} on every member"),
        detail: copy_detail,
        commands: Vec::new(),
        examples: vec![
            format!("scp SNAPSHOT_FILE HOST:{path}"),
            format!("sha256sum {path}   # the same on every member"),
        ],
    });
    out.push(Step {
        id: StepId::MoveDataDirsAside,
        title: "Move each member's data dir aside".into(),
        detail:
            "The restore refuses to write into an existing data dir; keep the old one until the \
                 restored cluster is healthy."
                .into(),
        commands: per_member(plans, |p| &p.move_aside),
        examples: Vec::new(),
    });
    out.push(Step {
        id: StepId::Restore,
        title: format!("Restore on every member ({})", tool.program()),
        detail: format!(
            "Each member runs its own command; all name the same file, --initial-cluster and token. \
             The snapshot is at revision {}.",
            input.revision
        ),
        commands: per_member(plans, |p| &p.restore),
        examples: Vec::new(),
    });
    let mut start_examples = Vec::new();
    if k8s {
        start_examples.push(
            "kubeadm: set --data-dir, --initial-cluster and --initial-cluster-token in /etc/kubernetes/etcd.yaml.restore \
             (and the etcd-data hostPath to the data dir), then move it back to /etc/kubernetes/manifests/etcd.yaml"
                .to_string(),
        );
    }
    start_examples.push(
        "systemctl start etcd   # with the flags above in the unit or its environment file".into(),
    );
    out.push(Step {
        id: StepId::StartEtcd,
        title: "Start etcd on every member".into(),
        detail: "With the same name, data dir, peer URLs, --initial-cluster and token as the restore; add \
                 the member's client URL, TLS and tuning flags as before. Start them all: none is healthy \
                 without a quorum."
            .into(),
        commands: per_member(plans, |p| &p.start),
        examples: start_examples,
    });
    let clients: Vec<&str> = input
        .members
        .iter()
        .flat_map(|m| m.client_urls.iter().map(String::as_str))
        .collect();
    let endpoints = if clients.is_empty() {
        "CLIENT_URL_1,CLIENT_URL_2,…".to_string()
    } else {
        clients.join(",")
    };
    let ctl = match tool {
        RestoreTool::Etcdctl => "ETCDCTL_API=3 etcdctl",
        RestoreTool::Etcdutl => "etcdctl",
    };
    out.push(Step {
        id: StepId::CheckHealth,
        title: "Check health".into(),
        detail: format!(
            "Every member healthy, one leader, the same revision everywhere: {} (more if leases \
             expired at boot and their keys were deleted).",
            input.revision
        ),
        commands: Vec::new(),
        examples: vec![
            format!("{ctl} --endpoints={endpoints} endpoint health"),
            format!("{ctl} --endpoints={endpoints} endpoint status -w table"),
        ],
    });
    if k8s {
        out.push(Step {
            id: StepId::KeepEncryptionKeys,
            title: "Keep the EncryptionConfiguration's keys".into(),
            detail: "The API servers' --encryption-provider-config must still hold every key that was in \
                     use when this snapshot was taken; Secrets encrypted with a key that is gone cannot be \
                     read after the restore."
                .into(),
            commands: Vec::new(),
            examples: Vec::new(),
        });
        let mut detail = "Move the manifests back (kubeadm) or start the units.".to_string();
        if bump.included.is_none() {
            detail += " Then restart kube-controller-manager, kube-scheduler and the kubelets so their \
                       watches re-list instead of trusting revisions from before the restore.";
        }
        out.push(Step {
            id: StepId::StartApiServers,
            title: "Start the API servers".into(),
            detail,
            commands: Vec::new(),
            examples: vec![
                "mv /etc/kubernetes/kube-apiserver.yaml.restore /etc/kubernetes/manifests/kube-apiserver.yaml".into(),
                "systemctl start kube-apiserver   # not kubeadm".into(),
            ],
        });
    }
    out
}
