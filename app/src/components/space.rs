//! What fills the database: bytes per resource and per namespace, live and
//! retained history, drawn as SVG bars in the page (no external assets).

use leptos::prelude::*;

use crate::protocol::{HistogramBin, IndexView, SpaceRow};
use crate::state::{Inspection, count, human_bytes};

/// Bars drawn per chart; the rest are summed into one.
const MAX_BARS: usize = 25;
const BAR_HEIGHT: u32 = 18;
const CHART_WIDTH: f64 = 760.0;
const LABEL_WIDTH: f64 = 280.0;
/// Room kept right of the longest bar for its value ("1023.9 MiB + 1023.9 MiB").
const VALUE_WIDTH: f64 = 170.0;
/// Characters of a name drawn beside its bar (the whole name is in its tooltip).
const LABEL_CHARS: usize = 30;

#[component]
pub fn SpaceView(state: RwSignal<Inspection>) -> impl IntoView {
    let space = Memo::new(move |_| state.with(|s| s.space.clone()));
    let index = Memo::new(move |_| state.with(|s| s.index.clone()));
    view! {
        <section class="space" data-testid="space">
            {move || match space.get() {
                None => view! { <p class="hint" data-testid="space-pending">"Counting bytes per resource and namespace…"</p> }.into_any(),
                Some(sp) => view! {
                    {(sp.undecodable_entries > 0).then(|| view! {
                        <p class="error" data-testid="space-undecodable">{format!(
                            "{}: {}, {} — not counted below; the file is damaged.",
                            etcd_lens_core::k8s::stats::UNDECODABLE,
                            count(sp.undecodable_entries, "entry", "entries"),
                            human_bytes(sp.undecodable_bytes)
                        )}</p>
                    })}
                    <h3>"Bytes per resource"</h3>
                    {chart(sp.resources, "space-resources", "Bytes per resource, live and older revisions")}
                    <h3>"Bytes per namespace"</h3>
                    {chart(sp.namespaces, "space-namespaces", "Bytes per namespace, live and older revisions")}
                    <p class="hint" data-testid="space-legend">
                        <span class="swatch live" aria-hidden="true"></span>"live values"
                        <span class="swatch history" aria-hidden="true"></span>"older revisions still retained (a compaction would drop them; a defrag then returns the space)"
                    </p>
                }.into_any(),
            }}
            {move || index.get().map(revisions)}
        </section>
    }
}

/// The histogram of revisions retained per key, and the keys with the most.
fn revisions(ix: IndexView) -> impl IntoView {
    let bins = ix.revisions_histogram.clone();
    let max = bins.iter().map(|b| b.keys).max().unwrap_or(1).max(1) as f64;
    let col = 56.0;
    let plot = 160.0;
    let width = col * bins.len() as f64;
    let height = plot + 40.0;
    let bars = bins
        .into_iter()
        .enumerate()
        .map(|(i, HistogramBin { label, keys })| {
            let h = if keys == 0 { 0.0 } else { (keys as f64 / max * plot).max(1.0) };
            let x = i as f64 * col;
            let title = format!("{} with {label} revisions retained", count(keys, "key", "keys"));
            view! {
                <g data-testid="revisions-bin" data-label=label.clone() data-keys=keys.to_string()>
                    <title>{title}</title>
                    <rect x=format!("{:.1}", x + 6.0) y=format!("{:.1}", plot - h + 14.0) width=format!("{:.1}", col - 12.0) height=format!("{h:.1}") class="live" />
                    <text x=format!("{:.1}", x + col / 2.0) y="12" class="value" text-anchor="middle">{keys.to_string()}</text>
                    <text x=format!("{:.1}", x + col / 2.0) y=format!("{:.1}", plot + 32.0) class="label" text-anchor="middle">{label.clone()}</text>
                </g>
            }
        })
        .collect_view();
    let most = ix.most_revisions.clone();
    view! {
        <h3>"Revisions retained per key"</h3>
        <p class="hint">{format!(
            "{} retained for {} ({} live). Keys with many revisions are what a compaction frees.",
            count(ix.revisions, "revision", "revisions"), count(ix.keys_with_history, "key", "keys"), ix.live_keys
        )}</p>
        <svg class="chart" data-testid="revisions-histogram" role="img" aria-label="Keys by number of revisions retained"
            viewBox=format!("0 0 {width} {height}") width=width.to_string() height=height.to_string()>
            {bars}
        </svg>
        {(!most.is_empty()).then(|| view! {
            <table class="grid" data-testid="most-revisions">
                <caption>"Keys with the most retained revisions"</caption>
                <thead><tr><th scope="col">"key"</th><th scope="col">"revisions"</th></tr></thead>
                <tbody>
                    {most.into_iter().map(|(k, n)| {
                        let href = crate::route::Route::Browse { key_hex: Some(hex::encode(k.as_bytes())) }.href();
                        view! { <tr><td><a href=href data-testid="most-revisions-key"><code>{k}</code></a></td><td>{n}</td></tr> }
                    }).collect_view()}
                </tbody>
            </table>
        })}
    }
}

fn chart(mut rows: Vec<SpaceRow>, id: &'static str, label: &'static str) -> impl IntoView {
    rows.sort_by_key(|r| std::cmp::Reverse(r.live_bytes + r.history_bytes));
    if rows.len() > MAX_BARS {
        let rest = rows.split_off(MAX_BARS - 1);
        rows.push(SpaceRow {
            name: format!("({} more)", rest.len()),
            objects: rest.iter().map(|r| r.objects).sum(),
            live_bytes: rest.iter().map(|r| r.live_bytes).sum(),
            history_bytes: rest.iter().map(|r| r.history_bytes).sum(),
        });
    }
    let max = rows
        .iter()
        .map(|r| r.live_bytes + r.history_bytes)
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let height = (rows.len() as u32 + 1) * (BAR_HEIGHT + 4);
    let bars = rows
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let y = (i as u32 * (BAR_HEIGHT + 4)).to_string();
            let room = CHART_WIDTH - LABEL_WIDTH - VALUE_WIDTH;
            let w_live = (r.live_bytes as f64 / max * room).max(1.0);
            let w_hist = r.history_bytes as f64 / max * room;
            let objects = count(r.objects, "object", "objects");
            let label = format!("{} ({objects})", shorten(&r.name, LABEL_CHARS));
            let value = format!("{} + {}", human_bytes(r.live_bytes), human_bytes(r.history_bytes));
            let title = format!("{}: {objects}, {} bytes live, {} bytes of older revisions", r.name, r.live_bytes, r.history_bytes);
            view! {
                <g data-testid="space-bar" data-name=r.name.clone()>
                    <title>{title}</title>
                    <text x="0" y=(i as u32 * (BAR_HEIGHT + 4) + 13).to_string() class="label">{label}</text>
                    <rect x=LABEL_WIDTH.to_string() y=y.clone() width=format!("{w_live:.1}") height=BAR_HEIGHT.to_string() class="live" />
                    <rect x=format!("{:.1}", LABEL_WIDTH + w_live) y=y width=format!("{w_hist:.1}") height=BAR_HEIGHT.to_string() class="history" />
                    <text x=format!("{:.1}", LABEL_WIDTH + w_live + w_hist + 6.0) y=(i as u32 * (BAR_HEIGHT + 4) + 13).to_string() class="value">{value}</text>
                </g>
            }
        })
        .collect_view();
    view! {
        <svg class="chart" data-testid=id role="img" aria-label=label viewBox=format!("0 0 {CHART_WIDTH} {height}") width=CHART_WIDTH.to_string() height=height.to_string()>
            {bars}
        </svg>
    }
}

/// `name` cut in the middle to `max` characters, keeping its end (where
/// names differ): `kube-sys…-controller`.
pub fn shorten(name: &str, max: usize) -> String {
    let n = name.chars().count();
    if n <= max {
        return name.to_string();
    }
    let head = (max - 1) / 2;
    let tail = max - 1 - head;
    let start: String = name.chars().take(head).collect();
    let end: String = name.chars().skip(n - tail).collect();
    format!("{start}…{end}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_keep_both_ends() {
        assert_eq!(shorten("short", 30), "short");
        let s = shorten("customresourcedefinitions.apiextensions.k8s.io", 21);
        assert_eq!(s.chars().count(), 21);
        assert!(
            s.starts_with("customres") && s.ends_with("ns.k8s.io"),
            "{s}"
        );
    }
}
