//! Search and filter the live keys, in a virtualised list: only the rows in
//! view (and a margin) are in the page, fetched from the worker a window at a
//! time, so a million keys scroll like ten. Each row is a link
//! (`#/browse/<key hex>`), so deep links and back/forward just work; arrow
//! keys, Page Up/Down, Home and End move through the list.

use leptos::ev;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::protocol::{KeyPage, KeyQuery, SortBy};
use crate::route::Route;
use crate::state::{Inspection, human_bytes};

/// Height of one row, in CSS pixels (the stylesheet fixes it too).
pub const ROW_PX: f64 = 26.0;
/// Height of the scrolling viewport until it is measured (the stylesheet sets it).
const VIEWPORT_PX: f64 = 520.0;
/// Rows fetched per request, and how close to a fetched window's edge the
/// view may come before the next window is asked for.
pub const WINDOW_ROWS: u32 = 200;
const MARGIN_ROWS: u32 = 40;

/// The tallest list the page lays out, in CSS pixels. Browsers cap an
/// element's height (Chrome near 2^25 px, about 1.29 M rows of 26 px; Firefox
/// near 17.9 M px): a longer list scrolls a spacer this tall, each pixel
/// standing for more than a pixel of rows, so every row stays reachable.
pub const MAX_LIST_PX: f64 = 15_000_000.0;

/// The laid-out height of a list of `total` rows.
pub fn content_px(total: u64) -> f64 {
    (total as f64 * ROW_PX).min(MAX_LIST_PX)
}

/// The row at the viewport's top (fractional: part of it may be above) when
/// the list is scrolled to `scroll_top`: the scroll range maps linearly onto
/// the rows, so the top shows row 0 and the bottom the last row.
pub fn row_at(scroll_top: f64, view_px: f64, total: u64) -> f64 {
    let full = total as f64 * ROW_PX;
    let content = content_px(total);
    if full <= content {
        return (scroll_top / ROW_PX).max(0.0);
    }
    let range = (content - view_px).max(1.0);
    let rows = (full - view_px).max(ROW_PX) / ROW_PX;
    scroll_top.clamp(0.0, range) / range * rows
}

/// The scroll position that shows row `row` (fractional) at the viewport's top.
pub fn scroll_for(row: f64, view_px: f64, total: u64) -> f64 {
    let full = total as f64 * ROW_PX;
    let content = content_px(total);
    let row = row.max(0.0);
    if full <= content {
        return (row * ROW_PX).min((content - view_px).max(0.0));
    }
    let range = (content - view_px).max(1.0);
    let rows = (full - view_px).max(ROW_PX) / ROW_PX;
    (row.min(rows) / rows * range).min(range)
}

/// Where row `i` is laid out, in pixels from the list's top, for the view
/// scrolled to `scroll_top`: the rows in view sit where they are seen.
pub fn row_top(i: u64, scroll_top: f64, view_px: f64, total: u64) -> f64 {
    scroll_top + (i as f64 - row_at(scroll_top, view_px, total)) * ROW_PX
}

/// The first row to lay out near the view: `margin` rows above the first
/// one in view, but none above the list's top.
pub fn first_laid_out(scroll_top: f64, view_px: f64, total: u64, margin: u32) -> u64 {
    let pos = row_at(scroll_top, view_px, total);
    let lowest = (pos - scroll_top / ROW_PX).max(0.0).ceil() as u64;
    (pos.floor() as u64)
        .saturating_sub(u64::from(margin))
        .max(lowest)
}

/// The offset to fetch so rows `first..first + visible` are inside the window
/// with a margin, or `None` when the current window already covers them.
pub fn window_for(
    first: u32,
    visible: u32,
    current: Option<(u32, u32)>,
    total: u64,
) -> Option<u32> {
    let last = first + visible;
    if let Some((offset, len)) = current {
        let end = offset + len;
        let covers_top = first >= offset + MARGIN_ROWS.min(offset);
        let covers_bottom =
            u64::from(last + MARGIN_ROWS) <= u64::from(end) || u64::from(end) >= total;
        if covers_top && covers_bottom {
            return None;
        }
    }
    let centred = first.saturating_sub((WINDOW_ROWS - visible.min(WINDOW_ROWS)) / 2);
    Some(centred)
}

#[component]
pub fn KeyList(
    state: RwSignal<Inspection>,
    query: RwSignal<KeyQuery>,
    selected: Memo<Option<String>>,
) -> impl IntoView {
    let page = Memo::new(move |_| state.with(|s| s.keys.clone()));
    let scroll_top = RwSignal::new(0.0f64);
    // The viewport's height as laid out, measured when it scrolls or is shown.
    let viewport_px = RwSignal::new(VIEWPORT_PX);
    let viewport = NodeRef::<leptos::html::Div>::new();
    Effect::new(move |_| {
        if let Some(el) = viewport.get() {
            // The element may be reused from an earlier list: start where this one is.
            el.set_scroll_top(scroll_top.get_untracked() as i32);
            let h = f64::from(el.client_height());
            if h > 0.0 {
                viewport_px.set(h);
            }
        }
    });
    let set = move |f: fn(&mut KeyQuery, String)| {
        move |ev| {
            let v = event_target_value(&ev);
            query.update(|q| {
                f(q, v);
                q.offset = 0;
            });
            scroll_top.set(0.0);
            if let Some(el) = viewport.get_untracked() {
                el.set_scroll_top(0);
            }
        }
    };
    let options = move |pick: fn(&KeyPage) -> Vec<String>, current: String| {
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
    // A new filter (from the inputs or from the tree) or order starts at the top.
    Effect::new(move |prev: Option<[String; 5]>| {
        let filter = query.with(|q| {
            [
                q.prefix.clone(),
                q.contains.clone(),
                q.resource.clone(),
                q.namespace.clone(),
                format!("{}{}", q.sort.id(), q.descending),
            ]
        });
        if prev.is_some_and(|p| p != filter) {
            scroll_top.set(0.0);
            if let Some(el) = viewport.get_untracked() {
                el.set_scroll_top(0);
            }
        }
        filter
    });
    let total = move || page.get().map(|p| p.total).unwrap_or(0);
    let visible_rows = move || (viewport_px.get() / ROW_PX).ceil().max(1.0) as u32;
    // The row at the viewport's top (a list too tall to lay out scrolls scaled).
    let top_row = move || row_at(scroll_top.get(), viewport_px.get(), total());
    let filtered = move || {
        query.with(|q| {
            !(q.prefix.is_empty()
                && q.contains.is_empty()
                && q.resource.is_empty()
                && q.namespace.is_empty())
        })
    };
    // Ask for another window when the view nears the edge of the one we have.
    Effect::new(move |_| {
        let first = top_row().floor() as u32;
        let current = page.with(|p| p.as_ref().map(|p| (p.offset, p.rows.len() as u32)));
        let t = total();
        if let Some(offset) = window_for(first, visible_rows(), current, t)
            && offset != query.with_untracked(|q| q.offset)
        {
            query.update(|q| {
                q.offset = offset;
                q.limit = WINDOW_ROWS;
            });
        }
    });
    // Rendered rows sit between two spacers that stand for the rows above
    // and below, so the scroll height is that of the whole list. Rows are
    // keyed by position, so a focused row keeps its element while the view moves.
    let shown = Memo::new(move |_| {
        let (top, view) = (scroll_top.get(), viewport_px.get());
        let first = top_row().floor() as u32;
        let lo = first_laid_out(top, view, total(), MARGIN_ROWS) as u32;
        let hi = first + visible_rows() + MARGIN_ROWS;
        page.with(|p| {
            p.as_ref().map_or_else(Vec::new, |p| {
                p.rows
                    .iter()
                    .enumerate()
                    .map(|(i, r)| (p.offset + i as u32, r.clone()))
                    .filter(|(i, _)| (lo..hi).contains(i))
                    .collect::<Vec<_>>()
            })
        })
    });
    // Above the rows laid out, a spacer up to where the first of them sits;
    // below, one to the list's full (possibly capped) height.
    let above = move || {
        shown.with(|s| {
            s.first().map_or(0.0, |(i, _)| {
                row_top(u64::from(*i), scroll_top.get(), viewport_px.get(), total()).max(0.0)
            })
        })
    };
    let below = move || {
        let n = shown.with(|s| s.len() as f64);
        (content_px(total()) - above() - n * ROW_PX).max(0.0)
    };
    let row = move |(i, r): (u32, crate::protocol::KeyRow)| {
        let href = Route::Browse {
            key_hex: Some(r.key_hex.clone()),
        }
        .href();
        let hex = r.key_hex.clone();
        let current = Memo::new(move |_| selected.with(|s| s.as_deref() == Some(hex.as_str())));
        let data_key = r.key.clone();
        let title = r.key.clone();
        let (head, tail) = split_key(&r.key);
        view! {
            <li class:current=move || current.get() aria-setsize=move || total().to_string() aria-posinset=(i + 1).to_string()>
                <a href=href data-testid="key-row" data-key=data_key data-index=i.to_string()
                    aria-current=move || current.get().then_some("true") title=title>
                    <span class="key"><span class="head">{head}</span><span class="tail">{tail}</span></span>
                    <span class="col resource" title=r.resource.clone()>{r.resource.clone()}</span>
                    <span class="col namespace" title=r.namespace.clone()>{r.namespace.clone()}</span>
                    <span class="col num" title="mod revision">{r.mod_revision.to_string()}</span>
                    <span class="col num" title="version">{format!("v{}", r.version)}</span>
                    <span class="col num" title=format!("{} bytes", r.value_size)>{human_bytes(r.value_size)}</span>
                </a>
            </li>
        }
    };
    let rows = move || {
        view! {
            <li class="spacer" aria-hidden="true" style:height=move || format!("{}px", above())></li>
            <For each=move || shown.get() key=|(i, r)| (*i, r.key_hex.clone()) children=row />
            <li class="spacer" aria-hidden="true" style:height=move || format!("{}px", below())></li>
        }
    };
    let range = move || {
        let first = top_row().round() as u64;
        range_label(first, u64::from(visible_rows()), total(), filtered())
    };
    // Keyboard: move focus between rows, scrolling the next one into view.
    let on_key = move |ev: ev::KeyboardEvent| {
        // Handled already (the same event seen twice on its way up).
        if ev.default_prevented() {
            return;
        }
        let Some(el) = viewport.get_untracked() else {
            return;
        };
        let t = total();
        if t == 0 {
            return;
        }
        let focused = document()
            .active_element()
            .and_then(|a| a.get_attribute("data-index"))
            .and_then(|i| i.parse::<u64>().ok());
        let view_px = viewport_px.get_untracked();
        let view_top = f64::from(el.scroll_top());
        let at = focused.unwrap_or_else(|| row_at(view_top, view_px, t).ceil() as u64);
        let visible_rows_now = (view_px / ROW_PX).floor().max(1.0) as u32;
        let target = match ev.key().as_str() {
            "ArrowDown" => at + u64::from(focused.is_some()),
            "ArrowUp" => at.saturating_sub(1),
            "PageDown" => at + u64::from(visible_rows_now),
            "PageUp" => at.saturating_sub(u64::from(visible_rows_now)),
            "Home" => 0,
            "End" => t - 1,
            _ => return,
        }
        .min(t - 1);
        ev.prevent_default();
        let top = row_top(target, view_top, view_px, t);
        if top < view_top || top + ROW_PX > view_top + view_px {
            // Whole pixels: round towards the side that keeps the row in view.
            let new_top = if top < view_top {
                scroll_for(target as f64, view_px, t).floor()
            } else {
                scroll_for((target + 1) as f64 - view_px / ROW_PX, view_px, t).ceil()
            };
            el.set_scroll_top(new_top as i32);
            scroll_top.set(f64::from(el.scroll_top()));
        }
        // After the rows moved into place (the list renders on the next tick).
        set_timeout(
            move || focus_row(el, target, 0),
            std::time::Duration::from_millis(0),
        );
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
            <p class="hint" data-testid="key-count" aria-live="polite">{range}</p>
            <SortHead query />
            <div class="viewport" node_ref=viewport data-testid="keys-viewport" tabindex="0"
                aria-label="Key list: arrow keys move, Enter opens"
                on:scroll=move |_| {
                    if let Some(el) = viewport.get_untracked() {
                        scroll_top.set(f64::from(el.scroll_top()));
                        let h = f64::from(el.client_height());
                        if h > 0.0 && h != viewport_px.get_untracked() {
                            viewport_px.set(h);
                        }
                    }
                }
                on:keydown=on_key>
                <ul class="keys" data-testid="keys">{rows}</ul>
            </div>
        </section>
    }
}

/// The list's column heads: the key, the resource and namespace (from the
/// key), and the live version's revision, version and size. The key and the
/// last three order the list (the worker sorts every match); pressing the
/// current order again turns it around.
#[component]
fn SortHead(query: RwSignal<KeyQuery>) -> impl IntoView {
    let head = move |by: SortBy, class: &'static str| {
        let active = move || query.with(|q| q.sort == by);
        let arrow = move || {
            query.with(|q| match (q.sort == by, q.descending) {
                (false, _) => "",
                (true, false) => " ▲",
                (true, true) => " ▼",
            })
        };
        let describe = move || {
            query.with(|q| match (q.sort == by, q.descending) {
                (false, _) => format!("Sort by {}", by.label()),
                (true, false) => {
                    format!("Sorted by {}, ascending: press for descending", by.label())
                }
                (true, true) => {
                    format!("Sorted by {}, descending: press for ascending", by.label())
                }
            })
        };
        view! {
            <button class=format!("col {class}") data-testid=format!("sort-{}", by.id())
                aria-pressed=move || active().to_string() title=describe aria-label=describe
                on:click=move |_| query.update(|q| {
                    if q.sort == by {
                        q.descending = !q.descending;
                    } else {
                        q.sort = by;
                        // Numbers: the largest (newest, most written) first.
                        q.descending = by != SortBy::Key;
                    }
                    q.offset = 0;
                })>
                {by.head()}{arrow}
            </button>
        }
    };
    view! {
        <div class="list-head" role="group" aria-label="Order of the keys" data-testid="sort-head">
            {head(SortBy::Key, "key")}
            <span class="col resource">"Resource"</span>
            <span class="col namespace">"Namespace"</span>
            {head(SortBy::Revision, "num")}
            {head(SortBy::Version, "num")}
            {head(SortBy::Size, "num")}
        </div>
    }
}

/// A key cut where a long one is shortened: the head (its path) gives way
/// first, the tail (the last segment, the object's name) stays whole.
pub fn split_key(key: &str) -> (String, String) {
    let trimmed = key.trim_end_matches('/');
    match trimmed.rfind('/') {
        Some(at) if at > 0 => (key[..=at].to_string(), key[at + 1..].to_string()),
        _ => (String::new(), key.to_string()),
    }
}

/// The counter above the list: the rows in view of `total` (`first` counts from 0).
pub fn range_label(first: u64, visible: u64, total: u64, filtered: bool) -> String {
    if total == 0 {
        return if filtered {
            "no keys match".into()
        } else {
            "no live keys in this snapshot".into()
        };
    }
    let first = (first + 1).min(total);
    let last = (first + visible.max(1) - 1).min(total);
    let noun = if total == 1 { "key" } else { "keys" };
    if first == last {
        format!("{first} of {total} {noun}")
    } else {
        format!("{first}–{last} of {total} {noun}")
    }
}

/// Focus row `index` once it is rendered (a fetch may be under way).
fn focus_row(viewport: web_sys::HtmlDivElement, index: u64, tries: u32) {
    let sel = format!("[data-index=\"{index}\"]");
    if let Ok(Some(el)) = viewport.query_selector(&sel)
        && let Ok(el) = el.dyn_into::<web_sys::HtmlElement>()
    {
        // The row is in view already: a focus that scrolled would move the
        // rows of a scaled list under it.
        let opts = web_sys::FocusOptions::new();
        opts.set_prevent_scroll(true);
        let _ = el.focus_with_options(&opts);
        return;
    }
    if tries < 40 {
        set_timeout(
            move || focus_row(viewport, index, tries + 1),
            std::time::Duration::from_millis(25),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_counter_tells_the_rows_in_view() {
        assert_eq!(range_label(0, 20, 419, false), "1–20 of 419 keys");
        assert_eq!(range_label(399, 20, 419, false), "400–419 of 419 keys");
        assert_eq!(range_label(0, 20, 2, true), "1–2 of 2 keys");
        assert_eq!(range_label(0, 20, 1, false), "1 of 1 key");
        assert_eq!(
            range_label(0, 20, 0, false),
            "no live keys in this snapshot"
        );
        assert_eq!(range_label(0, 20, 0, true), "no keys match");
    }

    #[test]
    fn a_key_keeps_its_name_whole() {
        assert_eq!(
            split_key("/registry/configmaps/kube-system/extension-apiserver-authentication"),
            (
                "/registry/configmaps/kube-system/".to_string(),
                "extension-apiserver-authentication".to_string()
            )
        );
        assert_eq!(split_key("plain"), (String::new(), "plain".to_string()));
        assert_eq!(split_key("/a"), (String::new(), "/a".to_string()));
        let (h, t) = split_key("/registry/x/");
        assert_eq!(format!("{h}{t}"), "/registry/x/");
    }

    #[test]
    fn short_lists_scroll_one_pixel_per_pixel() {
        let (view, total) = (520.0, 1000);
        assert_eq!(content_px(total), 26_000.0);
        assert_eq!(row_at(260.0, view, total), 10.0);
        assert_eq!(scroll_for(10.0, view, total), 260.0);
        assert_eq!(row_top(12, 260.0, view, total), 12.0 * ROW_PX);
        assert_eq!(first_laid_out(260.0, view, total, 40), 0);
        assert_eq!(first_laid_out(26_000.0 - view, view, total, 40), 940);
    }

    #[test]
    fn five_million_rows_reach_their_end_within_the_height_cap() {
        let (view, total) = (520.0, 5_000_000u64);
        let content = content_px(total);
        assert_eq!(content, MAX_LIST_PX);
        let bottom = content - view;
        // Scrolled to the bottom, the last row's bottom edge is the list's.
        let last = total - 1;
        assert!((row_top(last, bottom, view, total) + ROW_PX - content).abs() < 1e-6);
        assert_eq!(row_at(0.0, view, total), 0.0);
        assert_eq!(row_top(0, 0.0, view, total), 0.0);
        // Monotonic and invertible, to within a pixel.
        let mut prev = -1.0;
        for px in [0.0, 1.0, 1000.0, 7_000_000.0, bottom - 1.0, bottom] {
            let r = row_at(px, view, total);
            assert!(r > prev, "{px}: {r} after {prev}");
            prev = r;
            assert!((scroll_for(r, view, total) - px).abs() < 1e-3, "{px}");
        }
        // The rows laid out never start above the list's top.
        for px in [0.0, 3.0, 100.0, 5000.0, bottom] {
            let lo = first_laid_out(px, view, total, 40);
            assert!(row_top(lo, px, view, total) >= -1e-6, "{px}: row {lo}");
            assert!(lo as f64 <= row_at(px, view, total), "{px}");
        }
    }

    #[test]
    fn windows_are_fetched_only_near_the_edges() {
        // Nothing fetched yet: a window around the view.
        assert_eq!(window_for(0, 20, None, 1000), Some(0));
        // Inside the current window with margin: no fetch.
        assert_eq!(window_for(50, 20, Some((0, 200)), 1000), None);
        // Near the bottom edge: a new window centred on the view.
        assert_eq!(window_for(150, 20, Some((0, 200)), 1000), Some(60));
        // The window reaches the end of the list: no fetch even near its edge.
        assert_eq!(window_for(190, 20, Some((0, 200)), 200), None);
        // Scrolled far away (a jump to row 900 000).
        assert_eq!(
            window_for(900_000, 20, Some((0, 200)), 1_000_000),
            Some(899_910)
        );
        // Near the top edge of a later window.
        assert_eq!(window_for(500, 20, Some((490, 200)), 1000), Some(410));
    }
}
