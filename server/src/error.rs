//! The one error an API call ends with. `http/error.rs` turns it into a
//! response: the kind picks the status and a short message for the caller;
//! an internal error's detail is logged once on the server and never sent
//! (it may name paths or credentials).

/// An API call's failure.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No such thing (a snapshot id, a cluster name).
    #[error("{0}")]
    NotFound(String),
    /// The request cannot be done now (a snapshot already running).
    #[error("{0}")]
    Conflict(String),
    /// The request itself is wrong.
    #[error("{0}")]
    BadRequest(String),
    /// Anything else: logged with its detail, answered as "internal error".
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl From<anyhow::Error> for Error {
    fn from(e: anyhow::Error) -> Self {
        Error::Internal(e)
    }
}

impl From<crate::catalog::CatalogError> for Error {
    fn from(e: crate::catalog::CatalogError) -> Self {
        Error::Internal(e.into())
    }
}
