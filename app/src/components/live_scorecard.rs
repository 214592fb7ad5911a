//! The selected cluster's operations: a banner when its backups are stale
//! (the scorecard's `snapshot-schedule` check failed: the newest finished
//! snapshot is older than the threshold, or the last run failed), the
//! scorecard (each practice pass / warn / fail / unknown with its evidence
//! and where to fix it; judged by the core on the server), and the
//! schedules (snapshot and drill: last run, result, next run).

use etcd_lens_core::scorecard::{Check, Status};
use leptos::prelude::*;

use crate::live_state::LiveState;
use crate::web::clock;

fn class_of(s: Status) -> &'static str {
    match s {
        Status::Pass => "ok",
        Status::Warn => "warn",
        Status::Fail => "bad",
        Status::Unknown => "hint",
    }
}

/// "Backups are stale": shown above everything else on the Live tab.
#[component]
pub fn StaleBanner(live: LiveState) -> impl IntoView {
    let stale = Memo::new(move |_| {
        live.scorecard.with(|c| {
            c.as_ref()
                .and_then(|c| c.as_ref().ok())
                .and_then(|c| {
                    c.checks
                        .iter()
                        .find(|k| k.id == "snapshot-schedule" && k.status == Status::Fail)
                })
                .map(|k| k.evidence.clone())
        })
    });
    move || {
        stale.get().map(|why| {
            view! {
                <p class="warning bad" role="alert" data-testid="backup-stale">
                    <strong>"Backups are stale: "</strong>{why}
                </p>
            }
        })
    }
}

#[component]
pub fn LiveScorecard(live: LiveState) -> impl IntoView {
    view! {
        <section class="scorecard" data-testid="scorecard">
            <h2>"Operations scorecard"</h2>
            <p>
                <button data-testid="scorecard-refresh" disabled=move || live.scorecard_busy.get()
                    on:click=move |_| live.check_practices()>"Check again"</button>
                {move || live.scorecard_busy.get().then(|| view! { <span class="hint">" checking…"</span> })}
            </p>
            {move || live.scorecard.get().map(|r| match r {
                Err(e) => view! { <p class="error" role="alert" data-testid="scorecard-error">{format!("The scorecard could not be had: {e}")}</p> }.into_any(),
                Ok(card) => view! {
                    <p data-testid="scorecard-summary">{summary(&card.checks)}</p>
                    <table class="grid" data-testid="scorecard-table">
                        <thead><tr><th>"Practice"</th><th>"Result"</th><th>"Evidence"</th><th>"Where to fix it"</th></tr></thead>
                        <tbody>
                            {card.checks.into_iter().map(row).collect_view()}
                        </tbody>
                    </table>
                }.into_any(),
            })}
        </section>
    }
}

fn summary(checks: &[Check]) -> String {
    let n = |s: Status| checks.iter().filter(|c| c.status == s).count();
    format!(
        "{} pass, {} warn, {} fail, {} unknown",
        n(Status::Pass),
        n(Status::Warn),
        n(Status::Fail),
        n(Status::Unknown)
    )
}

fn row(c: Check) -> impl IntoView {
    let fix = if c.fix.starts_with("https://") {
        let (url, rest) = c.fix.split_once(' ').unwrap_or((c.fix.as_str(), ""));
        view! { <a href=url.to_string() target="_blank" rel="noopener noreferrer">{url.to_string()}</a>" "{rest.to_string()}<span></span> }
            .into_any()
    } else {
        view! { <span>{c.fix.clone()}</span> }.into_any()
    };
    let fix = (c.status != Status::Pass).then_some(fix);
    view! {
        <tr data-testid="scorecard-row" data-id=c.id.clone() data-status=c.status.as_str()>
            <td>{c.title}</td>
            <td><strong class=class_of(c.status)>{c.status.as_str()}</strong></td>
            <td>{c.evidence}</td>
            <td>{fix}</td>
        </tr>
    }
}

#[component]
pub fn LiveSchedules(live: LiveState) -> impl IntoView {
    let from_page = Memo::new(move |_| {
        live.schedule_source
            .with(|s| s.as_ref().is_some_and(|s| s.source == "page"))
    });
    let source_text = move || {
        live.schedule_source.get().map(|s| {
            if s.source == "page" {
                format!(
                    "Snapshot schedules edited in the page{}{}: they replace the configuration file's ({}) until you go back to them.",
                    s.edited_at
                        .as_deref()
                        .map(|t| format!(" on {}", clock::local_datetime(t)))
                        .unwrap_or_default(),
                    s.edited_by.map(|a| format!(" by {a}")).unwrap_or_default(),
                    if s.file.is_empty() {
                        "none".to_string()
                    } else {
                        s.file.iter().map(|f| f.cron.clone()).collect::<Vec<_>>().join(", ")
                    }
                )
            } else {
                "Snapshot schedules from the server's configuration file.".to_string()
            }
        })
    };
    view! {
        <section class="schedules" data-testid="schedules">
            <h2>"Schedules"</h2>
            <p class="hint" data-testid="schedules-source" class:warn=move || from_page.get()>{source_text}</p>
            {move || live.schedules.with(Vec::is_empty).then(|| view! {
                <p class="hint" data-testid="schedules-empty">
                    "No schedule for this cluster: edit the snapshot schedules here, or add [[cluster.schedule]] (snapshots) or [cluster.drill.schedule] (restore drills) to the server's configuration."
                </p>
            })}
            <Show when=move || !live.schedules.with(Vec::is_empty)>
                <table class="grid" data-testid="schedules-table">
                    <thead><tr>
                        <th>"Schedule"</th><th>"Runs"</th><th>"When"</th><th>"Last run"</th><th>"Result"</th><th>"Next run"</th>
                    </tr></thead>
                    <tbody>
                        {move || live.schedules.get().into_iter().map(schedule_row).collect_view()}
                    </tbody>
                </table>
            </Show>
            {move || live.schedule_error.get().map(|e| view! {
                <p class="error" role="alert" data-testid="schedules-error">{format!("Not saved: {e}")}</p>
            })}
            {move || match live.schedule_drafts.get() {
                None => view! {
                    <p>
                        <button data-testid="schedules-edit" on:click=move |_| live.edit_schedules()>"Edit snapshot schedules"</button>
                        {move || from_page.get().then(|| view! {
                            " "
                            <button data-testid="schedules-reset" disabled=move || live.schedule_busy.get()
                                on:click=move |_| live.save_schedules(true)>"Back to the configuration file's"</button>
                        })}
                    </p>
                }.into_any(),
                Some(rows) => editor(live, rows.len()).into_any(),
            }}
        </section>
    }
}

fn schedule_row(s: crate::live::ScheduleRow) -> impl IntoView {
    let failed = s.last_result.as_deref().is_some_and(|r| r != "ok");
    let mut notes = Vec::new();
    if s.skipped_overlapping > 0 {
        notes.push(format!(
            "{} skipped (the previous run was still going)",
            s.skipped_overlapping
        ));
    }
    if s.missed_while_down > 0 {
        notes.push(format!(
            "{} missed while the server was down",
            s.missed_while_down
        ));
    }
    view! {
        <tr data-testid="schedule-row" data-kind=s.kind.clone() data-pattern=s.pattern.clone()>
            <td>{s.name.clone()}</td>
            <td>{if s.kind == "drill" { "restore drill" } else { "snapshot" }}</td>
            <td><code>{s.pattern.clone()}</code>" "{s.time_zone.clone()}</td>
            <td>{s.last_run.as_deref().map_or_else(|| "—".to_string(), clock::local_datetime)}</td>
            <td class:bad=failed data-testid="schedule-result">
                {s.last_result.clone().unwrap_or_else(|| "—".into())}
                {(!notes.is_empty()).then(|| view! { <br/><span class="warn">{notes.join("; ")}</span> })}
            </td>
            <td>{s.next_run.as_deref().map_or_else(|| "—".to_string(), clock::local_datetime)}</td>
        </tr>
    }
}

/// The snapshot schedules' editor: a row per schedule (name, cron, zone,
/// catch up); the server checks the patterns and says which one it refuses.
fn editor(live: LiveState, n: usize) -> impl IntoView {
    use crate::live::ScheduleDraft;
    let set = move |i: usize, f: Box<dyn Fn(&mut ScheduleDraft)>| {
        live.schedule_drafts.update(|d| {
            if let Some(r) = d.as_mut().and_then(|d| d.get_mut(i)) {
                f(r);
            }
        });
    };
    let get = move |i: usize| {
        live.schedule_drafts
            .with_untracked(|d| d.as_ref().and_then(|d| d.get(i).cloned()))
            .unwrap_or_default()
    };
    let rows = (0..n)
        .map(|i| {
            let r = get(i);
            view! {
                <tr data-testid="schedule-draft">
                    <td><input aria-label="Name" data-testid="schedule-draft-name" placeholder="hourly" prop:value=r.name
                        on:input=move |ev| { let v = event_target_value(&ev); set(i, Box::new(move |r| r.name = v.clone())) } /></td>
                    <td><input aria-label="Cron pattern" data-testid="schedule-draft-cron" placeholder="0 * * * *" prop:value=r.cron
                        on:input=move |ev| { let v = event_target_value(&ev); set(i, Box::new(move |r| r.cron = v.clone())) } /></td>
                    <td><input aria-label="Time zone" data-testid="schedule-draft-zone" placeholder="UTC" prop:value=r.time_zone
                        on:input=move |ev| { let v = event_target_value(&ev); set(i, Box::new(move |r| r.time_zone = v.clone())) } /></td>
                    <td><label><input type="checkbox" data-testid="schedule-draft-catch-up" prop:checked=r.catch_up
                        on:change=move |ev| { let v = event_target_checked(&ev); set(i, Box::new(move |r| r.catch_up = v)) } />" catch up"</label></td>
                    <td><button data-testid="schedule-draft-remove"
                        on:click=move |_| live.schedule_drafts.update(|d| { if let Some(d) = d.as_mut().filter(|d| i < d.len()) { d.remove(i); } })>"Remove"</button></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="schedule-editor" data-testid="schedules-editor">
            <table class="grid">
                <thead><tr><th>"Name"</th><th>"Cron (5 fields, or 6 with seconds first)"</th><th>"Time zone (IANA)"</th><th>"At start"</th><th></th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
            <p>
                <button data-testid="schedule-add"
                    on:click=move |_| live.schedule_drafts.update(|d| { if let Some(d) = d { d.push(ScheduleDraft::default()); } })>"Add a schedule"</button>
                " "
                <button data-testid="schedules-save" disabled=move || live.schedule_busy.get()
                    on:click=move |_| live.save_schedules(false)>"Save"</button>
                " "
                <button data-testid="schedules-cancel"
                    on:click=move |_| { live.schedule_drafts.set(None); live.schedule_error.set(None); }>"Cancel"</button>
            </p>
            <p class="hint">"Saved schedules are kept by the server and replace the configuration file's for this cluster (the file is not rewritten) until you go back to the file's. Every change is in the audit log."</p>
        </div>
    }
}
