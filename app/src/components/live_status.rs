//! A cluster's live status: the verdict in one line, quorum, alarms,
//! warnings, this server's part among servers sharing a bucket (its
//! retention role, the catalog's last pass over the store), and the member table (leader marked; db size and in-use as
//! bars against the quota; latency and disk p99, or why there is none;
//! an unreachable member's error).

use leptos::prelude::*;

use crate::live::{
    ClusterStatus, LatencyP99, MemberStatus, ms_text, p99_text, percent_of, size_text,
};

#[component]
pub fn LiveStatusView(status: RwSignal<Option<ClusterStatus>>) -> impl IntoView {
    move || match status.get() {
        None => {
            view! { <p class="hint" data-testid="live-status-pending">"Asking the members…"</p> }
                .into_any()
        }
        Some(s) => render(s).into_any(),
    }
}

fn render(s: ClusterStatus) -> impl IntoView {
    let class = s.verdict.class();
    let q = &s.quorum;
    let quorum = format!(
        "Quorum {}: {} of {} voting members reachable, {} needed{}.",
        if q.held { "held" } else { "NOT held" },
        q.reachable,
        q.voting_members,
        q.needed,
        if q.held {
            format!(", {} more may fail", q.failures_tolerated)
        } else {
            String::new()
        }
    );
    let names: Vec<(String, String)> = s
        .members
        .iter()
        .map(|m| (m.id.clone(), m.name.clone()))
        .collect();
    let member_name = move |id: &str| {
        names
            .iter()
            .find(|(i, _)| i == id)
            .map(|(_, n)| n.clone())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| id.to_string())
    };
    let alarms = if s.alarms.is_empty() {
        view! { <p class="ok" data-testid="live-alarms">{format!("No alarms ({}).", if s.alarms_source.is_empty() { "status" } else { &s.alarms_source })}</p> }.into_any()
    } else {
        view! {
            <ul class="alarms" data-testid="live-alarms">
                {s.alarms.iter().map(|a| view! {
                    <li class="bad" data-testid="live-alarm" data-alarm=a.alarm.clone()>
                        {format!("{} on member {}", a.alarm, member_name(&a.member_id))}
                    </li>
                }).collect_view()}
            </ul>
        }
        .into_any()
    };
    let warnings = (!s.warnings.is_empty()).then(|| {
        view! {
            <ul class="warnings" data-testid="live-warnings">
                {s.warnings.iter().map(|w| view! { <li>{w.clone()}</li> }).collect_view()}
            </ul>
        }
    });
    let coordination = s.coordination.as_ref().and_then(|c| {
        let role = c.role.clone();
        c.sentence().map(|t| {
            let class = if role == "none" { "bad" } else { "hint" };
            view! { <p class=class data-testid="live-coordination" data-role=role>{t}</p> }
        })
    });
    let catalog_sync = s.catalog_sync.as_ref().map(|c| {
        let (text, bad) = c.sentence();
        view! { <p class=if bad { "bad" } else { "hint" } data-testid="live-catalog-sync">{text}</p> }
    });
    view! {
        <p class=format!("verdict {class}") data-testid="live-verdict" data-verdict=class>
            <strong>{s.verdict.label()}</strong>
            {(!s.verdict_reason.is_empty()).then(|| format!(": {}", s.verdict_reason))}
        </p>
        <p data-testid="live-quorum">{quorum}</p>
        {alarms}
        {warnings}
        {coordination}
        {catalog_sync}
        <table class="grid members-live" data-testid="live-members">
            <thead>
                <tr>
                    <th>"Member"</th><th>"Role"</th><th>"Answer"</th><th>"Version"</th>
                    <th>"DB size"</th><th>"In use"</th><th>"Raft term / index"</th><th>"Disk p99"</th>
                </tr>
            </thead>
            <tbody>{s.members.into_iter().map(member_row).collect_view()}</tbody>
        </table>
    }
}

fn member_row(m: MemberStatus) -> impl IntoView {
    let answer = if m.reachable {
        view! { <td data-testid="member-answer">{m.latency_ms.map_or_else(|| "answered".into(), |l| format!("answered in {}", ms_text(l)))}</td> }.into_any()
    } else {
        view! {
            <td class="bad" data-testid="member-error">
                {format!("unreachable: {}", m.error.clone().unwrap_or_else(|| "no answer".into()))}
            </td>
        }
        .into_any()
    };
    let role = m.role();
    let leader = m.is_leader;
    let raft = match (m.raft_term, m.raft_index) {
        (Some(t), Some(i)) => format!("{t} / {i}"),
        _ => "—".into(),
    };
    let disk = disk_text(&m);
    let member_warnings = (!m.warnings.is_empty() || !m.errors.is_empty()).then(|| {
        view! {
            <ul class="warnings">
                {m.errors.iter().chain(&m.warnings).map(|w| view! { <li>{w.clone()}</li> }).collect_view()}
            </ul>
        }
    });
    let label = if m.name.is_empty() {
        "(not started)".to_string()
    } else {
        m.name.clone()
    };
    view! {
        <tr data-testid="live-member" data-name=m.name.clone() data-leader=leader.to_string() data-reachable=m.reachable.to_string()>
            <td>
                <strong>{label}</strong>
                <br /><code class="hint">{m.id.clone()}</code>
                {m.endpoint.clone().map(|e| view! { <br /><span class="hint">{e}</span> })}
            </td>
            <td>
                {if leader {
                    view! { <span class="leader" data-testid="leader-mark">"★ leader"</span> }.into_any()
                } else {
                    view! { <span>{role}</span> }.into_any()
                }}
            </td>
            {answer}
            <td>{m.version.clone().unwrap_or_else(|| "—".into())}</td>
            <td data-testid="member-db-size">{bar(m.db_size_bytes, m.quota_bytes, "db-size-bar")}</td>
            <td data-testid="member-db-in-use">{bar(m.db_size_in_use_bytes, m.quota_bytes, "db-in-use-bar")}</td>
            <td>{raft}</td>
            <td data-testid="member-disk">{disk}{member_warnings}</td>
        </tr>
    }
}

/// A size against the quota: a `<meter>` (no inline style, which the CSP
/// forbids) that turns amber past 80 % and red past 95 %, and the figures.
fn bar(part: Option<i64>, quota: Option<u64>, id: &'static str) -> impl IntoView {
    let text = size_text(part, quota);
    let meter = percent_of(part, quota).map(|pc| {
        view! {
            <meter data-testid=id min="0" max="100" low="80" high="95" optimum="0"
                value=format!("{:.2}", pc.min(100.0)) data-percent=format!("{pc:.2}")></meter>
            " "
        }
    });
    view! { {meter}<span>{text}</span> }
}

fn disk_text(m: &MemberStatus) -> String {
    let one = |label: &str, l: &Option<LatencyP99>, p99: Option<f64>| -> Option<String> {
        match (l, p99) {
            (Some(l), _) => Some(format!(
                "{label} {}{}",
                p99_text(l),
                if l.above_guidance {
                    format!(" — above etcd's {} ms guidance", l.guidance_ms)
                } else {
                    String::new()
                }
            )),
            (None, Some(p)) => Some(format!("{label} {}", ms_text(p))),
            (None, None) => None,
        }
    };
    let parts: Vec<String> = [
        one("WAL fsync", &m.wal_fsync, m.wal_fsync_p99_ms),
        one("backend commit", &m.backend_commit, m.backend_commit_p99_ms),
    ]
    .into_iter()
    .flatten()
    .collect();
    if parts.is_empty() {
        m.metrics_note
            .clone()
            .unwrap_or_else(|| "no disk figures".into())
    } else {
        parts.join("; ")
    }
}
