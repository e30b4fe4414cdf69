//! A search of the contact list: whether a contact holds every word searched, as
//! [`super::matches`] decides it, with less work per contact. Contacts share few sets of
//! values, so the text of a set (its values and their labels, lowercased) is made once per
//! search; and a contact's sealed identity is opened only when a word is not found without
//! it (a contact found by its sector or country searched stays sealed). Where the contacts
//! holding the words are comes from the index ([`Search::plan`]): the contacts of a set of
//! values whose text holds every word are all found, from the set's list
//! ([`super::groups::by_values`]; the operator's list when every set holds every word)
//! without being read; so are those of a set lacking one word of values (a sector named in
//! other sectors' notes) that mention it, from the lists of [`super::mentions`]; those of
//! other sets are read when the search index ([`super::signatures`]) says they may hold the
//! words their set lacks, or, for a set lacking only words too short to look up, every
//! contact of its list.

use super::mentions;
use super::signatures::{self, Clue, GramKey, Signature, ValueSet};
use super::{ContactSummary, Seen};
use crate::aggregates::lists;
use crate::intake::{Contact, ContactId, SealedContact};
use crate::store::{Store, StoreError};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};

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

    /// Where the contacts holding every word are, from the index (`None` when every contact
    /// the operator may see is better read): the lists of the sets of values whose text
    /// holds every word (of repeat callers' contacts only, when `repeat`); for an operator
    /// who may see identities, of each set lacking exactly one word, registered
    /// ([`mentions`]) and not one that may start an id, the list of its contacts mentioning
    /// it (and the contacts before the word's first column that may hold it, read); and the
    /// contacts of the other sets that may hold the words their set lacks. Such a word
    /// narrows by its bits when `key` (the node's gram key, given only for an operator who
    /// may see identities) says identities count and it has three letters or more, and by
    /// the ids it starts (8+ letters); a set lacking only words that do not narrow has each
    /// of its contacts read. Every contact is better read when those to read are more than a
    /// third of the contacts.
    pub fn plan(
        &self,
        store: &Store,
        key: Option<&GramKey>,
        seen: &Seen,
        repeat: bool,
    ) -> Result<Option<Plan>, StoreError> {
        if self.words.len() > 64 {
            return Ok(None);
        }
        // Each set of values by the words its text lacks (bit i: word i).
        let mut lacking: BTreeMap<u64, Vec<[u8; 16]>> = BTreeMap::new();
        for set in signatures::value_sets(store)? {
            let mut texts = self.texts.borrow_mut();
            let text = texts
                .entry(set.clone())
                .or_insert_with(|| set_text(&set, self.labels));
            let mask = self
                .words
                .iter()
                .enumerate()
                .filter(|(_, w)| !text.contains(w.as_str()))
                .fold(0u64, |m, (i, _)| m | 1 << i);
            lacking.entry(mask).or_default().push(set.id());
        }
        let full = lacking.remove(&0).unwrap_or_default();
        if full.is_empty()
            && lacking.is_empty()
            && super::groups::count(store, super::groups::ALL)? > 0
        {
            // Contacts but no set of values on record: the index is damaged.
            return Ok(None);
        }
        if lacking.is_empty() {
            // Every set holds every word: the operator's list is the page, as unsearched.
            return Ok(Some(Plan {
                lists: vec![seen.list(repeat)],
                sets: full.into_iter().collect(),
                mentioned: HashMap::new(),
                others: Vec::new(),
            }));
        }
        let mut groups = Vec::new();
        let mut wide = Vec::new();
        let mut mention_lists = Vec::new();
        let mut mentioned: HashMap<[u8; 16], u64> = HashMap::new();
        for (mask, sets) in lacking {
            // One word lacking that the contacts were checked for (from its first column):
            // those mentioning it are listed; those before are read, as any other.
            if let Some(key) = key
                && mask.count_ones() == 1
                && let Some(w) = self.words.get(mask.trailing_zeros() as usize)
                && !may_start_an_id(w)
                && let Some(first) = mentions::first_column(store, w)?
            {
                let word = key.mention(w);
                for set in &sets {
                    mention_lists.push(seen.mention_list(&word, set, repeat));
                    mentioned.insert(*set, first);
                }
                if first > 0 {
                    // A registered word has three letters or more; one without bits is
                    // damage, and the contacts before it are then found by reading all.
                    let Some(c) = clue(Some(key), w) else {
                        return Ok(None);
                    };
                    groups.push(vec![Clue { below: first, ..c }]);
                }
                continue;
            }
            let clues: Vec<Clue> = self
                .words
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & 1 << i != 0)
                .filter_map(|(_, w)| clue(key, w))
                .collect();
            if clues.is_empty() {
                wide.extend(sets);
            } else {
                groups.push(clues);
            }
        }
        // Each contact read by its id is a read of its own: every contact read so took 709
        // ms at 100,000 contacts, against 491 ms read in the store's order (measured).
        let columns = signatures::columns(store)?;
        let most = usize::try_from(columns / 3).unwrap_or(usize::MAX);
        // Candidates of the listed sets are dropped below, and those of mentioned sets from
        // the word's first column: at most that many of their contacts. Past those and
        // `most`, the others would be too many whatever the candidates' sets are (on an
        // index that holds what the contacts give), so their places are not read.
        let mut dropped = 0usize;
        let count = |set: &[u8; 16]| super::groups::count(store, &super::groups::by_values(set));
        for set in full.iter().chain(&wide) {
            dropped = dropped.saturating_add(count(set)?);
        }
        for (set, first) in &mentioned {
            let after = usize::try_from(columns.saturating_sub(*first)).unwrap_or(usize::MAX);
            dropped = dropped.saturating_add(count(set)?.min(after));
        }
        let limit = u64::try_from(most.saturating_add(dropped)).unwrap_or(u64::MAX);
        let Some(found) = signatures::candidates(store, &groups, limit)? else {
            return Ok(None);
        };
        let wide_lists: Vec<Vec<u8>> = wide.iter().map(|s| seen.values_list(s, repeat)).collect();
        let mut in_wide = 0usize;
        for list in &wide_lists {
            in_wide = in_wide.saturating_add(super::groups::count(store, list)?);
        }
        if in_wide > most {
            return Ok(None);
        }
        // The candidates of listed sets are found in the lists, those of wide sets read
        // from theirs: dropped here, unread, so no contact is taken twice. A place whose set
        // does not read (damaged) keeps its contact: it is read, and `select` drops it if
        // its set is listed after all.
        let listed: HashSet<[u8; 16]> = full.iter().chain(&wide).copied().collect();
        let mut others: Vec<ContactId> = found
            .places
            .iter()
            .filter(|(column, p)| {
                p.set().is_none_or(|s| {
                    !listed.contains(&s) && mentioned.get(&s).is_none_or(|first| column < first)
                })
            })
            .filter_map(|(_, p)| p.contact())
            .collect();
        for list in &wide_lists {
            let room = most.saturating_sub(others.len());
            let Some(ids) = super::groups::LISTS.ids_prefixed(store, list, room)? else {
                return Ok(None);
            };
            others.extend(
                ids.iter()
                    .filter_map(|id| lists::key_of::<{ super::groups::KEY_LEN }>(id))
                    .map(|k| super::groups::contact_of(&k)),
            );
        }
        if others.len() > most {
            return Ok(None);
        }
        Ok(Some(Plan {
            lists: full
                .iter()
                .map(|set| seen.values_list(set, repeat))
                .chain(mention_lists)
                .collect(),
            sets: full.into_iter().collect(),
            mentioned,
            others,
        }))
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

/// Where a search's contacts are ([`Search::plan`]).
#[derive(Debug)]
pub struct Plan {
    /// The operator's lists of the sets of values whose text holds every word, then those
    /// of the contacts of sets lacking one word that mention it: each of their contacts is
    /// found, without being read (no contact is in two of them).
    pub lists: Vec<Vec<u8>>,
    /// The ids of those sets ([`ValueSet::id`]): a contact read from `others` of one of
    /// them (a damaged place) is found in its list, not again.
    pub sets: HashSet<[u8; 16]>,
    /// The sets whose contacts mentioning the word they lack are listed (their lists follow
    /// the sets' in `lists`), each with the first column listed: a contact of one from it,
    /// read from `others` (a damaged place), is found in its list, not again.
    pub mentioned: HashMap<[u8; 16], u64>,
    /// Contacts of the other sets that may hold every word (and some the operator may not
    /// see): each is read and matched whole.
    pub others: Vec<ContactId>,
}

/// Where a word missing from a contact's values may be found instead: `None` when it may
/// be anywhere (fewer than three letters, for an operator who may see identities).
fn clue(key: Option<&GramKey>, w: &str) -> Option<Clue> {
    let bits = match key {
        Some(k) => Some(Signature::of_word(k, w)?),
        None => None,
    };
    Some(Clue {
        word: w.to_string(),
        bits,
        id_start: (w.len() >= 8).then(|| w.to_string()),
        below: u64::MAX,
    })
}

/// Whether `w` may start an id ([`id_match`]): ids are lowercase hex.
fn may_start_an_id(w: &str) -> bool {
    w.len() >= 8 && w.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A contact's values and their labels, never the field names, lowercased.
pub(super) fn values_text(c: &Contact, labels: &dyn Fn(&ContactSummary) -> String) -> String {
    set_text(&ValueSet::of(c), labels)
}

/// A set of values and their labels, lowercased (labels read the values alone).
pub(super) fn set_text(set: &ValueSet, labels: &dyn Fn(&ContactSummary) -> String) -> String {
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
