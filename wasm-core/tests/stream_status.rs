//! The streaming status (`status::stream`) against the random-access one
//! (`status::status`, which runs bbolt's check first) on every real and
//! generated file the status tests use, each fed in several chunkings:
//! - `fuzz/corpus/open_walk/etcd-3.4-small-snapshot` (a real `etcdctl snapshot save`,
//!   provenance in `fuzz/README.md`) and its byte-flipped and cut copies;
//! - the auger member `db` (`../shared/fixtures/README.md`), which `status` refuses
//!   for its bogus freelist pointer and the stream, which runs no check, reads;
//! - bbolt-written files (`tools/bbolt-gen`: nested and inline buckets,
//!   overflow pages, freed pages, page sizes 1–16 KiB, a freed 70 000-page value);
//! - a real etcd's snapshot with branch pages, overwrites, deletes, a
//!   compaction and large values, also checked against `etcdctl snapshot status`;
//! - etcd 3.6.16's and 3.7.3's snapshots and member dbs (a storage version:
//!   3.6's numbers), against the random-access status in both conventions
//!   and their own `etcdutl snapshot status -w json`, byte for byte.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use etcd_lens_core::bolt::header::OpenError;
use etcd_lens_core::bolt::{BoltError, Db, Loc, PageId, PageView};
use etcd_lens_core::mvcc::Revision;
use etcd_lens_core::status::stream::{StreamStatus, StreamStatusError, StreamedStatus};
use etcd_lens_core::status::{self, Compat, Status};
use etcd_lens_core::{MemSource, ReadAt};
use etcd_lens_testkit::cluster::Flavor;

/// 1 byte (for files up to 1 MiB), 7 bytes, a page, 32 KiB, the whole file.
fn chunkings(len: usize) -> Vec<usize> {
    let mut c = if len <= 1 << 20 { vec![1] } else { vec![] };
    c.extend([7, 4096, 32 * 1024, len.max(1)]);
    c
}

fn stream(bytes: &[u8], chunk: usize) -> Result<StreamedStatus, StreamStatusError> {
    let mut s = StreamStatus::new();
    for c in bytes.chunks(chunk.max(1)) {
        s.update(c);
    }
    assert_eq!(s.bytes_seen(), bytes.len() as u64);
    s.finish()
}

/// `status::status` in the convention the stream chose must give its numbers.
fn same(name: &str, got: &StreamedStatus, want: &Status) {
    let g = &got.status;
    assert_eq!(g.hash, want.hash, "{name}: hash");
    assert_eq!(g.revision, want.revision, "{name}: revision");
    assert_eq!(g.total_key, want.total_key, "{name}: totalKey");
    assert_eq!(g.total_size, want.total_size, "{name}: totalSize");
    assert_eq!(g.version, want.version, "{name}: version");
}

/// The numbers shown before the walk (`status::first_numbers`, a few page
/// reads) must be the walk's own, in the file's convention.
fn assert_first_numbers(name: &str, db: &Db<impl ReadAt + Sync>) {
    let first = status::first_numbers(db).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(first.follows, Compat::of_file(db).unwrap(), "{name}");
    let walked = status::status(db, first.follows).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_threads_same(name, db);
    assert_eq!(
        first.revision,
        Some(walked.revision),
        "{name}: revision before the walk"
    );
    assert_eq!(first.total_size, walked.total_size, "{name}: totalSize");
    assert_eq!(first.version, walked.version, "{name}: version");
}

/// The status walked by several threads (`status::parallel`) must be the
/// one walk's, numbers and errors alike, in both conventions; `true` when the
/// file was split (the parallel walk, not its fallback, gave the numbers).
fn assert_threads_same(name: &str, db: &Db<impl ReadAt + Sync>) -> bool {
    let mut split = assert_parts_through_bytes_same(name, db, true);
    for compat in [Compat::V35, Compat::V36] {
        let want = status::status(db, compat);
        for n in [2, 3, 4, 8] {
            if let Some(got) = status::parallel::threaded(db, compat, n) {
                assert_eq!(got, want, "{name}: {n} threads, {compat:?}");
                split = true;
            }
            let got = status::parallel::status_threads(db, compat, n);
            assert_eq!(
                got, want,
                "{name}: {n} threads or their fallback, {compat:?}"
            );
        }
    }
    split
}

/// What the page's worker does with other workers: each part walked apart,
/// sent as bytes and read back (`Part::to_bytes`/`from_bytes`), combined by
/// `finish_parts_and_check`; it must give `status_and_check`'s two statuses
/// and its check report (as JSON: every problem, warning and count), or
/// `None` (the page then walks once). `true` when the file was split.
/// The parts walked with their key index (`walk_part_and_index`, as the
/// page's part walkers do), sent as bytes and appended in order, must be the
/// index pass's (`Snapshot::key_index`) or missing; combined with the index's
/// live count (`finish_parts_and_check_counted`) they must give the same.
fn assert_parts_through_bytes_same(name: &str, db: &Db<impl ReadAt>, with_index: bool) -> bool {
    use etcd_lens_core::bolt::check::Freelist;
    use etcd_lens_core::mvcc::IndexBuilder;
    use status::parallel::{
        Part, PartBytesError, finish_parts_and_check, finish_parts_and_check_counted, plan,
        walk_part, walk_part_and_index, walk_rest,
    };
    let want = status::status_and_check(db);
    let json = |r: &etcd_lens_core::bolt::CheckReport| serde_json::to_string(r).unwrap();
    let same = |got: &status::StatusAndCheck, how: &str| {
        assert_eq!(got.v35, want.v35, "{name}: {how}, 3.5");
        assert_eq!(got.v36, want.v36, "{name}: {how}, 3.6");
        assert_eq!(got.follows, want.follows, "{name}: {how}, follows");
        assert_eq!(json(&got.check), json(&want.check), "{name}: {how}, check");
    };
    let read_back = |bytes: &[u8], i: usize, n: usize| match Part::from_bytes(bytes, db.hwm()) {
        Ok(p) => Some(p),
        Err(PartBytesError::Refused) => None,
        Err(e) => panic!("{name}: part {i} of {n} does not read back: {e}"),
    };
    let mut split = false;
    for n in [2, 3, 4, 8] {
        let Some(plan) = plan(db, n) else { continue };
        let mut parts = Vec::new();
        let mut counted_parts = Vec::new();
        let mut index = with_index.then(IndexBuilder::default);
        for i in 0..plan.parts.len() {
            // Each part as another worker walks it: its own freelist and plan.
            let own = Freelist::read(db);
            let own_plan = status::parallel::plan(db, n).expect("the same plan");
            let bytes = walk_part(db, &own, &own_plan, i, true).to_bytes(db.hwm());
            if n == 2 && i == 0 {
                // Cut anywhere: an error, never a panic or a part.
                for len in (0..bytes.len()).step_by(bytes.len() / 97 + 1) {
                    assert!(
                        Part::from_bytes(&bytes[..len], db.hwm()).is_err(),
                        "{name}: cut at {len}"
                    );
                }
            }
            parts.extend(read_back(&bytes, i, n));
            if let Some(ix) = &mut index {
                // In chunks as a walker sends them: a few entries, many, or
                // as long as it grows (the first are 256).
                let chunk_entries = [3, 50, 1000, usize::MAX][(n + i) % 4];
                let mut chunks = Vec::new();
                let (part, indexed) = walk_part_and_index(
                    db,
                    &Freelist::read(db),
                    &own_plan,
                    i,
                    chunk_entries,
                    &mut |c| {
                        assert!(c.entries() <= chunk_entries, "{name}: a chunk too long");
                        chunks.push(c.to_bytes());
                    },
                );
                counted_parts.extend(read_back(&part.to_bytes(db.hwm()), i, n));
                if indexed {
                    for c in &chunks {
                        ix.append_bytes(c)
                            .unwrap_or_else(|e| panic!("{name}: part {i} index: {e}"));
                    }
                } else {
                    index = None;
                }
            }
        }
        let fl = Freelist::read(db);
        let rest = walk_rest(db, &fl, &plan);
        let Some(got) = finish_parts_and_check(db, fl, &plan, rest, parts) else {
            continue;
        };
        split = true;
        same(&got, &format!("{n} parts through bytes"));
        let Some(ix) = index else { continue };
        let fl = Freelist::read(db);
        let rest = walk_rest(db, &fl, &plan);
        let got =
            finish_parts_and_check_counted(db, fl, &plan, rest, counted_parts, ix.live_count())
                .unwrap_or_else(|| panic!("{name}: {n} parts with their index do not combine"));
        same(&got, &format!("{n} parts counted by their index"));
        let snap = etcd_lens_core::snapshot::Snapshot::open(db.source());
        match snap.map(|s| s.key_index()) {
            Ok(Ok(whole)) => {
                assert!(ix.finish() == whole, "{name}: {n} parts' index");
                INDEXED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            Ok(Err(e)) => panic!("{name}: {n} parts indexed what the pass refuses: {e}"),
            Err(e) => panic!("{name}: the parts combine, the snapshot does not open: {e}"),
        }
    }
    split
}

/// Splits whose parts' key indexes were compared with the index pass's.
static INDEXED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// `status::status` must succeed; every chunking must give its numbers.
fn assert_parity(name: &str, bytes: &[u8]) -> Status {
    let src = MemSource(bytes);
    let db = Db::open(&src).unwrap_or_else(|e| panic!("{name}: {e}"));
    let want = status::status(&db, Compat::V35).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_first_numbers(name, &db);
    for chunk in chunkings(bytes.len()) {
        let label = format!("{name}, chunks of {chunk}");
        let got = stream(bytes, chunk).unwrap_or_else(|e| panic!("{label}: {e}"));
        same(&label, &got, &want);
        assert_eq!(got.database_len, db.header().db_len, "{label}");
        assert_eq!(got.has_trailer, db.header().has_trailer, "{label}");
        assert_eq!(&got.meta, db.meta(), "{label}");
    }
    want
}

fn corpus(name: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus/open_walk")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn real_etcd_34_snapshot() {
    let bytes = corpus("etcd-3.4-small-snapshot");
    let want = assert_parity("etcd-3.4-small-snapshot", &bytes);
    // `put a 1; put a 2; put b 3; del b; put --lease c 4` after etcd's initial
    // revision 1: the last put is revision 6.
    assert_eq!(want.revision, 6);
    assert!(stream(&bytes, 4096).unwrap().has_trailer);
}

/// The 3.5 numbers by bbolt's `ForEach`, without the check `status` runs first.
fn unchecked(db: &Db<impl ReadAt>) -> Status {
    let root = db.root();
    let names = db.bucket_names().unwrap();
    let (mut hash, mut total_key, mut revision) = (0u32, 0u64, 0i64);
    for name in names {
        hash = crc32c::crc32c_append(hash, &name);
        let b = db.bucket(&root, &name).unwrap().unwrap();
        db.for_each(&b, None, |e| {
            hash = crc32c::crc32c_append(hash, e.key);
            if let Some(v) = e.value {
                hash = crc32c::crc32c_append(hash, v);
            }
            total_key += 1;
            if name == b"key" {
                revision = Revision::parse(e.key).unwrap().main;
            }
            ControlFlow::Continue(())
        })
        .unwrap();
    }
    Status {
        hash,
        revision,
        total_key,
        total_size: db.hwm().0 * db.page_size(),
        version: String::new(),
    }
}

#[test]
fn auger_db_streams_although_status_refuses_it() {
    let bytes = etcd_lens_testkit::fixture_bytes("auger/boltdb/db");
    let src = MemSource(&bytes);
    let db = Db::open(&src).unwrap();
    assert!(matches!(
        status::status(&db, Compat::V35),
        Err(status::StatusError::Integrity { .. })
    ));
    let want = unchecked(&db);
    assert!(want.total_key >= 4, "{want:?}");
    for chunk in chunkings(bytes.len()) {
        let got = stream(&bytes, chunk).unwrap();
        same(&format!("auger db, chunks of {chunk}"), &got, &want);
        assert!(!got.has_trailer);
    }
}

#[test]
fn auger_corpus_corruptions_are_specific_errors() {
    // Page 2 (the key bucket's leaf) with its element count set to 0xFFFF.
    let e = stream(&corpus("auger-count-overrun"), 4096).unwrap_err();
    assert!(
        matches!(
            e,
            StreamStatusError::Bolt(BoltError::ElementsOverrun {
                page: PageId(2),
                count: 65535,
                ..
            })
        ),
        "{e:?}"
    );
    // The first 12 KiB of a 5-page file.
    let e = stream(&corpus("auger-truncated"), 1000).unwrap_err();
    assert!(
        matches!(
            e,
            StreamStatusError::Open(OpenError::Truncated {
                needed_bytes: 20480,
                have_bytes: 12288,
                ..
            })
        ),
        "{e:?}"
    );
}

/// Every seed with each byte flipped, and cut short: never a panic, and
/// whenever `status` (which checks first) succeeds the stream agrees. The
/// only errors it may add are its own bounds on hostile pages.
#[test]
fn flipped_and_cut_seeds_agree_with_status_or_fail_cleanly() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/open_walk");
    let mut seeds: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    seeds.sort();
    assert!(seeds.len() >= 4, "{seeds:?}");
    let (mut agreed, mut refused) = (0u32, 0u32);
    for path in seeds {
        let seed = std::fs::read(&path).unwrap();
        let mut variants: Vec<(String, Vec<u8>)> = Vec::new();
        for i in 0..seed.len() {
            let mut v = seed.clone();
            v[i] ^= 1 << (i % 8);
            variants.push((format!("{} byte {i} flipped", path.display()), v));
        }
        for cut in (0..seed.len()).step_by(97) {
            variants.push((
                format!("{} cut at {cut}", path.display()),
                seed[..cut].to_vec(),
            ));
        }
        for (name, v) in variants {
            let got = stream(&v, 4096);
            let src = MemSource(&v);
            let Ok(db) = Db::open(&src) else {
                assert!(
                    got.is_err(),
                    "{name}: Db::open refuses it, the stream gave {got:?}"
                );
                continue;
            };
            let Ok(want) = status::status(&db, Compat::V35) else {
                refused += 1;
                continue;
            };
            match got {
                Ok(got) => {
                    same(&name, &got, &want);
                    agreed += 1;
                }
                Err(
                    StreamStatusError::ElementsExceedPage { .. }
                    | StreamStatusError::PageTooLarge { .. }
                    | StreamStatusError::TooManyOverlapping { .. },
                ) => {}
                Err(e) => panic!("{name}: status {want:?}, the stream failed: {e}"),
            }
        }
    }
    // Nearly every flip of the etcd snapshot lands where `status` still
    // succeeds (20 157 when written); `status` refuses every auger variant.
    assert!(
        agreed > 15_000 && refused > 30_000,
        "{agreed} agreed, {refused} refused"
    );
}

// ---- bbolt-written files (the same generator as `bbolt_gen.rs`; test
// crates cannot share a helper module without editing that file).

struct Tool {
    _dir: tempfile::TempDir,
    bin: PathBuf,
}

fn tool() -> Option<&'static Path> {
    static TOOL: OnceLock<Option<Tool>> = OnceLock::new();
    TOOL.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let bin = etcd_lens_testkit::go::build_tool("bbolt-gen", dir.path())?;
        Some(Tool { _dir: dir, bin })
    })
    .as_ref()
    .map(|t| t.bin.as_path())
}

fn generated(args: &[&str]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gen.db");
    let mut full = vec![args[0], path.to_str().unwrap()];
    full.extend_from_slice(&args[1..]);
    let out = Command::new(tool().unwrap()).args(&full).output().unwrap();
    assert!(
        out.status.success(),
        "bbolt-gen {full:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(&path).unwrap()
}

#[test]
fn bbolt_written_files_nested_inline_overflow_and_freed_pages() {
    if tool().is_none() {
        return;
    }
    for ps in ["1024", "4096", "8192", "16384"] {
        let bytes = generated(&["gen", ps]);
        let want = assert_parity(&format!("bbolt-gen page size {ps}"), &bytes);
        assert!(want.total_key > 1000, "{want:?}");
    }
}

#[test]
fn a_freed_70000_page_value_is_buffered_and_ignored() {
    if tool().is_none() {
        return;
    }
    // bbolt-gen bigfree: 1 KiB pages, a 70 MB value written then deleted; its
    // stale header still claims 70 000 overflow pages.
    let bytes = generated(&["bigfree"]);
    let src = MemSource(&bytes);
    let db = Db::open(&src).unwrap();
    let want = status::status(&db, Compat::V35).unwrap();
    for chunk in [64 * 1024, bytes.len()] {
        same(
            &format!("bigfree, chunks of {chunk}"),
            &stream(&bytes, chunk).unwrap(),
            &want,
        );
    }
}

// ---- A real etcd's snapshot.

/// Byte offset of branch element `i`'s child id in a page at `page_offset`.
fn child_field(page_offset: u64, i: u64) -> usize {
    usize::try_from(page_offset + 16 + 16 * i + 8).unwrap()
}

#[test]
fn real_etcd_snapshot_with_branches_overwrites_and_compaction() {
    if !Path::new(etcd_lens_testkit::etcd::DEBIAN_ETCD).exists() {
        etcd_lens_testkit::oracle_missing("Debian's etcd (etcd-server, etcd-client)");
        return;
    }
    let etcd = etcd_lens_testkit::etcd::Etcd::start();
    let word = |i: usize, round: usize| format!("v{round}-{}", "x".repeat(40 + i % 90));
    let pairs: Vec<(String, String)> = (0..3000)
        .map(|i| (format!("/registry/k/{i:05}"), word(i, 0)))
        .collect();
    etcd.put_many(&pairs);
    let big: Vec<u8> = (0..30_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    etcd.put_bytes("big", &big);
    etcd.put_many(
        &pairs[..800]
            .iter()
            .map(|(k, _)| (k.clone(), word(7, 1)))
            .collect::<Vec<_>>(),
    );
    for prefix in ["/registry/k/001", "/registry/k/02", "/registry/k/0299"] {
        etcd.ctl(&["del", prefix, "--prefix"]);
    }
    let lease = etcd.grant_lease(3600);
    etcd.put_with_lease("leased", "with-a-lease", &lease);
    etcd.put_bytes("big", &big[..20_000]);
    // Physically compacted: the old revisions' pages are freed, then reused.
    etcd.compact(etcd.revision());
    etcd.put_many(
        &pairs[2000..2600]
            .iter()
            .map(|(k, _)| (k.clone(), word(3, 2)))
            .collect::<Vec<_>>(),
    );
    etcd.put_bytes("big", &big[..25_000]);
    etcd.delete("/registry/k/02999");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snap.db");
    etcd.snapshot(&path);
    let bytes = std::fs::read(&path).unwrap();
    let want = assert_parity("real etcd snapshot", &bytes);
    // etcdctl itself (3.4) prints the same numbers.
    let theirs = etcd.snapshot_status(&path);
    let got = stream(&bytes, 32 * 1024).unwrap();
    assert!(got.has_trailer);
    assert_eq!(theirs["hash"], u64::from(got.status.hash));
    assert_eq!(theirs["revision"], got.status.revision);
    assert_eq!(theirs["totalKey"], got.status.total_key);
    assert_eq!(theirs["totalSize"], got.status.total_size);
    assert_eq!(want.revision, etcd.revision());

    // The space counts from the index alone (the page's Space pass) equal a
    // walk over every value (the CLI's `stats`):
    // this file has overwrites, deletions and a compaction.
    {
        use etcd_lens_core::k8s::stats;
        let src = MemSource(&bytes);
        let snap = etcd_lens_core::snapshot::Snapshot::open(&src).unwrap();
        let ix = snap.key_index().unwrap();
        let walked = stats::scan(snap.db(), "/registry/", 5).unwrap();
        assert_eq!(stats::of_index(&ix, "/registry/", 5), walked);
        // `big` written again after the compaction; 2502 keys live.
        assert_eq!(walked.total.history_revisions, 1, "{:?}", walked.total);
        assert_eq!(walked.total.objects, ix.live_count());
        assert_eq!(walked.largest.len(), 5);
    }

    // Corruptions of this file: each a specific error, never a panic.
    let src = MemSource(&bytes);
    let db = Db::open(&src).unwrap();
    let key = db.bucket(&db.root(), b"key").unwrap().unwrap();
    let top = key.header.root;
    let page = db.page(top, Loc::new(PageId(0), 0)).unwrap();
    let view = PageView::new(top, db.offset_of(top), &page).unwrap();
    assert!(
        view.is_branch() && view.count() >= 2,
        "3000 revisions need a branch"
    );
    let child = view.branch(0).unwrap().child;
    let hwm_bytes = usize::try_from(db.hwm().0 * db.page_size()).unwrap();
    assert!(
        assert_threads_same("real etcd snapshot", &db),
        "a key bucket with a branch root is split"
    );
    let indexed = INDEXED.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        assert_parts_through_bytes_same("real etcd snapshot", &db, true),
        "its parts are combined after a trip through bytes"
    );
    assert!(
        INDEXED.load(std::sync::atomic::Ordering::Relaxed) > indexed,
        "its parts' key indexes are the index pass's"
    );
    // Flipped bytes anywhere in the database: the threads give the one
    // walk's numbers or its very errors (a page reached twice across parts,
    // keys out of order across parts, a bad key in any part).
    let mut split = 0;
    for at in (0..hwm_bytes).step_by(hwm_bytes / 400) {
        let mut b = bytes.clone();
        b[at] ^= 0x10;
        let src = MemSource(&b);
        let Ok(db) = Db::open(&src) else { continue };
        // The parts' indexes on a tenth of them (an index pass each).
        let with_index = at % (10 * (hwm_bytes / 400)) == 0;
        assert_parts_through_bytes_same(&format!("byte {at} flipped"), &db, with_index);
        for compat in [Compat::V35, Compat::V36] {
            let want = status::status(&db, compat);
            for n in [2, 3] {
                if let Some(got) = status::parallel::threaded(&db, compat, n) {
                    assert_eq!(got, want, "byte {at} flipped, {n} threads, {compat:?}");
                    split += 1;
                }
                let got = status::parallel::status_threads(&db, compat, n);
                assert_eq!(got, want, "byte {at} flipped, {n} threads or fallback");
            }
        }
    }
    assert!(split > 1000, "{split} flipped files were walked in parts");

    // Cut inside the last page, and inside the trailer.
    let e = stream(&bytes[..hwm_bytes - 100], 4096).unwrap_err();
    assert!(
        matches!(e, StreamStatusError::Open(OpenError::Truncated { .. })),
        "{e:?}"
    );
    // Without its trailer (or with part of it) the database is whole: the same numbers.
    for cut in [hwm_bytes, bytes.len() - 1] {
        let got = stream(&bytes[..cut], 4096).unwrap();
        same(&format!("cut at {cut}"), &got, &want);
        assert!(!got.has_trailer);
    }

    // A reachable page zeroed: missing.
    let mut b = bytes.clone();
    let at = usize::try_from(db.offset_of(child)).unwrap();
    let ps = usize::try_from(db.page_size()).unwrap();
    b[at..at + ps].fill(0);
    assert_threads_same("a key page zeroed", &Db::open(&MemSource(&b)).unwrap());
    let e = stream(&b, 4096).unwrap_err();
    assert!(
        matches!(e, StreamStatusError::Bolt(BoltError::IdMismatch { page, found: PageId(0), .. }) if page == child),
        "{e:?}"
    );

    // The key bucket's root branch pointing back at itself: a cycle.
    let mut b = bytes.clone();
    let f = child_field(db.offset_of(top), 1);
    b[f..f + 8].copy_from_slice(&top.0.to_le_bytes());
    assert_threads_same("a cycle", &Db::open(&MemSource(&b)).unwrap());
    let e = stream(&b, 7).unwrap_err();
    assert!(
        matches!(e, StreamStatusError::Bolt(BoltError::MultipleReferences { page, from }) if page == top && from.page == top),
        "{e:?}"
    );
    assert!(e.to_string().contains(&format!("page {top}")), "{e}");
}

// ---- etcd 3.6 and 3.7: a storage version, so 3.6's numbers.

/// The stream against the random-access status in both conventions, in
/// every chunking: the file's own first, the other beside it. Returns them.
fn assert_parity_both(name: &str, bytes: &[u8]) -> (Compat, Status, Status) {
    let src = MemSource(bytes);
    let db = Db::open(&src).unwrap_or_else(|e| panic!("{name}: {e}"));
    let follows = Compat::of_file(&db).unwrap();
    let own = status::status(&db, follows).unwrap_or_else(|e| panic!("{name}: {e}"));
    let other = status::status(&db, follows.other()).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_first_numbers(name, &db);
    for chunk in chunkings(bytes.len()) {
        let label = format!("{name}, chunks of {chunk}");
        let got = stream(bytes, chunk).unwrap_or_else(|e| panic!("{label}: {e}"));
        assert_eq!(got.follows, follows, "{label}");
        same(&label, &got, &own);
        assert_eq!(
            got.other.as_ref(),
            Ok(&other),
            "{label}: the other convention"
        );
    }
    (follows, own, other)
}

fn etcdutl_status(etcdutl: &Path, file: &Path) -> String {
    let out = Command::new(etcdutl)
        .args(["snapshot", "status", file.to_str().unwrap(), "-w", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "etcdutl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// One member of `flavor` (whose storage version is `series.0`): thousands
/// of keys (branch pages), overwrites, deletes and a delete re-put, a lease,
/// a large value, a compaction, then more of each; its snapshot, then its
/// own db once stopped.
fn newer_release(flavor: Flavor, series: &str) {
    let Some(bin) = flavor.installed() else {
        return;
    };
    let etcdutl = bin.etcdutl.clone().expect("3.6+ ships etcdutl");
    let etcd = etcd_lens_testkit::etcd::Etcd::start_with(&bin.etcd, &bin.etcdctl);
    let word = |i: usize, round: usize| format!("v{round}-{}", "x".repeat(40 + i % 90));
    let pairs: Vec<(String, String)> = (0..3000)
        .map(|i| (format!("/registry/k/{i:05}"), word(i, 0)))
        .collect();
    etcd.put_many(&pairs);
    etcd.put_many(
        &pairs[..500]
            .iter()
            .map(|(k, _)| (k.clone(), word(7, 1)))
            .collect::<Vec<_>>(),
    );
    for prefix in ["/registry/k/001", "/registry/k/02"] {
        etcd.ctl(&["del", prefix, "--prefix"]);
    }
    etcd.put("/registry/k/00150", "deleted, then put again");
    let lease = etcd.grant_lease(3600);
    etcd.put_with_lease("leased", "with-a-lease", &lease);
    let big: Vec<u8> = (0..30_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    etcd.put_bytes("big", &big);
    etcd.compact(etcd.revision());
    etcd.put_many(
        &pairs[2500..2800]
            .iter()
            .map(|(k, _)| (k.clone(), word(3, 2)))
            .collect::<Vec<_>>(),
    );
    etcd.put_bytes("big", &big[..20_000]);
    // The last change is a delete (of a key put again after the
    // compaction): `revision` is the tombstone's.
    assert_eq!(etcd.delete("/registry/k/02600"), 1);
    let storage_version = format!("{series}.0");
    // Recorded soon after the cluster version is decided; before that a
    // snapshot has none (and follows 3.5's rules).
    etcd_lens_testkit::wait_for("the storage version", Duration::from_secs(30), || {
        let st = etcd.cluster().endpoint_status();
        (st[0]["Status"]["storageVersion"] == storage_version.as_str()).then_some(())
    });

    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snap.db");
    etcd.snapshot(&snap);
    let bytes = std::fs::read(&snap).unwrap();
    let name = format!("{flavor:?} snapshot");
    let (follows, own, other) = assert_parity_both(&name, &bytes);
    assert_eq!(follows, Compat::V36, "{name}");
    assert_eq!(own.version, storage_version, "{name}");
    assert_eq!(own.revision, etcd.revision(), "{name}");
    let got = stream(&bytes, 32 * 1024).unwrap();
    assert!(got.has_trailer);
    assert_eq!(
        got.status.to_json(Compat::V36),
        etcdutl_status(&etcdutl, &snap),
        "{name}: etcdutl's own output"
    );
    // What 3.5's rules would have recorded: the same hash, revision and
    // size; totalKey counts every entry of every bucket.
    assert_eq!(
        (other.hash, other.revision, other.total_size),
        (own.hash, own.revision, own.total_size)
    );
    assert!(other.total_key > own.total_key, "{other:?} vs {own:?}");
    eprintln!("{name}: 3.6 {own:?}; 3.5 {other:?}");

    // The member's own db, once stopped (etcdutl waits for a running member's lock).
    etcd.cluster().stop_gracefully(0);
    let db = etcd.cluster().member(0).data_dir.join("member/snap/db");
    let bytes = std::fs::read(&db).unwrap();
    let name = format!("{flavor:?} member db");
    let (follows, own, _) = assert_parity_both(&name, &bytes);
    assert_eq!(follows, Compat::V36, "{name}");
    assert_eq!(
        stream(&bytes, 32 * 1024)
            .unwrap()
            .status
            .to_json(Compat::V36),
        etcdutl_status(&etcdutl, &db),
        "{name}: etcdutl's own output"
    );
    assert!(!stream(&bytes, 4096).unwrap().has_trailer);
    assert_eq!(own.version, storage_version);
}

#[test]
fn etcd_3_6_snapshot_and_member_db_get_etcdutl_3_6s_numbers() {
    newer_release(Flavor::Etcd36, "3.6");
}

#[test]
fn etcd_3_7_snapshot_and_member_db_get_etcdutl_3_7s_numbers() {
    newer_release(Flavor::Etcd37, "3.7");
}
