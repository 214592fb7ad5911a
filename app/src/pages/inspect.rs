//! The inspect page: pick or drop a snapshot, then Overview / Browse / Space
//! / Secret audit; and the Live tab beside them (`pages::live`), whose Open
//! hands a stored snapshot to the same entry point as the drop zone.

use leptos::ev;
use leptos::prelude::*;
use web_sys::File;

use crate::components::apply_download::ApplyDownload;
use crate::components::audit::AuditPanel;
use crate::components::audit_summary::AuditSummary;
use crate::components::compare::CompareView;
use crate::components::file_report::{FileReport, alerts};
use crate::components::key_detail::KeyDetailView;
use crate::components::key_list::{KeyList, WINDOW_ROWS};
use crate::components::key_tree::KeyTree;
use crate::components::overview::OverviewView;
use crate::components::passes::Passes;
use crate::components::shell::{ShellHeader, WindowDrop};
use crate::components::space::SpaceView;
use crate::components::unlock::Unlock;
use crate::components::welcome::Welcome;
use crate::pages::live::{LivePage, LiveState};
use crate::pages::planner::PlannerPage;
use crate::protocol::{ApplyTarget, ExportFormat, KeyQuery, ToWorker};
use crate::route::{Route, View};
use crate::shell::{AuditState, audit_state};
use crate::state::{EXPORT_SEQ_BASE, Inspection};
use crate::web::worker_client::WorkerHandle;
use etcd_lens_core::k8s::DEFAULT_PREFIX;

fn current_route() -> Route {
    Route::parse(&window().location().hash().unwrap_or_default())
}

#[component]
pub fn InspectPage() -> impl IntoView {
    let state = RwSignal::new(Inspection::default());
    let worker = StoredValue::new_local(None::<WorkerHandle>);
    let route = RwSignal::new(current_route());
    let _ = window_event_listener(ev::hashchange, move |_| route.set(current_route()));
    // The key open in Browse, kept while another tab is shown: its tab leads back to it.
    let browse_key = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        if let Route::Browse { key_hex } = route.get() {
            browse_key.set(key_hex);
        }
    });
    let query = RwSignal::new(KeyQuery {
        limit: WINDOW_ROWS,
        ..KeyQuery::default()
    });

    let send = move |req: ToWorker| {
        worker.with_value(|w| {
            if let Some(w) = w {
                w.send(&req, state);
            }
        });
    };
    // Start the worker now, so opening a file later fetches nothing.
    let restart = move || {
        worker.set_value(None);
        state.update(|s| s.worker_ready = false);
        match WorkerHandle::start(state) {
            Ok(handle) => worker.set_value(Some(handle)),
            Err(e) => state.update(|s| {
                s.error = Some(format!(
                    "Could not start the background worker: {e}. Reload the page and try again."
                ));
            }),
        }
    };
    restart();
    let open = move |file: File| {
        // A worker still busy with the previous file is replaced, not waited for.
        if state.with_untracked(|s| s.busy) {
            restart();
        }
        query.set(KeyQuery {
            limit: WINDOW_ROWS,
            ..KeyQuery::default()
        });
        // A key of the previous file means nothing in this one (a key link
        // being shown, as after a reload, is followed).
        if route.with_untracked(|r| r.view() != View::Browse) {
            browse_key.set(None);
        }
        worker.with_value(|w| {
            if let Some(w) = w {
                w.open(file, state);
            }
        });
    };
    let cancel = move |_: ()| {
        restart();
        state.update(|s| {
            *s = s.closed(
                "Cancelled: the file was closed and its work stopped. Choose a file to start again."
                    .into(),
            );
        });
    };

    let has_overview = Memo::new(move |_| state.with(|s| s.overview.is_some()));
    let has_index = Memo::new(move |_| state.with(|s| s.index.is_some()));
    // Keep the list in step with the query once the snapshot is indexed.
    Effect::new(move |_| {
        let q = query.get();
        if has_index.get() {
            let seq = state.with_untracked(|s| s.list_seq) + 1;
            state.update(|s| s.list_seq = seq);
            send(ToWorker::List { seq, query: q });
        }
    });
    // And the detail in step with the selected key.
    let selected = Memo::new(move |_| match route.get() {
        Route::Browse { key_hex } => key_hex,
        _ => None,
    });
    Effect::new(move |_| {
        let key = selected.get();
        if has_index.get()
            && let Some(key_hex) = key
        {
            let seq = state.with_untracked(|s| s.detail_seq) + 1;
            state.update(|s| {
                s.detail_seq = seq;
                s.detail = None;
            });
            send(ToWorker::Key { seq, key_hex });
        }
    });

    // The tree's root, once indexed; deeper nodes when opened.
    let expand = move |prefix: String| {
        let seq = state.with_untracked(|s| s.tree_seq);
        send(ToWorker::Tree { seq, prefix });
    };
    Effect::new(move |_| {
        if has_index.get() {
            expand(String::new());
        }
    });
    let choose_prefix = move |prefix: String| {
        query.update(|q| {
            q.prefix = prefix;
            q.offset = 0;
        });
    };

    let run_audit = move |encryption_config: Option<String>| {
        let seq = state.with_untracked(|s| s.audit_seq) + 1;
        state.update(|s| s.auditing(seq));
        send(ToWorker::Audit {
            seq,
            encryption_config,
        });
    };
    let stop_audit = move || {
        let seq = state.with_untracked(|s| s.audit_seq);
        state.update(Inspection::cancel_audit);
        send(ToWorker::CancelAudit { seq });
    };
    // The view changes with the tab, not with the key opened in it.
    let current_view = Memo::new(move |_| route.with(Route::view));
    let is_live = Memo::new(move |_| current_view.get() == View::Live);
    let is_planner = Memo::new(move |_| current_view.get() == View::Planner);
    // Views of their own, beside the inspector's (they need no file).
    let standalone = Memo::new(move |_| is_live.get() || is_planner.get());
    // The planner's inputs, kept while another tab is shown: its tab leads back to them.
    let plan_query = RwSignal::new(String::new());
    Effect::new(move |_| {
        if let Route::Planner { query } = route.get() {
            plan_query.set(query);
        }
    });
    let planner_query = Memo::new(move |_| match route.get() {
        Route::Planner { query } => query,
        _ => plan_query.get_untracked(),
    });
    // Made once, so the Live page keeps its token, cluster and catalog
    // while another tab is shown.
    let live = LiveState::new();
    // Live's Open: the fetched file goes where a dropped one goes, and the
    // inspector is shown (its unlock form asks for an identity if needed).
    let open_fetched = move |file: File| {
        open(file);
        // A new history entry: Back returns to the Live tab.
        let _ = window().location().set_hash(&Route::Overview.href());
    };
    let tab = move |r: Route, label: &'static str, id: &'static str| {
        let kind = r.view();
        let fixed = r.href();
        let href = move || match kind {
            View::Planner => Route::Planner {
                query: plan_query.get(),
            }
            .href(),
            View::Browse => Route::Browse {
                key_hex: browse_key.get(),
            }
            .href(),
            _ => fixed.clone(),
        };
        let current =
            Memo::new(move |_| std::mem::discriminant(&route.get()) == std::mem::discriminant(&r));
        view! {
            <a href=href class="tab" class:active=move || current.get() aria-current=move || current.get().then_some("page") data-testid=id>
                {label}
            </a>
        }
    };
    // One row of tabs: the inspector's views once a file is open (before,
    // one tab leads back to the drop zone), and Live always.
    let nav = move || {
        view! {
            <nav class="tabs" aria-label="Views" data-testid="tabs">
                {move || if has_overview.get() {
                    view! {
                        {tab(Route::Overview, "Overview", "tab-overview")}
                        {tab(Route::Browse { key_hex: None }, "Browse keys", "tab-browse")}
                        {tab(Route::Space, "Space", "tab-space")}
                        {tab(Route::Audit, "Secret audit", "tab-audit")}
                        {tab(Route::Compare, "Compare", "tab-compare")}
                    }
                    .into_any()
                } else {
                    tab(Route::Overview, "Inspect a file", "tab-inspect").into_any()
                }}
                {tab(Route::Planner { query: String::new() }, "Planner", "tab-planner")}
                {tab(Route::Live, "Live cluster", "tab-live")}
            </nav>
        }
    };
    // The audit runs by itself once the passes are done (unless switched off,
    // or the file is over the size limit); the chip and the Overview say which.
    let auto_audit = RwSignal::new(crate::web::settings::auto_audit());
    let audit_state = Memo::new(move |_| {
        let auto = auto_audit.get();
        state.with(|s| audit_state(s, auto))
    });
    Effect::new(move |_| {
        let ready = state.with(|s| {
            !s.busy
                && s.index.is_some()
                && s.audit.is_none()
                && !s.audit_running
                && s.audit_error.is_none()
        });
        if ready && audit_state.get() == AuditState::Waiting {
            run_audit(None);
        }
    });
    let set_auto_audit = move |ev: ev::Event| {
        let on = event_target_checked(&ev);
        crate::web::settings::set_auto_audit(on);
        auto_audit.set(on);
    };
    let has_file = Memo::new(move |_| state.with(|s| s.file_name.is_some()));
    let busy = Memo::new(move |_| state.with(|s| s.busy));
    let run_export = move |format: ExportFormat| {
        let (seq, file_name) = state.with_untracked(|s| {
            (
                s.export_seq.max(EXPORT_SEQ_BASE) + 1,
                s.file_name.clone().unwrap_or_default(),
            )
        });
        state.update(|s| s.exporting(seq, format));
        send(ToWorker::Export {
            seq,
            format,
            file_name,
        });
    };
    // Something is wrong with the file: its details open by themselves.
    let file_problem = Memo::new(move |_| {
        state.with(|s| {
            s.untrusted.is_some()
                || s.error.is_some()
                || matches!(
                    s.trailer,
                    Some(etcd_lens_core::trailer::TrailerStatus::Mismatch { .. })
                )
                || s.overview
                    .as_ref()
                    .is_some_and(|o| o.status_error.is_some() || !o.warnings.is_empty())
                || s.check
                    .as_ref()
                    .is_some_and(|c| !c.problems.is_empty() || !c.warnings.is_empty())
                || s.header.as_ref().is_some_and(|h| !h.warnings.is_empty())
        })
    });
    let cancel_now = move || cancel(());
    let send_cb = Callback::new(send);
    let open_compare = Callback::new(move |file: File| {
        worker.with_value(|w| {
            if let Some(w) = w {
                w.open_compare(file, state);
            }
        });
    });
    // Which inspector views were shown for this file (they are made on first visit).
    let generation = Memo::new(move |_| state.with(|s| s.tree_seq));
    let visited = RwSignal::new(std::collections::BTreeSet::<View>::new());
    Effect::new(move |prev: Option<u32>| {
        let g = generation.get();
        if prev.is_some_and(|p| p != g) {
            visited.set(std::collections::BTreeSet::new());
        }
        let v = current_view.get();
        if !visited.with_untracked(|s| s.contains(&v)) {
            visited.update(|s| {
                s.insert(v);
            });
        }
        g
    });
    view! {
        <WindowDrop on_file=open />
        <ShellHeader state audit=audit_state on_file=open on_cancel=cancel_now />
        {nav}
        <main>
            <span hidden data-testid="worker-ready" data-ready=move || state.with(|s| s.worker_ready).to_string()></span>
            <span hidden data-testid="worker-memory" data-bytes=move || state.with(|s| s.worker_memory_bytes.unwrap_or(0)).to_string()></span>
            <Show when=move || is_live.get()>
                <LivePage live on_open=open_fetched />
            </Show>
            <Show when=move || is_planner.get()>
                <PlannerPage state route_query=planner_query kept=plan_query live />
            </Show>
            // Hidden, not removed, on the Live and Planner tabs: the file's
            // report and an unlock form in progress are as they were on the way back.
            <div class="inspector" hidden=move || standalone.get()>
                {move || state.with(alerts)}
                <Show when=move || has_file.get() fallback=move || view! { <Welcome route /> }>
                    <Unlock
                        prompt=Signal::derive(move || state.with(|s| s.secret_prompt.clone()))
                        error=Signal::derive(move || state.with(|s| s.unlock_error.clone()))
                        on_secret=move |secret| send(ToWorker::Unlock { secret }) />
                    <Show when=move || has_overview.get() fallback=move || view! {
                        <FileReport state alerts_elsewhere=true />
                        <Passes state />
                    }>
                        // While passes run, their progress is above every view.
                        <Show when=move || busy.get()><Passes state /></Show>
                        // Each view is made when first shown and then kept (hidden
                        // while another is shown), so its filters, open nodes,
                        // sort order and scroll position are as the user left them.
                        // A new file makes them afresh.
                        {move || {
                            let _file = generation.get();
                            view! {
                                {pane(View::Overview, visited, current_view, move || view! {
                                    <AuditSummary state audit=audit_state on_run=move || run_audit(None) on_cancel=stop_audit />
                                    <details class="file-details" data-testid="file-details" open=move || file_problem.get()>
                                        <summary>"File details: the trailer, the bbolt header and meta pages, and the passes"</summary>
                                        <FileReport state alerts_elsewhere=true />
                                        <Show when=move || !busy.get()><Passes state /></Show>
                                    </details>
                                    <OverviewView state />
                                }.into_any())}
                                {pane(View::Browse, visited, current_view, move || view! {
                                    <Show when=move || has_index.get() fallback=|| view! {
                                        <p class="hint" data-testid="index-pending">"The key index is being built; the list appears when it is ready (the Keys chip above shows how far it is)."</p>
                                    }>
                                        <ApplyDownload state
                                            target=Signal::derive(move || query.with(|q| {
                                                let p = q.prefix.clone();
                                                (p.starts_with(DEFAULT_PREFIX) && p.len() > DEFAULT_PREFIX.len()).then_some(ApplyTarget::Prefix { prefix: p })
                                            }))
                                            may_hold_secrets=Signal::derive(move || query.with(|q| q.prefix.starts_with("/registry/secrets/") || "/registry/secrets/".starts_with(q.prefix.as_str())))
                                            send=send_cb
                                            label="Download the objects under this prefix for kubectl apply" />
                                        <div class="browse">
                                            <KeyTree state on_expand=Callback::new(expand) on_choose=Callback::new(choose_prefix) />
                                            <KeyList state query selected />
                                            <KeyDetailView state send=send_cb />
                                        </div>
                                    </Show>
                                }.into_any())}
                                {pane(View::Space, visited, current_view, move || view! { <SpaceView state /> }.into_any())}
                                {pane(View::Compare, visited, current_view, move || view! {
                                    <CompareView state on_file=open_compare send=send_cb />
                                }.into_any())}
                                {pane(View::Audit, visited, current_view, move || view! {
                                    <p class="setting">
                                        <label>
                                            <input type="checkbox" data-testid="auto-audit" prop:checked=move || auto_audit.get() on:change=set_auto_audit />
                                            " Run the audit by itself when a file opens (files up to 2 GiB)"
                                        </label>
                                    </p>
                                    <AuditPanel state on_run=run_audit on_cancel=stop_audit on_export=run_export />
                                }.into_any())}
                            }
                        }}
                    </Show>
                </Show>
            </div>
        </main>
    }
}

/// One inspector view: made when first visited, hidden while another is shown.
fn pane<F>(
    v: View,
    visited: RwSignal<std::collections::BTreeSet<View>>,
    current: Memo<View>,
    content: F,
) -> impl IntoView
where
    F: Fn() -> AnyView + Send + Sync + 'static,
{
    view! {
        <Show when=move || visited.with(|s| s.contains(&v))>
            <div class="pane" hidden=move || current.get() != v>{content()}</div>
        </Show>
    }
}
