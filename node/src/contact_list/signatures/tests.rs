//! The search index on a real store and vault: each contact's bits are the signature of what
//! it holds (after erasures too), a search from it finds what the read of every contact finds,
//! it narrows a search for a name to few contacts; the controls (a contact whose bits are
//! missing is missed, which the comparison finds; a damaged index still finds each contact)
//! are in `damaged`.

use super::*;
use crate::contact_list::groups::tests::{Node, labels, node, started};
use crate::contact_list::groups::{self, Indexed, LISTS};
use crate::contact_list::mentions;
use crate::contact_list::search::personal_text;
use crate::contact_list::search::{Plan, Search};
use crate::contact_list::{ContactPage, ContactQuery, Seen, scan, select};
use crate::intake::{AgeBand, Gender, WorkerIdentity};
use ilm_protocol::{CaseRef, Timestamp};

mod damaged;
mod words;

/// Asserts the invariants of the index against a read of every contact: one column per
/// contact and one contact per column, each column's bits exactly the signature of what its
/// sealed contact holds now, every contact's values listed.
pub(crate) fn check(store: &Store, vault: &Vault) {
    let key = GramKey::of(vault).expect("key");
    let contacts: Vec<Contact> = store.scan(&schema::CONTACTS, &[]).expect("contacts");
    let places: Vec<(Vec<u8>, Place)> =
        store.scan_with_ids(&schema::SEARCH_PLACES).expect("places");
    assert_eq!(places.len(), contacts.len(), "one place per contact");
    assert_eq!(columns(store).expect("columns"), contacts.len() as u64);
    let sets = value_sets(store).expect("sets");
    // Each contact is in its set's lists (below), and in no other: the lists hold as many.
    let recorded = contacts.iter().filter(|c| c.recorded_by.is_some()).count();
    assert_eq!(LISTS.count(store, b"v").expect("count"), contacts.len());
    assert_eq!(LISTS.count(store, b"w").expect("count"), recorded);
    let repeat = groups::count(store, groups::REPEAT).expect("count");
    assert_eq!(LISTS.count(store, b"x").expect("count"), repeat);
    let recorders = ["intake-a", "intake-b"];
    let repeat_recorded: usize = recorders
        .iter()
        .map(|r| groups::count(store, &groups::repeat_recorded(r)).expect("count"))
        .sum();
    assert_eq!(LISTS.count(store, b"y").expect("count"), repeat_recorded);
    for set in &sets {
        let set = set.id();
        let mut names = vec![groups::by_values(&set), groups::repeat_by_values(&set)];
        for r in recorders {
            names.push(groups::recorded_by_values(r, &set));
            names.push(groups::repeat_recorded_by_values(r, &set));
        }
        for list in names {
            let held = LISTS.count(store, &list).expect("count");
            assert_eq!(groups::count(store, &list).expect("count"), held);
        }
    }
    // Every set's words are registered; a contact is in no list of a word but those above.
    let words = mentions::Vocabulary::load(store, &key).expect("words");
    for set in &sets {
        for w in mentions::words_of(set) {
            assert!(
                mentions::first_column(store, &w).expect("word").is_some(),
                "{w}"
            );
        }
    }
    let mut mention_lists = [0usize; 4];
    for c in &contacts {
        let column: u64 = store
            .get(&schema::SEARCH_COLUMNS, &c.id.0)
            .expect("get")
            .expect("a column");
        let placed: Option<Place> = store
            .get(&schema::SEARCH_PLACES, &column.to_be_bytes())
            .expect("get");
        let set = ValueSet::of(c).id();
        assert_eq!(placed, Some(Place::new(&c.id, &set)));
        let want = vault
            .open_json::<SealedContact>(&c.id.0, &c.sealed)
            .map(|s| Signature::of(&key, &s))
            .unwrap_or_default();
        let (block, bit) = (column / BLOCK, (column % BLOCK) as usize);
        let mut held = BTreeSet::new();
        for r in 0..ROWS {
            if let Some(row) = store
                .get::<Row>(&schema::SEARCH_ROWS, &row_id(r, block))
                .expect("row")
                && row.0[bit / 8] & (1 << (bit % 8)) != 0
            {
                held.insert(r);
            }
        }
        assert_eq!(Signature(held), want, "{}", c.id);
        assert!(sets.iter().any(|s| s.id() == set));
        assert!(
            LISTS
                .contains(store, &groups::by_values(&set), &groups::key(c))
                .expect("list")
        );
        if let Some(r) = &c.recorded_by {
            let list = groups::recorded_by_values(r, &set);
            assert!(LISTS.contains(store, &list, &groups::key(c)).expect("list"));
        }
        let repeat = groups::group_size(store, &c.id).expect("group") >= 2;
        let list = groups::repeat_by_values(&set);
        assert_eq!(
            LISTS.contains(store, &list, &groups::key(c)).expect("list"),
            repeat
        );
        if let Some(r) = &c.recorded_by {
            let list = groups::repeat_recorded_by_values(r, &set);
            assert_eq!(
                LISTS.contains(store, &list, &groups::key(c)).expect("list"),
                repeat
            );
        }
        // The words it mentions: those registered by its column that its identity and
        // notes hold, each with its lists.
        let text = vault
            .open_json::<SealedContact>(&c.id.0, &c.sealed)
            .map(|s| personal_text(&s))
            .unwrap_or_default();
        let mentioned = mentions::of_contact(store, &c.id).expect("mentions");
        let own = mentions::own_text(&ValueSet::of(c));
        assert_eq!(mentioned, words.mentioned(&text, column, &own), "{}", c.id);
        let key = groups::key(c);
        for m in &mentioned {
            let holds = |list: Vec<u8>| LISTS.contains(store, &list, &key).expect("list");
            assert!(holds(mentions::by_mention(m, &set)));
            assert_eq!(holds(mentions::repeat_by_mention(m, &set)), repeat);
            if let Some(r) = &c.recorded_by {
                assert!(holds(mentions::recorded_by_mention(r, m, &set)));
                assert_eq!(
                    holds(mentions::repeat_recorded_by_mention(r, m, &set)),
                    repeat
                );
            }
            mention_lists[0] += 1;
            mention_lists[1] += usize::from(repeat);
            if c.recorded_by.is_some() {
                mention_lists[2] += 1;
                mention_lists[3] += usize::from(repeat);
            }
        }
        if let Some(case) = c.case_ref {
            let local: Option<LocalCase> = store
                .get(&schema::LOCAL_CASES, case.as_bytes())
                .expect("case");
            assert!(local.is_some_and(|l| l.contacts.contains(&c.id)));
        }
    }
    for (kind, n) in [b"t", b"s", b"u", b"z"].iter().zip(mention_lists) {
        assert_eq!(LISTS.count(store, *kind).expect("count"), n);
    }
}

const T0: u64 = 1_767_225_600;

/// Names and notes in the scripts caseworkers write, with words shared between contacts.
const NAMES: [&str; 8] = [
    "Aye Aye Myint",
    "Thandar Win",
    "สมชาย ใจดี",
    "สมศรี ใจดี",
    "အောင်ကျော် မိုး",
    "Σίσυφος Ανδρέου",
    "Lin Lin",
    "",
];
const NOTES: [&str; 5] = [
    "Unpaid wages since May",
    "passport kept by broker in Mae Sot",
    "ค่าจ้างค้างจ่าย",
    "",
    "ပတ်စပို့ သိမ်းထား",
];

/// Contact `i` as the intake stores it (names, notes and values drawn from `i`).
pub(crate) fn add(n: &Node, i: u64, name: &str, notes: &str) -> ContactId {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&i.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_be_bytes());
    id[8..].copy_from_slice(&i.to_be_bytes());
    let id = ContactId(id);
    let number = if i % 9 == 8 { i - 4 } else { i };
    let sealed = SealedContact {
        identity: WorkerIdentity {
            name: name.into(),
            // One in nine calls again, from the number of four contacts before.
            phone: format!("+66 81 {:03} {:04}", number % 1000, number * 7 % 10_000),
            messenger_id: format!("line.{i}"),
            id_numbers: vec![format!("MA{:06}", i * 13)],
        },
        notes: notes.into(),
    };
    let contact = Contact {
        id,
        received_at: Timestamp(T0 + i * 60),
        channel: [Channel::Line, Channel::PhoneCall, Channel::Facebook][(i % 3) as usize],
        language: ["my", "th", "km"][(i % 3) as usize].into(),
        nationality: rare(i, ["MM", "KH"][(i % 2) as usize]),
        gender: Gender::Female,
        age_band: AgeBand::From25To34,
        sector: ["seafood", "garment", "fishing"][(i % 3) as usize].into(),
        origin: rare(i, "MM"),
        destination: "TH".parse().expect("country"),
        case_ref: None,
        recorded_by: Some(["intake-a", "intake-b"][(i % 2) as usize].into()),
        sealed: n.vault.seal_json(&id.0, &sealed).expect("seal"),
        erased: None,
    };
    let indexed = Indexed::of(&n.vault, &sealed).expect("indexed");
    let mut batch = WriteBatch::new();
    crate::intake::stage_new(&n.store, &mut batch, &contact, indexed).expect("stage");
    n.store.commit(batch).expect("commit");
    id
}

/// `country`, or for one contact in eleven a country few contacts have (so a word in most
/// contacts' values is missing from a few sets of values).
fn rare(i: u64, country: &str) -> ilm_protocol::Country {
    let country = if i % 11 == 10 { "LA" } else { country };
    country.parse().expect("country")
}

/// `count` contacts, names and notes drawn in turn; some notes name a sector or a country
/// (words in other contacts' values).
pub(crate) fn many(n: &Node, count: u64) -> Vec<ContactId> {
    (0..count)
        .map(|i| {
            let name = format!(
                "{} {}",
                NAMES[(i % 8) as usize],
                ["", "Ko"][(i % 5 / 4) as usize]
            );
            let mut notes = NOTES[(i % 5) as usize].to_string();
            if i % 7 == 3 {
                notes.push_str(" fishing boat");
            }
            if i % 22 == 10 {
                // Half the rare country's contacts came through another (in no value of
                // theirs): a short word only their notes hold.
                notes.push_str(" came via MM");
            }
            add(n, i, &name, &notes)
        })
        .collect()
}

/// Searches the scripts' words, numbers, ids and values for every kind of operator; asserts
/// each page equals the scan's. Returns how many contacts the searches found.
fn same_as_scan(n: &Node, queries: &[String]) -> usize {
    same_as_scan_labelled(n, queries, &labels)
}

/// The same, values labelled by `labels`.
fn same_as_scan_labelled(
    n: &Node,
    queries: &[String],
    labels: &dyn Fn(&crate::contact_list::ContactSummary) -> String,
) -> usize {
    let mut found = 0;
    for seen in [Seen::All, Seen::RecordedBy("intake-b".into())] {
        for identities in [true, false] {
            for q in queries {
                // A window of lists: the first page, one inside, one past the last (the last
                // is given); repeat callers are paged as the scan pages them.
                for (repeat, page) in [(false, 1), (false, 3), (false, 99), (true, 2)] {
                    let query = ContactQuery {
                        q: q.clone(),
                        repeat,
                        per_page: 7,
                        page,
                        ..Default::default()
                    };
                    let json = |p: ContactPage| serde_json::to_string(&p).expect("json");
                    let ours = select(&n.store, &n.vault, &query, &seen, identities, labels)
                        .expect("select");
                    found += ours.total;
                    let full = scan::select(&n.store, &n.vault, &query, &seen, identities, labels)
                        .expect("scan");
                    assert_eq!(json(ours), json(full), "{query:?} {seen:?} {identities}");
                }
            }
        }
    }
    found
}

/// The words searched: parts of names and notes in each script, numbers, a word in some
/// contacts' values, words too short to look up, a word nobody holds.
fn queries(ids: &[ContactId]) -> Vec<String> {
    let mut q: Vec<String> = [
        "myint",
        "AYE MYINT",
        "thandar win",
        "ใจดี",
        "สมศรี",
        "อง",
        "ကျော်",
        "σίσυφος",
        "ΣΊΣΥΦΟΣ ανδρ",
        "ko",
        "wages broker",
        "mae sot",
        "ค้างจ่าย",
        "သိမ်း",
        "234 081",
        "line.17",
        "ma000013",
        "seafood",
        "label fishing",
        "garment thandar",
        "fishing",
        "fishing boat",
        "boat",
        "mm",
        "mm thandar",
        "la myint",
        "label th",
        "zzz",
        "nobody-holds-this",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // Ids: whole, 8 and 9 letters (a word that starts an id), and an id with a name.
    for id in &ids[..3] {
        let hex = id.to_string();
        q.extend([hex.clone(), hex[..8].to_string(), hex[..9].to_string()]);
        q.push(format!("{} myint", &hex[..10]));
    }
    q
}

/// Contacts in four scripts, some erased: every search equals the read of every contact,
/// and each contact's bits are its signature.
#[test]
fn searches_from_the_index_find_what_the_read_of_every_contact_finds() {
    let n = started();
    let ids = many(&n, 150);
    check(&n.store, &n.vault);
    // Positive control: the searches find contacts.
    let found = same_as_scan(&n, &queries(&ids));
    assert!(found > 500, "{found}");
    // A worker's erasure (identity and notes) and a sweep of identities alone.
    for id in &ids[..12] {
        crate::retention::erase_contact(&n.store, &n.vault, *id).expect("erase");
    }
    let policy = crate::retention::RetentionPolicy {
        worker_identities_days: Some(1),
        ..Default::default()
    };
    let now = Timestamp(T0 + 40 * 60 + 86_400);
    let swept = crate::retention::sweep(&n.store, &n.vault, &policy, now).expect("sweep");
    assert!(swept.identities > 20, "{}", swept.identities);
    check(&n.store, &n.vault);
    same_as_scan(&n, &queries(&ids));
}

/// The ids a search finds, for an operator who may not see identities too: a contact's,
/// and its case's (linked after the intake, as opening a case does).
#[test]
fn ids_of_contacts_and_of_their_cases_are_found() {
    let n = started();
    let ids = many(&n, 40);
    let case = CaseRef([0xab; 16]);
    let mut batch = WriteBatch::new();
    for id in &ids[5..7] {
        let mut c: Contact = n
            .store
            .get(&schema::CONTACTS, &id.0)
            .expect("get")
            .expect("contact");
        c.case_ref = Some(case);
        batch.put(&schema::CONTACTS, &id.0, &c).expect("put");
    }
    let local = LocalCase {
        case_ref: case,
        nonce: None,
        opened_at: Timestamp(T0),
        contacts: ids[5..7].to_vec(),
        workers: 2,
        issues: Vec::new(),
        supplier: None,
        agencies: Vec::new(),
        site: String::new(),
        consent: Vec::new(),
        opened_by: None,
    };
    batch
        .put(&schema::LOCAL_CASES, case.as_bytes(), &local)
        .expect("put");
    n.store.commit(batch).expect("commit");
    check(&n.store, &n.vault);
    let hex = case.to_hex();
    let q = vec![
        hex[..8].to_string(),
        hex.clone(),
        format!("{} ใจดี", &hex[..12]),
    ];
    assert!(same_as_scan(&n, &q) > 0);
    let found = plan(&n, &hex[..8], None).expect("narrowed by the index");
    assert_eq!(found.others, ids[5..7].to_vec());
    assert!(found.lists.is_empty());
}

/// The plan of a search for an operator who sees every contact.
fn plan(n: &Node, q: &str, key: Option<&GramKey>) -> Option<Plan> {
    Search::new(q, &labels)
        .plan(&n.store, key, &Seen::All, false)
        .expect("plan")
}

/// How many contacts the plan's lists hold.
fn listed(n: &Node, plan: &Plan) -> usize {
    plan.lists
        .iter()
        .map(|l| groups::count(&n.store, l).expect("count"))
        .sum()
}

/// A name looked up narrows the contacts to those whose bits hold it (few of many); a word
/// in some sets of values lists their contacts (unread) and narrows the others by its bits;
/// a short word missing from few sets has their contacts read; a short word in no values,
/// or a word every contact holds, does not narrow (every contact is read).
#[test]
fn a_name_narrows_the_search_to_few_contacts_and_a_value_to_its_lists() {
    let n = started();
    let mut ids = many(&n, 600);
    ids.push(add(&n, 600, "Nang Seng Hom", "Tachileik"));
    let key = GramKey::of(&n.vault).expect("key");
    let one = plan(&n, "seng", Some(&key)).expect("narrowed");
    assert!(one.others.contains(&ids[600]));
    assert!(one.others.len() < 10, "{} of 601 read", one.others.len());
    assert!(one.lists.is_empty());
    let thai = plan(&n, "สมศรี", Some(&key)).expect("narrowed");
    assert!(
        thai.others.len() >= 75 && thai.others.len() < 150,
        "{}",
        thai.others.len()
    );
    // An operator who may not see identities: a name is in no text it may search.
    let none = plan(&n, "seng", None).expect("narrowed");
    assert!(none.others.is_empty() && none.lists.is_empty());
    // A sector: the lists of its sets hold its 200 contacts, none read; for an operator who
    // may see identities, the lists of the word hold the contacts of other sets whose notes
    // name it (each contact from the sector's first, contact 2, was checked for it), none
    // read either; only contacts before it may be.
    let sector = plan(&n, "fishing", Some(&key)).expect("narrowed");
    let naming = (0..600).filter(|i| i % 3 != 2 && i % 7 == 3).count();
    assert_eq!(listed(&n, &sector), 200 + naming);
    assert!(!sector.others.contains(&ids[3]), "listed, not read");
    assert!(
        sector.others.iter().all(|id| ids[..2].contains(id)),
        "{:?}",
        sector.others
    );
    let sector = plan(&n, "fishing", None).expect("narrowed");
    assert_eq!((listed(&n, &sector), sector.others.len()), (200, 0));
    // A short word missing from a few sets (the rare country's): their 54 contacts are read.
    let most = plan(&n, "mm", Some(&key)).expect("narrowed");
    assert_eq!((listed(&n, &most), most.others.len()), (601 - 54, 54));
    assert!(
        plan(&n, "ko", Some(&key)).is_none(),
        "too short: not narrowed"
    );
    let both = plan(&n, "seafood seng", Some(&key)).expect("narrowed");
    assert!(both.others.len() < 10 && both.lists.is_empty());
    // A short word and a word in some sets' values: contact 164 (the rare country's, of the
    // sector, its notes naming the sector and the country) is in a set lacking only the
    // short word (read from its list) and may hold the other word by its bits; it is
    // taken once, and the search finds what the scan finds.
    let mixed = plan(&n, "mm fishing", Some(&key)).expect("narrowed");
    assert!(mixed.others.contains(&ids[164]));
    let unique: BTreeSet<&ContactId> = mixed.others.iter().collect();
    assert_eq!(unique.len(), mixed.others.len(), "a contact taken twice");
    same_as_scan(&n, &["mm fishing".to_string()]);
    // A word in every set's values: the operator's list, as unsearched.
    let every = plan(&n, "th", Some(&key)).expect("narrowed");
    assert_eq!(every.lists, vec![groups::ALL.to_vec()]);
    assert!(every.others.is_empty());
    // A word every contact holds (not in values: it narrows to none of an operator who may
    // not see identities) leaves too many: every contact is read in the store's order.
    let none = plan(&n, "+66", None).expect("narrowed");
    assert!(none.others.is_empty() && none.lists.is_empty());
    assert!(plan(&n, "+66", Some(&key)).is_none());
}

/// A contact missing from its set of values' list is missed by a search for a value (the
/// lists are what it reads), and the comparison with the scan finds it; a rebuild lists it.
#[test]
fn a_contact_missing_from_its_values_list_is_missed() {
    let n = started();
    let ids = many(&n, 30);
    let q = vec!["seafood".to_string(), "label".to_string()];
    same_as_scan(&n, &q);
    let c: Contact = n
        .store
        .get(&schema::CONTACTS, &ids[0].0)
        .expect("get")
        .expect("contact");
    let mut changes = crate::aggregates::lists::Changes::new();
    changes
        .entry(groups::by_values(&ValueSet::of(&c).id()))
        .or_default()
        .insert(groups::key(&c), false);
    let mut batch = WriteBatch::new();
    LISTS.stage(&n.store, &mut batch, &changes).expect("stage");
    n.store.commit(batch).expect("commit");
    let query = ContactQuery {
        q: "seafood".into(),
        per_page: 50,
        ..Default::default()
    };
    let rows =
        |p: ContactPage| -> Vec<ContactId> { p.contacts.iter().map(|r| r.contact.id).collect() };
    let ours = select(&n.store, &n.vault, &query, &Seen::All, true, &labels).expect("select");
    let full = scan::select(&n.store, &n.vault, &query, &Seen::All, true, &labels).expect("scan");
    let (ours, full) = (rows(ours), rows(full));
    assert!(
        full.contains(&ids[0]) && !ours.contains(&ids[0]),
        "{ours:?}"
    );
    assert!(std::panic::catch_unwind(|| check(&n.store, &n.vault)).is_err());
    groups::rebuild(&n.store, &n.vault).expect("rebuild");
    same_as_scan(&n, &q);
    check(&n.store, &n.vault);
}

/// The bits come from a hash keyed under the vault: the same contact under another vault
/// has other bits, so a copy of the database without the vault key cannot test a guess.
#[test]
fn bits_are_keyed_with_the_vault() {
    let (a, b) = (node(), node());
    let sealed = SealedContact {
        identity: WorkerIdentity {
            name: "Thandar Win".into(),
            ..Default::default()
        },
        notes: String::new(),
    };
    let ka = GramKey::of(&a.vault).expect("key");
    let kb = GramKey::of(&b.vault).expect("key");
    assert!(!Signature::of(&ka, &sealed).0.is_empty());
    assert_ne!(Signature::of(&ka, &sealed), Signature::of(&kb, &sealed));
    // Three letters in a row, by letter (not byte), within words only.
    let g: Vec<&str> = grams("สมชาย").collect();
    assert_eq!(g, ["สมช", "มชา", "ชาย"]);
    assert_eq!(grams("ab").count(), 0);
    assert_eq!(Signature::of_word(&ka, "ab"), None);
}
