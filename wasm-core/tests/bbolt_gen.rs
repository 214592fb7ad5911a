//! bbolt files written by the real bbolt library (Debian's 1.3.6, through
//! `tools/bbolt-gen`): synced array freelists (also past the u16 count),
//! page sizes 1–16 KiB, nested and inline buckets, overflow pages. bbolt's own
//! `ForEach` and `tx.Check()` are the oracles.

use std::collections::BTreeSet;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use etcd_lens_core::MemSource;
use etcd_lens_core::bolt::{self, Db, FreelistState, PageId, PageView, ProblemKind, Walker};

struct Tool {
    _dir: tempfile::TempDir,
    bin: PathBuf,
}

/// Build the Go tool once per test binary; `None` (with a notice) without Go.
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

fn go(args: &[&str]) -> String {
    let out = Command::new(tool().unwrap()).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "bbolt-gen {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Our walk printed like `bbolt-gen dump`.
fn our_dump(db: &Db<impl etcd_lens_core::ReadAt>) -> String {
    let mut s = String::new();
    let mut w = Walker::new(db).checking(None);
    let _flow = w
        .walk_root(&mut |e| {
            let path: Vec<String> = e.path.iter().map(hex::encode).collect();
            let v = e.value.map_or_else(|| "BUCKET".to_string(), hex::encode);
            s.push_str(&format!(
                "{}\t{}\t{}\n",
                path.join("/"),
                hex::encode(e.key),
                v
            ));
            ControlFlow::Continue(())
        })
        .unwrap();
    assert!(w.problems.is_empty(), "{:?}", w.problems);
    s
}

fn generate(page_size: u32) -> (tempfile::TempDir, Vec<u8>, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gen.db");
    go(&["gen", path.to_str().unwrap(), &page_size.to_string()]);
    let bytes = std::fs::read(&path).unwrap();
    (dir, bytes, path)
}

#[test]
fn every_page_size_walks_like_bbolt_and_checks_clean() {
    if tool().is_none() {
        return;
    }
    for ps in [1024u32, 4096, 8192, 16384] {
        let (_d, bytes, path) = generate(ps);
        let src = MemSource(&bytes);
        let db = Db::open(&src).unwrap();
        assert_eq!(db.page_size(), u64::from(ps));
        assert!(
            db.meta().freelist_persisted(),
            "bbolt-gen syncs the freelist"
        );
        assert_eq!(
            our_dump(&db),
            go(&["dump", path.to_str().unwrap()]),
            "page size {ps}"
        );
        let r = bolt::check(&db);
        assert!(r.is_ok(), "{ps}: {:?}", r.problems);
        assert!(r.warnings.is_empty(), "{ps}: {:?}", r.warnings);
        assert!(
            matches!(r.freelist, FreelistState::Synced { ids, .. } if ids > 0),
            "{:?}",
            r.freelist
        );
        assert!(r.stats.overflow_pages > 0 && r.stats.branch_pages > 0);
        assert!(
            r.stats
                .buckets
                .iter()
                .any(|b| b.inline && b.name == "top/nested/inline")
        );
        assert_eq!(go(&["check", path.to_str().unwrap()]), "");
        // Point reads through nested and inline buckets.
        let top = db.bucket(&db.root(), b"top").unwrap().unwrap();
        let nested = db.bucket(&top, b"nested").unwrap().unwrap();
        let inline = db.bucket(&nested, b"inline").unwrap().unwrap();
        assert!(inline.is_inline());
        assert_eq!(
            db.get(&inline, b"tiny").unwrap().as_deref(),
            Some(&b"round 2"[..])
        );
        let big = db.bucket(&db.root(), b"big").unwrap().unwrap();
        assert_eq!(
            db.get(&big, b"blob-2").unwrap().unwrap().len(),
            ps as usize * 4 + 2
        );
        assert_eq!(db.get(&top, b"key-00001").unwrap().unwrap().len(), 42);
        assert_eq!(
            db.get(&top, b"key-00002").unwrap(),
            None,
            "deleted in round 2"
        );
    }
}

#[test]
fn freelist_count_escape_is_read() {
    if tool().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bigfree.db");
    go(&["bigfree", path.to_str().unwrap()]);
    let bytes = std::fs::read(&path).unwrap();
    let src = MemSource(&bytes);
    let db = Db::open(&src).unwrap();
    let fl = bolt::freelist::read(&db, db.meta().freelist).unwrap();
    assert!(fl.ids.len() > 65535, "{}", fl.ids.len());
    let h = db
        .page_header(fl.page, bolt::Loc::new(PageId(0), 0))
        .unwrap();
    assert_eq!(h.count, bolt::freelist::COUNT_ESCAPE);
    let r = bolt::check(&db);
    assert!(r.is_ok(), "{:?}", r.problems);
    assert_eq!(r.stats.free_pages, fl.ids.len() as u64);
    assert_eq!(go(&["check", path.to_str().unwrap()]), "");
}

/// (page, kind) pairs from bbolt's check output. Most lines start `page N:`;
/// the key-order checks (bbolt 1.4 runs them; 1.3.6 did not) name it `page(N)`.
fn go_problems(path: &Path) -> BTreeSet<(u64, String)> {
    go(&["check", path.to_str().unwrap()])
        .lines()
        .map(|l| {
            if let Some(rest) = l.strip_prefix("page ") {
                let (id, msg) = rest.split_once(": ").unwrap();
                // bbolt 1.4 appends " (stack: [..])" to some kinds.
                let kind = msg.split([':', '(']).next().unwrap().trim_end().to_string();
                return (id.parse().unwrap(), kind);
            }
            let id = l
                .split_once(" page(")
                .and_then(|(_, rest)| rest.split_once(')'))
                .and_then(|(id, _)| id.parse().ok())
                .unwrap_or_else(|| panic!("bbolt check line without a page: {l}"));
            (id, "key order".to_string())
        })
        .collect()
}

fn our_problems(bytes: &[u8]) -> BTreeSet<(u64, String)> {
    let src = MemSource(bytes);
    let db = Db::open(&src).unwrap();
    bolt::check(&db)
        .problems
        .iter()
        .map(|p| {
            let kind = match p.kind {
                ProblemKind::AlreadyFreed => "already freed",
                ProblemKind::UnreachableUnfreed => "unreachable unfreed",
                ProblemKind::ReachableFreed => "reachable freed",
                ProblemKind::MultipleReferences => "multiple references",
                ProblemKind::OutOfBounds => "out of bounds",
                ProblemKind::InvalidType => "invalid type",
                ProblemKind::KeyOrder => "key order",
                _ => "other",
            };
            (p.page.unwrap().0, kind.to_string())
        })
        .collect()
}

#[test]
fn corrupted_copies_agree_with_bbolt_check() {
    if tool().is_none() {
        return;
    }
    let (dir, bytes, _) = generate(4096);
    let src = MemSource(&bytes);
    let db = Db::open(&src).unwrap();
    let fl = bolt::freelist::read(&db, db.meta().freelist).unwrap();
    assert!(fl.ids.len() >= 2);
    let fl_ids_at = usize::try_from(db.offset_of(fl.page)).unwrap() + 16;
    let top = db.bucket(&db.root(), b"top").unwrap().unwrap();
    let top_root = top.header.root;
    let top_page = db.page(top_root, bolt::Loc::new(PageId(0), 0)).unwrap();
    let view = PageView::new(top_root, db.offset_of(top_root), &top_page).unwrap();
    assert!(view.is_branch());
    let (child0, child1) = (view.branch(0).unwrap(), view.branch(1).unwrap());

    let write = |name: &str, edit: &dyn Fn(&mut Vec<u8>)| -> (PathBuf, Vec<u8>) {
        let mut b = bytes.clone();
        edit(&mut b);
        let p = dir.path().join(name);
        std::fs::write(&p, &b).unwrap();
        (p, b)
    };
    let set_u64 =
        |b: &mut Vec<u8>, at: usize, v: u64| b[at..at + 8].copy_from_slice(&v.to_le_bytes());

    // A page on the freelist twice (and the one it replaced now leaked).
    let first = fl.ids[0].0;
    let (p, b) = write("double-free.db", &|b| set_u64(b, fl_ids_at + 8, first));
    let ours = our_problems(&b);
    assert!(ours.contains(&(first, "already freed".into())), "{ours:?}");
    assert_eq!(ours, go_problems(&p));

    // A reachable page put on the freelist.
    let reachable = child0.child.0;
    let (p, b) = write("reachable-freed.db", &|b| set_u64(b, fl_ids_at, reachable));
    let ours = our_problems(&b);
    assert!(
        ours.contains(&(reachable, "reachable freed".into())),
        "{ours:?}"
    );
    assert_eq!(ours, go_problems(&p));

    // Two branch elements pointing at the same child: bbolt walks it twice and
    // reports each of its pages; we stop at the first repeat. Both report the
    // child and the orphaned subtree alike (bbolt 1.4 also reports the key
    // order the repeated child breaks).
    let pgid_at = usize::try_from(child1.offset).unwrap() + 8;
    let (p, b) = write("shared-child.db", &|b| set_u64(b, pgid_at, child0.child.0));
    let ours = our_problems(&b);
    let theirs = go_problems(&p);
    assert!(
        ours.contains(&(child0.child.0, "multiple references".into())),
        "{ours:?}"
    );
    assert!(ours.is_subset(&theirs), "ours {ours:?} theirs {theirs:?}");
    let leaked = |s: &BTreeSet<(u64, String)>| -> BTreeSet<u64> {
        s.iter()
            .filter(|(_, k)| k == "unreachable unfreed")
            .map(|(p, _)| *p)
            .collect()
    };
    assert_eq!(leaked(&ours), leaked(&theirs));
    assert!(leaked(&ours).contains(&child1.child.0));
}
