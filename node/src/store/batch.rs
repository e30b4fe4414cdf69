//! A batch of writes, applied whole by [`super::Store::commit`], that later checks of the same
//! batch read back.

use super::codec::encode;
use super::{Result, StoreError, Table, decode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;

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
