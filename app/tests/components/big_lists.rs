//! Lists longer than a browser lays out, and tree nodes wider than a page:
//! a key list of 5 000 000 rows (about 130 M px at 26 px a row, four times
//! Chrome's element height cap) still reaches its last row by scrolling and
//! with End/Home, and a node with 1 234 children shows every one of them.

use etcd_lens_app::components::key_list::{KeyList, MAX_LIST_PX};
use etcd_lens_app::components::key_tree::{CHILDREN_PAGE, KeyTree};
use etcd_lens_app::protocol::{KeyPage, KeyQuery, KeyRow, TreeNode};
use etcd_lens_app::state::Inspection;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlElement};

use crate::{attr, by_id, click, event, mount, settle, sleep_ms};

const TOTAL: u64 = 5_000_000;

/// The stylesheet's rules the list's geometry depends on.
fn style(root: &Element) {
    let s = document().create_element("style").unwrap();
    s.set_text_content(Some(
        ".viewport { height: 520px; overflow-y: auto; overflow-anchor: none; }
         ul.keys { list-style: none; padding: 0; margin: 0; }
         ul.keys li { height: 26px; overflow: hidden; }",
    ));
    root.append_child(&s).unwrap();
}

fn row(i: u64) -> KeyRow {
    let key = format!("/registry/configmaps/big/cm-{i:07}");
    KeyRow {
        key_hex: hex::encode(key.as_bytes()),
        key,
        mod_revision: i as i64 + 2,
        version: 1,
        value_size: 1024,
        resource: "configmaps".into(),
        namespace: "big".into(),
    }
}

/// Serve the list's window requests as the worker would, over `TOTAL` rows.
fn serve(state: RwSignal<Inspection>, query: RwSignal<KeyQuery>) {
    Effect::new(move |_| {
        let (offset, limit) = query.with(|q| (q.offset, q.limit.max(200)));
        let end = (u64::from(offset) + u64::from(limit)).min(TOTAL);
        let rows = (u64::from(offset)..end).map(row).collect();
        state.update(|s| {
            s.keys = Some(KeyPage {
                total: TOTAL,
                offset,
                rows,
                resources: vec!["configmaps".into()],
                namespaces: vec!["big".into()],
            })
        });
    });
}

fn rows_in_view(viewport: &Element) -> Vec<u64> {
    let v = viewport.get_bounding_client_rect();
    let list = viewport
        .query_selector_all("[data-testid=key-row]")
        .unwrap();
    (0..list.length())
        .filter_map(|i| list.item(i))
        .map(|n| n.unchecked_into::<Element>())
        .filter(|e| {
            let r = e.get_bounding_client_rect();
            r.top() >= v.top() - 0.5 && r.bottom() <= v.bottom() + 0.5
        })
        .map(|e| attr(&e, "data-index").parse().unwrap())
        .collect()
}

async fn scroll_to(viewport: &Element, px: i32) {
    viewport.set_scroll_top(px);
    viewport
        .dispatch_event(&event("Event", "scroll", &[]))
        .unwrap();
    for _ in 0..3 {
        settle().await;
    }
}

async fn key(viewport: &Element, key: &str) {
    let target = document()
        .active_element()
        .unwrap_or_else(|| viewport.clone());
    target
        .dispatch_event(&event("KeyboardEvent", "keydown", &[("key", &key.into())]))
        .unwrap();
    for _ in 0..3 {
        settle().await;
    }
    sleep_ms(60).await;
    settle().await;
}

fn focused_index() -> Option<u64> {
    document()
        .active_element()
        .and_then(|a| a.get_attribute("data-index"))
        .and_then(|i| i.parse().ok())
}

#[wasm_bindgen_test]
async fn five_million_rows_reach_their_last_row_by_scroll_and_by_keyboard() {
    let state = RwSignal::new(Inspection::default());
    let query = RwSignal::new(KeyQuery::default());
    let selected = Memo::new(|_| None::<String>);
    let m = mount(move || {
        serve(state, query);
        view! { <KeyList state query selected /> }
    });
    style(&m.root);
    settle().await;
    let viewport = by_id(&m.root, "keys-viewport");
    let height = f64::from(viewport.scroll_height());
    assert!(
        height <= MAX_LIST_PX + 1.0 && height > MAX_LIST_PX - 600.0,
        "laid out {height} px for {TOTAL} rows"
    );
    assert_eq!(rows_in_view(&viewport).first(), Some(&0));

    // Scrolled to the bottom: the last row, whole, at the bottom edge.
    let bottom = viewport.scroll_height() - viewport.client_height();
    scroll_to(&viewport, bottom).await;
    let seen = rows_in_view(&viewport);
    assert_eq!(
        seen.last(),
        Some(&(TOTAL - 1)),
        "rows in view at the bottom: {seen:?}"
    );
    assert!(seen.len() >= 19, "{seen:?}");
    // Consecutive rows, whatever the scale.
    assert!(seen.windows(2).all(|w| w[1] == w[0] + 1), "{seen:?}");

    // Halfway: rows from the middle of the list.
    scroll_to(&viewport, bottom / 2).await;
    let seen = rows_in_view(&viewport);
    let mid = seen[0];
    assert!(
        (TOTAL / 2 - 1000..TOTAL / 2 + 1000).contains(&mid),
        "halfway shows row {mid}"
    );

    // The keyboard: Home, then End, then Up from the last row.
    viewport.unchecked_ref::<HtmlElement>().focus().unwrap();
    key(&viewport, "Home").await;
    assert_eq!(focused_index(), Some(0));
    assert_eq!(viewport.scroll_top(), 0);
    key(&viewport, "End").await;
    assert_eq!(focused_index(), Some(TOTAL - 1));
    assert!(rows_in_view(&viewport).contains(&(TOTAL - 1)));
    key(&viewport, "ArrowUp").await;
    assert_eq!(focused_index(), Some(TOTAL - 2));
    // Page Up from the end, twice: each time the focused row is in view.
    for _ in 0..2 {
        key(&viewport, "PageUp").await;
        let f = focused_index().unwrap_or_else(|| {
            let a = document().active_element().map(|a| a.tag_name());
            panic!(
                "no focused row: active {a:?}, scrollTop {}, in view {:?}",
                viewport.scroll_top(),
                rows_in_view(&viewport)
            )
        });
        assert!(rows_in_view(&viewport).contains(&f), "row {f} out of view");
    }
    assert!(focused_index().unwrap() < TOTAL - 30);
    // The counter speaks of the rows in view.
    let count = by_id(&m.root, "key-count").text_content().unwrap();
    assert!(count.ends_with(&format!("of {TOTAL} keys")), "{count}");
}

fn child(i: usize) -> TreeNode {
    let segment = format!("cm-{i:05}");
    TreeNode {
        prefix: format!("/registry/configmaps/wide/{segment}"),
        segment,
        keys: 1,
        bytes: 100,
        key_hex: Some(hex::encode(format!("/registry/configmaps/wide/cm-{i:05}"))),
        has_children: false,
        role: None,
    }
}

#[wasm_bindgen_test]
async fn a_node_with_more_children_than_a_page_shows_them_all_page_by_page() {
    let n = 1234;
    let mut state = Inspection::default();
    state
        .tree
        .insert(String::new(), (0..n).map(child).collect());
    let state = RwSignal::new(state);
    let m = mount(move || {
        view! { <KeyTree state on_expand=Callback::new(|_: String| {}) on_choose=Callback::new(|_: String| {}) /> }
    });
    settle().await;
    let nodes = |root: &Element| {
        root.query_selector_all("[data-testid=tree-node]")
            .unwrap()
            .length()
    };
    assert_eq!(nodes(&m.root) as usize, CHILDREN_PAGE);
    let more = by_id(&m.root, "tree-more");
    assert_eq!(
        more.text_content().unwrap(),
        format!("show 501–1000 of {n} ({} not shown)", n - CHILDREN_PAGE)
    );
    click(&more);
    settle().await;
    assert_eq!(nodes(&m.root) as usize, 2 * CHILDREN_PAGE);
    click(&by_id(&m.root, "tree-more"));
    settle().await;
    assert_eq!(nodes(&m.root) as usize, n);
    assert!(
        m.root
            .query_selector("[data-testid=tree-more]")
            .unwrap()
            .is_none()
    );
    // The last child is there, in order, after the first.
    let list = m
        .root
        .query_selector_all("[data-testid=tree-node]")
        .unwrap();
    let last: Element = list.item(list.length() - 1).unwrap().unchecked_into();
    assert_eq!(attr(&last, "data-prefix"), child(n - 1).prefix);
}
