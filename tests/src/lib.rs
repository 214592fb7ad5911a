//! End-to-end harness: the real server and headless Chromium; a real etcd and
//! fixtures come from `etcd-lens-testkit` (re-exported here).
//!
//! - [`server::Server`]: the real `etcd-lens` router on a loopback listener.
//! - [`browser::Browser`]: headless Chromium through chromedriver (fantoccini),
//!   the whole process group killed on drop so a failed test leaves nothing behind.

pub mod browser;
pub mod server;

pub use etcd_lens_testkit::{etcd, fixture, free_port, wait_for, wait_for_port, workspace_root};
