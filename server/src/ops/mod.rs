//! What the API and the CLI both do, with the same code: take a snapshot
//! and record it, list, delete, and write the audit log. Glue between the
//! domain rooms (`etcd`, `snapshot`) and the catalog; no axum, no clap.

pub mod alerts;
pub mod audit;
pub mod defrag;
pub mod drill;
pub mod find;
pub mod retention;
pub mod run;
pub mod schedule_edit;
pub mod scheduler;
pub mod scorecard;
pub mod ship;
pub mod snapshots;
pub mod sync;

pub use run::Services;
pub use snapshots::{Jobs, SnapshotView};
