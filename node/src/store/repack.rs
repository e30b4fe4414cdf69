//! Rewriting a table's records in the encoding the table writes now, after it changed (a
//! table that becomes compressed): every reader reads every encoding, so this only gains
//! space, and a migration can run it in batches while nothing else writes.

use super::codec::{decode_any, is_encoded_as};
use super::{Result, Store, StoreError, Table, WriteBatch};
use serde::Serialize;
use serde::de::DeserializeOwned;

impl Store {
    /// Rewrites every record of `table` not yet in its table's encoding, in flushed batches
    /// of up to `chunk` records, and returns how many it rewrote. A record already rewritten
    /// is left alone, so an interrupted run can run again. A record that does not decode is
    /// refused, naming the table, and the batches before it stay written.
    pub fn repack<T: Serialize + DeserializeOwned>(
        &self,
        table: &Table<T>,
        chunk: usize,
    ) -> Result<u64> {
        let mut rewritten = 0;
        let mut from = table.key(&[]);
        loop {
            let h = self.h()?;
            let mut batch = WriteBatch::new();
            let mut last = None;
            for entry in h.data.range(from.clone()..).take(chunk) {
                let (key, value) = self.seen(entry.map_err(StoreError::from))?;
                if key.first() != Some(&table.prefix) {
                    break;
                }
                if !is_encoded_as(&value, table.dictionary) {
                    let record: T = decode_any(&value)
                        .map_err(|e| StoreError::Corrupt(format!("{}: {e}", table.name)))?;
                    batch.put(table, &key[1..], &record)?;
                }
                last = Some(key);
            }
            let Some(last) = last else {
                return Ok(rewritten);
            };
            rewritten += batch.len() as u64;
            self.commit(batch)?;
            from = [last.as_ref(), &[0]].concat();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Dictionary;

    const PLAIN: Table<String> = Table::new(b'z', "texts");
    const PACKED: Table<String> = Table::compressed(b'z', "texts", Dictionary::CaseEvents);
    const NEXT: Table<String> = Table::new(b'{', "next table");

    fn raw(store: &Store, key: &[u8]) -> Vec<u8> {
        store
            .h()
            .expect("handles")
            .data
            .get(key)
            .expect("get")
            .expect("present")
            .to_vec()
    }

    /// Records written before the table was compressed are rewritten compressed, in batches,
    /// read back the same, and a second run rewrites nothing; the next table is not touched.
    #[test]
    fn a_table_s_old_records_are_rewritten_in_its_encoding() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open_unversioned(&dir.path().join("db")).expect("open");
        let mut batch = WriteBatch::new();
        for i in 0..7u8 {
            batch
                .put(&PLAIN, &[i], &format!("record {i}"))
                .expect("put");
        }
        batch
            .put(&NEXT, b"x", &"neighbour".to_string())
            .expect("put");
        store.commit(batch).expect("commit");
        let mut batch = WriteBatch::new();
        batch
            .put(&PACKED, &[3], &"record 3".to_string())
            .expect("put");
        store.commit(batch).expect("commit");
        let before_neighbour = raw(&store, b"{x");

        assert_eq!(store.repack(&PACKED, 2).expect("repack"), 6, "all but 3");
        for i in 0..7u8 {
            assert!(is_encoded_as(
                &raw(&store, &[b'z', i]),
                Some(Dictionary::CaseEvents)
            ));
            assert_eq!(
                store.get(&PACKED, &[i]).expect("get"),
                Some(format!("record {i}"))
            );
        }
        assert_eq!(raw(&store, b"{x"), before_neighbour);
        assert_eq!(store.repack(&PACKED, 2).expect("again"), 0);
    }

    /// A record that does not decode stops the run with the table's name.
    #[test]
    fn a_damaged_record_is_refused() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open_unversioned(&dir.path().join("db")).expect("open");
        store
            .h()
            .expect("handles")
            .data
            .insert(b"z\x01", &b"\xfe\x00\x00"[..])
            .expect("insert");
        let e = store.repack(&PACKED, 10).expect_err("refused");
        assert!(e.to_string().contains("texts"), "{e}");
    }
}
