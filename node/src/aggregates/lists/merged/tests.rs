//! A merge gives the lists' keys and the fixed ones in order, each once, from where it
//! starts and after any leap; and reads about as many ids as it passes.

use super::*;
use crate::aggregates::lists::Changes;
use crate::schema;
use crate::store::WriteBatch;
use proptest::prelude::*;
use std::collections::BTreeSet;

pub(in crate::aggregates::lists) const KEY_LEN: usize = 24;
pub(in crate::aggregates::lists) type Key = [u8; KEY_LEN];

/// The lists read (merged, joined): the contact index's table.
pub(in crate::aggregates::lists) const L: Lists<KEY_LEN> = Lists::new(&schema::CONTACT_LISTS);

pub(in crate::aggregates::lists) fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = schema::open(&dir.path().join("db")).expect("store");
    (dir, store)
}

/// Key `n`, ascending with `n`.
pub(in crate::aggregates::lists) fn key(n: u32) -> Key {
    let mut k = [0u8; KEY_LEN];
    k[4..8].copy_from_slice(&n.to_be_bytes());
    k
}

/// List `i`'s name (names share starts, as a prefix read would see them).
pub(in crate::aggregates::lists) fn name(i: usize) -> Vec<u8> {
    format!("m:{i:03}\0").into_bytes()
}

/// Stores the lists (each list's keys, by list number).
pub(in crate::aggregates::lists) fn write(store: &Store, lists: &[Vec<u32>]) {
    let mut changes = Changes::<KEY_LEN>::new();
    for (i, keys) in lists.iter().enumerate() {
        for k in keys {
            changes.entry(name(i)).or_default().insert(key(*k), true);
        }
    }
    let mut batch = WriteBatch::new();
    L.stage(store, &mut batch, &changes).expect("stage");
    store.commit(batch).expect("commit");
}

/// Every key the merge gives from here on.
fn rest(store: &Store, m: &mut Merged<KEY_LEN>) -> Vec<Key> {
    std::iter::from_fn(|| m.next(store).expect("next")).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn a_merge_gives_every_key_once_in_order(
        lists in prop::collection::vec(prop::collection::vec(0u32..400, 0..120), 0..6),
        fixed in prop::collection::btree_set(0u32..400, 0..10),
        start in 0u32..100,
        leap in 0u32..450,
    ) {
        let (_dir, store) = store();
        write(&store, &lists);
        // Another list of the table, not merged, is not read.
        write(&store, &[vec![], vec![], vec![], vec![], vec![], vec![], vec![1, 2, 3]]);
        let names: Vec<Vec<u8>> = (0..lists.len()).map(name).collect();
        let fixed: Vec<Key> = fixed.iter().map(|k| key(*k)).collect();
        let want: BTreeSet<Key> = lists
            .iter()
            .flatten()
            .map(|k| key(*k))
            .chain(fixed.iter().copied())
            .filter(|k| *k >= key(start))
            .collect();
        let merged = || Merged::of_lists(&L, names.clone(), fixed.clone(), &key(start));
        let want: Vec<Key> = want.into_iter().collect();
        prop_assert_eq!(rest(&store, &mut merged()), want.clone());
        // After a leap: the keys at or above where it lands.
        let mut m = merged();
        prop_assert_eq!(m.next(&store).expect("next"), want.first().copied());
        let after: Vec<Key> = want.iter().skip(1).filter(|k| **k >= key(leap)).copied().collect();
        prop_assert_eq!(m.seek(&store, &key(leap)).expect("seek"), after.first().copied());
        prop_assert_eq!(rest(&store, &mut m), after);
    }
}

/// A page far into many lists merged (72 lists of 2,000 keys, interleaved, as a sector's
/// lists are by date) reads the ids it passes and a few chunks per list; reading each list
/// up to the page's end, as the contact search did, read them all.
#[test]
fn a_page_far_in_reads_about_the_ids_it_passes() {
    let (_dir, store) = store();
    let (count, each) = (72usize, 2_000u32);
    let lists: Vec<Vec<u32>> = (0..count)
        .map(|i| (0..each).map(|j| j * count as u32 + i as u32).collect())
        .collect();
    write(&store, &lists);
    let names: Vec<Vec<u8>> = (0..count).map(name).collect();
    let mut m = Merged::of_lists(&L, names, Vec::new(), &[0; KEY_LEN]);
    let passed = 5_000usize;
    for n in 0..passed {
        assert_eq!(m.next(&store).expect("next"), Some(key(n as u32)));
    }
    let read = m.ids_read();
    // It counts what it reads: every id passed was read.
    assert!(read >= passed, "{read}");
    // Each list is read in growing chunks: at most one chunk ahead of what was taken.
    assert!(read <= passed + count * CHUNK, "{read} ids read");
    // Far below each list read up to the page's end.
    assert!(read * 10 < count * passed.min(each as usize), "{read}");
}

/// Two streams holding many keys alike, intersected as a wide search does (each leapt to
/// the other's next key, both stepped past a key they share): each is read in chunks, not
/// the block each leap lands in alone.
#[test]
fn streams_intersected_read_growing_chunks() {
    let (_dir, store) = store();
    let (halves, thirds): (Vec<u32>, Vec<u32>) = (
        (0..20_000).map(|n| n * 2).collect(),
        (0..13_334).map(|n| n * 3).collect(),
    );
    write(&store, &[halves, thirds]);
    let mut streams = [
        Merged::of_lists(&L, vec![name(0)], Vec::new(), &[0; KEY_LEN]),
        Merged::of_lists(&L, vec![name(1)], Vec::new(), &[0; KEY_LEN]),
    ];
    let mut shared = Vec::new();
    while let (Some(a), Some(b)) = (
        streams[0].peek(&store).expect("peek"),
        streams[1].peek(&store).expect("peek"),
    ) {
        let target = a.max(b);
        let (a, b) = (
            streams[0].seek(&store, &target).expect("seek"),
            streams[1].seek(&store, &target).expect("seek"),
        );
        if a == Some(target) && b == Some(target) {
            shared.push(target);
            streams[0].next(&store).expect("next");
            streams[1].next(&store).expect("next");
        }
    }
    // The control: every multiple of six, once.
    assert_eq!(shared, (0..6_667).map(|n| key(n * 6)).collect::<Vec<_>>());
    let seeks: usize = streams.iter().map(Merged::seeks).sum();
    let ids: usize = streams.iter().map(Merged::ids_read).sum();
    // 1,050 seeks measured; reading the block each leap lands in alone (as a join's lists
    // do) made 1,875: the leaps land just past what was read.
    assert!(seeks <= 1_100, "{seeks} seeks, {ids} ids");
}
