//! The walk at [`StreamStatus::finish`](super::StreamStatus::finish): from the
//! meta in force through the page summaries, in key order, joining the CRCs
//! into `status.rs`'s hash, replaying the `key` bucket's user keys for 3.6's
//! `totalKey` and finding `meta/storageVersion`; then the choice between the
//! two conventions, as [`Compat::of_file`] makes it.

use super::crc::combine;
use super::outcome::{StreamStatusError, StreamedStatus};
use super::pages::Pages;
use super::summary::{Child, Kind, Leaf, Slot};
use super::users::Live;
use crate::bolt::db::MAX_DEPTH;
use crate::bolt::header::OpenError;
use crate::bolt::page::{PAGE_HEADER_LEN, PageHeader, PageId};
use crate::bolt::{BoltError, Loc, PageSet};
use crate::status::{Compat, Status, semver};
use crate::trailer;

impl Pages {
    pub(super) fn finish(&self, total: u64) -> Result<StreamedStatus, StreamStatusError> {
        let db_len = trailer::database_len(total);
        if 2 * self.page_size > db_len {
            return Err(OpenError::TooSmall { len: total }.into());
        }
        let meta = self.meta();
        let needed = self.hwm.checked_mul(self.page_size);
        if needed.is_none_or(|n| n > db_len) {
            return Err(OpenError::Truncated {
                slot: meta.slot.page_id().0,
                pages: self.hwm,
                page_size: u32::try_from(self.page_size).unwrap_or(u32::MAX),
                needed_bytes: needed.unwrap_or(u64::MAX),
                have_bytes: db_len,
            }
            .into());
        }
        let mut walk = Walk {
            pages: self,
            seen: PageSet::new(PageId(self.hwm)),
            hash: 0,
            revision: 0,
            total_key: 0,
            live: Live::new(&self.users),
            v36_key: None,
            v36_value: None,
            storage_version: None,
        };
        walk.seen.insert(PageId(0));
        walk.seen.insert(PageId(1));
        // Where the root bucket's page id sits in the meta (as `Db::root`).
        let slot_page = meta.slot.page_id();
        let from = Loc::new(
            slot_page,
            self.offset_of(slot_page) + PAGE_HEADER_LEN as u64 + 16,
        );
        walk.tree(meta.root, from, 0, Role::Root)?;
        let v35 = Status {
            hash: walk.hash,
            revision: walk.revision,
            total_key: walk.total_key,
            total_size: self.hwm.saturating_mul(self.page_size),
            version: String::new(),
        };
        // `status.rs`'s order: a value it cannot decode, then a key 3.6
        // refuses, then `meta/storageVersion` that is not a value.
        let v36 = match (walk.v36_value, walk.v36_key, &walk.storage_version) {
            (Some(e), _, _) | (None, Some(e), _) => Err(e),
            (None, None, Some(Err(e))) => Err(e.clone().into()),
            (None, None, sv) => Ok(Status {
                total_key: walk.live.count(),
                version: match sv {
                    Some(Ok(v)) => semver(v).unwrap_or_default(),
                    _ => String::new(),
                },
                ..v35.clone()
            }),
        };
        // `Compat::of_file`: a `storageVersion` in `meta` means 3.6 or later
        // wrote the file. Known only now: `meta` (inline in the root leaf, or
        // its own page) may come anywhere in page order, and only the walk
        // says which copy of it is live. So both were computed on the way.
        let follows = match walk.storage_version {
            Some(Ok(_)) => Compat::V36,
            _ => Compat::V35,
        };
        let (status, other) = match follows {
            Compat::V35 => (v35, v36),
            Compat::V36 => (v36?, Ok(v35)),
        };
        Ok(StreamedStatus {
            status,
            follows,
            other,
            database_len: db_len,
            has_trailer: trailer::has_trailer(total),
            meta: meta.clone(),
        })
    }
}

/// Which tree a page is in.
#[derive(Debug, Clone, Copy)]
enum Role {
    /// The root bucket's: its entries are the top-level buckets.
    Root,
    /// A top-level bucket's.
    Bucket(Kind),
}

/// The walk at `finish`, in `status.rs`'s order, over the summaries.
struct Walk<'p> {
    pages: &'p Pages,
    seen: PageSet,
    hash: u32,
    revision: i64,
    total_key: u64,
    /// 3.6's live keys, replayed in key order.
    live: Live,
    /// The first `key`-bucket key 3.6 refuses, in key order.
    v36_key: Option<StreamStatusError>,
    /// The first `key`-bucket value 3.6 cannot decode, in key order.
    v36_value: Option<StreamStatusError>,
    /// `meta/storageVersion`, the first in key order.
    storage_version: Option<Result<Vec<u8>, BoltError>>,
}

impl Walk<'_> {
    fn tree(
        &mut self,
        id: PageId,
        from: Loc,
        depth: u32,
        role: Role,
    ) -> Result<(), StreamStatusError> {
        if depth >= MAX_DEPTH {
            return Err(BoltError::TooDeep {
                page: id,
                from,
                max: MAX_DEPTH,
            }
            .into());
        }
        let pages = self.pages;
        let hwm = PageId(pages.hwm);
        if id.0 >= hwm.0 {
            return Err(BoltError::OutOfBounds {
                page: id,
                from,
                hwm,
            }
            .into());
        }
        // The metas are marked, so the slot lookup below is for ids >= 2.
        if !self.seen.insert(id) {
            return Err(BoltError::MultipleReferences { page: id, from }.into());
        }
        let offset = pages.offset_of(id);
        match pages.slot(id) {
            None | Some(Slot::Pending) => Err(BoltError::Read {
                page: id,
                offset,
                len: pages.page_size,
                reason: "the stream ended inside this page".into(),
            }
            .into()),
            Some(Slot::NotAPage { found }) => Err(BoltError::IdMismatch {
                page: id,
                offset,
                found: *found,
            }
            .into()),
            Some(Slot::NotTree { flags }) => Err(BoltError::PageType {
                page: id,
                offset,
                expected: "branch or leaf",
                found: PageHeader {
                    id,
                    flags: *flags,
                    count: 0,
                    overflow: 0,
                }
                .kind(),
            }
            .into()),
            Some(Slot::Bad(e)) => Err((**e).clone()),
            Some(Slot::Branch { children, overflow }) => {
                self.overflow(id, *overflow, from)?;
                for (i, child) in children.iter().enumerate() {
                    let at = offset + PAGE_HEADER_LEN as u64 + 16 * i as u64;
                    self.tree(*child, Loc::new(id, at), depth + 1, role)?;
                }
                Ok(())
            }
            Some(Slot::Leaf(leaf)) => {
                self.overflow(id, leaf.overflow, from)?;
                match role {
                    Role::Root => self.root_leaf(leaf, depth),
                    Role::Bucket(kind) => self.entries(leaf, kind),
                }
            }
        }
    }

    /// Mark a page's overflow pages (bounded: `classify` checked them against the hwm).
    fn overflow(&mut self, id: PageId, overflow: u32, from: Loc) -> Result<(), StreamStatusError> {
        for i in 1..=u64::from(overflow) {
            let page = PageId(id.0 + i);
            if !self.seen.insert(page) {
                return Err(BoltError::MultipleReferences { page, from }.into());
            }
        }
        Ok(())
    }

    /// A root-tree leaf: top-level bucket names (and any plain keys) are
    /// hashed, each bucket's entries after its name.
    fn root_leaf(&mut self, leaf: &Leaf, depth: u32) -> Result<(), StreamStatusError> {
        if let Some(x) = leaf.rare() {
            if let Some(e) = &x.bad_bucket {
                return Err(e.clone().into());
            }
            for b in &x.buckets {
                self.hash = combine(self.hash, b.lead);
                match &b.child {
                    Child::Page(root) => {
                        self.tree(*root, b.at, depth + 1, Role::Bucket(b.kind))?;
                    }
                    Child::Inline(inline) => self.entries(inline, b.kind)?,
                    Child::Bad(e) => return Err((**e).clone()),
                }
            }
        }
        self.hash = combine(self.hash, leaf.tail);
        Ok(())
    }

    /// A leaf of a top-level bucket: its entries.
    fn entries(&mut self, leaf: &Leaf, kind: Kind) -> Result<(), StreamStatusError> {
        let rare = leaf.rare();
        if let Some(x) = rare {
            if let Some(e) = &x.bad_bucket {
                return Err(e.clone().into());
            }
            if kind == Kind::Key
                && let Some(b) = &x.bad_revision
            {
                return Err(StreamStatusError::RevisionKey {
                    at: b.at,
                    index: b.index,
                    key_hex: hex::encode(&b.key),
                    error: b.error.clone(),
                });
            }
        }
        self.hash = combine(self.hash, leaf.entries);
        self.total_key += u64::from(leaf.count);
        match kind {
            Kind::Key => {
                if leaf.count > 0 {
                    self.revision = leaf.last_main;
                }
                // After a value 3.6 cannot decode its status is an error:
                // the replay may stop.
                if self.v36_value.is_some() {
                    return Ok(());
                }
                if let Some(x) = rare {
                    if self.v36_key.is_none() {
                        self.v36_key.clone_from(&x.v36_key);
                    }
                    if let Some(e) = &x.v36_value {
                        self.v36_value = Some(e.clone());
                        return Ok(());
                    }
                }
                self.live.apply(leaf.users());
            }
            Kind::Meta => {
                if self.storage_version.is_none() {
                    self.storage_version = rare.and_then(|x| x.storage_version.clone());
                }
            }
            Kind::Other => {}
        }
        Ok(())
    }
}
