//! The passes over the file: which are done (and how long they took), which
//! runs now (bytes read, percent, time left at the rate so far), which wait.

use leptos::prelude::*;

use crate::protocol::Phase;
use crate::state::{Inspection, human_bytes, human_duration};

#[component]
pub fn Passes(state: RwSignal<Inspection>) -> impl IntoView {
    let rows = move || {
        state.with(|s| {
            // Nothing to show until the file turned out to be a database.
            if s.header.is_none() && s.progress.is_none() && s.phases_done.is_empty() {
                return Vec::new();
            }
            Phase::ALL
                .iter()
                .map(|&phase| {
                    let done = s
                        .phases_done
                        .iter()
                        .find(|(p, ..)| *p == phase)
                        .map(|&(_, ms, readers)| (ms, readers));
                    let failed = s
                        .phase_errors
                        .iter()
                        .find(|(p, _)| *p == phase)
                        .map(|(_, m)| m.clone());
                    let running = s.progress.filter(|p| p.phase == phase);
                    // The hash runs beside another pass: its bytes, no estimate.
                    let beside = (phase == Phase::Hashing && running.is_none())
                        .then_some(s.hashing)
                        .flatten();
                    let (st, text) = match (failed, done, running) {
                        (None, None, None) if beside.is_some() => {
                            let (d, t) = beside.unwrap_or_default();
                            (
                                "running",
                                format!(
                                    "{} of {} read ({:.0}%)",
                                    human_bytes(d),
                                    human_bytes(t),
                                    if t == 0 {
                                        0.0
                                    } else {
                                        d as f64 * 100.0 / t as f64
                                    }
                                ),
                            )
                        }
                        (Some(m), _, _) => ("failed", format!("failed: {m}")),
                        (None, Some((ms, readers)), _) => (
                            "done",
                            format!(
                                "done in {}{}",
                                if ms < 1000.0 {
                                    format!("{} ms", ms.max(0.0).round())
                                } else {
                                    human_duration(ms)
                                },
                                if readers > 1 {
                                    format!(", by {readers} workers at once")
                                } else {
                                    String::new()
                                }
                            ),
                        ),
                        (None, None, Some(p)) => (
                            "running",
                            format!(
                                "{} of {} read ({:.0}%){}",
                                human_bytes(p.done_bytes),
                                human_bytes(p.total_bytes),
                                p.percent(),
                                p.eta_ms()
                                    .map(|ms| format!(", about {} left", human_duration(ms)))
                                    .unwrap_or_default()
                            ),
                        ),
                        (None, None, None) if s.busy => ("pending", "waiting".to_string()),
                        (None, None, None) if s.untrusted.is_some() || s.error.is_some() => {
                            ("not-run", "not run: the file could not be read".to_string())
                        }
                        (None, None, None) => ("pending", "not run".to_string()),
                    };
                    let bar = running
                        .map(|p| (p.done_bytes, p.total_bytes))
                        .or(beside)
                        .map(|(d, t)| {
                            view! { <progress max=t.to_string() value=d.to_string()></progress> }
                        });
                    let id = format!(
                        "pass-{}",
                        serde_json::to_value(phase)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_string))
                            .unwrap_or_default()
                    );
                    let readers = done.map(|(_, r)| r.to_string());
                    view! {
                        <li data-testid=id data-state=st data-readers=readers>
                            <span class="pass-name">{phase.label()}</span>": "
                            <span class="pass-text">{text}</span>
                            {bar}
                        </li>
                    }
                })
                .collect::<Vec<_>>()
        })
    };
    view! {
        <section class="passes" aria-label="Work on this file" aria-live="polite">
            <ul data-testid="passes">{rows}</ul>
        </section>
    }
}
