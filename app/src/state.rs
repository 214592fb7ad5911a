//! What the page knows about the open file, folded from worker messages.
//! Pure: no browser types, so it is unit-tested natively.

use etcd_lens_core::inspect::Header;
use etcd_lens_core::trailer::TrailerStatus;

use std::collections::BTreeMap;

use crate::protocol::{
    ApplyFile, AuditView, CheckView, CompareKeyView, CompareView, ExportFormat, FromWorker,
    IndexView, KeyDetail, KeyPage, Overview, Phase, SecretPrompt, SpaceUsage, TreeNode,
};

/// The pass running now and how far it is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PassProgress {
    pub phase: Phase,
    pub done_bytes: u64,
    pub total_bytes: u64,
    pub elapsed_ms: f64,
}

impl PassProgress {
    /// Milliseconds left at the rate so far; `None` until there is a rate.
    pub fn eta_ms(&self) -> Option<f64> {
        if self.done_bytes == 0 || self.elapsed_ms < 200.0 {
            return None;
        }
        let left = self.total_bytes.saturating_sub(self.done_bytes) as f64;
        Some(self.elapsed_ms * left / self.done_bytes as f64)
    }

    pub fn percent(&self) -> f64 {
        (self.done_bytes as f64 * 100.0 / self.total_bytes.max(1) as f64).min(100.0)
    }
}

/// "3 s", "1 min 20 s".
pub fn human_duration(ms: f64) -> String {
    let s = (ms / 1000.0).round() as u64;
    if s < 60 {
        format!("{s} s")
    } else {
        format!("{} min {} s", s / 60, s % 60)
    }
}

/// Export requests count from here, so their numbers never meet another
/// request's (a failure names only its number).
pub const EXPORT_SEQ_BASE: u32 = 1 << 30;
/// Requests for YAML for `kubectl apply` count from here.
pub const APPLY_SEQ_BASE: u32 = 1 << 29;
/// Requests for one key of a comparison count from here.
pub const COMPARE_SEQ_BASE: u32 = 1 << 28;

/// The snapshot compared with the open one, from choosing it to its diff.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CompareState {
    pub name: String,
    /// It is age-encrypted: ask for this secret.
    pub secret_prompt: Option<SecretPrompt>,
    pub unlock_error: Option<String>,
    /// What the worker does now ("decompressing…", "indexing…").
    pub step: Option<String>,
    pub view: Option<CompareView>,
    pub error: Option<String>,
    /// The newest key request; older replies are dropped.
    pub key_seq: u32,
    pub key: Option<CompareKeyView>,
    pub key_error: Option<String>,
}

impl CompareState {
    pub fn busy(&self) -> bool {
        self.view.is_none() && self.error.is_none() && self.secret_prompt.is_none()
    }
}

#[derive(Debug, Clone, Default)]
pub struct Inspection {
    pub file_name: Option<String>,
    pub file_size: Option<u64>,
    pub header: Option<Header>,
    pub overview: Option<Overview>,
    /// After the overview, in this order: the key index, the check, the space.
    pub index: Option<IndexView>,
    pub check: Option<CheckView>,
    pub space: Option<SpaceUsage>,
    /// The pass running now.
    pub progress: Option<PassProgress>,
    /// Passes over, with their time in milliseconds and how many workers
    /// read the file for them.
    pub phases_done: Vec<(Phase, f64, u32)>,
    /// Passes that failed, and why.
    pub phase_errors: Vec<(Phase, String)>,
    /// (done, total) bytes of the SHA-256 pass while it runs.
    pub hashing: Option<(u64, u64)>,
    pub trailer: Option<TrailerStatus>,
    /// The error to show in place, with what to do next.
    pub error: Option<String>,
    pub busy: bool,
    /// The newest list/detail request sent; older replies are dropped.
    pub list_seq: u32,
    pub keys: Option<KeyPage>,
    pub detail_seq: u32,
    pub detail: Option<KeyDetail>,
    /// A failed list or detail request.
    pub request_error: Option<String>,
    /// The worker has started and accepts requests.
    pub worker_ready: bool,
    /// The worker's WebAssembly memory, as it last said.
    pub worker_memory_bytes: Option<u64>,
    /// An age file waits for its secret.
    pub secret_prompt: Option<SecretPrompt>,
    pub unlock_error: Option<String>,
    /// Layers peeled off (age, compression).
    pub layers: Vec<String>,
    pub audit_seq: u32,
    pub audit: Option<AuditView>,
    /// An audit request is on its way (the previous results stay shown).
    pub audit_running: bool,
    /// Keys audited of all, as the running audit last said.
    pub audit_progress: Option<(u64, u64)>,
    /// The user stopped the audit: it is not run again by itself.
    pub audit_cancelled: bool,
    /// Why the last audit request failed (e.g. the pasted configuration does
    /// not parse); the previous results stay.
    pub audit_error: Option<String>,
    /// The newest export request; older replies are dropped.
    pub export_seq: u32,
    /// The format being made now.
    pub exporting: Option<ExportFormat>,
    /// The last export made, ready to download (of the audit shown).
    pub export: Option<(ExportFormat, String)>,
    pub export_error: Option<String>,
    /// Set when reading the file failed part-way (a tampered or truncated
    /// file): nothing shown from it is verified.
    pub untrusted: Option<String>,
    /// Tree requests of this file carry this number; replies for an older file are dropped.
    pub tree_seq: u32,
    /// The children of each tree node fetched so far, by prefix.
    pub tree: BTreeMap<String, Vec<TreeNode>>,
    /// A second snapshot, compared with this one.
    pub compare: Option<CompareState>,
    /// The newest request for YAML for `kubectl apply`.
    pub apply_seq: u32,
    pub applying: bool,
    pub apply_file: Option<ApplyFile>,
    pub apply_error: Option<String>,
}

impl Inspection {
    /// A new file was chosen.
    /// A new file was chosen: everything about the old one goes, but request
    /// numbers keep counting so a late reply about the old file is dropped.
    pub fn opening(&self, name: String, size: u64) -> Self {
        Self {
            file_name: Some(name),
            file_size: Some(size),
            busy: true,
            list_seq: self.list_seq,
            detail_seq: self.detail_seq,
            audit_seq: self.audit_seq,
            export_seq: self.export_seq,
            apply_seq: self.apply_seq,
            tree_seq: self.tree_seq + 1,
            worker_ready: self.worker_ready,
            ..Self::default()
        }
    }

    /// A file to compare with was chosen (the previous comparison goes).
    pub fn comparing(&mut self, name: String) {
        let key_seq = self
            .compare
            .as_ref()
            .map_or(COMPARE_SEQ_BASE, |c| c.key_seq);
        self.compare = Some(CompareState {
            name,
            step: Some("reading the file…".into()),
            key_seq,
            ..CompareState::default()
        });
    }

    /// A request for YAML for `kubectl apply` was sent (with `seq`).
    pub fn asked_for_apply(&mut self, seq: u32) {
        self.apply_seq = seq;
        self.applying = true;
        self.apply_file = None;
        self.apply_error = None;
    }

    /// The file was closed (Cancel): everything about it goes, the unlock
    /// form too, and `message` says so.
    pub fn closed(&self, message: String) -> Self {
        Self {
            list_seq: self.list_seq,
            detail_seq: self.detail_seq,
            audit_seq: self.audit_seq,
            export_seq: self.export_seq,
            apply_seq: self.apply_seq,
            tree_seq: self.tree_seq + 1,
            worker_ready: self.worker_ready,
            error: Some(message),
            ..Self::default()
        }
    }

    /// An audit was asked for (with `seq`): the results shown so far stay
    /// until the new ones (or an error) arrive.
    pub fn auditing(&mut self, seq: u32) {
        self.audit_seq = seq;
        self.audit_running = true;
        self.audit_progress = None;
        self.audit_cancelled = false;
        self.audit_error = None;
    }

    /// The user stops the running audit; the worker confirms with
    /// `AuditCancelled` (the results of an earlier run stay).
    pub fn cancel_audit(&mut self) {
        self.audit_running = false;
        self.audit_progress = None;
        self.audit_cancelled = true;
    }

    /// An export was asked for (with `seq`).
    pub fn exporting(&mut self, seq: u32, format: ExportFormat) {
        self.export_seq = seq;
        self.exporting = Some(format);
        self.export_error = None;
    }

    /// Reading failed part-way: say once, plainly, that nothing is verified.
    fn distrust(&mut self, why: &str) {
        if self.untrusted.is_none() {
            self.untrusted = Some(format!(
                "This file cannot be trusted: reading it failed part-way ({why}). It was damaged, tampered with or truncated; nothing shown from it is verified. Do not restore from it: use another copy of the backup."
            ));
        }
    }

    /// Fold one worker message into the state.
    pub fn apply(&mut self, msg: FromWorker) {
        match msg {
            FromWorker::Ready => {}
            FromWorker::NeedSecret { prompt } => {
                self.secret_prompt = Some(prompt);
                self.unlock_error = None;
            }
            FromWorker::UnlockFailed { message } => self.unlock_error = Some(message),
            FromWorker::Layers { layers } => {
                self.secret_prompt = None;
                self.unlock_error = None;
                self.layers = layers;
            }
            FromWorker::Header { header } => self.header = Some(*header),
            FromWorker::Overview { overview } => self.overview = Some(*overview),
            FromWorker::Progress {
                phase,
                done_bytes,
                total_bytes,
                elapsed_ms,
            } => {
                if phase == Phase::Hashing {
                    self.hashing = Some((done_bytes, total_bytes));
                    // Hashed beside another pass (in a worker of its own):
                    // that pass keeps the progress, the hash shows its bytes.
                    if self.progress.is_some_and(|p| p.phase != Phase::Hashing) {
                        return;
                    }
                }
                self.progress = Some(PassProgress {
                    phase,
                    done_bytes,
                    total_bytes,
                    elapsed_ms,
                });
            }
            FromWorker::PhaseDone {
                phase,
                elapsed_ms,
                readers,
            } => {
                if self.progress.is_some_and(|p| p.phase == phase) {
                    self.progress = None;
                }
                self.phases_done.push((phase, elapsed_ms, readers));
            }
            FromWorker::PhaseFailed { phase, message } => {
                if phase == Phase::Hashing {
                    self.hashing = None;
                }
                // Without the index nothing can be browsed, and a failed hash
                // means the file could not be read: say so in place.
                if matches!(phase, Phase::Index | Phase::Hashing) && self.error.is_none() {
                    self.error = Some(format!(
                        "{} failed: {message}. The overview above is what could be read; use another copy of the backup.",
                        phase.label()
                    ));
                }
                // A pass stops only when the file could not be read or parsed.
                self.distrust(&message);
                self.phase_errors.push((phase, message));
            }
            FromWorker::Indexed { index } => self.index = Some(*index),
            FromWorker::Checked { check } => self.check = Some(*check),
            FromWorker::Space { space } => self.space = Some(*space),
            FromWorker::Tree { seq, prefix, nodes } => {
                if seq == self.tree_seq {
                    self.tree.insert(prefix, nodes);
                }
            }
            FromWorker::Trailer { status } => {
                self.hashing = None;
                if let TrailerStatus::Mismatch { .. } = &status {
                    // The trailer line says what does not match; this says what to do.
                    self.error = Some(
                        "The SHA-256 trailer does not match the database (see the trailer above). Do not restore from this file. Take the backup again or use another copy.".into(),
                    );
                }
                self.trailer = Some(status);
            }
            FromWorker::Keys { seq, page } => {
                if seq == self.list_seq {
                    self.keys = Some(page);
                    self.request_error = None;
                }
            }
            FromWorker::Key { seq, detail } => {
                if seq == self.detail_seq {
                    self.detail = Some(*detail);
                    self.request_error = None;
                }
            }
            FromWorker::Audit { seq, audit } => {
                if seq == self.audit_seq && self.audit_running {
                    self.audit = Some(*audit);
                    self.audit_running = false;
                    self.audit_progress = None;
                    self.audit_error = None;
                    // An export of the previous results is not of these.
                    self.export = None;
                }
            }
            FromWorker::AuditProgress {
                seq,
                keys_done,
                keys_total,
            } => {
                if seq == self.audit_seq && self.audit_running {
                    self.audit_progress = Some((keys_done, keys_total));
                }
            }
            FromWorker::AuditCancelled { seq } => {
                if seq == self.audit_seq {
                    self.cancel_audit();
                }
            }
            FromWorker::Exported {
                seq,
                format,
                content,
            } => {
                if seq == self.export_seq {
                    self.exporting = None;
                    self.export = Some((format, content));
                }
            }
            FromWorker::RequestFailed { seq, message }
                if seq == self.export_seq && self.exporting.is_some() =>
            {
                self.exporting = None;
                self.export_error = Some(message);
            }
            FromWorker::RequestFailed { seq, message }
                if seq == self.apply_seq && self.applying =>
            {
                self.applying = false;
                self.apply_error = Some(message);
            }
            FromWorker::RequestFailed { seq, message }
                if self.compare.as_ref().is_some_and(|c| c.key_seq == seq) =>
            {
                if let Some(c) = &mut self.compare {
                    c.key_error = Some(message);
                }
            }
            FromWorker::RequestFailed { seq, message } if seq == self.audit_seq => {
                self.audit_running = false;
                self.audit_progress = None;
                self.audit_error = Some(message);
            }
            FromWorker::RequestFailed { seq, message } => {
                if seq == self.list_seq || seq == self.detail_seq || seq == self.tree_seq {
                    self.request_error = Some(message);
                }
            }
            FromWorker::Failed { message } => {
                self.busy = false;
                self.hashing = None;
                self.progress = None;
                // Nothing waits for a secret any more.
                self.secret_prompt = None;
                self.unlock_error = None;
                // Past the header, a failed read means the file is damaged.
                if self.header.is_some() || !self.layers.is_empty() {
                    self.distrust(&message);
                }
                self.error = Some(message);
            }
            FromWorker::Memory { bytes } => self.worker_memory_bytes = Some(bytes),
            FromWorker::CompareNeedSecret { prompt } => {
                if let Some(c) = &mut self.compare {
                    c.secret_prompt = Some(prompt);
                    c.unlock_error = None;
                    c.step = None;
                }
            }
            FromWorker::CompareUnlockFailed { message } => {
                if let Some(c) = &mut self.compare {
                    c.unlock_error = Some(message);
                }
            }
            FromWorker::CompareProgress { step } => {
                if let Some(c) = &mut self.compare {
                    c.secret_prompt = None;
                    c.unlock_error = None;
                    c.step = Some(step);
                }
            }
            FromWorker::Compared { compare } => {
                if let Some(c) = &mut self.compare {
                    c.step = None;
                    c.view = Some(*compare);
                }
            }
            FromWorker::CompareFailed { message } => {
                if let Some(c) = &mut self.compare {
                    c.step = None;
                    c.secret_prompt = None;
                    c.error = Some(message);
                }
            }
            FromWorker::CompareKey { seq, view } => {
                if let Some(c) = &mut self.compare
                    && c.key_seq == seq
                {
                    c.key = Some(*view);
                    c.key_error = None;
                }
            }
            FromWorker::ForApply { seq, file } => {
                if seq == self.apply_seq {
                    self.applying = false;
                    self.apply_file = Some(*file);
                }
            }
            FromWorker::Finished => {
                self.busy = false;
                self.progress = None;
            }
        }
    }
}

pub use etcd_lens_core::units::{count, human_bytes};

#[cfg(test)]
mod tests;
