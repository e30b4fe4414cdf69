//! Which words of the contacts' values (sectors, countries, channels, languages and their
//! labels in every language the UI offers) each contact's identity and notes mention, kept
//! as lists per word and set of values, so that a search for a sector finds the contacts of
//! other sectors whose notes name it from those lists, counted and paged without opening
//! each (a million contacts: ~16,700 such contacts each read and opened took 1.1 s).
//!
//! A word is registered when the first contact of a set of values holding it is indexed,
//! with that contact's column in the search index ([`super::signatures`]): every contact
//! indexed from then on is checked for it, those before are not (a search reads them as
//! before, narrowed by the search index to the columns before it). A rebuild registers the
//! words of every set first, so each is checked in every contact.
//!
//! A contact is not listed for the words of its own values and their English labels: every
//! operator's search finds its set holding those (the labels a search reads include the
//! English ones), so those lists would never be read. The index is therefore built again
//! when the English labels change ([`labels_fingerprint`]).
//!
//! The node keeps which words a contact mentions as keyed hashes under its vault
//! ([`MentionId`]), as it keeps a contact's search bits. That hides the word poorly: each is
//! registered with the column of the first contact of a set holding it, which a copy of the
//! database without the vault key can see (SECURITY.md says what such a copy learns). The
//! words themselves are those of values and labels, which the node keeps in the clear.

use super::signatures::{GramKey, ValueSet};
use crate::intake::ContactId;
use crate::schema;
use crate::store::{Store, StoreError, WriteBatch};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::OnceLock;

/// Letters a word needs to be registered: shorter ones are in too many notes to be worth a
/// list (and a search narrows them by nothing).
const MIN_LETTERS: usize = 3;

/// A registered word, as a keyed hash under the vault ([`GramKey::mention`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MentionId(pub [u8; 16]);

/// The words of `set` a search may look for: those of its values and their labels in every
/// language the UI offers, lowercased, of [`MIN_LETTERS`] letters or more.
pub fn words_of(set: &ValueSet) -> BTreeSet<String> {
    let mut text = String::new();
    for (lang, _) in crate::i18n::LANGUAGES {
        text.push_str(&text_in(set, lang));
        text.push('\n');
    }
    text.split_whitespace()
        .filter(|w| w.chars().count() >= MIN_LETTERS)
        .map(str::to_string)
        .collect()
}

/// The UI's labels, loaded once.
fn i18n() -> Option<&'static crate::i18n::I18n> {
    static I18N: OnceLock<Option<crate::i18n::I18n>> = OnceLock::new();
    // The locales are embedded and checked by tests; were they not to load, only the values
    // themselves would be registered (each word registered is still checked exactly).
    I18N.get_or_init(|| crate::i18n::I18n::load().ok()).as_ref()
}

/// A fingerprint of the English labels of values, which [`own_text`] reads: an index built
/// under other labels is built again (`groups::ensure`).
pub fn labels_fingerprint() -> u32 {
    // Read by every search (whether the index is built): worked out once.
    static FINGERPRINT: OnceLock<u32> = OnceLock::new();
    *FINGERPRINT.get_or_init(|| match i18n() {
        Some(i) => fingerprint(i.table("en")),
        None => fingerprint(&HashMap::new()),
    })
}

/// The fingerprint of the labels of values in `table` (message key to text).
fn fingerprint(table: &HashMap<String, String>) -> u32 {
    let mut labels: Vec<(&String, &String)> = table.iter().collect();
    labels.retain(|(k, _)| {
        ["channel_", "lang_", "country_", "sector_"]
            .iter()
            .any(|p| k.starts_with(p))
    });
    labels.sort();
    let mut h = Sha256::new();
    for (k, v) in labels {
        h.update(k.as_bytes());
        h.update([0]);
        h.update(v.as_bytes());
        h.update([0]);
    }
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// The text of `set` a search in `lang` reads: its values and their labels in English and
/// `lang`, lowercased.
fn text_in(set: &ValueSet, lang: &str) -> String {
    let i18n = i18n();
    let labels = |c: &super::ContactSummary| match i18n {
        Some(i) => super::labels::labelled(i.table("en"), i.table(lang), c),
        None => String::new(),
    };
    super::search::set_text(set, &labels)
}

/// The text every search of `set` reads, whatever the operator's language: its values and
/// their English labels, lowercased. A word found in it is never lacking from the set, so
/// its contacts are not listed as mentioning it.
pub fn own_text(set: &ValueSet) -> String {
    text_in(set, "en")
}

/// The column from which every contact indexed was checked for `word` (None: not
/// registered).
pub fn first_column(store: &Store, word: &str) -> Result<Option<u64>, StoreError> {
    store.get(&schema::MENTION_WORDS, word.as_bytes())
}

/// The registered words, each with its id and the column it was registered at, as this
/// batch leaves them.
pub struct Vocabulary {
    words: BTreeMap<String, (MentionId, u64)>,
    by_id: HashMap<MentionId, String>,
    added: BTreeMap<String, u64>,
}

impl Vocabulary {
    /// The words registered in `store`.
    pub fn load(store: &Store, key: &GramKey) -> Result<Vocabulary, StoreError> {
        let mut v = Vocabulary {
            words: BTreeMap::new(),
            by_id: HashMap::new(),
            added: BTreeMap::new(),
        };
        store.try_for_each(&schema::MENTION_WORDS, |word, first: u64| {
            // No search can name a word that is not text: skipped, as if not registered.
            if let Ok(word) = String::from_utf8(word) {
                v.insert(word, key, first);
            }
            Ok(())
        })?;
        Ok(v)
    }

    fn insert(&mut self, word: String, key: &GramKey, first: u64) {
        let id = key.mention(&word);
        self.by_id.insert(id, word.clone());
        self.words.insert(word, (id, first));
    }

    /// Registers the words of `set` not yet registered, at `column` (the column of the
    /// first contact of the set).
    pub fn register(&mut self, set: &ValueSet, column: u64, key: &GramKey) {
        for word in words_of(set) {
            if !self.words.contains_key(&word) {
                self.insert(word.clone(), key, column);
                self.added.insert(word, column);
            }
        }
    }

    /// The words `text` (an identity and notes, lowercased) mentions of those a contact at
    /// `column` is checked for, but those in `own` (its set's [`own_text`]).
    pub fn mentioned(&self, text: &str, column: u64, own: &str) -> Vec<MentionId> {
        let mut ids: Vec<MentionId> = self
            .words
            .iter()
            .filter(|(w, (_, first))| {
                *first <= column && text.contains(w.as_str()) && !own.contains(w.as_str())
            })
            .map(|(_, (id, _))| *id)
            .collect();
        ids.sort_unstable();
        ids
    }

    /// The word of `id`, if registered.
    pub fn word(&self, id: &MentionId) -> Option<&str> {
        self.by_id.get(id).map(String::as_str)
    }

    /// Puts the words registered since it was loaded into `batch`.
    pub fn stage(&self, batch: &mut WriteBatch) -> Result<(), StoreError> {
        for (word, first) in &self.added {
            batch.put(&schema::MENTION_WORDS, word.as_bytes(), first)?;
        }
        Ok(())
    }
}

/// The list of the contacts of one set of values whose identity or notes mention a word.
/// Of one length for every word and set, so one list is never read as part of another's.
pub fn by_mention(word: &MentionId, set: &[u8; 16]) -> Vec<u8> {
    [b"t".as_slice(), &word.0, set].concat()
}

/// The same, of an operator's contacts.
pub fn recorded_by_mention(operator: &str, word: &MentionId, set: &[u8; 16]) -> Vec<u8> {
    [b"u".as_slice(), &word.0, set, operator.as_bytes(), &[0]].concat()
}

/// The same, of workers who got in touch more than once.
pub fn repeat_by_mention(word: &MentionId, set: &[u8; 16]) -> Vec<u8> {
    [b"s".as_slice(), &word.0, set].concat()
}

/// The same, of an operator's contacts of workers who got in touch more than once.
pub fn repeat_recorded_by_mention(operator: &str, word: &MentionId, set: &[u8; 16]) -> Vec<u8> {
    [b"z".as_slice(), &word.0, set, operator.as_bytes(), &[0]].concat()
}

/// The words `id`'s contact mentions, as stored.
pub fn of_contact(store: &Store, id: &ContactId) -> Result<Vec<MentionId>, StoreError> {
    Ok(store.get(&schema::MENTIONS, &id.0)?.unwrap_or_default())
}

/// Changes to the words and mentions for one batch, read back by later changes of it.
#[derive(Default)]
pub struct Pending {
    vocabulary: Option<Vocabulary>,
    mentions: BTreeMap<ContactId, Vec<MentionId>>,
    own: HashMap<[u8; 16], String>,
}

impl Pending {
    /// The vocabulary, loaded at the batch's first need.
    fn vocabulary(&mut self, store: &Store, key: &GramKey) -> Result<&mut Vocabulary, StoreError> {
        if self.vocabulary.is_none() {
            self.vocabulary = Some(Vocabulary::load(store, key)?);
        }
        match self.vocabulary.as_mut() {
            Some(v) => Ok(v),
            None => Err(StoreError::Corrupt("the mention words did not load".into())),
        }
    }

    /// A new contact at `column` of `set` whose identity and notes read `text`
    /// (lowercased): the words of its set registered when it is the first of it (`new`);
    /// returns the words it mentions that its set lacks.
    #[allow(clippy::too_many_arguments)]
    pub fn add(
        &mut self,
        store: &Store,
        key: &GramKey,
        id: ContactId,
        column: u64,
        set: &ValueSet,
        new: bool,
        text: &str,
    ) -> Result<Vec<MentionId>, StoreError> {
        let own = self
            .own
            .entry(set.id())
            .or_insert_with(|| own_text(set))
            .clone();
        let vocabulary = self.vocabulary(store, key)?;
        if new {
            vocabulary.register(set, column, key);
        }
        let mentioned = vocabulary.mentioned(text, column, &own);
        if !mentioned.is_empty() {
            self.mentions.insert(id, mentioned.clone());
        }
        Ok(mentioned)
    }

    /// The words `id`'s contact mentions, as this batch leaves them.
    pub fn of(&self, store: &Store, id: &ContactId) -> Result<Vec<MentionId>, StoreError> {
        match self.mentions.get(id) {
            Some(m) => Ok(m.clone()),
            None => of_contact(store, id),
        }
    }

    /// A contact whose identity or notes were erased, now reading `text`: returns the words
    /// it no longer mentions (an erasure only takes words away).
    pub fn erased(
        &mut self,
        store: &Store,
        key: &GramKey,
        id: &ContactId,
        text: &str,
    ) -> Result<Vec<MentionId>, StoreError> {
        let was = self.of(store, id)?;
        if was.is_empty() {
            return Ok(Vec::new());
        }
        let vocabulary = self.vocabulary(store, key)?;
        let (kept, gone): (Vec<MentionId>, Vec<MentionId>) = was
            .into_iter()
            .partition(|m| vocabulary.word(m).is_some_and(|w| text.contains(w)));
        self.mentions.insert(*id, kept);
        Ok(gone)
    }

    /// Puts every change into `batch`.
    pub fn stage(&self, batch: &mut WriteBatch) -> Result<(), StoreError> {
        if let Some(v) = &self.vocabulary {
            v.stage(batch)?;
        }
        for (id, m) in &self.mentions {
            if m.is_empty() {
                batch.remove(&schema::MENTIONS, &id.0);
            } else {
                batch.put(&schema::MENTIONS, &id.0, m)?;
            }
        }
        Ok(())
    }
}

/// Empties the words and mentions, before the index is built again.
pub(crate) fn clear(store: &Store) -> Result<(), StoreError> {
    schema::remove_all_unmarked(store, &schema::MENTION_WORDS)?;
    schema::remove_all_unmarked(store, &schema::MENTIONS)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fingerprint follows the labels of values and nothing else of the table.
    #[test]
    fn the_fingerprint_follows_the_labels_of_values_only() {
        let table = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let base = table(&[
            ("sector_seafood", "Seafood processing"),
            ("nav_home", "Home"),
        ]);
        let renamed = table(&[("sector_seafood", "Seafood"), ("nav_home", "Home")]);
        let other = table(&[
            ("sector_seafood", "Seafood processing"),
            ("nav_home", "Start"),
        ]);
        assert_ne!(fingerprint(&base), fingerprint(&renamed));
        assert_eq!(fingerprint(&base), fingerprint(&other));
        assert_ne!(
            labels_fingerprint(),
            fingerprint(&HashMap::new()),
            "the node's labels"
        );
    }
}
