//! What fills the database: bytes per resource and per namespace, live and
//! retained history, drawn as SVG bars in the page (no external assets).

use leptos::prelude::*;

use crate::protocol::SpaceRow;
use crate::state::{Inspection, human_bytes};

/// Bars drawn per chart; the rest are summed into one.
const MAX_BARS: usize = 25;
const BAR_HEIGHT: u32 = 18;
const CHART_WIDTH: f64 = 640.0;
const LABEL_WIDTH: f64 = 260.0;

#[component]
pub fn SpaceView(state: RwSignal<Inspection>) -> impl IntoView {
    let ov = Memo::new(move |_| state.with(|s| s.overview.clone()));
    move || {
        ov.get().map(|o| {
            view! {
                <section class="space" data-testid="space">
                    <h3>"Bytes per resource"</h3>
                    {chart(o.resources, "space-resources")}
                    <h3>"Bytes per namespace"</h3>
                    {chart(o.namespaces, "space-namespaces")}
                    <p class="hint">"Dark: live values. Light: older revisions still retained (a compaction would drop them; a defrag then returns the space)."</p>
                </section>
            }
        })
    }
}

fn chart(mut rows: Vec<SpaceRow>, id: &'static str) -> impl IntoView {
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
            let w_live = (r.live_bytes as f64 / max * (CHART_WIDTH - LABEL_WIDTH - 120.0)).max(1.0);
            let w_hist = r.history_bytes as f64 / max * (CHART_WIDTH - LABEL_WIDTH - 120.0);
            let label = format!("{} ({} objects)", r.name, r.objects);
            let value = format!("{} + {}", human_bytes(r.live_bytes), human_bytes(r.history_bytes));
            let title = format!("{}: {} objects, {} live, {} history", r.name, r.objects, r.live_bytes, r.history_bytes);
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
        <svg class="chart" data-testid=id role="img" viewBox=format!("0 0 {CHART_WIDTH} {height}") width=CHART_WIDTH.to_string() height=height.to_string()>
            {bars}
        </svg>
    }
}
