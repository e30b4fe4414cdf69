//! The contact index checked against the contacts, without the vault (`ilm reindex --check`,
//! the node stopped): which contacts each list holds and each list's count, the repeat
//! lists against the worker groups held, each group against its contacts' records, and the
//! worker keys against both, and the lists of the words of values contacts mention against
//! the words each contact is held to mention. Whether the keys are the right keyed hashes of
//! the numbers, whether a contact mentions the words held, and the search index's bits need
//! the vault: `sealed` checks them, with its key ([`check_sealed`]).
//!
//! Memory stays bounded: each list is summed (a count and a sum of its keys' hashes), never
//! held, so a list missing a contact, holding one twice or holding another in its place
//! differs from what the contacts give. One sum is held per list: at most (sets of values
//! times operators, and words mentioned times those) times two (repeat callers'), not per
//! contact.

use super::groups::{self, Key, LISTS};
use super::mentions;
use crate::intake::{Contact, ContactId};
use crate::schema;
use crate::store::{Store, StoreError};
pub use sealed::{SealedCheckError, SealedChecked, check_sealed};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// How a check of the contact index ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    /// Not built by this release (a new database, one of an earlier release, or after
    /// `ilm reindex`): the node builds it at its next start.
    NotBuilt,
    /// What the index holds is what the contacts give, over this many lists.
    Matches {
        /// Lists checked.
        lists: usize,
        /// Contacts read.
        contacts: usize,
    },
    /// What differs: how many things, and the first [`KEPT`] of them, one line each.
    Differs {
        /// How many differences were found.
        total: usize,
        /// The first of them, lists first.
        shown: Vec<String>,
    },
}

/// Differences kept to be shown (a lost table would otherwise give a line per contact).
pub const KEPT: usize = 20;

/// Differences found: counted, the first [`KEPT`] kept.
#[derive(Default)]
struct Found {
    total: usize,
    shown: Vec<String>,
}

impl Found {
    fn push(&mut self, line: String) {
        self.total += 1;
        if self.shown.len() < KEPT {
            self.shown.push(line);
        }
    }
}

/// A list summed: how many keys and the sum of their hashes (so the same keys in any order
/// sum the same, and another key in the place of one does not).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Sum {
    count: u64,
    hashes: u128,
}

impl Sum {
    fn merge(&mut self, other: Sum) {
        self.count += other.count;
        self.hashes = self.hashes.wrapping_add(other.hashes);
    }

    fn add(&mut self, key: &Key) {
        let h = Sha256::digest(key);
        let mut first = [0u8; 16];
        first.copy_from_slice(&h[..16]);
        self.count += 1;
        self.hashes = self.hashes.wrapping_add(u128::from_be_bytes(first));
    }
}

/// Checks the contact index a node holds against its contacts (see the module's doc);
/// `progress` is told how many contacts were read so far.
pub fn check(store: &Store, progress: &mut dyn FnMut(u64)) -> Result<Checked, StoreError> {
    if !groups::is_built(store)? {
        return Ok(Checked::NotBuilt);
    }
    let mut differs = Found::default();
    let (expected, contacts) = expected(store, progress)?;
    let mut held: BTreeMap<Vec<u8>, Sum> = BTreeMap::new();
    // A list's keys come one after another: summed as they come, its name copied once.
    let mut current: Option<(Vec<u8>, Sum)> = None;
    LISTS.each_key(store, &[], |list, key| match &mut current {
        Some((name, sum)) if name.as_slice() == list => sum.add(key),
        _ => {
            if let Some((name, sum)) = current.take() {
                held.entry(name).or_default().merge(sum);
            }
            let mut sum = Sum::default();
            sum.add(key);
            current = Some((list.to_vec(), sum));
        }
    })?;
    if let Some((name, sum)) = current {
        held.entry(name).or_default().merge(sum);
    }
    let mut counts: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
    store.try_for_each(&schema::CONTACT_COUNTS, |name, n| {
        counts.insert(name, n);
        Ok(())
    })?;
    let names: BTreeSet<&Vec<u8>> = expected.keys().chain(held.keys()).collect();
    for name in &names {
        let (want, have) = (
            expected.get(*name).copied().unwrap_or_default(),
            held.get(*name).copied().unwrap_or_default(),
        );
        if want.count != have.count {
            differs.push(format!(
                "the list of {}: holds {} contacts where the contacts give {}",
                describe(name),
                have.count,
                want.count
            ));
        } else if want != have {
            differs.push(format!(
                "the list of {}: holds {} contacts, but not those the contacts give",
                describe(name),
                have.count
            ));
        }
    }
    for (name, n) in &counts {
        let have = held.get(name).map_or(0, |s| s.count);
        if *n != have {
            differs.push(format!(
                "the list of {}: counted {n}, holds {have}",
                describe(name)
            ));
        }
    }
    for name in held.keys().filter(|n| !counts.contains_key(*n)) {
        differs.push(format!(
            "the list of {}: holds contacts, not counted",
            describe(name)
        ));
    }
    groups_differ(store, &mut differs)?;
    Ok(if differs.total == 0 {
        Checked::Matches {
            lists: names.len(),
            contacts,
        }
    } else {
        Checked::Differs {
            total: differs.total,
            shown: differs.shown,
        }
    })
}

/// Each list the contacts give, summed, and how many contacts there are: every contact is
/// in the list of every contact, its set of values', those of the words it mentions (as
/// held), and when recorded by an operator, that operator's; a contact of a worker group of
/// two or more (as held) in the repeat ones.
fn expected(
    store: &Store,
    progress: &mut dyn FnMut(u64),
) -> Result<(BTreeMap<Vec<u8>, Sum>, usize), StoreError> {
    let mut lists: BTreeMap<Vec<u8>, Sum> = BTreeMap::new();
    let mut n: usize = 0;
    // Sizes of large groups, read once: each contact of a group of k reading its k members
    // would cost k squared (a number typed for many workers). At most one per BIG contacts.
    let mut big: HashMap<ContactId, usize> = HashMap::new();
    store.try_for_each(&schema::CONTACTS, |_, c: Contact| {
        n += 1;
        if n.is_multiple_of(PROGRESS_EVERY) {
            progress(n as u64);
        }
        let key = groups::key(&c);
        // As `groups::group_size` gives it.
        let size = match store.get::<groups::Caller>(&schema::CALLERS, &c.id.0)? {
            None => 1,
            Some(caller) => match big.get(&caller.group) {
                Some(size) => *size,
                None => {
                    let size = store
                        .get::<Vec<ContactId>>(&schema::WORKER_GROUPS, &caller.group.0)?
                        .map_or(1, |m| m.len().max(1));
                    if size >= BIG {
                        big.insert(caller.group, size);
                    }
                    size
                }
            },
        };
        let repeat = size >= 2;
        // The lists the index puts a contact in, from what is held of it (its record, the
        // words it is held to mention, its group's size).
        let place = groups::Place::of(&c, mentions::of_contact(store, &c.id)?);
        let mut add = |name: Vec<u8>| lists.entry(name).or_default().add(&key);
        add(groups::ALL.to_vec());
        place.lists(false).into_iter().for_each(&mut add);
        if repeat {
            add(groups::REPEAT.to_vec());
            place.lists(true).into_iter().for_each(&mut add);
        }
        Ok(())
    })?;
    progress(n as u64);
    Ok((lists, n))
}

/// Members from which a group's size is kept rather than read again.
const BIG: usize = 64;

/// Contacts read between two reports of progress.
const PROGRESS_EVERY: usize = 1_000;

/// What differs between the worker groups, their contacts' records and the worker keys: a
/// group lists each of its contacts once, each naming it; a contact's group lists it; each
/// of a contact's keys leads to its group, and every key to a group held.
fn groups_differ(store: &Store, differs: &mut Found) -> Result<(), StoreError> {
    let mut named = 0usize;
    store.try_for_each(&schema::WORKER_GROUPS, |id, members: Vec<ContactId>| {
        let group = short(&id);
        let distinct: BTreeSet<&ContactId> = members.iter().collect();
        if distinct.len() != members.len() {
            differs.push(format!("worker group {group}: lists a contact twice"));
        }
        for m in distinct {
            let names = store
                .get::<groups::Caller>(&schema::CALLERS, &m.0)?
                .is_some_and(|c| c.group.0.as_slice() == id.as_slice());
            if names {
                named += 1;
            } else {
                differs.push(format!(
                    "worker group {group}: contact {} does not name it",
                    short(&m.0)
                ));
            }
        }
        Ok(())
    })?;
    // Every contact with a record is accounted for when the groups' side counted each: the
    // records are then read only for their keys. Else each is looked for in its group (the
    // members of a large group held as a set, so a group of k is not read k times).
    let accounted = store.count(&schema::CALLERS)? == named;
    let mut sets: HashMap<ContactId, HashSet<ContactId>> = HashMap::new();
    store.try_for_each(&schema::CALLERS, |id, caller: groups::Caller| {
        for k in &caller.keys {
            if store.get::<ContactId>(&schema::WORKER_KEYS, &k.0)? != Some(caller.group) {
                differs.push(format!(
                    "contact {}: a worker key of it does not lead to its worker group {}",
                    short(&id),
                    short(&caller.group.0)
                ));
            }
        }
        if accounted {
            return Ok(());
        }
        let listed = match sets.get(&caller.group) {
            Some(set) => {
                <[u8; 16]>::try_from(id.as_slice()).is_ok_and(|id| set.contains(&ContactId(id)))
            }
            None => {
                let members = store
                    .get::<Vec<ContactId>>(&schema::WORKER_GROUPS, &caller.group.0)?
                    .unwrap_or_default();
                let listed = members.iter().any(|c| c.0.as_slice() == id.as_slice());
                if members.len() >= BIG {
                    sets.insert(caller.group, members.into_iter().collect());
                }
                listed
            }
        };
        if !listed {
            differs.push(format!(
                "contact {}: its worker group {} does not list it",
                short(&id),
                short(&caller.group.0)
            ));
        }
        Ok(())
    })?;
    // A worker key leads to a group that is held.
    store.try_for_each(&schema::WORKER_KEYS, |key, group: ContactId| {
        if !store.contains(&schema::WORKER_GROUPS, &group.0)? {
            differs.push(format!(
                "worker key {}: leads to worker group {}, which is not held",
                short(&key),
                short(&group.0)
            ));
        }
        Ok(())
    })
}

/// A list's name as an operator reads it: operators by name, sets of values by the start
/// of their id.
fn describe(name: &[u8]) -> String {
    let operator =
        |rest: &[u8]| String::from_utf8_lossy(rest.strip_suffix(&[0]).unwrap_or(rest)).into_owned();
    let set = |rest: &[u8]| short(rest.get(..16).unwrap_or(rest));
    match name.split_first() {
        Some((b'a', [])) => "every contact".into(),
        Some((b'm', [])) => "repeat callers".into(),
        Some((b'r', rest)) => format!("{}'s contacts", operator(rest)),
        Some((b'n', rest)) => format!("{}'s repeat callers", operator(rest)),
        Some((b'v', rest)) => format!("values {}", set(rest)),
        Some((b'x', rest)) => format!("repeat callers of values {}", set(rest)),
        Some((b'w', rest)) => format!(
            "{}'s contacts of values {}",
            operator(rest.get(16..).unwrap_or_default()),
            set(rest)
        ),
        Some((b'y', rest)) => format!(
            "{}'s repeat callers of values {}",
            operator(rest.get(16..).unwrap_or_default()),
            set(rest)
        ),
        Some((kind @ (b't' | b's' | b'u' | b'z'), rest)) => {
            let (word, rest) = rest.split_at(rest.len().min(16));
            let of = format!("values {} mentioning word {}", set(rest), short(word));
            match kind {
                b't' => of,
                b's' => format!("repeat callers of {of}"),
                b'u' => format!(
                    "{}'s contacts of {of}",
                    operator(rest.get(16..).unwrap_or_default())
                ),
                _ => format!(
                    "{}'s repeat callers of {of}",
                    operator(rest.get(16..).unwrap_or_default())
                ),
            }
        }
        _ => format!("unknown name {}", short(name)),
    }
}

/// The first bytes of an id, in hex: enough to tell one from another in a report.
fn short(id: &[u8]) -> String {
    id.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

mod sealed;

#[cfg(test)]
mod tests;
