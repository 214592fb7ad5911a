//! The first look at a file, for the page and the CLI: the bbolt header
//! (page size, both metas, the meta in force, warnings), read from two pages.
//! The probe itself lives in [`crate::bolt::header`]; this is its public face.

pub use crate::bolt::header::*;
