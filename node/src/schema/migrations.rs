//! The migrations between schema versions, and the removal of a table's records they (and
//! the rebuild of an index) run in flushed batches.

use super::*;

/// One migration: rewrites a database of version `from` into version `from + 1`.
pub struct Migration {
    /// The version it starts from.
    pub from: u32,
    /// What it changes, for the log.
    pub what: &'static str,
    /// The rewrite (commits its own batches; must be safe to run again if interrupted).
    pub run: fn(&Store) -> Result<(), StoreError>,
}

/// Every migration, oldest first. The next schema change adds one here and bumps
/// [`SCHEMA_VERSION`].
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        from: 1,
        what: "records are written in the binary encoding from now on (JSON ones still read; a release before it cannot read them, so it must refuse this database)",
        run: |_| Ok(()),
    },
    Migration {
        from: 2,
        what: "each case's heads move into its state's record (one record fewer per case); the case index is no longer written, and the core's start-up check empties it as it makes sure each listed case has its state and heads (a release before it cannot read the states as they are now, so it must refuse this database)",
        run: |store| {
            fold_heads(store)?;
            remove_all(store, &HEADS)
        },
    },
    Migration {
        from: 3,
        what: "case events are written compressed against a dictionary of sample events, and the stored ones are rewritten so, then compacted away at the node's next start (a release before it cannot read them, so it must refuse this database)",
        run: |store| {
            if store.repack(&EVENTS, MIGRATION_CHUNK)? > 0 {
                store.mark_compaction_due()?;
            }
            Ok(())
        },
    },
    Migration {
        from: 4,
        what: "a CSO's contact list is indexed as contacts are recorded and erased; the node builds the index from the stored contacts at its start, with the vault (a release before it would record contacts without it, so it must refuse this database)",
        run: |_| Ok(()),
    },
];

/// Records a migration reads or writes per batch.
const MIGRATION_CHUNK: usize = 5_000;

/// Moves each case's heads into its state's record, in flushed batches (a record already
/// moved is left alone, so an interrupted run can run again). A state without heads gets
/// none: the core's start-up check builds them.
fn fold_heads(store: &Store) -> Result<(), StoreError> {
    let mut from = Vec::new();
    loop {
        let ids = store.ids_from(&CASE_STATES, &[], &from, MIGRATION_CHUNK)?;
        let Some(last) = ids.last() else {
            return Ok(());
        };
        from = [last.as_slice(), &[0]].concat();
        let mut batch = crate::store::WriteBatch::new();
        for id in &ids {
            if let Some(Err(state)) = store.get_either::<CaseRecord, CaseState>(&CASE_STATES, id)? {
                let heads = store.get(&HEADS, id)?.unwrap_or_default();
                batch.put(&CASE_STATES, id, &CaseRecord { state, heads })?;
                batch.remove(&HEADS, id);
            }
        }
        store.commit(batch)?;
    }
}

/// Removes every record of `table`, in flushed batches (run again after an interruption, it
/// removes what is left).
pub(crate) fn remove_all<T>(store: &Store, table: &Table<T>) -> Result<(), StoreError> {
    remove_all_by(store, table, Store::commit)
}

/// Removes every record of a table of an index marked unbuilt, as a rebuild does first
/// ([`Store::commit_unmarked`]).
pub(crate) fn remove_all_unmarked<T>(store: &Store, table: &Table<T>) -> Result<(), StoreError> {
    remove_all_by(store, table, Store::commit_unmarked)
}

fn remove_all_by<T>(
    store: &Store,
    table: &Table<T>,
    commit: fn(&Store, crate::store::WriteBatch) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    loop {
        let ids = store.ids_after(table, 0, MIGRATION_CHUNK)?;
        if ids.is_empty() {
            return Ok(());
        }
        let mut batch = crate::store::WriteBatch::new();
        for id in &ids {
            batch.remove(table, id);
        }
        commit(store, batch)?;
    }
}

pub(super) fn migrate(
    store: &Store,
    target: u32,
    migrations: &[Migration],
) -> Result<(), StoreError> {
    let Some(mut version) = store.schema_version()? else {
        return store.set_schema_version(target);
    };
    if version > target {
        return Err(StoreError::NewerSchema {
            found: version,
            supported: target,
        });
    }
    while version < target {
        let step = migrations
            .iter()
            .find(|m| m.from == version)
            .ok_or_else(|| {
                StoreError::Corrupt(format!("no migration from schema version {version}"))
            })?;
        tracing::info!(from = version, "migrating the database: {}", step.what);
        (step.run)(store)?;
        version += 1;
        store.set_schema_version(version)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::WriteBatch;

    #[test]
    fn a_newer_database_is_refused_with_a_clear_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("db");
        {
            let s = open(&path).expect("create");
            assert_eq!(s.schema_version().expect("version"), Some(SCHEMA_VERSION));
            s.set_schema_version(SCHEMA_VERSION + 1).expect("force");
        }
        match open(&path) {
            Err(e @ StoreError::NewerSchema { .. }) => {
                assert!(e.to_string().contains("upgrade ilm"), "{e}")
            }
            Err(e) => panic!("unexpected error {e}"),
            Ok(_) => panic!("a newer database was opened"),
        }
    }

    /// Opening a version 2 database moves each case's heads into its state's record (a state
    /// without heads gets none) and removes the heads, over more than one batch, and changes
    /// nothing else; run again, the migration changes nothing.
    #[test]
    fn a_version_2_database_gets_one_record_per_case() {
        const V2_STATES: Table<CaseState> = Table::new(b'C', "case states (version 2)");
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("db");
        let state = crate::aggregates::tests::states_of_one_case(2).remove(1);
        let n: u32 = 5_003;
        let case = |i: u32| {
            let mut b = [0u8; 16];
            b[..4].copy_from_slice(&i.to_be_bytes());
            CaseRef(b)
        };
        let heads_of = |i: u32| vec![ilm_protocol::Digest([i as u8; 32])];
        {
            let s = Store::open_unversioned(&path).expect("create");
            s.set_schema_version(2).expect("version");
            let mut batch = WriteBatch::new();
            for i in 0..n {
                let mut st = state.clone();
                st.case_ref = case(i);
                batch.put(&V2_STATES, case(i).as_bytes(), &st).expect("put");
                if i != 7 {
                    batch
                        .put(&HEADS, case(i).as_bytes(), &heads_of(i))
                        .expect("put");
                }
                let meta = CaseMeta {
                    case_ref: case(i),
                    first_seen: ilm_protocol::Timestamp(1_800_000_000),
                };
                batch.put(&CASES, case(i).as_bytes(), &meta).expect("put");
            }
            batch
                .put(&PRUNED, PRUNED_ID, &crate::records::Pruned::default())
                .expect("put");
            s.commit(batch).expect("commit");
        }
        let s = open(&path).expect("migrate");
        assert_eq!(s.schema_version().expect("version"), Some(SCHEMA_VERSION));
        let check = |s: &Store| {
            assert_eq!(
                s.count(&CASES).expect("count"),
                n as usize,
                "kept for the core's start-up check"
            );
            assert_eq!(s.count(&HEADS).expect("count"), 0);
            assert_eq!(s.count(&CASE_STATES).expect("count"), n as usize);
            for i in [0, 7, 4_999, 5_000, n - 1] {
                let r = crate::cases::record_of(s, &case(i))
                    .expect("read")
                    .expect("record");
                assert_eq!(r.state.case_ref, case(i));
                assert_eq!(r.state.events, state.events);
                let want = if i == 7 { Vec::new() } else { heads_of(i) };
                assert_eq!(r.heads, want, "case {i}");
            }
            assert_eq!(s.count(&PRUNED).expect("count"), 1, "other tables are kept");
        };
        check(&s);
        // Interrupted and run again: every record is already moved.
        (MIGRATIONS[1].run)(&s).expect("again");
        check(&s);
    }

    /// Opening a version 3 database rewrites its case events compressed, over more than one
    /// batch: each reads back with the bytes that were signed, and nothing is left to rewrite.
    #[test]
    fn a_version_3_database_gets_its_events_compressed() {
        const V3_EVENTS: Table<SignedRecord> = Table::new(b'e', "case events (version 3)");
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("db");
        let events = crate::aggregates::tests::events_of_one_case();
        let n = MIGRATION_CHUNK + 3;
        let id = |i: usize| (i as u32).to_be_bytes();
        let write_v3 = |s: &Store| {
            let mut batch = WriteBatch::new();
            for i in 0..n {
                batch
                    .put(&V3_EVENTS, &id(i), &events[i % events.len()])
                    .expect("put");
            }
            s.commit(batch).expect("commit");
        };
        {
            let s = Store::open_unversioned(&path).expect("create");
            s.set_schema_version(3).expect("version");
            write_v3(&s);
            // Control: these are records the rewrite would change.
            assert_eq!(s.repack(&EVENTS, n).expect("count"), n as u64);
            write_v3(&s);
        }
        let s = open(&path).expect("migrate");
        assert_eq!(s.schema_version().expect("version"), Some(SCHEMA_VERSION));
        assert_eq!(s.repack(&EVENTS, n).expect("none left"), 0);
        assert!(
            s.compaction_due().expect("flag"),
            "the old copies leave at this start"
        );
        assert_eq!(s.count(&EVENTS).expect("count"), n);
        for i in [0, 1, MIGRATION_CHUNK, n - 1] {
            let rec = s.get(&EVENTS, &id(i)).expect("read").expect("event");
            assert_eq!(rec.body, events[i % events.len()].body);
            assert!(rec.verify::<ilm_protocol::event::CaseEvent>().is_ok());
        }
    }

    /// The hook runs every step from the stored version up, in order, and records each.
    #[test]
    fn older_databases_are_migrated_step_by_step() {
        const OLD: Table<String> = Table::new(b'x', "old");
        const NEW: Table<String> = Table::new(b'y', "new");
        fn rename(store: &Store) -> Result<(), StoreError> {
            let mut batch = WriteBatch::new();
            for (id, v) in store.scan_with_ids(&OLD)? {
                batch.remove(&OLD, &id);
                batch.put(&NEW, &id, &v.to_uppercase())?;
            }
            store.commit(batch)
        }
        fn append(store: &Store) -> Result<(), StoreError> {
            let mut batch = WriteBatch::new();
            for (id, v) in store.scan_with_ids(&NEW)? {
                batch.put(&NEW, &id, &format!("{v}!"))?;
            }
            store.commit(batch)
        }
        let steps = [
            Migration {
                from: 1,
                what: "rename",
                run: rename,
            },
            Migration {
                from: 2,
                what: "append",
                run: append,
            },
        ];
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open_unversioned(&dir.path().join("db")).expect("open");
        store.set_schema_version(1).expect("version");
        let mut batch = WriteBatch::new();
        batch.put(&OLD, b"a", &"value".to_string()).expect("put");
        store.commit(batch).expect("commit");
        migrate(&store, 3, &steps).expect("migrate");
        assert_eq!(store.schema_version().expect("version"), Some(3));
        assert_eq!(
            store.get(&NEW, b"a").expect("get"),
            Some("VALUE!".to_string())
        );
        assert_eq!(store.count(&OLD).expect("count"), 0);
        // Positive control: a version with no migration is an error, not a silent skip.
        store.set_schema_version(0).expect("version");
        assert!(migrate(&store, 3, &steps).is_err());
    }
}
