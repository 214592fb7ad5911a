//! The streaming status's tests: built files fed in chunks of every size
//! against `status::status`, the faults it names, and its memory bounds.

// Test builders cast small, known lengths to the file's field widths.
#![allow(clippy::cast_possible_truncation)]

use super::summary::Slot;
use super::*;
use crate::MemSource;
use crate::bolt::element::{BucketHeader, build};
use crate::bolt::meta::{MAGIC, META_LEN, Meta, MetaSlot, PGID_NO_FREELIST, VERSION};
use crate::bolt::page::{PageHeader, PageId};
use crate::bolt::{BoltError, Db};
use crate::mvcc::{Revision, RevisionError, RevisionKey};
use crate::status::{Compat, Status, status};

#[test]
fn a_page_summary_stays_small() {
    // The memory promise of the module doc: 48 bytes per page id.
    assert!(
        std::mem::size_of::<Slot>() <= 48,
        "{}",
        std::mem::size_of::<Slot>()
    );
}

const PS: usize = 1024;

fn rev(main: i64, tombstone: bool) -> Vec<u8> {
    RevisionKey {
        rev: Revision { main, sub: 0 },
        tombstone,
    }
    .encode()
}

fn bucket_value(root: u64, inline: &[u8]) -> Vec<u8> {
    let mut v = BucketHeader {
        root: PageId(root),
        sequence: 0,
    }
    .encode()
    .to_vec();
    v.extend_from_slice(inline);
    v
}

fn put_page(file: &mut [u8], id: usize, page: &[u8]) {
    file[id * PS..id * PS + page.len()].copy_from_slice(page);
}

fn put_metas(file: &mut [u8], root: u64, pgid: u64) {
    for (i, txid) in [(0usize, 1u64), (1, 2)] {
        let slot = if i == 0 {
            MetaSlot::Meta0
        } else {
            MetaSlot::Meta1
        };
        let m = Meta {
            slot,
            header: PageHeader {
                id: PageId(i as u64),
                flags: 4,
                count: 0,
                overflow: 0,
            },
            magic: MAGIC,
            version: VERSION,
            page_size: PS as u32,
            flags: 0,
            root: PageId(root),
            sequence: 0,
            freelist: PageId(PGID_NO_FREELIST),
            pgid: PageId(pgid),
            txid,
            checksum: 0,
            computed_checksum: 0,
        };
        let at = i * PS;
        file[at..at + 8].copy_from_slice(&(i as u64).to_le_bytes());
        file[at + 8..at + 10].copy_from_slice(&4u16.to_le_bytes());
        file[at + 16..at + 16 + META_LEN].copy_from_slice(&m.encode());
    }
}

/// A 9-page file with what bbolt-made files rarely show on demand:
/// ```text
/// 2  root leaf: "a" → 4, "inl" (inline: x, y), "key" → 6, "plain" (a value at the top level)
/// 3  a freed leaf whose stale header claims 3 overflow pages (3..=6), reused since
/// 4  bucket a: one 1500-byte value, overflow 1 (4..=5)
/// 6  bucket key: a branch over 7 and 8
/// 7  leaf: revisions 1, 2      8  leaf: revision 3, then 4 (a tombstone)
/// ```
fn built() -> Vec<u8> {
    let mut f = vec![0u8; 9 * PS];
    put_metas(&mut f, 2, 9);
    // An inline page is exactly as long as its elements: 16 + 2 × 16 + 2 + 3.
    let inline = build::leaf(0, &[(0, b"x", b"1"), (0, b"y", b"22")], 53);
    let inl = bucket_value(0, &inline);
    let (a, key) = (bucket_value(4, &[]), bucket_value(6, &[]));
    let root = build::leaf(
        2,
        &[
            (1, b"a", &a),
            (1, b"inl", &inl),
            (1, b"key", &key),
            (0, b"plain", b"top-level value"),
        ],
        PS,
    );
    put_page(&mut f, 2, &root);
    let mut stale = build::leaf(3, &[(0, b"old", &[7u8; 600])], PS);
    stale[12..16].copy_from_slice(&3u32.to_le_bytes());
    put_page(&mut f, 3, &stale);
    let mut big = build::leaf(4, &[(0, b"big", &[9u8; 1500])], 2 * PS);
    big[12..16].copy_from_slice(&1u32.to_le_bytes());
    put_page(&mut f, 4, &big);
    put_page(
        &mut f,
        6,
        &build::branch(6, &[(&rev(1, false), 7), (&rev(3, false), 8)], PS),
    );
    let (r1, r2, r3, r4) = (rev(1, false), rev(2, false), rev(3, false), rev(4, true));
    put_page(
        &mut f,
        7,
        &build::leaf(7, &[(0, &r1, b"v1"), (0, &r2, b"v2")], PS),
    );
    put_page(
        &mut f,
        8,
        &build::leaf(8, &[(0, &r3, b"v3"), (0, &r4, b"")], PS),
    );
    f
}

fn stream(bytes: &[u8], chunk: usize) -> Result<StreamedStatus, StreamStatusError> {
    let mut s = StreamStatus::new();
    for c in bytes.chunks(chunk.max(1)) {
        s.update(c);
    }
    assert_eq!(s.bytes_seen(), bytes.len() as u64);
    s.finish()
}

fn reference(bytes: &[u8]) -> Status {
    let src = MemSource(bytes);
    let db = Db::open(&src).unwrap();
    status(&db, Compat::V35).unwrap()
}

#[test]
fn built_file_matches_status_split_anywhere() {
    let f = built();
    let want = reference(&f);
    assert_eq!((want.revision, want.total_key), (4, 7));
    let whole = stream(&f, f.len()).unwrap();
    assert_eq!(whole.status, want);
    assert_eq!(
        (whole.database_len, whole.has_trailer),
        (f.len() as u64, false)
    );
    assert_eq!(whole.meta.txid, 2);
    for split in 0..=f.len() {
        let mut s = StreamStatus::new();
        s.update(&f[..split]);
        s.update(&f[split..]);
        assert_eq!(s.finish().unwrap().status, want, "split at {split}");
    }
    for chunk in [1, 7, 16, 1000, PS, PS + 1] {
        assert_eq!(stream(&f, chunk).unwrap().status, want, "chunk {chunk}");
    }
}

#[test]
fn the_hash_is_one_crc_over_names_keys_and_values_in_bbolt_order() {
    // Independent of status.rs: the byte sequence `etcdctl snapshot status` hashes.
    let mut seq: Vec<u8> = Vec::new();
    seq.extend_from_slice(b"a");
    seq.extend_from_slice(b"big");
    seq.extend_from_slice(&[9u8; 1500]);
    seq.extend_from_slice(b"inlx1y22key");
    for (main, tombstone, value) in [
        (1, false, &b"v1"[..]),
        (2, false, b"v2"),
        (3, false, b"v3"),
        (4, true, b""),
    ] {
        seq.extend_from_slice(&rev(main, tombstone));
        seq.extend_from_slice(value);
    }
    seq.extend_from_slice(b"plain");
    let got = stream(&built(), 4096).unwrap().status;
    assert_eq!(got.hash, crc32c::crc32c(&seq));
    assert_eq!(got.total_size, 9 * PS as u64);
}

#[test]
fn a_trailer_and_slack_past_the_high_water_mark_are_not_pages() {
    let mut f = built();
    let want = reference(&f);
    // A member file grown past its high-water mark, with garbage there.
    f.extend_from_slice(&[0xAB; 2 * PS]);
    assert_eq!(stream(&f, 100).unwrap().status, want);
    // An `etcdctl snapshot save` trailer.
    let mut t = built();
    t.extend_from_slice(&[0x55; 32]);
    let got = stream(&t, 33).unwrap();
    assert_eq!(got.status, want);
    assert_eq!((got.database_len, got.has_trailer), (9 * PS as u64, true));
}

fn set_u64(f: &mut [u8], at: usize, v: u64) {
    f[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// Offset of branch element `i`'s child id on page `id`.
fn child_at(id: usize, i: usize) -> usize {
    id * PS + 16 + 16 * i + 8
}

type Edit = Box<dyn Fn(&mut Vec<u8>)>;
type Expect = Box<dyn Fn(&StreamStatusError) -> bool>;

#[test]
fn structural_faults_name_the_page() {
    let f = built();
    let cases: Vec<(&str, Edit, Expect)> = vec![
        (
            "a branch cycle",
            Box::new(|f| set_u64(f, child_at(6, 1), 6)),
            Box::new(
                |e| matches!(e, StreamStatusError::Bolt(BoltError::MultipleReferences { page: PageId(6), from }) if from.page == PageId(6)),
            ),
        ),
        (
            "a child inside another page's overflow",
            Box::new(|f| set_u64(f, child_at(6, 1), 5)),
            Box::new(|e| {
                matches!(
                    e,
                    StreamStatusError::Bolt(BoltError::MultipleReferences {
                        page: PageId(5),
                        ..
                    })
                )
            }),
        ),
        (
            "a missing page (zeroed)",
            Box::new(|f| f[8 * PS..9 * PS].fill(0)),
            Box::new(|e| {
                matches!(
                    e,
                    StreamStatusError::Bolt(BoltError::IdMismatch {
                        page: PageId(8),
                        found: PageId(0),
                        ..
                    })
                )
            }),
        ),
        (
            "a child beyond the high-water mark",
            Box::new(|f| set_u64(f, child_at(6, 0), 9)),
            Box::new(|e| {
                matches!(
                    e,
                    StreamStatusError::Bolt(BoltError::OutOfBounds {
                        page: PageId(9),
                        ..
                    })
                )
            }),
        ),
        (
            "a meta page as a child",
            Box::new(|f| set_u64(f, child_at(6, 0), 1)),
            Box::new(|e| {
                matches!(
                    e,
                    StreamStatusError::Bolt(BoltError::MultipleReferences {
                        page: PageId(1),
                        ..
                    })
                )
            }),
        ),
        (
            "a reached page claiming overflow past the end",
            Box::new(|f| f[7 * PS + 12..7 * PS + 16].copy_from_slice(&5u32.to_le_bytes())),
            Box::new(|e| {
                matches!(
                    e,
                    StreamStatusError::Bolt(BoltError::OverflowPastEnd {
                        page: PageId(7),
                        overflow: 5,
                        ..
                    })
                )
            }),
        ),
        (
            "a reached page of the wrong type",
            Box::new(|f| f[8 * PS + 8..8 * PS + 10].copy_from_slice(&0x10u16.to_le_bytes())),
            Box::new(
                |e| matches!(e, StreamStatusError::Bolt(BoltError::PageType { page: PageId(8), found, .. }) if found == "freelist"),
            ),
        ),
        (
            "elements past the page",
            Box::new(|f| f[7 * PS + 10..7 * PS + 12].copy_from_slice(&u16::MAX.to_le_bytes())),
            Box::new(|e| {
                matches!(
                    e,
                    StreamStatusError::Bolt(BoltError::ElementsOverrun {
                        page: PageId(7),
                        ..
                    })
                )
            }),
        ),
        (
            "values overlapping each other",
            // Both elements' vsize 900: each stays inside the page, together they exceed it.
            Box::new(|f| {
                for i in 0..2 {
                    let at = 7 * PS + 16 + 16 * i + 12;
                    f[at..at + 4].copy_from_slice(&900u32.to_le_bytes());
                }
            }),
            Box::new(|e| {
                matches!(
                    e,
                    StreamStatusError::ElementsExceedPage {
                        page: PageId(7),
                        ..
                    }
                )
            }),
        ),
        (
            "a short key in the key bucket",
            // Element 0's ksize 17 → 5: the key is the first 5 bytes.
            Box::new(|f| f[8 * PS + 16 + 8..8 * PS + 16 + 12].copy_from_slice(&5u32.to_le_bytes())),
            Box::new(
                |e| matches!(e, StreamStatusError::RevisionKey { at, index: 0, error: RevisionError::Length { len: 5 }, .. } if at.page == PageId(8)),
            ),
        ),
        (
            "the root bucket's page beyond the high-water mark",
            Box::new(|f| {
                // Both metas: root 40, checksums recomputed.
                put_metas(f, 40, 9);
            }),
            Box::new(
                |e| matches!(e, StreamStatusError::Bolt(BoltError::OutOfBounds { page: PageId(40), from, .. }) if from.page == PageId(1)),
            ),
        ),
    ];
    for (name, edit, expect) in cases {
        let mut g = f.clone();
        edit(&mut g);
        for chunk in [1, 7, 4096, g.len()] {
            let e = stream(&g, chunk).unwrap_err();
            assert!(expect(&e), "{name}, chunk {chunk}: {e:?}");
            assert!(e.to_string().contains("page "), "{name}: {e}");
        }
    }
}

#[test]
fn an_unreachable_stale_page_may_claim_anything() {
    let mut f = built();
    let want = reference(&f);
    // Page 3 is free: past the end, too large, or garbage, it does not matter.
    for overflow in [5u32, u32::MAX] {
        f[3 * PS + 12..3 * PS + 16].copy_from_slice(&overflow.to_le_bytes());
        assert_eq!(stream(&f, 512).unwrap().status, want, "overflow {overflow}");
    }
    f[3 * PS + 10..3 * PS + 12].copy_from_slice(&u16::MAX.to_le_bytes());
    assert_eq!(stream(&f, 512).unwrap().status, want);
}

/// A file of `pages` (id, bytes), metas naming `root` and `hwm`.
fn file(pages: &[(usize, Vec<u8>)], root: u64, hwm: u64) -> Vec<u8> {
    let mut f = vec![0u8; hwm as usize * PS];
    put_metas(&mut f, root, hwm);
    for (id, p) in pages {
        put_page(&mut f, *id, p);
    }
    f
}

/// A key bucket (root leaf at 2) whose branch at 3 holds `n` (≤ 30) leaves from page `first`.
fn many_leaves(n: usize, first: usize) -> Vec<(usize, Vec<u8>)> {
    let key = bucket_value(3, &[]);
    let mut pages = vec![(2, build::leaf(2, &[(1, b"key", &key)], PS))];
    let firsts: Vec<Vec<u8>> = (0..n).map(|i| rev(i as i64 + 1, false)).collect();
    let children: Vec<(&[u8], u64)> = firsts
        .iter()
        .enumerate()
        .map(|(i, k)| (k.as_slice(), (first + i) as u64))
        .collect();
    pages.push((3, build::branch(3, &children, PS)));
    for (i, k) in firsts.iter().enumerate() {
        let id = first + i;
        pages.push((id, build::leaf(id as u64, &[(0, k, b"value")], PS)));
    }
    pages
}

#[test]
fn one_slot_per_page_and_no_bytes_kept_after_the_last_page() {
    let mut pages = many_leaves(30, 104);
    pages.extend((4..104).map(|id| (id, build::leaf(id as u64, &[], PS))));
    let f = file(&pages, 2, 134);
    let mut s = StreamStatus::new();
    for c in f.chunks(PS) {
        s.update(c);
    }
    let Phase::Pages(p) = &s.phase else {
        panic!("{s:?}")
    };
    assert_eq!((p.slots.len(), p.slots.capacity()), (132, 132));
    assert!(p.window.is_empty() && p.open.is_empty(), "{:?}", p.open);
}

#[test]
fn regression_many_whole_pages_in_one_chunk_are_not_overlapping() {
    // One chunk brought 130 headers at once; complete pages once counted as
    // open spans, so the live leaves after 100 free ones were refused.
    let mut pages = many_leaves(30, 104);
    pages.extend((4..104).map(|id| (id, build::leaf(id as u64, &[], PS))));
    let f = file(&pages, 2, 134);
    let want = reference(&f);
    assert_eq!(want.total_key, 30);
    for chunk in [f.len(), 3 * PS, PS, 7] {
        assert_eq!(stream(&f, chunk).unwrap().status, want, "chunk {chunk}");
    }
}

#[test]
fn overlapping_stale_spans_are_followed_up_to_the_limit_whatever_the_chunks() {
    // `stale` freed pages from 4 on, each claiming overflow up to the
    // high-water mark, then the key bucket's live leaves.
    let build_with = |stale: usize| {
        let first = 4 + stale;
        let mut pages = many_leaves(3, first);
        let hwm = first + 3;
        for id in 4..first {
            let mut p = build::leaf(id as u64, &[], PS);
            p[12..16].copy_from_slice(&((hwm - id - 1) as u32).to_le_bytes());
            pages.push((id, p));
        }
        file(&pages, 2, hwm as u64)
    };
    let f = build_with(MAX_OVERLAPPING_PAGES - 1);
    let want = reference(&f);
    for chunk in [f.len(), PS, 100, 16] {
        assert_eq!(stream(&f, chunk).unwrap().status, want, "chunk {chunk}");
    }
    // One more: the first live leaf's start is covered by the limit's worth of spans.
    let f = build_with(MAX_OVERLAPPING_PAGES);
    let first = PageId(4 + MAX_OVERLAPPING_PAGES as u64);
    for chunk in [f.len(), PS, 100, 16] {
        let e = stream(&f, chunk).unwrap_err();
        assert!(
            matches!(e, StreamStatusError::TooManyOverlapping { page, open: MAX_OVERLAPPING_PAGES, .. } if page == first),
            "chunk {chunk}: {e:?}"
        );
    }
}

#[test]
fn a_page_over_the_buffer_limit_is_refused_only_when_reached() {
    let f = built();
    let mut s = StreamStatus::with_max_page_bytes(PS as u32);
    s.update(&f);
    // Page 4 (two pages) is bucket a's root.
    let e = s.finish().unwrap_err();
    assert!(
        matches!(
            e,
            StreamStatusError::PageTooLarge {
                page: PageId(4),
                bytes: 2048,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn truncated_streams_say_how_much_is_missing() {
    let f = built();
    for cut in [9 * PS - 1, 8 * PS, 4 * PS + 100, 2 * PS] {
        let e = stream(&f[..cut], 300).unwrap_err();
        assert!(
            matches!(e, StreamStatusError::Open(OpenError::Truncated { needed_bytes, have_bytes, .. })
                if needed_bytes == 9 * PS as u64 && have_bytes == cut as u64),
            "cut {cut}: {e:?}"
        );
    }
    for cut in [PS + 100, 79] {
        let e = stream(&f[..cut], 300).unwrap_err();
        assert!(
            matches!(e, StreamStatusError::Open(OpenError::TooSmall { .. })),
            "cut {cut}: {e:?}"
        );
    }
    assert_eq!(
        stream(&[], 1).unwrap_err(),
        StreamStatusError::Open(OpenError::Empty)
    );
}

#[test]
fn a_bad_meta_falls_back_like_bbolt_and_two_are_not_bolt() {
    let mut f = built();
    let want = reference(&f);
    f[PS + 16 + 20] ^= 0xFF; // meta 1 (in force): its checksum fails
    let got = stream(&f, 10).unwrap();
    assert_eq!(got.meta.slot, MetaSlot::Meta0);
    assert_eq!(got.status, want, "both metas name the same tree");
    assert_eq!(got.status, reference(&f));
    f[16 + 20] ^= 0xFF;
    // Meta 0 invalid: bbolt probes larger page sizes for a meta 1, so the
    // verdict waits for 64 KiB or the end of the stream.
    let mut s = StreamStatus::new();
    s.update(&f);
    assert!(s.error().is_none());
    let e = s.finish().unwrap_err();
    assert!(
        matches!(&e, StreamStatusError::Open(OpenError::NotBolt { meta0, .. }) if meta0.contains("checksum")),
        "{e:?}"
    );
    let mut s = StreamStatus::new();
    s.update(&[0x5Au8; 200_000]);
    assert!(
        matches!(
            s.error(),
            Some(StreamStatusError::Open(OpenError::NotBolt { .. }))
        ),
        "{s:?}"
    );
    s.update(&[0; 10]);
    assert_eq!(s.bytes_seen(), 200_010);
    assert!(s.finish().is_err());
}

#[test]
fn meta0_broken_probes_the_page_size_from_meta1() {
    let mut f = built();
    f[16] ^= 0xFF; // meta 0's magic
    let want = reference(&f);
    for chunk in [1, 100, f.len()] {
        let got = stream(&f, chunk).unwrap();
        assert_eq!(
            (got.status.clone(), got.meta.slot),
            (want.clone(), MetaSlot::Meta1)
        );
    }
}

// ---- etcd 3.6's numbers: a file with a storage version follows them.

fn kv(key: &[u8], main: i64, value: &[u8]) -> Vec<u8> {
    use prost::Message;
    crate::mvcc::KeyValue {
        key: key.to_vec(),
        create_revision: main,
        mod_revision: main,
        version: 1,
        value: value.to_vec(),
        lease: 0,
    }
    .encode_to_vec()
}

/// What a 3.6 member writes, in small:
/// ```text
/// 2  root leaf: "key" → 3, "meta" (inline: consistent_index, storageVersion?)
/// 3  bucket key: a branch over 4 and 5
/// 4  leaf: 1 put a, 2 put b, 3 del a      5  leaf: 4 put a, 5 put c, 6 del c, `last`
/// 6  a freed leaf: 3 del b, 7 put d (stale: neither counts)
/// ```
/// `meta` is the inline bucket's extra element (after `consistent_index`).
fn built36(storage_version: Option<(u32, &[u8])>, last: Option<(Vec<u8>, Vec<u8>)>) -> Vec<u8> {
    let mut f = vec![0u8; 7 * PS];
    put_metas(&mut f, 2, 7);
    let mut meta: Vec<(u32, &[u8], &[u8])> =
        vec![(0, b"consistent_index", &[0, 0, 0, 0, 0, 0, 0, 9])];
    if let Some((flags, v)) = storage_version {
        meta.push((flags, b"storageVersion", v));
    }
    let len = 16
        + meta
            .iter()
            .map(|(_, k, v)| 16 + k.len() + v.len())
            .sum::<usize>();
    let inline = build::leaf(0, &meta, len);
    let (key, meta) = (bucket_value(3, &[]), bucket_value(0, &inline));
    put_page(
        &mut f,
        2,
        &build::leaf(2, &[(1, b"key", &key), (1, b"meta", &meta)], PS),
    );
    put_page(
        &mut f,
        3,
        &build::branch(3, &[(&rev(1, false), 4), (&rev(4, false), 5)], PS),
    );
    let (r1, r2, r3, r4, r5, r6) = (
        rev(1, false),
        rev(2, false),
        rev(3, true),
        rev(4, false),
        rev(5, false),
        rev(6, true),
    );
    let (a1, b2, a3) = (kv(b"a", 1, b"1"), kv(b"b", 2, b"2"), kv(b"a", 3, b""));
    put_page(
        &mut f,
        4,
        &build::leaf(4, &[(0, &r1, &a1), (0, &r2, &b2), (0, &r3, &a3)], PS),
    );
    let (a4, c5, c6) = (kv(b"a", 4, b"4"), kv(b"c", 5, b"5"), kv(b"c", 6, b""));
    let mut five: Vec<(u32, &[u8], &[u8])> = vec![(0, &r4, &a4), (0, &r5, &c5), (0, &r6, &c6)];
    if let Some((k, v)) = &last {
        five.push((0, k, v));
    }
    put_page(&mut f, 5, &build::leaf(5, &five, PS));
    let (r3b, r7, b3, d7) = (
        rev(3, true),
        rev(7, false),
        kv(b"b", 3, b""),
        kv(b"d", 7, b"7"),
    );
    put_page(
        &mut f,
        6,
        &build::leaf(6, &[(0, &r3b, &b3), (0, &r7, &d7)], PS),
    );
    f
}

fn reference_as(bytes: &[u8], compat: Compat) -> Result<Status, crate::status::StatusError> {
    let src = MemSource(bytes);
    let db = Db::open(&src).unwrap();
    status(&db, compat)
}

#[test]
fn a_file_with_a_storage_version_gets_3_6_numbers_split_anywhere() {
    let f = built36(Some((0, b"3.6.0")), None);
    let (v36, v35) = (
        reference_as(&f, Compat::V36).unwrap(),
        reference_as(&f, Compat::V35).unwrap(),
    );
    {
        let src = MemSource(&f[..]);
        assert_eq!(Compat::of_file(&Db::open(&src).unwrap()), Ok(Compat::V36));
    }
    // a and b are live; 3.5 counts the 6 revisions and meta's 2 entries.
    assert_eq!((v36.total_key, v36.version.as_str()), (2, "3.6.0"));
    assert_eq!((v35.total_key, v35.version.as_str()), (8, ""));
    for split in 0..=f.len() {
        let mut s = StreamStatus::new();
        s.update(&f[..split]);
        s.update(&f[split..]);
        let got = s.finish().unwrap();
        assert_eq!(
            (&got.status, got.follows, &got.other),
            (&v36, Compat::V36, &Ok(v35.clone())),
            "split at {split}"
        );
    }
    // Not a semantic version: still 3.6's numbers, `version` empty (as etcdutl 3.6).
    let f = built36(Some((0, b"three")), None);
    let got = stream(&f, 100).unwrap();
    assert_eq!(got.follows, Compat::V36);
    assert_eq!(got.status, reference_as(&f, Compat::V36).unwrap());
    assert_eq!(got.status.version, "");
}

#[test]
fn without_a_storage_version_3_5_numbers_and_3_6_beside_them() {
    let f = built36(None, None);
    let got = stream(&f, 7).unwrap();
    assert_eq!(got.follows, Compat::V35);
    assert_eq!(got.status, reference_as(&f, Compat::V35).unwrap());
    assert_eq!(got.other, Ok(reference_as(&f, Compat::V36).unwrap()));
    assert_eq!(got.other.as_ref().unwrap().total_key, 2);
}

#[test]
fn keys_and_values_3_6_refuses_fail_its_numbers_only() {
    // A negative main revision (sorts last: its top bit is set), and a value
    // that is not a KeyValue; the 3.5 walk reads both.
    let negative = RevisionKey {
        rev: Revision { main: -5, sub: 0 },
        tombstone: false,
    }
    .encode();
    let cases = [
        (
            (negative.clone(), kv(b"e", 8, b"8")),
            "negative revision: main=-5",
        ),
        (
            (rev(8, false), b"\xff\xff not protobuf".to_vec()),
            "is not an mvccpb.KeyValue",
        ),
    ];
    for ((k, v), says) in cases {
        // 3.5's file: 3.5's numbers, 3.6's refusal beside them.
        let f = built36(None, Some((k.clone(), v.clone())));
        let got = stream(&f, 1000).unwrap();
        assert_eq!(got.status, reference_as(&f, Compat::V35).unwrap());
        let e = got.other.unwrap_err();
        assert!(e.to_string().contains(says), "{e}");
        assert!(reference_as(&f, Compat::V36).is_err());
        // 3.6's file: its own refusal.
        let f = built36(Some((0, b"3.6.0")), Some((k, v)));
        let e = stream(&f, 1000).unwrap_err();
        assert!(
            matches!(
                e,
                StreamStatusError::RevisionKey { index: 3, .. }
                    | StreamStatusError::KeyValue { index: 3, .. }
            ),
            "{e:?}"
        );
        assert!(e.to_string().contains(says), "{e}");
        let theirs = reference_as(&f, Compat::V36).unwrap_err().to_string();
        assert!(theirs.contains(says), "{theirs}");
    }
}

#[test]
fn a_storage_version_that_is_a_bucket_is_not_3_6s() {
    // As `Compat::of_file` (whose `Db::get` refuses it) falls back in
    // `status_and_check`: 3.5's numbers; 3.6's status fails on it.
    let sub = bucket_value(0, &build::leaf(0, &[], 16));
    let f = built36(Some((1, &sub)), None);
    let got = stream(&f, 64).unwrap();
    assert_eq!(got.follows, Compat::V35);
    assert_eq!(got.status, reference_as(&f, Compat::V35).unwrap());
    let crate::status::StatusError::Bolt(want) = reference_as(&f, Compat::V36).unwrap_err() else {
        panic!("a bolt error")
    };
    assert_eq!(got.other, Err(StreamStatusError::Bolt(want)));
}
