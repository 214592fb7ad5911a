//! What the restore runbook reads from the open file: its members, cluster
//! version, revision, trailer and whether it holds Kubernetes objects — read
//! as `etcd-lens restore-plan FILE` reads them (`server/src/cli/restore_plan.rs`),
//! with the core's functions. The runbook itself is computed on the page,
//! from these and what the user types (`components::restore_runbook`).

use etcd_lens_core::ReadAt;
use etcd_lens_core::k8s::DEFAULT_PREFIX;
use etcd_lens_core::mvcc::KeyIndex;
use etcd_lens_core::mvcc::hashkv::StoreRevisions;
use etcd_lens_core::restore;
use etcd_lens_core::snapshot::Snapshot;
use etcd_lens_core::trailer;

use super::Src;
use crate::protocol::{RestoreFacts, RestoreMember};

/// The runbook's facts of a snapshot and its key index.
pub fn restore_facts(snap: &Snapshot<Src>, index: &KeyIndex) -> RestoreFacts {
    let (members, members_error) = match restore::members_from_snapshot(&snap.info.members) {
        Ok(ms) => (
            ms.into_iter()
                .map(|m| RestoreMember {
                    name: m.name,
                    peer_urls: m.peer_urls,
                    client_urls: m.client_urls,
                    learner: m.learner,
                })
                .collect(),
            None,
        ),
        Err(e) => (Vec::new(), Some(e.to_string())),
    };
    RestoreFacts {
        members,
        members_error,
        cluster_version: snap.info.cluster_version.clone(),
        revision: StoreRevisions::of(snap, index).current,
        has_trailer: trailer::has_trailer(snap.db().source().len()),
        kubernetes: index
            .live_with_prefix(DEFAULT_PREFIX.as_bytes())
            .next()
            .is_some(),
    }
}
