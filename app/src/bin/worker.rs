//! The Web Worker: runs the core over the user's file, read in slices.
//! It never holds the whole file: `BlobSource` reads `Blob.slice`s on demand,
//! through a small cache of 1 MiB blocks.
//!
//! Opening walks every bucket once for the status and posts the overview at
//! once; the key index, the consistency check, the space counts and the
//! SHA-256 then run as background jobs, one `setTimeout` task each (the hash in
//! 16 MiB steps), so list, tree and key requests are answered in between.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

use etcd_lens_app::protocol::{FromWorker, Phase, ToWorker};
use etcd_lens_app::web::blob_source::BlobSource;
use etcd_lens_app::web::opfs::{self, SpoolFile};
use etcd_lens_app::worker_model::{self, Opened, Peeled};
use etcd_lens_core::trailer::TrailerVerifier;
use etcd_lens_core::{BlockCache, ReadAt, SourceError, inspect};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{Blob, DedicatedWorkerGlobalScope, MessageEvent};

/// Bytes per read while hashing: large enough to amortise the per-slice cost
/// of `FileReaderSync`, small enough to report progress often.
const HASH_SLICE_BYTES: usize = 4 << 20;
/// Slices hashed per task before yielding to queued requests.
const HASH_SLICES_PER_TASK: usize = 4;
/// Blocks read from the file and kept: 8 × 4 MiB. `FileReaderSync` costs
/// about 1.3 ms a call whatever the size, and reads 4 MiB slices at about
/// 240 MiB/s (bench/README.md), so a walk costs one call per 4 MiB.
const BLOCK_BYTES: usize = 4 << 20;
const CACHED_BLOCKS: usize = 8;
/// Least time between two progress messages.
const PROGRESS_EVERY_MS: f64 = 100.0;

/// A background job for the open file.
enum Job {
    Index,
    Space,
    Hash(Box<HashJob>),
}

struct HashJob {
    src: &'static dyn ReadAt,
    verifier: TrailerVerifier,
    buf: Vec<u8>,
    started: f64,
}

thread_local! {
    static SCOPE: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    /// The open file.
    static OPEN: RefCell<Option<Opened>> = const { RefCell::new(None) };
    /// An age file waiting for its secret, and the layers peeled so far.
    static LOCKED: RefCell<Option<(&'static dyn ReadAt, Vec<String>)>> = const { RefCell::new(None) };
    static JOBS: RefCell<VecDeque<Job>> = const { RefCell::new(VecDeque::new()) };
    /// Counts the bytes the engine reads during a pass, for its progress.
    static METER: Cell<Option<&'static Meter>> = const { Cell::new(None) };
    /// Private files holding decompressed layers of the open file.
    static SPOOLS: RefCell<Vec<&'static SpoolFile>> = const { RefCell::new(Vec::new()) };
}

/// Close the open file: stop its jobs and delete its private files.
fn close() {
    JOBS.with_borrow_mut(VecDeque::clear);
    OPEN.with_borrow_mut(|o| *o = None);
    LOCKED.with_borrow_mut(|l| *l = None);
    METER.set(None);
    for spool in SPOOLS.with_borrow_mut(std::mem::take) {
        spool.delete();
    }
}

fn post(msg: &FromWorker) {
    if let Ok(text) = serde_json::to_string(msg) {
        SCOPE.with(|s| {
            let _ = s.post_message(&text.into());
        });
    }
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

fn main() {
    console_error_panic_hook::set_once();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| handle(&ev));
    SCOPE.with(|s| s.set_onmessage(Some(on_message.as_ref().unchecked_ref())));
    on_message.forget();
    post(&FromWorker::Ready);
    // A worker stopped mid-file (Cancel, another file) could not delete its spool.
    wasm_bindgen_futures::spawn_local(opfs::delete_leftovers());
}

fn handle(ev: &MessageEvent) {
    let Ok(parts) = ev.data().dyn_into::<js_sys::Array>() else {
        return post(&FromWorker::Failed {
            message: "internal error: malformed request".into(),
        });
    };
    let Some(request) = parts
        .get(0)
        .as_string()
        .and_then(|s| serde_json::from_str::<ToWorker>(&s).ok())
    else {
        return post(&FromWorker::Failed {
            message: "internal error: malformed request".into(),
        });
    };
    match request {
        ToWorker::Open { name: _ } => {
            close();
            let result = parts
                .get(1)
                .dyn_into::<Blob>()
                .map_err(|_| "internal error: no file sent".to_string())
                .and_then(BlobSource::new)
                .and_then(|src| {
                    // The source lives as long as the worker (one file at a time).
                    let src: &'static dyn ReadAt =
                        Box::leak(Box::new(BlockCache::new(src, BLOCK_BYTES, CACHED_BLOCKS)));
                    peel_and_open(src, Vec::new())
                });
            if let Err(message) = result {
                post(&FromWorker::Failed { message });
            }
        }
        ToWorker::Unlock { secret } => {
            let Some((src, mut layers)) = LOCKED.with_borrow_mut(Option::take) else {
                return post(&FromWorker::Failed {
                    message: "no encrypted file is waiting for a secret".into(),
                });
            };
            match worker_model::unlock(src, &secret, &mut layers) {
                Err(message) => {
                    LOCKED.with_borrow_mut(|l| *l = Some((src, layers)));
                    post(&FromWorker::UnlockFailed { message });
                }
                Ok(plain) => {
                    if let Err(message) = peel_and_open(plain, layers) {
                        post(&FromWorker::Failed { message });
                    }
                }
            }
        }
        ToWorker::Audit {
            seq,
            encryption_config,
        } => reply(seq, |o| {
            worker_model::audit(o, encryption_config.as_deref()).map(|a| FromWorker::Audit {
                seq,
                audit: Box::new(a),
            })
        }),
        ToWorker::List { seq, query } => reply(seq, |o| {
            worker_model::list(o, &query).map(|page| FromWorker::Keys { seq, page })
        }),
        ToWorker::Key { seq, key_hex } => reply(seq, |o| {
            worker_model::key_detail(o, &key_hex).map(|d| FromWorker::Key {
                seq,
                detail: Box::new(d),
            })
        }),
        ToWorker::Tree { seq, prefix } => reply(seq, |o| {
            worker_model::tree(o, &prefix).map(|nodes| FromWorker::Tree { seq, prefix, nodes })
        }),
    }
}

fn reply(seq: u32, f: impl FnOnce(&Opened) -> Result<FromWorker, String>) {
    let msg = OPEN.with_borrow(|o| match o {
        Some(o) => f(o).unwrap_or_else(|message| FromWorker::RequestFailed { seq, message }),
        None => FromWorker::RequestFailed {
            seq,
            message: "no snapshot is open".into(),
        },
    });
    post(&msg);
}

/// Peel compression/armor; stop to ask for an age secret; else open the snapshot.
fn peel_and_open(src: &'static dyn ReadAt, mut layers: Vec<String>) -> Result<(), String> {
    OPEN.with_borrow_mut(|o| *o = None);
    match worker_model::peel(src, &mut layers)? {
        worker_model::Peeled::NeedSecret(src, prompt) => {
            LOCKED.with_borrow_mut(|l| *l = Some((src, layers)));
            post(&FromWorker::NeedSecret { prompt });
            Ok(())
        }
        Peeled::Ready(src) => {
            let with_age = layers.iter().any(|l| l.starts_with("age ("));
            post(&FromWorker::Layers { layers });
            open(src, with_age)
        }
        Peeled::Compressed(src, codec) => {
            post(&FromWorker::Layers {
                layers: layers
                    .iter()
                    .cloned()
                    .chain([format!("{} (decompressing…)", codec.name())])
                    .collect(),
            });
            wasm_bindgen_futures::spawn_local(async move {
                let result = match SpoolFile::create().await {
                    Ok(mut file) => {
                        match etcd_lens_core::container::decompress(
                            src,
                            codec,
                            &mut file,
                            worker_model::MAX_SPOOL_BYTES,
                        ) {
                            Ok(n) => {
                                layers.push(format!(
                                    "{} (decompressed to the browser's private storage: {n} bytes, deleted when the file is closed)",
                                    codec.name()
                                ));
                                let file: &'static SpoolFile = Box::leak(Box::new(file));
                                SPOOLS.with_borrow_mut(|s| s.push(file));
                                peel_and_open(file, layers)
                            }
                            Err(e) => {
                                file.delete();
                                Err(e.to_string())
                            }
                        }
                    }
                    Err(why) => worker_model::decompress_in_memory(src, codec, &why, &mut layers)
                        .and_then(|plain| peel_and_open(plain, layers)),
                };
                if let Err(message) = result {
                    post(&FromWorker::Failed { message });
                }
            });
            Ok(())
        }
    }
}

/// A source that counts the bytes the engine reads, for progress reports.
struct Meter {
    inner: &'static dyn ReadAt,
    phase: Cell<Phase>,
    read: Cell<u64>,
    started: Cell<f64>,
    last_report: Cell<f64>,
    /// A pass is running: reads between passes (a key's detail, the audit)
    /// report no progress, or the page would show a finished pass as running.
    active: Cell<bool>,
}

impl Meter {
    fn begin(&self, phase: Phase) {
        self.active.set(true);
        self.phase.set(phase);
        self.read.set(0);
        self.started.set(now_ms());
        self.last_report.set(now_ms());
    }

    fn end(&self) -> f64 {
        self.active.set(false);
        now_ms() - self.started.get()
    }
}

impl ReadAt for Meter {
    fn len(&self) -> u64 {
        self.inner.len()
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), SourceError> {
        let read = self.read.get() + buf.len() as u64;
        self.read.set(read);
        let now = now_ms();
        if self.active.get() && now - self.last_report.get() >= PROGRESS_EVERY_MS {
            self.last_report.set(now);
            post(&FromWorker::Progress {
                phase: self.phase.get(),
                done_bytes: read.min(self.inner.len()),
                total_bytes: self.inner.len(),
                elapsed_ms: now - self.started.get(),
            });
        }
        self.inner.read_exact_at(offset, buf)
    }
}

/// Read the header, walk for the status and post the overview; queue the rest.
fn open(src: &'static dyn ReadAt, with_age: bool) -> Result<(), String> {
    let header = inspect::open(src).map_err(|e| e.to_string())?;
    post(&FromWorker::Header {
        header: Box::new(header),
    });
    let meter: &'static Meter = Box::leak(Box::new(Meter {
        inner: src,
        phase: Cell::new(Phase::Status),
        read: Cell::new(0),
        started: Cell::new(now_ms()),
        last_report: Cell::new(now_ms()),
        active: Cell::new(false),
    }));
    METER.set(Some(meter));
    meter.begin(Phase::Status);
    let mut opened = worker_model::open(meter)?;
    // The status walk is bbolt's check too: both are done.
    let walked_ms = meter.end();
    for phase in [Phase::Status, Phase::Check] {
        post(&FromWorker::PhaseDone {
            phase,
            elapsed_ms: walked_ms,
        });
    }
    opened.opened_with_age = with_age;
    post(&FromWorker::Overview {
        overview: Box::new(opened.overview.clone()),
    });
    post(&FromWorker::Checked {
        check: Box::new(opened.check.clone()),
    });
    OPEN.with_borrow_mut(|o| *o = Some(opened));
    JOBS.with_borrow_mut(|jobs| {
        jobs.clear();
        jobs.extend([
            Job::Index,
            Job::Space,
            Job::Hash(Box::new(HashJob {
                src,
                verifier: TrailerVerifier::new(src.len()),
                buf: Vec::new(),
                started: 0.0,
            })),
        ]);
    });
    schedule();
    Ok(())
}

/// Run the next job in a task of its own, after any queued requests.
fn schedule() {
    let run = Closure::once_into_js(run_next_job);
    SCOPE.with(|s| {
        if s.set_timeout_with_callback_and_timeout_and_arguments_0(run.unchecked_ref(), 0)
            .is_err()
        {
            post(&FromWorker::Failed {
                message: "internal error: the worker could not schedule its next step".into(),
            });
        }
    });
}

fn run_next_job() {
    let Some(job) = JOBS.with_borrow_mut(VecDeque::pop_front) else {
        return;
    };
    let meter = METER.get();
    let pass = |phase: Phase, f: &mut dyn FnMut(&mut Opened) -> Result<FromWorker, String>| {
        if let Some(m) = meter {
            m.begin(phase);
        }
        let started = now_ms();
        let result = OPEN.with_borrow_mut(|o| match o {
            Some(o) => f(o),
            None => Err("no snapshot is open".into()),
        });
        if let Some(m) = meter {
            m.end();
        }
        match result {
            Ok(msg) => post(&msg),
            Err(message) => post(&FromWorker::PhaseFailed { phase, message }),
        }
        post(&FromWorker::PhaseDone {
            phase,
            elapsed_ms: now_ms() - started,
        });
    };
    match job {
        Job::Index => pass(Phase::Index, &mut |o| {
            worker_model::index(o).map(|v| FromWorker::Indexed { index: Box::new(v) })
        }),
        Job::Space => pass(Phase::Space, &mut |o| {
            worker_model::space(o).map(|s| FromWorker::Space { space: Box::new(s) })
        }),
        Job::Hash(mut h) => {
            if h.started == 0.0 {
                h.started = now_ms();
            }
            match hash_step(&mut h) {
                Ok(false) => {
                    JOBS.with_borrow_mut(|j| j.push_front(Job::Hash(h)));
                }
                Ok(true) => {
                    post(&FromWorker::PhaseDone {
                        phase: Phase::Hashing,
                        elapsed_ms: now_ms() - h.started,
                    });
                    match h.verifier.finish() {
                        Some(status) => post(&FromWorker::Trailer { status }),
                        None => post(&FromWorker::PhaseFailed {
                            phase: Phase::Hashing,
                            message: "internal error: not every byte was hashed".into(),
                        }),
                    }
                }
                Err(e) => post(&FromWorker::PhaseFailed {
                    phase: Phase::Hashing,
                    message: format!("reading the file failed: {e}"),
                }),
            }
        }
    }
    if JOBS.with_borrow(VecDeque::is_empty) {
        post(&FromWorker::Finished);
    } else {
        schedule();
    }
}

/// Hash a few slices; `Ok(true)` when the whole file is done.
fn hash_step(h: &mut HashJob) -> Result<bool, SourceError> {
    let total = h.src.len();
    if !h.verifier.has_trailer() {
        // Nothing to verify: feed nothing, `finish` says "absent".
        h.verifier = TrailerVerifier::new(0);
        return Ok(true);
    }
    for _ in 0..HASH_SLICES_PER_TASK {
        let at = h.verifier.fed();
        if at >= total {
            return Ok(true);
        }
        let n = usize::try_from((total - at).min(HASH_SLICE_BYTES as u64)).unwrap_or(0);
        h.buf.resize(n, 0);
        h.src.read_exact_at(at, &mut h.buf)?;
        h.verifier.update(&h.buf);
    }
    post(&FromWorker::Progress {
        phase: Phase::Hashing,
        done_bytes: h.verifier.fed(),
        total_bytes: total,
        elapsed_ms: now_ms() - h.started,
    });
    Ok(h.verifier.fed() >= total)
}
