//! The passes list (done, running with time left, pending, failed) and the
//! space view's revisions histogram.

use etcd_lens_app::protocol::{FromWorker, Phase};
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::Element;

use crate::{attr, by_id, by_id_opt, mount, opened, settle, text};

#[wasm_bindgen_test]
async fn passes_show_done_running_with_time_left_pending_and_failed() {
    use etcd_lens_app::components::passes::Passes;
    let state = RwSignal::new(opened());
    let m = mount(move || view! { <Passes state /> });
    let root: &Element = &m.root;
    settle().await;
    state.update(|s| {
        s.apply(FromWorker::PhaseDone {
            phase: Phase::Status,
            elapsed_ms: 1500.0,
            readers: 2,
        });
        s.apply(FromWorker::Progress {
            phase: Phase::Index,
            done_bytes: 1 << 20,
            total_bytes: 4 << 20,
            elapsed_ms: 2000.0,
        });
        s.apply(FromWorker::PhaseFailed {
            phase: Phase::Space,
            message: "no key bucket".into(),
        });
    });
    settle().await;
    let status = by_id(root, "pass-status");
    assert_eq!(attr(&status, "data-state"), "done");
    assert!(
        status
            .text_content()
            .unwrap()
            .contains("done in 2 s, by 2 workers at once"),
        "{}",
        root.inner_html()
    );
    assert_eq!(attr(&status, "data-readers"), "2");
    let index = by_id(root, "pass-index");
    assert_eq!(attr(&index, "data-state"), "running");
    let t = index.text_content().unwrap();
    // 1 MiB of 4 in 2 s: 6 s left at that rate.
    assert!(t.contains("(25%)") && t.contains("about 6 s left"), "{t}");
    assert!(index.query_selector("progress").unwrap().is_some());
    assert_eq!(attr(&by_id(root, "pass-check"), "data-state"), "pending");
    let space = by_id(root, "pass-space");
    assert_eq!(attr(&space, "data-state"), "failed");
    assert!(space.text_content().unwrap().contains("no key bucket"));
    assert_eq!(attr(&by_id(root, "pass-hashing"), "data-state"), "pending");
    // The hash, in a worker of its own, runs beside the index.
    state.update(|s| {
        s.apply(FromWorker::Progress {
            phase: Phase::Hashing,
            done_bytes: 2 << 20,
            total_bytes: 8 << 20,
            elapsed_ms: 2000.0,
        })
    });
    settle().await;
    let hashing = by_id(root, "pass-hashing");
    assert_eq!(attr(&hashing, "data-state"), "running");
    assert!(hashing.text_content().unwrap().contains("(25%)"));
    assert!(hashing.query_selector("progress").unwrap().is_some());
    let index = by_id(root, "pass-index");
    assert_eq!(
        attr(&index, "data-state"),
        "running",
        "{}",
        root.inner_html()
    );
    assert!(index.text_content().unwrap().contains("about 6 s left"));
}

#[wasm_bindgen_test]
async fn space_draws_the_revisions_histogram_once_indexed() {
    use etcd_lens_app::components::space::SpaceView;
    use etcd_lens_app::protocol::{HistogramBin, IndexView};
    let state = RwSignal::new(opened());
    let m = mount(move || view! { <SpaceView state /> });
    let root: &Element = &m.root;
    settle().await;
    assert!(by_id_opt(root, "revisions-histogram").is_none());
    assert!(by_id_opt(root, "space-pending").is_some());
    state.update(|s| {
        s.apply(FromWorker::Indexed {
            index: Box::new(IndexView {
                live_keys: 7,
                keys_with_history: 9,
                revisions: 30,
                revisions_histogram: vec![
                    HistogramBin {
                        label: "1".into(),
                        keys: 6,
                    },
                    HistogramBin {
                        label: "2".into(),
                        keys: 0,
                    },
                    HistogramBin {
                        label: "3–4".into(),
                        keys: 3,
                    },
                ],
                most_revisions: vec![("/registry/leases/a".into(), 4)],
                plan_facts: None,
                restore_facts: None,
            }),
        })
    });
    settle().await;
    let bins = root
        .query_selector_all("[data-testid=revisions-bin]")
        .unwrap();
    assert_eq!(bins.length(), 3);
    let bar_height = |i: u32| -> f64 {
        let g: Element = bins.item(i).unwrap().unchecked_into();
        attr(&g.query_selector("rect").unwrap().unwrap(), "height")
            .parse()
            .unwrap()
    };
    assert_eq!(bar_height(1), 0.0, "an empty bin has no bar");
    assert!(
        (bar_height(0) / bar_height(2) - 2.0).abs() < 0.01,
        "bars are to scale"
    );
    assert!(text(root, "most-revisions").contains("/registry/leases/a"));
}
