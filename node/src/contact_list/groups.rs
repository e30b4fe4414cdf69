//! The contact list's index, kept with the contacts in the batch that stores them: which
//! contacts are the same worker, and the contacts newest first (every one, each operator's,
//! and those of workers who got in touch more than once; each of those also per set of coded
//! values, so a search for a sector or a country pages its lists, and per word of values a
//! contact mentions and set, [`mentions`]), so that a page, a repeat
//! caller's other contacts and the count a new intake shows cost what they show, not what
//! the node holds. Before it, every page opened every sealed contact of the node.
//!
//! Two contacts are the same worker when they share a phone number or a messenger id, in
//! any format, transitively (see [`super::phone_key`], [`super::messenger_key`]). The node
//! keeps those keys only as keyed hashes under its vault ([`worker_keys`]): a copy of the
//! database without the vault key cannot test a guessed number. A group is named by one of
//! its contacts; its keys point to it. A new contact joins (and merges) the groups of its
//! keys; an erased identity leaves its group, which is split again from its other contacts'
//! keys, as a read of every contact would group them.
//!
//! Invariants (checked by the tests against a read of every contact): every key of a
//! contact points to its group; a group lists exactly the contacts naming it; the repeat
//! lists hold exactly the contacts of groups of two or more; a contact is in the lists of its
//! set of values and of no other set (its values never change), and in those of the words it
//! mentions (registered by its column) with its set, and no other word's; each list's count
//! is its number of keys.

use super::mentions::{self, MentionId};
use super::search::personal_text;
use super::signatures::{self, GramKey, Signature, ValueSet};
use crate::aggregates::lists::{Changes, Lists};
use crate::intake::{Contact, ContactId, SealedContact, WorkerIdentity};
use crate::schema;
use crate::store::{Store, StoreError, WriteBatch};
use crate::vault::{Vault, VaultError};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};

mod build;
pub use build::{BuildError, ensure, invalidate, is_built, rebuild};

/// The version of the index this release builds: a node holding another builds it again at
/// its start (`ensure`).
pub const VERSION: u32 = 6;

/// Bytes of a contact's place in the lists: its time inverted (newest first), then its id.
pub const KEY_LEN: usize = 24;

/// A contact's place in the lists.
pub type Key = [u8; KEY_LEN];

/// The contact lists, in blocks.
pub const LISTS: Lists<KEY_LEN> = Lists::new(&schema::CONTACT_LISTS);

/// The list of every contact.
pub const ALL: &[u8] = b"a";

/// The list of the contacts of workers who got in touch more than once.
pub const REPEAT: &[u8] = b"m";

/// The list of the contacts an operator recorded (the only ones an intake operator sees).
pub fn recorded(operator: &str) -> Vec<u8> {
    [b"r", operator.as_bytes(), &[0]].concat()
}

/// The list of an operator's contacts of workers who got in touch more than once.
pub fn repeat_recorded(operator: &str) -> Vec<u8> {
    [b"n", operator.as_bytes(), &[0]].concat()
}

/// The list of the contacts of one set of values ([`ValueSet::id`]): a search for a word
/// in a set's values or labels lists its contacts without reading them. Of one length for
/// every set, so one set's list is never read as part of another's.
pub fn by_values(set: &[u8; 16]) -> Vec<u8> {
    [b"v".as_slice(), set].concat()
}

/// The list of an operator's contacts of one set of values.
pub fn recorded_by_values(operator: &str, set: &[u8; 16]) -> Vec<u8> {
    [b"w".as_slice(), set, operator.as_bytes(), &[0]].concat()
}

/// The list of the contacts of one set of values of workers who got in touch more than once.
pub fn repeat_by_values(set: &[u8; 16]) -> Vec<u8> {
    [b"x".as_slice(), set].concat()
}

/// The list of an operator's contacts of one set of values of workers who got in touch
/// more than once.
pub fn repeat_recorded_by_values(operator: &str, set: &[u8; 16]) -> Vec<u8> {
    [b"y".as_slice(), set, operator.as_bytes(), &[0]].concat()
}

/// A contact's place in the lists: newest first, then by id (the list's order).
pub fn key(c: &Contact) -> Key {
    let mut k = [0u8; KEY_LEN];
    k[..8].copy_from_slice(&(u64::MAX - c.received_at.0).to_be_bytes());
    k[8..].copy_from_slice(&c.id.0);
    k
}

/// The contact of a list's key.
pub fn contact_of(key: &Key) -> ContactId {
    let mut id = [0u8; 16];
    id.copy_from_slice(&key[8..]);
    ContactId(id)
}

/// A keyed hash of a phone number's or messenger id's matching form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct WorkerKey(pub [u8; 16]);

/// What the index keeps of a contact whose identity has a phone number or messenger id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caller {
    /// Its worker group.
    pub group: ContactId,
    /// Its keys, sorted.
    pub keys: Vec<WorkerKey>,
}

/// The keys an identity is matched by: its phone number and messenger id, each in its
/// matching form, hashed under the vault (none for an identity without either).
pub fn worker_keys(vault: &Vault, identity: &WorkerIdentity) -> Result<Vec<WorkerKey>, VaultError> {
    let forms = [
        super::phone_key(&identity.phone).map(|k| format!("p:{k}")),
        super::messenger_key(&identity.messenger_id).map(|k| format!("m:{k}")),
    ];
    let mut keys = Vec::new();
    for form in forms.into_iter().flatten() {
        let h = vault.keyed_hash("worker-key", &[form.as_bytes()])?;
        let mut k = [0u8; 16];
        k.copy_from_slice(&h[..16]);
        keys.push(WorkerKey(k));
    }
    keys.sort();
    keys.dedup();
    Ok(keys)
}

/// What the index keeps of a contact's sealed part, worked out under the vault: the keys
/// of its identity ([`worker_keys`]), the signature its search finds it by
/// ([`Signature::of`]), and its identity and notes as a search reads them, for the words of
/// values they mention ([`mentions`]; held only while it is indexed).
pub struct Indexed {
    /// Its identity's keys.
    pub keys: Vec<WorkerKey>,
    /// Its search signature.
    pub signature: Signature,
    /// Its identity and notes, lowercased ([`personal_text`]).
    pub text: String,
    /// The node's gram key, which the words it mentions are kept under.
    pub key: GramKey,
}

impl Indexed {
    /// What the index keeps of `sealed`.
    pub fn of(vault: &Vault, sealed: &SealedContact) -> Result<Indexed, VaultError> {
        Indexed::with(vault, &GramKey::of(vault)?, sealed)
    }

    /// The same, with the node's gram key already derived (a rebuild derives it once).
    pub(crate) fn with(
        vault: &Vault,
        key: &GramKey,
        sealed: &SealedContact,
    ) -> Result<Indexed, VaultError> {
        Ok(Indexed {
            keys: worker_keys(vault, &sealed.identity)?,
            signature: Signature::of(key, sealed),
            text: personal_text(sealed),
            key: key.clone(),
        })
    }

    /// What the index keeps of a contact whose sealed part does not open: nothing of its
    /// identity and notes (a search that cannot open it finds it by no word of them).
    pub(crate) fn empty(key: &GramKey) -> Indexed {
        Indexed {
            keys: Vec::new(),
            signature: Signature::default(),
            text: String::new(),
            key: key.clone(),
        }
    }
}

/// The contacts of `id`'s worker group (itself alone when its identity has no keys), as
/// stored.
pub fn members(store: &Store, id: &ContactId) -> Result<Vec<ContactId>, StoreError> {
    let Some(caller) = store.get(&schema::CALLERS, &id.0)? else {
        return Ok(vec![*id]);
    };
    Ok(store
        .get(&schema::WORKER_GROUPS, &caller.group.0)?
        .unwrap_or_else(|| vec![*id]))
}

/// How many contacts `id`'s worker made, as stored.
pub fn group_size(store: &Store, id: &ContactId) -> Result<usize, StoreError> {
    Ok(members(store, id)?.len().max(1))
}

/// How many contacts the list `name` holds (kept beside it: counting its blocks would read
/// a block per 32 contacts).
pub fn count(store: &Store, name: &[u8]) -> Result<usize, StoreError> {
    Ok(store.get(&schema::CONTACT_COUNTS, name)?.unwrap_or(0) as usize)
}

/// Where a contact is listed: its key, who recorded it, its set of values and the words of
/// values it mentions.
#[derive(Clone)]
pub(crate) struct Place {
    key: Key,
    recorder: Option<String>,
    set: [u8; 16],
    mentions: Vec<MentionId>,
}

impl Place {
    /// The place of `c`, which mentions `mentions`.
    pub(crate) fn of(c: &Contact, mentions: Vec<MentionId>) -> Place {
        Place {
            key: key(c),
            recorder: c.recorded_by.clone(),
            set: ValueSet::of(c).id(),
            mentions,
        }
    }

    /// The lists it is in but the list of every contact (or, when `repeat`, of every repeat
    /// caller's): of its set, its operator's and the words it mentions, the repeat
    /// callers' ones when `repeat`.
    pub(crate) fn lists(&self, repeat: bool) -> Vec<Vec<u8>> {
        let mut lists = vec![if repeat {
            repeat_by_values(&self.set)
        } else {
            by_values(&self.set)
        }];
        if let Some(r) = &self.recorder {
            lists.push(if repeat {
                repeat_recorded(r)
            } else {
                recorded(r)
            });
            lists.push(if repeat {
                repeat_recorded_by_values(r, &self.set)
            } else {
                recorded_by_values(r, &self.set)
            });
        }
        lists.extend(self.mention_lists(repeat));
        lists
    }

    /// The lists of the words it mentions (the repeat callers' when `repeat`).
    fn mention_lists(&self, repeat: bool) -> Vec<Vec<u8>> {
        let mut lists = Vec::new();
        for m in &self.mentions {
            lists.push(if repeat {
                mentions::repeat_by_mention(m, &self.set)
            } else {
                mentions::by_mention(m, &self.set)
            });
            if let Some(r) = &self.recorder {
                lists.push(if repeat {
                    mentions::repeat_recorded_by_mention(r, m, &self.set)
                } else {
                    mentions::recorded_by_mention(r, m, &self.set)
                });
            }
        }
        lists
    }
}

/// Changes to the index for one batch: what it writes, read back by later changes of the
/// same batch (a sweep erases many contacts in one), then staged once.
#[derive(Default)]
pub struct Pending {
    callers: HashMap<ContactId, Option<Caller>>,
    groups: HashMap<ContactId, Option<Vec<ContactId>>>,
    keys: HashMap<WorkerKey, Option<ContactId>>,
    added: HashMap<ContactId, Place>,
    lists: Changes<KEY_LEN>,
    search: signatures::Pending,
    mentions: mentions::Pending,
}

impl Pending {
    /// No changes yet.
    pub fn new() -> Pending {
        Pending::default()
    }

    fn caller(&self, store: &Store, id: &ContactId) -> Result<Option<Caller>, StoreError> {
        match self.callers.get(id) {
            Some(c) => Ok(c.clone()),
            None => store.get(&schema::CALLERS, &id.0),
        }
    }

    fn group(&self, store: &Store, id: &ContactId) -> Result<Option<Vec<ContactId>>, StoreError> {
        match self.groups.get(id) {
            Some(g) => Ok(g.clone()),
            None => store.get(&schema::WORKER_GROUPS, &id.0),
        }
    }

    fn group_of_key(&self, store: &Store, k: &WorkerKey) -> Result<Option<ContactId>, StoreError> {
        match self.keys.get(k) {
            Some(g) => Ok(*g),
            None => store.get(&schema::WORKER_KEYS, &k.0),
        }
    }

    fn place(&self, store: &Store, id: &ContactId) -> Result<Option<Place>, StoreError> {
        if let Some(p) = self.added.get(id) {
            return Ok(Some(p.clone()));
        }
        let Some(c) = store.get::<Contact>(&schema::CONTACTS, &id.0)? else {
            return Ok(None);
        };
        Ok(Some(Place::of(&c, self.mentions.of(store, id)?)))
    }

    fn list(&mut self, name: Vec<u8>, key: Key, holds: bool) {
        self.lists.entry(name).or_default().insert(key, holds);
    }

    /// Puts `id` in or out of the repeat lists.
    fn repeat(&mut self, store: &Store, id: &ContactId, holds: bool) -> Result<(), StoreError> {
        let Some(place) = self.place(store, id)? else {
            return Ok(());
        };
        self.list(REPEAT.to_vec(), place.key, holds);
        for list in place.lists(true) {
            self.list(list, place.key, holds);
        }
        Ok(())
    }

    /// Makes `members` one group named `name`, the keys of each of `moved` (those that were
    /// not in it under that name) pointing to it; the others' records stay as they are.
    fn form(
        &mut self,
        store: &Store,
        name: ContactId,
        members: Vec<ContactId>,
        moved: &[ContactId],
    ) -> Result<(), StoreError> {
        for m in moved {
            let Some(mut caller) = self.caller(store, m)? else {
                continue;
            };
            for k in &caller.keys {
                self.keys.insert(*k, Some(name));
            }
            caller.group = name;
            self.callers.insert(*m, Some(caller));
        }
        self.groups.insert(name, Some(members));
        Ok(())
    }

    /// A new contact, with what is kept of its sealed part: listed, given its place in the
    /// search index, and joined to the groups of its keys (merging them when it links two).
    pub fn add(
        &mut self,
        store: &Store,
        contact: &Contact,
        indexed: Indexed,
    ) -> Result<(), StoreError> {
        let Indexed {
            keys,
            signature,
            text,
            key: gram_key,
        } = indexed;
        let (column, new) = self.search.add(store, contact, &signature)?;
        let id = contact.id;
        let set = ValueSet::of(contact);
        let mentioned = self
            .mentions
            .add(store, &gram_key, id, column, &set, new, &text)?;
        let place = Place::of(contact, mentioned);
        self.list(ALL.to_vec(), place.key, true);
        for list in place.lists(false) {
            self.list(list, place.key, true);
        }
        self.added.insert(id, place);
        if keys.is_empty() {
            return Ok(());
        }
        let mut found = BTreeSet::new();
        for k in &keys {
            found.extend(self.group_of_key(store, k)?);
        }
        let mut groups: Vec<(ContactId, Vec<ContactId>)> = Vec::new();
        for g in found {
            groups.push((g, self.group(store, &g)?.unwrap_or_default()));
        }
        // The largest group keeps its name, so fewer contacts are rewritten.
        groups.sort_by_key(|(g, m)| (std::cmp::Reverse(m.len()), *g));
        let name = groups.first().map_or(id, |(g, _)| *g);
        let mut members = Vec::new();
        let mut single = Vec::new();
        let mut moved = vec![id];
        for (g, m) in groups {
            if m.len() == 1 {
                single.extend(m.iter().copied());
            }
            if g != name {
                self.groups.insert(g, None);
                moved.extend(m.iter().copied());
            }
            members.extend(m);
        }
        members.push(id);
        self.callers.insert(id, Some(Caller { group: name, keys }));
        if members.len() >= 2 {
            for m in single.iter().chain([&id]) {
                self.repeat(store, m, true)?;
            }
        }
        self.form(store, name, members, &moved)
    }

    /// A contact whose sealed part was erased (identity, notes or both): its search
    /// signature goes from that of `was` (what it held) to that of `now` (what it holds),
    /// and it leaves the lists of the words it no longer mentions.
    pub fn resealed(
        &mut self,
        store: &Store,
        key: &GramKey,
        id: &ContactId,
        was: &SealedContact,
        now: &SealedContact,
    ) -> Result<(), StoreError> {
        self.search.resign(
            store,
            id,
            &Signature::of(key, was),
            &Signature::of(key, now),
        )?;
        let Some(mut place) = self.place(store, id)? else {
            return Ok(());
        };
        place.mentions = self.mentions.erased(store, key, id, &personal_text(now))?;
        if place.mentions.is_empty() {
            return Ok(());
        }
        let repeat = match self.caller(store, id)? {
            Some(c) => self.group(store, &c.group)?.is_some_and(|m| m.len() >= 2),
            None => false,
        };
        let mut gone = place.mention_lists(false);
        if repeat {
            gone.extend(place.mention_lists(true));
        }
        for list in gone {
            self.list(list, place.key, false);
        }
        if let Some(p) = self.added.get_mut(id) {
            p.mentions = self.mentions.of(store, id)?;
        }
        Ok(())
    }

    /// A contact whose identity was erased: it leaves its group, which is split again by
    /// its other contacts' keys.
    pub fn erased(&mut self, store: &Store, id: &ContactId) -> Result<(), StoreError> {
        let Some(caller) = self.caller(store, id)? else {
            return Ok(());
        };
        let members = self
            .group(store, &caller.group)?
            .unwrap_or_else(|| vec![*id]);
        self.callers.insert(*id, None);
        self.groups.insert(caller.group, None);
        let rest: Vec<ContactId> = members.iter().copied().filter(|m| m != id).collect();
        let mut keys_of = BTreeMap::new();
        for m in &rest {
            keys_of.insert(
                *m,
                self.caller(store, m)?.map(|c| c.keys).unwrap_or_default(),
            );
        }
        for k in keys_of.values().flatten().chain(&caller.keys) {
            self.keys.insert(*k, None);
        }
        if members.len() >= 2 {
            self.repeat(store, id, false)?;
        }
        for part in split(&keys_of) {
            if members.len() >= 2 && part.len() < 2 {
                for m in &part {
                    self.repeat(store, m, false)?;
                }
            }
            let name = if part.contains(&caller.group) {
                caller.group
            } else {
                part[0]
            };
            // Every key of the group was unset above: each part's are set again.
            let moved = part.clone();
            self.form(store, name, part, &moved)?;
        }
        Ok(())
    }

    /// Puts every change into `batch`.
    pub fn stage(self, store: &Store, batch: &mut WriteBatch) -> Result<(), StoreError> {
        self.search.stage(batch)?;
        self.mentions.stage(batch)?;
        for (id, c) in &self.callers {
            match c {
                Some(c) => batch.put(&schema::CALLERS, &id.0, c)?,
                None => batch.remove(&schema::CALLERS, &id.0),
            }
        }
        for (id, g) in &self.groups {
            match g {
                Some(g) => batch.put(&schema::WORKER_GROUPS, &id.0, g)?,
                None => batch.remove(&schema::WORKER_GROUPS, &id.0),
            }
        }
        for (k, g) in &self.keys {
            match g {
                Some(g) => batch.put(&schema::WORKER_KEYS, &k.0, g)?,
                None => batch.remove(&schema::WORKER_KEYS, &k.0),
            }
        }
        for (name, grown) in LISTS.stage_counted(store, batch, &self.lists)? {
            let held = count(store, &name)? as i64;
            if held + grown < 0 {
                // The count no longer matches its list: `ilm reindex` rebuilds both.
                tracing::warn!("a contact list's count went below zero; run `ilm reindex`");
            }
            batch.put(
                &schema::CONTACT_COUNTS,
                &name,
                &((held + grown).max(0) as u64),
            )?;
        }
        Ok(())
    }
}

/// The contacts of `keys_of` in groups of those sharing a key, transitively; each group
/// sorted, the groups in the order of their first contact.
fn split(keys_of: &BTreeMap<ContactId, Vec<WorkerKey>>) -> Vec<Vec<ContactId>> {
    let ids: Vec<ContactId> = keys_of.keys().copied().collect();
    let mut parent: Vec<usize> = (0..ids.len()).collect();
    let mut seen: HashMap<WorkerKey, usize> = HashMap::new();
    for (i, keys) in keys_of.values().enumerate() {
        for k in keys {
            match seen.get(k) {
                Some(&j) => {
                    let (a, b) = (super::root(&mut parent, i), super::root(&mut parent, j));
                    parent[a] = b;
                }
                None => {
                    seen.insert(*k, i);
                }
            }
        }
    }
    let mut parts: BTreeMap<usize, Vec<ContactId>> = BTreeMap::new();
    for (i, id) in ids.iter().enumerate() {
        parts
            .entry(super::root(&mut parent, i))
            .or_default()
            .push(*id);
    }
    let mut parts: Vec<Vec<ContactId>> = parts.into_values().collect();
    parts.sort();
    parts
}

#[cfg(test)]
pub(crate) mod tests;
