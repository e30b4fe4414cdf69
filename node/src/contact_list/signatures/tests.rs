//! The search index on a real store and vault: each contact's bits are the signature of what
//! it holds (after erasures too), a search from it finds what the read of every contact finds,
//! it narrows a search for a name to few contacts, and the controls: a contact whose bits are
//! missing is missed, which the comparison finds; a damaged row still finds its contacts.

use super::*;
use crate::contact_list::groups::tests::{Node, labels, node, started};
use crate::contact_list::groups::{self, Indexed};
use crate::contact_list::search::Search;
use crate::contact_list::{ContactPage, ContactQuery, Seen, scan, select};
use crate::intake::{AgeBand, Gender, WorkerIdentity};
use ilm_protocol::{CaseRef, Timestamp};

/// Asserts the invariants of the index against a read of every contact: one column per
/// contact and one contact per column, each column's bits exactly the signature of what its
/// sealed contact holds now, every contact's values listed.
pub(crate) fn check(store: &Store, vault: &Vault) {
    let key = GramKey::of(vault).expect("key");
    let contacts: Vec<Contact> = store.scan(&schema::CONTACTS, &[]).expect("contacts");
    let places: Vec<(Vec<u8>, ContactId)> =
        store.scan_with_ids(&schema::SEARCH_PLACES).expect("places");
    assert_eq!(places.len(), contacts.len(), "one place per contact");
    assert_eq!(columns(store).expect("columns"), contacts.len() as u64);
    let sets = value_sets(store).expect("sets");
    for c in &contacts {
        let column: u64 = store
            .get(&schema::SEARCH_COLUMNS, &c.id.0)
            .expect("get")
            .expect("a column");
        let placed: Option<ContactId> = store
            .get(&schema::SEARCH_PLACES, &column.to_be_bytes())
            .expect("get");
        assert_eq!(placed, Some(c.id));
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
        assert!(sets.contains(&ValueSet::of(c)));
        if let Some(case) = c.case_ref {
            let local: Option<LocalCase> = store
                .get(&schema::LOCAL_CASES, case.as_bytes())
                .expect("case");
            assert!(local.is_some_and(|l| l.contacts.contains(&c.id)));
        }
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
fn add(n: &Node, i: u64, name: &str, notes: &str) -> ContactId {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&i.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_be_bytes());
    id[8..].copy_from_slice(&i.to_be_bytes());
    let id = ContactId(id);
    let sealed = SealedContact {
        identity: WorkerIdentity {
            name: name.into(),
            phone: format!("+66 81 {:03} {:04}", i % 1000, i * 7 % 10_000),
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
        nationality: ["MM", "KH"][(i % 2) as usize].parse().expect("country"),
        gender: Gender::Female,
        age_band: AgeBand::From25To34,
        sector: ["seafood", "garment", "fishing"][(i % 3) as usize].into(),
        origin: "MM".parse().expect("country"),
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

/// `count` contacts, names and notes drawn in turn.
fn many(n: &Node, count: u64) -> Vec<ContactId> {
    (0..count)
        .map(|i| {
            let name = format!(
                "{} {}",
                NAMES[(i % 8) as usize],
                ["", "Ko"][(i % 5 / 4) as usize]
            );
            add(n, i, &name, NOTES[(i % 5) as usize])
        })
        .collect()
}

/// Searches the scripts' words, numbers, ids and values for every kind of operator; asserts
/// each page equals the scan's. Returns how many contacts the searches found.
fn same_as_scan(n: &Node, queries: &[String]) -> usize {
    let mut found = 0;
    for seen in [Seen::All, Seen::RecordedBy("intake-b".into())] {
        for identities in [true, false] {
            for q in queries {
                for repeat in [false, true] {
                    let query = ContactQuery {
                        q: q.clone(),
                        repeat,
                        per_page: 7,
                        page: 2,
                        ..Default::default()
                    };
                    let json = |p: ContactPage| serde_json::to_string(&p).expect("json");
                    let ours = select(&n.store, &n.vault, &query, &seen, identities, &labels)
                        .expect("select");
                    found += ours.total;
                    let full = scan::select(&n.store, &n.vault, &query, &seen, identities, &labels)
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
    let search = Search::new(&hex[..8], &labels);
    let found = search
        .narrowed(&n.store, None)
        .expect("narrowed")
        .expect("narrowed by the index");
    assert_eq!(found, ids[5..7].to_vec());
}

/// A name looked up narrows the contacts to those whose bits hold it (few of many); a word
/// in some contact's values, or too short, does not narrow (every contact is read).
#[test]
fn a_name_narrows_the_search_to_few_contacts() {
    let n = started();
    let mut ids = many(&n, 600);
    ids.push(add(&n, 600, "Nang Seng Hom", "Tachileik"));
    let key = GramKey::of(&n.vault).expect("key");
    let narrowed = |q: &str, key: Option<&GramKey>| {
        Search::new(q, &labels)
            .narrowed(&n.store, key)
            .expect("narrowed")
    };
    let one = narrowed("seng", Some(&key)).expect("narrowed");
    assert!(one.contains(&ids[600]));
    assert!(one.len() < 10, "{} of 601 read", one.len());
    let thai = narrowed("สมศรี", Some(&key)).expect("narrowed");
    assert!(thai.len() >= 75 && thai.len() < 150, "{}", thai.len());
    // An operator who may not see identities: a name is in no text it may search.
    assert_eq!(narrowed("seng", None), Some(Vec::new()));
    assert_eq!(
        narrowed("seafood", Some(&key)),
        None,
        "in values: not narrowed"
    );
    assert_eq!(narrowed("ko", Some(&key)), None, "too short: not narrowed");
    assert!(narrowed("seafood seng", Some(&key)).is_some_and(|f| f.len() < 10));
    // A word every contact holds (not in values: it narrows to none of an operator who may
    // not see identities) leaves too many: every contact is read in the store's order.
    assert_eq!(narrowed("+66", None), Some(Vec::new()));
    assert_eq!(narrowed("+66", Some(&key)), None);
}

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
    let narrowed = || {
        Search::new("thandar", &labels)
            .narrowed(&n.store, Some(&key))
            .expect("narrowed")
    };
    assert!(narrowed().is_some(), "the control: read from the index");
    let mut batch = WriteBatch::new();
    batch
        .put(
            &schema::SEARCH_PLACES,
            &(u64::MAX / 2).to_be_bytes(),
            &ids[0],
        )
        .expect("put");
    n.store.commit(batch).expect("commit");
    assert_eq!(narrowed(), None);
    same_as_scan(&n, &q);
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
