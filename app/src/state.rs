//! What the page knows about the open file, folded from worker messages.
//! Pure: no browser types, so it is unit-tested natively.

use etcd_lens_core::inspect::Header;
use etcd_lens_core::trailer::TrailerStatus;

use crate::protocol::{AuditView, FromWorker, KeyDetail, KeyPage, Overview, Phase, SecretPrompt};

#[derive(Debug, Clone, Default)]
pub struct Inspection {
    pub file_name: Option<String>,
    pub file_size: Option<u64>,
    pub header: Option<Header>,
    pub overview: Option<Overview>,
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
    /// An age file waits for its secret.
    pub secret_prompt: Option<SecretPrompt>,
    pub unlock_error: Option<String>,
    /// Layers peeled off (age, compression).
    pub layers: Vec<String>,
    pub audit_seq: u32,
    pub audit: Option<AuditView>,
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
            worker_ready: self.worker_ready,
            ..Self::default()
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
                phase: Phase::Hashing,
                done_bytes,
                total_bytes,
            } => {
                self.hashing = Some((done_bytes, total_bytes));
            }
            FromWorker::Trailer { status } => {
                self.hashing = None;
                if let TrailerStatus::Mismatch { .. } = &status {
                    self.error = Some(format!(
                        "{} Do not restore from this file; take the backup again or use another copy.",
                        status.describe()
                    ));
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
                if seq == self.audit_seq {
                    self.audit = Some(*audit);
                    self.request_error = None;
                }
            }
            FromWorker::RequestFailed { seq, message } => {
                if seq == self.list_seq || seq == self.detail_seq || seq == self.audit_seq {
                    self.request_error = Some(message);
                }
            }
            FromWorker::Failed { message } => {
                self.busy = false;
                self.hashing = None;
                self.error = Some(message);
            }
            FromWorker::Finished => self.busy = false,
        }
    }
}

pub use etcd_lens_core::units::human_bytes;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mismatch_becomes_an_error_and_finished_clears_busy() {
        let mut s = Inspection::default().opening("a.db".into(), 10);
        s.apply(FromWorker::Progress {
            phase: Phase::Hashing,
            done_bytes: 5,
            total_bytes: 10,
        });
        assert_eq!(s.hashing, Some((5, 10)));
        s.apply(FromWorker::Trailer {
            status: TrailerStatus::Mismatch {
                stored: "aa".into(),
                computed: "bb".into(),
            },
        });
        assert!(s.error.as_deref().unwrap().starts_with("SHA-256 mismatch"));
        assert_eq!(s.hashing, None);
        assert!(s.busy);
        s.apply(FromWorker::Finished);
        assert!(!s.busy);
    }

    #[test]
    fn stale_replies_are_dropped() {
        let mut s = Inspection {
            list_seq: 2,
            ..Inspection::default()
        };
        s.apply(FromWorker::Keys {
            seq: 1,
            page: KeyPage {
                total: 9,
                ..KeyPage::default()
            },
        });
        assert!(s.keys.is_none());
        s.apply(FromWorker::Keys {
            seq: 2,
            page: KeyPage {
                total: 3,
                ..KeyPage::default()
            },
        });
        assert_eq!(s.keys.unwrap().total, 3);
    }
}
