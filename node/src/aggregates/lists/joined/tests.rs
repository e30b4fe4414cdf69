//! A join gives the keys every list holds between its bounds, in order, each once; and
//! reads a chunk per stretch of keys, not a seek per key of the first list.

use super::*;
use crate::aggregates::lists::merged::tests::{KEY_LEN, Key, L, key, name, store, write};
use proptest::prelude::*;
use std::collections::BTreeSet;

/// The keys the join of the first `count` lists gives between `bounds`, and what it read.
fn joined(store: &Store, count: usize, bounds: (&[u8], &[u8])) -> (Vec<Key>, Read) {
    let names: Vec<Vec<u8>> = (0..count).map(name).collect();
    let names: Vec<&[u8]> = names.iter().map(Vec::as_slice).collect();
    let mut out = Vec::new();
    let read = each_key_on_all(store, &L, &names, bounds, |k| {
        out.push(*k);
        Ok(true)
    })
    .expect("join");
    (out, read)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the lists and bounds, the keys every list holds from the lower bound (in)
    /// to the upper (out), in order, each once.
    #[test]
    fn a_join_gives_the_keys_every_list_holds_between_its_bounds(
        lists in prop::collection::vec(prop::collection::btree_set(0u32..600, 0..300), 1..4),
        lower in 0u32..700,
        span in 0u32..700,
        cut in 0usize..=KEY_LEN,
    ) {
        let (_dir, store) = store();
        let lists: Vec<Vec<u32>> = lists.into_iter().map(|l| l.into_iter().collect()).collect();
        write(&store, &lists);
        // Bounds of any length: a key's first bytes (none: from the list's start), or a
        // key and a byte more.
        let (lo, hi) = (key(lower), key(lower.saturating_add(span)));
        let (lo, hi): (Vec<u8>, Vec<u8>) = if cut == KEY_LEN {
            ([lo.as_slice(), &[0]].concat(), hi.to_vec())
        } else {
            (lo[..cut].to_vec(), hi[..cut].to_vec())
        };
        let mut every: BTreeSet<u32> = lists[0].iter().copied().collect();
        for l in &lists[1..] {
            every = every.intersection(&l.iter().copied().collect()).copied().collect();
        }
        let want: Vec<Key> = every
            .into_iter()
            .map(key)
            .filter(|k| k.as_slice() >= lo.as_slice() && k.as_slice() < hi.as_slice())
            .collect();
        let (got, _) = joined(&store, lists.len(), (&lo, &hi));
        prop_assert_eq!(got, want);
    }
}

/// A join stops when told to, after the key it was told at.
#[test]
fn a_join_stops_when_told() {
    let (_dir, store) = store();
    write(&store, &[(0..100).collect(), (0..100).step_by(2).collect()]);
    let names = [name(0), name(1)];
    let names: Vec<&[u8]> = names.iter().map(Vec::as_slice).collect();
    let mut seen = Vec::new();
    each_key_on_all(&store, &L, &names, (&[], &[0xFF; KEY_LEN + 1]), |k| {
        seen.push(*k);
        Ok(seen.len() < 3)
    })
    .expect("join");
    assert_eq!(seen, vec![key(0), key(2), key(4)]);
}

/// Two long lists sharing every other key of the first, then a first list of many keys
/// and another of a few far apart: each is read a chunk at a time, with a leap where the
/// other lacks many keys, not a seek per key of the first (2,000 here).
#[test]
fn a_join_reads_chunks_not_a_seek_per_key() {
    let (_dir, store) = store();
    let first: Vec<u32> = (0..2_000).collect();
    let interleaved: Vec<u32> = (0..2_000).map(|n| n * 2 + n % 2).collect();
    write(&store, &[first, interleaved]);
    let (got, read) = joined(&store, 2, (&[], &[0xFF; KEY_LEN + 1]));
    // The control: the keys both hold, all of them (every even one below 2,000 is 2n for
    // an even n; an odd n gives 2n + 1).
    let want: Vec<Key> = (0..2_000u32)
        .filter(|n| n % 4 == 0 || n % 4 == 3)
        .map(key)
        .collect();
    assert_eq!(got, want);
    // Each list read about once, a chunk or a block at a time: 51 seeks measured, where
    // looking each key of the first up on the other made 2,000.
    assert!(read.seeks <= 60, "{read:?}");
    assert!(read.ids <= 2 * 2_000 + 2 * 256, "{read:?}");

    let (_other, store) = self::store();
    let sparse: Vec<u32> = (0..20).map(|n| n * 100).collect();
    write(&store, &[(0..2_000).collect(), sparse]);
    let (got, read) = joined(&store, 2, (&[], &[0xFF; KEY_LEN + 1]));
    assert_eq!(got, (0..20).map(|n| key(n * 100)).collect::<Vec<_>>());
    // The first list is read past where the other leaps: about a seek per key the other
    // holds (23 measured), where looking each key of the first up on the other made 2,000.
    assert!(read.seeks <= 30, "{read:?}");

    // The few keys first, the many second (as a scorecard names the lists of a set: the
    // facet fewest reports have first): a leap of the second per key of the first, each
    // reading the block it lands in from there (a chunk read on would read 32 ids each,
    // 660 in all), about as many reads as looking the few up made.
    let (_few, store) = self::store();
    write(&store, &[sparse_of(20_000), (0..20_000).collect()]);
    let (got, read) = joined(&store, 2, (&[], &[0xFF; KEY_LEN + 1]));
    assert_eq!(
        got,
        sparse_of(20_000).into_iter().map(key).collect::<Vec<_>>()
    );
    assert!(read.seeks <= 22, "{read:?}");
    // 280 ids: the rest of each block a leap lands in (blocks of 32 written in order).
    assert!(read.ids <= 300, "{read:?}");
}

/// Twenty keys spread over `0..n`.
fn sparse_of(n: u32) -> Vec<u32> {
    (0..20).map(|i| i * (n / 20) + 7).collect()
}
