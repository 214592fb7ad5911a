//! A second snapshot beside the open one, and the two compared with the
//! core's diff (`etcd_lens_core::diff`). The older of the two by revision is
//! the diff's "old" side, whichever was opened first.

use etcd_lens_core::diff::{self, DiffOptions, Side};
use etcd_lens_core::mvcc::{KeyIndex, RevisionKey};
use etcd_lens_core::snapshot::Snapshot;

use super::detail::{is_secret_key, revision_value};
use super::{Opened, Src, WorkerError};
use crate::protocol::compare::MAX_CHANGE_ROWS;
use crate::protocol::{ChangeRow, CompareKeyView, CompareView, RevisionValue};

/// The snapshot compared with: opened and indexed, nothing more.
pub struct Other {
    pub name: String,
    pub snap: Snapshot<Src>,
    pub index: KeyIndex,
}

/// Open `src` (the bbolt file, layers peeled) and index its keys.
pub fn open_other(name: String, src: Src) -> Result<Other, WorkerError> {
    let snap = Snapshot::open(src)?;
    let index = snap.key_index()?;
    Ok(Other { name, snap, index })
}

fn revision(ix: &KeyIndex) -> i64 {
    ix.last.map_or(0, |l| l.rev.main)
}

/// Compare the open file with `other`; `elapsed_ms` is filled in by the caller.
pub fn compare(o: &Opened, other: &Other) -> Result<CompareView, WorkerError> {
    let index = o.index()?;
    let open_is_old = revision(index) <= revision(&other.index);
    let mine = Side {
        snap: &o.snap,
        index,
    };
    let theirs = Side {
        snap: &other.snap,
        index: &other.index,
    };
    let config = o.encryption.borrow();
    let opts = DiffOptions {
        encryption: config.as_ref(),
        ..DiffOptions::default()
    };
    let d = if open_is_old {
        diff::diff(mine, theirs, &opts)?
    } else {
        diff::diff(theirs, mine, &opts)?
    };
    let count = |c| d.count(c) as u64;
    Ok(CompareView {
        other_name: other.name.clone(),
        open_is_old,
        same_cluster: d.same_cluster,
        old_revision: d.old_revision,
        new_revision: d.new_revision,
        added: count(diff::Change::Added),
        removed: count(diff::Change::Removed),
        modified: count(diff::Change::Modified),
        unchanged: d.unchanged,
        unchanged_by_revision: d.unchanged_by_revision,
        noise_only: d.noise_only,
        rows: d
            .changes
            .iter()
            .take(MAX_CHANGE_ROWS)
            .map(|c| ChangeRow {
                key: String::from_utf8_lossy(&c.key).into_owned(),
                key_hex: hex::encode(&c.key),
                change: c.change,
                recreated: c.recreated,
                resource: c.place.resource.clone(),
                namespace: c.place.namespace.clone(),
                kind: c.kind.clone(),
                what: c.describe(),
            })
            .collect(),
        groups: d.groups,
        milliseconds: 0.0,
    })
}

/// The live value of `key` on one side, for the line diff.
fn side_value<S: etcd_lens_core::ReadAt>(
    o: &Opened,
    snap: &Snapshot<S>,
    ix: &KeyIndex,
    key: &[u8],
) -> Result<RevisionValue, WorkerError> {
    let Some(live) = ix.history(key).and_then(|h| h.live) else {
        return Ok(RevisionValue::Deleted);
    };
    let rk = RevisionKey {
        rev: live.rev,
        tombstone: false,
    };
    Ok(match snap.value(rk)? {
        Some(kv) => revision_value(o, key, &kv.value),
        None => RevisionValue::Deleted,
    })
}

/// One key on both sides (old first), decoded as the history diff shows revisions.
pub fn compare_key(
    o: &Opened,
    other: &Other,
    key_hex: &str,
) -> Result<CompareKeyView, WorkerError> {
    let key = hex::decode(key_hex).map_err(|_| WorkerError::BadLink)?;
    let index = o.index()?;
    let mine = side_value(o, &o.snap, index, &key)?;
    let theirs = side_value(o, &other.snap, &other.index, &key)?;
    let (old, new) = if revision(index) <= revision(&other.index) {
        (mine, theirs)
    } else {
        (theirs, mine)
    };
    let kind_is_secret = |v: &RevisionValue| matches!(v, RevisionValue::Object { object, .. } if object.get("kind").and_then(|k| k.as_str()) == Some("Secret"));
    let is_secret = is_secret_key(&key) || kind_is_secret(&old) || kind_is_secret(&new);
    Ok(CompareKeyView {
        key: String::from_utf8_lossy(&key).into_owned(),
        key_hex: key_hex.to_string(),
        old,
        new,
        is_secret,
    })
}
