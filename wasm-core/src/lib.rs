//! etcd-lens core: reads etcd snapshots (bbolt files) through a random-access
//! byte source and turns them into plain values.
//!
//! Invariants, kept everywhere in this crate:
//! - No I/O, no clock, no threads, no web APIs: bytes come in through
//!   [`source::ReadAt`], values go out. It builds for `wasm32-unknown-unknown`.
//! - Untrusted bytes never panic and never make us allocate more than the file
//!   justifies; every problem is a typed error naming the page and offset.
//! - Offsets and sizes are `u64`: snapshots exceed 4 GiB, wasm32's `usize` is 32 bits.
#![forbid(unsafe_code)]
#![deny(clippy::cast_possible_truncation)]

pub mod age;
pub mod apply;
pub mod audit;
pub mod bolt;
pub mod container;
pub mod diff;
#[doc(hidden)]
pub mod fuzzing;
pub mod inspect;
pub mod k8s;
pub mod metrics;
pub mod mvcc;
pub mod plan;
pub mod restore;
pub mod scorecard;
pub mod snapshot;
pub mod source;
pub mod status;
pub mod trailer;
pub mod units;
pub mod yaml;

pub use source::{BlockCache, MemSource, ReadAt, SourceError};
