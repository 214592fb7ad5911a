//! In-order traversal of bucket trees: the one loop every full read uses
//! (`check`, `status`, page statistics, listing a bucket).
//!
//! Bounded: a visited set of page ids (a bitmap of the high-water mark, so it
//! grows with the file's page count, 1 bit each) refuses any page seen twice,
//! which stops cycles and shared subtrees; [`MAX_DEPTH`] bounds branch levels
//! plus bucket nesting. In *collect* mode a structural problem is recorded and
//! the walk goes on with the next sibling (what `check` wants); otherwise the
//! first problem is returned as an error.

use std::ops::ControlFlow;

use serde::Serialize;

use super::db::{Bucket, Db, MAX_DEPTH};
use super::element::{BUCKET_HEADER_LEN, PageView};
use super::error::{BoltError, Loc};
use super::page::PageId;
use super::problem::{Problem, ProblemKind};
use crate::ReadAt;

/// A set of page ids below the high-water mark.
#[derive(Debug, Clone)]
pub struct PageSet {
    words: Vec<u64>,
    len: u64,
}

impl PageSet {
    /// A set for ids `0..hwm`. The caller checked `hwm` against the file size.
    pub fn new(hwm: PageId) -> Self {
        let words = usize::try_from(hwm.0.div_ceil(64)).unwrap_or(0);
        Self {
            words: vec![0; words],
            len: hwm.0,
        }
    }

    /// Insert; false when already present or out of range.
    pub fn insert(&mut self, id: PageId) -> bool {
        if id.0 >= self.len {
            return false;
        }
        let (w, b) = (usize::try_from(id.0 / 64).unwrap_or(0), id.0 % 64);
        let was = self.words[w] & (1 << b) != 0;
        self.words[w] |= 1 << b;
        !was
    }

    pub fn contains(&self, id: PageId) -> bool {
        id.0 < self.len
            && usize::try_from(id.0 / 64).is_ok_and(|w| self.words[w] & (1 << (id.0 % 64)) != 0)
    }

    pub fn count(&self) -> u64 {
        self.words.iter().map(|w| u64::from(w.count_ones())).sum()
    }

    /// Add every id of `other` (a set of the same range); the ids that were
    /// in both, in order.
    pub fn merge(&mut self, other: &PageSet) -> Vec<PageId> {
        let mut both = Vec::new();
        for (i, (w, o)) in self.words.iter_mut().zip(&other.words).enumerate() {
            let mut common = *w & *o;
            while common != 0 {
                let b = u64::from(common.trailing_zeros());
                both.push(PageId(i as u64 * 64 + b));
                common &= common - 1;
            }
            *w |= *o;
        }
        both
    }
}

/// One entry met by a walk.
#[derive(Debug)]
pub struct Entry<'a> {
    /// Names of the enclosing buckets, outermost first (empty: a top-level bucket name).
    pub path: &'a [Vec<u8>],
    pub key: &'a [u8],
    /// `None` for a nested bucket (bbolt's `ForEach` gives it a nil value).
    pub value: Option<&'a [u8]>,
    /// Absolute offset of the leaf element record.
    pub loc: Loc,
}

/// Space used by one bucket.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BucketStats {
    /// Bucket names from the root, lossy UTF-8, joined with `/`.
    pub name: String,
    pub depth: u32,
    pub entries: u64,
    pub nested_buckets: u64,
    pub key_bytes: u64,
    pub value_bytes: u64,
    pub branch_pages: u64,
    pub leaf_pages: u64,
    pub overflow_pages: u64,
    pub inline: bool,
}

/// The visitor: return `Break` to stop the walk.
pub type Visit<'v> = &'v mut dyn FnMut(&Entry<'_>) -> ControlFlow<()>;

/// A tree walk over one database.
pub struct Walker<'d, S> {
    db: &'d Db<S>,
    seen: PageSet,
    free: Option<&'d PageSet>,
    collect: bool,
    recurse: bool,
    check_order: bool,
    path: Vec<Vec<u8>>,
    /// Subtrees another walk covers: not entered, counted in `skipped`.
    skip: Option<&'d PageSet>,
    pub skipped: u64,
    pub problems: Vec<Problem>,
    pub warnings: Vec<Problem>,
    pub buckets: Vec<BucketStats>,
}

struct Ctx<'s> {
    stats: BucketStats,
    last_key: Option<Vec<u8>>,
    start: Option<&'s [u8]>,
}

impl<'d, S: ReadAt> Walker<'d, S> {
    /// A fail-fast walk that does not descend into nested buckets.
    pub fn new(db: &'d Db<S>) -> Self {
        Self {
            db,
            seen: PageSet::new(db.hwm()),
            free: None,
            collect: false,
            recurse: false,
            check_order: false,
            path: Vec::new(),
            skip: None,
            skipped: 0,
            problems: Vec::new(),
            warnings: Vec::new(),
            buckets: Vec::new(),
        }
    }

    /// Record problems and go on instead of failing; descend into nested
    /// buckets; report out-of-order keys; flag reachable pages in `free`.
    pub fn checking(mut self, free: Option<&'d PageSet>) -> Self {
        self.collect = true;
        self.recurse = true;
        self.check_order = true;
        self.free = free;
        self
    }

    /// Pages reached so far (overflow pages included).
    pub fn seen(&self) -> &PageSet {
        &self.seen
    }

    /// Leave the subtrees rooted at these pages to other walks (of the same
    /// file, in parallel): they are neither entered nor marked.
    pub fn skipping(mut self, roots: &'d PageSet) -> Self {
        self.skip = Some(roots);
        self
    }

    /// The pages reached, for the caller to merge with other walks'.
    pub fn into_seen(self) -> PageSet {
        self.seen
    }

    /// Walk these subtrees of the bucket named by `path`, in order, as if
    /// met at `depth` in a walk of the whole file: the entries come with
    /// `path`, as they do in that walk.
    pub fn walk_subtrees(
        &mut self,
        path: &[Vec<u8>],
        roots: &[(PageId, Loc)],
        depth: u32,
        visit: Visit<'_>,
    ) -> Result<ControlFlow<()>, BoltError> {
        self.path = path.to_vec();
        let mut ctx = Ctx {
            stats: BucketStats {
                name: path
                    .iter()
                    .map(|p| String::from_utf8_lossy(p))
                    .collect::<Vec<_>>()
                    .join("/"),
                depth: u32::try_from(path.len()).unwrap_or(u32::MAX),
                ..Default::default()
            },
            last_key: None,
            start: None,
        };
        let mut r = Ok(ControlFlow::Continue(()));
        for &(id, from) in roots {
            r = self.tree(id, from, depth, &mut ctx, visit);
            if !matches!(r, Ok(ControlFlow::Continue(()))) {
                break;
            }
        }
        self.buckets.push(ctx.stats);
        self.path.clear();
        r
    }

    /// Mark a page reached by other means (metas, the freelist).
    pub fn mark(&mut self, id: PageId) {
        self.seen.insert(id);
    }

    /// Walk the whole file from the root bucket.
    pub fn walk_root(&mut self, visit: Visit<'_>) -> Result<ControlFlow<()>, BoltError> {
        let root = self.db.root();
        self.walk_bucket(&root, None, visit)
    }

    /// Walk one bucket's entries in key order, from the first key `>= start`.
    pub fn walk_bucket(
        &mut self,
        bucket: &Bucket,
        start: Option<&[u8]>,
        visit: Visit<'_>,
    ) -> Result<ControlFlow<()>, BoltError> {
        self.bucket(bucket, 0, start, visit)
    }

    fn fail(&mut self, e: BoltError) -> Result<ControlFlow<()>, BoltError> {
        if !self.collect {
            return Err(e);
        }
        let kind = match e {
            BoltError::OutOfBounds { .. } => ProblemKind::OutOfBounds,
            BoltError::MultipleReferences { .. } => ProblemKind::MultipleReferences,
            BoltError::PageType { .. } => ProblemKind::InvalidType,
            _ => ProblemKind::Structure,
        };
        self.problems.push(Problem {
            page: e.page(),
            kind,
            message: e.to_string(),
        });
        Ok(ControlFlow::Continue(()))
    }

    fn bucket(
        &mut self,
        b: &Bucket,
        depth: u32,
        start: Option<&[u8]>,
        visit: Visit<'_>,
    ) -> Result<ControlFlow<()>, BoltError> {
        let name = self
            .path
            .iter()
            .map(|p| String::from_utf8_lossy(p))
            .collect::<Vec<_>>()
            .join("/");
        let stats = BucketStats {
            name,
            depth: u32::try_from(self.path.len()).unwrap_or(u32::MAX),
            inline: b.is_inline(),
            ..Default::default()
        };
        let mut ctx = Ctx {
            stats,
            last_key: None,
            start,
        };
        let r = if let Some(inline) = &b.inline {
            match PageView::new(b.loc.page, b.loc.offset + BUCKET_HEADER_LEN as u64, inline) {
                Ok(view) if view.is_leaf() => self.leaf(&view, depth, &mut ctx, visit),
                Ok(view) => self.fail(BoltError::PageType {
                    page: view.page,
                    offset: view.base,
                    expected: "inline leaf",
                    found: view.header.kind(),
                }),
                Err(e) => self.fail(e),
            }
        } else {
            self.tree(b.header.root, b.loc, depth, &mut ctx, visit)
        };
        self.buckets.push(ctx.stats);
        r
    }

    fn tree(
        &mut self,
        id: PageId,
        from: Loc,
        depth: u32,
        ctx: &mut Ctx<'_>,
        visit: Visit<'_>,
    ) -> Result<ControlFlow<()>, BoltError> {
        if depth >= MAX_DEPTH {
            return self.fail(BoltError::TooDeep {
                page: id,
                from,
                max: MAX_DEPTH,
            });
        }
        if self.skip.is_some_and(|s| s.contains(id)) {
            self.skipped += 1;
            return Ok(ControlFlow::Continue(()));
        }
        let hwm = self.db.hwm();
        if id.0 >= hwm.0 {
            return self.fail(BoltError::OutOfBounds {
                page: id,
                from,
                hwm,
            });
        }
        if self.seen.contains(id) {
            return self.fail(BoltError::MultipleReferences { page: id, from });
        }
        let page = match self.db.page_uncached(id, from) {
            Ok(p) => p,
            Err(e) => {
                self.seen.insert(id);
                return self.fail(e);
            }
        };
        let view = match PageView::new(id, self.db.offset_of(id), &page) {
            Ok(v) => v,
            Err(e) => {
                self.seen.insert(id);
                return self.fail(e);
            }
        };
        let overflow = u64::from(view.header.overflow);
        for i in 0..=overflow {
            let pid = PageId(id.0 + i);
            if !self.seen.insert(pid) && self.collect {
                self.problems.push(Problem {
                    page: Some(pid),
                    kind: ProblemKind::MultipleReferences,
                    message: format!("page {pid}: multiple references (overflow of page {id})"),
                });
            }
        }
        if self.free.is_some_and(|f| f.contains(id)) {
            self.problems.push(Problem {
                page: Some(id),
                kind: ProblemKind::ReachableFreed,
                message: format!("page {id}: reachable freed"),
            });
        }
        ctx.stats.overflow_pages += overflow;
        if view.is_branch() {
            ctx.stats.branch_pages += 1;
            if view.count() == 0 {
                return self.fail(BoltError::EmptyBranch {
                    page: id,
                    offset: view.base,
                });
            }
            let mut first = 0;
            if let Some(start) = ctx.start {
                for i in 1..view.count() {
                    match view.branch(i) {
                        Ok(e) if e.key <= start => first = i,
                        _ => break,
                    }
                }
            }
            for i in first..view.count() {
                let e = match view.branch(i) {
                    Ok(e) => e,
                    Err(e) => return self.fail(e),
                };
                if self
                    .tree(e.child, Loc::new(id, e.offset), depth + 1, ctx, visit)?
                    .is_break()
                {
                    return Ok(ControlFlow::Break(()));
                }
            }
            Ok(ControlFlow::Continue(()))
        } else if view.is_leaf() {
            ctx.stats.leaf_pages += 1;
            self.leaf(&view, depth, ctx, visit)
        } else {
            self.fail(BoltError::PageType {
                page: id,
                offset: view.base,
                expected: "branch or leaf",
                found: view.header.kind(),
            })
        }
    }

    fn leaf(
        &mut self,
        view: &PageView<'_>,
        depth: u32,
        ctx: &mut Ctx<'_>,
        visit: Visit<'_>,
    ) -> Result<ControlFlow<()>, BoltError> {
        for i in 0..view.count() {
            let e = match view.leaf(i) {
                Ok(e) => e,
                Err(e) => return self.fail(e),
            };
            if ctx.start.is_some_and(|s| e.key < s) {
                continue;
            }
            if self.check_order {
                if let Some(last) = &mut ctx.last_key {
                    if e.key <= last.as_slice() {
                        self.warnings.push(Problem {
                            page: Some(view.page),
                            kind: ProblemKind::KeyOrder,
                            message: format!(
                                "page {}: key at element {i} (offset {}) is not after the previous key of bucket {:?}",
                                view.page, e.offset, ctx.stats.name
                            ),
                        });
                    }
                    last.clear();
                    last.extend_from_slice(e.key);
                } else {
                    ctx.last_key = Some(e.key.to_vec());
                }
            }
            ctx.stats.entries += 1;
            ctx.stats.key_bytes += e.key.len() as u64;
            let loc = Loc::new(view.page, e.offset);
            if e.is_bucket() {
                ctx.stats.nested_buckets += 1;
                let child =
                    match Bucket::from_value(e.value, Loc::new(view.page, e.value_offset), i) {
                        Ok(c) => c,
                        Err(err) => {
                            let _continue = self.fail(err)?;
                            continue;
                        }
                    };
                if visit(&Entry {
                    path: &self.path,
                    key: e.key,
                    value: None,
                    loc,
                })
                .is_break()
                {
                    return Ok(ControlFlow::Break(()));
                }
                if self.recurse {
                    self.path.push(e.key.to_vec());
                    let r = self.bucket(&child, depth + 1, None, visit);
                    self.path.pop();
                    if r?.is_break() {
                        return Ok(ControlFlow::Break(()));
                    }
                }
            } else {
                ctx.stats.value_bytes += e.value.len() as u64;
                if visit(&Entry {
                    path: &self.path,
                    key: e.key,
                    value: Some(e.value),
                    loc,
                })
                .is_break()
                {
                    return Ok(ControlFlow::Break(()));
                }
            }
        }
        Ok(ControlFlow::Continue(()))
    }
}

impl<S: ReadAt> Db<S> {
    /// Visit a bucket's entries in key order from the first key `>= start`,
    /// failing on the first structural problem. Nested buckets are given with
    /// `value: None` and not entered.
    pub fn for_each(
        &self,
        bucket: &Bucket,
        start: Option<&[u8]>,
        mut f: impl FnMut(&Entry<'_>) -> ControlFlow<()>,
    ) -> Result<(), BoltError> {
        Walker::new(self)
            .walk_bucket(bucket, start, &mut f)
            .map(|_| ())
    }

    /// The names of the top-level buckets, in order.
    pub fn bucket_names(&self) -> Result<Vec<Vec<u8>>, BoltError> {
        let mut names = Vec::new();
        self.for_each(&self.root(), None, |e| {
            if e.value.is_none() {
                names.push(e.key.to_vec());
            }
            ControlFlow::Continue(())
        })?;
        Ok(names)
    }
}
