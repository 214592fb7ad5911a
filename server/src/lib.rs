//! etcd-lens companion server and CLI.
//!
//! - `cli`: argument parsing and the file commands (thin over `etcd-lens-core`).
//! - `config`, `auth`, `csp`, `catalog`: the server's pieces; `app()` builds the router
//!   so tests serve it on a loopback listener of their own.

pub mod auth;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod csp;
pub mod serve;

pub use serve::{AppState, app};
