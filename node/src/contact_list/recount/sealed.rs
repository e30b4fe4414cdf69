//! The parts of the contact index that need the vault, checked against the contacts (`ilm
//! reindex --check` with the vault's key, the node stopped): each contact's worker keys are
//! the keyed hashes of its number and messenger id, its search bits the signature of its
//! identity and notes, the words of values it is held to mention those its identity and
//! notes hold (of the words registered by its column, its own values' English labels left
//! out), and each column of the search index names a contact whose column it is. A search
//! that trusts a wrong bit misses a worker who calls again: only the vault can tell.
//!
//! Memory stays bounded: contacts are opened in the order of the search index's columns, one
//! block of it at a time; its rows (its bits, 512 KB), the registered words and the text of
//! each set of values are what is held.
//!
//! A contact whose sealed part does not open is indexed as holding nothing (as a rebuild
//! indexes it) and counted: when many do not open, the vault key is likely not this
//! database's, and the differences found say so first.

use super::{Found, short};
use crate::contact_list::groups::{self, Caller, Indexed};
use crate::contact_list::mentions::{self, Vocabulary};
use crate::contact_list::signatures::{self, BLOCK, GramKey, Place, ROWS, Row, ValueSet};
use crate::intake::{Contact, ContactId, SealedContact};
use crate::schema;
use crate::store::{Store, StoreError};
use crate::vault::{Vault, VaultError};
use std::collections::{BTreeSet, HashMap};

/// How a check of the parts that need the vault ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SealedChecked {
    /// Not built by this release: the node builds it at its next start.
    NotBuilt,
    /// What the index holds is what the contacts' identities and notes give.
    Matches {
        /// Contacts opened.
        contacts: usize,
        /// Of those, contacts whose sealed part does not open (indexed as holding nothing,
        /// as a rebuild indexes them).
        unopened: usize,
    },
    /// What differs: how many things, and the first of them, one line each.
    Differs {
        /// How many differences were found.
        total: usize,
        /// The first of them.
        shown: Vec<String>,
        /// Contacts whose sealed part does not open (each also differs, unless it holds
        /// nothing the index keeps).
        unopened: usize,
    },
}

/// Why the check could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SealedCheckError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The vault could not derive a key or hash one.
    #[error(transparent)]
    Vault(#[from] VaultError),
}

/// Checks the parts of the contact index that need the vault (see the module's doc);
/// `progress` is told how many contacts were opened so far.
pub fn check_sealed(
    store: &Store,
    vault: &Vault,
    progress: &mut dyn FnMut(u64),
) -> Result<SealedChecked, SealedCheckError> {
    if !groups::is_built(store)? {
        return Ok(SealedChecked::NotBuilt);
    }
    let key = GramKey::of(vault)?;
    let words = Vocabulary::load(store, &key)?;
    let contacts = store.count(&schema::CONTACTS)?;
    let mut differs = Found::default();
    // One column per contact, never freed: more is a damaged place's id (a column of 2^40
    // would otherwise be walked to), checked no further than the contacts.
    let mut columns = signatures::columns(store)?;
    if columns > contacts as u64 {
        differs.push(format!(
            "the search index names {columns} columns for {contacts} contacts: those past {contacts} not checked"
        ));
        columns = contacts as u64;
    }
    let mut own_texts: HashMap<[u8; 16], String> = HashMap::new();
    let (mut opened, mut unopened) = (0usize, 0usize);
    for block in 0..columns.div_ceil(BLOCK) {
        let first = block * BLOCK;
        let end = first.saturating_add(BLOCK).min(columns);
        // The bits the block's contacts give, row by row, and each column's contact.
        let mut want = vec![Row::empty(); usize::from(ROWS)];
        let mut named: Vec<Option<ContactId>> = Vec::with_capacity(BLOCK as usize);
        for column in first..end {
            let bit = (column - first) as usize;
            let contact = place_of(store, column, &mut differs)?;
            named.push(contact.as_ref().map(|c| c.id));
            let Some(c) = contact else {
                continue;
            };
            opened += 1;
            if opened.is_multiple_of(PROGRESS_EVERY) {
                progress(opened as u64);
            }
            let indexed = match vault.open_json::<SealedContact>(&c.id.0, &c.sealed) {
                Ok(s) => Indexed::with(vault, &key, &s)?,
                Err(_) => {
                    unopened += 1;
                    Indexed::empty(&key)
                }
            };
            for r in indexed.signature.rows() {
                if let Some(row) = want.get_mut(usize::from(r)) {
                    row.set(bit, true);
                }
            }
            keys_differ(store, &c, &indexed, &mut differs)?;
            let set = ValueSet::of(&c);
            let own = own_texts
                .entry(set.id())
                .or_insert_with(|| mentions::own_text(&set));
            let mut want_words = words.mentioned(&indexed.text, column, own);
            let mut held = mentions::of_contact(store, &c.id)?;
            want_words.sort();
            held.sort();
            if held != want_words {
                differs.push(format!(
                    "contact {}: listed as mentioning {} words of values where its identity and notes hold {}",
                    short(&c.id.0),
                    held.len(),
                    want_words.len()
                ));
            }
        }
        let mut wrong: BTreeSet<usize> = BTreeSet::new();
        for (r, want) in want.iter().enumerate() {
            let r = r as u16;
            match signatures::stored_row(store, r, block)? {
                Some(held) if !held.is_whole() => differs.push(format!(
                    "row {r} of block {block} of the search index: {} bytes, damaged",
                    held.len()
                )),
                held => {
                    let held = held.unwrap_or_else(Row::empty);
                    wrong.extend(held.differing(want, (end - first) as usize));
                }
            }
        }
        for bit in wrong {
            let column = first + bit as u64;
            differs.push(match named.get(bit).copied().flatten() {
                Some(id) => format!(
                    "column {column} of the search index (contact {}): its bits are not the signature of its identity and notes",
                    short(&id.0)
                ),
                None => format!("column {column} of the search index: bits set for no contact"),
            });
        }
    }
    progress(opened as u64);
    if opened != contacts {
        differs.push(format!(
            "the search index places {opened} contacts of {contacts}"
        ));
    }
    Ok(if differs.total == 0 {
        SealedChecked::Matches {
            contacts: opened,
            unopened,
        }
    } else {
        SealedChecked::Differs {
            total: differs.total,
            shown: differs.shown,
            unopened,
        }
    })
}

/// Contacts opened between two reports of progress.
const PROGRESS_EVERY: usize = 1_000;

/// The contact column `column` places, if its place names one held whose column it is
/// (else what is wrong is noted).
fn place_of(
    store: &Store,
    column: u64,
    differs: &mut Found,
) -> Result<Option<Contact>, StoreError> {
    let Some(place) = store.get::<Place>(&schema::SEARCH_PLACES, &column.to_be_bytes())? else {
        differs.push(format!(
            "column {column} of the search index: no contact placed"
        ));
        return Ok(None);
    };
    let Some(id) = place.contact() else {
        differs.push(format!(
            "column {column} of the search index: a damaged place"
        ));
        return Ok(None);
    };
    let Some(c) = store.get::<Contact>(&schema::CONTACTS, &id.0)? else {
        differs.push(format!(
            "column {column} of the search index: names contact {}, which is not held",
            short(&id.0)
        ));
        return Ok(None);
    };
    if store.get::<u64>(&schema::SEARCH_COLUMNS, &id.0)? != Some(column) {
        differs.push(format!(
            "contact {}: its column is not {column}, where the search index places it",
            short(&id.0)
        ));
    }
    if place.set() != Some(ValueSet::of(&c).id()) {
        differs.push(format!(
            "column {column} of the search index (contact {}): names another set of values",
            short(&id.0)
        ));
    }
    Ok(Some(c))
}

/// Notes whether `c`'s worker keys, as held, are those its identity gives.
fn keys_differ(
    store: &Store,
    c: &Contact,
    indexed: &Indexed,
    differs: &mut Found,
) -> Result<(), StoreError> {
    let held = store
        .get::<Caller>(&schema::CALLERS, &c.id.0)?
        .map(|caller| caller.keys)
        .unwrap_or_default();
    // `worker_keys` gives them sorted and each once.
    let want = &indexed.keys;
    let mut held_sorted = held;
    held_sorted.sort();
    if held_sorted != *want {
        differs.push(format!(
            "contact {}: its {} worker keys are not the keyed hashes of its number and messenger id ({})",
            short(&c.id.0),
            held_sorted.len(),
            want.len()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
