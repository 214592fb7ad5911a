//! View pieces: one file per screen part. They read signals and never touch bytes.

pub mod apply_download;
pub mod audit;
pub mod audit_summary;
pub mod compare;
pub mod file_report;
pub mod key_detail;
pub mod key_list;
pub mod key_tree;
pub mod live_scorecard;
pub mod live_snapshots;
pub mod live_status;
pub mod overview;
pub mod passes;
pub mod restore_runbook;
pub mod shell;
pub mod space;
pub mod unlock;
pub mod welcome;
