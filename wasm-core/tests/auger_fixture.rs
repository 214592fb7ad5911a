//! The real member `db` file recorded by etcd-io/auger (see `../shared/fixtures/README.md`).

use etcd_lens_core::bolt::MetaSlot;
use etcd_lens_core::{MemSource, inspect, trailer};
use etcd_lens_testkit::fixture_bytes as fixture;

#[test]
fn auger_db_header() {
    let db = fixture("auger/boltdb/db");
    assert_eq!(db.len(), 20480);
    let h = inspect::open(&MemSource(&db)).unwrap();
    assert!(!h.has_trailer);
    assert_eq!(h.page_size, 4096);
    assert!(h.metas.iter().all(|m| m.valid));
    assert_eq!([h.metas[0].meta.txid, h.metas[1].meta.txid], [2, 3]);
    assert_eq!(h.in_force, MetaSlot::Meta1);
    assert_eq!(h.meta().root.0, 4);
    assert_eq!(h.meta().pgid.0, 5);
    assert_eq!(h.meta().freelist.0, 2);
    assert!(
        h.warnings
            .iter()
            .any(|w| w.contains("freelist page 2") && w.contains("not a freelist page")),
        "{:?}",
        h.warnings
    );
    assert_eq!(
        trailer::verify(&MemSource(&db), 4096, |_| {}).unwrap(),
        trailer::TrailerStatus::Absent
    );
}
