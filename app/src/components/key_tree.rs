//! The key tree by path segment (`/registry/` › `secrets/` › `kube-system/`),
//! with live keys and bytes per node. A node's children are fetched from the
//! worker when it is first opened. Choosing a node filters the key list to
//! its prefix; a node that is a key links to it. Keyboard: Up/Down move,
//! Right opens (or goes to the first child), Left closes (or goes to the
//! parent), Enter chooses.

use std::collections::BTreeSet;

use leptos::ev;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::protocol::TreeNode;
use crate::route::Route;
use crate::state::{Inspection, count, human_bytes};

/// Children shown per node at first, and how many more each "show more"
/// adds: a node with a hundred thousand children opens at once, and every
/// child can still be reached.
pub const CHILDREN_PAGE: usize = 500;

#[component]
pub fn KeyTree(
    state: RwSignal<Inspection>,
    /// Ask the worker for a node's children.
    on_expand: Callback<String>,
    /// Filter the key list to a prefix.
    on_choose: Callback<String>,
) -> impl IntoView {
    let open = RwSignal::new(BTreeSet::<String>::new());
    let chosen = RwSignal::new(String::new());
    let toggle = move |prefix: String| {
        let was_open = open.with_untracked(|o| o.contains(&prefix));
        if !was_open && state.with_untracked(|s| !s.tree.contains_key(&prefix)) {
            on_expand.run(prefix.clone());
        }
        open.update(|o| {
            if !o.remove(&prefix) {
                o.insert(prefix);
            }
        });
    };
    let choose = move |prefix: String| {
        chosen.set(prefix.clone());
        on_choose.run(prefix);
    };
    let (toggle_cb, choose_cb) = (Callback::new(toggle), Callback::new(choose));
    let root = move || {
        state.with(|s| s.tree.get("").cloned()).map(|nodes| {
            view! { <Level nodes depth=1 state open chosen toggle=toggle_cb choose=choose_cb /> }
        })
    };
    let on_key = move |ev: ev::KeyboardEvent| {
        if ev.default_prevented() {
            return;
        }
        let Some(target) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlElement>().ok())
        else {
            return;
        };
        let Some(prefix) = target.get_attribute("data-prefix") else {
            return;
        };
        let items = visible_items();
        let Some(at) = items
            .iter()
            .position(|el| el.get_attribute("data-prefix").as_deref() == Some(&prefix))
        else {
            return;
        };
        let expandable = target.get_attribute("aria-expanded");
        let focus = |i: usize| {
            if let Some(el) = items.get(i) {
                let _ = el.focus();
            }
        };
        match ev.key().as_str() {
            "ArrowDown" => focus((at + 1).min(items.len().saturating_sub(1))),
            "ArrowUp" => focus(at.saturating_sub(1)),
            "Home" => focus(0),
            "End" => focus(items.len().saturating_sub(1)),
            "ArrowRight" => match expandable.as_deref() {
                Some("false") => toggle(prefix),
                Some("true") => focus(at + 1),
                _ => return,
            },
            "ArrowLeft" => {
                if expandable.as_deref() == Some("true") {
                    toggle(prefix);
                } else if let Some(parent) = items[..at].iter().rposition(|el| {
                    el.get_attribute("data-prefix")
                        .is_some_and(|p| prefix.starts_with(&p) && p != prefix)
                }) {
                    focus(parent);
                }
            }
            "Enter" | " " => choose(prefix),
            _ => return,
        }
        ev.prevent_default();
    };
    view! {
        <nav class="key-tree" aria-label="Key tree">
            <div class="tree-head">
                <span>"Key tree"</span>
                <button class="link" data-testid="tree-all" on:click=move |_| choose(String::new())>"all keys"</button>
            </div>
            <ul role="tree" data-testid="key-tree" aria-label="Keys by path segment" on:keydown=on_key>
                {root}
            </ul>
        </nav>
    }
}

/// The tree's visible items, in order.
fn visible_items() -> Vec<web_sys::HtmlElement> {
    let Ok(list) = document().query_selector_all("[data-testid=key-tree] [role=treeitem]") else {
        return Vec::new();
    };
    (0..list.length())
        .filter_map(|i| list.item(i))
        .filter_map(|n| n.dyn_into::<web_sys::HtmlElement>().ok())
        .collect()
}

#[component]
fn Level(
    nodes: Vec<TreeNode>,
    depth: u32,
    state: RwSignal<Inspection>,
    open: RwSignal<BTreeSet<String>>,
    chosen: RwSignal<String>,
    toggle: Callback<String>,
    choose: Callback<String>,
) -> impl IntoView {
    let total = nodes.len();
    let first = nodes.first().map(|n| n.prefix.clone());
    let nodes = StoredValue::new(nodes);
    let limit = RwSignal::new(CHILDREN_PAGE.min(total));
    let shown = move || nodes.with_value(|ns| ns[..limit.get().min(ns.len())].to_vec());
    let item = move |n: TreeNode| {
        let prefix = n.prefix.clone();
        let p_open = prefix.clone();
        let is_open = Memo::new(move |_| open.with(|o| o.contains(&p_open)));
        let p_chosen = prefix.clone();
        let is_chosen = Memo::new(move |_| chosen.with(|c| *c == p_chosen));
        let expanded = n.has_children.then_some(());
        let (p1, p2, p3) = (prefix.clone(), prefix.clone(), prefix.clone());
        let tab = if first.as_deref() == Some(prefix.as_str()) && depth == 1 {
            "0"
        } else {
            "-1"
        };
        let link = n.key_hex.clone().map(|k| {
            let href = Route::Browse { key_hex: Some(k) }.href();
            view! { <a class="tree-key" href=href tabindex="-1" data-testid="tree-key">"open"</a> }
        });
        let children = move || {
            if !is_open.get() {
                return None;
            }
            Some(match state.with(|s| s.tree.get(&p3).cloned()) {
                    Some(kids) => view! {
                        <ul role="group"><Level nodes=kids depth=depth + 1 state open chosen toggle choose /></ul>
                    }
                    .into_any(),
                    None => view! { <ul role="group"><li class="hint">"loading…"</li></ul> }.into_any(),
                })
        };
        view! {
            <li role="none">
                <div role="treeitem" class="node" tabindex=tab data-testid="tree-node" data-prefix=prefix.clone()
                    aria-selected=move || is_chosen.get().to_string()
                    aria-expanded=move || expanded.map(|()| is_open.get().to_string())
                    class:chosen=move || is_chosen.get()
                    on:click=move |_| choose.run(p1.clone())>
                    {n.has_children.then(|| view! {
                        <button class="twisty" tabindex="-1" data-testid="tree-toggle"
                            aria-label=move || if is_open.get() { "close" } else { "open" }
                            on:click=move |ev| { ev.stop_propagation(); toggle.run(p2.clone()); }>
                            {move || if is_open.get() { "▾" } else { "▸" }}
                        </button>
                    })}
                    <span class="segment">{n.segment.clone()}</span>
                    {n.role.clone().map(|r| view! { <span class="role" data-testid="tree-role">{r}</span> })}
                    <span class="meta" data-testid="tree-count">{format!("{} · {}", count(n.keys, "key", "keys"), human_bytes(n.bytes))}</span>
                    {link}
                </div>
                {children}
            </li>
        }
    };
    let more = move || {
        let n = limit.get();
        (n < total).then(|| {
            let next = (n + CHILDREN_PAGE).min(total);
            view! {
                <li role="none" class="hint">
                    <button class="link" data-testid="tree-more"
                        on:click=move |_| limit.set(next)>
                        {format!("show {}–{} of {} ({} not shown)", n + 1, next, total, total - n)}
                    </button>
                </li>
            }
        })
    };
    view! {
        <For each=shown key=|n| n.prefix.clone() children=item />
        {more}
    }
}
