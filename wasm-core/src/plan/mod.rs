//! The sizing rules, written once: the companion server's live status, the
//! planner and the page all call these functions, so a rule (quorum, the
//! member-count advice, etcd's disk-latency and quota guidance) lives here
//! and nowhere else. Pure functions of their arguments.

pub mod quorum;
pub mod rules;

pub use quorum::Quorum;
