//! The same status from several walks at once.
//!
//! The `key` bucket holds nearly every page of a snapshot. Its tree splits at
//! its top branch pages into subtrees whose keys follow each other: part `i`
//! walks a contiguous run of them, the rest of the file is walked once with
//! those subtrees left out. Everything `snapshot status` computes combines
//! exactly, in walk order:
//! - the hash: CRC32-Castagnoli of a concatenation is the CRCs combined with
//!   the later part's length (`crc32c_combine`);
//! - 3.5's key count: a sum; the revision: the last part's last key's;
//! - 3.6's live keys: each part keeps the last state of every user key it
//!   met, replayed over the parts before it, in order;
//! - bbolt's check: every walk marks the pages it reached, and a page reached
//!   by two walks is reported as one walk reports a page met twice.
//!
//! Anything out of the ordinary — a problem, a key that does not parse, keys
//! out of order across two parts, a subtree met other than where the plan
//! put it — and the numbers come from the one sequential walk instead, so a
//! broken file gets exactly the errors [`super::status`] gives.
//!
//! The walks may run in other workers that share no memory with the caller
//! (a browser's Web Workers): each plans for itself ([`plan`] depends on the
//! file only, so every worker gets the same plan) and sends its [`Part`] back
//! as bytes ([`Part::to_bytes`], [`Part::from_bytes`]);
//! [`finish_parts_and_check`] then gives what [`super::status_and_check`] gives.

use std::ops::{ControlFlow, Range};

use super::tally::{KeySet, KeyStates, Live, Tally};
use super::{Compat, Status, StatusAndCheck, StatusError, Walk, finish, status};
use crate::ReadAt;
use crate::bolt::check::{Freelist, PartWalk};
use crate::bolt::{BucketStats, CheckReport, Db, Loc, PageId, PageSet, PageView};
use crate::mvcc::revision::RevisionKey;
use crate::mvcc::{IndexBuilder, KeyValue};

mod wire;
pub use wire::PartBytesError;

/// Subtrees of the `key` bucket to walk apart, in key order.
pub struct Plan {
    units: Vec<(PageId, Loc)>,
    /// Each part's run of `units`.
    pub parts: Vec<Range<usize>>,
    /// Where the units sit in a walk of the whole file.
    depth: u32,
    skip: PageSet,
}

/// How many subtrees per part to aim for, so parts of unequal size even out.
const UNITS_PER_PART: usize = 8;
/// How far below the `key` bucket's root to look for enough subtrees.
const MAX_LEVELS: u32 = 3;

/// Split the `key` bucket into at most `parts` parts; `None` when it is too
/// small to be worth it or its top pages are not what a split needs (the walk
/// then finds and reports why).
pub fn plan(db: &Db<impl ReadAt>, parts: usize) -> Option<Plan> {
    if parts < 2 {
        return None;
    }
    let kb = db.bucket(&db.root(), b"key").ok()??;
    if kb.is_inline() {
        return None;
    }
    // The key bucket is met at depth 1 of the root's walk; its root page too.
    let mut depth = 1;
    let mut units = vec![(kb.header.root, kb.loc)];
    for _ in 0..MAX_LEVELS {
        if units.len() >= parts * UNITS_PER_PART {
            break;
        }
        let mut next = Vec::new();
        for &(id, _) in &units {
            let page = db.page(id, kb.loc).ok()?;
            let view = PageView::new(id, db.offset_of(id), &page).ok()?;
            if !view.is_branch() {
                // Leaves at this level: split here, if there are enough.
                next.clear();
                break;
            }
            for i in 0..view.count() {
                let e = view.branch(i).ok()?;
                next.push((e.child, Loc::new(id, e.offset)));
            }
        }
        if next.is_empty() {
            break;
        }
        units = next;
        depth += 1;
    }
    if units.len() < 2 {
        return None;
    }
    let mut skip = PageSet::new(db.hwm());
    for &(id, _) in &units {
        if id.0 >= db.hwm().0 || !skip.insert(id) {
            return None;
        }
    }
    let n = parts.min(units.len());
    let ranges = (0..n)
        .map(|i| i * units.len() / n..(i + 1) * units.len() / n)
        .collect();
    Some(Plan {
        units,
        parts: ranges,
        depth,
        skip,
    })
}

/// Everything but the planned subtrees: the hash before them (through the
/// `key` bucket's name) and after them.
pub struct Rest {
    before: Tally,
    after: Tally,
    /// An entry of the `key` bucket met outside the plan's subtrees.
    strays: bool,
    skipped: u64,
    walk: PartWalk,
}

/// One part: a run of the plan's subtrees.
pub struct Part {
    tally: Tally,
    first_key: Option<Vec<u8>>,
    last_key: Vec<u8>,
    walk: PartWalk,
}

#[derive(PartialEq)]
enum Phase {
    Before,
    InKey,
    After,
}

fn live(v36: bool) -> Live {
    if v36 {
        Live::Last(KeyStates::default())
    } else {
        Live::Off
    }
}

/// Walk the file but the plan's subtrees.
pub fn walk_rest(db: &Db<impl ReadAt>, fl: &Freelist, plan: &Plan) -> Rest {
    let mut before = Tally::new(Live::Off);
    let mut after = Tally::new(Live::Off);
    let mut phase = Phase::Before;
    let mut strays = false;
    let mut w = fl.walker(db).skipping(&plan.skip);
    let _ = w.walk_root(&mut |e| {
        match e.path.len() {
            0 => {
                if phase == Phase::InKey {
                    phase = Phase::After;
                }
                match phase {
                    Phase::Before => before.bucket(e.key),
                    _ => after.bucket(e.key),
                }
                if phase == Phase::Before && e.key == b"key" {
                    phase = Phase::InKey;
                }
            }
            1 => match phase {
                Phase::Before => return before.entry(e, false),
                Phase::InKey => strays = true,
                Phase::After => return after.entry(e, false),
            },
            _ => {}
        }
        ControlFlow::Continue(())
    });
    let skipped = w.skipped;
    Rest {
        before,
        after,
        strays,
        skipped,
        walk: PartWalk::of(w),
    }
}

/// Walk part `i` of the plan (`v36`: keep the user keys' states too).
pub fn walk_part(db: &Db<impl ReadAt>, fl: &Freelist, plan: &Plan, i: usize, v36: bool) -> Part {
    walk_part_into(db, fl, plan, i, live(v36), None)
}

/// Walk part `i` of the plan and add its entries to a key index as
/// [`crate::snapshot::Snapshot::key_index`] would (the page's index pass,
/// done in the same walk), handed to `sink` in chunks as the walk goes (a
/// walker then holds one chunk, not its part's whole index): the first of
/// [`FIRST_CHUNK_ENTRIES`] entries (so whoever appends them starts early),
/// each next one twice as long, up to `max_chunk_entries`. Appended in part order ([`IndexBuilder::append_bytes`]) the
/// chunks are that index, and its live keys are etcdutl 3.6's count
/// ([`finish_parts_and_check_counted`]), so the part keeps no user-key states
/// of its own. `false` beside the part when an entry is not a revision key
/// with a `KeyValue`: the chunks handed over then are not the part's index
/// (the index pass reports the entry; the part combines only by the one walk).
pub fn walk_part_and_index(
    db: &Db<impl ReadAt>,
    fl: &Freelist,
    plan: &Plan,
    i: usize,
    max_chunk_entries: usize,
    sink: &mut dyn FnMut(IndexBuilder),
) -> (Part, bool) {
    let max_entries = max_chunk_entries.max(1);
    let mut chunks = Chunks {
        builder: Some(IndexBuilder::default()),
        chunk_entries: FIRST_CHUNK_ENTRIES.min(max_entries),
        max_entries,
        sink,
    };
    let part = walk_part_into(db, fl, plan, i, Live::Checked, Some(&mut chunks));
    let indexed = match chunks.builder.take() {
        Some(last) => {
            if last.entries() > 0 {
                (chunks.sink)(last);
            }
            true
        }
        None => false,
    };
    (part, indexed)
}

/// Entries in the first chunk of [`walk_part_and_index`].
pub const FIRST_CHUNK_ENTRIES: usize = 256;

/// A part's key index as it is walked, handed on chunk by chunk; `builder`
/// is `None` once an entry could not be indexed.
struct Chunks<'s> {
    builder: Option<IndexBuilder>,
    /// The length of the chunk being filled, growing to `max_entries`.
    chunk_entries: usize,
    max_entries: usize,
    sink: &'s mut dyn FnMut(IndexBuilder),
}

impl Chunks<'_> {
    fn add(&mut self, entry: Option<(RevisionKey, &KeyValue)>) {
        let Some(builder) = self.builder.as_mut() else {
            return;
        };
        let Some((rk, kv)) = entry else {
            self.builder = None;
            return;
        };
        builder.add(rk, kv);
        if builder.entries() >= self.chunk_entries {
            (self.sink)(std::mem::take(builder));
            self.chunk_entries = self.chunk_entries.saturating_mul(2).min(self.max_entries);
        }
    }
}

fn walk_part_into(
    db: &Db<impl ReadAt>,
    fl: &Freelist,
    plan: &Plan,
    i: usize,
    live: Live,
    mut index: Option<&mut Chunks<'_>>,
) -> Part {
    let mut tally = Tally::new(live);
    let mut first_key: Option<Vec<u8>> = None;
    let mut last_key = Vec::new();
    let mut w = fl.walker(db);
    let path = [b"key".to_vec()];
    let units = &plan.units[plan.parts[i].clone()];
    let _ = w.walk_subtrees(&path, units, plan.depth, &mut |e| {
        if e.path.len() != 1 {
            return ControlFlow::Continue(());
        }
        if first_key.is_none() {
            first_key = Some(e.key.to_vec());
        }
        last_key.clear();
        last_key.extend_from_slice(e.key);
        let flow = tally.entry(e, true);
        if let Some(chunks) = index.as_deref_mut() {
            // An entry without a value (a bucket nested in `key`) is in no
            // index but in 3.6's count: refused, as a key that does not parse.
            chunks.add(
                match (RevisionKey::parse(e.key), tally.decoded(), e.value) {
                    (Ok(rk), Some(kv), Some(_)) if flow.is_continue() => Some((rk, kv)),
                    _ => None,
                },
            );
        }
        flow
    });
    Part {
        tally,
        first_key,
        last_key,
        walk: PartWalk::of(w),
    }
}

/// The status from the rest's and the parts' walks (made here or by other
/// workers), or `None` when anything calls for the sequential walk (which
/// then says what).
pub fn finish_parts(
    db: &Db<impl ReadAt>,
    fl: Freelist,
    plan: &Plan,
    rest: Rest,
    parts: Vec<Part>,
    compat: Compat,
) -> Option<Result<Status, StatusError>> {
    let w = combine(db, fl, plan, rest, parts, compat == Compat::V36, None)?;
    Some(finish(db, &w, compat))
}

/// Both conventions' status and bbolt's check, as
/// [`super::status_and_check`] gives them, from the rest's and the parts'
/// walks (the parts walked with `v36`); `None` when anything calls for the
/// one walk instead.
pub fn finish_parts_and_check(
    db: &Db<impl ReadAt>,
    fl: Freelist,
    plan: &Plan,
    rest: Rest,
    parts: Vec<Part>,
) -> Option<StatusAndCheck> {
    let w = combine(db, fl, plan, rest, parts, true, None)?;
    Some(StatusAndCheck {
        v35: finish(db, &w, Compat::V35),
        v36: finish(db, &w, Compat::V36),
        follows: Compat::of_file(db).unwrap_or_default(),
        check: w.report,
    })
}

/// [`finish_parts_and_check`] for parts walked with their key index
/// ([`walk_part_and_index`]), given the appended index's live keys
/// ([`IndexBuilder::live_count`]): etcdutl 3.6's count without replaying
/// user-key states.
pub fn finish_parts_and_check_counted(
    db: &Db<impl ReadAt>,
    fl: Freelist,
    plan: &Plan,
    rest: Rest,
    parts: Vec<Part>,
    live_keys: u64,
) -> Option<StatusAndCheck> {
    let w = combine(db, fl, plan, rest, parts, true, Some(live_keys))?;
    Some(StatusAndCheck {
        v35: finish(db, &w, Compat::V35),
        v36: finish(db, &w, Compat::V36),
        follows: Compat::of_file(db).unwrap_or_default(),
        check: w.report,
    })
}

/// The walk's numbers and check, or `None` when anything calls for the
/// sequential walk. `counted`: 3.6's live keys, counted by the parts' key
/// index (the parts then keep no states).
fn combine(
    db: &Db<impl ReadAt>,
    fl: Freelist,
    plan: &Plan,
    rest: Rest,
    parts: Vec<Part>,
    v36: bool,
    counted: Option<u64>,
) -> Option<Walk> {
    if rest.strays
        || parts.len() != plan.parts.len()
        || rest.skipped != plan.units.len() as u64
        || !rest.walk.problems.is_empty()
        || rest.before.failure.is_some()
        || rest.after.failure.is_some()
    {
        return None;
    }
    let mut prev_last: Option<&[u8]> = None;
    for p in &parts {
        if p.tally.failure.is_some() || p.tally.v36_failure.is_some() || !p.walk.problems.is_empty()
        {
            return None;
        }
        // 3.6's count needs every part's user keys (a part walked without
        // them, as another worker might send, would count none), or every
        // part checked and the count from their index.
        let counts = matches!(
            (&p.tally.live, counted),
            (Live::Last(_), None) | (Live::Checked, Some(_))
        );
        if v36 && !counts {
            return None;
        }
        if let Some(first) = &p.first_key {
            if prev_last.is_some_and(|l| l >= first.as_slice()) {
                return None;
            }
            prev_last = Some(&p.last_key);
        }
    }
    let mut hash = rest.before.hash;
    let mut total_key = rest.before.total_key + rest.after.total_key;
    let mut revision = 0;
    let mut live_keys: Option<KeySet> = (v36 && counted.is_none()).then(KeySet::default);
    let mut walks = Vec::with_capacity(parts.len() + 1);
    let Rest { after, walk, .. } = rest;
    let mut main = walk;
    for p in parts {
        let len = usize::try_from(p.tally.hashed).ok()?;
        hash = crc32c::crc32c_combine(hash, p.tally.hash, len);
        total_key += p.tally.total_key;
        if p.first_key.is_some() {
            revision = p.tally.revision;
        }
        if let (Some(set), Live::Last(m)) = (&mut live_keys, p.tally.live) {
            for (k, l) in m {
                if l {
                    set.insert(k);
                } else {
                    set.remove(&k);
                }
            }
        }
        let mut pw = p.walk;
        merge_key_stats(&mut main.buckets, &mut pw.buckets);
        walks.push(pw);
    }
    let len = usize::try_from(after.hashed).ok()?;
    hash = crc32c::crc32c_combine(hash, after.hash, len);
    walks.insert(0, main);
    let report: CheckReport = fl.finish(db, walks);
    if !report.problems.is_empty() {
        return None;
    }
    Some(Walk {
        hash,
        revision,
        total_key,
        live_keys: counted
            .filter(|_| v36)
            .or(live_keys.map(|s| s.len() as u64)),
        failure: None,
        v36_failure: None,
        report,
    })
}

/// A part's counts for the `key` bucket belong to the one bucket the rest's
/// walk entered; the buckets nested in it stay as they are.
fn merge_key_stats(main: &mut [BucketStats], part: &mut Vec<BucketStats>) {
    let Some(k) = main.iter_mut().find(|b| b.name == "key" && b.depth == 1) else {
        return;
    };
    part.retain(|b| {
        if b.name == "key" && b.depth == 1 {
            k.entries += b.entries;
            k.nested_buckets += b.nested_buckets;
            k.key_bytes += b.key_bytes;
            k.value_bytes += b.value_bytes;
            k.branch_pages += b.branch_pages;
            k.leaf_pages += b.leaf_pages;
            k.overflow_pages += b.overflow_pages;
            false
        } else {
            true
        }
    });
}

/// [`status`] with the `key` bucket walked by up to `threads` threads at once
/// (and the rest of the file by one more): the same numbers and errors.
pub fn status_threads<S: ReadAt + Sync>(
    db: &Db<S>,
    compat: Compat,
    threads: usize,
) -> Result<Status, StatusError> {
    threaded(db, compat, threads).unwrap_or_else(|| status(db, compat))
}

/// The parallel walk's status, or `None` when the file is not split (too
/// small, or anything out of the ordinary: the caller walks it once instead).
#[cfg(not(target_arch = "wasm32"))]
pub fn threaded<S: ReadAt + Sync>(
    db: &Db<S>,
    compat: Compat,
    threads: usize,
) -> Option<Result<Status, StatusError>> {
    let v36 = compat == Compat::V36;
    let plan = plan(db, threads)?;
    let fl = Freelist::read(db);
    let (rest, parts) = std::thread::scope(|s| {
        let handles: Vec<_> = (0..plan.parts.len())
            .map(|i| {
                let (fl, plan) = (&fl, &plan);
                s.spawn(move || walk_part(db, fl, plan, i, v36))
            })
            .collect();
        let rest = walk_rest(db, &fl, &plan);
        let parts: Option<Vec<Part>> = handles.into_iter().map(|h| h.join().ok()).collect();
        parts.map(|p| (rest, p))
    })?;
    finish_parts(db, fl, &plan, rest, parts, compat)
}

/// Without threads (wasm32): never split here.
#[cfg(target_arch = "wasm32")]
pub fn threaded<S: ReadAt + Sync>(
    _db: &Db<S>,
    _compat: Compat,
    _threads: usize,
) -> Option<Result<Status, StatusError>> {
    None
}
