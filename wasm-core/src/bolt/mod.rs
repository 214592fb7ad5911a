//! bbolt, read-only: the page format of etcd's backend database.
//!
//! Layers, bottom up: `page` (the 16-byte header) and `meta`; `element`
//! (borrowed views of branch/leaf records); `db` (page reads through a bounded
//! `cache`, point lookups); `walk` (bounded in-order traversal); `freelist`;
//! `check` (bbolt's `tx.Check()` and page statistics).
//! Names mirror bbolt's Go source (`pgid`, `meta`, `page`) so the two can be
//! read side by side. Layouts are drawn in `docs/format.md`.

pub mod cache;
pub mod check;
pub mod db;
pub mod element;
pub mod error;
pub mod freelist;
pub mod header;
pub mod meta;
pub mod page;
pub mod problem;
pub mod walk;

pub use check::{CheckReport, FreelistState, PageStats, Problem, ProblemKind, check, check_with};
pub use db::{Bucket, Db, MAX_DEPTH};
pub use element::{BucketHeader, PageView};
pub use error::{BoltError, Loc};
pub use meta::{Meta, MetaError, MetaSlot};
pub use page::{PageHeader, PageId};
pub use walk::{BucketStats, Entry, PageSet, Walker};
