//! One file per page.

pub mod inspect;
