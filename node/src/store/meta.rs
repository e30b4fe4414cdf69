//! The database's own facts, kept in a tree apart from the data: its schema version and
//! whether a compaction is due.

use super::{META, Result, Store, StoreError};

const SCHEMA_KEY: &[u8] = b"schema_version";
pub(super) const COMPACTION_KEY: &[u8] = b"compaction_due";

impl Store {
    /// The schema version recorded in the database (None for a new one).
    pub fn schema_version(&self) -> Result<Option<u32>> {
        let h = self.h()?;
        let Some(v) = h.db.open_tree(META)?.get(SCHEMA_KEY)? else {
            return Ok(None);
        };
        let bytes: [u8; 4] = v
            .as_ref()
            .try_into()
            .map_err(|_| StoreError::Corrupt("schema version".into()))?;
        Ok(Some(u32::from_be_bytes(bytes)))
    }

    /// Records the schema version, durably (after a migration, or on a new database).
    pub fn set_schema_version(&self, version: u32) -> Result<()> {
        let _writing = self.writing();
        let h = self.h()?;
        h.db.open_tree(META)?
            .insert(SCHEMA_KEY, &version.to_be_bytes())?;
        self.flush()
    }

    /// Records that erased data, or the old copies of records a migration rewrote, still lie
    /// in the engine's log: the next start compacts.
    pub fn mark_compaction_due(&self) -> Result<()> {
        let _writing = self.writing();
        let h = self.h()?;
        h.db.open_tree(META)?.insert(COMPACTION_KEY, &[1u8])?;
        self.flush()
    }

    /// Whether a compaction is due (see [`Store::mark_compaction_due`]).
    pub fn compaction_due(&self) -> Result<bool> {
        let h = self.h()?;
        Ok(h.db.open_tree(META)?.get(COMPACTION_KEY)?.is_some())
    }
}
