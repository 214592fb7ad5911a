//! The etcd-lens page and its worker.
//!
//! - `protocol`: the only types that cross between page and worker.
//! - `web`: all web-sys/wasm-bindgen glue (worker client, blob source).
//! - `pages`, `components`: Leptos views; they read signals and never touch bytes.
//! - `state`, `live`, `planner`: what the inspector and the Live page show, folded and
//!   formatted without browser types (unit-tested natively).

pub mod components;
pub mod live;
pub mod live_state;
pub mod pages;
pub mod planner;
pub mod protocol;
pub mod route;
pub mod secret;
pub mod shell;
pub mod state;
pub mod web;
pub mod worker;
