//! One file per page.

pub mod inspect;
pub mod live;
pub mod planner;
