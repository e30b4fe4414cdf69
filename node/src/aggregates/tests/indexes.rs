//! The indexes kept in lists: rebuilt from the states in blocks, equal to what was kept
//! incrementally, and built at the first start of a store counted before them.

use super::*;

/// The ids (list name, then key) that `entries` gives `states`, sorted: what a one-record-
/// per-id index held, and what the lists read as.
fn ids_of<const N: usize>(states: &[CaseState], entries: Entries<N>) -> Vec<Vec<u8>> {
    let mut ids: Vec<Vec<u8>> = states
        .iter()
        .flat_map(entries)
        .map(|(term, key)| [term.as_slice(), &key].concat())
        .collect();
    ids.sort();
    ids
}

/// Each index kept in lists holds exactly the entries of `states`, in blocks that keep the
/// lists' invariants.
pub(super) fn assert_lists_hold(store: &Store, states: &[CaseState]) {
    fn one<const N: usize>(
        store: &Store,
        lists: &lists::Lists<N>,
        entries: Entries<N>,
        states: &[CaseState],
    ) {
        assert_eq!(
            lists.ids_prefixed(store, &[], usize::MAX).expect("read"),
            Some(ids_of(states, entries)),
            "{}",
            lists.table().name()
        );
        lists::tests::check(lists, store, lists::BLOCK);
    }
    one(store, &terms::LISTS, terms::entries, states);
    one(store, &opened::LISTS, opened::entries, states);
    one(store, &due::LISTS, due::entries, states);
    one(store, &due::BY_PARTY, due::party_entries, states);
    one(store, &due::SETTLED, due::settled_entries, states);
}

/// A database of an earlier release holds one record per id in the search index (before
/// version 10) and in the due-date and open-case indexes (before version 11), with no value
/// a block could be read from: the first start rebuilds them all in blocks.
#[test]
fn indexes_of_an_earlier_release_are_rebuilt_in_blocks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = crate::schema::open(&dir.path().join("db")).expect("store");
    let states = states_of_one_case(3);
    let state = states.last().expect("state");
    let mut batch = WriteBatch::new();
    crate::cases::put_record(&mut batch, state, &[]).expect("put");
    // As version 9 wrote them: the id, and the unit value.
    type Old = crate::store::Table<()>;
    const OLD: [Old; 4] = [
        Old::new(b'T', "old terms"),
        Old::new(b'N', "old open cases"),
        Old::new(b'D', "old due dates"),
        Old::new(b'Y', "old due dates by party"),
    ];
    let one = std::slice::from_ref(state);
    let ids = [
        ids_of(one, terms::entries),
        ids_of(one, opened::entries),
        ids_of(one, due::entries),
        ids_of(one, due::party_entries),
    ];
    for (table, ids) in OLD.iter().zip(&ids) {
        assert!(
            !ids.is_empty(),
            "{}: the case is open and owes something",
            table.name()
        );
        for id in ids {
            batch.put(table, id, &()).expect("put");
        }
    }
    batch
        .put(&schema::AGGREGATES, BUILT.as_bytes(), &9i64)
        .expect("put");
    store.commit(batch).expect("commit");
    // Control: the old records are not blocks, so no list can be read from them.
    assert!(terms::LISTS.count(&store, &[]).is_err());
    assert!(opened::LISTS.count(&store, &[]).is_err());
    assert!(due::LISTS.count(&store, &[]).is_err());
    assert!(due::BY_PARTY.count(&store, &[]).is_err());
    assert!(ensure_built(&store).expect("rebuilt"));
    assert_lists_hold(&store, one);
    // One block per list now, and a word search finds the case.
    assert_eq!(store.count(&schema::TERMS).expect("count"), ids[0].len());
    assert_eq!(store.count(&schema::OPENED).expect("count"), 1);
    let key = opened::key(state.opened_at, &state.case_ref);
    let term0 = &ids[0][0][..ids[0][0].len() - opened::KEY_LEN];
    assert!(terms::LISTS.contains(&store, term0, &key).expect("read"));
}

/// A rebuild writes the lists in key order: they equal what was kept incrementally, and a
/// term every case holds takes as few blocks as can hold it (the order of the states, by
/// case, would leave them part full). Every index kept in lists takes a record per block,
/// not per case, and its blocks are at least half full on average.
#[test]
fn a_rebuild_writes_full_blocks_and_the_same_lists() {
    let f = fixture();
    let dir = tempfile::tempdir().expect("tempdir");
    let store = crate::schema::open(&dir.path().join("db")).expect("store");
    let certificates: Vec<MembershipCertificate> = f.certs.values().cloned().collect();
    let parties: Vec<&OrgKeys> = f.parties.iter().collect();
    let cast = crate::demo::generate::Cast {
        network_id: f.network.id(),
        cso: &f.cso,
        parties: &parties,
        certificates: &certificates,
        from: T0,
        until: T0.plus_days(400),
    };
    let n = 20 * lists::BLOCK + 5;
    crate::demo::generate::generate(&store, &cast, n as u64, 7, &mut |_| {}).expect("generate");
    let kept = terms::LISTS
        .ids_prefixed(&store, &[], usize::MAX)
        .expect("read");
    let sample = b"w:sample\0";
    assert_eq!(terms::LISTS.count(&store, sample).expect("count"), n);
    let states: Vec<CaseState> = crate::cases::states(&store).expect("states");
    let few_records = |store: &Store| {
        for (table, entries) in [
            (&schema::OPENED, ids_of(&states, opened::entries).len()),
            (&schema::DUE, ids_of(&states, due::entries).len()),
            (
                &schema::PARTY_DUE,
                ids_of(&states, due::party_entries).len(),
            ),
            (
                &schema::PARTY_SETTLED,
                ids_of(&states, due::settled_entries).len(),
            ),
        ] {
            let records = store.count(table).expect("count");
            assert!(
                entries > 4 * lists::BLOCK && records <= entries.div_ceil(lists::BLOCK / 2),
                "{}: {records} records for {entries} entries",
                table.name()
            );
        }
    };
    few_records(&store);
    // Read across many blocks, the due dates count and list what the states owe.
    assert!(
        assert_due_reads(&store, &states, 61) > 0,
        "something is overdue"
    );
    rebuild_indexes_in(&store, 50).expect("rebuild");
    assert_eq!(
        terms::LISTS
            .ids_prefixed(&store, &[], usize::MAX)
            .expect("read"),
        kept
    );
    assert_lists_hold(&store, &states);
    few_records(&store);
    assert_eq!(
        store.count_prefixed(&schema::TERMS, sample).expect("count"),
        n.div_ceil(lists::BLOCK)
    );
}

/// A store of the release before the lists of the cases each party owes nothing in (cells
/// counted at version 13) gets them at its first start: the inbox reads them.
#[test]
fn a_store_counted_before_the_settled_lists_builds_them_at_its_first_start() {
    let f = crate::inbox::tests::fixture();
    let (_dir, store) = crate::inbox::tests::store_with(&f, 40);
    let held = due::SETTLED.count(&store, &[]).expect("count");
    assert!(held > 0, "control: some cases owe nothing");
    empty(&store, &schema::PARTY_SETTLED).expect("emptied");
    let mut batch = WriteBatch::new();
    batch
        .put(&schema::AGGREGATES, BUILT.as_bytes(), &13i64)
        .expect("put");
    store.commit(batch).expect("commit");
    assert_eq!(due::SETTLED.count(&store, &[]).expect("count"), 0);
    assert!(ensure_built(&store).expect("recounted"));
    assert_eq!(due::SETTLED.count(&store, &[]).expect("count"), held);
}
