//! The page's side of the worker: start it, wait for its "ready", send the
//! file, fold replies into a signal. Each opened file gets a fresh worker, so a
//! long hash of the previous file never delays the next one.

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{ErrorEvent, File, MessageEvent, Worker, WorkerOptions, WorkerType};

use crate::protocol::{FromWorker, ToWorker};
use crate::state::Inspection;

/// Where Trunk puts the worker's loader (see `index.html`).
const WORKER_URL: &str = "./worker_loader.js";

/// A running worker; terminated when dropped.
pub struct WorkerHandle {
    worker: Worker,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(ErrorEvent)>,
}

impl WorkerHandle {
    /// Send a request to the worker; a failure is shown as a request error.
    pub fn send(&self, req: &ToWorker, state: RwSignal<Inspection>) {
        let result = serde_json::to_string(req)
            .map_err(|e| e.to_string())
            .and_then(|json| {
                self.worker
                    .post_message(&js_sys::Array::of1(&json.into()))
                    .map_err(|e| super::js_error(&e))
            });
        if let Err(message) = result {
            state.update(|s| s.request_error = Some(message));
        }
    }
}

impl Drop for WorkerHandle {
    fn drop(&mut self) {
        // Detach first: an event already queued must not reach a dropped closure.
        self.worker.set_onmessage(None);
        self.worker.set_onerror(None);
        self.worker.terminate();
    }
}

/// Start a worker that inspects `file` and writes what it learns into `state`.
pub fn inspect(file: File, state: RwSignal<Inspection>) -> Result<WorkerHandle, String> {
    state.set(Inspection::opening(file.name(), file.size() as u64));
    let opts = WorkerOptions::new();
    opts.set_type(WorkerType::Classic);
    let worker = Worker::new_with_options(WORKER_URL, &opts).map_err(|e| super::js_error(&e))?;

    let request =
        serde_json::to_string(&ToWorker::Open { name: file.name() }).map_err(|e| e.to_string())?;
    let w = worker.clone();
    let mut pending = Some((request, file));
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
        let Some(text) = ev.data().as_string() else {
            return;
        };
        let msg = match serde_json::from_str::<FromWorker>(&text) {
            Ok(m) => m,
            Err(e) => FromWorker::Failed {
                message: format!("internal error: bad message from the worker: {e}"),
            },
        };
        if let FromWorker::Ready = msg {
            if let Some((request, file)) = pending.take() {
                let msg = js_sys::Array::of2(&request.into(), &file);
                if let Err(e) = w.post_message(&msg) {
                    state.update(|s| {
                        s.apply(FromWorker::Failed {
                            message: super::js_error(&e),
                        })
                    });
                }
            }
            return;
        }
        state.update(|s| s.apply(msg));
    });
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));

    let on_error = Closure::<dyn FnMut(ErrorEvent)>::new(move |ev: ErrorEvent| {
        let message = format!(
            "The worker stopped: {}. Reload the page and try again.",
            ev.message()
        );
        state.update(|s| s.apply(FromWorker::Failed { message }));
    });
    worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    Ok(WorkerHandle {
        worker,
        _on_message: on_message,
        _on_error: on_error,
    })
}
