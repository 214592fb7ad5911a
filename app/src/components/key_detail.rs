//! One key: metadata, the decoded object (YAML or JSON), the raw value (text
//! or hex), and every retained revision with a line diff between any two.
//! Secret values are masked until the user reveals them one by one.

use std::collections::BTreeSet;

use etcd_lens_core::diff::lines;
use leptos::prelude::*;

use crate::components::apply_download::ApplyDownload;
use crate::protocol::{ApplyTarget, KeyDetail, RevisionValue, RevisionView, ToWorker};
use crate::secret;
use crate::state::{Inspection, count, human_bytes};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Yaml,
    Json,
    Text,
    Hex,
}

#[component]
pub fn KeyDetailView(
    state: RwSignal<Inspection>,
    /// To the worker: with it, the object can be downloaded for kubectl apply.
    #[prop(optional)]
    send: Option<Callback<ToWorker>>,
) -> impl IntoView {
    let detail = Memo::new(move |_| state.with(|s| s.detail.clone()));
    let error = Memo::new(move |_| state.with(|s| s.request_error.clone()));
    let format = RwSignal::new(Format::Yaml);
    let revealed = RwSignal::new(BTreeSet::<String>::new());
    // A new key starts masked again.
    Effect::new(move |_| {
        detail.with(|d| d.as_ref().map(|d| d.key_hex.clone()));
        revealed.set(BTreeSet::new());
    });
    move || {
        if let Some(e) = error.get() {
            return view! { <div class="error" role="alert" data-testid="detail-error">{e}</div> }
                .into_any();
        }
        match detail.get() {
            None => {
                view! { <p class="hint detail">"Select a key to see its value and history."</p> }
                    .into_any()
            }
            Some(d) => render(d, format, revealed, state, send).into_any(),
        }
    }
}

fn render(
    d: KeyDetail,
    format: RwSignal<Format>,
    revealed: RwSignal<BTreeSet<String>>,
    state: RwSignal<Inspection>,
    send: Option<Callback<ToWorker>>,
) -> impl IntoView {
    let object: Option<serde_json::Value> = d.object.clone();
    let is_secret = d.is_secret || d.kind.as_deref() == Some("Secret");
    let secrets = object
        .as_ref()
        .filter(|_| is_secret)
        .map(secret::values)
        .unwrap_or_default();
    let deleted = d.mod_revision.is_none();
    let copy_key = d.key.clone();
    let meta = view! {
        <dl class="facts">
            {d.role.clone().map(|r| view! { <dt>"role"</dt><dd data-testid="detail-role">{r}</dd> })}
            <dt>"create revision"</dt><dd data-testid="detail-create">{opt(d.create_revision)}</dd>
            <dt>"mod revision"</dt><dd data-testid="detail-mod">{opt(d.mod_revision)}</dd>
            <dt>"version"</dt><dd data-testid="detail-version">{opt(d.version)}</dd>
            <dt>"lease"</dt><dd data-testid="detail-lease">{d.lease.filter(|l| *l != 0).map_or("none".into(), |l| format!("{l:x}"))}</dd>
            <dt>"value"</dt><dd data-testid="detail-size">{format!("{} ({})", d.value_size, human_bytes(d.value_size))}</dd>
            <dt>"encoding"</dt><dd data-testid="detail-encoding">{d.encoding.clone()}
                {d.provider.clone().map(|p| format!(" — provider {p}, key {}", d.key_name.clone().unwrap_or_default()))}</dd>
            {d.decrypted_with.clone().map(|k| view! { <dt>"decrypted"</dt><dd data-testid="detail-decrypted">{format!("in this tab with {k}")}</dd> })}
            {d.decrypt_error.clone().map(|e| view! { <dt>"not decrypted"</dt><dd class="error" data-testid="detail-decrypt-error">{e}</dd> })}
            <dt>"kind"</dt><dd data-testid="detail-kind">{match (&d.api_version, &d.kind) {
                (Some(a), Some(k)) => format!("{a} {k}"),
                _ => "—".into(),
            }}</dd>
        </dl>
    };
    let secret_rows = (!secrets.is_empty()).then(|| {
        view! {
            <h4>"Secret data (masked)"</h4>
            <table class="grid" data-testid="secret-values">
                <tbody>
                    {secrets.into_iter().map(|s| {
                        let path = s.path.clone();
                        let path2 = s.path.clone();
                        let shown = Memo::new(move |_| revealed.with(|r| r.contains(&path)));
                        let plain = s.plain.clone();
                        view! {
                            <tr>
                                <th scope="row">{s.path.clone()}</th>
                                <td data-testid=format!("secret-{}", s.path)>
                                    {move || if shown.get() { plain.clone() } else { secret::mask(s.bytes) }}
                                </td>
                                <td>
                                    <button data-testid=format!("reveal-{}", s.path)
                                        on:click=move |_| revealed.update(|r| { if !r.remove(&path2) { r.insert(path2.clone()); } })>
                                        {move || if shown.get() { "Hide" } else { "Reveal" }}
                                    </button>
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        }
    });
    let shown_text = {
        let d = d.clone();
        Memo::new(move |_| {
            let f = format.get();
            let masked_object = object.as_ref().map(|o| {
                if is_secret {
                    revealed.with(|r| secret::masked(o, r))
                } else {
                    o.clone()
                }
            });
            let raw_hidden = is_secret && !revealed.with(|r| r.contains(RAW));
            let text = match f {
                Format::Yaml => masked_object.as_ref().map(etcd_lens_core::yaml::to_yaml),
                Format::Json => masked_object
                    .as_ref()
                    .and_then(|o| serde_json::to_string_pretty(o).ok()),
                Format::Text | Format::Hex if raw_hidden => Some(format!(
                    "(the raw value holds the Secret's data, {}: use “Reveal raw value” above to show it)",
                    count(d.value_size, "byte", "bytes")
                )),
                Format::Text => Some(
                    d.text
                        .clone()
                        .unwrap_or_else(|| "(not UTF-8: see hex)".into()),
                ),
                Format::Hex => Some(format!(
                    "{}{}",
                    spaced_hex(&d.hex),
                    if d.truncated { "\n…" } else { "" }
                )),
            };
            text.unwrap_or_else(|| match &d.decode_error {
                Some(e) => format!("Not decoded: {e}"),
                None if deleted => "(deleted: the latest revision is a tombstone)".into(),
                None => "(no decoded object: see text or hex)".into(),
            })
        })
    };
    let copied = RwSignal::new(false);
    let body = move || {
        view! { <pre class="value" data-testid="detail-value" tabindex="0">{shown_text.get()}</pre> }
    };
    let tab = move |f: Format, label: &'static str, id: &'static str| {
        view! {
            <button class="toggle" class:active=move || format.get() == f aria-pressed=move || (format.get() == f).to_string()
                data-testid=id on:click=move |_| format.set(f)>{label}</button>
        }
    };
    let history = d.history.clone();
    let apply = send.map(|send| apply_download(&d, is_secret, state, send));
    view! {
        <section class="detail" aria-label="Key detail">
            <h3 data-testid="detail-key">{d.key.clone()}</h3>
            <button data-testid="copy-key" on:click=move |_| copy(&copy_key)>"Copy key"</button>
            {meta}
            {secret_rows}
            <div class="toggles" role="group" aria-label="Value format">
                {tab(Format::Yaml, "YAML", "fmt-yaml")}
                {tab(Format::Json, "JSON", "fmt-json")}
                {tab(Format::Text, "Text", "fmt-text")}
                {tab(Format::Hex, "Hex", "fmt-hex")}
                <button data-testid="copy-value" title="Copy the value as shown (masked values stay masked)"
                    on:click=move |_| { copy(&shown_text.get_untracked()); copied.set(true); }>
                    {move || if copied.get() { "Copied" } else { "Copy value" }}
                </button>
                {is_secret.then(|| {
                    let raw_shown = move || revealed.with(|r| r.contains(RAW));
                    view! {
                        <button data-testid="reveal-raw" aria-pressed=move || raw_shown().to_string()
                            on:click=move |_| revealed.update(|r| {
                                if r.contains(RAW) {
                                    r.remove(RAW);
                                    r.remove(secret::LAST_APPLIED);
                                } else {
                                    r.insert(RAW.into());
                                    r.insert(secret::LAST_APPLIED.into());
                                }
                            })>
                            {move || if raw_shown() { "Hide raw value" } else { "Reveal raw value" }}
                        </button>
                    }
                })}
            </div>
            {body}
            {apply}
            <History history is_secret revealed />
        </section>
    }
}

/// The reveal name of the raw value (text and hex views, revisions that are not objects).
const RAW: &str = "raw";

#[component]
fn History(
    history: Vec<RevisionView>,
    is_secret: bool,
    revealed: RwSignal<BTreeSet<String>>,
) -> impl IntoView {
    let n = history.len();
    let from = RwSignal::new(n.saturating_sub(2));
    let to = RwSignal::new(n.saturating_sub(1));
    let show_diff = RwSignal::new(false);
    let labels: Vec<String> = history.iter().map(|h| rev_label(h.main, h.sub)).collect();
    let rows = history
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let label = rev_label(h.main, h.sub);
            view! {
                <tr data-testid="history-row">
                    <td>{label.clone()}</td>
                    <td>{if h.deleted { "deleted".to_string() } else { format!("v{}", h.version) }}</td>
                    <td>{human_bytes(h.value_size)}</td>
                    <td>{value_summary(&h.value)}</td>
                    <td><input type="radio" name="diff-from" aria-label=format!("diff from revision {label}")
                        prop:checked=move || from.get() == i on:change=move |_| from.set(i) /></td>
                    <td><input type="radio" name="diff-to" aria-label=format!("diff to revision {label}")
                        prop:checked=move || to.get() == i on:change=move |_| to.set(i) /></td>
                </tr>
            }
        })
        .collect_view();
    let history = StoredValue::new(history);
    let diff = move || {
        if !show_diff.get() {
            return None;
        }
        let (i, j) = (from.get(), to.get());
        history.with_value(|h| {
            let (a, b) = (h.get(i)?, h.get(j)?);
            Some(view! { <ValueDiff a=a.value.clone() b=b.value.clone() is_secret revealed /> })
        })
    };
    let pair = move || {
        let (i, j) = (from.get(), to.get());
        format!(
            "Diff revision {} → {}",
            labels.get(i).cloned().unwrap_or_default(),
            labels.get(j).cloned().unwrap_or_default()
        )
    };
    view! {
        <h4>{format!("History ({} retained)", count(n as u64, "revision", "revisions"))}</h4>
        <table class="grid" data-testid="history">
            <thead><tr><th scope="col">"revision"</th><th scope="col">"version"</th><th scope="col">"size"</th><th scope="col">"value"</th><th scope="col">"from"</th><th scope="col">"to"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
        {(n > 1).then(|| view! {
            <div class="toggles">
                <button data-testid="show-diff" on:click=move |_| show_diff.set(true)>{pair}</button>
                {move || show_diff.get().then(|| view! {
                    <button data-testid="close-diff" on:click=move |_| show_diff.set(false)>"Close the diff"</button>
                })}
            </div>
        })}
        {diff}
    }
}

/// A line diff of two values (revisions of a key, or a key in two snapshots):
/// a Secret's values masked until revealed one at a time.
#[component]
pub fn ValueDiff(
    a: RevisionValue,
    b: RevisionValue,
    is_secret: bool,
    revealed: RwSignal<BTreeSet<String>>,
) -> impl IntoView {
    move || {
        let shown = revealed.get();
        let (ta, tb) = diff_texts(&a, &b, is_secret, &shown);
        let lines = lines::all(&ta, &tb)
            .into_iter()
            .map(|l| {
                let (cls, sign) = match l.tag {
                    lines::Tag::Removed => ("del", "-"),
                    lines::Tag::Added => ("ins", "+"),
                    lines::Tag::Same => ("eq", " "),
                };
                view! { <span class=cls>{format!("{sign}{}\n", l.text)}</span> }
            })
            .collect_view();
        let reveal = is_secret.then(|| {
            let objects: Vec<&serde_json::Value> = [&a, &b]
                .into_iter()
                .filter_map(|v| match v {
                    RevisionValue::Object { object, .. } => Some(object),
                    _ => None,
                })
                .collect();
            let mut paths = secret::paths_of(&objects);
            if [&a, &b].iter().any(|v| matches!(v, RevisionValue::Text { .. })) {
                paths.push(RAW.to_string());
            }
            view! {
                <p class="hint" data-testid="diff-masked">"Secret values are masked in the diff; reveal one to compare it: "
                    {paths.into_iter().map(|p| {
                        let p2 = p.clone();
                        let on = shown.contains(&p);
                        view! {
                            <button data-testid=format!("diff-reveal-{p}")
                                on:click=move |_| revealed.update(|r| { if !r.remove(&p2) { r.insert(p2.clone()); } })>
                                {format!("{} {p}", if on { "Hide" } else { "Reveal" })}
                            </button>
                        }
                    }).collect_view()}
                </p>
            }
        });
        view! {
            {reveal}
            <pre class="diff" data-testid="diff">{lines}</pre>
        }
    }
}

/// "Download for kubectl apply" of the object at a retained revision: the
/// latest live one first (for a deleted key, the last before its tombstone).
fn apply_download(
    d: &KeyDetail,
    is_secret: bool,
    state: RwSignal<Inspection>,
    send: Callback<ToWorker>,
) -> Option<impl IntoView + use<>> {
    let revs: Vec<i64> = d
        .history
        .iter()
        .rev()
        .filter(|h| matches!(h.value, RevisionValue::Object { .. }))
        .map(|h| h.main)
        .collect();
    let latest = *revs.first()?;
    let rev = RwSignal::new(latest);
    let key_hex = d.key_hex.clone();
    let live_latest = d.mod_revision == Some(latest);
    let target = Signal::derive(move || {
        Some(ApplyTarget::Key {
            key_hex: key_hex.clone(),
            rev: (!(live_latest && rev.get() == latest)).then(|| rev.get()),
        })
    });
    let options = revs
        .iter()
        .map(|r| view! { <option value=r.to_string()>{format!("revision {r}")}</option> })
        .collect_view();
    Some(view! {
        <div class="apply-at">
            <label>"Object at "
                <select data-testid="apply-rev" on:change=move |ev| {
                    if let Ok(r) = event_target_value(&ev).parse() { rev.set(r) }
                }>{options}</select>
            </label>
            <ApplyDownload state target may_hold_secrets=Signal::derive(move || is_secret) send
                label="Download for kubectl apply" />
        </div>
    })
}

/// `40`, or `40 (sub 1)` for the second change inside one transaction.
fn rev_label(main: i64, sub: i64) -> String {
    if sub == 0 {
        main.to_string()
    } else {
        format!("{main} (sub {sub})")
    }
}

/// One short line for the history table.
fn value_summary(v: &RevisionValue) -> String {
    match v {
        RevisionValue::Deleted => "tombstone".into(),
        RevisionValue::Object {
            decrypted_with: Some(k),
            ..
        } => format!("object (decrypted in this tab with {k})"),
        RevisionValue::Object { .. } => "object".into(),
        RevisionValue::Encrypted { provider, key_name } => {
            format!("encrypted with {provider} {key_name}")
        }
        RevisionValue::Text { .. } => "raw value".into(),
    }
}

/// The two revisions as the text the diff compares. A Secret's values are
/// masked as in the detail view (a changed value says so, not what it was);
/// an encrypted revision is named by its provider and key, never shown as bytes.
fn diff_texts(
    a: &RevisionValue,
    b: &RevisionValue,
    is_secret: bool,
    revealed: &BTreeSet<String>,
) -> (String, String) {
    let (ma, mb) = match (a, b) {
        (RevisionValue::Object { object: oa, .. }, RevisionValue::Object { object: ob, .. })
            if is_secret =>
        {
            let (x, y) = secret::masked_pair(oa, ob, revealed);
            (Some(x), Some(y))
        }
        _ => {
            let one = |v: &RevisionValue| match v {
                RevisionValue::Object { object, .. } if is_secret => {
                    Some(secret::masked(object, revealed))
                }
                RevisionValue::Object { object, .. } => Some(object.clone()),
                _ => None,
            };
            (one(a), one(b))
        }
    };
    let text = |v: &RevisionValue, masked: Option<serde_json::Value>| match (v, masked) {
        (RevisionValue::Object { decrypted_with, .. }, Some(o)) => format!(
            "{}{}",
            decrypted_with
                .as_ref()
                .map(|k| format!("# decrypted in this tab with {k}\n"))
                .unwrap_or_default(),
            etcd_lens_core::yaml::to_yaml(&o)
        ),
        (RevisionValue::Deleted, _) => "(deleted at this revision: a tombstone)\n".into(),
        (RevisionValue::Encrypted { provider, key_name }, _) => {
            format!("(encrypted with {provider} {key_name}: not decrypted in this tab)\n")
        }
        (RevisionValue::Text { text }, _) if is_secret && !revealed.contains(RAW) => {
            format!(
                "(raw value masked: {})\n",
                count(text.len() as u64, "byte", "bytes")
            )
        }
        (RevisionValue::Text { text }, _) => text.clone(),
        (RevisionValue::Object { .. }, None) => String::new(),
    };
    (text(a, ma), text(b, mb))
}

fn opt(v: Option<i64>) -> String {
    v.map_or_else(|| "— (deleted)".into(), |v| v.to_string())
}

fn spaced_hex(hex: &str) -> String {
    hex.as_bytes()
        .chunks(32)
        .map(|line| {
            line.chunks(2)
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn copy(text: &str) {
    let clipboard = window().navigator().clipboard();
    let _ = clipboard.write_text(text);
}
