//! Snapshots of the whole database (for backups) and their import into a new database (for
//! restores). What a snapshot means to the node is `crate::backup`'s business; here it is
//! trees and their records, as they were at one moment.

use super::compact::left_out;
use super::{Result, Store, StoreError};
use std::path::{Path, PathBuf};

/// One item of a snapshot, in order: a tree, then its records, then the next tree.
#[derive(Debug, Clone, Copy)]
pub enum SnapshotItem<'a> {
    /// The records that follow belong to this tree.
    Tree(&'a [u8]),
    /// One record of the current tree.
    Record {
        /// Its key.
        key: &'a [u8],
        /// Its value.
        value: &'a [u8],
    },
}

impl Store {
    /// Visits every record of every tree as they were at one moment, and returns how many
    /// there were. Writes wait until it returns (sled's iterators are not snapshots), so
    /// `each` should be quick: write to a local file, never to a slow peer.
    pub fn snapshot(
        &self,
        mut each: impl FnMut(SnapshotItem<'_>) -> std::io::Result<()>,
    ) -> Result<u64> {
        let _alone = self.gate.write().unwrap_or_else(|p| p.into_inner());
        let h = self.h()?;
        let io = |e: std::io::Error| StoreError::Snapshot(e.to_string());
        let mut records = 0u64;
        for name in h.db.tree_names() {
            let tree = self.seen(h.db.open_tree(&name).map_err(StoreError::from))?;
            each(SnapshotItem::Tree(&name)).map_err(io)?;
            for kv in tree.iter() {
                let (key, value) = self.seen(kv.map_err(StoreError::from))?;
                each(SnapshotItem::Record {
                    key: &key,
                    value: &value,
                })
                .map_err(io)?;
                records += 1;
            }
        }
        Ok(records)
    }
}

/// A new database being filled from a snapshot.
pub struct Import {
    path: PathBuf,
    db: sled::Db,
    /// The tree records go to, and its name.
    tree: Option<(Vec<u8>, sled::Tree)>,
    records: u64,
}

impl Import {
    /// Creates an empty database at `path`, which must not exist yet.
    pub fn create(path: &Path) -> Result<Import> {
        if path.exists() {
            return Err(StoreError::Engine(format!(
                "{} already exists; a restore only writes a new database",
                path.display()
            )));
        }
        Ok(Import {
            path: path.to_path_buf(),
            // The whole reads' cache (16 MiB), not the engine's default of a gigabyte, and
            // given back as the restore writes every record.
            db: super::engine::config(path, super::engine::Reads::Whole).open()?,
            tree: None,
            records: 0,
        })
    }

    /// Adds the next item of the snapshot. What the original recorded of its own files is
    /// left out, as a compaction leaves it out (its size after its last compaction, how that
    /// laid out its pages, a compaction owed for erased bytes its log still held): the
    /// import writes files of its own, holding live records alone, in key order, so its
    /// first start measures them, or compacts them past the least growth.
    pub fn add(&mut self, item: SnapshotItem<'_>) -> Result<()> {
        match item {
            SnapshotItem::Tree(name) => {
                self.tree = Some((name.to_vec(), self.db.open_tree(name)?));
            }
            SnapshotItem::Record { key, value } => {
                let (name, tree) = self.tree.as_ref().ok_or_else(|| {
                    StoreError::Corrupt("a snapshot record comes before any tree".into())
                })?;
                if left_out(name, key) {
                    return Ok(());
                }
                tree.insert(key, value)?;
                self.records += 1;
            }
        }
        Ok(())
    }

    /// Makes everything durable and closes the database; returns how many records it holds.
    pub fn finish(self) -> Result<u64> {
        self.db.flush()?;
        let Import {
            path, db, records, ..
        } = self;
        drop(db);
        // sled's threads may hold the lock a moment longer; the next open here waits for it.
        super::engine::closed(&path);
        Ok(records)
    }
}
