//! The search index damaged: what a search still finds, and what the comparison with the
//! read of every contact catches.

use super::*;
use crate::store::Table;

/// The controls: a contact whose bits were cleared is missed, and the comparison with the
/// scan finds it; a damaged row reads as set, so its contacts are still found; without the
/// index's version the search reads every contact and finds them all again.
#[test]
fn a_contact_missing_from_the_index_is_missed_and_a_damaged_row_still_finds() {
    let n = started();
    let ids = many(&n, 30);
    let key = GramKey::of(&n.vault).expect("key");
    let q = vec!["thandar".to_string()];
    same_as_scan(&n, &q);
    let mut pending = Pending::default();
    let sealed: SealedContact = {
        let c: Contact = n
            .store
            .get(&schema::CONTACTS, &ids[1].0)
            .expect("get")
            .expect("contact");
        n.vault.open_json(&c.id.0, &c.sealed).expect("open")
    };
    let bits = Signature::of(&key, &sealed);
    pending
        .resign(&n.store, &ids[1], &bits, &Signature::default())
        .expect("resign");
    let mut batch = WriteBatch::new();
    pending.stage(&mut batch).expect("stage");
    n.store.commit(batch).expect("commit");
    assert!(std::panic::catch_unwind(|| same_as_scan(&n, &q)).is_err());
    assert!(std::panic::catch_unwind(|| check(&n.store, &n.vault)).is_err());

    // Without the index's version, every contact is read: found again.
    let mut batch = WriteBatch::new();
    batch.remove(&schema::CONTACT_INDEX, b"version");
    n.store.commit(batch).expect("commit");
    same_as_scan(&n, &q);
    assert!(groups::ensure(&n.store, &n.vault).expect("ensure"));
    check(&n.store, &n.vault);

    // An erasure of a contact the index does not hold unmarks the index (searches read
    // every contact) until the next start builds it again.
    let mut pending = Pending::default();
    let stray = ContactId([0xee; 16]);
    pending
        .resign(&n.store, &stray, &bits, &Signature::default())
        .expect("resign");
    let mut batch = WriteBatch::new();
    pending.stage(&mut batch).expect("stage");
    n.store.commit(batch).expect("commit");
    assert!(
        groups::ensure(&n.store, &n.vault).expect("ensure"),
        "built again"
    );

    // A row cut short: its missing bytes read as set.
    let word = Signature::of_word(&key, "thandar").expect("bits");
    let r = *word.0.first().expect("a bit");
    let mut batch = WriteBatch::new();
    batch
        .put(&schema::SEARCH_ROWS, &row_id(r, 0), &Row(vec![0; 0]))
        .expect("put");
    n.store.commit(batch).expect("commit");
    same_as_scan(&n, &q);

    // A place past the contacts the list holds (a damaged id): the index is not read, and
    // every contact is.
    let narrowed = || plan(&n, "thandar", Some(&key)).map(|p| p.others);
    assert!(narrowed().is_some(), "the control: read from the index");
    let mut batch = WriteBatch::new();
    batch
        .put(
            &schema::SEARCH_PLACES,
            &(u64::MAX / 2).to_be_bytes(),
            &Place::new(&ids[0], &[0; 16]),
        )
        .expect("put");
    n.store.commit(batch).expect("commit");
    assert_eq!(narrowed(), None);
    same_as_scan(&n, &q);
}

/// Writes `bytes` as the place of `id`'s column (damage, when they are not its contact and
/// set).
fn damage_place(n: &Node, id: &ContactId, bytes: Vec<u8>) {
    let column: u64 = n
        .store
        .get(&schema::SEARCH_COLUMNS, &id.0)
        .expect("get")
        .expect("a column");
    let mut batch = WriteBatch::new();
    batch
        .put(&schema::SEARCH_PLACES, &column.to_be_bytes(), &Place(bytes))
        .expect("put");
    n.store.commit(batch).expect("commit");
}

/// A damaged place still gives its contact: one whose set does not read is read and
/// matched; one naming another set than its contact's is not taken twice; and with no set
/// of values on record the search reads every contact.
#[test]
fn damaged_places_and_sets_still_find_each_contact_once() {
    let n = started();
    let ids = many(&n, 30);
    let q = vec![
        "thandar".to_string(),
        "fishing".to_string(),
        "zzz".to_string(),
    ];
    let place = |id: &ContactId, bytes: Vec<u8>| damage_place(&n, id, bytes);
    // Contact 1 is a Thandar; contact 17 is of the fishing sector, its notes name it too.
    // The contacts of other sectors are read for "fishing" as for a word registered after
    // them: its registration removed.
    let mut batch = WriteBatch::new();
    batch.remove(&schema::MENTION_WORDS, b"fishing");
    n.store.commit(batch).expect("commit");
    place(&ids[1], ids[1].0.to_vec());
    place(&ids[17], [ids[17].0, [0; 16]].concat());
    let key = GramKey::of(&n.vault).expect("key");
    let thandar = plan(&n, "thandar", Some(&key)).expect("narrowed");
    assert!(thandar.others.contains(&ids[1]), "a place without its set");
    let fishing = plan(&n, "fishing", Some(&key)).expect("narrowed");
    assert!(
        fishing.others.contains(&ids[17]),
        "a place naming another set"
    );
    same_as_scan(&n, &q);
    // No set of values on record, contacts held: every contact is read.
    schema::remove_all(&n.store, &schema::CONTACT_VALUES).expect("remove");
    assert!(plan(&n, "zzz", Some(&key)).is_none());
    same_as_scan(&n, &q);
}

/// A row of the index that does not decode (not one cut short: bytes of another kind): the
/// search reads every contact instead and finds what the scan finds, and the store notes
/// the damage, so the node's status says what to do. Before, the search failed.
#[test]
fn a_row_that_does_not_decode_leaves_the_search_to_read_every_contact() {
    let n = started();
    many(&n, 30);
    let key = GramKey::of(&n.vault).expect("key");
    let q = vec!["thandar".to_string(), "fishing".to_string()];
    assert!(
        plan(&n, "thandar", Some(&key)).is_some(),
        "the control: narrowed"
    );
    let word = Signature::of_word(&key, "thandar").expect("bits");
    let r = *word.0.first().expect("a bit");
    // The same table's keys, another kind of value: a number where a row's bytes belong.
    let other: Table<u64> = Table::new(schema::SEARCH_ROWS.prefix(), "search rows");
    let mut batch = WriteBatch::new();
    batch.put(&other, &row_id(r, 0), &7).expect("put");
    n.store.commit(batch).expect("commit");
    let words = Search::new("thandar", &labels);
    let seen = Seen::All;
    assert!(
        matches!(
            words.plan(&n.store, Some(&key), &seen, false),
            Err(StoreError::Corrupt(_))
        ),
        "the control: the row is read and does not decode"
    );
    assert!(same_as_scan(&n, &q) > 0, "found");
    assert!(n.store.health().damaged.is_some(), "the damage is noted");
    // Every contact read, not the lists walked: the count stays exact (a walk counting one
    // past the page would say "at least", and ask for another word).
    let walking = crate::contact_list::walk::Limits {
        counted: 1,
        reads_per_match: 100,
        read_cost: 1,
    };
    let query = ContactQuery {
        q: "thandar".into(),
        per_page: 1,
        ..Default::default()
    };
    let ours = crate::contact_list::select_within(
        &n.store, &n.vault, &query, &seen, true, &labels, &walking,
    )
    .expect("select");
    let full = scan::select(&n.store, &n.vault, &query, &seen, true, &labels).expect("scan");
    assert!(
        full.total > 2,
        "more than the page and one: a walk would stop"
    );
    assert!(!ours.more);
    assert_eq!(ours.total, full.total);
}

/// A contact listed among those mentioning the word its set lacks is not taken twice when
/// its place is damaged and another set's words make the search read it.
#[test]
fn a_listed_mention_read_from_a_damaged_place_is_taken_once() {
    let n = started();
    many(&n, 30);
    // Contact 30 is of the seafood sector and its notes name both sectors: listed among the
    // seafood contacts mentioning "fishing"; the garment sets lack both words, so their
    // search reads the contacts whose bits hold both, this one too.
    let both = add(&n, 30, "Thandar Win", "fishing and seafood");
    let q = vec!["fishing seafood".to_string()];
    let key = GramKey::of(&n.vault).expect("key");
    let read = || {
        plan(&n, "fishing seafood", Some(&key))
            .expect("narrowed")
            .others
    };
    assert!(!read().contains(&both), "the control: listed, not read");
    let found = same_as_scan(&n, &q);
    assert!(found > 0);
    damage_place(&n, &both, both.0.to_vec());
    assert!(read().contains(&both), "read from its damaged place");
    assert_eq!(same_as_scan(&n, &q), found);
}
