//! Plaintext Secrets left in pages no tree reaches: free pages (on the freelist
//! or, without a synced freelist, unreachable), and pages between the meta's
//! high-water mark and the end of the file. bbolt copies a page on every write
//! and compaction deletes revisions without wiping them, so until a defrag the
//! old bytes stay in the file.
//!
//! How a page is read: a page whose header still says *leaf* (with its own id)
//! is parsed as the old leaf: each element that is a revision key with an
//! `mvccpb.KeyValue` under `…/secrets/…` holding a plaintext Secret is a hit with
//! its key and revision. Other pages are searched for raw Secret bytes (a `k8s\0`
//! envelope whose kind is `Secret`, or JSON `"kind":"Secret"`), without a key.
//!
//! Not reported: a (key, revision) still retained in the `key` bucket — the file
//! shows it anyway, and the live or history rules already name it. So an
//! uncompacted snapshot has no hits; a compacted one has exactly the plaintext
//! revisions that compaction dropped and no later write overwrote.
//!
//! Bounded: each candidate page is read once; an old leaf's overflow run is
//! capped at [`MAX_RUN_BYTES`] and the end of the file.

use std::ops::ControlFlow;

use prost::Message;

use crate::ReadAt;
use crate::bolt::page::{FLAG_LEAF, PAGE_HEADER_LEN};
use crate::bolt::{BoltError, Db, PageHeader, PageId, PageView, Walker, freelist};
use crate::k8s::envelope::MAGIC;
use crate::k8s::wire::{Reader, WireValue};
use crate::k8s::{DecodedObject, Encoding, KeyInfo, classify, decode, parse_key};
use crate::mvcc::{KeyValue, Revision, RevisionKey};

/// An old leaf spanning more than this is read only this far (a Secret is at most ~1.5 MiB).
pub const MAX_RUN_BYTES: u64 = 8 << 20;

/// A plaintext Secret found in a page no tree reaches.
#[derive(Debug, Clone)]
pub struct PageHit {
    pub page: PageId,
    /// The etcd key and its path's meaning, when the page still parses as a leaf.
    pub key: Option<(Vec<u8>, KeyInfo)>,
    /// Revisions of that key in the page, ascending.
    pub revisions: Vec<i64>,
    pub object: Option<DecodedObject>,
}

/// What the scan looked at.
#[derive(Debug, Clone, Copy, Default)]
pub struct PageScanStats {
    pub candidate_pages: u64,
    pub old_leaf_pages: u64,
}

/// Pages reached from the metas: the freelist, every tree, overflow pages.
fn reachable(db: &Db<impl ReadAt>) -> crate::bolt::PageSet {
    let mut w = Walker::new(db).checking(None);
    w.mark(PageId(0));
    w.mark(PageId(1));
    let meta = db.meta();
    if meta.freelist_persisted()
        && let Ok(fl) = freelist::read(db, meta.freelist)
    {
        for i in 0..=u64::from(fl.overflow) {
            w.mark(PageId(meta.freelist.0 + i));
        }
    }
    // Collect mode: structural problems are recorded, not fatal; what was reached counts.
    let _ = w.walk_root(&mut |_| ControlFlow::Continue(()));
    w.seen().clone()
}

/// Is `bytes` a plaintext Kubernetes Secret? Returns the decoded object.
pub fn plaintext_secret(value: &[u8]) -> Option<DecodedObject> {
    match classify(value) {
        Encoding::Protobuf | Encoding::Json | Encoding::Cbor => {
            decode(value).ok().filter(|o| o.kind == "Secret")
        }
        _ => None,
    }
}

/// Scan every page no tree reaches. `retained(key, rev)` says whether the
/// `key` bucket still holds that revision (then it is not reported).
pub fn scan(
    db: &Db<impl ReadAt>,
    prefix: &str,
    retained: &dyn Fn(&[u8], Revision) -> bool,
) -> Result<(Vec<PageHit>, PageScanStats), BoltError> {
    let ps = db.page_size();
    let src = db.source();
    let seen = reachable(db);
    let last = src.len() / ps.max(1);
    let mut stats = PageScanStats::default();
    let mut hits = Vec::new();
    let ps_usize = usize::try_from(ps).unwrap_or(usize::MAX);
    let mut id = 2u64;
    while id < last {
        let pid = PageId(id);
        if seen.contains(pid) {
            id += 1;
            continue;
        }
        stats.candidate_pages += 1;
        let offset = db.offset_of(pid);
        let mut buf = vec![0u8; ps_usize];
        read(db, pid, offset, &mut buf)?;
        let mut hb = [0u8; PAGE_HEADER_LEN];
        hb.copy_from_slice(&buf[..PAGE_HEADER_LEN]);
        let h = PageHeader::parse(&hb);
        let mut next = id + 1;
        if h.flags == FLAG_LEAF && h.id == pid {
            stats.old_leaf_pages += 1;
            let run = (u64::from(h.overflow) + 1)
                .min(last - id)
                .min(MAX_RUN_BYTES / ps.max(1))
                .max(1);
            if run > 1 {
                let more = usize::try_from((run - 1) * ps).unwrap_or(0);
                buf.resize(ps_usize + more, 0);
                read(db, pid, offset + ps, &mut buf[ps_usize..])?;
            }
            // The run's continuation pages belong to this old leaf.
            next = id + run;
            old_leaf(pid, offset, &buf, prefix, retained, &mut hits);
        } else if let Some(object) = raw_secret(&buf) {
            hits.push(PageHit {
                page: pid,
                key: None,
                revisions: Vec::new(),
                object: Some(object),
            });
        }
        id = next;
    }
    Ok((hits, stats))
}

fn read(db: &Db<impl ReadAt>, page: PageId, offset: u64, buf: &mut [u8]) -> Result<(), BoltError> {
    db.source()
        .read_exact_at(offset, buf)
        .map_err(|e| BoltError::Read {
            page,
            offset: e.offset,
            len: e.len,
            reason: e.reason,
        })
}

fn old_leaf(
    pid: PageId,
    offset: u64,
    buf: &[u8],
    prefix: &str,
    retained: &dyn Fn(&[u8], Revision) -> bool,
    hits: &mut Vec<PageHit>,
) {
    let Ok(view) = PageView::new(pid, offset, buf) else {
        return;
    };
    let first = hits.len();
    for i in 0..view.count() {
        let Ok(e) = view.leaf(i) else { continue };
        if e.is_bucket() {
            continue;
        }
        let Ok(rk) = RevisionKey::parse(e.key) else {
            continue;
        };
        if rk.tombstone {
            continue;
        }
        let Ok(kv) = KeyValue::decode(e.value) else {
            continue;
        };
        let Some(info) = parse_key(&kv.key, prefix) else {
            continue;
        };
        if info.resource != "secrets" || info.group.is_some() || retained(&kv.key, rk.rev) {
            continue;
        }
        let Some(obj) = plaintext_secret(&kv.value) else {
            continue;
        };
        // One hit per (page, key): later revisions join the first.
        if let Some(h) = hits[first..]
            .iter_mut()
            .find(|h| h.key.as_ref().is_some_and(|(k, _)| *k == kv.key))
        {
            h.revisions.push(rk.rev.main);
            h.object = Some(obj);
            continue;
        }
        hits.push(PageHit {
            page: pid,
            key: Some((kv.key.clone(), info.with_object(&obj))),
            revisions: vec![rk.rev.main],
            object: Some(obj),
        });
    }
}

/// A Secret's bytes anywhere in a page that is not a leaf any more.
fn raw_secret(page: &[u8]) -> Option<DecodedObject> {
    let mut from = 0;
    while let Some(at) = find(&page[from..], MAGIC).map(|i| i + from) {
        if envelope_kind(&page[at + MAGIC.len()..]).as_deref() == Some("Secret") {
            return Some(DecodedObject {
                api_version: "v1".into(),
                kind: "Secret".into(),
                schema: crate::k8s::Schema::GenericProtobuf,
                object: serde_json::Value::Null,
            });
        }
        from = at + 1;
    }
    for needle in [&b"\"kind\":\"Secret\""[..], b"\"kind\": \"Secret\""] {
        if find(page, needle).is_some() {
            return Some(DecodedObject {
                api_version: "v1".into(),
                kind: "Secret".into(),
                schema: crate::k8s::Schema::Json,
                object: serde_json::Value::Null,
            });
        }
    }
    None
}

/// `runtime.Unknown.typeMeta.kind` of the bytes after the magic, read no further than needed.
fn envelope_kind(body: &[u8]) -> Option<String> {
    let mut r = Reader::new(body, 0);
    let (1, WireValue::Len(tm), _) = r.next_field()?.ok()? else {
        return None;
    };
    let mut t = Reader::new(tm, 0);
    while let Some(f) = t.next_field() {
        if let (2, WireValue::Len(k), _) = f.ok()? {
            return Some(String::from_utf8_lossy(k).into_owned());
        }
    }
    None
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_envelope_kind() {
        // k8s\0 | 0a 0e [0a 02 "v1" 12 06 "Secret"] | 12 …garbage
        let mut page = vec![0u8; 100];
        page.extend(MAGIC);
        page.extend([0x0a, 12, 0x0a, 2, b'v', b'1', 0x12, 6]);
        page.extend(b"Secret");
        page.extend([0x12, 0xff, 0xff]);
        assert!(raw_secret(&page).is_some());
        let cm: Vec<u8> = page
            .iter()
            .map(|b| if *b == b'S' { b's' } else { *b })
            .collect();
        assert!(raw_secret(&cm).is_none());
        assert!(raw_secret(br#"xx{"kind":"Secret","data":{}}"#).is_some());
    }
}
