//! The database's own facts, kept in a tree apart from the data: its schema version,
//! whether a compaction is due, its size after the last one, and the check value of the
//! vault key its worker data is sealed with.

use super::{META, Result, Store, StoreError};

const SCHEMA_KEY: &[u8] = b"schema_version";
pub(super) const COMPACTION_KEY: &[u8] = b"compaction_due";
/// The database's size on disk after its last compaction (or when first measured).
pub(super) const COMPACTED_BYTES_KEY: &[u8] = b"compacted_bytes";
/// How the last compaction (or the first measure of the size) laid out the engine's pages:
/// [`PAGES_FILLED`] since they are written full (see `store::fill`); absent before.
pub(super) const COMPACTED_LAYOUT_KEY: &[u8] = b"compacted_layout";
/// The layout [`COMPACTED_LAYOUT_KEY`] records for pages written full.
const PAGES_FILLED: u8 = 1;

/// Records in the meta tree `meta` the size on disk a compaction left, or a first measure
/// found, with the layout of pages this release writes: the two always go together, so a
/// size without a layout is an earlier release's.
pub(super) fn record_compacted(meta: &sled::Tree, bytes_on_disk: u64) -> Result<()> {
    meta.insert(COMPACTED_BYTES_KEY, &bytes_on_disk.to_be_bytes())?;
    meta.insert(COMPACTED_LAYOUT_KEY, &[PAGES_FILLED])?;
    Ok(())
}
/// The check value of the vault key the database's worker data is sealed with.
const VAULT_KEY_CHECK_KEY: &[u8] = b"vault_key_check";

/// The engine's log keeps every rewritten value until the database is compacted, and a
/// node's lists rewrite their blocks at each delivery (a brand's store measured 7.5 times
/// its live size at 100,000 reports): the next start compacts once the log holds more than
/// `GROWTH_FACTOR` times what the last compaction left, and at least [`MIN_GROWTH`] more.
pub const GROWTH_FACTOR: u64 = 4;
/// Below this growth, in bytes, a compaction would not pay for the start it delays.
pub const MIN_GROWTH: u64 = 256 << 20;

/// How far the database's size on disk is from what its last compaction left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Growth {
    /// Bytes on disk now.
    pub bytes_on_disk: u64,
    /// Bytes on disk after the last compaction, or when first measured (0: never measured).
    pub bytes_after_compaction: u64,
    /// Whether the last compaction laid the engine's pages out full (or the size was first
    /// measured by a release that does): false for an earlier release's compaction, which
    /// the next start makes again once past [`MIN_GROWTH`], since an idle node's memory
    /// grows with the pages.
    pub pages_filled: bool,
    /// Whether the next start compacts for it.
    pub compaction_due: bool,
}

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

    /// The database's size on disk against what its last compaction left, without writing.
    /// When none is recorded (a new database, or one from before the size was kept), a
    /// database past [`MIN_GROWTH`] is due, since its log may be any size.
    pub fn growth(&self) -> Result<Growth> {
        self.growth_of(GROWTH_FACTOR, MIN_GROWTH, false)
    }

    /// [`Store::growth`] as a start measures it, due past `factor` times and `min_growth`
    /// bytes (tests take small ones): a database with no size recorded and not due records
    /// its size now.
    pub(crate) fn growth_past(&self, factor: u64, min_growth: u64) -> Result<Growth> {
        self.growth_of(factor, min_growth, true)
    }

    fn growth_of(&self, factor: u64, min_growth: u64, record: bool) -> Result<Growth> {
        let bytes_on_disk = super::compact::dir_size(&self.path);
        let (after, layout) = {
            let h = self.h()?;
            let meta = h.db.open_tree(META)?;
            (
                meta.get(COMPACTED_BYTES_KEY)?,
                meta.get(COMPACTED_LAYOUT_KEY)?,
            )
        };
        let pages_filled = layout
            .and_then(|v| v.first().copied())
            .is_some_and(|l| l >= PAGES_FILLED);
        let bytes_after_compaction = match after {
            Some(v) => u64::from_be_bytes(
                v.as_ref()
                    .try_into()
                    .map_err(|_| StoreError::Corrupt("size after compaction".into()))?,
            ),
            None if bytes_on_disk > min_growth || !record => {
                return Ok(Growth {
                    bytes_on_disk,
                    bytes_after_compaction: 0,
                    pages_filled,
                    compaction_due: bytes_on_disk > min_growth,
                });
            }
            None => {
                // Small enough not to be due: measured as this release lays pages out, so
                // that its growth alone makes it due (its pages are what this release wrote).
                let _writing = self.writing();
                let h = self.h()?;
                record_compacted(&h.db.open_tree(META)?, bytes_on_disk)?;
                self.flush()?;
                return Ok(Growth {
                    bytes_on_disk,
                    bytes_after_compaction: bytes_on_disk,
                    pages_filled: true,
                    compaction_due: false,
                });
            }
        };
        let outgrown = bytes_on_disk > bytes_after_compaction.saturating_mul(factor)
            && bytes_on_disk - bytes_after_compaction > min_growth;
        Ok(Growth {
            bytes_on_disk,
            bytes_after_compaction,
            pages_filled,
            compaction_due: outgrown || (!pages_filled && bytes_on_disk > min_growth),
        })
    }

    /// The check value of the vault key this database's worker data is sealed with (None: not
    /// recorded yet; see `vault::binding`).
    pub fn vault_key_check(&self) -> Result<Option<[u8; 32]>> {
        let h = self.h()?;
        let Some(v) = h.db.open_tree(META)?.get(VAULT_KEY_CHECK_KEY)? else {
            return Ok(None);
        };
        let bytes: [u8; 32] = v
            .as_ref()
            .try_into()
            .map_err(|_| StoreError::Corrupt("vault key check value".into()))?;
        Ok(Some(bytes))
    }

    /// Records the check value of the vault key, durably, before anything is sealed with it.
    pub fn set_vault_key_check(&self, value: &[u8; 32]) -> Result<()> {
        let _writing = self.writing();
        let h = self.h()?;
        h.db.open_tree(META)?
            .insert(VAULT_KEY_CHECK_KEY, value.as_slice())?;
        self.flush()
    }

    /// Whether a compaction is due (see [`Store::mark_compaction_due`]).
    pub fn compaction_due(&self) -> Result<bool> {
        let h = self.h()?;
        Ok(h.db.open_tree(META)?.get(COMPACTION_KEY)?.is_some())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use crate::store::{Table, WriteBatch, compact};
    use std::path::Path;

    const VALUES: Table<String> = Table::new(b'x', "values");

    /// Writes `keys` values of 4 KiB, then writes them again `rewrites` times: the log keeps
    /// every copy until a compaction.
    pub(crate) fn rewritten(path: &Path, keys: u32, rewrites: usize) {
        let s = crate::schema::open(path).expect("open");
        for round in 0..=rewrites {
            let mut batch = WriteBatch::new();
            let value = format!("{round}").repeat(4096);
            for i in 0..keys {
                batch.put(&VALUES, &i.to_be_bytes(), &value).expect("put");
            }
            s.commit(batch).expect("commit");
        }
        s.flush().expect("flush");
    }

    /// Leaves the database at `path` as an earlier release's compaction left it: its size
    /// recorded, not how its pages were laid out.
    pub(crate) fn as_an_earlier_release_compacted(path: &Path) {
        let s = crate::schema::open(path).expect("open");
        let h = s.h().expect("open");
        let meta = h.db.open_tree(super::META).expect("meta");
        assert!(
            meta.get(super::COMPACTED_BYTES_KEY)
                .expect("read")
                .is_some()
        );
        meta.remove(super::COMPACTED_LAYOUT_KEY).expect("remove");
        meta.flush().expect("flush");
    }

    /// A database whose size an earlier release recorded (so not how its pages were laid
    /// out) is due past the least growth however little it grew, and no longer once
    /// compacted; a size first measured by this release counts as laid out (the control:
    /// the same database before its layout was taken away is not due).
    #[test]
    fn an_earlier_release_s_compaction_is_due_once_for_its_pages() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("db");
        rewritten(&path, 1_000, 0);
        let s = crate::schema::open(&path).expect("open");
        let first = s.growth_past(2, u64::MAX / 2).expect("growth");
        assert!(first.pages_filled && !first.compaction_due, "{first:?}");
        let measured = s.growth_past(2, 0).expect("growth");
        assert!(!measured.compaction_due, "{measured:?}");
        drop(s);
        as_an_earlier_release_compacted(&path);
        let s = crate::schema::open(&path).expect("open");
        let earlier = s.growth_past(2, 0).expect("growth");
        assert!(
            !earlier.pages_filled && earlier.compaction_due,
            "{earlier:?}"
        );
        assert_eq!(earlier.bytes_after_compaction, first.bytes_after_compaction);
        let small = s.growth_past(2, u64::MAX / 2).expect("growth");
        assert!(!small.compaction_due, "below the least growth: {small:?}");
        drop(s);
        compact(&path).expect("compact");
        let s = crate::schema::open(&path).expect("open");
        let after = s.growth_past(2, 0).expect("growth");
        assert!(after.pages_filled && !after.compaction_due, "{after:?}");
    }

    #[test]
    fn a_log_grown_past_what_the_last_compaction_left_is_due_and_a_compaction_resets_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("db");
        rewritten(&path, 1_000, 0);
        let s = crate::schema::open(&path).expect("open");
        // Never measured and past the least growth: due, since the log may be any size.
        let unknown = s.growth_past(2, 0).expect("growth");
        assert!(unknown.compaction_due && unknown.bytes_after_compaction == 0);
        // Below it, read as the status reads it: nothing written.
        let read = s.growth_of(2, u64::MAX / 2, false).expect("growth");
        assert!(!read.compaction_due && read.bytes_after_compaction == 0);
        // As a start measures it: recorded as it is, nothing due.
        let first = s.growth_past(2, u64::MAX / 2).expect("growth");
        assert_eq!(first.bytes_after_compaction, first.bytes_on_disk);
        assert!(!first.compaction_due, "{first:?}");
        drop(s);
        // Three times the values, each written nine times.
        rewritten(&path, 3_000, 8);
        let s = crate::schema::open(&path).expect("open");
        let grown = s.growth_past(2, 0).expect("growth");
        assert_eq!(grown.bytes_after_compaction, first.bytes_after_compaction);
        assert!(
            grown.bytes_on_disk > 2 * first.bytes_on_disk,
            "the rewrites grew the log: {grown:?}"
        );
        assert!(grown.compaction_due, "{grown:?}");
        // Not due below the least growth that pays, nor below the factor.
        let min = grown.bytes_on_disk - grown.bytes_after_compaction;
        assert!(!s.growth_past(2, min).expect("growth").compaction_due);
        let factor = grown.bytes_on_disk / grown.bytes_after_compaction + 1;
        assert!(!s.growth_past(factor, 0).expect("growth").compaction_due);
        drop(s);
        let done = compact(&path).expect("compact");
        let s = crate::schema::open(&path).expect("open");
        let after = s.growth_past(2, 0).expect("growth");
        assert!(!after.compaction_due, "{after:?} after {done:?}");
        // What it left, not what the first measure found (a third of the values): about
        // twice the first measure, give or take a few segments of the log (512 KiB each;
        // 21.0 to 23.1 MB against 10.5 MB), so more than half again as much.
        assert!(
            after.bytes_after_compaction == done.bytes_after
                && after.bytes_after_compaction < grown.bytes_on_disk / 2
                && after.bytes_after_compaction > first.bytes_after_compaction * 3 / 2,
            "the size the compaction left: {after:?}, {done:?}, first {first:?}"
        );
        assert_eq!(
            s.get(&VALUES, &7u32.to_be_bytes()).expect("read"),
            Some("8".repeat(4096))
        );
    }
}
