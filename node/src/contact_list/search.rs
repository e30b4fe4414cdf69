//! A search of the contact list: whether a contact holds every word searched, as
//! [`super::matches`] decides it, with less work per contact. Contacts share few sets of
//! values, so the text of a set (its values and their labels, lowercased) is made once per
//! search; and a contact's sealed identity is opened only when a word is not found without
//! it (a contact found by its sector or country searched stays sealed). The contacts that
//! may hold the words are read from the search index ([`super::signatures`]) when some word
//! narrows them ([`Search::narrowed`]).

use super::ContactSummary;
use super::signatures::{self, Clue, GramKey, Signature, ValueSet};
use crate::intake::{Contact, ContactId, SealedContact};
use crate::store::{Store, StoreError};
use std::cell::RefCell;
use std::collections::HashMap;

/// One search: its words, and the text of each set of values met so far.
pub struct Search<'a> {
    words: Vec<String>,
    labels: &'a dyn Fn(&ContactSummary) -> String,
    texts: RefCell<HashMap<ValueSet, String>>,
}

impl<'a> Search<'a> {
    /// The search for `q` (its words lowercased), values labelled by `labels`.
    pub fn new(q: &str, labels: &'a dyn Fn(&ContactSummary) -> String) -> Search<'a> {
        Search {
            words: super::words(q),
            labels,
            texts: RefCell::new(HashMap::new()),
        }
    }

    /// Whether nothing is searched (every contact is found).
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Whether some set of values holds `w` in its text.
    fn in_values(&self, sets: &[ValueSet], w: &str) -> bool {
        let mut texts = self.texts.borrow_mut();
        sets.iter().any(|s| {
            texts
                .entry(s.clone())
                .or_insert_with(|| set_text(s, self.labels))
                .contains(w)
        })
    }

    /// The contacts that may hold every word (a superset, in no order), from the search
    /// index; `None` when every contact is better read: no word narrows them (each is in
    /// some contact's values, or has fewer than three letters while `key`, the node's gram
    /// key given only for an operator who may see identities, says identities count), or
    /// the index leaves more than a third of them.
    pub fn narrowed(
        &self,
        store: &Store,
        key: Option<&GramKey>,
    ) -> Result<Option<Vec<ContactId>>, StoreError> {
        let sets = signatures::value_sets(store)?;
        let mut clues = Vec::new();
        for w in &self.words {
            if self.in_values(&sets, w) {
                continue;
            }
            let bits = match key {
                Some(k) => match Signature::of_word(k, w) {
                    Some(bits) => Some(bits),
                    None => continue,
                },
                None => None,
            };
            clues.push(Clue {
                bits,
                id_start: (w.len() >= 8).then(|| w.clone()),
            });
        }
        if clues.is_empty() {
            return Ok(None);
        }
        let Some(found) = signatures::candidates(store, &clues)? else {
            return Ok(None);
        };
        // Each contact read by its id is a read of its own: every contact read so took 709
        // ms at 100,000 contacts, against 491 ms read in the store's order (measured).
        if found.len() as u64 * 3 > signatures::columns(store)? {
            return Ok(None);
        }
        Ok(Some(found))
    }

    /// Whether `c` holds every word: in its values and their labels, at the start of its
    /// ids, or in the identity and notes `open` gives (None for an operator who may not see
    /// them), opened only when needed.
    pub fn finds(&self, c: &Contact, open: &dyn Fn(&Contact) -> Option<SealedContact>) -> bool {
        if self.words.is_empty() {
            return true;
        }
        let values = ValueSet::of(c);
        // Words have no white space, so a word is found in the joined text exactly when it
        // is found in one of its parts: each part is searched on its own.
        let missing: Vec<&String> = {
            let mut texts = self.texts.borrow_mut();
            let text = texts
                .entry(values)
                .or_insert_with(|| values_text(c, self.labels));
            self.words
                .iter()
                .filter(|w| !text.contains(w.as_str()) && !id_match(c, w))
                .collect()
        };
        if missing.is_empty() {
            return true;
        }
        let Some(s) = open(c) else {
            return false;
        };
        let personal = personal_text(&s);
        missing.iter().all(|w| personal.contains(w.as_str()))
    }
}

/// A contact's values and their labels, never the field names, lowercased.
pub(super) fn values_text(c: &Contact, labels: &dyn Fn(&ContactSummary) -> String) -> String {
    set_text(&ValueSet::of(c), labels)
}

/// A set of values and their labels, lowercased (labels read the values alone).
fn set_text(set: &ValueSet, labels: &dyn Fn(&ContactSummary) -> String) -> String {
    let summary = ContactSummary {
        id: ContactId([0; 16]),
        received_at: ilm_protocol::Timestamp(0),
        channel: set.channel,
        language: set.language.clone(),
        nationality: set.nationality.clone(),
        sector: set.sector.clone(),
        origin: set.origin.clone(),
        destination: set.destination.clone(),
        case_ref: None,
    };
    [
        summary.language.clone(),
        summary.nationality.to_string(),
        summary.sector.clone(),
        summary.origin.to_string(),
        summary.destination.to_string(),
        labels(&summary),
    ]
    .join("\n")
    .to_lowercase()
}

/// A contact's identity and notes, lowercased (only for operators who may see them).
pub(super) fn personal_text(s: &SealedContact) -> String {
    [
        s.identity.name.as_str(),
        &s.identity.phone,
        &s.identity.messenger_id,
        &s.identity.id_numbers.join("\n"),
        &s.notes,
    ]
    .join("\n")
    .to_lowercase()
}

/// Whether `w` starts one of `c`'s ids. Random ids match only from their start and with 8
/// digits or more, so a word like "0004" in a name does not find every id that contains it.
pub(super) fn id_match(c: &Contact, w: &str) -> bool {
    w.len() >= 8
        && (c.id.to_string().starts_with(w)
            || c.case_ref.is_some_and(|r| r.to_hex().starts_with(w)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::{AgeBand, Channel, Gender, WorkerIdentity};
    use crate::vault::Sealed;
    use ilm_protocol::{CaseRef, Timestamp};
    use std::cell::Cell;

    /// A small deterministic generator (xorshift), so a failure names its draw.
    struct Draw(u64);
    impl Draw {
        fn next(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }
        fn pick<'a>(&mut self, of: &[&'a str]) -> &'a str {
            of[self.next(of.len())]
        }
    }

    const NAMES: [&str; 4] = ["Aye Aye Myint", "Somchai Σίσυφος", "Lin Lin", ""];
    const SECTORS: [&str; 3] = ["seafood", "garment", "fishing"];
    const COUNTRIES: [&str; 3] = ["MM", "KH", "TH"];
    const CHANNELS: [Channel; 3] = [Channel::Line, Channel::Facebook, Channel::Viber];

    fn contact(d: &mut Draw, i: u8) -> (Contact, SealedContact) {
        let country = |d: &mut Draw| d.pick(&COUNTRIES).parse().expect("country");
        let contact = Contact {
            id: ContactId([i.wrapping_mul(37); 16]),
            received_at: Timestamp(u64::from(i)),
            channel: CHANNELS[d.next(3)],
            language: ["my", "km", "th"][d.next(3)].into(),
            nationality: country(d),
            gender: Gender::Female,
            age_band: AgeBand::Under18,
            sector: d.pick(&SECTORS).into(),
            origin: country(d),
            destination: country(d),
            case_ref: (d.next(2) == 0).then_some(CaseRef([i; 16])),
            recorded_by: None,
            sealed: Sealed {
                nonce: vec![],
                ciphertext: vec![],
            },
            erased: None,
        };
        let sealed = SealedContact {
            identity: WorkerIdentity {
                name: d.pick(&NAMES).into(),
                phone: ["+66 81 234 5678", "", "0812345678"][d.next(3)].into(),
                messenger_id: ["@aye.line", "", "LIN-99"][d.next(3)].into(),
                id_numbers: vec!["MA123456".into(), "PP 0099".into()][..d.next(3)].to_vec(),
            },
            notes: ["Unpaid wages since May", "", "passport kept by broker"][d.next(3)].into(),
        };
        (contact, sealed)
    }

    /// Labels that depend on the values only, as the node's do.
    fn labels(s: &ContactSummary) -> String {
        format!(
            "Sector {}\nCountry of {}\nBy {:?}",
            s.sector.to_uppercase(),
            s.origin,
            s.channel
        )
    }

    #[test]
    fn a_search_finds_what_matching_each_contact_whole_finds_and_opens_only_when_needed() {
        let mut d = Draw(0x9E37_79B9_7F4A_7C15);
        let contacts: Vec<(Contact, SealedContact)> =
            (0..=255).map(|i| contact(&mut d, i)).collect();
        let words = [
            "aye",
            "AYE",
            "viber",
            "line",
            "myint",
            "σίσυφος",
            "ΣΊΣΥΦΟΣ",
            "lin",
            "5678",
            "081",
            "@aye",
            "lin-99",
            "ma123456",
            "pp",
            "wages",
            "broker",
            "seafood",
            "SECTOR",
            "garment",
            "country",
            "of",
            "mm",
            "kh",
            "th",
            "my",
            "km",
            "zzz",
            "",
            "2525252525",
            "25252525",
            "0b0b0b0b",
        ];
        let (mut found, mut by_values_alone, mut searches) = (0, 0, 0);
        for _ in 0..600 {
            let q: Vec<&str> = (0..1 + d.next(3)).map(|_| d.pick(&words)).collect();
            let q = q.join(" ");
            for identities in [true, false] {
                // The labels are asked once per set of values met.
                let asked = Cell::new(0);
                let counted = |c: &ContactSummary| {
                    asked.set(asked.get() + 1);
                    labels(c)
                };
                let search = Search::new(&q, &counted);
                searches += 1;
                for (c, s) in &contacts {
                    let opens = Cell::new(0);
                    let open = |_: &Contact| {
                        opens.set(opens.get() + 1);
                        identities.then(|| s.clone())
                    };
                    let want = super::super::matches(
                        &super::super::words(&q),
                        c,
                        identities.then_some(s),
                        &labels,
                    );
                    assert_eq!(search.finds(c, &open), want, "{q:?} in {c:?}, {s:?}");
                    found += usize::from(want);
                    // Found in its values and ids alone: the identity stays sealed.
                    let alone = super::super::matches(&super::super::words(&q), c, None, &labels);
                    if alone {
                        assert_eq!(opens.get(), 0, "{q:?} opened {c:?}");
                        by_values_alone += 1;
                    }
                }
                let sets: std::collections::HashSet<String> = contacts
                    .iter()
                    .map(|(c, _)| format!("{:?}", ValueSet::of(c)))
                    .collect();
                if !search.is_empty() {
                    assert_eq!(asked.get(), sets.len(), "{q:?}");
                }
            }
        }
        // Positive controls: the draws find contacts, and some by their values alone.
        assert!(
            found > 6_000 && by_values_alone > 2_000,
            "{found} {by_values_alone}"
        );
        assert_eq!(searches, 1_200);
    }
}
