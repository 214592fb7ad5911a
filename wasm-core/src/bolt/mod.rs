//! bbolt, read-only: the page format of etcd's backend database.
//!
//! Names mirror bbolt's Go source (`pgid`, `meta`, `page`) so the two can be
//! read side by side. Layouts are drawn in `docs/format.md`.

pub mod meta;
pub mod page;

pub use meta::{Meta, MetaError, MetaSlot};
pub use page::{PageHeader, PageId};
