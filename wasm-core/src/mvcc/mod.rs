//! etcd's multi-version store as it lies in the `key` bucket: revision keys,
//! `mvccpb.KeyValue` values, the in-memory index built from them, and what a
//! restored member would answer: `HashKV` ([`hashkv`]) and a digest of the live
//! keys ([`digest`]).

pub mod digest;
pub mod hashkv;
pub mod index;
pub mod proto;
pub mod revision;

pub use digest::{LiveDigest, LiveDigestBuilder, live_digest};
pub use hashkv::{HashFamily, HashKv, hash_kv};
pub use index::{IndexBuilder, IndexBytesError, KeyHistory, KeyIndex, LiveKey, Presence};
pub use proto::KeyValue;
pub use revision::{Revision, RevisionError, RevisionKey};
