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
    let fl = Freelist::read(db);
    let mut w = fl.walker(db);
    // In collect mode the walk records problems instead of failing.
    let _ = w.walk_root(visit);
    let part = PartWalk::of(w);
    fl.finish(db, vec![part])
}

/// The freelist as a check reads it first: the pages it frees, and the
/// problems found on the way. Shared by every walk of a check split into parts.
pub struct Freelist {
    freed: PageSet,
    state: FreelistState,
    /// Pages of the freelist itself (0 when not synced).
    pages: u64,
    problems: Vec<Problem>,
    warnings: Vec<Problem>,
}

/// What one walk of a check found.
pub struct PartWalk {
    pub seen: PageSet,
    pub problems: Vec<Problem>,
    pub warnings: Vec<Problem>,
    pub buckets: Vec<BucketStats>,
}

impl PartWalk {
    pub fn of<S: ReadAt>(mut w: Walker<'_, S>) -> Self {
        let problems = std::mem::take(&mut w.problems);
        let warnings = std::mem::take(&mut w.warnings);
        let buckets = std::mem::take(&mut w.buckets);
        PartWalk {
            seen: w.into_seen(),
            problems,
            warnings,
            buckets,
        }
    }
}

impl Freelist {
    pub fn read(db: &Db<impl ReadAt>) -> Self {
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
        let mut freed = PageSet::new(hwm);
        let mut pages = 0u64;
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
                    pages = u64::from(fl.overflow) + 1;
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
        Freelist {
            freed,
            state,
            pages,
            problems,
            warnings,
        }
    }

    fn synced(&self) -> bool {
        matches!(self.state, FreelistState::Synced { .. })
    }

    /// A checking walker of this file: one per walk of the check.
    /// The metas and the freelist pages are marked first, so a tree that
    /// reaches one is reported.
    pub fn walker<'d, S: ReadAt>(&'d self, db: &'d Db<S>) -> Walker<'d, S> {
        let mut w = Walker::new(db).checking(self.synced().then_some(&self.freed));
        for id in self.marked(db) {
            w.mark(id);
        }
        w
    }

    /// Pages reached by other means than a tree: the metas, the freelist.
    fn marked(&self, db: &Db<impl ReadAt>) -> Vec<PageId> {
        let mut ids = vec![PageId(0), PageId(1)];
        if self.synced() {
            let first = db.meta().freelist.0;
            ids.extend((0..self.pages).map(|i| PageId(first + i)));
        }
        ids
    }

    /// The report from every walk's part: a page reached by two walks is
    /// reached twice, as in one walk.
    pub fn finish(self, db: &Db<impl ReadAt>, parts: Vec<PartWalk>) -> CheckReport {
        let hwm = db.hwm();
        let synced = self.synced();
        let marked = self.marked(db);
        let Freelist {
            freed,
            state,
            pages: freelist_pages,
            mut problems,
            mut warnings,
        } = self;
        let mut reachable = PageSet::new(hwm);
        let mut buckets = Vec::new();
        for mut part in parts {
            // Within one walk, a page met twice is its own problem; every
            // walk marks the metas and the freelist.
            for id in reachable.merge(&part.seen) {
                if !marked.contains(&id) {
                    problems.push(Problem {
                        page: Some(id),
                        kind: ProblemKind::MultipleReferences,
                        message: format!("page {id}: multiple references"),
                    });
                }
            }
            problems.append(&mut part.problems);
            warnings.append(&mut part.warnings);
            buckets.append(&mut part.buckets);
        }
        let mut stats = PageStats {
            page_size: db.page_size(),
            high_water: hwm.0,
            meta_pages: 2,
            freelist_pages: if synced { freelist_pages } else { 0 },
            in_use_pages: reachable.count(),
            ..Default::default()
        };
        for b in &buckets {
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
        buckets.sort_by(|a, b| a.name.cmp(&b.name));
        stats.buckets = buckets;
        CheckReport {
            problems,
            warnings,
            freelist: state,
            stats,
        }
    }
}
