//! Messages between the page and the worker, as JSON strings.
//!
//! A request to the worker is a JS array `[json, blob?]`: the JSON names the
//! request, the `Blob` (the user's file) travels beside it without being copied.
//! Replies are JSON strings. These are the only types the page and the worker
//! share; the worker maps the core's types into them.

use etcd_lens_core::audit::{Exposure, Rule, Severity};
use etcd_lens_core::bolt::Problem;
use etcd_lens_core::inspect::Header;
use etcd_lens_core::plan::headroom::SnapshotFacts;
use etcd_lens_core::trailer::TrailerStatus;
use serde::{Deserialize, Serialize};

pub mod compare;
pub use compare::{ApplyFile, ApplyTarget, ChangeRow, CompareKeyView, CompareView, YamlFile};

/// Page → worker.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToWorker {
    /// Open the file sent beside this message.
    Open { name: String },
    /// A page of the live keys matching a query.
    List { seq: u32, query: KeyQuery },
    /// One key in detail.
    Key { seq: u32, key_hex: String },
    /// Run the secret audit, with the API server's EncryptionConfiguration YAML if given.
    /// It runs a slice of keys at a time, after the passes, between other
    /// requests; a new one replaces an audit still running.
    Audit {
        seq: u32,
        encryption_config: Option<String>,
    },
    /// Stop the audit with this `seq` (answered by `AuditCancelled`).
    CancelAudit { seq: u32 },
    /// One export of the last audit, made on request (not with every audit).
    Export {
        seq: u32,
        format: ExportFormat,
        /// The file's name, for the SARIF artifact location.
        file_name: String,
    },
    /// The secret for an age-encrypted file (after `NeedSecret`).
    Unlock { secret: UnlockSecret },
    /// The children of one node of the key tree (`""` for the root).
    Tree { seq: u32, prefix: String },
    /// Open the file sent beside this message as the snapshot to compare with
    /// (a second session: the open file stays open).
    OpenCompare { name: String },
    /// The secret for an age-encrypted file to compare with.
    UnlockCompare { secret: UnlockSecret },
    /// Close the file compared with.
    CloseCompare,
    /// One changed key on both sides.
    CompareKey { seq: u32, key_hex: String },
    /// An object, or a tree node's objects, as YAML for `kubectl apply`.
    ForApply {
        seq: u32,
        target: ApplyTarget,
        /// Put Secret data in the file: only after the user confirmed it.
        include_secret_data: bool,
        /// From the snapshot compared with, not the open one.
        from_compared: bool,
    },
}

/// What the user typed or pasted to open an age file. Stays in the tab.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum UnlockSecret {
    Passphrase {
        passphrase: String,
    },
    /// An `AGE-SECRET-KEY-1…` identity file or an OpenSSH private key.
    Identity {
        identity: String,
        ssh_key_passphrase: Option<String>,
    },
}

/// Which keys to list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyQuery {
    /// Keys starting with this (bytes of the UTF-8 text).
    pub prefix: String,
    /// Keys containing this, anywhere.
    pub contains: String,
    /// Only this Kubernetes resource (e.g. `secrets`), empty for all.
    pub resource: String,
    /// Only this namespace, empty for all.
    pub namespace: String,
    /// The order of the rows (key order unless asked).
    #[serde(default)]
    pub sort: SortBy,
    /// Largest (or last) first.
    #[serde(default)]
    pub descending: bool,
    pub offset: u32,
    pub limit: u32,
}

/// What the key list is ordered by: the key (the index's own order), or a
/// field of the live version the index holds for every key. Ties keep key order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortBy {
    #[default]
    Key,
    /// The live version's mod revision (when it was last written).
    Revision,
    /// The live version's version (writes since it was created).
    Version,
    /// The live value's size.
    Size,
}

impl SortBy {
    pub const ALL: [SortBy; 4] = [SortBy::Key, SortBy::Revision, SortBy::Version, SortBy::Size];

    pub fn id(self) -> &'static str {
        match self {
            SortBy::Key => "key",
            SortBy::Revision => "revision",
            SortBy::Version => "version",
            SortBy::Size => "size",
        }
    }

    /// The field's name in words.
    pub fn label(self) -> &'static str {
        match self {
            SortBy::Key => "key",
            SortBy::Revision => "mod revision",
            SortBy::Version => "version",
            SortBy::Size => "value size",
        }
    }

    /// The column's head (short: the columns are narrow).
    pub fn head(self) -> &'static str {
        match self {
            SortBy::Key => "Key",
            SortBy::Revision => "Rev",
            SortBy::Version => "Ver",
            SortBy::Size => "Size",
        }
    }
}

/// The passes over the file, in the order the worker runs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// The walk over every bucket for `etcdutl snapshot status` (the overview waits for it).
    Status,
    /// bbolt's consistency check over every page (done by the same walk).
    Check,
    /// The scan of the `key` bucket that the key list and history need.
    Index,
    /// Bytes per resource and namespace.
    Space,
    /// SHA-256 over the database bytes, for the trailer.
    Hashing,
}

impl Phase {
    pub const ALL: [Phase; 5] = [
        Phase::Status,
        Phase::Check,
        Phase::Index,
        Phase::Space,
        Phase::Hashing,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Phase::Status => "snapshot status (every bucket walked)",
            Phase::Index => "key index (the key bucket scanned)",
            Phase::Check => "consistency check (every page, in the status walk)",
            Phase::Space => "space per resource and namespace",
            Phase::Hashing => "SHA-256 of the file",
        }
    }
}

/// Worker → page.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FromWorker {
    /// The worker's message handler is installed; requests may be sent.
    Ready,
    /// The file is age-encrypted: ask for this secret, then send `Unlock`.
    NeedSecret {
        prompt: SecretPrompt,
    },
    /// The secret did not open the file; ask again.
    UnlockFailed {
        message: String,
    },
    /// Layers peeled off before the bbolt file: "age (passphrase)", "zstd", …
    Layers {
        layers: Vec<String>,
    },
    /// The bbolt header was read (instant: two pages).
    Header {
        header: Box<Header>,
    },
    /// The etcd overview: status, meta, members, auth, space.
    Overview {
        overview: Box<Overview>,
    },
    /// Bytes read so far in a pass; `elapsed_ms` since the pass began.
    Progress {
        phase: Phase,
        done_bytes: u64,
        total_bytes: u64,
        elapsed_ms: f64,
    },
    /// A background pass failed; the rest of the file stays usable.
    PhaseFailed {
        phase: Phase,
        message: String,
    },
    /// A pass is over.
    PhaseDone {
        phase: Phase,
        elapsed_ms: f64,
        /// Workers that read the file for it at once (1 but for a status
        /// walked in parts, and the key index built from those parts).
        readers: u32,
    },
    /// The key index is built: the key list, tree and history can be asked for.
    Indexed {
        index: Box<IndexView>,
    },
    /// The consistency check is over.
    Checked {
        check: Box<CheckView>,
    },
    /// Bytes per resource and namespace are counted.
    Space {
        space: Box<SpaceUsage>,
    },
    /// The children of a node of the key tree, for the request with this `seq`.
    Tree {
        seq: u32,
        prefix: String,
        nodes: Vec<TreeNode>,
    },
    Trailer {
        status: TrailerStatus,
    },
    /// A page of keys for the query with this `seq`.
    Keys {
        seq: u32,
        page: KeyPage,
    },
    /// One key in detail for the request with this `seq`.
    Key {
        seq: u32,
        detail: Box<KeyDetail>,
    },
    /// The audit for the request with this `seq`.
    Audit {
        seq: u32,
        audit: Box<AuditView>,
    },
    /// How far the audit with this `seq` is: keys audited of every key
    /// (live or deleted); the page scan and the snapshot's rules follow.
    AuditProgress {
        seq: u32,
        keys_done: u64,
        keys_total: u64,
    },
    /// The audit with this `seq` was stopped on request.
    AuditCancelled {
        seq: u32,
    },
    /// An export of the last audit, ready to download.
    Exported {
        seq: u32,
        format: ExportFormat,
        content: String,
    },
    /// A request after opening failed (the file stays open).
    RequestFailed {
        seq: u32,
        message: String,
    },
    /// Opening failed; the message is for the user.
    Failed {
        message: String,
    },
    /// Everything for this file is done.
    Finished,
    /// The file to compare with is age-encrypted: ask for this secret, then send `UnlockCompare`.
    CompareNeedSecret {
        prompt: SecretPrompt,
    },
    /// The secret did not open the file to compare with.
    CompareUnlockFailed {
        message: String,
    },
    /// The file to compare with is being read (its layers so far).
    CompareProgress {
        step: String,
    },
    /// The comparison is ready.
    Compared {
        compare: Box<CompareView>,
    },
    /// Opening or comparing the other file failed; the open file stays.
    CompareFailed {
        message: String,
    },
    /// One changed key on both sides, for the request with this `seq`.
    CompareKey {
        seq: u32,
        view: Box<CompareKeyView>,
    },
    /// A YAML file for `kubectl apply`, for the request with this `seq`.
    ForApply {
        seq: u32,
        file: Box<ApplyFile>,
    },
    /// The worker's WebAssembly memory now (it never shrinks): posted with
    /// `Finished`, so a test can see that closed files are freed.
    Memory {
        bytes: u64,
    },
}

/// Which secret an age file needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretPrompt {
    /// A passphrase (scrypt) file; otherwise an identity.
    pub passphrase: bool,
    /// Recipient types in the header: `X25519`, `ssh-ed25519`, `ssh-rsa`.
    pub recipient_types: Vec<String>,
}

/// `etcdutl snapshot status` numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusView {
    pub hash: u32,
    pub revision: i64,
    /// As `tool` counts it.
    pub total_key: u64,
    /// Which tool's numbers these are: `etcdutl 3.6` when the snapshot has a
    /// storage version (3.6 wrote it), else `etcdctl 3.4 / etcdutl 3.5`.
    pub tool: String,
    /// The other tool's count: every key of every bucket (3.4/3.5) or the
    /// live keys of the key bucket (3.6); `None` when that tool refuses the
    /// file (3.6 rejects revision keys that 3.5 reads).
    pub other_total_key: Option<u64>,
    pub other_tool: String,
    pub total_size: u64,
    /// Storage version (etcd 3.6), empty when absent.
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberView {
    pub id: String,
    pub name: String,
    pub peer_urls: Vec<String>,
    pub client_urls: Vec<String>,
    pub is_learner: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserView {
    pub name: String,
    pub roles: Vec<String>,
    /// The hash's scheme, the rest masked; never the hash.
    pub password: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleView {
    pub name: String,
    /// `readwrite /registry/ .. /registry0`-style lines.
    pub permissions: Vec<String>,
}

/// Bytes per resource (or namespace) for the space view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpaceRow {
    pub name: String,
    pub objects: u64,
    pub live_bytes: u64,
    pub history_bytes: u64,
}

/// One node of the key tree: the keys under `prefix`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeNode {
    /// The last path segment (`secrets/`), for display.
    pub segment: String,
    /// The whole prefix (`/registry/secrets/`), for the next request and the list filter.
    pub prefix: String,
    /// Live keys under this prefix (the key itself included).
    pub keys: u64,
    /// Bytes of their live values.
    pub bytes: u64,
    /// A live key equals this prefix exactly.
    pub key_hex: Option<String>,
    /// Keys below this node, i.e. it can be expanded.
    pub has_children: bool,
    /// What the API server keeps here, for its bookkeeping keys (the core's `KeyRole` label).
    pub role: Option<String>,
}

/// Keys by how many revisions of them are retained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistogramBin {
    /// `1`, `2`, `3–4`, …
    pub label: String,
    pub keys: u64,
}

/// What the key index tells: counts and the revisions histogram.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexView {
    pub live_keys: u64,
    /// Keys with any retained revision, and revisions retained in all.
    pub keys_with_history: u64,
    pub revisions: u64,
    pub revisions_histogram: Vec<HistogramBin>,
    /// The keys with the most retained revisions: (key, revisions).
    pub most_revisions: Vec<(String, u64)>,
    /// What the planner reads from the file (page counts from the check,
    /// revisions from the index): set by the index pass.
    pub plan_facts: Option<SnapshotFacts>,
    /// What the restore runbook reads from the file: set by the index pass
    /// (the revision and the Kubernetes check need the index).
    #[serde(default)]
    pub restore_facts: Option<RestoreFacts>,
}

/// What the restore runbook takes from the open file, as `etcd-lens
/// restore-plan FILE` reads it (the page then computes the runbook with the
/// core's `restore::plan`, on every edit, with no request).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreFacts {
    /// The `members` bucket as the runbook takes it (the core's
    /// `restore::members_from_snapshot`), in member-id order; empty with
    /// `members_error` when it cannot (no members, or one never started).
    pub members: Vec<RestoreMember>,
    pub members_error: Option<String>,
    /// `cluster/clusterVersion` as stored (`3.5.0`: major.minor, patch 0).
    pub cluster_version: Option<String>,
    /// The revision a restored member serves (etcd's `currentRev` after restore).
    pub revision: i64,
    /// The file ends in the SHA-256 trailer of `etcdctl snapshot save` (by its length).
    pub has_trailer: bool,
    /// A live key under `/registry/`: the runbook adds the API servers' steps.
    pub kubernetes: bool,
}

/// A member of the snapshot, as the restore runbook takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreMember {
    pub name: String,
    pub peer_urls: Vec<String>,
    pub client_urls: Vec<String>,
    pub learner: bool,
}

/// bbolt's consistency check and page accounting.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckView {
    /// Problems (empty = passed) and warnings, each with its kind and page.
    pub problems: Vec<Problem>,
    pub warnings: Vec<Problem>,
    pub in_use_pages: u64,
    pub free_pages: u64,
    pub unreachable_pages: u64,
}

/// Bytes per resource and per namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpaceUsage {
    pub resources: Vec<SpaceRow>,
    pub namespaces: Vec<SpaceRow>,
    /// Key-bucket entries that did not decode, and their bytes (not in the rows).
    pub undecodable_entries: u64,
    pub undecodable_bytes: u64,
}

/// The status numbers that need no walk (a few page reads), shown at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirstStatusView {
    /// The last `key`-bucket key's main revision (`None`: only the walk knows).
    pub revision: Option<i64>,
    pub total_size: u64,
    pub version: String,
    /// Whose numbers: as [`StatusView::tool`].
    pub tool: String,
}

/// The first screen after opening: posted at once with the numbers a few
/// page reads give, then again when the status walk is over (`status_final`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    /// `None` with `status_error` when etcd's tools would refuse the file,
    /// and `None` without it until the walk is over.
    pub status: Option<StatusView>,
    pub status_error: Option<String>,
    /// The walk is over: `status` or `status_error` is final.
    pub status_final: bool,
    /// What is known before the walk.
    pub first: Option<FirstStatusView>,
    pub consistent_index: Option<u64>,
    pub term: Option<u64>,
    pub compact_scheduled: Option<i64>,
    pub compact_finished: Option<i64>,
    pub storage_version: Option<String>,
    pub cluster_version: Option<String>,
    pub members: Vec<MemberView>,
    pub removed_members: Vec<String>,
    pub auth_enabled: bool,
    pub users: Vec<UserView>,
    pub roles: Vec<RoleView>,
    pub alarms: Vec<String>,
    pub leases: u64,
    pub buckets: Vec<String>,
    pub page_size: u64,
    /// The database's size by its meta page (high-water mark × page size).
    pub db_bytes: u64,
    pub warnings: Vec<String>,
}

/// One live key in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRow {
    /// Lossy UTF-8 for display.
    pub key: String,
    /// Exact bytes, for requests and deep links.
    pub key_hex: String,
    pub mod_revision: i64,
    pub version: i64,
    pub value_size: u64,
    pub resource: String,
    pub namespace: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyPage {
    /// Live keys matching the query.
    pub total: u64,
    pub offset: u32,
    pub rows: Vec<KeyRow>,
    /// Resources and namespaces present (for the filters).
    pub resources: Vec<String>,
    pub namespaces: Vec<String>,
}

/// One retained revision of a key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RevisionView {
    pub main: i64,
    pub sub: i64,
    pub deleted: bool,
    pub version: i64,
    pub value_size: u64,
    /// What the revision holds, for its line in the history and the diff.
    pub value: RevisionValue,
}

/// A retained revision's value, as the history diff shows it. The page masks
/// a Secret's `data`/`stringData` in [`RevisionValue::Object`] exactly as it
/// does in the detail view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RevisionValue {
    /// A tombstone: the key was deleted at this revision.
    Deleted,
    /// The decoded Kubernetes object (decrypted in the tab when the pasted
    /// EncryptionConfiguration could).
    Object {
        object: serde_json::Value,
        decrypted_with: Option<String>,
    },
    /// Encrypted at rest and not decrypted here.
    Encrypted { provider: String, key_name: String },
    /// Not a Kubernetes object: the value as text (lossy), capped.
    Text { text: String },
}

/// A key in detail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyDetail {
    pub key: String,
    pub key_hex: String,
    /// What the API server keeps at this key, for its bookkeeping keys (the core's `KeyRole` label).
    pub role: Option<String>,
    /// `None` when the key's latest revision is a tombstone.
    pub create_revision: Option<i64>,
    pub mod_revision: Option<i64>,
    pub version: Option<i64>,
    pub lease: Option<i64>,
    pub value_size: u64,
    /// protobuf | json | cbor | encrypted | opaque
    pub encoding: String,
    /// For encrypted values: provider and key name.
    pub provider: Option<String>,
    pub key_name: Option<String>,
    /// Decrypted here with this key of the pasted EncryptionConfiguration.
    pub decrypted_with: Option<String>,
    /// Why an encrypted value was not decrypted with the pasted configuration.
    pub decrypt_error: Option<String>,
    pub api_version: Option<String>,
    pub kind: Option<String>,
    /// The decoded object, when it decodes.
    pub object: Option<serde_json::Value>,
    pub decode_error: Option<String>,
    /// A Secret, by its key (`/registry/secrets/…`) or by the kind any of its
    /// revisions decodes to: its values are masked everywhere until revealed.
    pub is_secret: bool,
    /// The value as text when it is UTF-8, else `None` (see `hex`).
    pub text: Option<String>,
    /// The first bytes of the value in hex.
    pub hex: String,
    pub truncated: bool,
    pub history: Vec<RevisionView>,
}

/// One audit finding, as the page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingRow {
    pub rule: Rule,
    pub severity: Severity,
    pub key: String,
    /// For the link to the key browser; empty when the finding has no key.
    pub key_hex: String,
    pub namespace: String,
    pub name: String,
    pub revision: Option<i64>,
    pub provider: String,
    pub key_name: String,
    pub message: String,
}

/// The audit's results and its exports, ready to download.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditView {
    /// Whether Secret values can be read from the file: the header's chip.
    pub exposure: Exposure,
    /// Findings per severity, highest first (0 included): the overview's summary.
    pub by_severity: Vec<(Severity, u64)>,
    /// `(label, value)` lines of the census.
    pub census: Vec<(String, String)>,
    pub findings: Vec<FindingRow>,
    pub warnings: Vec<String>,
}

/// The audit's export formats (each built by the core's `audit::export`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    Json,
    Csv,
    Sarif,
    Html,
}

impl ExportFormat {
    pub const ALL: [ExportFormat; 4] = [
        ExportFormat::Json,
        ExportFormat::Csv,
        ExportFormat::Sarif,
        ExportFormat::Html,
    ];

    pub fn id(self) -> &'static str {
        match self {
            ExportFormat::Json => "json",
            ExportFormat::Csv => "csv",
            ExportFormat::Sarif => "sarif",
            ExportFormat::Html => "html",
        }
    }

    /// The downloaded file's name.
    pub fn file_name(self) -> &'static str {
        match self {
            ExportFormat::Json => "audit.json",
            ExportFormat::Csv => "audit.csv",
            ExportFormat::Sarif => "audit.sarif",
            ExportFormat::Html => "audit.html",
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            ExportFormat::Json => "application/json",
            ExportFormat::Csv => "text/csv",
            ExportFormat::Sarif => "application/sarif+json",
            ExportFormat::Html => "text/html",
        }
    }
}

/// The worker → a part walker it started (the same worker program, started
/// under the name [`PART_WALKER_NAME`]): walk part `part` of `parts` of the
/// status walk over the `Blob` sent beside this message
/// (`etcd_lens_core::status::parallel`). Not seen by the page.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ToPartWalker {
    pub part: usize,
    pub parts: usize,
}

/// The worker name a part walker is started with: it then walks one part
/// and touches nothing else (no private storage, no page).
pub const PART_WALKER_NAME: &str = "etcd-lens-part-walker";

/// The worker name a hasher is started with (the same worker program): it
/// computes the SHA-256 of the `Blob` sent to it, beside the worker's
/// passes, and touches nothing else.
pub const HASHER_NAME: &str = "etcd-lens-hasher";

/// A hasher → the worker that started it. The worker sends it the `Blob`
/// alone once it is `Ready`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FromHasher {
    /// Listening: the file can be sent.
    Ready,
    /// Bytes hashed so far.
    Progress { hashed_bytes: u64 },
    /// The verdict on the file's SHA-256 trailer, and the hasher's wasm
    /// memory then (its peak: it never shrinks), said in the console.
    Done {
        status: TrailerStatus,
        #[serde(default)]
        wasm_bytes: u64,
    },
    /// No verdict (the file could not be read): the worker hashes it itself.
    Failed { message: String },
}

/// A part walker → the worker that started it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FromPartWalker {
    /// Listening: the request can be sent.
    Ready,
    /// Bytes read from the file so far.
    Progress { read_bytes: u64 },
    /// The next chunk of the part's key-index entries, in bucket order
    /// (`IndexBuilder::to_bytes`), travels beside this message as a
    /// transferred `ArrayBuffer`: sent as the walk goes, so the walker holds
    /// one chunk at a time, not its part's whole index.
    Index { entries: u64 },
    /// The part walked: its bytes (`Part::to_bytes`) travel beside this
    /// message as a transferred `ArrayBuffer`. `indexed`: the `Index` chunks
    /// sent are the part's whole key index (`false`: an entry could not be
    /// indexed, and the chunks are not). `wasm_bytes`: the walker's wasm
    /// memory then (its peak), said in the console.
    Done {
        read_bytes: u64,
        elapsed_ms: f64,
        /// Of `elapsed_ms`, the time in the file's reads (said in the console).
        #[serde(default)]
        read_ms: f64,
        #[serde(default)]
        indexed: bool,
        #[serde(default)]
        wasm_bytes: u64,
    },
    /// No part: the worker walks the file once itself.
    Failed { message: String },
}
