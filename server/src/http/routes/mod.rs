//! One file per resource; each handler parses, calls `ops`/`etcd`/`catalog`, maps the result.

pub mod clusters;
pub mod health;
pub mod metrics;
pub mod snapshots;
