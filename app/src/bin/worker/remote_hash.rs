//! The SHA-256 pass in a worker of its own (a [`hasher`](super::hasher)),
//! beside this worker's walk and index instead of after them.
//!
//! Only for a plain file (the user's `Blob` is the snapshot itself), as for
//! the walk in parts. A hasher that fails, or stays silent for
//! [`SILENCE_MS`], is stopped and this worker hashes the file itself, after
//! its other passes, as it does for every other file.

use etcd_lens_app::protocol::{FromHasher, HASHER_NAME};
use etcd_lens_core::trailer::TrailerStatus;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{Blob, ErrorEvent, MessageEvent, Worker, WorkerOptions, WorkerType};

use super::parts::Event;
use super::scope::now_ms;

/// Where Trunk puts the worker's loader (see `index.html`), beside this worker.
const WORKER_URL: &str = "./worker_loader.js";
/// A hasher heard from for this long has failed.
pub const SILENCE_MS: f64 = 30_000.0;

/// What a hasher's message means.
pub enum Step {
    /// Nothing to do.
    Wait,
    /// Bytes hashed so far.
    Progress(u64),
    /// The verdict.
    Done(TrailerStatus),
    /// Hash the file here instead, for this reason (said in the console).
    Fallback(String),
}

/// A hasher at work; dropping it stops it.
pub struct RemoteHash {
    pub id: u32,
    worker: Worker,
    blob: Blob,
    pub started_ms: f64,
    heard_ms: f64,
    /// It listens (it said `Ready`).
    ready: bool,
    /// It may hash (see [`RemoteHash::begin`]).
    go: bool,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(ErrorEvent)>,
}

impl Drop for RemoteHash {
    fn drop(&mut self) {
        // No event may reach a closure dropped with this.
        self.worker.set_onmessage(None);
        self.worker.set_onerror(None);
        self.worker.terminate();
    }
}

impl RemoteHash {
    /// Start a hasher for `blob`; `on_event(id, event)` receives its events.
    pub fn start(id: u32, blob: Blob, on_event: fn(u32, Event)) -> Result<Self, String> {
        let opts = WorkerOptions::new();
        opts.set_type(WorkerType::Classic);
        opts.set_name(HASHER_NAME);
        let worker = Worker::new_with_options(WORKER_URL, &opts)
            .map_err(|e| etcd_lens_app::web::js_error(&e))?;
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |ev| {
            on_event(id, Event::Message(ev));
        });
        let on_error = Closure::<dyn FnMut(ErrorEvent)>::new(move |ev: ErrorEvent| {
            on_event(id, Event::Error(ev.message()));
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        let now = now_ms();
        Ok(Self {
            id,
            worker,
            blob,
            started_ms: now,
            heard_ms: now,
            ready: false,
            go: false,
            _on_message: on_message,
            _on_error: on_error,
        })
    }

    /// The hasher's event.
    pub fn on_event(&mut self, ev: Event) -> Step {
        self.heard_ms = now_ms();
        let data = match ev {
            Event::Error(e) => return Step::Fallback(format!("the hasher failed: {e}")),
            Event::Message(m) => m.data(),
        };
        let Some(msg) = data
            .as_string()
            .and_then(|t| serde_json::from_str::<FromHasher>(&t).ok())
        else {
            return Step::Fallback("the hasher sent a malformed message".into());
        };
        match msg {
            FromHasher::Ready => {
                self.ready = true;
                self.send_if_due()
            }
            FromHasher::Progress { hashed_bytes } => Step::Progress(hashed_bytes),
            FromHasher::Done { status, wasm_bytes } => {
                leptos::logging::log!(
                    "etcd-lens worker: the hasher is done; its wasm memory {} MiB",
                    wasm_bytes >> 20
                );
                Step::Done(status)
            }
            FromHasher::Failed { message } => Step::Fallback(format!("the hasher: {message}")),
        }
    }

    /// Let it hash: it is started early, so that it has loaded (and said
    /// `Ready`, which this worker hears only between its own tasks) by the
    /// time it may begin, but it begins only when told.
    pub fn begin(&mut self) -> Step {
        self.go = true;
        self.started_ms = now_ms();
        self.heard_ms = self.started_ms;
        self.send_if_due()
    }

    /// Send it the file once it listens and may begin.
    fn send_if_due(&mut self) -> Step {
        if !(self.ready && self.go) {
            return Step::Wait;
        }
        match self.worker.post_message(&self.blob) {
            Ok(()) => Step::Wait,
            Err(e) => Step::Fallback(format!(
                "the file could not be sent to the hasher: {}",
                etcd_lens_app::web::js_error(&e)
            )),
        }
    }

    /// Whether the hasher has been silent for longer than [`SILENCE_MS`]
    /// (waiting to begin is not silence).
    pub fn stalled(&self) -> bool {
        self.go && now_ms() - self.heard_ms > SILENCE_MS
    }
}
