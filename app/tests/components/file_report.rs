//! The file report: hashing, the SHA-256 trailer verified, absent or
//! mismatched, and the layers peeled off the file.

use etcd_lens_app::components::file_report::FileReport;
use etcd_lens_app::protocol::{FromWorker, Phase};
use etcd_lens_app::state::Inspection;
use etcd_lens_core::trailer::TrailerStatus;
use leptos::prelude::*;
use wasm_bindgen_test::*;
use web_sys::Element;

use crate::{attr, by_id, by_id_opt, mount, opened, settle, text};

#[wasm_bindgen_test]
async fn file_report_idle_then_hashing() {
    let state = RwSignal::new(Inspection::default());
    let m = mount(move || view! { <FileReport state /> });
    settle().await;
    let root: &Element = &m.root;
    assert_eq!(text(root, "idle"), "No file open.");
    assert!(by_id_opt(root, "trailer-status").is_none());

    state.set(opened());
    settle().await;
    assert_eq!(text(root, "file-name"), "snap.db");
    assert_eq!(attr(&by_id(root, "file-size"), "data-bytes"), "3145728");
    assert!(text(root, "file-size").starts_with("3145728 bytes"));
    assert!(by_id_opt(root, "busy").is_some());
    assert_eq!(
        attr(&by_id(root, "trailer-status"), "data-state"),
        "pending"
    );

    state.update(|s| {
        s.apply(FromWorker::Progress {
            phase: Phase::Hashing,
            done_bytes: 1024,
            total_bytes: 4096,
            elapsed_ms: 500.0,
        })
    });
    settle().await;
    assert_eq!(
        attr(&by_id(root, "trailer-status"), "data-state"),
        "hashing"
    );
    assert!(text(root, "trailer-status").starts_with("verifying SHA-256"));
    let progress = by_id(root, "hash-progress");
    assert_eq!(attr(&progress, "max"), "4096");
    assert_eq!(attr(&progress, "value"), "1024");
}

#[wasm_bindgen_test]
async fn file_report_trailer_verified_absent_and_mismatch() {
    let state = RwSignal::new(opened());
    let m = mount(move || view! { <FileReport state /> });
    settle().await;
    let root: &Element = &m.root;

    let cases = [
        (
            TrailerStatus::Verified {
                sha256: "ab".repeat(32),
            },
            "verified",
        ),
        (TrailerStatus::Absent, "absent"),
        (
            TrailerStatus::Mismatch {
                stored: "aa11".into(),
                computed: "bb22".into(),
            },
            "mismatch",
        ),
    ];
    for (status, want) in cases {
        let describe = status.describe();
        state.update(|s| {
            *s = opened();
            s.hashing = Some((1, 2));
            s.apply(FromWorker::Trailer { status });
            s.apply(FromWorker::Finished);
        });
        settle().await;
        let t = by_id(root, "trailer-status");
        assert_eq!(attr(&t, "data-state"), want);
        assert_eq!(t.text_content().unwrap(), describe);
        assert!(by_id_opt(root, "hash-progress").is_none(), "{want}");
        assert!(by_id_opt(root, "busy").is_none(), "{want}");
        let error = by_id_opt(root, "error");
        if want == "mismatch" {
            let e = error.expect("a mismatch is an error");
            assert_eq!(attr(&e, "role"), "alert");
            let e = e.text_content().unwrap();
            assert!(e.contains("Do not restore from this file."), "{e}");
            // The trailer line names both digests; the page says it once.
            assert!(describe.contains("aa11") && describe.contains("bb22"));
            let page = root.text_content().unwrap();
            assert_eq!(page.matches(describe.as_str()).count(), 1, "{page}");
        } else {
            assert!(error.is_none(), "{want}");
        }
    }
}

#[wasm_bindgen_test]
async fn file_report_shows_the_layers_peeled_off() {
    let state = RwSignal::new(opened());
    let m = mount(move || view! { <FileReport state /> });
    settle().await;
    let root: &Element = &m.root;
    assert!(by_id_opt(root, "layers").is_none());

    state.update(|s| {
        s.apply(FromWorker::Layers {
            layers: vec!["age".into(), "zstd".into()],
        })
    });
    settle().await;
    assert_eq!(text(root, "layers"), "age → zstd");
}
