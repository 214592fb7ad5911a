//! Messages between the page and the worker, as JSON strings.
//!
//! A request to the worker is a JS array `[json, blob?]`: the JSON names the
//! request, the `Blob` (the user's file) travels beside it without being copied.
//! Replies are JSON strings.

use etcd_lens_core::inspect::Header;
use etcd_lens_core::trailer::TrailerStatus;
use serde::{Deserialize, Serialize};

/// Page → worker.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToWorker {
    /// Open the file sent beside this message.
    Open { name: String },
}

/// What a progress report is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// SHA-256 over the database bytes, for the trailer.
    Hashing,
}

/// Worker → page.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FromWorker {
    /// The worker's message handler is installed; requests may be sent.
    Ready,
    /// The bbolt header was read (instant: two pages).
    Header {
        header: Box<Header>,
    },
    Progress {
        phase: Phase,
        done_bytes: u64,
        total_bytes: u64,
    },
    Trailer {
        status: TrailerStatus,
    },
    /// Opening failed; the message is for the user.
    Failed {
        message: String,
    },
    /// Everything for this file is done.
    Finished,
}
