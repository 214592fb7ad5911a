//! Search and filter the live keys; one page of rows at a time, each a link
//! (`#/browse/<key hex>`), so keyboard, deep links and back/forward just work.

use leptos::prelude::*;

use crate::protocol::KeyQuery;
use crate::route::Route;
use crate::state::{Inspection, human_bytes};

#[component]
pub fn KeyList(
    state: RwSignal<Inspection>,
    query: RwSignal<KeyQuery>,
    selected: Memo<Option<String>>,
) -> impl IntoView {
    let page = Memo::new(move |_| state.with(|s| s.keys.clone()));
    let set = move |f: fn(&mut KeyQuery, String)| {
        move |ev| {
            let v = event_target_value(&ev);
            query.update(|q| {
                f(q, v);
                q.offset = 0;
            });
        }
    };
    let options = move |pick: fn(&crate::protocol::KeyPage) -> Vec<String>, current: String| {
        page.get()
            .map(|p| pick(&p))
            .unwrap_or_default()
            .into_iter()
            .map(|v| {
                let sel = v == current;
                let label = v.clone();
                view! { <option value=v selected=sel>{label}</option> }
            })
            .collect_view()
    };
    let rows = move || {
        let sel = selected.get();
        page.get().map(|p| {
            p.rows
                .into_iter()
                .map(|r| {
                    let href = Route::Browse { key_hex: Some(r.key_hex.clone()) }.href();
                    let current = sel.as_deref() == Some(r.key_hex.as_str());
                    let data_key = r.key.clone();
                    view! {
                        <li class:current=current>
                            <a href=href data-testid="key-row" data-key=data_key aria-current=current.then_some("true")>
                                <span class="key">{r.key}</span>
                                <span class="meta">{format!("rev {} · v{} · {}", r.mod_revision, r.version, human_bytes(r.value_size))}</span>
                            </a>
                        </li>
                    }
                })
                .collect_view()
        })
    };
    let total = move || page.get().map(|p| p.total).unwrap_or(0);
    let range = move || {
        let q = query.get();
        let t = total();
        let first = if t == 0 { 0 } else { u64::from(q.offset) + 1 };
        let last = (u64::from(q.offset) + u64::from(q.limit)).min(t);
        format!("{first}–{last} of {t} keys")
    };
    let prev = move |_| query.update(|q| q.offset = q.offset.saturating_sub(q.limit));
    let next = move |_| {
        if u64::from(query.get_untracked().offset + query.get_untracked().limit) < total() {
            query.update(|q| q.offset += q.limit);
        }
    };
    view! {
        <section class="key-list" aria-label="Keys">
            <div class="filters">
                <label>"Prefix "
                    <input type="search" data-testid="filter-prefix" placeholder="/registry/secrets/"
                        prop:value=move || query.get().prefix on:input=set(|q, v| q.prefix = v) />
                </label>
                <label>"Contains "
                    <input type="search" data-testid="filter-contains" placeholder="kube-system"
                        prop:value=move || query.get().contains on:input=set(|q, v| q.contains = v) />
                </label>
                <label>"Resource "
                    <select data-testid="filter-resource" on:change=set(|q, v| q.resource = v)>
                        <option value="">"all"</option>
                        {move || options(|p| p.resources.clone(), query.get().resource)}
                    </select>
                </label>
                <label>"Namespace "
                    <select data-testid="filter-namespace" on:change=set(|q, v| q.namespace = v)>
                        <option value="">"all"</option>
                        {move || options(|p| p.namespaces.clone(), query.get().namespace)}
                    </select>
                </label>
            </div>
            <p class="hint" data-testid="key-count">{range}</p>
            <ul class="keys" data-testid="keys">{rows}</ul>
            <div class="pager">
                <button data-testid="page-prev" on:click=prev>"◀ Previous"</button>
                <button data-testid="page-next" on:click=next>"Next ▶"</button>
            </div>
        </section>
    }
}
