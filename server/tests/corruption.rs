//! Bytes of a real etcd snapshot edited into every kind of damage issue 3
//! names. Each yields a specific typed error naming the page and offset (or,
//! for `check`, a problem naming the page); none panics or hangs, and the CLI
//! exits non-zero with one line.

use std::path::Path;
use std::process::Command;

use etcd_lens_core::MemSource;
use etcd_lens_core::bolt::meta::{META_LEN, Meta, MetaSlot};
use etcd_lens_core::bolt::page::PAGE_HEADER_LEN;
use etcd_lens_core::bolt::{self, BoltError, Db, Loc, PageId, ProblemKind};
use etcd_lens_core::inspect::OpenError;
use etcd_lens_core::snapshot::{Snapshot, SnapshotError};
use etcd_lens_testkit::etcd::Etcd;

/// A snapshot whose `key` bucket has a branch root and many leaves.
fn real_snapshot() -> Vec<u8> {
    let etcd = Etcd::start();
    let value = "v".repeat(400);
    for i in 0..200 {
        etcd.put(&format!("/registry/things/{i:04}"), &value);
    }
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("s.db");
    etcd.snapshot(&p);
    std::fs::read(p).unwrap()
}

struct Layout {
    page_size: usize,
    branch: PageId,
    elem0_offset: usize,
    leaf: PageId,
}

/// Where the `key` bucket's branch root and its first leaf are, read from the
/// bytes by bbolt's layout (docs/format.md), not by the parser under test:
/// page header 16 bytes; meta at 16 (magic, version, page size u32 at +8,
/// root bucket's page u64 at +16, txid u64 at +48); a leaf element is
/// (flags, pos, ksize, vsize) u32s from its own offset; a bucket value starts
/// with its root page u64; a branch element is (pos, ksize u32, pgid u64).
fn layout(bytes: &[u8]) -> Layout {
    let u16_at = |o: usize| usize::from(u16::from_le_bytes(bytes[o..o + 2].try_into().unwrap()));
    let u32_at = |o: usize| u32::from_le_bytes(bytes[o..o + 4].try_into().unwrap()) as usize;
    let u64_at = |o: usize| u64::from_le_bytes(bytes[o..o + 8].try_into().unwrap());
    let page_size = u32_at(16 + 8);
    // The meta in force: the one with the larger txid.
    let meta = [16, page_size + 16]
        .into_iter()
        .max_by_key(|&m| u64_at(m + 48))
        .unwrap();
    let root = usize::try_from(u64_at(meta + 16)).unwrap() * page_size;
    assert_eq!(
        u16_at(root + 8) & 0x02,
        0x02,
        "the root bucket's page is a leaf"
    );
    let key_root = (0..u16_at(root + 10))
        .find_map(|i| {
            let e = root + 16 + i * 16;
            let (pos, ksize) = (u32_at(e + 4), u32_at(e + 8));
            let k = e + pos;
            (&bytes[k..k + ksize] == b"key").then(|| u64_at(k + ksize))
        })
        .expect("a key bucket");
    let branch_at = usize::try_from(key_root).unwrap() * page_size;
    assert_eq!(
        u16_at(branch_at + 8) & 0x01,
        0x01,
        "200 keys of 400 bytes need a branch page"
    );
    let elem0_offset = branch_at + 16;
    Layout {
        page_size,
        branch: PageId(key_root),
        elem0_offset,
        leaf: PageId(u64_at(elem0_offset + 8)),
    }
}

fn page_at(l: &Layout, id: PageId) -> usize {
    usize::try_from(id.0).unwrap() * l.page_size
}

/// What reading every key gives on these bytes.
fn read_keys(bytes: &[u8]) -> Result<u64, SnapshotError> {
    let src = MemSource(bytes);
    let snap = Snapshot::open(&src)?;
    Ok(snap.key_index()?.live_count())
}

/// The CLI on these bytes: every command fails with one line and no panic.
fn cli_fails_cleanly(bytes: &[u8], dir: &Path, name: &str) {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    for cmd in [&["status", "--json"][..], &["ls"], &["check"]] {
        let out = Command::new(env!("CARGO_BIN_EXE_etcd-lens"))
            .arg(cmd[0])
            .arg(&p)
            .args(&cmd[1..])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name}: {cmd:?} succeeded");
        assert_ne!(
            out.status.code(),
            Some(101),
            "{name}: {cmd:?} panicked: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{name}: {cmd:?}: {err}");
    }
}

#[test]
fn damaged_snapshots_give_typed_errors_naming_pages() {
    let good = real_snapshot();
    let l = layout(&good);
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(read_keys(&good).unwrap(), 200);

    // Zero-length and truncated files.
    assert_eq!(
        Db::open(&MemSource(&[][..])).unwrap_err(),
        BoltError::Open(OpenError::Empty)
    );
    let half = &good[..good.len() / 2];
    assert!(matches!(
        Db::open(&MemSource(half)),
        Err(BoltError::Open(OpenError::Truncated { .. }))
    ));
    cli_fails_cleanly(half, dir.path(), "truncated.db");
    cli_fails_cleanly(&[], dir.path(), "empty.db");

    // A bad checksum on one meta: the other is used, and check warns.
    let mut one = good.clone();
    one[PAGE_HEADER_LEN + 20] ^= 0xff;
    assert_eq!(read_keys(&one).unwrap(), 200);
    let src = MemSource(&one);
    let r = bolt::check(&Db::open(&src).unwrap());
    assert!(
        r.warnings
            .iter()
            .any(|w| w.kind == ProblemKind::Meta && w.message.contains("meta page 0")),
        "{r:?}"
    );
    // …on both: not a bbolt file.
    let mut both = one.clone();
    both[l.page_size + PAGE_HEADER_LEN + 20] ^= 0xff;
    assert!(matches!(
        Db::open(&MemSource(&both)),
        Err(BoltError::Open(OpenError::NotBolt { .. }))
    ));
    cli_fails_cleanly(&both, dir.path(), "both-metas.db");

    // A child page id beyond the file.
    let mut far = good.clone();
    far[l.elem0_offset + 8..l.elem0_offset + 16].copy_from_slice(&1_000_000_000u64.to_le_bytes());
    let e = read_keys(&far).unwrap_err();
    assert!(
        matches!(e, SnapshotError::Bolt(BoltError::OutOfBounds { page: PageId(1_000_000_000), from, .. })
            if from == Loc::new(l.branch, l.elem0_offset as u64)),
        "{e:?}"
    );
    let src = MemSource(&far);
    let r = bolt::check(&Db::open(&src).unwrap());
    assert!(
        r.problems
            .iter()
            .any(|p| p.kind == ProblemKind::OutOfBounds && p.page == Some(PageId(1_000_000_000)))
    );
    cli_fails_cleanly(&far, dir.path(), "beyond.db");

    // A branch that points back to itself (a cycle): refused, not followed.
    let mut cycle = good.clone();
    cycle[l.elem0_offset + 8..l.elem0_offset + 16].copy_from_slice(&l.branch.0.to_le_bytes());
    let e = read_keys(&cycle).unwrap_err();
    assert!(
        matches!(e, SnapshotError::Bolt(BoltError::MultipleReferences { page, .. }) if page == l.branch),
        "{e:?}"
    );
    let src = MemSource(&cycle);
    let r = bolt::check(&Db::open(&src).unwrap());
    assert!(
        r.problems
            .iter()
            .any(|p| p.kind == ProblemKind::MultipleReferences && p.page == Some(l.branch))
    );
    cli_fails_cleanly(&cycle, dir.path(), "cycle.db");

    // An element count that runs past the page.
    let leaf_at = page_at(&l, l.leaf);
    let mut count = good.clone();
    count[leaf_at + 10..leaf_at + 12].copy_from_slice(&0xFFFFu16.to_le_bytes());
    let e = read_keys(&count).unwrap_err();
    assert!(
        matches!(e, SnapshotError::Bolt(BoltError::ElementsOverrun { page, offset, count: 65535, .. })
            if page == l.leaf && offset == leaf_at as u64),
        "{e:?}"
    );
    cli_fails_cleanly(&count, dir.path(), "count.db");

    // Overflow that runs past the file.
    let mut ovf = good.clone();
    ovf[leaf_at + 12..leaf_at + 16].copy_from_slice(&0x0FFF_FFFFu32.to_le_bytes());
    let e = read_keys(&ovf).unwrap_err();
    assert!(
        matches!(e, SnapshotError::Bolt(BoltError::OverflowPastEnd { page, overflow: 0x0FFF_FFFF, .. }) if page == l.leaf),
        "{e:?}"
    );
    cli_fails_cleanly(&ovf, dir.path(), "overflow.db");

    // An absurd key length in a leaf element.
    let elem = leaf_at + PAGE_HEADER_LEN;
    let mut klen = good.clone();
    klen[elem + 8..elem + 12].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    let e = read_keys(&klen).unwrap_err();
    assert!(
        matches!(e, SnapshotError::Bolt(BoltError::ElementOverrun { page, index: 0, offset, .. })
            if page == l.leaf && offset == elem as u64),
        "{e:?}"
    );
    cli_fails_cleanly(&klen, dir.path(), "keylen.db");

    // The wrong page size in both metas (checksums recomputed).
    let mut ps = good.clone();
    for slot in [MetaSlot::Meta0, MetaSlot::Meta1] {
        let at = if slot == MetaSlot::Meta0 {
            0
        } else {
            l.page_size
        };
        let mut page = [0u8; PAGE_HEADER_LEN + META_LEN];
        page.copy_from_slice(&ps[at..at + PAGE_HEADER_LEN + META_LEN]);
        let mut m = Meta::parse(slot, &page);
        m.page_size = 1024;
        ps[at + PAGE_HEADER_LEN..at + PAGE_HEADER_LEN + META_LEN].copy_from_slice(&m.encode());
    }
    match read_keys(&ps) {
        Err(SnapshotError::Bolt(e)) => assert!(e.page().is_some(), "{e:?}"),
        other => panic!("a wrong page size must fail with a page error: {other:?}"),
    }
    cli_fails_cleanly(&ps, dir.path(), "pagesize.db");
}
