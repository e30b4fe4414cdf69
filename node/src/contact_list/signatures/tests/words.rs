//! The words of values contacts mention: a word registered after contacts that mention it
//! (a sector's first contact after them) still finds those, read as before; a contact
//! missing from the list of a word it mentions is missed, which the comparison with the
//! scan and `ilm reindex --check` find, and a rebuild lists it.

use super::*;
use crate::aggregates::lists::Changes;
use crate::contact_list::recount::{self, Checked};

/// Two contacts name "garment" in their notes before any contact of that sector: the word
/// is registered at the first garment worker (column 3); a search for it reads the two (of
/// the columns before), lists the others, and finds what the scan finds. After a rebuild every word is registered at column 0 and nothing is read.
#[test]
fn a_word_registered_after_contacts_that_mention_it_still_finds_them() {
    let n = started();
    // A contact's sector is drawn from its number (`add`): 999 is of seafood, 1001 of
    // fishing; of the contacts that follow, the first of garment is the second (column 3).
    let early = [
        add(&n, 999, "Thandar Win", "sewed in a garment factory"),
        add(&n, 1001, "Lin Lin", "garment work, unpaid"),
    ];
    many(&n, 40);
    let late = add(&n, 2000, "Aye Aye Myint", "a garment worker before");
    let key = GramKey::of(&n.vault).expect("key");
    let first = mentions::first_column(&n.store, "garment")
        .expect("read")
        .expect("registered");
    assert_eq!(first, 3, "at the first garment contact: column 3");
    // The index gives only the columns before the word's as may holding it.
    let clue = Clue {
        word: "garment".into(),
        bits: Signature::of_word(&key, "garment"),
        id_start: None,
        below: first,
    };
    let before = candidates(&n.store, &[vec![clue.clone()]], u64::MAX)
        .expect("read")
        .expect("built");
    assert_eq!(before.places.len(), 2, "{:?}", before.places);
    assert!(before.places.iter().all(|(c, _)| *c < first));
    let every = candidates(
        &n.store,
        &[vec![Clue {
            below: u64::MAX,
            ..clue
        }]],
        u64::MAX,
    )
    .expect("read")
    .expect("built");
    assert!(every.places.iter().any(|(c, _)| *c >= first), "the control");
    let garment = plan(&n, "garment", Some(&key)).expect("narrowed");
    for e in &early {
        assert!(garment.others.contains(e), "read: before the word");
    }
    assert!(garment.others.iter().all(|id| early.contains(id)));
    assert!(!garment.others.contains(&late), "listed");
    assert!(garment.lists.len() > 1, "its sets' lists and the word's");
    same_as_scan(&n, &["garment".to_string(), "garment sewed".to_string()]);
    check(&n.store, &n.vault);

    groups::rebuild(&n.store, &n.vault).expect("rebuild");
    assert_eq!(
        mentions::first_column(&n.store, "garment").expect("read"),
        Some(0)
    );
    let garment = plan(&n, "garment", Some(&key)).expect("narrowed");
    assert!(garment.others.is_empty(), "{:?}", garment.others);
    same_as_scan(&n, &["garment".to_string()]);
    check(&n.store, &n.vault);
}

/// The control: contact 3 (of the seafood sector, its notes naming "fishing") taken out of
/// the word's list is missed by a search for "fishing", as the comparison with the scan
/// shows; the check of the index names the list; a rebuild lists it again.
#[test]
fn a_contact_missing_from_the_list_of_a_word_it_mentions_is_missed() {
    let n = started();
    let ids = many(&n, 30);
    let key = GramKey::of(&n.vault).expect("key");
    let q = vec!["fishing".to_string()];
    same_as_scan(&n, &q);
    let c: Contact = n
        .store
        .get(&schema::CONTACTS, &ids[3].0)
        .expect("get")
        .expect("contact");
    let word = key.mention("fishing");
    let set = ValueSet::of(&c).id();
    assert!(
        mentions::of_contact(&n.store, &c.id)
            .expect("read")
            .contains(&word)
    );
    let mut damage: Changes<{ groups::KEY_LEN }> = Changes::new();
    damage.insert(
        mentions::by_mention(&word, &set),
        [(groups::key(&c), false)].into_iter().collect(),
    );
    let mut batch = WriteBatch::new();
    LISTS.stage(&n.store, &mut batch, &damage).expect("stage");
    n.store.commit(batch).expect("commit");
    assert!(std::panic::catch_unwind(|| same_as_scan(&n, &q)).is_err());
    let Checked::Differs { shown, .. } = recount::check(&n.store, &mut |_| {}).expect("check")
    else {
        panic!("damage not found");
    };
    assert!(
        shown.iter().any(|l| l.contains("mentioning word")),
        "{shown:?}"
    );
    groups::rebuild(&n.store, &n.vault).expect("rebuild");
    same_as_scan(&n, &q);
    assert!(matches!(
        recount::check(&n.store, &mut |_| {}).expect("check"),
        Checked::Matches { .. }
    ));
}

/// With the node's own labels (English and the operator's language): contacts whose notes
/// name another sector's label, a country's or a channel's, in English or Thai, are found
/// as the scan finds them by operators of every language, and a word of a label the
/// contact's own set lacks is found from the lists (none read). A word of its own set's
/// English labels is not listed for it (every operator's search finds its set holding it);
/// one of its own set's Thai label is (an English operator's search lacks it).
#[test]
fn words_of_labels_are_found_in_every_language_as_the_scan_finds_them() {
    let n = started();
    many(&n, 30);
    // 3000 is of seafood (its label "Seafood processing"), 3001 of garment, 3002 of
    // fishing.
    let own = add(
        &n,
        3000,
        "Aye",
        "seafood processing in Mae Sot, from Myanmar (แปรรูปอาหารทะเล)",
    );
    let other = add(
        &n,
        3001,
        "Lin",
        "seafood processing before; พม่า; a LINE group",
    );
    add(&n, 3002, "Win", "burmese speaker, เมียนมา");
    let i18n = crate::i18n::I18n::load().expect("locales");
    let key = GramKey::of(&n.vault).expect("key");
    let queries: Vec<String> = [
        "processing",
        "seafood processing",
        "myanmar",
        "burmese",
        "พม่า",
        "เมียนมา",
        "line",
        "processing thandar",
        "แปรรูปอาหารทะเล",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut found = 0;
    for (lang, _) in crate::i18n::LANGUAGES {
        let labels = |c: &crate::contact_list::ContactSummary| {
            crate::contact_list::labels::labelled(i18n.table("en"), i18n.table(lang), c)
        };
        found += same_as_scan_labelled(&n, &queries, &labels);
        let processing = Search::new("processing", &labels)
            .plan(&n.store, Some(&key), &Seen::All, false)
            .expect("plan")
            .expect("narrowed");
        assert!(
            processing.others.is_empty(),
            "{lang}: {:?}",
            processing.others
        );
        assert!(!processing.mentioned.is_empty(), "{lang}: from the lists");
    }
    assert!(found > 0);
    let word = key.mention("processing");
    assert!(
        mentions::of_contact(&n.store, &other)
            .expect("read")
            .contains(&word)
    );
    assert!(
        !mentions::of_contact(&n.store, &own)
            .expect("read")
            .contains(&word),
        "its own set's label"
    );
    check(&n.store, &n.vault);
}

/// An index built under other English labels is not taken as built: the next start builds
/// it again (a contact is not listed for words of its own values' English labels, so a
/// label renamed would otherwise leave contacts unlisted for a word their set now lacks).
#[test]
fn an_index_built_under_other_english_labels_is_built_again() {
    let n = started();
    many(&n, 10);
    assert!(groups::is_built(&n.store).expect("read"));
    assert!(
        !groups::ensure(&n.store, &n.vault).expect("ensure"),
        "the control: kept"
    );
    let mut batch = WriteBatch::new();
    batch
        .put(
            &schema::CONTACT_INDEX,
            b"labels",
            &mentions::labels_fingerprint().wrapping_add(1),
        )
        .expect("put");
    n.store.commit(batch).expect("commit");
    assert!(!groups::is_built(&n.store).expect("read"));
    assert!(matches!(
        recount::check(&n.store, &mut |_| {}).expect("check"),
        Checked::NotBuilt
    ));
    assert!(
        groups::ensure(&n.store, &n.vault).expect("ensure"),
        "built again"
    );
    assert!(groups::is_built(&n.store).expect("read"));
    check(&n.store, &n.vault);
}
