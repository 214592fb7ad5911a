//! The secret audit: census, findings (filter by rule and namespace, each
//! linked to its key), and exports (JSON, CSV, SARIF, printable HTML) made in
//! the tab. An EncryptionConfiguration pasted here never leaves the tab.

use leptos::prelude::*;

use crate::protocol::AuditView;
use crate::route::Route;
use crate::state::Inspection;

#[component]
pub fn AuditPanel<F>(state: RwSignal<Inspection>, on_run: F) -> impl IntoView
where
    F: Fn(Option<String>) + Copy + Send + Sync + 'static,
{
    let audit = Memo::new(move |_| state.with(|s| s.audit.clone()));
    let config = RwSignal::new(String::new());
    let rule = RwSignal::new(String::new());
    let namespace = RwSignal::new(String::new());
    let run = move |_| {
        let c = config.get_untracked();
        on_run((!c.trim().is_empty()).then_some(c));
    };
    // First visit: audit without a configuration.
    Effect::new(move |_| {
        if audit.with_untracked(Option::is_none) {
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
            <button data-testid="run-audit" on:click=run>"Run the audit"</button>
            {move || audit.get().map(|a| render(a, rule, namespace))}
        </section>
    }
}

fn download(
    name: &'static str,
    mime: &'static str,
    content: String,
    id: &'static str,
) -> impl IntoView {
    // A data: URL keeps the export inside the page (no network, no blob store).
    let href = format!("data:{mime};charset=utf-8,{}", percent_encode(&content));
    view! { <a class="export" href=href download=name data-testid=id>{name}</a> }
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

fn render(a: AuditView, rule: RwSignal<String>, namespace: RwSignal<String>) -> impl IntoView {
    let mut rules: Vec<String> = a.findings.iter().map(|f| f.rule.clone()).collect();
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
        findings
            .iter()
            .filter(|f| (r.is_empty() || f.rule == r) && (n.is_empty() || f.namespace == n))
            .map(|f| {
                let key = if f.key_hex.is_empty() {
                    view! { <span>{f.key.clone()}</span> }.into_any()
                } else {
                    let href = Route::Browse { key_hex: Some(f.key_hex.clone()) }.href();
                    view! { <a href=href>{f.key.clone()}</a> }.into_any()
                };
                view! {
                    <tr data-testid="finding" data-rule=f.rule.clone() data-key=f.key.clone()>
                        <td class=format!("sev {}", f.severity)>{f.severity.clone()}</td>
                        <td>{f.rule.clone()}</td>
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
        <h3 data-testid="finding-count">{format!("{count} finding{}", if count == 1 { "" } else { "s" })}</h3>
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
            <span>"Export: "
                {download("audit.json", "application/json", a.json, "export-json")} " "
                {download("audit.csv", "text/csv", a.csv, "export-csv")} " "
                {download("audit.sarif", "application/sarif+json", a.sarif, "export-sarif")} " "
                {download("audit.html", "text/html", a.html, "export-html")}
            </span>
        </div>
        <table class="grid findings" data-testid="findings">
            <thead><tr>
                <th scope="col">"severity"</th><th scope="col">"rule"</th><th scope="col">"key"</th>
                <th scope="col">"namespace"</th><th scope="col">"revision"</th><th scope="col">"provider / key"</th><th scope="col">"finding"</th>
            </tr></thead>
            <tbody>{rows}</tbody>
        </table>
        {(!a.warnings.is_empty()).then(|| view! { <ul class="warnings">{a.warnings.into_iter().map(|w| view! { <li>{w}</li> }).collect_view()}</ul> })}
    }
}
