//! Small view pieces shared by pages.

pub mod drop_zone;
pub mod file_report;
