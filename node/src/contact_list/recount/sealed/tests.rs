//! The parts of the index that need the vault checked on a real store and vault: an index
//! kept as contacts come (over several blocks of the search index, with erasures) matches;
//! a search bit, a worker key and a word mentioned that are not what the contact's identity
//! and notes give are each named, where the check without the vault finds nothing; a
//! rebuild puts it right.

use super::*;
use crate::contact_list::groups::tests::{Node, started};
use crate::contact_list::recount::{self, Checked};
use crate::contact_list::signatures::Signature;
use crate::contact_list::signatures::tests::{add, many};
use crate::store::WriteBatch;

/// The lines of a check that found differences (and fails the test otherwise).
fn differs(n: &Node) -> Vec<String> {
    match check_sealed(&n.store, &n.vault, &mut |_| {}).expect("check") {
        SealedChecked::Differs {
            total,
            shown,
            unopened,
        } => {
            assert_eq!(total, shown.len());
            assert_eq!(unopened, 0, "every contact opens");
            shown
        }
        other => panic!("damage not found: {other:?}"),
    }
}

/// The check without the vault finds nothing: what the vault check names is its own.
fn unseen_without_the_vault(n: &Node) {
    assert!(
        matches!(
            recount::check(&n.store, &mut |_| {}).expect("check"),
            Checked::Matches { .. }
        ),
        "the check without the vault finds it too"
    );
}

fn matches(n: &Node, contacts: usize) {
    assert_eq!(
        check_sealed(&n.store, &n.vault, &mut |_| {}).expect("check"),
        SealedChecked::Matches {
            contacts,
            unopened: 0
        }
    );
}

/// 150 contacts over three blocks of the search index (64 columns a block under test),
/// one in nine calling again, some naming other sectors in their notes, three erased: the
/// index kept as they came matches; progress is told.
#[test]
fn an_index_kept_as_contacts_come_matches_what_their_identities_give() {
    let n = started();
    let ids = many(&n, 150);
    // Erased contacts keep their column, their bits and keys cleared.
    for id in [ids[3], ids[70], ids[149]] {
        crate::retention::erase_contact(&n.store, &n.vault, id).expect("erase");
    }
    let mut told = 0;
    assert_eq!(
        check_sealed(&n.store, &n.vault, &mut |k| told = k).expect("check"),
        SealedChecked::Matches {
            contacts: 150,
            unopened: 0
        }
    );
    assert_eq!(told, 150);
    // Mentions are among what was checked: some contacts mention a word of values.
    let mentioning = ids
        .iter()
        .filter(|id| !mentions::of_contact(&n.store, id).expect("read").is_empty())
        .count();
    assert!(mentioning > 0, "some contacts mention words of values");
}

/// A bit of one contact's column turned on in a row of the second block: named with its
/// column and contact; the check without the vault sees nothing; a rebuild mends it.
#[test]
fn a_search_bit_its_identity_does_not_give_is_named() {
    let n = started();
    let ids = many(&n, 150);
    let id = ids[70];
    let column: u64 = n
        .store
        .get(&schema::SEARCH_COLUMNS, &id.0)
        .expect("read")
        .expect("a column");
    let block = column / BLOCK;
    let bit = (column % BLOCK) as usize;
    // A row the contact's signature lacks.
    let key = GramKey::of(&n.vault).expect("key");
    let sealed: SealedContact = n
        .vault
        .open_json(
            &id.0,
            &n.store
                .get::<Contact>(&schema::CONTACTS, &id.0)
                .expect("read")
                .expect("held")
                .sealed,
        )
        .expect("open");
    let own = Signature::of(&key, &sealed);
    let r = (0..ROWS)
        .find(|r| !own.rows().any(|o| o == *r))
        .expect("a row it lacks");
    let mut row = signatures::stored_row(&n.store, r, block)
        .expect("read")
        .unwrap_or_else(Row::empty);
    row.set(bit, true);
    let mut batch = WriteBatch::new();
    batch
        .put(&schema::SEARCH_ROWS, &signatures::row_id(r, block), &row)
        .expect("put");
    n.store.commit(batch).expect("commit");
    unseen_without_the_vault(&n);
    let lines = differs(&n);
    assert_eq!(
        lines,
        vec![format!(
            "column {column} of the search index (contact {}): its bits are not the signature of its identity and notes",
            short(&id.0)
        )]
    );
    groups::rebuild(&n.store, &n.vault).expect("rebuild");
    matches(&n, 150);
}

/// A contact's worker keys replaced by another key (leading to its group, so the groups
/// and keys agree with each other): named; the check without the vault sees nothing.
#[test]
fn worker_keys_not_of_the_contacts_number_are_named() {
    let n = started();
    let ids = many(&n, 30);
    let id = ids[5];
    let mut caller: Caller = n
        .store
        .get(&schema::CALLERS, &id.0)
        .expect("read")
        .expect("a caller: it has a number");
    let fake = groups::WorkerKey([7; 16]);
    caller.keys = vec![fake];
    let mut batch = WriteBatch::new();
    batch.put(&schema::CALLERS, &id.0, &caller).expect("put");
    batch
        .put(&schema::WORKER_KEYS, &fake.0, &caller.group)
        .expect("put");
    n.store.commit(batch).expect("commit");
    unseen_without_the_vault(&n);
    let lines = differs(&n);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with(&format!("contact {}: its 1 worker keys", short(&id.0))),
        "{lines:?}"
    );
    groups::rebuild(&n.store, &n.vault).expect("rebuild");
    matches(&n, 30);
}

/// A contact whose notes name another sector, held to mention nothing: named (its words
/// opened and looked for; the check without the vault sees only that the word's lists
/// still hold it).
#[test]
fn a_word_mentioned_but_not_held_so_is_named() {
    let n = started();
    many(&n, 30);
    // Contact 30 is of seafood and its notes name fishing.
    let id = add(&n, 30, "Thandar Win", "worked on a fishing boat");
    let held = mentions::of_contact(&n.store, &id).expect("read");
    assert!(!held.is_empty(), "the control: it mentions fishing");
    let mut batch = WriteBatch::new();
    batch.remove(&schema::MENTIONS, &id.0);
    n.store.commit(batch).expect("commit");
    let lines = differs(&n);
    assert_eq!(
        lines,
        vec![format!(
            "contact {}: listed as mentioning 0 words of values where its identity and notes hold {}",
            short(&id.0),
            held.len()
        )]
    );
}

/// A contact whose column is not the one that places it, a column placing nobody, and a
/// stray place far past the contacts: each named, and the check goes no further than the
/// contacts (a column of 2^40 would be a walk of years).
#[test]
fn places_and_columns_that_disagree_are_named() {
    let n = started();
    let ids = many(&n, 10);
    let mut batch = WriteBatch::new();
    batch.remove(&schema::SEARCH_COLUMNS, &ids[3].0);
    batch.remove(&schema::SEARCH_PLACES, &5u64.to_be_bytes());
    let stray = n
        .store
        .get::<Place>(&schema::SEARCH_PLACES, &1u64.to_be_bytes())
        .expect("read")
        .expect("placed");
    batch
        .put(&schema::SEARCH_PLACES, &(1u64 << 40).to_be_bytes(), &stray)
        .expect("put");
    n.store.commit(batch).expect("commit");
    let lines = differs(&n);
    assert_eq!(
        lines,
        vec![
            format!(
                "the search index names {} columns for 10 contacts: those past 10 not checked",
                (1u64 << 40) + 1
            ),
            format!(
                "contact {}: its column is not 3, where the search index places it",
                short(&ids[3].0)
            ),
            "column 5 of the search index: no contact placed".to_string(),
            "column 5 of the search index: bits set for no contact".to_string(),
            "the search index places 9 contacts of 10".to_string(),
        ]
    );
}

/// A contact sealed under another record (as under another node's key): it does not open,
/// so it is indexed as holding nothing and differs from what was indexed of it; counted,
/// so the report can say the key may be wrong.
#[test]
fn contacts_that_do_not_open_are_counted() {
    let n = started();
    let ids = many(&n, 10);
    let mut c: Contact = n
        .store
        .get(&schema::CONTACTS, &ids[4].0)
        .expect("read")
        .expect("held");
    let sealed: SealedContact = n.vault.open_json(&c.id.0, &c.sealed).expect("opens");
    c.sealed = n.vault.seal_json(&ids[5].0, &sealed).expect("seal");
    let mut batch = WriteBatch::new();
    batch.put(&schema::CONTACTS, &c.id.0, &c).expect("put");
    n.store.commit(batch).expect("commit");
    match check_sealed(&n.store, &n.vault, &mut |_| {}).expect("check") {
        SealedChecked::Differs {
            unopened, shown, ..
        } => {
            assert_eq!(unopened, 1);
            assert!(
                shown.iter().all(|l| l.contains(&short(&c.id.0))),
                "only the contact that does not open: {shown:?}"
            );
        }
        other => panic!("not found: {other:?}"),
    }
}
