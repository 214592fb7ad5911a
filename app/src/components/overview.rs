//! The overview: `etcdutl snapshot status`, integrity, etcd meta, members,
//! auth, alarms, leases and space against the quota; above them, folded,
//! the restore runbook (`restore_runbook`).

use leptos::prelude::*;

use crate::components::restore_runbook::RestoreRunbook;
use crate::protocol::{CheckView, IndexView, Overview};
use crate::state::{Inspection, human_bytes};

use etcd_lens_core::plan::rules::{DEFAULT_QUOTA_BYTES, SUGGESTED_MAX_QUOTA_BYTES};

#[component]
pub fn OverviewView(state: RwSignal<Inspection>) -> impl IntoView {
    let ov = Memo::new(move |_| state.with(|s| s.overview.clone()));
    let index = Memo::new(move |_| state.with(|s| s.index.clone()));
    let check = Memo::new(move |_| state.with(|s| s.check.clone()));
    let file_db = Memo::new(move |_| state.with(|s| s.header.as_ref().map(|h| h.db_len)));
    view! {
        // Folded, under the File details: made once per file (not with the
        // facts below, which are redrawn as passes finish), so edits stay.
        <RestoreRunbook state />
        {move || {
            ov.get()
                .map(|o| render(o, index.get(), check.get(), file_db.get()))
        }}
    }
}

fn pending(what: &'static str) -> String {
    format!("… ({what})")
}

fn fact(label: &'static str, id: &'static str, value: String) -> impl IntoView {
    view! {
        <dt>{label}</dt>
        <dd data-testid=id>{value}</dd>
    }
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "—".to_string(), |v| v.to_string())
}

fn percent(part: u64, whole: u64) -> String {
    format!("{:.1}%", part as f64 * 100.0 / whole.max(1) as f64)
}

/// Why the file's database bytes and the meta page's size differ, when they do.
pub fn size_note(meta_bytes: u64, file_db_bytes: u64) -> Option<String> {
    use std::cmp::Ordering;
    match file_db_bytes.cmp(&meta_bytes) {
        Ordering::Equal => None,
        Ordering::Greater => Some(format!(
            "The file holds {file_db_bytes} bytes of database, {} past the meta page's high-water mark: bbolt grows its file ahead of use, and etcd's tools count only up to the mark.",
            human_bytes(file_db_bytes - meta_bytes)
        )),
        Ordering::Less => Some(format!(
            "The file holds only {file_db_bytes} bytes of database, {} short of the meta page's high-water mark: it is truncated.",
            human_bytes(meta_bytes - file_db_bytes)
        )),
    }
}

fn render(
    o: Overview,
    index: Option<IndexView>,
    check: Option<CheckView>,
    file_db: Option<u64>,
) -> impl IntoView {
    let size_note = file_db.and_then(|f| size_note(o.db_bytes, f));
    // etcd, restoring, starts at the larger of the last revision and the
    // finished compaction (mvcc's restore): say so where they differ.
    let serves = |revision: i64| {
        o.compact_finished.filter(|&c| c > revision).map(|c| {
            fact(
                "etcd would serve revision",
                "status-serves",
                format!("{c} (the finished compaction, above the last key's revision)"),
            )
        })
    };
    let status = match (&o.status, &o.status_error, &o.first) {
        (None, None, Some(f)) if !o.status_final => view! {
            <dl class="facts" data-testid="status-first">
                {fact("hash", "status-hash-pending", pending("walking every page"))}
                {fact("revision", "status-first-revision", f.revision.map_or_else(|| pending("walking"), |r| r.to_string()))}
                {f.revision.and_then(serves)}
                {fact("total keys", "status-total-key-pending", pending("counting"))}
                {fact("counted as", "status-first-tool", f.tool.clone())}
                {fact("total size", "status-first-total-size", format!("{} ({})", f.total_size, human_bytes(f.total_size)))}
                {fact("version", "status-first-version", if f.version.is_empty() { "— (no storage version)".into() } else { f.version.clone() })}
            </dl>
            <p class="hint" data-testid="status-not-final">
                "Not final yet: the revision, size and version come from a few pages (the metas and the key bucket's last leaf); the hash and the key count need every page, and the walk may still find that etcd's tools would refuse the file."
            </p>
        }
        .into_any(),
        (None, None, _) if !o.status_final => view! {
            <p class="hint" data-testid="status-pending">{pending("walking every page")}</p>
        }
        .into_any(),
        (Some(s), _, _) => view! {
            <dl class="facts" data-testid="status">
                {fact("hash", "status-hash", s.hash.to_string())}
                {fact("revision", "status-revision", s.revision.to_string())}
                {serves(s.revision)}
                {fact("total keys", "status-total-key", s.total_key.to_string())}
                <dt>"counted as"</dt>
                <dd data-testid="status-tool">{match s.other_total_key {
                    Some(n) => format!("{} ({} counts {n})", s.tool, s.other_tool),
                    None => format!("{} ({} refuses this file)", s.tool, s.other_tool),
                }}</dd>
                {fact("total size", "status-total-size", format!("{} ({})", s.total_size, human_bytes(s.total_size)))}
                {fact("version", "status-version", if s.version.is_empty() { "— (no storage version)".into() } else { s.version.clone() })}
            </dl>
        }
        .into_any(),
        (None, err, _) => view! {
            <p class="error" role="alert" data-testid="status-error">
                {format!("etcd's tools would refuse this file: {}", err.clone().unwrap_or_default())}
            </p>
        }
        .into_any(),
    };
    let check_result = match &check {
        None => view! { <p class="hint" data-testid="check-pending">"The consistency check runs in the background; see its progress above."</p> }.into_any(),
        Some(c) if c.problems.is_empty() => view! { <p class="ok" data-testid="check-result">"Consistency check passed (bbolt check: every page referenced once, none both free and in use)."</p> }.into_any(),
        Some(c) => {
            let n = c.problems.len();
            view! {
                <div class="error" data-testid="check-result">
                    <p>{format!("Consistency check found {n} problem{}:", if n == 1 { "" } else { "s" })}</p>
                    <ul>{c.problems.iter().map(|p| view! {
                        <li data-testid="check-problem" data-kind=serde_json::to_value(p.kind).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
                            data-page=p.page.map(|id| id.0.to_string()).unwrap_or_default()>{p.message.clone()}</li>
                    }).collect_view()}</ul>
                </div>
            }
            .into_any()
        }
    };
    let pages = |f: fn(&CheckView) -> u64| {
        check
            .as_ref()
            .map_or_else(|| pending("checking"), |c| f(c).to_string())
    };
    let reclaim = check.as_ref().map_or_else(
        || pending("checking"),
        |c| {
            let r = (c.free_pages + c.unreachable_pages).saturating_mul(o.page_size);
            format!("{r} ({})", human_bytes(r))
        },
    );
    let counted = |f: fn(&IndexView) -> u64| {
        index
            .as_ref()
            .map_or_else(|| pending("indexing"), |i| f(i).to_string())
    };
    let members = o.members.clone();
    let users = o.users.clone();
    let roles = o.roles.clone();
    let warnings: Vec<String> = o
        .warnings
        .iter()
        .cloned()
        .chain(
            check
                .iter()
                .flat_map(|c| c.warnings.iter().map(|w| w.message.clone())),
        )
        .collect();
    view! {
        <section class="overview" data-testid="overview">
            <h3>"Snapshot status"</h3>
            <p class="hint">"As " <code>"etcdutl snapshot status"</code> " computes it."</p>
            {status}
            <h3>"Integrity"</h3>
            {check_result}
            <h3>"etcd"</h3>
            <dl class="facts">
                {fact("consistent index", "consistent-index", opt(o.consistent_index))}
                {fact("term", "term", opt(o.term))}
                {fact("compaction scheduled at", "compact-scheduled", opt(o.compact_scheduled))}
                {fact("compaction finished at", "compact-finished", opt(o.compact_finished))}
                {fact("storage version", "storage-version", opt(o.storage_version.clone()))}
                {fact("cluster version", "cluster-version", opt(o.cluster_version.clone()))}
                {fact("live keys", "live-keys", counted(|i| i.live_keys))}
                {fact("keys with retained history", "keys-with-history", counted(|i| i.keys_with_history))}
                {fact("revisions retained", "revisions", counted(|i| i.revisions))}
                {fact("leases", "leases", o.leases.to_string())}
                {fact("alarms", "alarms", if o.alarms.is_empty() { "none".into() } else { o.alarms.join(", ") })}
                {fact("buckets", "buckets", o.buckets.join(", "))}
            </dl>
            <h3>{format!("Members ({})", members.len())}</h3>
            <table class="grid" data-testid="members">
                <thead><tr><th scope="col">"id"</th><th scope="col">"name"</th><th scope="col">"peer URLs"</th><th scope="col">"client URLs"</th><th scope="col">"learner"</th></tr></thead>
                <tbody>
                    {members.into_iter().map(|m| view! {
                        <tr>
                            <td>{m.id}</td><td>{m.name}</td><td>{m.peer_urls.join(", ")}</td>
                            <td>{m.client_urls.join(", ")}</td><td>{if m.is_learner { "yes" } else { "no" }}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
            <h3>"Authentication"</h3>
            <p data-testid="auth-enabled">{if o.auth_enabled { "Auth is enabled." } else { "Auth is disabled: any client that reaches etcd can read every key." }}</p>
            <ul data-testid="auth-users">
                {users.into_iter().map(|u| view! { <li>{format!("user {} (roles: {}; password {})", u.name, u.roles.join(", "), u.password)}</li> }).collect_view()}
                {roles.into_iter().map(|r| view! { <li>{format!("role {}: {}", r.name, r.permissions.join("; "))}</li> }).collect_view()}
            </ul>
            <h3>"Space"</h3>
            <dl class="facts">
                {fact("database size (high-water mark × page size)", "db-bytes", format!("{} ({})", o.db_bytes, human_bytes(o.db_bytes)))}
                {fact("of the 2 GiB default quota", "quota-default", percent(o.db_bytes, DEFAULT_QUOTA_BYTES))}
                {fact("of the 8 GiB suggested maximum", "quota-max", percent(o.db_bytes, SUGGESTED_MAX_QUOTA_BYTES))}
                {fact("pages in use", "pages-in-use", pages(|c| c.in_use_pages))}
                {fact("free pages", "pages-free", pages(|c| c.free_pages))}
                {fact("unreachable pages", "pages-unreachable", pages(|c| c.unreachable_pages))}
                {fact("a defrag would reclaim about", "defrag-reclaim", reclaim)}
            </dl>
            {size_note.map(|n| view! { <p class="hint" data-testid="db-size-note">{n}</p> })}
            {(!warnings.is_empty()).then(|| view! {
                <h3>"Warnings"</h3>
                <ul class="warnings" data-testid="overview-warnings">
                    {warnings.into_iter().map(|w| view! { <li>{w}</li> }).collect_view()}
                </ul>
            })}
        </section>
    }
}
