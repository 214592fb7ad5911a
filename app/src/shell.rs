//! The header's status chips: what the open file is, in five answers that
//! fill in as the passes finish — integrity, revision, keys, size against the
//! quota, and whether Secrets are exposed. Pure (no browser types): folded
//! from [`Inspection`] and unit-tested natively; `components::shell` draws them.

use etcd_lens_core::audit::Exposure;
use etcd_lens_core::plan::rules::{DEFAULT_QUOTA_BYTES, QUOTA_WARN_RATIO};
use etcd_lens_core::trailer::TrailerStatus;

use crate::protocol::Phase;
use crate::route::Route;
use crate::state::{Inspection, count, human_bytes};

/// How a chip reads at a glance (its colour, and a word for screen readers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Ok,
    Warn,
    Bad,
    /// Still being worked out.
    Pending,
    Neutral,
}

impl Tone {
    pub fn class(self) -> &'static str {
        match self {
            Tone::Ok => "chip ok",
            Tone::Warn => "chip warn",
            Tone::Bad => "chip bad",
            Tone::Pending => "chip pending",
            Tone::Neutral => "chip",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Chip {
    pub id: &'static str,
    pub label: &'static str,
    pub value: String,
    /// The sentence behind the value (its tooltip and accessible description).
    pub detail: String,
    pub tone: Tone,
    /// Where a click leads.
    pub link: Option<Route>,
}

/// The audit's state for the chip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditState {
    /// Not run yet; it starts by itself when the passes are done.
    Waiting,
    /// Under way: the share of keys audited, once the worker has said.
    Running {
        percent: Option<u8>,
    },
    /// Not run by itself (switched off, or the file is over the size limit).
    NotChecked,
    Done(Exposure),
    Failed,
}

/// `done` of `total` in whole percent, 99 at most until done.
fn percent(done: u64, total: u64) -> u8 {
    if total == 0 || done >= total {
        return 100;
    }
    u8::try_from((done * 100 / total).min(99)).unwrap_or(99)
}

/// Files above this are not audited by themselves (the user can ask).
pub const AUTO_AUDIT_MAX_BYTES: u64 = 2 << 30;

pub fn chips(s: &Inspection, audit: AuditState) -> Vec<Chip> {
    let Some(ov) = &s.overview else {
        return Vec::new();
    };
    let overview = || Some(Route::Overview);
    let mut out = Vec::new();

    // Integrity: the trailer, the check, and whether etcd's tools accept the file.
    let check_problems = s.check.as_ref().map(|c| c.problems.len());
    let (value, tone, detail) = if let Some(why) = &s.untrusted {
        ("cannot be trusted".to_string(), Tone::Bad, why.clone())
    } else if let Some(e) = &ov.status_error {
        (
            "refused by etcd's tools".to_string(),
            Tone::Bad,
            format!("etcd's tools would refuse this file: {e}"),
        )
    } else if let Some(TrailerStatus::Mismatch { .. }) = &s.trailer {
        (
            "SHA-256 mismatch".to_string(),
            Tone::Bad,
            "The SHA-256 trailer does not match the database: do not restore from this file."
                .to_string(),
        )
    } else if let Some(n) = check_problems.filter(|&n| n > 0) {
        (
            format!("{} found", count(n as u64, "problem", "problems")),
            Tone::Bad,
            "bbolt's consistency check found problems (see File details in the Overview)."
                .to_string(),
        )
    } else {
        match (&s.trailer, check_problems) {
            (Some(TrailerStatus::Verified { .. }), Some(0)) => (
                "verified".to_string(),
                Tone::Ok,
                "SHA-256 trailer verified and bbolt's consistency check passed.".to_string(),
            ),
            (Some(TrailerStatus::Absent), Some(0)) => (
                "no trailer; check passed".to_string(),
                Tone::Neutral,
                "No SHA-256 trailer (a member's db file, or a snapshot that lost its tail); bbolt's consistency check passed.".to_string(),
            ),
            _ => (
                "checking…".to_string(),
                Tone::Pending,
                "The SHA-256 and the consistency check are running.".to_string(),
            ),
        }
    };
    out.push(Chip {
        id: "chip-integrity",
        label: "Integrity",
        value,
        detail,
        tone,
        link: overview(),
    });

    if let Some(st) = &ov.status {
        let compacted = ov.compact_finished.unwrap_or(0);
        let (value, detail) = if compacted > st.revision {
            (
                format!("{} (compacted at {compacted})", st.revision),
                format!(
                    "{} computes revision {}; etcd serves the compaction revision {compacted}, the larger.",
                    st.tool, st.revision
                ),
            )
        } else {
            (
                st.revision.to_string(),
                format!("The revision {} computes.", st.tool),
            )
        };
        out.push(Chip {
            id: "chip-revision",
            label: "Revision",
            value,
            detail,
            tone: Tone::Neutral,
            link: overview(),
        });
    }

    let (value, tone, detail) = match &s.index {
        Some(ix) => (
            ix.live_keys.to_string(),
            Tone::Neutral,
            format!(
                "{} live; {} retained in all.",
                count(ix.live_keys, "key", "keys"),
                count(ix.revisions, "revision", "revisions")
            ),
        ),
        None => {
            let pct = s
                .progress
                .filter(|p| p.phase == Phase::Index)
                .map_or(String::new(), |p| format!(" {:.0}%", p.percent()));
            (
                format!("indexing…{pct}"),
                Tone::Pending,
                "The key index is being built.".to_string(),
            )
        }
    };
    out.push(Chip {
        id: "chip-keys",
        label: "Keys",
        value,
        detail,
        tone,
        link: Some(Route::Browse { key_hex: None }),
    });

    let ratio = ov.db_bytes as f64 / DEFAULT_QUOTA_BYTES as f64;
    out.push(Chip {
        id: "chip-size",
        label: "Size",
        value: format!(
            "{} · {:.1}% of {} quota",
            human_bytes(ov.db_bytes),
            ratio * 100.0,
            human_bytes(DEFAULT_QUOTA_BYTES)
        ),
        detail: format!(
            "{} bytes of database against etcd's default 2 GiB quota (--quota-backend-bytes).",
            ov.db_bytes
        ),
        tone: if ratio >= 1.0 {
            Tone::Bad
        } else if ratio > QUOTA_WARN_RATIO {
            Tone::Warn
        } else {
            Tone::Neutral
        },
        link: Some(Route::Space),
    });

    let (value, tone, detail) = match audit {
        AuditState::Waiting => (
            "checking…".to_string(),
            Tone::Pending,
            "The secret audit runs once the passes are done.".to_string(),
        ),
        AuditState::Running { percent } => (
            match percent {
                Some(p) => format!("checking… {p}%"),
                None => "checking…".to_string(),
            },
            Tone::Pending,
            "The secret audit is running, a slice of keys at a time between your requests.".to_string(),
        ),
        AuditState::NotChecked => (
            "not checked".to_string(),
            Tone::Warn,
            "The audit did not run by itself (switched off, stopped, or a file over 2 GiB): open Secret audit to run it.".to_string(),
        ),
        AuditState::Failed => (
            "audit failed".to_string(),
            Tone::Warn,
            "The audit failed: see Secret audit.".to_string(),
        ),
        AuditState::Done(e) => {
            let (value, tone) = match e {
                Exposure::NoneFound => ("0".to_string(), Tone::Ok),
                Exposure::Unknown { .. } => ("unknown".to_string(), Tone::Warn),
                Exposure::Exposed {
                    secrets,
                    unreachable_fragments,
                    ..
                } => ((secrets + unreachable_fragments).to_string(), Tone::Bad),
            };
            (value, tone, e.describe())
        }
    };
    out.push(Chip {
        id: "chip-secrets",
        label: "Secrets exposed",
        value,
        detail,
        tone,
        link: Some(Route::Audit),
    });
    out
}

/// The chip's audit state from the page's state and the auto-audit decision.
pub fn audit_state(s: &Inspection, auto: bool) -> AuditState {
    if let Some(a) = &s.audit {
        return AuditState::Done(a.exposure);
    }
    if s.audit_running {
        return AuditState::Running {
            percent: s.audit_progress.map(|(done, total)| percent(done, total)),
        };
    }
    if s.audit_error.is_some() {
        return AuditState::Failed;
    }
    if !auto || s.audit_cancelled || s.file_size.unwrap_or(0) > AUTO_AUDIT_MAX_BYTES {
        return AuditState::NotChecked;
    }
    AuditState::Waiting
}

/// The open file's layers and size, for the header: `snap.db.zst.age · 12 MiB · age → zstd`.
pub fn file_line(s: &Inspection) -> Option<String> {
    let name = s.file_name.as_ref()?;
    let mut parts = vec![name.clone(), human_bytes(s.file_size.unwrap_or(0))];
    if !s.layers.is_empty() {
        parts.push(s.layers.join(" → "));
    }
    Some(parts.join(" · "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{CheckView, FromWorker, Overview, StatusView};

    fn opened(db_bytes: u64) -> Inspection {
        let mut s = Inspection::default().opening("s.db".into(), db_bytes + 32);
        s.apply(FromWorker::Overview {
            overview: Box::new(Overview {
                status: Some(StatusView {
                    hash: 1,
                    revision: 40,
                    total_key: 9,
                    tool: "etcdctl 3.4 / etcdutl 3.5".into(),
                    other_total_key: Some(5),
                    other_tool: "etcdutl 3.6".into(),
                    total_size: db_bytes,
                    version: String::new(),
                }),
                db_bytes,
                compact_finished: Some(44),
                ..Overview::default()
            }),
        });
        s
    }

    fn value(chips: &[Chip], id: &str) -> (String, Tone) {
        let c = chips.iter().find(|c| c.id == id).unwrap();
        (c.value.clone(), c.tone)
    }

    #[test]
    fn chips_fill_in_as_the_passes_finish() {
        assert!(chips(&Inspection::default(), AuditState::Waiting).is_empty());
        let mut s = opened(4 << 20);
        let c = chips(&s, AuditState::Waiting);
        assert_eq!(
            value(&c, "chip-integrity"),
            ("checking…".into(), Tone::Pending)
        );
        assert_eq!(
            value(&c, "chip-revision").0,
            "40 (compacted at 44)",
            "both, where etcd serves the larger"
        );
        assert_eq!(value(&c, "chip-keys").1, Tone::Pending);
        assert_eq!(
            value(&c, "chip-size"),
            ("4.0 MiB · 0.2% of 2.0 GiB quota".into(), Tone::Neutral)
        );
        assert_eq!(value(&c, "chip-secrets").1, Tone::Pending);

        s.apply(FromWorker::Checked {
            check: Box::new(CheckView::default()),
        });
        s.apply(FromWorker::Trailer {
            status: TrailerStatus::Verified {
                sha256: "ab".into(),
            },
        });
        let c = chips(
            &s,
            AuditState::Done(Exposure::Exposed {
                secrets: 2,
                unreachable_fragments: 1,
                encrypted_unchecked: 0,
            }),
        );
        assert_eq!(value(&c, "chip-integrity"), ("verified".into(), Tone::Ok));
        assert_eq!(value(&c, "chip-secrets"), ("3".into(), Tone::Bad));
        let c = chips(&s, AuditState::Done(Exposure::Unknown { encrypted: 4 }));
        assert_eq!(value(&c, "chip-secrets"), ("unknown".into(), Tone::Warn));
    }

    #[test]
    fn the_integrity_chip_carries_the_decisive_verdict() {
        let mut s = opened(4096);
        s.overview.as_mut().unwrap().status_error = Some("no key bucket".into());
        let c = chips(&s, AuditState::Waiting);
        assert_eq!(
            value(&c, "chip-integrity"),
            ("refused by etcd's tools".into(), Tone::Bad)
        );
        let mut s = opened(4096);
        s.apply(FromWorker::Trailer {
            status: TrailerStatus::Mismatch {
                stored: "a".into(),
                computed: "b".into(),
            },
        });
        assert_eq!(
            value(&chips(&s, AuditState::Waiting), "chip-integrity").0,
            "SHA-256 mismatch"
        );
        // Near the quota.
        let s = opened(1800 << 20);
        assert_eq!(
            value(&chips(&s, AuditState::Waiting), "chip-size").1,
            Tone::Warn
        );
    }

    #[test]
    fn the_audit_waits_unless_switched_off_or_too_big() {
        let s = opened(4096);
        assert_eq!(audit_state(&s, true), AuditState::Waiting);
        assert_eq!(audit_state(&s, false), AuditState::NotChecked);
        let big = Inspection::default().opening("big.db".into(), AUTO_AUDIT_MAX_BYTES + 1);
        assert_eq!(audit_state(&big, true), AuditState::NotChecked);

        // Running, with the worker's progress in the chip; stopped, not checked.
        let mut s = opened(4096);
        s.auditing(1);
        assert_eq!(audit_state(&s, true), AuditState::Running { percent: None });
        s.apply(FromWorker::AuditProgress {
            seq: 1,
            keys_done: 1,
            keys_total: 3,
        });
        let running = audit_state(&s, true);
        assert_eq!(running, AuditState::Running { percent: Some(33) });
        assert_eq!(
            value(&chips(&s, running), "chip-secrets").0,
            "checking… 33%"
        );
        s.cancel_audit();
        assert_eq!(
            audit_state(&s, true),
            AuditState::NotChecked,
            "not run again by itself"
        );
        assert_eq!(percent(5, 5), 100);
        assert_eq!(percent(999, 1000), 99, "not 100 before the end");
        assert_eq!(
            file_line(&s).unwrap(),
            "s.db · 4.0 KiB",
            "{:?}",
            file_line(&s)
        );
    }
}
