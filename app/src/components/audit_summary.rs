//! The auditor's answer at the top of the Overview: whether Secrets are
//! exposed and the findings by severity, without a click (the audit runs
//! by itself once the passes are done; `crate::shell::audit_state`).

use etcd_lens_core::audit::Exposure;
use leptos::prelude::*;

use crate::route::Route;
use crate::shell::AuditState;
use crate::state::{Inspection, count};

#[component]
pub fn AuditSummary<F, C>(
    state: RwSignal<Inspection>,
    audit: Memo<AuditState>,
    on_run: F,
    on_cancel: C,
) -> impl IntoView
where
    F: Fn() + Copy + Send + Sync + 'static,
    C: Fn() + Copy + Send + Sync + 'static,
{
    let severities =
        Memo::new(move |_| state.with(|s| s.audit.as_ref().map(|a| a.by_severity.clone())));
    move || {
        let body = match audit.get() {
            AuditState::Waiting => view! {
                <p class="hint" data-testid="audit-summary-pending">"The secret audit starts by itself when the passes are done."</p>
            }
            .into_any(),
            AuditState::Running { percent } => view! {
                <p class="hint" data-testid="audit-summary-pending">
                    "The secret audit is running"
                    {percent.map(|p| format!(" ({p}% of the keys)"))}
                    "… "
                    <button data-testid="audit-summary-stop" on:click=move |_| on_cancel()>"Stop the audit"</button>
                </p>
            }
            .into_any(),
            AuditState::NotChecked => view! {
                <p data-testid="audit-summary-off">
                    "Secrets were not checked: the audit did not run by itself (switched off, stopped, or a file over 2 GiB). "
                    <button data-testid="audit-summary-run" on:click=move |_| on_run()>"Run the audit now"</button>
                </p>
            }
            .into_any(),
            AuditState::Failed => view! {
                <p class="error" data-testid="audit-summary-failed">"The audit failed: see "<a href=Route::Audit.href()>"Secret audit"</a>"."</p>
            }
            .into_any(),
            AuditState::Done(e) => {
                let tone = match e {
                    Exposure::NoneFound => "ok",
                    Exposure::Unknown { .. } => "warn",
                    Exposure::Exposed { .. } => "bad",
                };
                let rows = severities.get().unwrap_or_default();
                let total: u64 = rows.iter().map(|(_, n)| n).sum();
                view! {
                    <p class=format!("exposure {tone}") data-testid="audit-summary-exposure">{e.describe()}</p>
                    <p data-testid="audit-summary-counts">
                        {count(total, "finding", "findings")}
                        {(total > 0).then(|| {
                            let parts: Vec<String> = rows.iter().filter(|(_, n)| *n > 0)
                                .map(|(s, n)| format!("{n} {}", s.as_str())).collect();
                            format!(": {}", parts.join(", "))
                        })}
                        " · "<a href=Route::Audit.href() data-testid="audit-summary-link">"See the findings"</a>
                    </p>
                }
                .into_any()
            }
        };
        view! {
            <section class="audit-summary" aria-labelledby="audit-summary-h" data-testid="audit-summary">
                <h3 id="audit-summary-h">"Secrets"</h3>
                {body}
            </section>
        }
    }
}
