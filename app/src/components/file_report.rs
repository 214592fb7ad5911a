//! What is known about the open file: size, trailer, bbolt header, problems.

use etcd_lens_core::inspect::{Header, MetaReport};
use etcd_lens_core::trailer::TrailerStatus;
use leptos::prelude::*;

use crate::state::{Inspection, human_bytes};

/// `alerts_elsewhere`: the page shows the file's errors above every view
/// (the shell), so the report leaves them out.
#[component]
pub fn FileReport(
    state: RwSignal<Inspection>,
    #[prop(optional)] alerts_elsewhere: bool,
) -> impl IntoView {
    move || {
        let s = state.get();
        let Some(name) = s.file_name.clone() else {
            return view! {
                {s.error.clone().map(|e| view! { <div class="error" role="alert" data-testid="error">{e}</div> })}
                <p class="hint" data-testid="idle">"No file open."</p>
            }
            .into_any();
        };
        let working = match (&s.secret_prompt, s.busy) {
            (Some(p), _) if p.passphrase => {
                Some("Waiting for the passphrase to decrypt this file (below).")
            }
            (Some(_), _) => Some("Waiting for an identity to decrypt this file (below)."),
            (None, true) => Some("Working…"),
            (None, false) => None,
        };
        let size = s.file_size.unwrap_or(0);
        view! {
            <section class="report" aria-live="polite">
                <h2 data-testid="file-name">{name}</h2>
                <dl class="facts">
                    <dt>"Size"</dt>
                    <dd data-testid="file-size" data-bytes=size.to_string()>
                        {format!("{size} bytes ({})", human_bytes(size))}
                    </dd>
                    {(!s.layers.is_empty()).then(|| view! {
                        <dt>"Opened through"</dt>
                        <dd data-testid="layers">{s.layers.join(" → ")}</dd>
                    })}
                    <dt>"Snapshot trailer"</dt>
                    <dd>{trailer_view(&s)}</dd>
                </dl>
                {(!alerts_elsewhere).then(|| alerts(&s))}
                {s.header.clone().map(header_view)}
                {working.map(|w| view! { <p class="hint" data-testid="busy">{w}</p> })}
            </section>
        }
        .into_any()
    }
}

/// The file's errors, each with what to do next.
pub fn alerts(s: &Inspection) -> impl IntoView + use<> {
    view! {
        {s.untrusted.clone().map(|e| view! { <div class="error untrusted" role="alert" data-testid="untrusted">{e}</div> })}
        {s.error.clone().map(|e| view! { <div class="error" role="alert" data-testid="error">{e}</div> })}
    }
}

fn trailer_view(s: &Inspection) -> impl IntoView + use<> {
    let (state, text) = match (&s.trailer, s.hashing, &s.header) {
        (Some(t), _, _) => {
            let st = match t {
                TrailerStatus::Absent => "absent",
                TrailerStatus::Verified { .. } => "verified",
                TrailerStatus::Mismatch { .. } => "mismatch",
            };
            (st, t.describe())
        }
        (None, Some((done, total)), _) => (
            "hashing",
            format!(
                "verifying SHA-256… {} of {}",
                human_bytes(done),
                human_bytes(total)
            ),
        ),
        (None, None, Some(h)) if !h.has_trailer => ("absent", TrailerStatus::Absent.describe()),
        (None, None, _) if s.untrusted.is_some() => (
            "unverified",
            "not verified: the file could not be read to the end".to_string(),
        ),
        _ => ("pending", "not checked yet".to_string()),
    };
    let progress = s.hashing.map(|(done, total)| {
        view! {
            <progress data-testid="hash-progress" max=total.to_string() value=done.to_string()></progress>
        }
    });
    view! {
        <span data-testid="trailer-status" data-state=state>{text}</span>
        {progress}
    }
}

fn header_view(h: Header) -> impl IntoView {
    let in_force = h.meta().slot.page_id().0;
    let warnings = h.warnings.clone();
    view! {
        <h3>"bbolt database"</h3>
        <dl class="facts">
            <dt>"Page size"</dt>
            <dd data-testid="page-size">{h.page_size}</dd>
            <dt>"Meta in force"</dt>
            <dd data-testid="meta-in-force">{format!("meta page {in_force} (txid {})", h.meta().txid)}</dd>
            <dt>"Database bytes (the file less its trailer)"</dt>
            <dd data-testid="db-size">{h.db_len}</dd>
        </dl>
        <table class="metas" data-testid="metas">
            <caption>"Both meta pages"</caption>
            <thead>
                <tr><th scope="col">"Field"</th><th scope="col">"meta 0"</th><th scope="col">"meta 1"</th></tr>
            </thead>
            <tbody>
                {meta_row("magic", "magic", &h.metas, |m| format!("0x{:08x}", m.meta.magic))}
                {meta_row("version", "version", &h.metas, |m| m.meta.version.to_string())}
                {meta_row("page size", "page-size", &h.metas, |m| m.meta.page_size.to_string())}
                {meta_row("root bucket page", "root", &h.metas, |m| m.meta.root.to_string())}
                {meta_row("freelist page", "freelist", &h.metas, |m| {
                    if m.meta.freelist_persisted() { m.meta.freelist.to_string() } else { "not persisted".into() }
                })}
                {meta_row("high-water page id", "pgid", &h.metas, |m| m.meta.pgid.to_string())}
                {meta_row("txid", "txid", &h.metas, |m| m.meta.txid.to_string())}
                {meta_row("checksum", "checksum", &h.metas, |m| match &m.problem {
                    None => "valid".to_string(),
                    Some(p) => format!("invalid: {p}"),
                })}
            </tbody>
        </table>
        {(!warnings.is_empty()).then(|| view! {
            <ul class="warnings" data-testid="warnings">
                {warnings.into_iter().map(|w| view! { <li data-testid="warning">{w}</li> }).collect_view()}
            </ul>
        })}
    }
}

fn meta_row<F: Fn(&MetaReport) -> String>(
    label: &'static str,
    id: &'static str,
    metas: &[MetaReport; 2],
    f: F,
) -> impl IntoView + use<F> {
    let a = f(&metas[0]);
    let b = f(&metas[1]);
    view! {
        <tr>
            <th scope="row">{label}</th>
            <td data-testid=format!("meta-0-{id}")>{a}</td>
            <td data-testid=format!("meta-1-{id}")>{b}</td>
        </tr>
    }
}
