//! etcd's multi-version store as it lies in the `key` bucket: revision keys,
//! `mvccpb.KeyValue` values, and the in-memory index built from them.

pub mod index;
pub mod proto;
pub mod revision;

pub use index::{KeyHistory, KeyIndex, LiveKey};
pub use proto::KeyValue;
pub use revision::{Revision, RevisionError, RevisionKey};
