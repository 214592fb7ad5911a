//! The sizing rules, written once: the companion server's live status, the
//! planner and the page all call these functions, so a rule (quorum, the
//! member-count advice, etcd's disk-latency and quota guidance) lives here
//! and nowhere else. Pure functions of their arguments: no clock, no files
//! (a snapshot comes in as an open [`crate::snapshot::Snapshot`] over a
//! `ReadAt`, and [`headroom::measure`] only walks its pages).
//!
//! One file per concern, each naming its sources in its module doc:
//! - [`quorum`]: majority and tolerance, the member-count advice;
//! - [`rules`]: etcd's published thresholds as constants;
//! - [`domains`]: zones → which losses keep quorum, the smallest fix, placement;
//! - [`availability`]: the exact Markov model of member and zone failures;
//! - [`timing`]: heartbeat and election timeout from the RTT;
//! - [`hardware`]: the hardware guide's tiers;
//! - [`headroom`]: quota, fragmentation, compaction backlog, restore time;
//! - [`upgrade`]: the pre-upgrade checklist;
//! - [`warning`]: stable warning codes;
//! - [`assemble`]: all of it as one serialisable [`Plan`].

pub mod assemble;
pub mod availability;
pub mod domains;
pub mod hardware;
pub mod headroom;
pub mod quorum;
pub mod rules;
pub mod timing;
pub mod upgrade;
pub mod warning;

pub use assemble::{Plan, PlanError, PlanInput, plan};
pub use quorum::Quorum;
pub use warning::{Code, Warning};
