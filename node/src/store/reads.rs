//! Reads of the data tree's tables: one record, ranges and prefixes of ids, counts, and
//! records streamed in id order.

use super::codec::decode_any;
use super::{Result, Store, StoreError, Table, decode};
use serde::de::DeserializeOwned;

impl Store {
    /// The record under `id` in `table`.
    pub fn get<T: DeserializeOwned>(&self, table: &Table<T>, id: &[u8]) -> Result<Option<T>> {
        let h = self.h()?;
        self.seen(match h.data.get(table.key(id)) {
            Err(e) => Err(e.into()),
            Ok(None) => Ok(None),
            Ok(Some(v)) => decode(table, &v).map(Some),
        })
    }

    /// The record under `id` read as `T`, or else as the type `U` it had before (a migration
    /// reads records written before and after their type changed): `Ok` and `Err` say which.
    pub fn get_either<T: DeserializeOwned, U: DeserializeOwned>(
        &self,
        table: &Table<T>,
        id: &[u8],
    ) -> Result<Option<std::result::Result<T, U>>> {
        let h = self.h()?;
        self.seen(match h.data.get(table.key(id)) {
            Err(e) => Err(e.into()),
            Ok(None) => Ok(None),
            Ok(Some(v)) => match decode_any::<T>(&v) {
                Ok(now) => Ok(Some(Ok(now))),
                Err(_) => decode_any::<U>(&v)
                    .map(|before| Some(Err(before)))
                    .map_err(|e| StoreError::Corrupt(format!("{}: {e}", table.name))),
            },
        })
    }

    /// Whether `table` holds a record under `id`.
    pub fn contains<T>(&self, table: &Table<T>, id: &[u8]) -> Result<bool> {
        let h = self.h()?;
        self.seen(h.data.contains_key(table.key(id)).map_err(StoreError::from))
    }

    /// How many records `table` holds. Stops at the first unreadable key: an iterator over a
    /// damaged tree may return the same error forever.
    pub fn count<T>(&self, table: &Table<T>) -> Result<usize> {
        let h = self.h()?;
        self.count_keys(h.data.scan_prefix([table.prefix]).keys())
    }

    /// Every record of `table` whose id starts with `id_prefix`, in id order.
    pub fn scan<T: DeserializeOwned>(&self, table: &Table<T>, id_prefix: &[u8]) -> Result<Vec<T>> {
        let h = self.h()?;
        self.seen(
            h.data
                .scan_prefix(table.key(id_prefix))
                .values()
                .map(|v| decode(table, &v?))
                .collect(),
        )
    }

    /// The ids of `table` from the `skip`-th on, at most `n` of them, in id order (keys only).
    pub fn ids_after<T>(&self, table: &Table<T>, skip: usize, n: usize) -> Result<Vec<Vec<u8>>> {
        self.ids_in(table, &[], skip, n)
    }

    /// The ids of `table` that start with `id_prefix`, from the `skip`-th on, at most `n` of
    /// them, in id order (keys only).
    pub fn ids_in<T>(
        &self,
        table: &Table<T>,
        id_prefix: &[u8],
        skip: usize,
        n: usize,
    ) -> Result<Vec<Vec<u8>>> {
        let h = self.h()?;
        let mut out = Vec::with_capacity(n.min(4096));
        for k in h
            .data
            .scan_prefix(table.key(id_prefix))
            .keys()
            .skip(skip)
            .take(n)
        {
            let k = self.seen(k.map_err(StoreError::from))?;
            out.push(k[1..].to_vec());
        }
        Ok(out)
    }

    /// The first id of `table` at or above `from` that starts with `id_prefix` (one key read).
    pub fn first_id_from<T>(
        &self,
        table: &Table<T>,
        id_prefix: &[u8],
        from: &[u8],
    ) -> Result<Option<Vec<u8>>> {
        let h = self.h()?;
        let Some(k) = h.data.range(table.key(from)..).keys().next() else {
            return Ok(None);
        };
        let k = self.seen(k.map_err(StoreError::from))?;
        // Past the table's last id comes the next table's first key.
        Ok((k[0] == table.prefix() && k[1..].starts_with(id_prefix)).then(|| k[1..].to_vec()))
    }

    /// At most `n` records of `table` at or above `from` that start with `id_prefix`, with
    /// their ids, in id order: a cursor over one prefix, read a chunk at a time.
    pub fn entries_from<T: DeserializeOwned>(
        &self,
        table: &Table<T>,
        id_prefix: &[u8],
        from: &[u8],
        n: usize,
    ) -> Result<Vec<(Vec<u8>, T)>> {
        let h = self.h()?;
        let mut out = Vec::with_capacity(n.min(256));
        for kv in h.data.range(table.key(from)..) {
            if out.len() == n {
                break;
            }
            let (k, v) = self.seen(kv.map_err(StoreError::from))?;
            if k[0] != table.prefix() || !k[1..].starts_with(id_prefix) {
                break;
            }
            out.push((k[1..].to_vec(), self.seen(decode(table, &v))?));
        }
        Ok(out)
    }

    /// The record of `table` with the greatest id at or below `at` among those starting with
    /// `id_prefix` (which `at` starts with too; None otherwise), with its id.
    pub fn entry_at_or_below<T: DeserializeOwned>(
        &self,
        table: &Table<T>,
        id_prefix: &[u8],
        at: &[u8],
    ) -> Result<Option<(Vec<u8>, T)>> {
        if !at.starts_with(id_prefix) {
            return Ok(None);
        }
        let h = self.h()?;
        let Some(kv) = h
            .data
            .range(table.key(id_prefix)..=table.key(at))
            .next_back()
        else {
            return Ok(None);
        };
        let (k, v) = self.seen(kv.map_err(StoreError::from))?;
        Ok(Some((k[1..].to_vec(), self.seen(decode(table, &v))?)))
    }

    /// At most `n` ids of `table` at or above `from` that start with `id_prefix`, in id order
    /// (keys only): a cursor over one prefix, read a chunk at a time.
    pub fn ids_from<T>(
        &self,
        table: &Table<T>,
        id_prefix: &[u8],
        from: &[u8],
        n: usize,
    ) -> Result<Vec<Vec<u8>>> {
        let h = self.h()?;
        let mut out = Vec::with_capacity(n.min(4096));
        for k in h.data.range(table.key(from)..).keys() {
            if out.len() == n {
                break;
            }
            let k = self.seen(k.map_err(StoreError::from))?;
            if k[0] != table.prefix() || !k[1..].starts_with(id_prefix) {
                break;
            }
            out.push(k[1..].to_vec());
        }
        Ok(out)
    }

    /// The records of `table` whose ids are at or above `lower` and below `upper`, with their
    /// ids, in id order.
    pub fn entries_between<T: DeserializeOwned>(
        &self,
        table: &Table<T>,
        lower: &[u8],
        upper: &[u8],
    ) -> Result<Vec<(Vec<u8>, T)>> {
        let h = self.h()?;
        let mut out = Vec::new();
        for kv in h.data.range(table.key(lower)..table.key(upper)) {
            let (k, v) = self.seen(kv.map_err(StoreError::from))?;
            out.push((k[1..].to_vec(), self.seen(decode(table, &v))?));
        }
        Ok(out)
    }

    /// How many ids of `table` are at or above `lower` and below `upper` (keys only).
    pub fn count_between<T>(&self, table: &Table<T>, lower: &[u8], upper: &[u8]) -> Result<usize> {
        let h = self.h()?;
        self.count_keys(h.data.range(table.key(lower)..table.key(upper)).keys())
    }

    /// How many ids of `table` start with `id_prefix` (keys only).
    pub fn count_prefixed<T>(&self, table: &Table<T>, id_prefix: &[u8]) -> Result<usize> {
        let h = self.h()?;
        self.count_keys(h.data.scan_prefix(table.key(id_prefix)).keys())
    }

    /// The ids of `table` that start with `id_prefix`, in id order (keys only); None as soon
    /// as there are more than `max`, so that a caller can look for a smaller set instead.
    pub fn ids_prefixed<T>(
        &self,
        table: &Table<T>,
        id_prefix: &[u8],
        max: usize,
    ) -> Result<Option<Vec<Vec<u8>>>> {
        let h = self.h()?;
        self.ids_up_to(h.data.scan_prefix(table.key(id_prefix)).keys(), max)
    }

    /// Whether any id of `table` starts with `id_prefix` (reads one key at most).
    pub fn any_prefixed<T>(&self, table: &Table<T>, id_prefix: &[u8]) -> Result<bool> {
        Ok(self.ids_prefixed(table, id_prefix, 0)?.is_none())
    }

    /// The ids of `table` below `upper` (byte order), in id order (keys only); None as soon
    /// as there are more than `max`.
    pub fn ids_below<T>(
        &self,
        table: &Table<T>,
        upper: &[u8],
        max: usize,
    ) -> Result<Option<Vec<Vec<u8>>>> {
        let h = self.h()?;
        self.ids_up_to(h.data.range(table.key(&[])..table.key(upper)).keys(), max)
    }

    /// The ids of `table` from `lower` up to (not including) `upper` (byte order), in id
    /// order (keys only); None as soon as there are more than `max`.
    pub fn ids_between<T>(
        &self,
        table: &Table<T>,
        lower: &[u8],
        upper: &[u8],
        max: usize,
    ) -> Result<Option<Vec<Vec<u8>>>> {
        let h = self.h()?;
        self.ids_up_to(h.data.range(table.key(lower)..table.key(upper)).keys(), max)
    }

    /// How many keys an iterator gives, stopping at the first unreadable one: an iterator
    /// over a damaged tree may return the same error forever.
    fn count_keys(&self, keys: impl Iterator<Item = sled::Result<sled::IVec>>) -> Result<usize> {
        let mut n = 0;
        for k in keys {
            self.seen(k.map_err(StoreError::from))?;
            n += 1;
        }
        Ok(n)
    }

    /// The ids (keys without their table prefix) an iterator gives; None as soon as there are
    /// more than `max`.
    fn ids_up_to(
        &self,
        keys: impl Iterator<Item = sled::Result<sled::IVec>>,
        max: usize,
    ) -> Result<Option<Vec<Vec<u8>>>> {
        let mut out = Vec::new();
        for k in keys {
            if out.len() == max {
                return Ok(None);
            }
            let k = self.seen(k.map_err(StoreError::from))?;
            out.push(k[1..].to_vec());
        }
        Ok(Some(out))
    }

    /// Calls `f` with every record of `table` whose id starts with `id_prefix`, in id order,
    /// one at a time (memory does not grow with the table).
    pub fn for_each<T: DeserializeOwned>(
        &self,
        table: &Table<T>,
        id_prefix: &[u8],
        mut f: impl FnMut(T),
    ) -> Result<()> {
        let h = self.h()?;
        for v in h.data.scan_prefix(table.key(id_prefix)).values() {
            let v = self.seen(v.map_err(StoreError::from))?;
            f(decode(table, &v)?);
        }
        Ok(())
    }

    /// Calls `f` with every record of `table` and its id, in id order, one at a time (memory
    /// does not grow with the table; `f` may read the store), until `f` or the store fails.
    pub fn try_for_each<T: DeserializeOwned>(
        &self,
        table: &Table<T>,
        mut f: impl FnMut(Vec<u8>, T) -> Result<()>,
    ) -> Result<()> {
        let h = self.h()?;
        for kv in h.data.scan_prefix(table.key(&[])) {
            let (k, v) = self.seen(kv.map_err(StoreError::from))?;
            f(k[1..].to_vec(), self.seen(decode(table, &v))?)?;
        }
        Ok(())
    }

    /// Every record of `table` with its id, in id order.
    pub fn scan_with_ids<T: DeserializeOwned>(
        &self,
        table: &Table<T>,
    ) -> Result<Vec<(Vec<u8>, T)>> {
        self.scan_with_ids_prefixed(table, &[])
    }

    /// Every record of `table` whose id starts with `id_prefix`, with its id, in id order.
    pub fn scan_with_ids_prefixed<T: DeserializeOwned>(
        &self,
        table: &Table<T>,
        id_prefix: &[u8],
    ) -> Result<Vec<(Vec<u8>, T)>> {
        let h = self.h()?;
        self.seen(
            h.data
                .scan_prefix(table.key(id_prefix))
                .map(|kv| {
                    let (k, v) = kv?;
                    Ok((k[1..].to_vec(), decode(table, &v)?))
                })
                .collect(),
        )
    }
}
