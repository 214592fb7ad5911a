//! The Planner tab: inputs on the left, the core's plan on the right, the
//! inputs in the URL (`route::Route::Planner`), so a reload or a shared link
//! shows the same plan. Works with no file open and no server; with a file
//! open (and indexed) it can read size, fragmentation and history from it.

use etcd_lens_core::plan::Plan;
use etcd_lens_core::plan::availability::Availability;
use etcd_lens_core::plan::domains::Fix;
use etcd_lens_core::plan::headroom::Headroom;
use etcd_lens_core::plan::upgrade::{Checklist, State, TrailerState};
use etcd_lens_core::trailer::TrailerStatus;
use leptos::prelude::*;

use crate::live_state::LiveState;
use crate::planner::{Field, OpenSnapshot, PlannerForm, describe};
use crate::route::Route;
use crate::state::{Inspection, count, human_bytes};

/// The fields shown at once; the others sit under "Model and versions".
const MAIN_FIELDS: [Field; 5] = [
    Field::Members,
    Field::Zones,
    Field::RttMs,
    Field::Clients,
    Field::Rps,
];
const MORE_FIELDS: [Field; 10] = [
    Field::Learners,
    Field::QuotaBytes,
    Field::DiskMbPerS,
    Field::NetworkMbPerS,
    Field::MemberFailuresPerYear,
    Field::MemberRepairHours,
    Field::ZoneOutagesPerYear,
    Field::ZoneOutageHours,
    Field::EtcdVersion,
    Field::UpgradeTo,
];

fn trailer_state(t: &TrailerStatus) -> TrailerState {
    match t {
        TrailerStatus::Verified { .. } => TrailerState::Verified,
        TrailerStatus::Absent => TrailerState::Absent,
        TrailerStatus::Mismatch { .. } => TrailerState::Mismatch,
    }
}

/// Write the form into the URL in place: no history entry per keystroke, and
/// no `hashchange` (which would arrive after the next keystroke and undo it).
fn write_url(query: &str) {
    let href = Route::Planner {
        query: query.to_string(),
    }
    .href();
    if let Ok(h) = window().history() {
        let _ = h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&href));
    }
}

/// `route_query`: the inputs as the URL gave them (a link, reload, back or
/// forward); `kept`: the inputs now, which the tab's link leads back to.
#[component]
pub fn PlannerPage(
    state: RwSignal<Inspection>,
    route_query: Memo<String>,
    kept: RwSignal<String>,
    /// The Live tab's state: its selected cluster's status, when connected.
    live: LiveState,
) -> impl IntoView {
    let live_facts = Memo::new(move |_| live.status.with(|s| s.as_ref().map(|s| s.plan_facts())));
    let form = RwSignal::new(PlannerForm::parse(&route_query.get_untracked()));
    Effect::new(move |_| {
        let from_url = PlannerForm::parse(&route_query.get());
        if form.with_untracked(|f| *f != from_url) {
            form.set(from_url);
        }
    });
    let store = move |f: PlannerForm| {
        let q = f.query();
        write_url(&q);
        kept.set(q);
        form.set(f);
    };
    let open = Memo::new(move |_| {
        state.with(|s| {
            let facts = s.index.as_ref()?.plan_facts.clone()?;
            Some(OpenSnapshot {
                name: s.file_name.clone().unwrap_or_default(),
                facts,
                trailer: s.trailer.as_ref().map(trailer_state),
            })
        })
    });
    // Not a memo: a plan has floats and no equality; it is computed once per change of its inputs.
    let result = move || {
        let o = open.get();
        let l = live_facts.get();
        form.with(|f| f.plan(o.as_ref(), l.as_ref()))
    };
    let input = move |f: Field| {
        let id = format!("plan-{}", f.name());
        view! {
            <label for=id.clone()>{f.label()}</label>
            <input id=id.clone() data-testid=id type="text" inputmode=if f == Field::Zones { "text" } else { "decimal" }
                placeholder=f.placeholder()
                prop:value=move || form.with(|x| x.get(f).to_string())
                on:input=move |ev| store(form.get_untracked().with(f, &event_target_value(&ev))) />
        }
    };
    let use_snapshot = move |ev: leptos::ev::Event| {
        let mut f = form.get_untracked();
        f.use_snapshot = event_target_checked(&ev);
        store(f);
    };
    let use_live = move |ev: leptos::ev::Event| {
        let mut f = form.get_untracked();
        f.use_live = event_target_checked(&ev);
        store(f);
    };
    view! {
        <section class="planner" data-testid="planner">
            <h2>"Sizing planner"</h2>
            <p class="hint">"How many members, where to put them, what timing and disks: etcd's published rules, applied to your numbers. Everything is computed in this tab; the inputs are in the address, so a plan can be shared as a link."</p>
            <div class="planner-grid">
                <form class="plan-inputs" aria-label="Planner inputs" on:submit=|ev| ev.prevent_default()>
                    <div class="field-grid">{MAIN_FIELDS.map(input).collect_view()}</div>
                    <p>
                        <label>
                            <input type="checkbox" data-testid="plan-use-snapshot"
                                prop:checked=move || form.with(|f| f.use_snapshot)
                                prop:disabled=move || open.with(Option::is_none)
                                on:change=use_snapshot />
                            " Use the open snapshot"
                        </label>
                        " "
                        <span class="hint" data-testid="plan-snapshot-source">{move || match open.get() {
                            Some(s) => describe(&s),
                            None => "(open and index a file in the inspector first)".to_string(),
                        }}</span>
                    </p>
                    <p>
                        <label>
                            <input type="checkbox" data-testid="plan-use-live"
                                prop:checked=move || form.with(|f| f.use_live)
                                prop:disabled=move || live_facts.with(Option::is_none)
                                on:change=use_live />
                            " Use the live cluster"
                        </label>
                        " "
                        <span class="hint" data-testid="plan-live-source">{move || match live_facts.get() {
                            Some(l) => format!(
                                "{}: {} voting, {}, quorum {}, {} (members, version and quorum where not typed; the checklist's alarms)",
                                l.cluster,
                                l.voting_members,
                                l.lowest_version.map_or_else(|| "version unknown".to_string(), |v| format!("lowest version {v}")),
                                if l.quorum_held { "held" } else { "lost" },
                                count(l.alarms.len() as u64, "alarm", "alarms"),
                            ),
                            None => "(connect to the companion server in the Live tab and pick a cluster first)".to_string(),
                        }}</span>
                    </p>
                    <details>
                        <summary>"Model, quota and versions"</summary>
                        <div class="field-grid">{MORE_FIELDS.map(input).collect_view()}</div>
                    </details>
                </form>
                <div class="plan-results" aria-live="polite">
                    {move || match result() {
                        Err(e) => view! { <p class="error" role="alert" data-testid="plan-error">{e}</p> }.into_any(),
                        Ok(p) => results(p).into_any(),
                    }}
                </div>
            </div>
        </section>
    }
}

fn results(p: Plan) -> impl IntoView {
    let q = p.quorum;
    let summary = format!(
        "{} voting member{} need {} for quorum and tolerate {}.",
        q.members,
        if q.members == 1 { "" } else { "s" },
        q.majority,
        count(u64::from(q.tolerates), "failure", "failures"),
    );
    view! {
        <p class="plan-summary" data-testid="plan-summary">{summary}</p>
        {warnings(&p)}
        {recommendation(&p)}
        <h3>"Quorum"</h3>
        <table class="grid quorum" data-testid="quorum-table">
            <caption class="hint">"Majority ⌊n/2⌋+1 of the voting members; learners do not vote."</caption>
            <thead><tr><th scope="col">"Members"</th><th scope="col">"Majority"</th><th scope="col">"Tolerates"</th></tr></thead>
            <tbody>
                {p.quorum_table.iter().map(|r| view! {
                    <tr class:current=r.members == q.members aria-current=(r.members == q.members).then_some("true")>
                        <td>{r.members}</td><td>{r.majority}</td><td>{r.tolerates}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        {matrix(&p)}
        {availability(&p)}
        {p.snapshot.as_ref().map(snapshot)}
        {p.upgrade.as_ref().map(upgrade)}
        <h3>"Where the rules come from"</h3>
        <ul class="sources" data-testid="plan-sources">
            {p.sources.iter().map(|s| view! { <li><strong>{s.rule}</strong>": "{s.source}</li> }).collect_view()}
        </ul>
    }
}

fn warnings(p: &Plan) -> impl IntoView + use<> {
    let items: Vec<_> = p
        .warnings
        .iter()
        .map(|w| {
            view! {
                <li data-code=w.code.as_str()><code>{w.code.as_str()}</code>": "{w.message.clone()}
                    <span class="hint">" ("{w.source}")"</span></li>
            }
        })
        .collect();
    (!items.is_empty()).then(|| {
        view! {
            <h3>"Warnings"</h3>
            <ul class="warnings" data-testid="plan-warnings">{items}</ul>
        }
    })
}

fn fix_text(f: &Fix) -> String {
    format!("{} → {}", f.description(), f.layout())
}

fn recommendation(p: &Plan) -> impl IntoView + use<> {
    let placement = p
        .recommended_placement
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(" / ");
    let mut reasons: Vec<String> = vec![format!(
        "Placement {placement} over {}: {}.",
        count(p.recommended_placement.len() as u64, "zone", "zones"),
        if p.recommended_placement_survives_zone_loss {
            "survives the loss of any one zone"
        } else {
            "cannot survive the loss of a zone (that needs 3 zones and 3 members)"
        }
    )];
    if let Some(f) = &p.smallest_fix {
        reasons.push(format!("Smallest change to your layout: {}.", fix_text(f)));
    }
    if let Some(t) = &p.timing {
        reasons.push(format!(
            "At {} ms round trip: {} (heartbeat {}–{} ms, election ≥ {} ms; the defaults 100/1000 ms {}).",
            t.rtt_ms,
            t.flags,
            t.heartbeat_range_ms[0],
            t.heartbeat_range_ms[1],
            t.election_timeout_min_ms,
            if t.defaults_safe {
                "are safe"
            } else {
                "are not safe"
            }
        ));
    }
    if let Some(h) = &p.hardware {
        reasons.push(format!(
            "Hardware: the {} tier (by {}): {} vCPU, {} GB memory, {} IOPS, {} MB/s disk, e.g. {} {}; WAL fsync p99 under {} ms, backend commit p99 under {} ms.",
            h.tier.name(),
            h.based_on.join(", "),
            h.vcpus,
            h.memory_gb,
            h.max_concurrent_iops,
            h.disk_bandwidth_mb_per_s,
            h.machines[0].provider,
            h.machines[0].instance_type,
            h.wal_fsync_p99_max_ms,
            h.backend_commit_p99_max_ms
        ));
    }
    view! {
        <h3>"Recommended"</h3>
        <ul class="recommended" data-testid="plan-recommended">
            {reasons.into_iter().map(|r| view! { <li>{r}</li> }).collect_view()}
        </ul>
    }
}

/// Zones × zones: the diagonal is one zone lost, the rest two lost together.
fn matrix(p: &Plan) -> impl IntoView + use<> {
    (!p.zones.is_empty()).then(|| {
        let names: Vec<String> = p.zones.iter().map(|z| z.name.clone()).collect();
        let cell = |a: usize, b: usize| -> (bool, String) {
            if a == b {
                let z = &p.zones[a];
                (
                    z.loss_keeps_quorum,
                    format!("{} lost ({})", z.name, count(u64::from(z.members), "member", "members")),
                )
            } else {
                let pair = p.zone_pairs.iter().find(|x| {
                    (x.zones[0] == names[a] && x.zones[1] == names[b])
                        || (x.zones[0] == names[b] && x.zones[1] == names[a])
                });
                pair.map_or((true, String::new()), |x| {
                    (
                        x.keeps_quorum,
                        format!(
                            "{} and {} lost ({})",
                            names[a],
                            names[b],
                            count(u64::from(x.members_lost), "member", "members")
                        ),
                    )
                })
            }
        };
        let rows = (0..names.len())
            .map(|a| {
                let cells = (0..names.len())
                    .map(|b| {
                        let (keeps, title) = cell(a, b);
                        let id = format!("loss-{}-{}", names[a], names[b]);
                        view! {
                            <td class=if keeps { "survives" } else { "loses" } title=title data-testid=id>
                                {if keeps { "keeps quorum" } else { "loses quorum" }}
                            </td>
                        }
                    })
                    .collect_view();
                view! { <tr><th scope="row">{names[a].clone()}" ("{p.zones[a].members}")"</th>{cells}</tr> }
            })
            .collect_view();
        let verdict = match p.survives_any_zone_loss {
            Some(true) => "This layout survives the loss of any one zone.",
            _ => "This layout does not survive the loss of every single zone.",
        };
        view! {
            <h3>"Failure domains"</h3>
            <p data-testid="zone-verdict" class=if p.survives_any_zone_loss == Some(true) { "ok" } else { "bad" }>{verdict}</p>
            <table class="grid zone-matrix" data-testid="zone-matrix">
                <caption class="hint">"Each cell: those zones lost at once (the diagonal: one zone)."</caption>
                <thead><tr><th scope="col">"Lost"</th>{names.iter().map(|n| view! { <th scope="col">{n.clone()}</th> }).collect_view()}</tr></thead>
                <tbody>{rows}</tbody>
            </table>
        }
    })
}

fn minutes(m: f64) -> String {
    if m >= 100.0 {
        format!("{m:.0}")
    } else if m >= 0.01 {
        format!("{m:.2}")
    } else {
        format!("{m:.1e}")
    }
}

fn availability(p: &Plan) -> impl IntoView + use<> {
    const W: f64 = 320.0;
    const ROW: f64 = 22.0;
    let rows: Vec<Availability> = p.availability.clone();
    let max = rows
        .iter()
        .map(|a| a.quorum_loss_minutes_per_year)
        .fold(0.0, f64::max)
        .max(f64::MIN_POSITIVE);
    let height = ROW * rows.len() as f64;
    let label = rows
        .iter()
        .map(|a| {
            format!(
                "{}: {} min/year",
                a.layout,
                minutes(a.quorum_loss_minutes_per_year)
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let bars = rows
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let y = i as f64 * ROW;
            let w = (a.quorum_loss_minutes_per_year / max * W).max(1.0);
            view! {
                <text class="label" x="0" y=y + 15.0>{a.layout.clone()}{if a.yours { " (yours)" } else { "" }}</text>
                <rect class=if a.yours { "yours" } else { "candidate" } x="170" y=y + 4.0 width=w height="14"></rect>
                <text class="value" x=176.0 + w y=y + 15.0>{minutes(a.quorum_loss_minutes_per_year)}</text>
            }
        })
        .collect_view();
    let m = &p.availability_model;
    view! {
        <h3>"Availability"</h3>
        <p class="hint">{format!(
            "Expected minutes per year without quorum, from a model of independent failures: a member fails {} times a year and takes {} h to repair; a zone fails {} times a year for {} h.",
            m.rates.member_failures_per_year, m.rates.member_repair_hours, m.rates.zone_outages_per_year, m.rates.zone_outage_hours
        )}</p>
        <svg class="chart availability" role="img" aria-label=format!("Minutes per year without quorum: {label}")
            width=W + 260.0 height=height viewBox=format!("0 0 {} {height}", W + 260.0)>
            {bars}
        </svg>
        <table class="grid" data-testid="availability-table">
            <thead><tr>
                <th scope="col">"Layout"</th><th scope="col">"Members"</th>
                <th scope="col">"Minutes/year without quorum"</th><th scope="col">"Losses/year"</th>
                <th scope="col">"P(≥ 1 loss in a year)*"</th>
            </tr></thead>
            <tbody>{rows.iter().map(|a| view! {
                <tr class:current=a.yours>
                    <td>{a.layout.clone()}{if a.yours { " (yours)" } else { "" }}</td>
                    <td>{a.members}</td>
                    <td>{minutes(a.quorum_loss_minutes_per_year)}</td>
                    <td>{format!("{:.2e}", a.quorum_losses_per_year)}</td>
                    <td>{format!("{:.2e}", a.p_quorum_loss_per_year)}</td>
                </tr>
            }).collect_view()}</tbody>
        </table>
        <details class="hint">
            <summary>"The model and its assumptions"</summary>
            <p>{m.description}</p>
            <ul>{m.assumptions.iter().map(|a| view! { <li>{*a}</li> }).collect_view()}</ul>
            <p>{m.defaults}</p>
            <p>"* "{m.p_quorum_loss_per_year_is}</p>
        </details>
    }
}

fn snapshot(h: &Headroom) -> impl IntoView + use<> {
    let rows = vec![
        (
            "Database size",
            format!(
                "{} of a {} quota ({:.1} %)",
                human_bytes(h.db_size_bytes),
                human_bytes(h.quota_bytes),
                h.quota_used_ratio * 100.0
            ),
            "plan-db-size",
            h.db_size_bytes.to_string(),
        ),
        (
            "In use",
            human_bytes(h.db_size_in_use_bytes),
            "plan-in-use",
            h.db_size_in_use_bytes.to_string(),
        ),
        (
            "A defrag would reclaim",
            format!(
                "{} ({:.1} %){}",
                human_bytes(h.reclaimable_bytes),
                h.reclaimable_ratio * 100.0,
                if h.defrag_worthwhile {
                    ": worth it"
                } else {
                    ""
                }
            ),
            "plan-reclaimable",
            h.reclaimable_bytes.to_string(),
        ),
        (
            "Revisions retained",
            format!(
                "{} (revision {}, compacted at {})",
                h.revisions_retained, h.current_revision, h.compacted_revision
            ),
            "plan-retained",
            h.revisions_retained.to_string(),
        ),
        (
            "Restore and transfer",
            format!(
                "about {:.0} s to restore at {} MB/s, {:.0} s to send at {} MB/s",
                h.estimated_restore_seconds.ceil(),
                h.disk_bytes_per_second / 1e6,
                h.estimated_transfer_seconds.ceil(),
                h.network_bytes_per_second / 1e6
            ),
            "plan-restore",
            format!("{}", h.estimated_restore_seconds),
        ),
    ];
    view! {
        <h3>"From the open snapshot"</h3>
        <dl class="facts" data-testid="plan-snapshot">
            {rows.into_iter().map(|(l, v, id, exact)| view! { <dt>{l}</dt><dd data-testid=id data-value=exact>{v}</dd> }).collect_view()}
        </dl>
        <p class="hint">{h.restore_model}</p>
    }
}

fn upgrade(c: &Checklist) -> impl IntoView + use<> {
    let head = format!(
        "Before upgrading to {}.{}: {}",
        c.target.major,
        c.target.minor,
        if c.ready { "ready" } else { "not ready yet" }
    );
    view! {
        <h3>"Upgrade checklist"</h3>
        <p data-testid="plan-upgrade-verdict" class=if c.ready { "ok" } else { "bad" }>{head}</p>
        <ul class="checklist" data-testid="plan-upgrade">
            {c.items.iter().map(|i| {
                let (mark, class) = match i.state {
                    State::Ok => ("✓ ok", "ok"),
                    State::Fail => ("✗ fix", "bad"),
                    State::Unknown => ("? check", "hint"),
                };
                view! { <li data-item=i.id><span class=class>{mark}</span>" "{i.message.clone()}<span class="hint">" ("{i.source}")"</span></li> }
            }).collect_view()}
        </ul>
    }
}
