//! The consistency check, equivalent to bbolt's `tx.Check()` (what
//! `bbolt check` and `etcdutl snapshot status` run), plus page statistics.
//!
//! bbolt's rules, each reported as a [`Problem`] naming its page:
//! - a page on the freelist twice (`already freed`);
//! - a page reached twice (`multiple references`), beyond the high-water mark
//!   (`out of bounds`), reachable but free (`reachable freed`), or reached in a
//!   tree but neither branch nor leaf (`invalid type`);
//! - with a synced freelist, a page neither reachable nor free (`unreachable unfreed`).
//!
//! Ours on top: a meta freelist pointer that is not a freelist page is a
//! problem (bbolt panics there) and free pages are then derived by
//! reachability, as for an unsynced freelist; structural errors (elements past
//! the page, cycles) are problems where bbolt would crash; keys out of order
//! within or across pages are *warnings*.

use std::ops::ControlFlow;

use serde::Serialize;

use super::db::Db;
use super::freelist;
use super::page::PageId;
pub use super::problem::{Problem, ProblemKind};
use super::walk::{BucketStats, Entry, PageSet, Walker};
use crate::ReadAt;

/// How the freelist was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum FreelistState {
    /// Not persisted (`NoFreelistSync`): free pages derived by reachability.
    NotSynced,
    /// A freelist page with this many ids.
    Synced { page: PageId, ids: u64 },
    /// The meta names a page that is not a usable freelist: derived by reachability.
    Invalid { page: PageId, reason: String },
}

/// Page counts and per-bucket space.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PageStats {
    pub page_size: u64,
    /// The meta's high-water page id: pages `0..high_water` make the database.
    pub high_water: u64,
    pub meta_pages: u64,
    pub freelist_pages: u64,
    pub branch_pages: u64,
    pub leaf_pages: u64,
    pub overflow_pages: u64,
    /// Pages reached from a meta (metas, freelist, trees, overflow).
    pub in_use_pages: u64,
    /// Free pages: from the synced freelist, else every unreachable page.
    pub free_pages: u64,
    /// With a synced freelist: pages neither reachable nor free (leaked).
    pub unreachable_pages: u64,
    pub buckets: Vec<BucketStats>,
}

/// The result of a check.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub problems: Vec<Problem>,
    pub warnings: Vec<Problem>,
    pub freelist: FreelistState,
    pub stats: PageStats,
}

impl CheckReport {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Check the whole database.
pub fn check(db: &Db<impl ReadAt>) -> CheckReport {
    check_with(db, &mut |_| ControlFlow::Continue(()))
}

/// Check while visiting every entry of every bucket in bbolt order (one pass
/// serves both `check` and `status`). A `Break` from `visit` stops the walk;
/// the report then covers only what was walked.
pub fn check_with(
    db: &Db<impl ReadAt>,
    visit: &mut dyn FnMut(&Entry<'_>) -> ControlFlow<()>,
) -> CheckReport {
    let meta = db.meta();
    let hwm = db.hwm();
    let mut problems = Vec::new();
    let mut warnings: Vec<Problem> = db
        .header()
        .warnings
        .iter()
        .filter(|w| w.starts_with("meta page"))
        .map(|w| Problem {
            page: None,
            kind: ProblemKind::Meta,
            message: w.clone(),
        })
        .collect();

    // The freelist, when synced.
    let mut freed = PageSet::new(hwm);
    let mut freelist_pages = 0u64;
    let state = if !meta.freelist_persisted() {
        FreelistState::NotSynced
    } else {
        match freelist::read(db, meta.freelist) {
            Ok(fl) => {
                for id in &fl.ids {
                    if id.0 >= hwm.0 {
                        warnings.push(Problem {
                            page: Some(*id),
                            kind: ProblemKind::FreedBeyondHighWater,
                            message: format!(
                                "page {id}: on the freelist but beyond the high-water mark {hwm}"
                            ),
                        });
                    } else if !freed.insert(*id) {
                        problems.push(Problem {
                            page: Some(*id),
                            kind: ProblemKind::AlreadyFreed,
                            message: format!("page {id}: already freed"),
                        });
                    }
                }
                freelist_pages = u64::from(fl.overflow) + 1;
                FreelistState::Synced {
                    page: fl.page,
                    ids: fl.ids.len() as u64,
                }
            }
            Err(e) => {
                let reason = e.to_string();
                problems.push(Problem {
                    page: Some(meta.freelist),
                    kind: ProblemKind::Freelist,
                    message: format!(
                        "page {}: the meta's freelist page is unusable ({reason}); free pages are derived by reachability",
                        meta.freelist
                    ),
                });
                FreelistState::Invalid {
                    page: meta.freelist,
                    reason,
                }
            }
        }
    };
    let synced = matches!(state, FreelistState::Synced { .. });

    let mut w = Walker::new(db).checking(synced.then_some(&freed));
    w.mark(PageId(0));
    w.mark(PageId(1));
    if synced {
        for i in 0..freelist_pages {
            w.mark(PageId(meta.freelist.0 + i));
        }
    }
    // In collect mode the walk records problems instead of failing.
    let _ = w.walk_root(visit);
    problems.append(&mut w.problems);
    warnings.append(&mut w.warnings);

    let reachable = w.seen();
    let mut stats = PageStats {
        page_size: db.page_size(),
        high_water: hwm.0,
        meta_pages: 2,
        freelist_pages: if synced { freelist_pages } else { 0 },
        in_use_pages: reachable.count(),
        ..Default::default()
    };
    for b in &w.buckets {
        stats.branch_pages += b.branch_pages;
        stats.leaf_pages += b.leaf_pages;
        stats.overflow_pages += b.overflow_pages;
    }
    if synced {
        stats.free_pages = freed.count();
        for i in 0..hwm.0 {
            let id = PageId(i);
            if !reachable.contains(id) && !freed.contains(id) {
                stats.unreachable_pages += 1;
                problems.push(Problem {
                    page: Some(id),
                    kind: ProblemKind::UnreachableUnfreed,
                    message: format!("page {id}: unreachable unfreed"),
                });
            }
        }
    } else {
        stats.free_pages = hwm.0.saturating_sub(stats.in_use_pages);
    }
    let mut buckets = std::mem::take(&mut w.buckets);
    buckets.sort_by(|a, b| a.name.cmp(&b.name));
    stats.buckets = buckets;
    CheckReport {
        problems,
        warnings,
        freelist: state,
        stats,
    }
}
