//! The page's side of the worker: start it when the page loads (so opening a
//! file fetches nothing: the tests count requests), wait for its "ready", send
//! files and requests, fold replies into a signal. A worker busy with a
//! previous file is terminated and replaced rather than waited for.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use leptos::prelude::*;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{ErrorEvent, File, MessageEvent, Worker, WorkerOptions, WorkerType};

use crate::protocol::{FromWorker, ToWorker};
use crate::state::Inspection;

/// Where Trunk puts the worker's loader (see `index.html`).
const WORKER_URL: &str = "./worker_loader.js";

/// A running worker; terminated when dropped.
pub struct WorkerHandle {
    worker: Worker,
    ready: Rc<Cell<bool>>,
    /// A message sent before the worker was ready.
    pending: Rc<RefCell<Option<JsValue>>>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(ErrorEvent)>,
}

impl WorkerHandle {
    /// Start a worker whose replies go into `state`.
    pub fn start(state: RwSignal<Inspection>) -> Result<Self, String> {
        let opts = WorkerOptions::new();
        opts.set_type(WorkerType::Classic);
        let worker =
            Worker::new_with_options(WORKER_URL, &opts).map_err(|e| super::js_error(&e))?;
        let ready = Rc::new(Cell::new(false));
        let pending: Rc<RefCell<Option<JsValue>>> = Rc::default();
        let (w, r, p) = (worker.clone(), ready.clone(), pending.clone());
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
            let Some(text) = ev.data().as_string() else {
                return;
            };
            let msg =
                serde_json::from_str::<FromWorker>(&text).unwrap_or_else(|e| FromWorker::Failed {
                    message: format!("internal error: bad message from the worker: {e}"),
                });
            if let FromWorker::Ready = msg {
                r.set(true);
                state.update(|s| s.worker_ready = true);
                if let Some(m) = p.borrow_mut().take()
                    && let Err(e) = w.post_message(&m)
                {
                    state.update(|s| {
                        s.apply(FromWorker::Failed {
                            message: super::js_error(&e),
                        })
                    });
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
        Ok(Self {
            worker,
            ready,
            pending,
            _on_message: on_message,
            _on_error: on_error,
        })
    }

    /// Inspect `file`: the state starts over for it.
    pub fn open(&self, file: File, state: RwSignal<Inspection>) {
        state.update(|s| *s = s.opening(file.name(), file.size() as u64));
        match serde_json::to_string(&ToWorker::Open { name: file.name() }) {
            Ok(json) => self.post(js_sys::Array::of2(&json.into(), &file).into(), state),
            Err(e) => state.update(|s| {
                s.apply(FromWorker::Failed {
                    message: e.to_string(),
                })
            }),
        }
    }

    /// Compare the open file with `file` (a second session in the worker).
    pub fn open_compare(&self, file: File, state: RwSignal<Inspection>) {
        state.update(|s| s.comparing(file.name()));
        match serde_json::to_string(&ToWorker::OpenCompare { name: file.name() }) {
            Ok(json) => self.post(js_sys::Array::of2(&json.into(), &file).into(), state),
            Err(e) => state.update(|s| {
                s.apply(FromWorker::CompareFailed {
                    message: e.to_string(),
                })
            }),
        }
    }

    /// Send a request to the worker; a failure is shown as a request error.
    pub fn send(&self, req: &ToWorker, state: RwSignal<Inspection>) {
        match serde_json::to_string(req) {
            Ok(json) => self.post(js_sys::Array::of1(&json.into()).into(), state),
            Err(e) => state.update(|s| s.request_error = Some(e.to_string())),
        }
    }

    fn post(&self, msg: JsValue, state: RwSignal<Inspection>) {
        if !self.ready.get() {
            *self.pending.borrow_mut() = Some(msg);
            return;
        }
        if let Err(e) = self.worker.post_message(&msg) {
            state.update(|s| s.request_error = Some(super::js_error(&e)));
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
