//! Entry points shared by the cargo-fuzz targets in `fuzz/` and the stable
//! test that replays their seed corpora (`tests/fuzz_replay.rs`). Each takes
//! arbitrary bytes and must return without panicking, hanging, or allocating
//! more than the input justifies; results are ignored.

use std::ops::ControlFlow;

use prost::Message;

use crate::bolt::{self, Db};
use crate::mvcc::{KeyValue, RevisionKey};
use crate::snapshot::Snapshot;
use crate::source::MemSource;
use crate::status::{self, Compat};

/// Open the bytes as a bbolt file and read everything a user can ask for.
pub fn open_and_walk(data: &[u8]) {
    let src = MemSource(data);
    let Ok(db) = Db::open_with_cache(&src, 1 << 16) else {
        return;
    };
    let _ = bolt::check(&db);
    let _ = status::status(&db, Compat::V35);
    let _ = status::status(&db, Compat::V36);
    let _ = db.for_each(&db.root(), Some(b"k"), |_| ControlFlow::Continue(()));
    let Ok(snap) = Snapshot::from_db(db) else {
        return;
    };
    let Ok(ix) = snap.key_index() else { return };
    let keys: Vec<Vec<u8>> = ix.live().map(|(k, _)| k.to_vec()).take(64).collect();
    for k in keys {
        let _ = snap.get(&ix, &k, None);
        let _ = snap.get(&ix, &k, Some(1));
        let _ = snap.history(&ix, &k);
    }
}

/// Parse a revision key; a parsed key must encode back to the same bytes.
pub fn revision_key(data: &[u8]) {
    if let Ok(k) = RevisionKey::parse(data) {
        assert_eq!(k.encode(), data, "revision keys round-trip");
    }
}

/// Decode an mvccpb.KeyValue; a decoded value must re-encode and decode equal.
pub fn key_value(data: &[u8]) {
    if let Ok(kv) = KeyValue::decode(data) {
        let again =
            KeyValue::decode(kv.encode_to_vec().as_slice()).expect("re-encoded KeyValue decodes");
        assert_eq!(kv, again);
    }
}
