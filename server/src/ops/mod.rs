//! What the API and the CLI both do, with the same code: take a snapshot
//! and record it, list, delete, and write the audit log. Glue between the
//! domain rooms (`etcd`, `snapshot`) and the catalog; no axum, no clap.

pub mod audit;
pub mod retention;
pub mod scheduler;
pub mod snapshots;

pub use snapshots::{Jobs, SnapshotView};
