//! A batch of writes, that later checks of the same batch read back, and its commit: applied
//! whole and made durable, or undone.

use super::codec::encode;
use super::{Result, StoreError, Table, decode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

/// Writes to apply atomically with [`super::Store::commit`].
#[derive(Default)]
pub struct WriteBatch {
    /// Key and new value (None removes), in order: kept so that a commit whose flush fails
    /// can be undone.
    pub(super) ops: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> WriteBatch {
        WriteBatch::default()
    }

    /// Number of writes queued.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Stores `value` under `id` in `table`.
    pub fn put<T: Serialize>(&mut self, table: &Table<T>, id: &[u8], value: &T) -> Result<()> {
        let bytes = encode(value, table.dictionary)
            .map_err(|e| StoreError::Corrupt(format!("{}: {e}", table.name)))?;
        self.ops.push((table.key(id), Some(bytes)));
        Ok(())
    }

    /// The value this batch last puts under `id` in `table`, if any (a check that must see
    /// what an earlier message of the same batch wrote).
    pub fn staged<T: DeserializeOwned>(&self, table: &Table<T>, id: &[u8]) -> Option<T> {
        self.leaves(table, id).flatten()
    }

    /// What this batch leaves under `id` in `table`: None when it does not touch it, and
    /// `Some(None)` when it removes it (a read must then not fall back to the store).
    pub fn leaves<T: DeserializeOwned>(&self, table: &Table<T>, id: &[u8]) -> Option<Option<T>> {
        let key = table.key(id);
        let (_, value) = self.ops.iter().rev().find(|(k, _)| *k == key)?;
        Some(value.as_deref().and_then(|b| decode(table, b).ok()))
    }

    /// What this batch leaves under each id of `table` starting with `prefix` that it
    /// touches, in id order: `None` where it removes the record.
    pub fn leaves_prefixed<T: DeserializeOwned>(
        &self,
        table: &Table<T>,
        prefix: &[u8],
    ) -> Vec<(Vec<u8>, Option<T>)> {
        let start = table.key(prefix);
        let table_prefix = table.key(&[]).len();
        let mut last: BTreeMap<&[u8], Option<&[u8]>> = BTreeMap::new();
        for (k, v) in self.ops.iter().filter(|(k, _)| k.starts_with(&start)) {
            last.insert(&k[table_prefix..], v.as_deref());
        }
        last.into_iter()
            .map(|(id, v)| (id.to_vec(), v.and_then(|b| decode(table, b).ok())))
            .collect()
    }

    /// Every value this batch puts in `table` (a check that must see what earlier messages
    /// of the same batch wrote, when it cannot name their ids).
    pub fn staged_all<T: DeserializeOwned>(&self, table: &Table<T>) -> Vec<T> {
        let prefix = table.key(&[]);
        self.ops
            .iter()
            .filter(|(k, _)| k.starts_with(&prefix))
            .filter_map(|(_, v)| v.as_deref().and_then(|b| decode(table, b).ok()))
            .collect()
    }

    /// Removes the record under `id` from `table`.
    pub fn remove<T>(&mut self, table: &Table<T>, id: &[u8]) {
        self.ops.push((table.key(id), None));
    }

    /// Whether this batch writes to `table` already.
    pub fn touches<T>(&self, table: &Table<T>) -> bool {
        self.ops
            .iter()
            .any(|(k, _)| k.first() == Some(&table.prefix))
    }
}

impl super::Store {
    /// Applies a batch atomically and makes it durable before returning.
    ///
    /// If the flush fails, the batch is undone before the error is returned: nothing of it
    /// stays visible to reads, so no acknowledgement can ever be based on writes that did not
    /// reach the disk (a redelivered message is processed again, not taken for a duplicate).
    /// When the undo fails too (the engine refuses all writes), the store is poisoned and
    /// refuses reads until it is reopened. Each key has one writer (case state: the core;
    /// outbox entries: the outbox worker; intake records: the API under its lock), so the
    /// values read for the undo are not raced.
    pub fn commit(&self, batch: WriteBatch) -> Result<()> {
        self.apply(batch, true)
    }

    /// Applies a batch of an index marked unbuilt, as [`Store::commit`] but without reading
    /// what the batch replaces: if the flush fails, the error is returned and the batch is
    /// not undone (the store refuses reads until it reopens; what then reads is what the
    /// engine wrote). Only for the contact index's rebuild, which marks the index unbuilt
    /// first and built last, runs before the node serves and stops its start when it fails,
    /// so a rebuild cut short (by this error or a crash) is done again at the next start.
    /// Those reads were about a third of a rebuild's time (measured by the contacts bench).
    pub(crate) fn commit_unmarked(&self, batch: WriteBatch) -> Result<()> {
        self.apply(batch, false)
    }

    fn apply(&self, batch: WriteBatch, undoable: bool) -> Result<()> {
        let _writing = self.writing();
        let h = self.h()?;
        if batch.is_empty() {
            return Ok(());
        }
        let mut redo = sled::Batch::default();
        let mut undo = sled::Batch::default();
        if undoable {
            // The value a key had before the batch is what the undo restores. Read in the
            // keys' order: a batch's keys are often spread over the store (ids are random),
            // and reads in the order written each walked the tree on their own.
            let mut touched: Vec<&[u8]> = batch.ops.iter().map(|(k, _)| k.as_slice()).collect();
            touched.sort_unstable();
            touched.dedup();
            for key in touched {
                // sled reports a failed background write to the next operation: this read
                // may be the first to learn that writes fail.
                match self.seen(h.data.get(key).map_err(StoreError::from))? {
                    Some(old) => undo.insert(key, old),
                    None => undo.remove(key),
                }
            }
        }
        for (key, value) in &batch.ops {
            match value {
                Some(v) => redo.insert(key.clone(), v.clone()),
                None => redo.remove(key.clone()),
            }
        }
        let applied = h.data.apply_batch(redo);
        // Counted once the records changed (and again if undone), so that a reader that
        // saw a count before a change never takes what it read after as current.
        self.count_changes(&batch);
        if let Err(e) = applied {
            let e = StoreError::from(e);
            self.write_failed(&e);
            return Err(e);
        }
        if let Err(e) = self.flush() {
            if undoable {
                if let Err(undo_err) = h.data.apply_batch(undo) {
                    tracing::error!("could not undo a batch whose flush failed: {undo_err}");
                }
                self.count_changes(&batch);
            }
            return Err(e);
        }
        Ok(())
    }

    fn count_changes(&self, batch: &WriteBatch) {
        let mut touched = [false; 256];
        for (key, _) in &batch.ops {
            if let Some(p) = key.first() {
                touched[usize::from(*p)] = true;
            }
        }
        for (p, t) in touched.iter().enumerate() {
            if *t {
                self.changes[p].fetch_add(1, Ordering::SeqCst);
            }
        }
    }
}
