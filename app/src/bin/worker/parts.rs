//! The status walk in parts (`etcd_lens_core::status::parallel`), by part
//! walkers: this worker program started again under
//! [`PART_WALKER_NAME`], one per part, each reading the file through its own
//! reader. This worker walks the rest of the file (a few pages) meanwhile,
//! then combines the parts; the numbers are the one walk's.
//!
//! Only for a plain file (the user's `Blob` is the snapshot itself): a
//! decrypted or decompressed file exists in this worker only, so it is walked
//! here, once. Anything else — no split, a walker that fails, stays silent
//! for [`SILENCE_MS`] or sends a part that does not read back, a combination
//! the core refuses — and the caller walks the file once, which reports
//! whatever is wrong with it.
//!
//! [`PART_WALKER_NAME`]: etcd_lens_app::protocol::PART_WALKER_NAME

use etcd_lens_app::protocol::{FromPartWalker, PART_WALKER_NAME, ToPartWalker};
use etcd_lens_core::ReadAt;
use etcd_lens_core::bolt::Db;
use etcd_lens_core::bolt::check::Freelist;
use etcd_lens_core::mvcc::IndexBuilder;
use etcd_lens_core::status::StatusAndCheck;
use etcd_lens_core::status::parallel::{self, Part, Plan, Rest};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{Blob, ErrorEvent, MessageEvent, Worker, WorkerOptions, WorkerType};

use super::scope::{SCOPE, now_ms};

/// Where Trunk puts the worker's loader (see `index.html`), beside this worker.
const WORKER_URL: &str = "./worker_loader.js";
/// At most this many walkers. Reading is most of a walk, and `FileReaderSync`
/// reads faster with more readers at once, even beyond the cores (four workers
/// read 1001 MiB/s in 16 MiB slices where one reads 419, bench/README.md),
/// but each walker holds its own blocks and a copy of the program.
const MAX_WALKERS: usize = 4;
/// Smaller files are walked here at once: starting a walker costs about as
/// much as walking a few tens of MiB.
pub const MIN_FILE_BYTES: u64 = 64 << 20;
/// A walker heard from neither progress nor its part for this long has failed.
pub const SILENCE_MS: f64 = 30_000.0;
/// Least time between two progress messages to the page.
const PROGRESS_EVERY_MS: f64 = 100.0;

/// What a walker's message means for the walk.
pub enum Step {
    /// Nothing to do yet.
    Wait,
    /// Bytes read by all walkers so far (of about the file's size).
    Progress(u64),
    /// Every part is in: combine them.
    Finish,
    /// Walk the file once instead, for this reason (said in the console).
    Fallback(String),
}

/// How many parts to walk: one per core, at least two, at most [`MAX_WALKERS`].
/// Not more: on the 1 M-key benchmark snapshot four walkers on two cores
/// took 7.0 s where two took 5.3 s (bench/README.md), as each part's pages
/// are spread over the whole file and every walker reads most of it.
pub fn walkers_wanted() -> usize {
    let cores = SCOPE.with(|s| s.navigator().hardware_concurrency());
    if cores.is_finite() && cores >= 1.0 {
        (cores as usize).clamp(2, MAX_WALKERS)
    } else {
        2
    }
}
/// A walk in parts under way; dropping it stops its walkers.
pub struct PartsWalk {
    pub id: u32,
    plan: Plan,
    fl: Freelist,
    rest: Rest,
    blob: Blob,
    walkers: Vec<PartWalker>,
    /// The key index of the parts so far, appended in part order as their
    /// chunks come; `None` once a part's could not be (said in the console).
    index: Option<IndexBuilder>,
    /// The walker whose chunks are appended as they come: the first not done.
    appending: usize,
    pub started_ms: f64,
    last_progress: f64,
}

struct PartWalker {
    worker: Worker,
    part: Option<Part>,
    /// Its key-index chunks (`IndexBuilder::to_bytes`) that came before the
    /// parts ahead of it were done: kept outside this worker's memory until
    /// they can be appended in order.
    chunks: Vec<js_sys::ArrayBuffer>,
    read_bytes: u64,
    heard_ms: f64,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(ErrorEvent)>,
}

impl Drop for PartWalker {
    fn drop(&mut self) {
        // No event may reach a closure dropped with this.
        self.worker.set_onmessage(None);
        self.worker.set_onerror(None);
        self.worker.terminate();
    }
}

/// A walker's event: a message, or why it failed.
pub enum Event {
    Message(MessageEvent),
    Error(String),
}

impl PartsWalk {
    /// Plan `parts` parts, start a walker for each and walk the rest here;
    /// `Ok(None)` when the file does not split. `on_event(id, part, event)`
    /// receives the walkers' events.
    pub fn start(
        id: u32,
        db: &Db<impl ReadAt>,
        blob: Blob,
        parts: usize,
        on_event: fn(u32, usize, Event),
    ) -> Result<Option<Self>, String> {
        let Some(plan) = parallel::plan(db, parts) else {
            return Ok(None);
        };
        let mut walkers = Vec::with_capacity(plan.parts.len());
        let now = now_ms();
        for i in 0..plan.parts.len() {
            let opts = WorkerOptions::new();
            opts.set_type(WorkerType::Classic);
            opts.set_name(PART_WALKER_NAME);
            let worker = Worker::new_with_options(WORKER_URL, &opts)
                .map_err(|e| etcd_lens_app::web::js_error(&e))?;
            let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |ev| {
                on_event(id, i, Event::Message(ev));
            });
            let on_error = Closure::<dyn FnMut(ErrorEvent)>::new(move |ev: ErrorEvent| {
                on_event(id, i, Event::Error(ev.message()));
            });
            worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
            worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
            walkers.push(PartWalker {
                worker,
                part: None,
                chunks: Vec::new(),
                read_bytes: 0,
                heard_ms: now,
                _on_message: on_message,
                _on_error: on_error,
            });
        }
        // The walkers load meanwhile.
        let fl = Freelist::read(db);
        let rest = parallel::walk_rest(db, &fl, &plan);
        leptos::logging::log!(
            "etcd-lens worker: {} parts planned, the rest walked in {:.0} ms",
            plan.parts.len(),
            now_ms() - now
        );
        Ok(Some(Self {
            id,
            plan,
            fl,
            rest,
            blob,
            walkers,
            index: Some(IndexBuilder::default()),
            appending: 0,
            started_ms: now,
            last_progress: now,
        }))
    }

    /// Walker `i`'s event, in a file of `db`'s high-water mark.
    pub fn on_event(&mut self, i: usize, ev: Event, db: &Db<impl ReadAt>) -> Step {
        let parts = self.walkers.len();
        let now = now_ms();
        let Some(w) = self.walkers.get_mut(i) else {
            return Step::Wait;
        };
        w.heard_ms = now;
        let data = match ev {
            Event::Error(e) => return Step::Fallback(format!("part walker {i} failed: {e}")),
            Event::Message(m) => m.data(),
        };
        let (text, bytes) = match data.dyn_into::<js_sys::Array>() {
            Ok(a) => (a.get(0).as_string(), Some(a.get(1))),
            Err(d) => (d.as_string(), None),
        };
        let Some(msg) = text.and_then(|t| serde_json::from_str::<FromPartWalker>(&t).ok()) else {
            return Step::Fallback(format!("part walker {i}: a malformed message"));
        };
        match msg {
            FromPartWalker::Ready => {
                let request =
                    serde_json::to_string(&ToPartWalker { part: i, parts }).unwrap_or_default();
                let msg = js_sys::Array::of2(&request.into(), &self.blob);
                if let Err(e) = w.worker.post_message(&msg) {
                    return Step::Fallback(format!(
                        "part walker {i}: the request failed: {}",
                        etcd_lens_app::web::js_error(&e)
                    ));
                }
                Step::Wait
            }
            FromPartWalker::Progress { read_bytes } => {
                w.read_bytes = read_bytes;
                if now - self.last_progress < PROGRESS_EVERY_MS {
                    return Step::Wait;
                }
                self.last_progress = now;
                Step::Progress(self.walkers.iter().map(|w| w.read_bytes).sum())
            }
            FromPartWalker::Failed { message } => {
                Step::Fallback(format!("part walker {i}: {message}"))
            }
            FromPartWalker::Index { .. } => {
                match bytes.and_then(|b| b.dyn_into::<js_sys::ArrayBuffer>().ok()) {
                    Some(chunk) if i == self.appending => self.append(i, &chunk),
                    Some(chunk) => w.chunks.push(chunk),
                    None => self.index_lost(i, "a chunk came without its bytes"),
                }
                Step::Wait
            }
            FromPartWalker::Done {
                read_bytes,
                elapsed_ms,
                read_ms,
                indexed,
                wasm_bytes,
            } => {
                leptos::logging::log!(
                    "etcd-lens worker: part {i} of {parts}: {} MiB read in {elapsed_ms:.0} ms ({read_ms:.0} ms of it reading), in at {:.0} ms; its wasm memory {} MiB",
                    read_bytes >> 20,
                    now - self.started_ms,
                    wasm_bytes >> 20
                );
                w.read_bytes = read_bytes;
                let Some(buffer) = bytes.and_then(|b| b.dyn_into::<js_sys::ArrayBuffer>().ok())
                else {
                    return Step::Fallback(format!("part walker {i}: no part sent"));
                };
                let bytes = js_sys::Uint8Array::new(&buffer).to_vec();
                match Part::from_bytes(&bytes, db.hwm()) {
                    Ok(p) => w.part = Some(p),
                    Err(e) => return Step::Fallback(format!("part walker {i}: {e}")),
                }
                // Its work is done: free its memory now.
                w.worker.terminate();
                if !indexed {
                    self.index_lost(i, "it sent no key index");
                }
                self.append_ready();
                if self.walkers.iter().all(|w| w.part.is_some()) {
                    Step::Finish
                } else {
                    Step::Wait
                }
            }
        }
    }

    /// Append a chunk of walker `i`'s key index (its part is next in order).
    fn append(&mut self, i: usize, chunk: &js_sys::ArrayBuffer) {
        let Some(index) = self.index.as_mut() else {
            return;
        };
        // Copied in and dropped one chunk at a time.
        if let Err(e) = index.append_bytes(&js_sys::Uint8Array::new(chunk).to_vec()) {
            self.index_lost(i, &e.to_string());
        }
    }

    /// The walkers done in order from [`Self::appending`] on are passed; the
    /// chunks the next one sent meanwhile are appended now.
    fn append_ready(&mut self) {
        while self
            .walkers
            .get(self.appending)
            .is_some_and(|w| w.part.is_some())
        {
            self.appending += 1;
            let chunks = self
                .walkers
                .get_mut(self.appending)
                .map(|w| std::mem::take(&mut w.chunks))
                .unwrap_or_default();
            for chunk in &chunks {
                self.append(self.appending, chunk);
            }
        }
    }

    /// Part `i`'s key index is not whole: the parts have none.
    fn index_lost(&mut self, i: usize, why: &str) {
        if self.index.take().is_some() {
            leptos::logging::warn!("etcd-lens worker: part {i}'s key index: {why}");
        }
        for w in &mut self.walkers {
            w.chunks.clear();
        }
    }

    /// How many walkers read the file.
    pub fn walkers(&self) -> usize {
        self.walkers.len()
    }

    /// Whether a walker has been silent for longer than [`SILENCE_MS`].
    pub fn stalled(&self) -> bool {
        let now = now_ms();
        self.walkers
            .iter()
            .any(|w| w.part.is_none() && now - w.heard_ms > SILENCE_MS)
    }

    /// The combined status and check, and the key index's entries of every
    /// part appended in order (etcdutl 3.6's count is their live keys);
    /// `None` when a walker sent no index, the entries do not append, or the
    /// core refuses the combination (the file is then walked once).
    pub fn finish(mut self, db: &Db<impl ReadAt>) -> Option<(StatusAndCheck, IndexBuilder)> {
        let parts: Option<Vec<Part>> = self.walkers.iter_mut().map(|w| w.part.take()).collect();
        // Every part is in, so every chunk is appended.
        let index = self.index.take()?;
        let live_keys = index.live_count();
        let Self { plan, fl, rest, .. } = self;
        let walked =
            parallel::finish_parts_and_check_counted(db, fl, &plan, rest, parts?, live_keys)?;
        Some((walked, index))
    }
}
