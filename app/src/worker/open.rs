//! Opening: the status walk and overview, then the key index and the space counts.

use std::cell::RefCell;

use etcd_lens_core::k8s::{self, DEFAULT_PREFIX};
use etcd_lens_core::mvcc::KeyIndex;
use etcd_lens_core::plan::headroom;
use etcd_lens_core::snapshot::Snapshot;
use etcd_lens_core::{bolt, status};

use super::{Opened, Src, WorkerError};
use crate::protocol::{
    CheckView, FirstStatusView, HistogramBin, IndexView, MemberView, Overview, RoleView, SpaceRow,
    SpaceUsage, StatusView, UserView,
};

/// Open a snapshot and read what needs no walk: the metas, the small
/// buckets and the `key` bucket's rightmost path, a few pages in all. The
/// status numbers that need every page follow from [`walk`].
pub fn open(src: Src) -> Result<Opened, WorkerError> {
    let snap = Snapshot::open(src)?;
    let db = snap.db();
    // A file whose meta bucket does not read: the walk says why.
    let first = status::first_numbers(db).ok().map(|f| FirstStatusView {
        revision: f.revision,
        total_size: f.total_size,
        version: f.version,
        tool: f.follows.tool().into(),
    });
    let info = &snap.info;
    let page_size = u64::from(db.header().page_size);
    let overview = Overview {
        status: None,
        status_error: None,
        status_final: false,
        first,
        consistent_index: info.meta.consistent_index,
        term: info.meta.term,
        compact_scheduled: info.meta.scheduled_compact_rev,
        compact_finished: info.meta.finished_compact_rev,
        storage_version: info.meta.storage_version.clone(),
        cluster_version: info.cluster_version.clone(),
        members: info
            .members
            .iter()
            .map(|m| MemberView {
                id: m.id.clone(),
                name: m.name.clone().unwrap_or_default(),
                peer_urls: m.peer_urls.clone(),
                client_urls: m.client_urls.clone(),
                is_learner: m.is_learner,
            })
            .collect(),
        removed_members: info.removed_members.clone(),
        auth_enabled: info.auth.enabled.unwrap_or(false),
        users: info
            .auth
            .users
            .iter()
            .map(|u| UserView {
                name: u.name.clone(),
                roles: u.roles.clone(),
                password: u.password_masked.clone().unwrap_or_else(|| "(none)".into()),
            })
            .collect(),
        roles: info
            .auth
            .roles
            .iter()
            .map(|r| RoleView {
                name: r.name.clone(),
                permissions: r
                    .permissions
                    .iter()
                    .map(|p| format!("{} {} .. {}", p.perm_type, p.key, p.range_end))
                    .collect(),
            })
            .collect(),
        alarms: info
            .alarms
            .iter()
            .map(|a| format!("{} on member {:x}", a.alarm, a.member_id))
            .collect(),
        leases: info.leases.len() as u64,
        buckets: info.buckets.iter().map(|b| b.name.clone()).collect(),
        page_size,
        db_bytes: db.meta().pgid.0.saturating_mul(page_size),
        warnings: db
            .header()
            .warnings
            .iter()
            .cloned()
            .chain(info.warnings.iter().cloned())
            .collect(),
    };
    Ok(Opened {
        opened_with_age: false,
        encryption: RefCell::new(None),
        snap,
        index: None,
        overview,
        check: None,
        check_report: None,
        list_cache: RefCell::new(None),
        last_audit: RefCell::new(None),
    })
}

/// The walk over every bucket and page: `etcdutl snapshot status` in both
/// tools' conventions and bbolt's consistency check, into the overview.
pub fn walk(o: &mut Opened) {
    let walked = status::status_and_check(o.snap.db());
    apply_walk(o, walked);
}

/// The status walk's results into the overview, however they were walked
/// (once here, or in parts by other workers: the same numbers).
pub fn apply_walk(o: &mut Opened, walked: status::StatusAndCheck) {
    // The file's own convention first (etcdutl 3.6's when it has a storage
    // version), the other tool's count beside it (none when only that tool
    // refuses the file, as 3.6 refuses a negative revision that 3.5 reads).
    let (status, status_error) = match walked.native_first() {
        (Ok(main), other) => (
            Some(StatusView {
                hash: main.hash,
                revision: main.revision,
                total_key: main.total_key,
                tool: walked.follows.tool().into(),
                other_total_key: other.as_ref().ok().map(|o| o.total_key),
                other_tool: walked.follows.other().tool().into(),
                total_size: main.total_size,
                version: main.version.clone(),
            }),
            None,
        ),
        (Err(e), _) => (None, Some(e.to_string())),
    };
    o.overview.status = status;
    o.overview.status_error = status_error;
    o.overview.status_final = true;
    o.check = Some(check_view(&walked.check));
    o.check_report = Some(walked.check);
}

/// Keys listed by name in "most revisions".
const MOST_REVISIONS: usize = 10;

/// Scan the `key` bucket into the index the key list, tree and history use.
pub fn index(o: &mut Opened) -> Result<IndexView, WorkerError> {
    let index = o.snap.key_index()?;
    index_with(o, index)
}

/// The key index built elsewhere (appended from the part walkers' entries)
/// into the open file, with what the page learns from it.
pub fn index_with(o: &mut Opened, index: KeyIndex) -> Result<IndexView, WorkerError> {
    let mut view = index_view(&index);
    let last = index.last.map_or(0, |rk| rk.rev.main);
    let report = o.check_report.as_ref().ok_or(WorkerError::NotWalked)?;
    view.plan_facts = Some(headroom::facts(&o.snap, report, index.entries, last));
    view.restore_facts = Some(super::restore::restore_facts(&o.snap, &index));
    o.index = Some(index);
    Ok(view)
}

pub(crate) fn index_view(index: &KeyIndex) -> IndexView {
    // Bins: 1, 2, 3–4, 5–8, … 65–128, 129+.
    const BINS: usize = 9;
    let mut bins = [0u64; BINS];
    let mut most: Vec<(u64, &[u8])> = Vec::new();
    for (key, h) in index.histories() {
        let n = h.revisions.len() as u64;
        let bin = (64 - (n.max(1) - 1).leading_zeros()) as usize;
        bins[bin.min(BINS - 1)] += 1;
        if n > 1 {
            most.push((n, key));
            if most.len() > 4 * MOST_REVISIONS {
                most.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
                most.truncate(MOST_REVISIONS);
            }
        }
    }
    most.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    most.truncate(MOST_REVISIONS);
    let label = |i: usize| match i {
        0 => "1".to_string(),
        1 => "2".to_string(),
        i if i == BINS - 1 => format!("{}+", (1u64 << (i - 1)) + 1),
        i => format!("{}–{}", (1u64 << (i - 1)) + 1, 1u64 << i),
    };
    IndexView {
        live_keys: index.live_count(),
        keys_with_history: index.key_count() as u64,
        revisions: index.entries,
        revisions_histogram: bins
            .iter()
            .enumerate()
            .map(|(i, &keys)| HistogramBin {
                label: label(i),
                keys,
            })
            .collect(),
        most_revisions: most
            .into_iter()
            .map(|(n, k)| (String::from_utf8_lossy(k).into_owned(), n))
            .collect(),
        plan_facts: None,
        restore_facts: None,
    }
}

/// bbolt's consistency check (done in the status walk) and the page accounting.
fn check_view(report: &bolt::CheckReport) -> CheckView {
    let st = &report.stats;
    CheckView {
        problems: report.problems.clone(),
        warnings: report.warnings.clone(),
        in_use_pages: st.in_use_pages,
        free_pages: st.free_pages,
        unreachable_pages: st.unreachable_pages,
    }
}

/// Bytes per resource and per namespace, live and retained history.
pub fn space(o: &Opened) -> Result<SpaceUsage, WorkerError> {
    let index = o.index()?;
    // From the index: no value is read again.
    let s = k8s::stats::of_index(index, DEFAULT_PREFIX, 20);
    let row = |name: String, u: &k8s::stats::Usage| SpaceRow {
        name,
        objects: u.objects,
        live_bytes: u.live_value_bytes,
        history_bytes: u.history_value_bytes,
    };
    Ok(SpaceUsage {
        resources: s
            .resources
            .iter()
            .map(|r| row(r.resource.clone(), &r.usage))
            .collect(),
        namespaces: s
            .namespaces
            .iter()
            .map(|n| {
                row(
                    n.namespace
                        .clone()
                        .unwrap_or_else(|| k8s::stats::NO_NAMESPACE.into()),
                    &n.usage,
                )
            })
            .collect(),
        undecodable_entries: s.undecodable.entries,
        undecodable_bytes: s.undecodable.bytes,
    })
}
