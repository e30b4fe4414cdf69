//! The lists in blocks read as the one-id-per-case index they replace would, after any
//! sequence of batches, and keep their invariants.

use super::*;
use crate::schema;
use proptest::prelude::*;
use std::collections::BTreeSet;

/// Bytes in a key of the lists tested here (the search index's).
const KEY_LEN: usize = 24;

type Key = [u8; KEY_LEN];

/// The lists tested: the search index's table.
const L: Lists<KEY_LEN> = Lists::new(&schema::TERMS);

/// A store with `schema`'s tables, in a temporary directory.
fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = crate::schema::open(&dir.path().join("db")).expect("store");
    (dir, store)
}

/// Terms sharing starts, so that a prefix read spans several terms' blocks.
const TERMS: [&[u8]; 4] = [b"w:a\0", b"w:ab\0", b"w:abc\0", b"w:b\0"];

fn key(n: u8) -> Key {
    let mut k = [0u8; KEY_LEN];
    k[7] = n;
    k[23] = n.wrapping_mul(7);
    k
}

/// Every block (id and keys) `lists` holds, in id order.
fn blocks<const N: usize>(lists: &Lists<N>, store: &Store) -> Vec<(Vec<u8>, Vec<[u8; N]>)> {
    store
        .scan_with_ids(lists.table())
        .expect("scan")
        .into_iter()
        .map(|(id, b)| (id, b.keys().collect()))
        .collect()
}

/// The invariants the reads rely on (see the module's documentation); returns how many blocks
/// there are.
pub(crate) fn check<const N: usize>(lists: &Lists<N>, store: &Store, most: usize) -> usize {
    let all = blocks(lists, store);
    for (i, (id, keys)) in all.iter().enumerate() {
        assert!(
            !keys.is_empty() && keys.len() <= most,
            "block size {}",
            keys.len()
        );
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "keys ascending");
        assert_eq!(
            key_of::<N>(id),
            Some(keys[0]),
            "the id ends with the first key"
        );
        if let Some((next, next_keys)) = all.get(i + 1)
            && term_of::<N>(next) == term_of::<N>(id)
        {
            assert!(keys[keys.len() - 1] < next_keys[0], "blocks do not overlap");
        }
    }
    all.len()
}

/// The ids a one-id-per-case index would hold, in order.
fn expected<const N: usize>(model: &BTreeSet<(Vec<u8>, [u8; N])>, prefix: &[u8]) -> Vec<Vec<u8>> {
    model
        .iter()
        .map(|(t, k)| id_of(t, k))
        .filter(|id| id.starts_with(prefix))
        .collect()
}

/// A key of `N` bytes for `n` (ascending with `n`).
fn key_n<const N: usize>(n: u8) -> [u8; N] {
    let mut k = [0u8; N];
    k[7] = n;
    k[N - 1] = n.wrapping_mul(7);
    k
}

/// Names of 16 raw bytes, as the due-date lists per party have: zero and 0xff bytes, and
/// names that share all but their last byte.
const PARTIES: [&[u8]; 4] = [&[0; 16], &ONE_AT_END, &[1; 16], &[0xff; 16]];

const ONE_AT_END: [u8; 16] = {
    let mut a = [0u8; 16];
    a[15] = 1;
    a
};

/// One run of the model check: `batches` of (name, key, holds) changes staged into `lists`
/// (blocks of at most `most`), then every read compared with a one-id-per-key model, under
/// each of `prefixes` and each name.
#[allow(clippy::too_many_arguments)]
fn model_check<const N: usize>(
    lists: &Lists<N>,
    names: &[&[u8]],
    prefixes: &[&[u8]],
    batches: &[Vec<(usize, u8, bool)>],
    most: usize,
    from: u8,
    skip: usize,
    (lower, upper): (u8, u8),
) -> Result<(), TestCaseError> {
    let (_dir, store) = store();
    let mut model: BTreeSet<(Vec<u8>, [u8; N])> = BTreeSet::new();
    for ops in batches {
        let mut changes = Changes::<N>::new();
        for (t, k, holds) in ops {
            changes
                .entry(names[*t % names.len()].to_vec())
                .or_default()
                .insert(key_n(*k), *holds);
        }
        for (t, keys) in &changes {
            for (k, holds) in keys {
                if *holds {
                    model.insert((t.clone(), *k));
                } else {
                    model.remove(&(t.clone(), *k));
                }
            }
        }
        let before: Vec<usize> = changes
            .keys()
            .map(|t| lists.count(&store, t).expect("count"))
            .collect();
        let mut batch = WriteBatch::new();
        let grown = lists
            .stage_in(&store, &mut batch, &changes, most)
            .expect("stage");
        store.commit(batch).expect("commit");
        check(lists, &store, most);
        // What each list grew by is what a count of its keys finds.
        for (t, was) in changes.keys().zip(before) {
            let now = lists.count(&store, t).expect("count");
            prop_assert_eq!(now as i64 - was as i64, grown.get(t).copied().unwrap_or(0));
        }
    }
    for prefix in prefixes {
        let want = expected(&model, prefix);
        prop_assert_eq!(
            lists
                .ids_prefixed(&store, prefix, usize::MAX)
                .expect("read"),
            Some(want.clone())
        );
        prop_assert_eq!(lists.count(&store, prefix).expect("count"), want.len());
        if !want.is_empty() {
            prop_assert_eq!(
                lists
                    .ids_prefixed(&store, prefix, want.len() - 1)
                    .expect("read"),
                None
            );
        }
        let from = [prefix, key_n::<N>(from).as_slice()].concat();
        let after: Vec<Vec<u8>> = want.iter().filter(|id| **id >= from).cloned().collect();
        for n in [1, 3, usize::MAX] {
            let got = lists.ids_from(&store, prefix, &from, n).expect("read");
            prop_assert_eq!(&got[..], &after[..after.len().min(n)]);
        }
    }
    for name in names {
        let want = expected(&model, name);
        let key_part = |id: &Vec<u8>| id[name.len()..].to_vec();
        for n in 0..40u8 {
            let k = key_n::<N>(n);
            prop_assert_eq!(
                lists.contains(&store, name, &k).expect("read"),
                model.contains(&(name.to_vec(), k))
            );
            let before = want.iter().filter(|id| key_part(id) < k.to_vec()).count();
            prop_assert_eq!(
                lists.count_between(&store, name, &[], &k).expect("count"),
                before
            );
        }
        // Bounds that are the start of a key (as a due date is of the due lists' keys).
        let (lo, hi) = (&key_n::<N>(lower)[..8], &key_n::<N>(upper)[..8]);
        let between: Vec<Vec<u8>> = want
            .iter()
            .filter(|id| (lo..hi).contains(&key_part(id).as_slice()))
            .cloned()
            .collect();
        prop_assert_eq!(
            lists.count_between(&store, name, lo, hi).expect("count"),
            between.len()
        );
        prop_assert_eq!(
            lists.ids_between(&store, name, lo, hi).expect("read"),
            between
        );
        let below: Vec<Vec<u8>> = want
            .iter()
            .filter(|id| key_part(id).as_slice() < hi)
            .cloned()
            .collect();
        prop_assert_eq!(
            lists.ids_below(&store, name, hi, usize::MAX).expect("read"),
            Some(below.clone())
        );
        if !below.is_empty() {
            prop_assert_eq!(
                lists
                    .ids_below(&store, name, hi, below.len() - 1)
                    .expect("read"),
                None
            );
        }
        let page: Vec<Vec<u8>> = want.iter().skip(skip).take(5).cloned().collect();
        prop_assert_eq!(lists.ids_in(&store, name, skip, 5).expect("read"), page);
    }
    Ok(())
}

fn batches() -> impl Strategy<Value = Vec<Vec<(usize, u8, bool)>>> {
    proptest::collection::vec(
        proptest::collection::vec((0usize..4, 0u8..40, any::<bool>()), 1..30),
        1..12,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    /// The search index's lists: names of a term and a zero byte that share starts, so that
    /// a prefix read spans several terms' blocks.
    #[test]
    fn blocks_read_as_one_id_per_case(
        batches in batches(),
        most in 1usize..9,
        from in 0u8..42,
        skip in 0usize..30,
        bounds in (0u8..42, 0u8..42),
    ) {
        let prefixes: [&[u8]; 6] = [b"w:", b"w:a", b"w:ab", b"w:ab\0", b"w:b\0", b"w:c"];
        model_check(&L, &TERMS, &prefixes, &batches, most, from, skip, bounds)?;
    }

    /// The due-date lists per party: keys of a due date and a case key, names of 16 raw
    /// bytes.
    #[test]
    fn due_lists_per_party_read_as_one_id_per_entry(
        batches in batches(),
        most in 1usize..9,
        from in 0u8..42,
        skip in 0usize..30,
        bounds in (0u8..42, 0u8..42),
    ) {
        let lists: Lists<32> = Lists::new(&schema::PARTY_DUE);
        let prefixes: [&[u8]; 5] = [&[], &[0; 15], &[0; 16], &[1], &[0xff; 16]];
        model_check(&lists, &PARTIES, &prefixes, &batches, most, from, skip, bounds)?;
    }

    /// An id compared with a bound without being made compares as the id made: bounds
    /// shorter than the term, ending within it, or going on into the key, from bytes that
    /// often agree.
    #[test]
    fn an_id_is_compared_without_being_made(
        term in proptest::collection::vec(0u8..3, 0..5),
        key in proptest::array::uniform4(0u8..3),
        from in proptest::collection::vec(0u8..3, 0..10),
    ) {
        prop_assert_eq!(at_or_above(&term, &key, &from), id_of(&term, &key) >= from);
    }
}

/// The range reads on a fixed example (the model check above may draw empty ranges): keys
/// dated 10 to 19, counted and listed between and below dates.
#[test]
fn range_reads_count_and_list_what_is_between_their_bounds() {
    let (_dir, store) = store();
    let lists: Lists<32> = Lists::new(&schema::DUE);
    let dated = |d: u8| key_n::<32>(d);
    let changes: Changes<32> = [(Vec::new(), (10..20).map(|d| (dated(d), true)).collect())].into();
    let mut batch = WriteBatch::new();
    lists
        .stage_in(&store, &mut batch, &changes, 3)
        .expect("stage");
    store.commit(batch).expect("commit");
    assert!(check(&lists, &store, 3) >= 4, "several blocks");
    let date = |d: u8| dated(d)[..8].to_vec();
    assert_eq!(
        lists
            .count_between(&store, &[], &date(12), &date(17))
            .expect("count"),
        5
    );
    assert_eq!(
        lists
            .count_between(&store, &[], &date(0), &date(99))
            .expect("count"),
        10
    );
    assert_eq!(
        lists
            .count_between(&store, &[], &date(17), &date(12))
            .expect("count"),
        0
    );
    let below = lists.ids_below(&store, &[], &date(14), 10).expect("read");
    assert_eq!(below, Some((10..14).map(|d| dated(d).to_vec()).collect()));
    assert_eq!(
        lists.ids_below(&store, &[], &date(14), 3).expect("read"),
        None
    );
    // Read to the bound: an entry written after a count, at the lower bound, does not push
    // the last one out (reading as many as were counted from the lower bound would).
    let counted = lists
        .count_between(&store, &[], &date(12), &date(17))
        .expect("count");
    let mut batch = WriteBatch::new();
    let mut added = dated(12);
    added[20] = 1;
    let more: Changes<32> = [(Vec::new(), [(added, true)].into())].into();
    lists.stage_in(&store, &mut batch, &more, 3).expect("stage");
    store.commit(batch).expect("commit");
    let between = lists
        .ids_between(&store, &[], &date(12), &date(17))
        .expect("read");
    assert_eq!(between.len(), counted + 1);
    assert_eq!(between.last(), Some(&dated(16).to_vec()));
    let first_counted = lists
        .ids_from(&store, &[], &date(12), counted)
        .expect("read");
    assert!(!first_counted.contains(&dated(16).to_vec()), "the control");
}

/// The point of the blocks: many cases under one term take a few records, not one each.
#[test]
fn a_term_of_many_cases_takes_few_records() {
    let (_dir, store) = store();
    let term0 = b"w:site\0".to_vec();
    // Newest cases arrive with the lowest keys, a batch at a time, as a node stores them.
    for batch_no in 0..10u8 {
        let mut changes = Changes::<KEY_LEN>::new();
        for i in 0..100u8 {
            let mut k = [0u8; KEY_LEN];
            k[6] = 255 - batch_no;
            k[7] = 255 - i;
            changes.entry(term0.clone()).or_default().insert(k, true);
        }
        let mut batch = WriteBatch::new();
        L.stage(&store, &mut batch, &changes).expect("stage");
        store.commit(batch).expect("commit");
    }
    assert_eq!(L.count(&store, &term0).expect("count"), 1_000);
    let records = store.count_prefixed(&schema::TERMS, &term0).expect("count");
    // Full blocks but the first.
    assert_eq!(records, 1_000usize.div_ceil(BLOCK));
    assert_eq!(check(&L, &store, BLOCK), records);
}

/// Cases learned in any order (a node catching up, cases changing status) leave blocks at
/// least half full on average, not a trail of one-key blocks.
#[test]
fn cases_in_any_order_fill_their_blocks() {
    let (_dir, store) = store();
    let term0 = b"s:escalated\0".to_vec();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..100 {
        let mut changes = Changes::<KEY_LEN>::new();
        for _ in 0..10 {
            // xorshift: keys spread over the whole list.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let mut k = [0u8; KEY_LEN];
            k[..8].copy_from_slice(&x.to_be_bytes());
            changes.entry(term0.clone()).or_default().insert(k, true);
        }
        let mut batch = WriteBatch::new();
        L.stage(&store, &mut batch, &changes).expect("stage");
        store.commit(batch).expect("commit");
    }
    assert_eq!(L.count(&store, &term0).expect("count"), 1_000);
    let records = check(&L, &store, BLOCK);
    assert!(
        records <= 1_000 / (BLOCK / 2) + 1,
        "{records} blocks for 1,000 keys"
    );
}

/// Cases leaving a list (a status's, as cases move on) do not thin it out into blocks of a
/// key or two: a block left with few keys takes in the next one.
#[test]
fn a_list_that_loses_most_of_its_cases_keeps_few_blocks() {
    let (_dir, store) = store();
    let term0 = b"s:escalated\0".to_vec();
    let k = |i: u32| {
        let mut k = [0u8; KEY_LEN];
        k[4..8].copy_from_slice(&i.to_be_bytes());
        k
    };
    let mut changes = Changes::<KEY_LEN>::new();
    for i in 0..1_000 {
        changes.entry(term0.clone()).or_default().insert(k(i), true);
    }
    let mut batch = WriteBatch::new();
    L.stage(&store, &mut batch, &changes).expect("stage");
    store.commit(batch).expect("commit");
    let full = check(&L, &store, BLOCK);
    // Nine cases in ten leave, ten at a time, spread over the list.
    let leaving: Vec<u32> = (0..1_000).filter(|i| i % 10 != 0).collect();
    for part in leaving.chunks(10) {
        let mut changes = Changes::<KEY_LEN>::new();
        for i in part.iter().map(|i| (i * 7) % 1_000).filter(|i| i % 10 != 0) {
            changes
                .entry(term0.clone())
                .or_default()
                .insert(k(i), false);
        }
        let mut batch = WriteBatch::new();
        L.stage(&store, &mut batch, &changes).expect("stage");
        store.commit(batch).expect("commit");
    }
    assert_eq!(L.count(&store, &term0).expect("count"), 100);
    let left = check(&L, &store, BLOCK);
    // Without merging, each of the `full` blocks would keep about three keys.
    assert!(left <= full / 2, "{left} blocks for 100 keys (from {full})");
}

/// A second staging in one batch would compute blocks from what the store holds, missing
/// what the batch wrote: it is refused.
#[test]
fn a_batch_stages_the_lists_once() {
    let (_dir, store) = store();
    let changes: Changes<KEY_LEN> = [(b"w:a\0".to_vec(), [(key(1), true)].into())].into();
    let mut batch = WriteBatch::new();
    L.stage(&store, &mut batch, &changes).expect("first");
    let second: Changes<KEY_LEN> = [(b"w:a\0".to_vec(), [(key(2), true)].into())].into();
    assert!(matches!(
        L.stage(&store, &mut batch, &second),
        Err(StoreError::Corrupt(m)) if m.contains("staged twice")
    ));
    // Control: the same change in a batch of its own is staged.
    store.commit(batch).expect("commit");
    let mut batch = WriteBatch::new();
    L.stage(&store, &mut batch, &second).expect("own batch");
    store.commit(batch).expect("commit");
    assert_eq!(L.count(&store, b"w:a\0").expect("count"), 2);
}

/// A block whose bytes are not whole ascending keys from its id's is reported as damage.
#[test]
fn a_damaged_block_is_an_error_not_an_answer() {
    let (_dir, store) = store();
    let term0 = b"w:a\0";
    let write = |block: Block| {
        let mut batch = WriteBatch::new();
        batch
            .put(&schema::TERMS, &id_of(term0, &key(1)), &block)
            .expect("put");
        store.commit(batch).expect("commit");
    };
    // Control: a sound block reads.
    write(Block::of(&[key(1), key(2)]));
    assert!(L.contains(&store, term0, &key(2)).expect("read"));
    for bad in [
        Block([key(1).as_slice(), &[9]].concat()),
        Block::of(&[key(2), key(1)]),
        Block::of(&[key(2), key(3)]),
        Block(Vec::new()),
    ] {
        write(bad);
        assert!(matches!(
            L.contains(&store, term0, &key(2)),
            Err(StoreError::Corrupt(_))
        ));
        assert!(matches!(
            L.count(&store, term0),
            Err(StoreError::Corrupt(_))
        ));
    }
}

/// Keys read under a prefix several lists share, a chunk ending in the second list: the
/// last one's id is made with its own list's name (where the next chunk starts), and a
/// chunk from there goes on in that list.
#[test]
fn keys_read_across_lists_end_with_the_last_ones_id() {
    use super::merged::tests::{L, key, name, store, write};
    let (_dir, store) = store();
    write(&store, &[(0..30).collect(), (100..130).collect()]);
    let mut seeks = 0;
    let read = L
        .keys_from_counted(&store, b"m:", b"m:", 40, false, &mut seeks)
        .expect("read");
    let want: Vec<_> = (0..30).chain(100..110).map(key).collect();
    assert_eq!(read.keys, want);
    let last = read.last_id().expect("last");
    assert_eq!(last, [name(1).as_slice(), &key(109)].concat());
    let on = L
        .keys_from_counted(
            &store,
            b"m:",
            &[last.as_slice(), &[0]].concat(),
            5,
            false,
            &mut seeks,
        )
        .expect("read on");
    assert_eq!(on.keys, (110..115).map(key).collect::<Vec<_>>());
}
