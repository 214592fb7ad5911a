//! etcd-lens companion server and CLI.
//!
//! Rooms (ARCHITECTURE.md has the rule): `cli/` is the only place clap is
//! used (one file per command), `http/` the only place axum is (router,
//! state, auth, headers, routes), `catalog/` the only place redb is;
//! `config` holds the server's settings. Domain modules added later (etcd,
//! snapshot, schedule, retention, ship, drill, metrics) import none of the three.

pub mod catalog;
pub mod cli;
pub mod config;
pub mod drill;
pub mod error;
pub mod etcd;
pub mod http;
pub mod metrics;
pub mod ops;
pub mod records;
pub mod retention;
pub mod schedule;
pub mod ship;
pub mod snapshot;

pub use http::{AppState, app};
