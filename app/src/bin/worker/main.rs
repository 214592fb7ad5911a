//! The Web Worker: runs the core over the user's file, read in slices.
//! It never holds the whole file: `BlobSource` reads `Blob.slice`s on demand,
//! through a small cache of 1 MiB blocks.
//!
//! Opening reads the metas, the small buckets and the `key` bucket's rightmost
//! path and posts the overview at once (what `snapshot status` shows without a
//! walk); the status walk (with bbolt's check), the key index, the space
//! counts and the SHA-256 then run as background jobs, one `setTimeout` task
//! each (the hash in 16 MiB steps), so list, tree and key requests are
//! answered in between, and the overview is posted again with the walk's numbers.
//! A large plain file's status walk is split into parts walked by other
//! workers (`parts`): this same program, started as a part walker
//! (`part_walker`).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use etcd_lens_app::protocol::{
    FromWorker, HASHER_NAME, PART_WALKER_NAME, Phase, SecretPrompt, ToWorker,
};
use etcd_lens_app::web::blob_source::BlobSource;
use etcd_lens_app::web::opfs::{self, SpoolFile};
use etcd_lens_app::worker::{self as worker_model, Opened, Peeled, Src, WorkerError};
use etcd_lens_core::mvcc::IndexBuilder;
use etcd_lens_core::trailer::{TrailerStatus, TrailerVerifier};

mod hasher;
mod meter;
mod part_walker;
mod parts;
mod remote_hash;
mod scope;

use etcd_lens_core::{BlockCache, ReadAt, SourceError, inspect};
use meter::Meter;
use scope::{SCOPE, now_ms, post, wasm_memory_bytes};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{Blob, MessageEvent};

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

/// A background job for the open file.
enum Job {
    /// The walk over every page: status, then bbolt's check.
    Status,
    Index,
    Space,
    Hash(Box<HashJob>),
    /// The secret audit, after the passes (it needs the key index).
    Audit(Box<AuditJob>),
}

impl Job {
    /// One of the passes that opening a file starts (not a requested audit).
    fn is_pass(&self) -> bool {
        !matches!(self, Job::Audit(_))
    }
}

/// The audit asked for with `seq`, partway through.
struct AuditJob {
    seq: u32,
    run: etcd_lens_core::audit::AuditRun,
}

/// Keys audited between two looks at the clock.
const AUDIT_KEYS_PER_STEP: usize = 256;
/// How long an audit task runs before it yields to queued requests: a list
/// or key request waits at most about this long.
const AUDIT_TASK_MS: f64 = 40.0;

struct HashJob {
    src: Src,
    verifier: TrailerVerifier,
    buf: Vec<u8>,
    started: f64,
}

/// One file, from the moment it is given to the moment it is closed. It owns
/// every layer read from the file (the blob reader, its block cache, the age
/// decryptor, decompressed copies in memory or in private storage) and the
/// work still to do; dropping it frees them all and deletes its private files.
/// The worker holds two: the open file, and the one it is compared with.
struct Session {
    state: State,
    /// Decompressed layers in private storage: deleted when the last holder goes.
    spools: Vec<Rc<SpoolFile>>,
    /// The user's file as given, for part walkers (when it is the snapshot itself).
    blob: Option<Blob>,
}

enum State {
    /// An age file waiting for its secret, and the layers peeled so far.
    Locked {
        src: Src,
        layers: Vec<String>,
    },
    /// Decompressing into private storage (an async step); nothing to answer yet.
    Spooling,
    Open(Box<OpenFile>),
    /// The file compared with the open one: opened and indexed.
    Other(Box<worker_model::Other>),
}

/// Which of the worker's two sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// The open file: the overview, browsing, the audit.
    Main,
    /// The file compared with it.
    Compare,
}

impl Slot {
    fn with<R>(self, f: impl FnOnce(&mut Option<Session>) -> R) -> R {
        match self {
            Self::Main => SESSION.with_borrow_mut(f),
            Self::Compare => COMPARE.with_borrow_mut(f),
        }
    }
    fn failed(self, message: String) -> FromWorker {
        match self {
            Self::Main => FromWorker::Failed { message },
            Self::Compare => FromWorker::CompareFailed { message },
        }
    }
    fn need_secret(self, prompt: SecretPrompt) -> FromWorker {
        match self {
            Self::Main => FromWorker::NeedSecret { prompt },
            Self::Compare => FromWorker::CompareNeedSecret { prompt },
        }
    }
    fn unlock_failed(self, message: String) -> FromWorker {
        match self {
            Self::Main => FromWorker::UnlockFailed { message },
            Self::Compare => FromWorker::CompareUnlockFailed { message },
        }
    }
    fn layers(self, layers: Vec<String>) -> FromWorker {
        match self {
            Self::Main => FromWorker::Layers { layers },
            Self::Compare => FromWorker::CompareProgress {
                step: layers
                    .last()
                    .cloned()
                    .unwrap_or_else(|| "reading the file…".into()),
            },
        }
    }
}

struct OpenFile {
    opened: Opened,
    jobs: VecDeque<Job>,
    /// Counts the bytes the engine reads during a pass, for its progress.
    meter: Rc<Meter>,
    /// The user's file when it is the snapshot itself (no layer peeled):
    /// other workers can then read it too.
    blob: Option<Blob>,
    /// The status walk in parts, under way: the jobs wait for it.
    parts: Option<parts::PartsWalk>,
    /// The SHA-256 pass in a worker of its own, under way: the hash job
    /// waits for it (and runs here if it fails).
    hash: Option<remote_hash::RemoteHash>,
    /// The key index's entries from the part walkers, appended, and how many
    /// walkers sent them: the index job finishes it instead of reading the
    /// file again.
    index_parts: Option<(IndexBuilder, u32)>,
}

thread_local! {
    /// The file being worked on.
    static SESSION: RefCell<Option<Session>> = const { RefCell::new(None) };
    /// The file compared with it.
    static COMPARE: RefCell<Option<Session>> = const { RefCell::new(None) };
    /// The name of the file compared with (for the page's title of the diff).
    static COMPARE_NAME: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Close a file: its session goes, with its jobs, its sources and its private files.
fn close(slot: Slot) {
    let closed = slot.with(Option::take);
    drop(closed);
}

/// Start a session in `slot` for the `Blob` beside the request and peel it.
fn start(slot: Slot, parts: &js_sys::Array) {
    close(slot);
    let result = parts
        .get(1)
        .dyn_into::<Blob>()
        .map_err(|_| "internal error: no file sent".to_string())
        .and_then(|blob| BlobSource::new(blob.clone()).map(|src| (blob, src)))
        .and_then(|(blob, src)| {
            slot.with(|s| {
                *s = Some(Session {
                    state: State::Spooling,
                    spools: Vec::new(),
                    blob: Some(blob),
                });
            });
            let src: Src = Rc::new(BlockCache::new(src, BLOCK_BYTES, CACHED_BLOCKS));
            peel_and_open(slot, src, Vec::new(), false)
        });
    if let Err(message) = result {
        post(&slot.failed(message));
    }
}

/// The secret for the age file waiting in `slot`.
fn unlock(slot: Slot, secret: &etcd_lens_app::protocol::UnlockSecret) {
    let locked = slot.with(|s| match s.as_mut().map(|s| &mut s.state) {
        Some(st @ State::Locked { .. }) => match std::mem::replace(st, State::Spooling) {
            State::Locked { src, layers } => Some((src, layers)),
            _ => None,
        },
        _ => None,
    });
    let Some((src, mut layers)) = locked else {
        return post(&slot.failed("no encrypted file is waiting for a secret".into()));
    };
    match worker_model::unlock(&src, secret, &mut layers) {
        Err(e) => {
            let message = e.to_string();
            set_state(slot, State::Locked { src, layers });
            post(&slot.unlock_failed(message));
        }
        Ok(plain) => {
            // An age layer was peeled: the snapshot was encrypted at rest.
            if let Err(message) = peel_and_open(slot, plain, layers, true) {
                post(&slot.failed(message));
            }
        }
    }
}

fn main() {
    console_error_panic_hook::set_once();
    let name = SCOPE.with(|s| s.name());
    if name == PART_WALKER_NAME {
        return part_walker::run();
    }
    if name == HASHER_NAME {
        return hasher::run();
    }
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
            // A new file: the comparison with the old one goes too.
            close(Slot::Compare);
            start(Slot::Main, &parts);
        }
        ToWorker::Unlock { secret } => unlock(Slot::Main, &secret),
        ToWorker::OpenCompare { name } => {
            COMPARE_NAME.with_borrow_mut(|n| *n = name);
            start(Slot::Compare, &parts);
        }
        ToWorker::UnlockCompare { secret } => unlock(Slot::Compare, &secret),
        ToWorker::CloseCompare => close(Slot::Compare),
        ToWorker::CompareKey { seq, key_hex } => reply_compare(seq, |o, other| {
            worker_model::compare_key(o, other, &key_hex).map(|v| FromWorker::CompareKey {
                seq,
                view: Box::new(v),
            })
        }),
        ToWorker::ForApply {
            seq,
            target,
            include_secret_data,
            from_compared,
        } => {
            let done = |f| FromWorker::ForApply {
                seq,
                file: Box::new(f),
            };
            if from_compared {
                reply_compare(seq, |o, other| {
                    let config = o.encryption.borrow();
                    worker_model::for_apply(
                        &other.snap,
                        &other.index,
                        config.as_ref(),
                        &target,
                        include_secret_data,
                    )
                    .map(done)
                });
            } else {
                reply(seq, |o| {
                    let config = o.encryption.borrow();
                    worker_model::for_apply(
                        &o.snap,
                        o.index()?,
                        config.as_ref(),
                        &target,
                        include_secret_data,
                    )
                    .map(done)
                });
            }
        }
        ToWorker::Audit {
            seq,
            encryption_config,
        } => start_audit(seq, encryption_config.as_deref()),
        ToWorker::CancelAudit { seq } => {
            let dropped = SESSION.with_borrow_mut(|s| match s.as_mut().map(|s| &mut s.state) {
                Some(State::Open(o)) => drop_audit(&mut o.jobs),
                _ => false,
            });
            if dropped {
                post(&FromWorker::AuditCancelled { seq });
            }
        }
        ToWorker::Export {
            seq,
            format,
            file_name,
        } => reply(seq, |o| {
            worker_model::export(o, format, &file_name).map(|content| FromWorker::Exported {
                seq,
                format,
                content,
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

/// Queue the audit asked for with `seq` after the passes, in place of any
/// audit still running; start the jobs if none is running.
fn start_audit(seq: u32, encryption_config: Option<&str>) {
    let queued = SESSION.with_borrow_mut(|s| match s.as_mut().map(|s| &mut s.state) {
        Some(State::Open(o)) => {
            worker_model::start_audit(&o.opened, encryption_config).map(|run| {
                drop_audit(&mut o.jobs);
                let idle = o.jobs.is_empty();
                o.jobs
                    .push_back(Job::Audit(Box::new(AuditJob { seq, run })));
                idle
            })
        }
        _ => Err(WorkerError::NotOpen),
    });
    match queued {
        Ok(true) => schedule(),
        Ok(false) => {}
        Err(e) => post(&FromWorker::RequestFailed {
            seq,
            message: e.to_string(),
        }),
    }
}

/// Take a queued audit out of `jobs`; whether there was one.
fn drop_audit(jobs: &mut VecDeque<Job>) -> bool {
    let before = jobs.len();
    jobs.retain(Job::is_pass);
    jobs.len() != before
}

/// Audit slices of keys for about [`AUDIT_TASK_MS`]; the job goes back to the
/// front of the queue unless it is done (or failed).
fn audit_task(mut job: Box<AuditJob>) {
    let started = now_ms();
    let seq = job.seq;
    let result = with_open(|o| {
        loop {
            if let Some(view) = worker_model::audit_step(o, &mut job.run, AUDIT_KEYS_PER_STEP)? {
                break Ok(Some(view));
            }
            if now_ms() - started >= AUDIT_TASK_MS {
                break Ok(None);
            }
        }
    });
    match result {
        Ok(Some(view)) => post(&FromWorker::Audit {
            seq,
            audit: Box::new(view),
        }),
        Ok(None) => {
            let p = job.run.progress();
            post(&FromWorker::AuditProgress {
                seq,
                keys_done: p.keys_done,
                keys_total: p.keys_total,
            });
            SESSION.with_borrow_mut(|s| {
                if let Some(Session {
                    state: State::Open(o),
                    ..
                }) = s
                {
                    o.jobs.push_front(Job::Audit(job));
                }
            });
        }
        Err(e) => post(&FromWorker::RequestFailed {
            seq,
            message: e.to_string(),
        }),
    }
}

fn reply(seq: u32, f: impl FnOnce(&Opened) -> Result<FromWorker, WorkerError>) {
    let msg = SESSION.with_borrow(|s| match s.as_ref().map(|s| &s.state) {
        Some(State::Open(o)) => f(&o.opened),
        _ => Err(WorkerError::NotOpen),
    });
    // The one place a request's error becomes text.
    post(&msg.unwrap_or_else(|e| FromWorker::RequestFailed {
        seq,
        message: e.to_string(),
    }));
}

/// A request about both files: the open one and the one compared with it.
fn reply_compare(
    seq: u32,
    f: impl FnOnce(&Opened, &worker_model::Other) -> Result<FromWorker, WorkerError>,
) {
    let msg = SESSION.with_borrow(|s| match s.as_ref().map(|s| &s.state) {
        Some(State::Open(o)) => COMPARE.with_borrow(|c| match c.as_ref().map(|c| &c.state) {
            Some(State::Other(other)) => f(&o.opened, other),
            _ => Err(WorkerError::NoCompare),
        }),
        _ => Err(WorkerError::NotOpen),
    });
    post(&msg.unwrap_or_else(|e| FromWorker::RequestFailed {
        seq,
        message: e.to_string(),
    }));
}

/// Set the state of a session (none: the file was closed meanwhile).
fn set_state(slot: Slot, state: State) {
    slot.with(|s| {
        if let Some(s) = s {
            s.state = state;
        }
    });
}

/// Open the file to compare with, index it, and compare it with the open file.
fn open_compare(src: Src) -> Result<(), String> {
    post(&Slot::Compare.layers(vec!["indexing its keys and comparing…".into()]));
    let started = now_ms();
    let name = COMPARE_NAME.with_borrow(Clone::clone);
    let other = worker_model::open_other(name, src).map_err(|e| e.to_string())?;
    let view = SESSION.with_borrow(|s| match s.as_ref().map(|s| &s.state) {
        Some(State::Open(o)) => worker_model::compare(&o.opened, &other),
        _ => Err(WorkerError::NotOpen),
    });
    let mut view = view.map_err(|e| e.to_string())?;
    view.milliseconds = now_ms() - started;
    set_state(Slot::Compare, State::Other(Box::new(other)));
    post(&FromWorker::Compared {
        compare: Box::new(view),
    });
    Ok(())
}

/// Peel compression/armor; stop to ask for an age secret; else open the snapshot.
/// `with_age`: an age layer was peeled on the way here.
fn peel_and_open(
    slot: Slot,
    src: Src,
    mut layers: Vec<String>,
    with_age: bool,
) -> Result<(), String> {
    set_state(slot, State::Spooling);
    match worker_model::peel(src, &mut layers).map_err(|e| e.to_string())? {
        worker_model::Peeled::NeedSecret(src, prompt) => {
            set_state(slot, State::Locked { src, layers });
            post(&slot.need_secret(prompt));
            Ok(())
        }
        Peeled::Ready(src) => match slot {
            Slot::Main => {
                let plain = layers.is_empty() && !with_age;
                post(&FromWorker::Layers { layers });
                open(src, with_age, plain)
            }
            Slot::Compare => open_compare(src),
        },
        Peeled::Spool(src, what) => {
            post(
                &slot.layers(
                    layers
                        .iter()
                        .cloned()
                        .chain([format!("{} (decoding…)", what.name())])
                        .collect(),
                ),
            );
            wasm_bindgen_futures::spawn_local(async move {
                let result = match SpoolFile::create().await {
                    Ok(mut file) => {
                        match etcd_lens_core::container::spool(
                            &*src,
                            what,
                            &mut file,
                            worker_model::MAX_SPOOL_BYTES,
                        ) {
                            Ok(n) => {
                                layers.push(format!(
                                    "{} ({} to the browser's private storage: {n} bytes, deleted when the file is closed)",
                                    what.name(),
                                    what.done()
                                ));
                                let file = Rc::new(file);
                                let kept = slot.with(|s| {
                                    s.as_mut().map(|s| s.spools.push(file.clone())).is_some()
                                });
                                if kept {
                                    peel_and_open(slot, file, layers, with_age)
                                } else {
                                    // Closed while decompressing: the file goes now.
                                    Ok(())
                                }
                            }
                            // The file is deleted as it is dropped.
                            Err(e) => Err(e.to_string()),
                        }
                    }
                    Err(why) => worker_model::spool_in_memory(&*src, what, &why, &mut layers)
                        .map_err(|e| e.to_string())
                        .and_then(|plain| peel_and_open(slot, plain, layers, with_age)),
                };
                if let Err(message) = result {
                    post(&slot.failed(message));
                }
            });
            Ok(())
        }
    }
}

/// Read the header, walk for the status and post the overview; queue the rest.
/// `plain`: `src` reads the user's file as given (no layer peeled).
fn open(src: Src, with_age: bool, plain: bool) -> Result<(), String> {
    let header = inspect::open(&*src).map_err(|e| e.to_string())?;
    post(&FromWorker::Header {
        header: Box::new(header),
    });
    let meter = Rc::new(Meter {
        inner: src.clone(),
        phase: Cell::new(Phase::Status),
        read: Cell::new(0),
        started: Cell::new(now_ms()),
        last_report: Cell::new(now_ms()),
        active: Cell::new(false),
        unclocked_bytes: Cell::new(0),
    });
    let metered: Src = meter.clone();
    let mut opened = worker_model::open(metered).map_err(|e| e.to_string())?;
    opened.opened_with_age = with_age;
    // What a few page reads give, at once; the walk's numbers follow.
    post(&FromWorker::Overview {
        overview: Box::new(opened.overview.clone()),
    });
    let jobs = VecDeque::from([
        Job::Status,
        Job::Index,
        Job::Space,
        Job::Hash(Box::new(HashJob {
            verifier: TrailerVerifier::new(src.len()),
            src,
            buf: Vec::new(),
            started: 0.0,
        })),
    ]);
    let blob = if plain {
        Slot::Main.with(|s| s.as_ref().and_then(|s| s.blob.clone()))
    } else {
        None
    };
    let hash = start_remote_hash(blob.as_ref(), meter.len());
    let hash_id = hash.as_ref().map(|h| h.id);
    set_state(
        Slot::Main,
        State::Open(Box::new(OpenFile {
            opened,
            jobs,
            meter,
            blob,
            parts: None,
            hash,
            index_parts: None,
        })),
    );
    if let Some(id) = hash_id {
        arm_hash_watchdog(id);
    }
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

/// The open file's next job and its meter; `None` when there is none, or
/// the status walk in parts is still under way (the jobs wait for it).
fn next_job() -> Option<(Job, Rc<Meter>)> {
    SESSION.with_borrow_mut(|s| match s.as_mut().map(|s| &mut s.state) {
        Some(State::Open(o))
            if o.parts.is_none()
                && !(o.hash.is_some() && matches!(o.jobs.front(), Some(Job::Hash(_)))) =>
        {
            o.jobs.pop_front().map(|j| (j, o.meter.clone()))
        }
        _ => None,
    })
}

/// The part walkers' key-index entries of the open file, once.
fn take_index_parts() -> Option<(IndexBuilder, u32)> {
    SESSION.with_borrow_mut(|s| match s.as_mut().map(|s| &mut s.state) {
        Some(State::Open(o)) => o.index_parts.take(),
        _ => None,
    })
}

/// Run `f` over the open file, if one is still open.
fn with_open<T>(f: impl FnOnce(&mut Opened) -> Result<T, WorkerError>) -> Result<T, WorkerError> {
    SESSION.with_borrow_mut(|s| match s.as_mut().map(|s| &mut s.state) {
        Some(State::Open(o)) => f(&mut o.opened),
        _ => Err(WorkerError::NotOpen),
    })
}

fn run_next_job() {
    let Some((job, meter)) = next_job() else {
        return;
    };
    let was_pass = job.is_pass();
    // A pass: its message, and how many workers read the file for it.
    type PassFn<'a> = &'a mut dyn FnMut(&mut Opened) -> Result<(FromWorker, u32), WorkerError>;
    let pass = |phase: Phase, f: PassFn<'_>| {
        meter.begin(phase);
        let started = now_ms();
        let result = with_open(|o| f(o));
        meter.end();
        let readers = match result {
            Ok((msg, readers)) => {
                post(&msg);
                readers
            }
            Err(e) => {
                post(&FromWorker::PhaseFailed {
                    phase,
                    message: e.to_string(),
                });
                1
            }
        };
        post(&FromWorker::PhaseDone {
            phase,
            elapsed_ms: now_ms() - started,
            readers,
        });
    };
    match job {
        Job::Status => {
            // One walk is both passes: the status and bbolt's check.
            meter.begin(Phase::Status);
            if start_parts() {
                // The walkers' last message finishes the pass.
                meter.end();
            } else {
                let started = now_ms();
                let walked = with_open(|o| {
                    worker_model::walk(o);
                    Ok(())
                });
                meter.end();
                if walked.is_ok() {
                    post_walked(now_ms() - started, 1);
                    hash_beside();
                }
            }
        }
        Job::Index => {
            let mut from_parts = take_index_parts();
            pass(Phase::Index, &mut |o| {
                // The part walkers' entries, appended with the status; the
                // file is read again only when the status was walked here.
                let (view, readers) = match from_parts.take() {
                    Some((b, parts)) => (worker_model::index_with(o, b.finish()), parts),
                    None => (worker_model::index(o), 1),
                };
                view.map(|v| (FromWorker::Indexed { index: Box::new(v) }, readers))
            })
        }
        Job::Space => pass(Phase::Space, &mut |o| {
            worker_model::space(o).map(|s| (FromWorker::Space { space: Box::new(s) }, 1))
        }),
        Job::Audit(a) => audit_task(a),
        Job::Hash(mut h) => {
            if h.started == 0.0 {
                h.started = now_ms();
            }
            match hash_step(&mut h) {
                Ok(false) => {
                    SESSION.with_borrow_mut(|s| {
                        if let Some(Session {
                            state: State::Open(o),
                            ..
                        }) = s
                        {
                            o.jobs.push_front(Job::Hash(h));
                        }
                    });
                }
                Ok(true) => {
                    post(&FromWorker::PhaseDone {
                        phase: Phase::Hashing,
                        elapsed_ms: now_ms() - h.started,
                        readers: 1,
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
    // (jobs left, passes left); `None`: closed meanwhile, the page was told already.
    let left = SESSION.with_borrow(|s| match s.as_ref().map(|s| &s.state) {
        Some(State::Open(o)) => Some((!o.jobs.is_empty(), o.jobs.iter().any(Job::is_pass))),
        _ => None,
    });
    let Some((more, passes_left)) = left else {
        return;
    };
    // The passes are done when the last of them is; an audit may follow.
    if was_pass && !passes_left {
        post(&FromWorker::Finished);
        post(&FromWorker::Memory {
            bytes: wasm_memory_bytes(),
        });
    }
    if more {
        schedule();
    }
}

/// Post the status walk's results (done here or in parts): both passes
/// done, the overview with its final numbers, the check.
fn post_walked(walked_ms: f64, readers: u32) {
    let Ok((overview, check)) = with_open(|o| Ok((o.overview.clone(), o.check.clone()))) else {
        return;
    };
    for phase in [Phase::Status, Phase::Check] {
        post(&FromWorker::PhaseDone {
            phase,
            elapsed_ms: walked_ms,
            readers,
        });
    }
    post(&FromWorker::Overview {
        overview: Box::new(overview),
    });
    if let Some(check) = check {
        post(&FromWorker::Checked {
            check: Box::new(check),
        });
    }
}

thread_local! {
    /// The last walk in parts started: a late event of an earlier one (a file
    /// closed since) is ignored.
    static PARTS_WALK_ID: Cell<u32> = const { Cell::new(0) };
}

/// How often the walkers' silence is looked at.
const WATCHDOG_MS: i32 = 5_000;

/// Start the status walk in parts when the open file is plain and large
/// enough to split; `false` when it is to be walked here at once instead.
fn start_parts() -> bool {
    let id = PARTS_WALK_ID.with(|c| {
        c.set(c.get().wrapping_add(1));
        c.get()
    });
    let started = SESSION.with_borrow_mut(|s| {
        let Some(State::Open(o)) = s.as_mut().map(|s| &mut s.state) else {
            return Ok(false);
        };
        let Some(blob) = o.blob.clone() else {
            return Ok(false);
        };
        if o.meter.len() < parts::MIN_FILE_BYTES {
            return Ok(false);
        }
        let n = parts::walkers_wanted();
        match parts::PartsWalk::start(id, o.opened.snap.db(), blob, n, part_event) {
            Ok(Some(p)) => {
                o.parts = Some(p);
                Ok(true)
            }
            Ok(None) => Ok(false),
            Err(e) => Err(e),
        }
    });
    match started {
        Ok(true) => {
            arm_watchdog(id);
            true
        }
        Ok(false) => false,
        Err(why) => {
            leptos::logging::warn!("etcd-lens worker: no part walkers ({why}); walking once");
            false
        }
    }
}

/// An event of walker `i` of walk `id`.
fn part_event(id: u32, i: usize, ev: parts::Event) {
    let step = SESSION.with_borrow_mut(|s| match s.as_mut().map(|s| &mut s.state) {
        Some(State::Open(o)) => {
            let db = o.opened.snap.db();
            match o.parts.as_mut() {
                Some(p) if p.id == id => Some((p.on_event(i, ev, db), p.started_ms, o.meter.len())),
                _ => None,
            }
        }
        _ => None,
    });
    match step {
        None | Some((parts::Step::Wait, ..)) => {}
        Some((parts::Step::Progress(read), started, total)) => post(&FromWorker::Progress {
            phase: Phase::Status,
            done_bytes: read.min(total),
            total_bytes: total,
            elapsed_ms: now_ms() - started,
        }),
        Some((parts::Step::Finish, ..)) => end_parts(None),
        Some((parts::Step::Fallback(why), ..)) => end_parts(Some(why)),
    }
}

/// Look at a helper worker every [`WATCHDOG_MS`] while `stalled(open file,
/// id)` says `Some(false)`; on `Some(true)` (silent for longer than
/// `silence_ms`) hand `give_up` the reason; `None`: it is over, stop looking.
fn watch(
    id: u32,
    what: &'static str,
    silence_ms: f64,
    stalled: fn(&OpenFile, u32) -> Option<bool>,
    give_up: fn(String),
) {
    let armed = now_ms();
    let check = Closure::once_into_js(move || {
        // Late: this worker was busy with a long pass, and the helper's
        // messages may be waiting behind this timer. Judge next time.
        let late = now_ms() - armed > 2.0 * f64::from(WATCHDOG_MS);
        let verdict = SESSION.with_borrow(|s| match s.as_ref().map(|s| &s.state) {
            Some(State::Open(o)) => stalled(o, id),
            _ => None,
        });
        match verdict {
            Some(true) if !late => {
                give_up(format!("{what} was silent for {} s", silence_ms / 1000.0))
            }
            Some(_) => watch(id, what, silence_ms, stalled, give_up),
            None => {}
        }
    });
    SCOPE.with(|s| {
        // Without the watchdog a silent helper stalls the passes: give up now.
        if s.set_timeout_with_callback_and_timeout_and_arguments_0(
            check.unchecked_ref(),
            WATCHDOG_MS,
        )
        .is_err()
        {
            give_up("no watchdog timer".into());
        }
    });
}

/// Watch walk `id`'s part walkers.
fn arm_watchdog(id: u32) {
    watch(
        id,
        "a part walker",
        parts::SILENCE_MS,
        |o, id| o.parts.as_ref().filter(|p| p.id == id).map(|p| p.stalled()),
        |why| end_parts(Some(why)),
    );
}

/// End the walk in parts: combine the parts, or (`why`, or the core refuses
/// the combination) walk the file once here. Then post the results and go
/// on with the jobs.
fn end_parts(why: Option<String>) {
    let done = SESSION.with_borrow_mut(|s| match s.as_mut().map(|s| &mut s.state) {
        Some(State::Open(o)) => {
            let p = o.parts.take()?;
            let started = p.started_ms;
            let readers = u32::try_from(p.walkers()).unwrap_or(u32::MAX);
            let walked = match &why {
                None => p.finish(o.opened.snap.db()),
                Some(_) => {
                    // Its walkers stop now, not after the walk below.
                    drop(p);
                    None
                }
            };
            match walked {
                Some((w, index)) => {
                    worker_model::apply_walk(&mut o.opened, w);
                    o.index_parts = Some((index, readers));
                    Some((started, readers))
                }
                None => {
                    let why = why.unwrap_or_else(|| "the parts do not combine".into());
                    leptos::logging::warn!("etcd-lens worker: the status is walked once: {why}");
                    o.meter.begin(Phase::Status);
                    worker_model::walk(&mut o.opened);
                    o.meter.end();
                    Some((started, 1))
                }
            }
        }
        _ => None,
    });
    if let Some((started, readers)) = done {
        leptos::logging::log!(
            "etcd-lens worker: status walked in {:.0} ms by {readers} worker(s)",
            now_ms() - started
        );
        post_walked(now_ms() - started, readers);
        hash_beside();
        schedule();
    }
}

thread_local! {
    /// The last hasher started: a late event of an earlier one is ignored.
    static HASH_ID: Cell<u32> = const { Cell::new(0) };
}

/// A hasher for the open file when it is plain and large enough, started
/// now (it loads meanwhile) to hash once the status is walked
/// ([`hash_beside`]); `None` when none starts (said in the console), and
/// the hash job runs here.
fn start_remote_hash(blob: Option<&Blob>, len: u64) -> Option<remote_hash::RemoteHash> {
    let blob = blob.filter(|_| len >= parts::MIN_FILE_BYTES)?.clone();
    let id = HASH_ID.with(|c| {
        c.set(c.get().wrapping_add(1));
        c.get()
    });
    remote_hash::RemoteHash::start(id, blob, hash_event)
        .map_err(|why| {
            leptos::logging::warn!("etcd-lens worker: no hasher ({why}); hashing here");
        })
        .ok()
}

/// The status is walked: the hasher begins, beside the index and space
/// passes. Not sooner: beside the walk, on two cores, it slowed the final
/// status by a quarter (bench/README.md).
fn hash_beside() {
    let step = SESSION.with_borrow_mut(|s| match s.as_mut().map(|s| &mut s.state) {
        Some(State::Open(o)) => o.hash.as_mut().map(remote_hash::RemoteHash::begin),
        _ => None,
    });
    if let Some(remote_hash::Step::Fallback(why)) = step {
        end_remote_hash(Err(why));
    }
}

/// An event of hasher `id`.
fn hash_event(id: u32, ev: parts::Event) {
    let step = SESSION.with_borrow_mut(|s| match s.as_mut().map(|s| &mut s.state) {
        Some(State::Open(o)) => match o.hash.as_mut() {
            Some(h) if h.id == id => Some((h.on_event(ev), h.started_ms, o.meter.len())),
            _ => None,
        },
        _ => None,
    });
    match step {
        None | Some((remote_hash::Step::Wait, ..)) => {}
        Some((remote_hash::Step::Progress(done), started, total)) => post(&FromWorker::Progress {
            phase: Phase::Hashing,
            done_bytes: done.min(total),
            total_bytes: total,
            elapsed_ms: now_ms() - started,
        }),
        Some((remote_hash::Step::Done(status), started, _)) => {
            end_remote_hash(Ok((status, now_ms() - started)));
        }
        Some((remote_hash::Step::Fallback(why), ..)) => end_remote_hash(Err(why)),
    }
}

/// Watch hasher `id`.
fn arm_hash_watchdog(id: u32) {
    watch(
        id,
        "the hasher",
        remote_hash::SILENCE_MS,
        |o, id| o.hash.as_ref().filter(|h| h.id == id).map(|h| h.stalled()),
        |why| end_remote_hash(Err(why)),
    );
}

/// The hasher is done (its verdict and time), or failed (why: the hash job
/// then runs here). Stops it, and goes on with the jobs if they waited.
fn end_remote_hash(result: Result<(TrailerStatus, f64), String>) {
    let left = SESSION.with_borrow_mut(|s| match s.as_mut().map(|s| &mut s.state) {
        Some(State::Open(o)) => {
            drop(o.hash.take()?);
            let at = o.jobs.iter().position(|j| matches!(j, Job::Hash(_)));
            if result.is_ok()
                && let Some(i) = at
            {
                o.jobs.remove(i);
            }
            // The jobs stopped at the hash job: they go on from here.
            let waited = at == Some(0) && o.parts.is_none();
            Some((waited, !o.jobs.is_empty(), o.jobs.iter().any(Job::is_pass)))
        }
        _ => None,
    });
    let Some((waited, more, passes_left)) = left else {
        return;
    };
    match result {
        Ok((status, elapsed_ms)) => {
            post(&FromWorker::PhaseDone {
                phase: Phase::Hashing,
                elapsed_ms,
                readers: 1,
            });
            post(&FromWorker::Trailer { status });
            if waited && !passes_left {
                post(&FromWorker::Finished);
                post(&FromWorker::Memory {
                    bytes: wasm_memory_bytes(),
                });
            }
        }
        Err(why) => leptos::logging::warn!("etcd-lens worker: {why}; hashing here"),
    }
    if waited && more {
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
