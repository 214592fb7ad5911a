use super::*;

fn compared(rows: usize) -> CompareView {
    CompareView {
        other_name: "b.db".into(),
        open_is_old: true,
        same_cluster: true,
        old_revision: 5,
        new_revision: 9,
        added: rows as u64,
        removed: 0,
        modified: 0,
        unchanged: 3,
        unchanged_by_revision: 3,
        noise_only: 0,
        groups: Vec::new(),
        rows: Vec::new(),
        milliseconds: 1.0,
    }
}

#[test]
fn a_comparison_folds_its_own_messages_and_drops_stale_key_replies() {
    let mut s = Inspection::default();
    // No comparison asked for: its messages change nothing.
    s.apply(FromWorker::Compared {
        compare: Box::new(compared(1)),
    });
    assert!(s.compare.is_none());
    s.comparing("b.db".into());
    assert!(s.compare.as_ref().unwrap().busy());
    s.apply(FromWorker::CompareNeedSecret {
        prompt: SecretPrompt {
            passphrase: true,
            recipient_types: Vec::new(),
        },
    });
    assert!(
        !s.compare.as_ref().unwrap().busy(),
        "waiting for the user, not busy"
    );
    s.apply(FromWorker::CompareUnlockFailed {
        message: "wrong".into(),
    });
    assert_eq!(
        s.compare.as_ref().unwrap().unlock_error.as_deref(),
        Some("wrong")
    );
    s.apply(FromWorker::CompareProgress {
        step: "indexing".into(),
    });
    let c = s.compare.as_ref().unwrap();
    assert!(c.secret_prompt.is_none() && c.unlock_error.is_none() && c.busy());
    s.apply(FromWorker::Compared {
        compare: Box::new(compared(2)),
    });
    let c = s.compare.as_ref().unwrap();
    assert_eq!(c.view.as_ref().map(|v| v.added), Some(2));
    assert!(!c.busy() && c.step.is_none());
    // A key reply for an older request is dropped; its failure too.
    let seq = COMPARE_SEQ_BASE + 7;
    s.compare.as_mut().unwrap().key_seq = seq;
    let view = |k: &str| {
        Box::new(CompareKeyView {
            key: k.into(),
            key_hex: hex::encode(k),
            old: crate::protocol::RevisionValue::Deleted,
            new: crate::protocol::RevisionValue::Deleted,
            is_secret: false,
        })
    };
    s.apply(FromWorker::CompareKey {
        seq: seq - 1,
        view: view("old"),
    });
    assert!(s.compare.as_ref().unwrap().key.is_none());
    s.apply(FromWorker::CompareKey {
        seq,
        view: view("new"),
    });
    assert_eq!(
        s.compare
            .as_ref()
            .unwrap()
            .key
            .as_ref()
            .map(|k| k.key.as_str()),
        Some("new")
    );
    s.apply(FromWorker::RequestFailed {
        seq,
        message: "gone".into(),
    });
    assert_eq!(
        s.compare.as_ref().unwrap().key_error.as_deref(),
        Some("gone")
    );
    assert!(
        s.request_error.is_none(),
        "a comparison's failure is the comparison's"
    );
    // A new file drops the comparison.
    let s = s.opening("c.db".into(), 1);
    assert!(s.compare.is_none());
}

#[test]
fn apply_replies_count_only_for_the_newest_request() {
    let mut s = Inspection::default();
    let seq = APPLY_SEQ_BASE + 1;
    s.asked_for_apply(seq);
    let file = |n: usize| {
        Box::new(ApplyFile {
            files: Vec::new(),
            objects: n,
            commands: Vec::new(),
            skipped: Vec::new(),
            notes: Vec::new(),
            has_secret_data: false,
        })
    };
    s.apply(FromWorker::ForApply {
        seq: seq - 1,
        file: file(1),
    });
    assert!(s.applying && s.apply_file.is_none());
    s.apply(FromWorker::RequestFailed {
        seq,
        message: "this is a Secret".into(),
    });
    assert!(!s.applying && s.apply_error.is_some() && s.request_error.is_none());
    s.asked_for_apply(seq + 1);
    assert!(s.apply_error.is_none());
    s.apply(FromWorker::ForApply {
        seq: seq + 1,
        file: file(3),
    });
    assert_eq!(s.apply_file.as_ref().map(|f| f.objects), Some(3));
}

#[test]
fn mismatch_becomes_an_error_and_finished_clears_busy() {
    let mut s = Inspection::default().opening("a.db".into(), 10);
    s.apply(FromWorker::Progress {
        phase: Phase::Hashing,
        done_bytes: 5,
        total_bytes: 10,
        elapsed_ms: 1000.0,
    });
    assert_eq!(s.hashing, Some((5, 10)));
    let p = s.progress.unwrap();
    assert_eq!((p.percent(), p.eta_ms()), (50.0, Some(1000.0)));
    s.apply(FromWorker::Trailer {
        status: TrailerStatus::Mismatch {
            stored: "aa".into(),
            computed: "bb".into(),
        },
    });
    let e = s.error.as_deref().unwrap();
    assert!(e.contains("Do not restore"), "{e}");
    assert!(
        !e.contains("SHA-256 mismatch"),
        "the trailer line says it, the error does not repeat it: {e}"
    );
    assert_eq!(s.hashing, None);
    assert!(s.busy);
    s.apply(FromWorker::Finished);
    assert!(!s.busy);
}

#[test]
fn passes_are_recorded_in_order_and_failures_kept() {
    let mut s = Inspection::default().opening("a.db".into(), 10);
    s.apply(FromWorker::Progress {
        phase: Phase::Check,
        done_bytes: 0,
        total_bytes: 10,
        elapsed_ms: 0.0,
    });
    assert_eq!(s.progress.unwrap().eta_ms(), None, "no rate yet");
    s.apply(FromWorker::PhaseDone {
        phase: Phase::Check,
        elapsed_ms: 12.0,
        readers: 1,
    });
    assert!(s.progress.is_none());
    s.apply(FromWorker::PhaseFailed {
        phase: Phase::Index,
        message: "bad key".into(),
    });
    assert_eq!(s.phases_done, vec![(Phase::Check, 12.0, 1)]);
    assert_eq!(s.phase_errors.len(), 1);
    assert!(
        s.error.as_deref().unwrap().contains("failed: bad key"),
        "{:?}",
        s.error
    );
    assert_eq!(human_duration(81_400.0), "1 min 21 s");
    // A tree reply for an older file is dropped.
    let next = s.opening("b.db".into(), 1);
    let mut t = next.clone();
    t.apply(FromWorker::Tree {
        seq: s.tree_seq,
        prefix: String::new(),
        nodes: Vec::new(),
    });
    assert!(t.tree.is_empty());
    t.apply(FromWorker::Tree {
        seq: next.tree_seq,
        prefix: String::new(),
        nodes: Vec::new(),
    });
    assert_eq!(t.tree.len(), 1);
}

#[test]
fn cancel_and_failure_close_the_unlock_form_and_a_bad_audit_keeps_the_last_results() {
    let mut s = Inspection::default().opening("a.db.age".into(), 10);
    s.apply(FromWorker::NeedSecret {
        prompt: SecretPrompt {
            passphrase: true,
            recipient_types: Vec::new(),
        },
    });
    assert!(s.secret_prompt.is_some());
    let c = s.closed("Cancelled".into());
    assert!(c.secret_prompt.is_none() && c.file_name.is_none() && !c.busy);
    assert!(c.tree_seq > s.tree_seq, "late tree replies are dropped");

    // A tampered chunk found after the secret was given.
    s.apply(FromWorker::Layers {
        layers: vec!["age (X25519)".into()],
    });
    s.apply(FromWorker::NeedSecret {
        prompt: SecretPrompt {
            passphrase: true,
            recipient_types: Vec::new(),
        },
    });
    s.apply(FromWorker::Failed {
        message: "age: chunk 3 failed to authenticate".into(),
    });
    assert!(s.secret_prompt.is_none());
    assert!(
        s.untrusted
            .as_deref()
            .unwrap()
            .contains("cannot be trusted")
    );

    let mut s = Inspection::default().opening("a.db".into(), 10);
    s.auditing(1);
    s.apply(FromWorker::Audit {
        seq: 1,
        audit: Box::new(AuditView {
            exposure: etcd_lens_core::audit::Exposure::NoneFound,
            by_severity: Vec::new(),
            census: vec![("Secrets".into(), "2".into())],
            findings: Vec::new(),
            warnings: Vec::new(),
        }),
    });
    s.auditing(2);
    assert!(s.audit_running && s.audit.is_some());
    s.apply(FromWorker::RequestFailed {
        seq: 2,
        message: "line 1, column 9: bad".into(),
    });
    assert_eq!(s.audit_error.as_deref(), Some("line 1, column 9: bad"));
    assert!(!s.audit_running);
    assert_eq!(s.audit.as_ref().unwrap().census[0].1, "2", "kept");
    assert!(s.request_error.is_none(), "not the detail view's error");

    // Progress of the running audit only; a stopped audit's late answer is dropped.
    let view = |n: &str| AuditView {
        exposure: etcd_lens_core::audit::Exposure::NoneFound,
        by_severity: Vec::new(),
        census: vec![("Secrets".into(), n.into())],
        findings: Vec::new(),
        warnings: Vec::new(),
    };
    s.auditing(3);
    s.apply(FromWorker::AuditProgress {
        seq: 2,
        keys_done: 9,
        keys_total: 10,
    });
    assert_eq!(s.audit_progress, None, "an older audit's progress");
    s.apply(FromWorker::AuditProgress {
        seq: 3,
        keys_done: 4,
        keys_total: 10,
    });
    assert_eq!(s.audit_progress, Some((4, 10)));
    s.cancel_audit();
    assert!(!s.audit_running && s.audit_cancelled && s.audit_progress.is_none());
    s.apply(FromWorker::Audit {
        seq: 3,
        audit: Box::new(view("7")),
    });
    assert_eq!(
        s.audit.as_ref().unwrap().census[0].1,
        "2",
        "the stopped audit's answer is not shown"
    );
    s.apply(FromWorker::AuditCancelled { seq: 3 });
    assert!(s.audit_cancelled);
    s.auditing(4);
    assert!(!s.audit_cancelled, "asked again: no longer stopped");
    s.apply(FromWorker::Audit {
        seq: 4,
        audit: Box::new(view("8")),
    });
    assert_eq!(s.audit.as_ref().unwrap().census[0].1, "8");
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

#[test]
fn a_hash_beside_another_pass_leaves_that_pass_its_progress() {
    let mut s = Inspection::default().opening("a.db".into(), 100);
    let progress = |phase, done_bytes| FromWorker::Progress {
        phase,
        done_bytes,
        total_bytes: 100,
        elapsed_ms: 10.0,
    };
    s.apply(progress(Phase::Index, 20));
    s.apply(progress(Phase::Hashing, 50));
    assert_eq!(
        s.progress.map(|p| (p.phase, p.done_bytes)),
        Some((Phase::Index, 20))
    );
    assert_eq!(
        s.hashing,
        Some((50, 100)),
        "the hash's bytes are kept apart"
    );
    s.apply(FromWorker::PhaseDone {
        phase: Phase::Index,
        elapsed_ms: 30.0,
        readers: 1,
    });
    s.apply(progress(Phase::Hashing, 60));
    assert_eq!(
        s.progress.map(|p| (p.phase, p.done_bytes)),
        Some((Phase::Hashing, 60)),
        "alone, the hash has the progress again"
    );
}
