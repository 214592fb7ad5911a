//! The worker protocol's part for comparing two snapshots and for objects
//! made ready for `kubectl apply` (issue #19). The diff itself is the core's
//! (`etcd_lens_core::diff`); these are its views for the page.

use etcd_lens_core::diff::{Change, GroupCounts};
use serde::{Deserialize, Serialize};

use super::RevisionValue;

/// Most changed keys sent to the page at once (the counts cover all).
pub const MAX_CHANGE_ROWS: usize = 20_000;

/// One changed key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeRow {
    pub key: String,
    pub key_hex: String,
    pub change: Change,
    pub recreated: bool,
    pub resource: Option<String>,
    pub namespace: Option<String>,
    pub kind: Option<String>,
    /// What changed, in a few words (the core's `KeyChange::describe`).
    pub what: String,
}

/// Two snapshots compared: the open one and the one chosen to compare with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompareView {
    /// The file compared with.
    pub other_name: String,
    /// The open file is the older of the two (by revision).
    pub open_is_old: bool,
    pub same_cluster: bool,
    pub old_revision: i64,
    pub new_revision: i64,
    pub added: u64,
    pub removed: u64,
    pub modified: u64,
    pub unchanged: u64,
    pub unchanged_by_revision: u64,
    pub noise_only: u64,
    /// Per resource and namespace, sorted.
    pub groups: Vec<GroupCounts>,
    /// The first [`MAX_CHANGE_ROWS`] changed keys, in key order.
    pub rows: Vec<ChangeRow>,
    pub milliseconds: f64,
}

/// One changed key on both sides, for the line diff.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompareKeyView {
    pub key: String,
    pub key_hex: String,
    pub old: RevisionValue,
    pub new: RevisionValue,
    /// A Secret on either side: values are masked until revealed.
    pub is_secret: bool,
}

/// What to make ready for `kubectl apply`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ApplyTarget {
    /// One key, at a retained revision (the latest when `None`).
    Key { key_hex: String, rev: Option<i64> },
    /// Every live object under a tree node's prefix.
    Prefix { prefix: String },
}

/// One YAML file to download.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct YamlFile {
    pub file_name: String,
    /// Multi-document YAML.
    pub yaml: String,
}

/// YAML for `kubectl apply`, to download: one file, or two when Namespaces
/// or CRDs must be applied (and established) before the rest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyFile {
    pub files: Vec<YamlFile>,
    pub objects: usize,
    /// The `kubectl` commands to run, in order (with the wait for CRDs).
    pub commands: Vec<String>,
    /// Keys left out, each with its reason.
    pub skipped: Vec<String>,
    /// Notes on changed fields.
    pub notes: Vec<String>,
    /// Secret data is in the file (asked for explicitly).
    pub has_secret_data: bool,
}
