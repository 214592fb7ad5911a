//! Headroom from an open snapshot: size against the quota, what a defrag
//! would reclaim, the compaction backlog, and how long a restore and a
//! transfer would take.
//!
//! Two steps, so the rules stay pure arithmetic: [`measure`] reads the facts
//! from a snapshot (one bounded walk over every page: bbolt's consistency
//! check, which also finds the free and unreachable pages, and the last
//! revision of the `key` bucket); [`headroom`] turns facts and inputs into
//! numbers and warnings.
//!
//! Definitions, matching etcd's:
//! - `db_size_bytes`: the high-water page id × page size, `etcdctl snapshot
//!   status`'s `totalSize` and the member's `dbSize` (etcd's backend reports
//!   the transaction's size, not the file's);
//! - `db_size_in_use_bytes`: pages reachable from the meta (etcd's
//!   `dbSizeInUse` is the size minus free pages; a snapshot's freelist is not
//!   persisted, so free pages are the unreachable ones);
//! - `reclaimable_bytes`: free + unreachable pages × page size, what a defrag
//!   would give back if it copied the reachable pages as they are (it repacks
//!   them at bbolt's fill rate, so the real gain differs a little: see the CLI test);
//! - `revisions_retained`: current revision − compacted revision; the current
//!   revision is the last `key`-bucket entry's, or the compaction's when that
//!   removed the newest tombstones (etcd restores `currentRev` the same way).
//!
//! Restore model: `etcdutl snapshot restore` reads the snapshot and writes the
//! database once into the new data directory, so its time is taken as
//! `db_size / disk throughput`; the default 100 MB/s is the hardware guide's
//! suggested disk bandwidth for large clusters. The guide's recovery figures
//! (10 MB/s recovers 100 MB within 15 s; 100 MB/s recovers 1 GB) are a lagging
//! member catching up — transfer, not restore — so the transfer time at the
//! network bandwidth (default 125 MB/s, the 1 GbE the guide calls sufficient
//! for common deployments) is given beside it. Both are estimates: measure a
//! restore on your own disk and enter its throughput.

use std::ops::ControlFlow;

use serde::{Deserialize, Serialize};

use super::rules;
use super::warning::{Code, Warning};
use crate::ReadAt;
use crate::bolt::{CheckReport, check_with};
use crate::mvcc::revision::Revision;
use crate::snapshot::Snapshot;

/// 100 MB/s: the hardware guide's suggested disk bandwidth for large clusters.
pub const DEFAULT_DISK_BYTES_PER_SECOND: f64 = 100e6;
/// 1 GbE (125 MB/s): the hardware guide's "sufficient for common etcd deployments".
pub const DEFAULT_NETWORK_BYTES_PER_SECOND: f64 = 125e6;

pub const RESTORE_MODEL: &str = "restore seconds = db_size_bytes / disk throughput (etcdutl snapshot restore writes the database once); transfer seconds = db_size_bytes / network bandwidth (the hardware guide's 100 MB in 15 s at 10 MB/s and 1 GB at 100 MB/s are catch-up transfers, not restores); defaults 100 MB/s disk (the guide's figure for large clusters) and 125 MB/s network (1 GbE): measure your own restore and enter its throughput";

/// What a snapshot says about space and history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotFacts {
    pub page_size: u64,
    pub db_size_bytes: u64,
    pub in_use_pages: u64,
    pub free_pages: u64,
    pub unreachable_pages: u64,
    /// Entries of the `key` bucket: stored revisions, tombstones included.
    pub key_revisions: u64,
    pub current_revision: i64,
    pub compacted_revision: i64,
    /// Problems bbolt's consistency check found (0 for a sound file).
    pub check_problems: usize,
    /// Active alarms stored in the snapshot (`nospace`, `corrupt`).
    pub alarms: Vec<String>,
    pub cluster_version: Option<String>,
    pub storage_version: Option<String>,
}

/// Read the facts: one walk over every page (bounded like every walk: a
/// visited set and a depth limit).
pub fn measure<S: ReadAt>(snap: &Snapshot<S>) -> SnapshotFacts {
    let db = snap.db();
    let mut last_key: Option<Vec<u8>> = None;
    let mut key_revisions = 0u64;
    let mut in_key = false;
    let report = check_with(db, &mut |e| {
        match e.path.len() {
            0 => in_key = e.key == b"key",
            1 if in_key => {
                key_revisions += 1;
                last_key = Some(e.key.to_vec());
            }
            _ => {}
        }
        ControlFlow::Continue(())
    });
    let last = last_key
        .and_then(|k| Revision::parse(&k).ok())
        .map_or(0, |r| r.main);
    facts(snap, &report, key_revisions, last)
}

/// The facts from a consistency check already made (the page's status walk
/// is one) and the `key` bucket's entry count and last revision (its index
/// pass has both): no second walk.
pub fn facts<S: ReadAt>(
    snap: &Snapshot<S>,
    report: &CheckReport,
    key_revisions: u64,
    last_revision: i64,
) -> SnapshotFacts {
    let compacted = snap.compacted_revision();
    let s = &report.stats;
    SnapshotFacts {
        page_size: s.page_size,
        db_size_bytes: s.high_water.saturating_mul(s.page_size),
        in_use_pages: s.in_use_pages,
        free_pages: s.free_pages,
        unreachable_pages: s.unreachable_pages,
        key_revisions,
        current_revision: last_revision.max(compacted),
        compacted_revision: compacted,
        check_problems: report.problems.len(),
        alarms: snap
            .info
            .alarms
            .iter()
            .filter(|a| a.alarm != "none")
            .map(|a| format!("{} on member {:x}", a.alarm, a.member_id))
            .collect(),
        cluster_version: snap.info.cluster_version.clone(),
        storage_version: snap.info.meta.storage_version.clone(),
    }
}

/// The inputs beside the snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct HeadroomInputs {
    pub quota_bytes: u64,
    pub disk_bytes_per_second: f64,
    pub network_bytes_per_second: f64,
}

impl Default for HeadroomInputs {
    fn default() -> Self {
        Self {
            quota_bytes: rules::DEFAULT_QUOTA_BYTES,
            disk_bytes_per_second: DEFAULT_DISK_BYTES_PER_SECOND,
            network_bytes_per_second: DEFAULT_NETWORK_BYTES_PER_SECOND,
        }
    }
}

/// Why the inputs make no sense.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HeadroomError {
    #[error("the quota must be above 0 bytes")]
    ZeroQuota,
    #[error("{field} must be a number of bytes per second above 0 (got {value})")]
    BadThroughput { field: &'static str, value: f64 },
}

/// The `snapshot` section of the plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Headroom {
    pub db_size_bytes: u64,
    pub db_size_in_use_bytes: u64,
    pub quota_bytes: u64,
    /// `db_size_bytes / quota_bytes` (etcd raises NOSPACE on the database size, not the bytes in use).
    pub quota_used_ratio: f64,
    /// `quota_bytes − db_size_bytes` (0 when over).
    pub headroom_bytes: u64,
    pub suggested_max_quota_bytes: u64,
    pub reclaimable_bytes: u64,
    /// `reclaimable_bytes / db_size_bytes`.
    pub reclaimable_ratio: f64,
    pub page_size: u64,
    pub free_pages: u64,
    pub unreachable_pages: u64,
    pub key_revisions: u64,
    pub current_revision: i64,
    pub compacted_revision: i64,
    pub revisions_retained: i64,
    pub estimated_restore_seconds: f64,
    pub estimated_transfer_seconds: f64,
    pub disk_bytes_per_second: f64,
    pub network_bytes_per_second: f64,
    pub restore_model: &'static str,
    pub quota_near: bool,
    pub defrag_worthwhile: bool,
    /// Which rule made it worthwhile (`None` when it is not).
    pub defrag_reason: Option<DefragReason>,
    pub check_problems: usize,
    pub alarms: Vec<String>,
    pub cluster_version: Option<String>,
    pub storage_version: Option<String>,
}

/// Why a defrag pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DefragReason {
    /// etcd's monitoring mixin: in use < 50 % of the size, and > 100 MiB.
    Fragmented,
    /// At least 200 MiB reclaimable ([`rules::DEFRAG_MIN_RECLAIMABLE_BYTES`]).
    Reclaimable,
    /// Above 80 % of the quota, and a defrag takes it back under.
    UnderQuotaLine,
}

/// Whether a defrag of a member (or of the database a snapshot shows) pays,
/// and by which rule: etcd's mixin rule, then the 200 MiB of
/// [`rules::DEFRAG_MIN_RECLAIMABLE_BYTES`], then "near the quota and a defrag
/// takes it back under the 80 % line". Sizes as etcd reports them (`dbSize`,
/// `dbSizeInUse`).
pub fn defrag_reason(
    db_size_bytes: u64,
    in_use_bytes: u64,
    quota_bytes: u64,
) -> Option<DefragReason> {
    let reclaimable = db_size_bytes.saturating_sub(in_use_bytes);
    if ratio(in_use_bytes, db_size_bytes) < rules::FRAGMENTED_IN_USE_RATIO
        && in_use_bytes > rules::FRAGMENTED_MIN_IN_USE_BYTES
    {
        return Some(DefragReason::Fragmented);
    }
    if reclaimable >= rules::DEFRAG_MIN_RECLAIMABLE_BYTES {
        return Some(DefragReason::Reclaimable);
    }
    let near = ratio(db_size_bytes, quota_bytes) > rules::QUOTA_WARN_RATIO;
    (near && reclaimable > 0 && ratio(in_use_bytes, quota_bytes) <= rules::QUOTA_WARN_RATIO)
        .then_some(DefragReason::UnderQuotaLine)
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// The numbers for a snapshot.
pub fn headroom(f: &SnapshotFacts, inputs: &HeadroomInputs) -> Result<Headroom, HeadroomError> {
    if inputs.quota_bytes == 0 {
        return Err(HeadroomError::ZeroQuota);
    }
    for (field, value) in [
        ("disk_bytes_per_second", inputs.disk_bytes_per_second),
        ("network_bytes_per_second", inputs.network_bytes_per_second),
    ] {
        if !value.is_finite() || value <= 0.0 {
            return Err(HeadroomError::BadThroughput { field, value });
        }
    }
    let in_use = f.in_use_pages.saturating_mul(f.page_size);
    let reclaimable =
        (f.free_pages.saturating_add(f.unreachable_pages)).saturating_mul(f.page_size);
    let quota_used_ratio = ratio(f.db_size_bytes, inputs.quota_bytes);
    let quota_near = quota_used_ratio > rules::QUOTA_WARN_RATIO;
    let defrag = defrag_reason(f.db_size_bytes, in_use, inputs.quota_bytes);
    Ok(Headroom {
        db_size_bytes: f.db_size_bytes,
        db_size_in_use_bytes: in_use,
        quota_bytes: inputs.quota_bytes,
        quota_used_ratio,
        headroom_bytes: inputs.quota_bytes.saturating_sub(f.db_size_bytes),
        suggested_max_quota_bytes: rules::SUGGESTED_MAX_QUOTA_BYTES,
        reclaimable_bytes: reclaimable,
        reclaimable_ratio: ratio(reclaimable, f.db_size_bytes),
        page_size: f.page_size,
        free_pages: f.free_pages,
        unreachable_pages: f.unreachable_pages,
        key_revisions: f.key_revisions,
        current_revision: f.current_revision,
        compacted_revision: f.compacted_revision,
        revisions_retained: f.current_revision.saturating_sub(f.compacted_revision),
        estimated_restore_seconds: f.db_size_bytes as f64 / inputs.disk_bytes_per_second,
        estimated_transfer_seconds: f.db_size_bytes as f64 / inputs.network_bytes_per_second,
        disk_bytes_per_second: inputs.disk_bytes_per_second,
        network_bytes_per_second: inputs.network_bytes_per_second,
        restore_model: RESTORE_MODEL,
        quota_near,
        defrag_worthwhile: defrag.is_some(),
        defrag_reason: defrag,
        check_problems: f.check_problems,
        alarms: f.alarms.clone(),
        cluster_version: f.cluster_version.clone(),
        storage_version: f.storage_version.clone(),
    })
}

fn mib(b: u64) -> String {
    crate::units::human_bytes(b)
}

/// The warnings the numbers raise.
pub fn warnings(h: &Headroom) -> Vec<Warning> {
    let mut w = Vec::new();
    if h.quota_near {
        w.push(Warning::new(
            Code::QuotaNear,
            format!(
                "the database is {} of the {} quota ({:.0} %): above {:.0} %, NOSPACE is close (writes stop at the quota)",
                mib(h.db_size_bytes),
                mib(h.quota_bytes),
                h.quota_used_ratio * 100.0,
                rules::QUOTA_WARN_RATIO * 100.0
            ),
            "etcd maintenance guide (Space quota): at the quota etcd raises NOSPACE and refuses writes",
        ));
    }
    if h.quota_bytes > rules::SUGGESTED_MAX_QUOTA_BYTES {
        w.push(Warning::new(
            Code::QuotaAboveSuggestedMax,
            format!(
                "a quota of {} is above the suggested maximum of {}",
                mib(h.quota_bytes),
                mib(rules::SUGGESTED_MAX_QUOTA_BYTES)
            ),
            "etcd system limits: 8 GiB is a suggested maximum size for normal environments",
        ));
    }
    if h.defrag_worthwhile {
        w.push(Warning::new(
            Code::DefragWorthwhile,
            format!(
                "a defrag would reclaim about {} of {} ({:.0} %); defragment one member at a time, the leader last",
                mib(h.reclaimable_bytes),
                mib(h.db_size_bytes),
                h.reclaimable_ratio * 100.0
            ),
            "etcd's monitoring mixin (etcdDatabaseHighFragmentationRatio: in use < 50 % of the size and > 100 MiB), or ≥ 200 MiB reclaimable (etcd-defrag's example rule), or a defrag that takes the database back under 80 % of the quota",
        ));
    }
    if h.check_problems > 0 {
        w.push(Warning::new(
            Code::SnapshotInconsistent,
            format!(
                "bbolt's consistency check found {} problem{}: the numbers may be off, and this file is no backup to restore (run `etcd-lens check`)",
                h.check_problems,
                if h.check_problems == 1 { "" } else { "s" }
            ),
            "bbolt's tx.Check(), which etcdutl snapshot status runs first",
        ));
    }
    if !h.alarms.is_empty() {
        w.push(Warning::new(
            Code::AlarmActive,
            format!("alarms stored in the snapshot: {}", h.alarms.join(", ")),
            "etcd maintenance guide (Space quota): an active alarm blocks writes until disarmed",
        ));
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    fn facts(db_pages: u64, in_use_pages: u64) -> SnapshotFacts {
        SnapshotFacts {
            page_size: 4096,
            db_size_bytes: db_pages * 4096,
            in_use_pages,
            free_pages: db_pages - in_use_pages,
            unreachable_pages: 0,
            key_revisions: 10,
            current_revision: 120,
            compacted_revision: 100,
            check_problems: 0,
            alarms: Vec::new(),
            cluster_version: None,
            storage_version: None,
        }
    }

    fn codes(h: &Headroom) -> Vec<Code> {
        warnings(h).into_iter().map(|w| w.code).collect()
    }

    #[test]
    fn sizes_and_backlog() {
        let f = facts(1000, 600);
        let h = headroom(&f, &HeadroomInputs::default()).unwrap();
        assert_eq!(h.db_size_bytes, 4_096_000);
        assert_eq!(h.db_size_in_use_bytes, 600 * 4096);
        assert_eq!(h.reclaimable_bytes, 400 * 4096);
        assert_eq!(h.revisions_retained, 20);
        assert_eq!(h.headroom_bytes, (2 << 30) - 4_096_000);
        assert!((h.estimated_restore_seconds - 0.04096).abs() < 1e-12);
        assert!((h.estimated_transfer_seconds - 0.032768).abs() < 1e-12);
        assert!(codes(&h).is_empty());
    }

    #[test]
    fn quota_near_above_80_percent() {
        let quota = 100 * MIB;
        let inputs = HeadroomInputs {
            quota_bytes: quota,
            ..HeadroomInputs::default()
        };
        // 80 % exactly: not yet.
        let at = facts(quota / 4096 * 8 / 10, 10);
        let h = headroom(&at, &inputs).unwrap();
        assert!(!h.quota_near, "{}", h.quota_used_ratio);
        // 81 %, all in use: near, and no defrag helps.
        let pages = quota / 4096 * 81 / 100;
        let h = headroom(&facts(pages, pages), &inputs).unwrap();
        assert_eq!(codes(&h), [Code::QuotaNear]);
        // 81 %, half free: a defrag takes it back under the line.
        let h = headroom(&facts(pages, pages / 2), &inputs).unwrap();
        assert_eq!(codes(&h), [Code::QuotaNear, Code::DefragWorthwhile]);
    }

    #[test]
    fn defrag_follows_etcds_mixin() {
        // 400 MiB, 150 MiB in use (< 50 %, > 100 MiB): worthwhile.
        let h = headroom(&facts(400 * 256, 150 * 256), &HeadroomInputs::default()).unwrap();
        assert!(h.defrag_worthwhile);
        // 400 MiB, 250 MiB in use: not fragmented enough.
        let h = headroom(&facts(400 * 256, 250 * 256), &HeadroomInputs::default()).unwrap();
        assert!(!h.defrag_worthwhile);
        // 150 MiB, 50 MiB in use: fragmented but small.
        let h = headroom(&facts(150 * 256, 50 * 256), &HeadroomInputs::default()).unwrap();
        assert!(!h.defrag_worthwhile);
        // 1 GiB, 700 MiB in use: not half free, but 324 MiB back.
        let h = headroom(&facts(1024 * 256, 700 * 256), &HeadroomInputs::default()).unwrap();
        assert_eq!(h.defrag_reason, Some(DefragReason::Reclaimable));
        let h = headroom(&facts(400 * 256, 150 * 256), &HeadroomInputs::default()).unwrap();
        assert_eq!(h.defrag_reason, Some(DefragReason::Fragmented));
    }

    #[test]
    fn quota_above_the_suggested_maximum() {
        let h = headroom(
            &facts(10, 10),
            &HeadroomInputs {
                quota_bytes: 16 << 30,
                ..HeadroomInputs::default()
            },
        )
        .unwrap();
        assert_eq!(codes(&h), [Code::QuotaAboveSuggestedMax]);
    }

    /// auger's real member db file (`../shared/fixtures/auger/boltdb/db`, see
    /// its README): 5 pages of 4096 bytes whose metas name a leaf page as the
    /// freelist. The facts still come out, with the defect counted.
    #[test]
    fn facts_of_a_real_but_trimmed_member_file() {
        let bytes = etcd_lens_testkit::fixture_bytes("auger/boltdb/db");
        let snap = Snapshot::open(crate::MemSource(&bytes)).unwrap();
        let f = measure(&snap);
        assert_eq!((f.page_size, f.db_size_bytes), (4096, 5 * 4096));
        // Metas, the root bucket and the `key` leaf in use; the stray leaf (page 3) free.
        assert_eq!(
            (f.in_use_pages, f.free_pages, f.unreachable_pages),
            (4, 1, 0)
        );
        assert_eq!(f.check_problems, 1, "{f:?}");
        // The four live keys, one revision each, all at or below the compaction.
        assert_eq!(f.key_revisions, 4);
        assert_eq!(
            (f.current_revision, f.compacted_revision),
            (241_828, 241_828)
        );
        assert_eq!(f.cluster_version.as_deref(), Some("3.2.0"));
        let h = headroom(&f, &HeadroomInputs::default()).unwrap();
        assert_eq!((h.reclaimable_bytes, h.revisions_retained), (4096, 0));
        assert_eq!(codes(&h), [Code::SnapshotInconsistent]);
    }

    #[test]
    fn bad_inputs() {
        let f = facts(10, 10);
        assert!(
            headroom(
                &f,
                &HeadroomInputs {
                    quota_bytes: 0,
                    ..HeadroomInputs::default()
                }
            )
            .is_err()
        );
        assert!(
            headroom(
                &f,
                &HeadroomInputs {
                    disk_bytes_per_second: 0.0,
                    ..HeadroomInputs::default()
                }
            )
            .is_err()
        );
    }
}
