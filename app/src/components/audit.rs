//! The secret audit: census, findings (filter by rule and namespace, each
//! linked to its key), and exports (JSON, CSV, SARIF, printable HTML) made in
//! the tab when asked for. An EncryptionConfiguration pasted here never leaves the tab.

use leptos::prelude::*;

use crate::protocol::{AuditView, ExportFormat, FindingRow};
use crate::route::Route;
use crate::state::Inspection;

#[component]
pub fn AuditPanel<F, C, E>(
    state: RwSignal<Inspection>,
    on_run: F,
    on_cancel: C,
    on_export: E,
) -> impl IntoView
where
    F: Fn(Option<String>) + Copy + Send + Sync + 'static,
    C: Fn() + Copy + Send + Sync + 'static,
    E: Fn(ExportFormat) + Copy + Send + Sync + 'static,
{
    let audit = Memo::new(move |_| state.with(|s| s.audit.clone()));
    let error = Memo::new(move |_| state.with(|s| s.audit_error.clone()));
    let running = Memo::new(move |_| state.with(|s| s.audit_running));
    let progress = Memo::new(move |_| state.with(|s| s.audit_progress));
    let cancelled = Memo::new(move |_| state.with(|s| s.audit_cancelled && s.audit.is_none()));
    let config = RwSignal::new(String::new());
    let rule = RwSignal::new(String::new());
    let namespace = RwSignal::new(String::new());
    let sort = RwSignal::new((Column::Severity, false));
    let run = move |_| {
        let c = config.get_untracked();
        on_run((!c.trim().is_empty()).then_some(c));
    };
    // First visit: audit without a configuration (unless the user stopped it).
    Effect::new(move |_| {
        if audit.with_untracked(Option::is_none)
            && !running.get_untracked()
            && !cancelled.get_untracked()
        {
            on_run(None);
        }
    });
    view! {
        <section class="audit" data-testid="audit">
            <details>
                <summary>"Verify with the cluster's EncryptionConfiguration (optional)"</summary>
                <textarea rows="8" cols="80" spellcheck="false" data-testid="encryption-config"
                    placeholder="apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\n…"
                    prop:value=move || config.get() on:input=move |ev| config.set(event_target_value(&ev))></textarea>
                <p class="hint">"It is used here, in this tab, to decrypt aescbc, aesgcm and secretbox values; it is not sent anywhere."</p>
            </details>
            <button data-testid="run-audit" on:click=run disabled=move || running.get()>"Run the audit"</button>
            {move || running.get().then(|| view! {
                <span class="hint" data-testid="audit-running" role="status">
                    " Auditing…"
                    {move || progress.get().map(|(done, total)| format!(" {done} of {total} keys"))}
                    " "
                </span>
                <button data-testid="stop-audit" on:click=move |_| on_cancel()>"Stop"</button>
            })}
            {move || (cancelled.get() && !running.get()).then(|| view! {
                <p class="hint" data-testid="audit-stopped">"The audit was stopped: Secrets are not checked. Run it again with the button."</p>
            })}
            {move || error.get().map(|e| view! {
                <p class="error" role="alert" data-testid="audit-error">
                    {e}
                    {audit.with(Option::is_some).then_some(" The results below are from the previous run.")}
                </p>
            })}
            {move || audit.get().map(|a| render(a, rule, namespace, sort))}
            {move || audit.with(Option::is_some).then(|| exports(state, on_export))}
        </section>
    }
}

/// The export buttons: each asks the worker for that format of the last
/// audit (made only then, not with every audit), and the reply becomes a
/// download link, followed at once.
fn exports<E>(state: RwSignal<Inspection>, on_export: E) -> impl IntoView
where
    E: Fn(ExportFormat) + Copy + Send + Sync + 'static,
{
    let exporting = Memo::new(move |_| state.with(|s| s.exporting));
    let ready = Memo::new(move |_| state.with(|s| s.export.as_ref().map(|(f, c)| (*f, c.len()))));
    let error = Memo::new(move |_| state.with(|s| s.export_error.clone()));
    let link = NodeRef::<leptos::html::A>::new();
    // A fresh export is saved as soon as it arrives (the link stays, to save it again).
    Effect::new(move |_| {
        if ready.get().is_some()
            && let Some(a) = link.get()
        {
            a.click();
        }
    });
    view! {
        <p class="exports" data-testid="exports">
            "Export: "
            {ExportFormat::ALL.map(|f| view! {
                <button data-testid=format!("export-{}-button", f.id()) disabled=move || exporting.get().is_some()
                    on:click=move |_| on_export(f)>{f.id().to_uppercase()}</button>
                " "
            }).collect_view()}
            {move || exporting.get().map(|f| view! { <span class="hint" data-testid="export-running">{format!("making {}…", f.file_name())}</span> })}
            {move || ready.get().map(|(f, len)| {
                let href = state.with_untracked(|s| s.export.as_ref().map(|(_, c)| data_url(f.mime(), c)).unwrap_or_default());
                view! {
                    <a class="export" node_ref=link href=href download=f.file_name() data-testid=format!("export-{}", f.id())>
                        {format!("Save {} again ({})", f.file_name(), crate::state::human_bytes(len as u64))}
                    </a>
                }
            })}
            {move || error.get().map(|e| view! { <span class="error" role="alert" data-testid="export-error">{e}</span> })}
        </p>
    }
}

/// A data: URL keeps the export inside the page (no network, no blob store).
pub(crate) fn data_url(mime: &str, content: &str) -> String {
    format!("data:{mime};charset=utf-8,{}", percent_encode(content))
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A sortable column of the findings table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Severity,
    Rule,
    Key,
    Namespace,
    Revision,
}

/// Sort findings by `column`; ties keep the core's order (severity, then key).
pub fn sort_rows(rows: &mut [FindingRow], column: Column, ascending: bool) {
    rows.sort_by(|a, b| {
        let o = match column {
            Column::Severity => a.severity.cmp(&b.severity),
            Column::Rule => a.rule.id().cmp(b.rule.id()),
            Column::Key => a.key.cmp(&b.key),
            Column::Namespace => a.namespace.cmp(&b.namespace),
            Column::Revision => a.revision.cmp(&b.revision),
        };
        if ascending { o } else { o.reverse() }
    });
}

fn header(label: &'static str, column: Column, sort: RwSignal<(Column, bool)>) -> impl IntoView {
    let id = format!("sort-{}", label.to_lowercase());
    let state = move || match sort.get() {
        (c, true) if c == column => "ascending",
        (c, false) if c == column => "descending",
        _ => "none",
    };
    view! {
        <th scope="col" aria-sort=state>
            <button class="sort" data-testid=id on:click=move |_| sort.update(|(c, asc)| {
                if *c == column { *asc = !*asc } else { *c = column; *asc = column != Column::Severity }
            })>{label}</button>
        </th>
    }
}

fn render(
    a: AuditView,
    rule: RwSignal<String>,
    namespace: RwSignal<String>,
    sort: RwSignal<(Column, bool)>,
) -> impl IntoView {
    let mut rules: Vec<String> = a.findings.iter().map(|f| f.rule.id().to_string()).collect();
    rules.sort();
    rules.dedup();
    let mut namespaces: Vec<String> = a
        .findings
        .iter()
        .map(|f| f.namespace.clone())
        .filter(|n| !n.is_empty())
        .collect();
    namespaces.sort();
    namespaces.dedup();
    let findings = a.findings.clone();
    let rows = move || {
        let (r, n) = (rule.get(), namespace.get());
        let mut shown: Vec<FindingRow> = findings
            .iter()
            .filter(|f| (r.is_empty() || f.rule.id() == r) && (n.is_empty() || f.namespace == n))
            .cloned()
            .collect();
        let (column, ascending) = sort.get();
        sort_rows(&mut shown, column, ascending);
        shown
            .iter()
            .map(|f| {
                let key = if f.key_hex.is_empty() {
                    view! { <span>{f.key.clone()}</span> }.into_any()
                } else {
                    let href = Route::Browse { key_hex: Some(f.key_hex.clone()) }.href();
                    view! { <a href=href>{f.key.clone()}</a> }.into_any()
                };
                view! {
                    <tr data-testid="finding" data-rule=f.rule.id() data-key=f.key.clone()>
                        <td class=format!("sev {}", f.severity.as_str())>{f.severity.as_str()}</td>
                        <td>{f.rule.id()}</td>
                        <td>{key}</td>
                        <td>{f.namespace.clone()}</td>
                        <td>{f.revision.map(|r| r.to_string()).unwrap_or_default()}</td>
                        <td>{if f.provider.is_empty() { String::new() } else { format!("{} {}", f.provider, f.key_name) }}</td>
                        <td>{f.message.clone()}</td>
                    </tr>
                }
            })
            .collect_view()
    };
    let count = a.findings.len();
    view! {
        <h3>"Census"</h3>
        <dl class="facts" data-testid="census">
            {a.census.into_iter().map(|(k, v)| view! { <dt>{k}</dt><dd>{v}</dd> }).collect_view()}
        </dl>
        <h3 data-testid="finding-count">{crate::state::count(count as u64, "finding", "findings")}</h3>
        <div class="filters">
            <label>"Rule "
                <select data-testid="filter-rule" on:change=move |ev| rule.set(event_target_value(&ev))>
                    <option value="">"all"</option>
                    {rules.into_iter().map(|r| { let label = r.clone(); view! { <option value=r>{label}</option> } }).collect_view()}
                </select>
            </label>
            <label>"Namespace "
                <select data-testid="filter-finding-namespace" on:change=move |ev| namespace.set(event_target_value(&ev))>
                    <option value="">"all"</option>
                    {namespaces.into_iter().map(|n| { let label = n.clone(); view! { <option value=n>{label}</option> } }).collect_view()}
                </select>
            </label>
        </div>
        <table class="grid findings" data-testid="findings">
            <thead><tr>
                {header("Severity", Column::Severity, sort)}
                {header("Rule", Column::Rule, sort)}
                {header("Key", Column::Key, sort)}
                {header("Namespace", Column::Namespace, sort)}
                {header("Revision", Column::Revision, sort)}
                <th scope="col">"provider / key"</th><th scope="col">"finding"</th>
            </tr></thead>
            <tbody>{rows}</tbody>
        </table>
        {(!a.warnings.is_empty()).then(|| view! { <ul class="warnings">{a.warnings.into_iter().map(|w| view! { <li>{w}</li> }).collect_view()}</ul> })}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(sev: &str, key: &str, rev: i64) -> FindingRow {
        FindingRow {
            rule: etcd_lens_core::audit::Rule::SecretPlaintext,
            severity: etcd_lens_core::audit::Severity::parse(sev).unwrap(),
            key: key.into(),
            key_hex: String::new(),
            namespace: String::new(),
            name: String::new(),
            revision: Some(rev),
            provider: String::new(),
            key_name: String::new(),
            message: String::new(),
        }
    }

    #[test]
    fn sorts_by_severity_rank_not_by_name() {
        let mut rows = vec![
            row("low", "a", 3),
            row("critical", "b", 1),
            row("medium", "c", 2),
        ];
        sort_rows(&mut rows, Column::Severity, false);
        assert_eq!(
            rows.iter().map(|r| r.severity.as_str()).collect::<Vec<_>>(),
            ["critical", "medium", "low"]
        );
        sort_rows(&mut rows, Column::Revision, true);
        assert_eq!(
            rows.iter().map(|r| r.revision.unwrap()).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        sort_rows(&mut rows, Column::Key, false);
        assert_eq!(rows[0].key, "c");
    }
}
