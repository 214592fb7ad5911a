//! HTTP: the only place axum is used. `router::app(state)` builds the router
//! (tests serve it on a loopback listener of their own); `server::serve`
//! binds and runs it.

pub mod auth;
pub mod csp;
pub mod error;
pub mod headers;
pub mod router;
pub mod routes;
pub mod server;
pub mod state;

pub use router::app;
pub use state::AppState;
