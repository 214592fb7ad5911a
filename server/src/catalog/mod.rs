//! The snapshot catalog: every redb table the server uses is defined here,
//! and this is the only code that opens redb.

use std::path::Path;

use anyhow::Context;
use redb::{Database, TableDefinition};

/// Snapshot id → JSON record (filled by the snapshot issues).
pub const SNAPSHOTS: TableDefinition<&str, &str> = TableDefinition::new("snapshots");

/// The catalog: the only holder of the redb database (other rooms ask it for
/// typed records; none opens redb itself).
pub struct Catalog {
    db: Database,
}

impl Catalog {
    /// Open or create `catalog.redb` in `data_dir`, with every table present.
    pub fn open(data_dir: &Path) -> anyhow::Result<Self> {
        let path = data_dir.join("catalog.redb");
        let db = Database::create(&path)
            .with_context(|| format!("opening catalog {}", path.display()))?;
        let tx = db.begin_write()?;
        tx.open_table(SNAPSHOTS)?;
        tx.commit()?;
        Ok(Self { db })
    }

    /// Number of catalogued snapshots.
    pub fn snapshot_count(&self) -> anyhow::Result<u64> {
        use redb::{ReadableDatabase, ReadableTableMetadata};
        let tx = self.db.begin_read()?;
        Ok(tx.open_table(SNAPSHOTS)?.len()?)
    }
}
