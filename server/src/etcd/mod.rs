//! Talking to live etcd clusters: connections with the cluster's TLS and
//! credentials, the status of every member, their metrics, and the snapshot
//! stream. No axum, clap or redb here; callers pass the time in.

pub mod cache;
pub mod connect;
pub mod election;
pub mod maintenance;
pub mod metrics;
pub mod snapshot;
pub mod status;

pub use connect::EtcdError;
pub use status::{ClusterStatus, MemberStatus, Verdict};
