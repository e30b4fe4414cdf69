//! A search the index cannot narrow (a word most contacts' notes hold, such as "passport"
//! at a helpline, or one too short to look up) read down the operator's list, newest first,
//! each contact read by its id and matched, until the page and [`COUNTED`] more are found:
//! its total is then a lower bound, as the case list's wide search says. Reading every
//! contact took 9.8 s at a million (measured); this costs what the page needs.
//!
//! A contact read by its id costs more than one read in the store's order (8x at a million,
//! 1.45x at 100,000, measured), so a walk is tried only where what it may read (its budget,
//! or the list) costs no more than reading every contact ([`Limits::worth_walking`]), and
//! gives up after a number of reads per match wanted: a word few contacts hold is then
//! counted by reading every contact, exactly, the walk's reads added (at most doubling the
//! read of every contact; about 7 % more at a million).

use super::groups;
use crate::aggregates::lists::merged::Merged;
use crate::intake::Contact;
use crate::schema;
use crate::store::{Store, StoreError};

/// Matching contacts a walk counts past the page it shows before it stops (as the case list
/// does): its total is then a lower bound.
pub const COUNTED: usize = 1_000;

/// How far a walk goes (small in tests, so that a few contacts show each way).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Matches counted past the page.
    pub counted: usize,
    /// Contacts read per match wanted before the walk gives up: a word fewer than one
    /// contact in this many holds is counted by reading every contact.
    pub reads_per_match: usize,
    /// What reading a contact by its id costs, in reads in the store's order.
    pub read_cost: usize,
}

/// The limits a node searches with.
pub const LIMITS: Limits = Limits {
    counted: COUNTED,
    reads_per_match: 8,
    read_cost: 8,
};

impl Limits {
    /// How many contacts a walk for `need` matches may read.
    fn budget(&self, need: usize) -> usize {
        need.saturating_mul(self.reads_per_match)
    }

    /// Whether walking `listed` contacts for `need` matches costs less, at its worst (it
    /// reads its budget, or the list, and gives up), than reading all `contacts` in the
    /// store's order: a walk that gives up adds at most that much to the read of all.
    fn worth_walking(&self, listed: usize, contacts: usize, need: usize) -> bool {
        listed.min(self.budget(need)).saturating_mul(self.read_cost) <= contacts
    }
}

/// What a walk found: the keys of the matching contacts, in the list's order, and whether
/// it stopped counting (more may match).
pub struct Walked {
    /// The matching contacts' keys, newest first.
    pub keys: Vec<groups::Key>,
    /// It stopped at `need` matches: the total is a lower bound.
    pub more: bool,
}

/// The contacts of `list` that `keep` keeps, read newest first until `need` are found, the
/// list ends, or the walk's budget is read; None when a walk is not worth it, or gave up
/// (every contact is then better read in the store's order).
pub fn walk(
    store: &Store,
    list: &[u8],
    need: usize,
    limits: &Limits,
    keep: &mut dyn FnMut(&Contact) -> bool,
) -> Result<Option<Walked>, StoreError> {
    let listed = groups::count(store, list)?;
    let contacts = groups::count(store, groups::ALL)?;
    if !limits.worth_walking(listed, contacts, need) {
        return Ok(None);
    }
    let budget = limits.budget(need);
    let mut keys = Vec::new();
    let mut read = 0usize;
    let mut listed = Merged::of_lists(
        &groups::LISTS,
        vec![list.to_vec()],
        Vec::new(),
        &[0; groups::KEY_LEN],
    );
    while let Some(key) = listed.next(store)? {
        if keys.len() == need {
            return Ok(Some(Walked { keys, more: true }));
        }
        if read == budget {
            return Ok(None);
        }
        read += 1;
        let contact = groups::contact_of(&key);
        if let Some(c) = store.get::<Contact>(&schema::CONTACTS, &contact.0)?
            && keep(&c)
        {
            keys.push(key);
        }
    }
    Ok(Some(Walked { keys, more: false }))
}

#[cfg(test)]
mod tests;
