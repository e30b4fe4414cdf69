//! The contact list's search index: which contacts may hold a searched word in their sealed
//! identity and notes, without opening every contact. Before it, a search opened every
//! contact the operator may see (about 5 µs each: seconds at a million contacts).
//!
//! Each contact has a signature: for every three letters in a row of its identity and notes
//! (lowercased, within a word), two of [`ROWS`] bits, chosen by a hash keyed under the vault
//! ([`GramKey`]), so a copy of the database without the vault key cannot compute a
//! guess's bits. A searched word is in a contact's text only if every three letters in a
//! row of it are, so only contacts whose signature holds every bit of the word's can hold
//! it: the index gives those (a superset), and the search checks each against the opened
//! contact as before. Signatures are stored bit-sliced: per block of [`BLOCK`] contacts (in
//! the order they were indexed, each its column), one row of bits per signature bit, a
//! row's blocks side by side in the table, so a word reads a few runs of rows (one per bit
//! of it), not a signature per contact.
//!
//! The index also keeps every set of coded values contacts have (few), so a search knows
//! which sets' values and labels hold a word (their contacts are listed per set, see
//! [`super::groups::by_values`]), and finds the contacts whose ids start with a word from
//! the contacts and cases by id.
//!
//! Invariants (checked against a read of every contact by the tests): each contact has one
//! column and its column one contact (its place, which also names the contact's set of
//! values); a column's bits in its block's rows are exactly the
//! signature of what its sealed contact holds now (an erasure clears them and sets those of
//! what remains); every contact's set of values is listed; a contact of a case is among its
//! local case's contacts (opening a case writes both), which is where a case id's contacts
//! are found. An erasure of a contact without a column (the index damaged) unmarks the
//! index's version: searches read every contact, and the next start builds it again.
//!
//! What a copy of the database without the vault key learns from it: no word, but how alike
//! contacts' texts are (the same three letters set the same bits in every contact), so one
//! who knows one contact's name can tell which others share some of its letters.

use super::search::personal_text;
use crate::intake::{Channel, Contact, ContactId, LocalCase, SealedContact};
use crate::schema;
use crate::store::{Store, StoreError, WriteBatch};
use crate::vault::{Vault, VaultError};
use ilm_protocol::Country;
use serde::{Deserialize, Serialize};
use siphasher::sip::SipHasher13;
use siphasher::sip128::{Hasher128, SipHasher13 as SipHasher13x128};
use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap};
use std::hash::Hasher;

mod row;
pub use row::Row;
use row::{Bits, ROW_BYTES, read_row};
pub(crate) use row::{row_id, stored_row};

/// Contacts per block: a row is `BLOCK / 8` bytes. Tests use small blocks, so that a few
/// hundred contacts cross many.
#[cfg(not(test))]
pub const BLOCK: u64 = 4096;
/// Contacts per block (small under test).
#[cfg(test)]
pub const BLOCK: u64 = 64;

/// Bits of a signature (rows per block).
pub const ROWS: u16 = 1024;

/// The key of the hash that turns three letters into signature bits, derived from the vault
/// key (never the sealing key).
#[derive(Clone)]
pub struct GramKey([u8; 16]);

impl GramKey {
    /// The node's key, from its vault.
    pub fn of(vault: &Vault) -> Result<GramKey, VaultError> {
        let h = vault.keyed_hash("contact-search-gram", &[])?;
        let mut k = [0u8; 16];
        k.copy_from_slice(&h[..16]);
        Ok(GramKey(k))
    }

    /// The two bits of `gram`.
    fn bits(&self, gram: &str) -> [u16; 2] {
        let mut h = SipHasher13::new_with_key(&self.0);
        h.write(gram.as_bytes());
        let x = h.finish();
        let m = u64::from(ROWS);
        [(x % m) as u16, ((x >> 32) % m) as u16]
    }

    /// The id a word of values is kept under in the mentions ([`super::mentions`]).
    pub fn mention(&self, word: &str) -> super::mentions::MentionId {
        let mut h = SipHasher13x128::new_with_key(&self.0);
        h.write(b"mention\0");
        h.write(word.as_bytes());
        super::mentions::MentionId(h.finish128().as_bytes())
    }
}

/// The three letters in a row of `word` (none when it is shorter).
fn grams(word: &str) -> impl Iterator<Item = &str> {
    let starts: Vec<usize> = word
        .char_indices()
        .map(|(i, _)| i)
        .chain([word.len()])
        .collect();
    (0..starts.len().saturating_sub(3)).map(move |i| &word[starts[i]..starts[i + 3]])
}

/// A signature: the rows whose bit is set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Signature(BTreeSet<u16>);

impl Signature {
    /// The rows whose bit it sets.
    pub fn rows(&self) -> impl Iterator<Item = u16> + '_ {
        self.0.iter().copied()
    }

    /// The signature of what a sealed contact holds (its identity and notes, as a search
    /// reads them).
    pub fn of(key: &GramKey, sealed: &SealedContact) -> Signature {
        let mut bits = BTreeSet::new();
        for word in personal_text(sealed).split_whitespace() {
            for gram in grams(word) {
                bits.extend(key.bits(gram));
            }
        }
        Signature(bits)
    }

    /// The bits every contact holding `word` (lowercased, no white space) has; none for a
    /// word of fewer than three letters, which every contact may hold.
    pub fn of_word(key: &GramKey, word: &str) -> Option<Signature> {
        let mut bits = BTreeSet::new();
        for gram in grams(word) {
            bits.extend(key.bits(gram));
        }
        (!bits.is_empty()).then_some(Signature(bits))
    }
}

/// A contact's coded values: what its values' text and labels are made of.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ValueSet {
    /// Channel.
    pub channel: Channel,
    /// Language code.
    pub language: String,
    /// Nationality.
    pub nationality: Country,
    /// Origin country.
    pub origin: Country,
    /// Destination country.
    pub destination: Country,
    /// Sector.
    pub sector: String,
}

impl ValueSet {
    /// The values of `c`.
    pub fn of(c: &Contact) -> ValueSet {
        ValueSet {
            channel: c.channel,
            language: c.language.clone(),
            nationality: c.nationality.clone(),
            origin: c.origin.clone(),
            destination: c.destination.clone(),
            sector: c.sector.clone(),
        }
    }

    /// Its id in the list of sets: a hash of its values written out (not of `Hash`, whose
    /// bytes may change with the compiler).
    pub fn id(&self) -> [u8; 16] {
        let text = format!(
            "{:?}\0{}\0{}\0{}\0{}\0{}",
            self.channel,
            self.language,
            self.nationality,
            self.origin,
            self.destination,
            self.sector
        );
        let mut h = SipHasher13x128::new();
        h.write(text.as_bytes());
        h.finish128().as_bytes()
    }
}

/// What a column of the index holds: its contact and the id of its set of values
/// ([`ValueSet::id`]), so a search drops, unread, the contacts of sets it lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place(#[serde(with = "ilm_protocol::bytes::hex_bytes")] Vec<u8>);

impl Place {
    /// The place of `contact`, of the set of values `set`.
    fn new(contact: &ContactId, set: &[u8; 16]) -> Place {
        Place([contact.0.as_slice(), set].concat())
    }

    /// Its contact (none when the record is damaged).
    pub fn contact(&self) -> Option<ContactId> {
        Some(ContactId(self.0.get(..16)?.try_into().ok()?))
    }

    /// Its contact's set of values (none when the record is damaged).
    pub fn set(&self) -> Option<[u8; 16]> {
        self.0.get(16..)?.try_into().ok()
    }
}

/// Every set of values the node's contacts have.
pub fn value_sets(store: &Store) -> Result<Vec<ValueSet>, StoreError> {
    store.scan(&schema::CONTACT_VALUES, &[])
}

/// How many columns were given (the next column; the contacts indexed), as stored.
pub fn columns(store: &Store) -> Result<u64, StoreError> {
    let last = store.entry_at_or_below::<Place>(&schema::SEARCH_PLACES, &[], &[0xff; 8])?;
    Ok(last.map_or(0, |(id, _)| column_of(&id).map_or(0, |c| c + 1)))
}

/// The column a place's id names.
fn column_of(id: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(id.try_into().ok()?))
}

/// Changes to the search index for one batch, read back by later changes of the same batch.
#[derive(Default)]
pub struct Pending {
    rows: HashMap<[u8; 10], Row>,
    columns: HashMap<ContactId, u64>,
    places: HashMap<u64, Place>,
    next: Option<u64>,
    values: HashMap<[u8; 16], ValueSet>,
    damaged: bool,
}

impl Pending {
    /// The row `row` of `block`, as this batch leaves it; a row of no bits is made when
    /// `make`, else `None` when neither holds it.
    fn row(
        &mut self,
        store: &Store,
        block: u64,
        row: u16,
        make: bool,
    ) -> Result<Option<&mut Row>, StoreError> {
        let row = match self.rows.entry(row_id(row, block)) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => match store.get::<Row>(&schema::SEARCH_ROWS, e.key())? {
                Some(held) => e.insert(held.sized()),
                None if make => e.insert(Row(vec![0; ROW_BYTES])),
                None => return Ok(None),
            },
        };
        Ok(Some(row))
    }

    /// Sets (`on`) or clears `column`'s bits of `signature`.
    fn mark(
        &mut self,
        store: &Store,
        column: u64,
        signature: &Signature,
        on: bool,
    ) -> Result<(), StoreError> {
        let (block, bit) = (column / BLOCK, (column % BLOCK) as usize);
        for &r in &signature.0 {
            if let Some(row) = self.row(store, block, r, on)? {
                row.set(bit, on);
            }
        }
        Ok(())
    }

    /// The column of `id`, as this batch leaves it.
    pub fn column(&self, store: &Store, id: &ContactId) -> Result<Option<u64>, StoreError> {
        match self.columns.get(id) {
            Some(c) => Ok(Some(*c)),
            None => store.get(&schema::SEARCH_COLUMNS, &id.0),
        }
    }

    /// A new contact with the signature of its sealed part: given the next column, and its
    /// set of values listed. Returns its column, and whether it is the first contact of its
    /// set of values.
    pub fn add(
        &mut self,
        store: &Store,
        contact: &Contact,
        signature: &Signature,
    ) -> Result<(u64, bool), StoreError> {
        let column = match self.next {
            Some(n) => n,
            None => columns(store)?,
        };
        self.next = Some(column + 1);
        self.columns.insert(contact.id, column);
        self.mark(store, column, signature, true)?;
        let values = ValueSet::of(contact);
        let id = values.id();
        self.places.insert(column, Place::new(&contact.id, &id));
        if !self.values.contains_key(&id) && !store.contains(&schema::CONTACT_VALUES, &id)? {
            self.values.insert(id, values);
            return Ok((column, true));
        }
        Ok((column, false))
    }

    /// A contact whose sealed part changed (an erasure): the bits of `was` (the signature
    /// of what it held) are cleared, then those of `now` (of what it holds now) set.
    pub fn resign(
        &mut self,
        store: &Store,
        id: &ContactId,
        was: &Signature,
        now: &Signature,
    ) -> Result<(), StoreError> {
        let Some(column) = self.column(store, id)? else {
            tracing::warn!(
                contact = %id,
                "an erased contact has no place in the search index; it is built again at the next start"
            );
            self.damaged = true;
            return Ok(());
        };
        self.mark(store, column, was, false)?;
        self.mark(store, column, now, true)
    }

    /// Puts every change into `batch`.
    pub fn stage(self, batch: &mut WriteBatch) -> Result<(), StoreError> {
        if self.damaged {
            batch.remove(&schema::CONTACT_INDEX, b"version");
        }
        for (id, row) in &self.rows {
            batch.put(&schema::SEARCH_ROWS, id, row)?;
        }
        for (id, column) in &self.columns {
            batch.put(&schema::SEARCH_COLUMNS, &id.0, column)?;
        }
        for (column, place) in &self.places {
            batch.put(&schema::SEARCH_PLACES, &column.to_be_bytes(), place)?;
        }
        for (id, values) in &self.values {
            batch.put(&schema::CONTACT_VALUES, id, values)?;
        }
        Ok(())
    }
}

/// One word of a search, missing from some sets of values: where else it may be found.
#[derive(Debug, Clone)]
pub struct Clue {
    /// The word (what the index read for it is kept under, for the other groups of clues).
    pub word: String,
    /// The bits of the word, when it may be in an identity or notes the operator may see.
    pub bits: Option<Signature>,
    /// The word, when it may start an id (8 letters or more).
    pub id_start: Option<String>,
    /// The first column that need not hold it (`u64::MAX`: none): those from it are found
    /// elsewhere ([`super::mentions`]).
    pub below: u64,
}

/// The columns of the contacts, and contacts of cases, whose id starts with `start`.
fn id_columns(store: &Store, start: &str) -> Result<Vec<u64>, StoreError> {
    // Ids are lowercase hex: a word with another letter starts none.
    if !start.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(Vec::new());
    }
    let even = &start[..start.len() - start.len() % 2];
    let Ok(prefix) = ilm_protocol::bytes::from_hex(even) else {
        return Ok(Vec::new());
    };
    let mut ids: Vec<ContactId> = store
        .scan::<Contact>(&schema::CONTACTS, &prefix)?
        .into_iter()
        .map(|c| c.id)
        .collect();
    for case in store.scan::<LocalCase>(&schema::LOCAL_CASES, &prefix)? {
        ids.extend(case.contacts);
    }
    let mut columns = Vec::new();
    for id in ids {
        columns.extend(store.get::<u64>(&schema::SEARCH_COLUMNS, &id.0)?);
    }
    Ok(columns)
}

/// What the index gives a search: the contacts that may hold its words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidates {
    /// The contacts' columns and places (each contact and its set of values), in the order
    /// they were indexed.
    pub places: Vec<(u64, Place)>,
}

/// The contacts that may hold every clue of one of `groups` (each clue: every bit of its
/// word's signature, or an id starting with it), in the order they were indexed: a superset
/// of those that do, of the columns below each clue's `below`. None when the index names more columns than the contact list holds
/// contacts (damaged: a search then reads every contact).
///
/// None also when more than `limit` columns may hold them: their places are then not read
/// (a word every contact's notes hold named a million columns, whose places took 2.3 s to
/// read, measured, before the search gave them up).
pub fn candidates(
    store: &Store,
    groups: &[Vec<Clue>],
    limit: u64,
) -> Result<Option<Candidates>, StoreError> {
    let columns = columns(store)?;
    if columns > super::groups::count(store, super::groups::ALL)? as u64 {
        tracing::warn!("the contact search index is damaged; run `ilm reindex`");
        return Ok(None);
    }
    // Columns are numbered from 0 across blocks, and a block's row holds its columns' bits
    // in order, so bit `c` of the rows laid end to end is column `c`'s.
    let len = usize::try_from(columns.div_ceil(BLOCK)).unwrap_or(usize::MAX) * ROW_BYTES;
    let mut every: Bits = vec![0u8; len];
    let (full, rest) = ((columns / 8) as usize, (columns % 8) as u32);
    every[..full].fill(0xff);
    if rest > 0 {
        every[full] = ((1u16 << rest) - 1) as u8;
    }
    let mut read = Read::default();
    let mut found: Bits = vec![0u8; len];
    for clues in groups {
        let live = conjunction(store, clues, &every, &mut read)?;
        found.iter_mut().zip(&live).for_each(|(f, l)| *f |= l);
    }
    let named: u64 = found.iter().map(|b| u64::from(b.count_ones())).sum();
    if named > limit {
        return Ok(None);
    }
    let mut places = Vec::new();
    for (i, byte) in found.iter().enumerate() {
        for b in 0..8 {
            if byte & (1 << b) != 0 {
                let column = (i * 8 + b) as u64;
                if let Some(p) = store.get(&schema::SEARCH_PLACES, &column.to_be_bytes())? {
                    places.push((column, p));
                }
            }
        }
    }
    Ok(Some(Candidates { places }))
}

/// What a search read of the index, once whichever groups of clues need it: rows, and the
/// columns that may hold each word.
#[derive(Default)]
struct Read {
    rows: HashMap<u16, Bits>,
    words: HashMap<(String, u64), Bits>,
}

/// The columns of `every` that may hold every clue, reading into `read` what it lacks.
fn conjunction(
    store: &Store,
    clues: &[Clue],
    every: &Bits,
    read: &mut Read,
) -> Result<Bits, StoreError> {
    let mut live = every.clone();
    for clue in clues {
        let word = (clue.word.clone(), clue.below);
        if !read.words.contains_key(&word) {
            let may = may_hold(store, clue, every, &mut read.rows)?;
            read.words.insert(word.clone(), may);
        }
        if let Some(may) = read.words.get(&word) {
            live.iter_mut().zip(may).for_each(|(l, m)| *l &= m);
        }
        if live.iter().all(|b| *b == 0) {
            break;
        }
    }
    Ok(live)
}

/// The columns of `every` that may hold `clue`: whose bits hold every bit of its word, or
/// whose id starts with it.
fn may_hold(
    store: &Store,
    clue: &Clue,
    every: &Bits,
    rows: &mut HashMap<u16, Bits>,
) -> Result<Bits, StoreError> {
    let len = every.len();
    let mut may: Bits = vec![0u8; len];
    if let Some(start) = &clue.id_start {
        for c in id_columns(store, start)? {
            if let Some(byte) = may.get_mut((c / 8) as usize) {
                *byte |= 1 << (c % 8);
            }
        }
    }
    if let Some(bits) = &clue.bits {
        let mut all = every.clone();
        for &r in &bits.0 {
            let row = match rows.entry(r) {
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(e) => e.insert(read_row(store, r, len)?),
            };
            all.iter_mut().zip(row.iter()).for_each(|(a, h)| *a &= h);
            if all.iter().all(|b| *b == 0) {
                break;
            }
        }
        may.iter_mut().zip(&all).for_each(|(m, a)| *m |= a);
    }
    if clue.below < u64::MAX {
        // Bits from column `below` on cleared: whole bytes past its own, then its own's.
        let at = usize::try_from(clue.below / 8).unwrap_or(usize::MAX);
        if let Some(byte) = may.get_mut(at) {
            *byte &= (1u8 << (clue.below % 8)) - 1;
        }
        if let Some(rest) = may.get_mut(at.saturating_add(1)..) {
            rest.fill(0);
        }
    }
    Ok(may)
}

/// Empties the search index, before it is built again (marked unbuilt: [`super::groups::rebuild`]).
pub(crate) fn clear(store: &Store) -> Result<(), StoreError> {
    schema::remove_all_unmarked(store, &schema::SEARCH_ROWS)?;
    schema::remove_all_unmarked(store, &schema::SEARCH_COLUMNS)?;
    schema::remove_all_unmarked(store, &schema::SEARCH_PLACES)?;
    schema::remove_all_unmarked(store, &schema::CONTACT_VALUES)
}

#[cfg(test)]
pub(super) mod tests;
