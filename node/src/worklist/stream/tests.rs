//! Wide searches read their conditions in order and leap: fixed lists, the cases found and
//! when the walk gives up.

use super::*;
use crate::aggregates::lists::Changes;
use crate::worklist::CaseQuery;
use ilm_protocol::{CaseRef, Timestamp};

/// Cases in the lists below.
const CASES: u32 = 400;

/// The key of the `i`-th newest case.
fn key(i: u32) -> Key {
    let mut r = [0u8; 16];
    r[..4].copy_from_slice(&i.to_be_bytes());
    opened::key(Timestamp(10_000_000 - u64::from(i)), &CaseRef(r))
}

/// A store whose search index holds, for each word, the cases `holds` gives it.
fn store_with(words: &[(&str, &dyn Fn(u32) -> bool)]) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = crate::schema::open(&dir.path().join("db")).expect("store");
    let mut changes: Changes<{ opened::KEY_LEN }> = Changes::new();
    for (w, holds) in words {
        let list = changes
            .entry([terms::word(w).as_slice(), &[0]].concat())
            .or_default();
        for i in (0..CASES).filter(|i| holds(*i)) {
            list.insert(key(i), true);
        }
    }
    let mut batch = crate::store::WriteBatch::new();
    terms::LISTS
        .stage(&store, &mut batch, &changes)
        .expect("stage");
    store.commit(batch).expect("commit");
    (dir, store)
}

/// The condition of one searched word.
fn word(w: &str) -> Condition {
    vec![Source::Terms(terms::word(w))]
}

fn every_filter() -> Filter {
    Filter::parse(&CaseQuery {
        closed: true,
        ..Default::default()
    })
    .expect("query")
}

#[test]
fn a_rare_word_beside_a_common_one_is_found_by_leaping_not_by_reading_every_case() {
    let (_dir, store) = store_with(&[("common", &|_| true), ("rare", &|i| i % 10 == 3)]);
    let filter = every_filter();
    // The common word is the last condition: driven by it, finding 20 cases reads 200.
    let conditions = [word("rare"), word("common")];
    let found = walk(&store, &filter, &conditions, 20, 60)
        .expect("read")
        .expect("found within 60 cases considered");
    let expected: Vec<Key> = (0..CASES)
        .filter(|i| i % 10 == 3)
        .take(20)
        .map(key)
        .collect();
    assert_eq!(found.keys, expected);
    assert!(found.more);
    // Every match, and no more, when the need is larger than what there is.
    let found = walk(&store, &filter, &conditions, 1_000, 1_000)
        .expect("read")
        .expect("found");
    assert_eq!(found.keys.len(), 40);
    assert!(!found.more);
    // Control: two conditions whose cases never meet exhaust the budget, and the query is
    // read another way.
    let (_dir, store) = store_with(&[("even", &|i| i.is_multiple_of(2)), ("odd", &|i| i % 2 == 1)]);
    let apart = [word("even"), word("odd")];
    assert!(
        walk(&store, &filter, &apart, 20, 60)
            .expect("read")
            .is_none()
    );
    let all = walk(&store, &filter, &apart, 20, 1_000)
        .expect("read")
        .expect("read to the end");
    assert!(all.keys.is_empty() && !all.more);
    // A page found before the budget runs out is kept, even if looking for one case more
    // than it needs runs out of it: the 20 newest cases are in both, then they part.
    let (_dir, store) = store_with(&[
        ("left", &|i| i < 20 || i.is_multiple_of(2)),
        ("right", &|i| i < 20 || !i.is_multiple_of(2)),
    ]);
    let parting = [word("left"), word("right")];
    let found = walk(&store, &filter, &parting, 20, 30)
        .expect("read")
        .expect("the page is kept");
    assert_eq!(found.keys, (0..20).map(key).collect::<Vec<_>>());
    assert!(found.more);
    // Control: one case more needed than the budget lets it find.
    assert!(
        walk(&store, &filter, &parting, 21, 30)
            .expect("read")
            .is_none()
    );
}

#[test]
fn a_word_that_starts_many_words_is_read_in_order_from_their_lists_merged() {
    // 40 words start with "n" (more than the 16 a walk used to merge); every third case
    // holds one of them, the others none, and every 30th also "n1x" (a case under two of
    // the lists merged is found once).
    let names: Vec<String> = (0..40).map(|j| format!("n{j}")).collect();
    let holders: Vec<Box<dyn Fn(u32) -> bool>> = (0..40u32)
        .map(|j| {
            Box::new(move |i: u32| i.is_multiple_of(3) && (i / 3) % 40 == j)
                as Box<dyn Fn(u32) -> bool>
        })
        .collect();
    let mut words: Vec<(&str, &dyn Fn(u32) -> bool)> = names
        .iter()
        .zip(&holders)
        .map(|(n, h)| (n.as_str(), h.as_ref()))
        .collect();
    words.push(("n1x", &|i| i.is_multiple_of(30)));
    words.push(("site", &|i| i.is_multiple_of(2)));
    let (_dir, store) = store_with(&words);
    let filter = every_filter();
    let conditions = [word("site"), word("n")];
    let found = walk(&store, &filter, &conditions, 30, 1_000)
        .expect("read")
        .expect("every condition is read in order");
    let expected: Vec<Key> = (0..CASES)
        .filter(|i| (*i).is_multiple_of(6))
        .take(30)
        .map(key)
        .collect();
    assert_eq!(found.keys, expected);
    assert!(found.more);
    // Dates: only the cases opened between the 102nd and the 36th newest, both found.
    let mut dated = filter;
    dated.to = Some(opened::opened_of(&key(36)));
    dated.from = Some(opened::opened_of(&key(102)));
    let found = walk(&store, &dated, &conditions, 1_000, 1_000)
        .expect("read")
        .expect("read in order");
    let expected: Vec<Key> = (36..=102u32)
        .filter(|i| (*i).is_multiple_of(6))
        .map(key)
        .collect();
    assert_eq!(found.keys, expected);
    assert!(!found.more);
}
