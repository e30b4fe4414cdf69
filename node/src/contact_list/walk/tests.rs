//! A search nothing narrows, walked down the operator's list: a word every contact holds
//! gives the scan's page and a total that says it is a lower bound; a word few hold, and an
//! operator's own short list, are counted exactly; a small node is read as before. Limits
//! are small here so that sixty contacts show each way.

use super::*;
use crate::contact_list::groups::tests::{
    MESSENGERS, Node, PHONES, RECORDERS, T0, add, labels, started,
};
use crate::contact_list::{ContactPage, ContactQuery, Seen, scan, select, select_within};
use crate::intake::ContactId;

/// Sixty contacts, an hour apart, of three recorders, some the same worker (numbers repeat):
/// each holds "note" in its notes.
fn sixty(n: &Node) -> Vec<ContactId> {
    (0..60u64)
        .map(|i| {
            add(
                n,
                i,
                PHONES[(i % 7) as usize],
                MESSENGERS[(i % 5) as usize],
                RECORDERS[(i % 3) as usize],
                T0 + i * 3_600,
                true,
            )
        })
        .collect()
}

/// Counts 3 past the page, gives up after 2 reads per match, reads by id cost 1.
const SMALL: Limits = Limits {
    counted: 3,
    reads_per_match: 2,
    read_cost: 1,
};

fn query(q: &str, page: usize, repeat: bool) -> ContactQuery {
    ContactQuery {
        q: q.into(),
        repeat,
        page,
        per_page: 2,
        ..Default::default()
    }
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("json")
}

fn walked(n: &Node, q: &ContactQuery, seen: &Seen, limits: &Limits) -> ContactPage {
    select_within(&n.store, &n.vault, q, seen, true, &labels, limits).expect("select")
}

fn scanned(n: &Node, q: &ContactQuery, seen: &Seen) -> ContactPage {
    scan::select(&n.store, &n.vault, q, seen, true, &labels).expect("scan")
}

/// "note" is in every contact's notes: the page is the scan's, counted to the page's end and
/// three more, said to be a lower bound; the next page is offered. For every kind of operator
/// and repeat callers too.
#[test]
fn a_word_every_contact_holds_is_counted_to_the_page_and_some_more() {
    let n = started();
    sixty(&n);
    for seen in [Seen::All, Seen::RecordedBy("intake-a".into())] {
        for (page, repeat) in [(1, false), (3, false), (2, true)] {
            let q = query("note", page, repeat);
            let ours = walked(&n, &q, &seen, &SMALL);
            let full = scanned(&n, &q, &seen);
            assert_eq!(json(&ours.contacts), json(&full.contacts), "{q:?} {seen:?}");
            assert_eq!(ours.page, page);
            assert!(ours.more, "{q:?} {seen:?}: stopped counting");
            assert_eq!(ours.total, page * 2 + 3, "{q:?} {seen:?}");
            assert!(full.total > ours.total, "the control: more match");
            assert!(ours.pages > page, "a next page");
            // Said so in the API's words.
            let v = serde_json::to_value(&ours).expect("json");
            assert_eq!(v["total_at_least"], true);
        }
    }
}

/// A word of one contact, too short to look up (nothing narrows it), older than the walk's
/// budget reaches: the walk gives up; every contact is read and counted exactly (a walk
/// that took its budget for the list's end would find nobody).
#[test]
fn a_word_few_contacts_hold_is_counted_exactly() {
    let n = started();
    let ids = sixty(&n);
    let q = query("38", 1, false);
    let ours = walked(&n, &q, &Seen::All, &SMALL);
    assert_eq!(json(&ours), json(&scanned(&n, &q, &Seen::All)));
    assert!(!ours.more);
    assert_eq!(ours.total, 1, "worker 38 only");
    assert_eq!(ours.contacts[0].contact.id, ids[38]);
    // The walk itself gave up: the newest contact matched, then its budget ran out.
    let newest = ids[59];
    let mut keep = |c: &Contact| c.id == newest;
    assert!(
        walk(&n.store, groups::ALL, 5, &SMALL, &mut keep)
            .expect("walk")
            .is_none()
    );
    // The control: with room for the whole list, the walk finds it and ends exactly.
    let roomy = Limits {
        reads_per_match: 100,
        ..SMALL
    };
    let w = walk(&n.store, groups::ALL, 5, &roomy, &mut keep)
        .expect("walk")
        .expect("walked");
    assert_eq!((w.keys.len(), w.more), (1, false));
}

/// An intake operator's own list read whole costs less than every contact of the node: it
/// is walked to its end and counted exactly, as the scan counts it.
#[test]
fn an_operators_own_short_list_is_walked_whole_and_counted_exactly() {
    let n = started();
    sixty(&n);
    let seen = Seen::RecordedBy("intake-b".into());
    let roomy = Limits {
        counted: 100,
        read_cost: 2,
        ..SMALL
    };
    for page in [1, 4] {
        let q = query("note", page, false);
        let ours = walked(&n, &q, &seen, &roomy);
        assert_eq!(json(&ours), json(&scanned(&n, &q, &seen)), "{q:?}");
        assert!(!ours.more);
        assert_eq!(ours.total, 20);
    }
    // Walked, to the list's end: 20 read by id at twice the cost is no more than 60.
    let list = Seen::RecordedBy("intake-b".into()).list(false);
    let w = walk(&n.store, &list, 102, &roomy, &mut |_| true)
        .expect("walk")
        .expect("walked");
    assert_eq!((w.keys.len(), w.more), (20, false));
    // The control: a list of 40 at that cost is not walked.
    assert!(!roomy.worth_walking(40, 60, 102));
    let every = walk(&n.store, groups::ALL, 102, &roomy, &mut |_| true).expect("walk");
    assert!(every.is_none(), "every contact's list: not walked");
}

/// A node of sixty contacts with the node's limits reads every contact, as before: the page
/// and its total are the scan's, exact.
#[test]
fn a_small_node_counts_every_match() {
    let n = started();
    sixty(&n);
    for page in [1, 30, 31] {
        let q = query("note", page, false);
        let ours = select(&n.store, &n.vault, &q, &Seen::All, true, &labels).expect("select");
        assert_eq!(json(&ours), json(&scanned(&n, &q, &Seen::All)));
        assert!(!ours.more);
    }
}

/// A word every contact holds names every column in the search index: past the limit the
/// search gives (its candidates would be too many to read one by one), their places are not
/// read, and the search walks the list instead.
#[test]
fn a_word_every_contact_holds_is_given_up_before_its_places_are_read() {
    use crate::contact_list::search::Search;
    use crate::contact_list::signatures::{self, Clue, GramKey, Signature};
    let n = started();
    sixty(&n);
    let key = GramKey::of(&n.vault).expect("key");
    let clue = Clue {
        word: "note".into(),
        bits: Signature::of_word(&key, "note"),
        id_start: None,
        below: u64::MAX,
    };
    let under = signatures::candidates(&n.store, &[vec![clue.clone()]], 59).expect("read");
    assert!(under.is_none(), "sixty columns named, limit 59: given up");
    let all = signatures::candidates(&n.store, &[vec![clue]], 60)
        .expect("read")
        .expect("the control: within the limit, read");
    assert_eq!(all.places.len(), 60);
    let plan = Search::new("note", &labels)
        .plan(&n.store, Some(&key), &Seen::All, false)
        .expect("plan");
    assert!(plan.is_none(), "the search reads no candidate");
}
