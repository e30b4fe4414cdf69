//! The CSO's contact list: search, repeat-caller detection and paging over recorded
//! contacts. Identities are opened in memory only to match and search; an operator who may
//! not see identities gets the same groups and counts, never the fields they come from.
//!
//! A page is read from the index kept with the contacts ([`groups`]): a plain or repeat
//! list is a window of one list, a worker's contacts are its group, and a search is a window
//! of the lists of the sets of values holding every word merged with the contacts its search
//! index gives ([`signatures`]), each read and matched; or when the index would leave too
//! many, the operator's list walked newest first to the page and some more ([`walk`]), or
//! every contact the operator may see, one at a time, holding only the keys of those that
//! match.
//! [`scan`] is the read of every contact the index replaced, kept as the baseline;
//! [`recount`] checks the index against the contacts (`ilm reindex --check`).

pub mod groups;
pub mod labels;
pub mod mentions;
pub mod recount;
pub mod scan;
pub mod search;
pub mod signatures;
pub mod walk;

use crate::aggregates::lists;
use crate::aggregates::lists::merged::Merged;
use crate::intake::{Contact, ContactId, SealedContact};
use crate::schema;
use crate::store::{Store, StoreError};
use crate::vault::Vault;
use serde::{Deserialize, Serialize};

/// What the contact list shows.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct ContactQuery {
    /// Words that must all appear (identity and notes only for operators who may see them).
    pub q: String,
    /// Only workers who got in touch more than once.
    pub repeat: bool,
    /// Only the contacts of the same worker as this contact.
    pub same_as: String,
    /// Page number, from 1.
    pub page: usize,
    /// Rows per page, as for the case list ([`crate::worklist::page_size`]).
    pub per_page: usize,
}

/// One contact in the list.
#[derive(Debug, Clone, Serialize)]
pub struct ContactRow {
    /// The contact, without its sealed part.
    #[serde(flatten)]
    pub contact: ContactSummary,
    /// How many contacts this worker made (1 for a first-time caller).
    pub contacts_by_worker: usize,
    /// The worker's name, only for operators who may see identities.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// The non-personal fields of a contact.
#[derive(Debug, Clone, Serialize)]
pub struct ContactSummary {
    /// Id.
    pub id: ContactId,
    /// When received.
    pub received_at: ilm_protocol::Timestamp,
    /// Channel code.
    pub channel: crate::intake::Channel,
    /// Language code.
    pub language: String,
    /// Nationality.
    pub nationality: ilm_protocol::Country,
    /// Sector.
    pub sector: String,
    /// Origin country.
    pub origin: ilm_protocol::Country,
    /// Destination country.
    pub destination: ilm_protocol::Country,
    /// The case it belongs to.
    pub case_ref: Option<ilm_protocol::CaseRef>,
}

/// A page of the contact list.
#[derive(Debug, Clone, Serialize)]
pub struct ContactPage {
    /// Rows of this page, newest first.
    pub contacts: Vec<ContactRow>,
    /// Matching contacts on every page (with `more`, those counted).
    pub total: usize,
    /// A search read down the list stopped counting: `total` is a lower bound, more
    /// contacts may match ([`walk`]).
    #[serde(rename = "total_at_least")]
    pub more: bool,
    /// This page, from 1.
    pub page: usize,
    /// Pages (at least 1).
    pub pages: usize,
}

/// Why the list cannot be given.
#[derive(Debug, thiserror::Error)]
pub enum ContactListError {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// `same_as` is not a contact id.
    #[error("same_as: a contact id (32 hex digits)")]
    BadContact,
    /// A page size out of range.
    #[error("per_page: 1 to 10000")]
    BadPageSize,
    /// The vault could not derive the search index's key.
    #[error(transparent)]
    Vault(#[from] crate::vault::VaultError),
}

/// The digits of a phone number that identify it whatever the format: the last nine, so
/// "+66 81 234 5678" and "081-234-5678" match. Too short to be a number: no key.
fn phone_key(phone: &str) -> Option<String> {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    (digits.len() >= 7).then(|| digits[digits.len().saturating_sub(9)..].to_string())
}

/// A messenger id without case, spaces or a leading `@`; placeholders ("-", "none", "n/a")
/// and ids of fewer than three letters or digits are not ids, so they match nobody.
fn messenger_key(id: &str) -> Option<String> {
    let k = id.trim().trim_start_matches('@').to_lowercase();
    let alnum = k.chars().filter(|c| c.is_alphanumeric()).count();
    let placeholder = matches!(k.as_str(), "none" | "n/a" | "na" | "nil" | "unknown" | "no");
    (alnum >= 3 && !placeholder).then_some(k)
}

/// Union-find root.
fn root(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

/// Which contacts an operator may list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// Every contact.
    All,
    /// Only those this operator recorded (an intake operator).
    RecordedBy(String),
}

impl Seen {
    /// Whether the operator may list `c`.
    pub fn allows(&self, c: &Contact) -> bool {
        match self {
            Seen::All => true,
            Seen::RecordedBy(name) => c.recorded_by.as_deref() == Some(name.as_str()),
        }
    }

    /// The list of [`groups`] that holds what the operator may list of the contacts of one
    /// set of values (only repeat callers' when `repeat`).
    fn values_list(&self, set: &[u8; 16], repeat: bool) -> Vec<u8> {
        match (self, repeat) {
            (Seen::All, false) => groups::by_values(set),
            (Seen::All, true) => groups::repeat_by_values(set),
            (Seen::RecordedBy(name), false) => groups::recorded_by_values(name, set),
            (Seen::RecordedBy(name), true) => groups::repeat_recorded_by_values(name, set),
        }
    }

    /// The list of [`mentions`] that holds what the operator may list of the contacts of
    /// one set of values mentioning a word (only repeat callers' when `repeat`).
    fn mention_list(&self, word: &mentions::MentionId, set: &[u8; 16], repeat: bool) -> Vec<u8> {
        match (self, repeat) {
            (Seen::All, false) => mentions::by_mention(word, set),
            (Seen::All, true) => mentions::repeat_by_mention(word, set),
            (Seen::RecordedBy(name), false) => mentions::recorded_by_mention(name, word, set),
            (Seen::RecordedBy(name), true) => mentions::repeat_recorded_by_mention(name, word, set),
        }
    }

    /// The list of [`groups`] that holds what the operator may list (only repeat callers'
    /// contacts when `repeat`).
    fn list(&self, repeat: bool) -> Vec<u8> {
        match (self, repeat) {
            (Seen::All, false) => groups::ALL.to_vec(),
            (Seen::All, true) => groups::REPEAT.to_vec(),
            (Seen::RecordedBy(name), false) => groups::recorded(name),
            (Seen::RecordedBy(name), true) => groups::repeat_recorded(name),
        }
    }
}

impl ContactPage {
    /// A page with no contacts.
    fn empty() -> ContactPage {
        ContactPage {
            contacts: Vec::new(),
            total: 0,
            more: false,
            page: 1,
            pages: 1,
        }
    }
}

/// The page size and the `same_as` contact of a query, checked.
fn parse(query: &ContactQuery) -> Result<(usize, Option<ContactId>), ContactListError> {
    let per_page =
        crate::worklist::page_size(query.per_page).ok_or(ContactListError::BadPageSize)?;
    let same_as = match query.same_as.trim() {
        "" => None,
        s => Some(s.parse().map_err(|_| ContactListError::BadContact)?),
    };
    Ok((per_page, same_as))
}

/// The words a search must find, lowercased.
fn words(q: &str) -> Vec<String> {
    q.to_lowercase()
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// The non-personal fields of a contact.
fn summary(c: &Contact) -> ContactSummary {
    ContactSummary {
        id: c.id,
        received_at: c.received_at,
        channel: c.channel,
        language: c.language.clone(),
        nationality: c.nationality.clone(),
        sector: c.sector.clone(),
        origin: c.origin.clone(),
        destination: c.destination.clone(),
        case_ref: c.case_ref,
    }
}

/// Whether a contact holds every word of a search: in its values and their `labels`, at the
/// start of its ids, and in its `opened` identity and notes (given only to operators who may
/// see them). The rule, applied whole to each contact: the baseline ([`scan`]) reads so, and
/// a page's search ([`search::Search`]) gives the same answer with less work.
fn matches(
    words: &[String],
    c: &Contact,
    opened: Option<&SealedContact>,
    labels: &dyn Fn(&ContactSummary) -> String,
) -> bool {
    if words.is_empty() {
        return true;
    }
    let values = search::values_text(c, labels);
    let personal = opened.map(search::personal_text).unwrap_or_default();
    // Words have no white space: a word in the text joined is a word in one of its parts.
    words.iter().all(|w| {
        values.contains(w.as_str()) || search::id_match(c, w) || personal.contains(w.as_str())
    })
}

/// The page of contacts `query` asks for. `seen` says which contacts the operator may list;
/// `identities` whether it may see (and search) names, numbers and notes; `labels` gives
/// the labels of a contact's values (it is asked once per set of values a search meets),
/// English ones among them ([`labels::labelled`]): a contact is not listed as mentioning a
/// word of its own values' English labels ([`mentions::own_text`]).
pub fn select(
    store: &Store,
    vault: &Vault,
    query: &ContactQuery,
    seen: &Seen,
    identities: bool,
    labels: &dyn Fn(&ContactSummary) -> String,
) -> Result<ContactPage, ContactListError> {
    select_within(store, vault, query, seen, identities, labels, &walk::LIMITS)
}

/// [`select`], a search nothing narrows walked within `limits`.
pub(crate) fn select_within(
    store: &Store,
    vault: &Vault,
    query: &ContactQuery,
    seen: &Seen,
    identities: bool,
    labels: &dyn Fn(&ContactSummary) -> String,
    limits: &walk::Limits,
) -> Result<ContactPage, ContactListError> {
    let (per_page, same_as) = parse(query)?;
    let search = search::Search::new(&query.q, labels);
    let open = |c: &Contact| -> Option<SealedContact> {
        if !identities {
            return None;
        }
        match vault.open_json::<SealedContact>(&c.id.0, &c.sealed) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::warn!(contact = %c.id, "a sealed contact does not open: {e}");
                None
            }
        }
    };
    // Whether `c` holds every word searched (opened only for operators who may see it).
    let pass = |c: &Contact| search.finds(c, &open);
    let get = |id: &ContactId| store.get::<Contact>(&schema::CONTACTS, &id.0);
    if let Some(id) = same_as {
        // Groups span every contact of the node, so a repeat caller is found even when
        // another intake operator took the earlier call.
        if !get(&id)?.is_some_and(|c| seen.allows(&c)) {
            return Ok(ContactPage::empty());
        }
        let members = groups::members(store, &id)?;
        if query.repeat && members.len() < 2 {
            return Ok(ContactPage::empty());
        }
        let mut keys = Vec::new();
        for m in &members {
            if let Some(c) = get(m)?.filter(|c| seen.allows(c))
                && pass(&c)
            {
                keys.push(groups::key(&c));
            }
        }
        keys.sort();
        return page_of(store, keys, false, query, per_page, &open);
    }
    if search.is_empty() {
        return window(store, &seen.list(query.repeat), query, per_page, &open);
    }
    // From the search index when it is built: the lists of the sets of values holding every
    // word (unread) and the other contacts that may hold them; else the operator's list
    // walked, or every contact the operator may see, in the store's order (read in the
    // list's order, each is a read of its own: twice as slow, measured). Each contact read
    // is matched whole, and only the keys of those that match are held.
    let built = groups::is_built(store)?;
    let mut damaged = false;
    let plan = if built {
        let gram_key = if identities {
            Some(signatures::GramKey::of(vault)?)
        } else {
            None
        };
        match search.plan(store, gram_key.as_ref(), seen, query.repeat) {
            Ok(plan) => plan,
            // The index is derived from the contacts: while a part of it does not read (the
            // store notes the damage, and the node's status says what to do), searches read
            // the contacts themselves, every one (not the index's lists: the count is then
            // exact, not a lower bound that asks for another word), so a caseworker still
            // finds a worker who calls.
            Err(StoreError::Corrupt(e)) => {
                damaged = true;
                tracing::warn!(
                    "the contact search index does not read ({e}); searching every contact until `ilm reindex` builds it again"
                );
                None
            }
            Err(e) => return Err(e.into()),
        }
    } else {
        None
    };
    // Nothing narrows the search: the operator's list walked newest first to the page and
    // some more, where that costs less ([`walk`]); else every contact read (below).
    if plan.is_none() && built && !damaged {
        let need = query
            .page
            .max(1)
            .saturating_mul(per_page)
            .saturating_add(limits.counted);
        let mut matched = |c: &Contact| seen.allows(c) && pass(c);
        match walk::walk(store, &seen.list(query.repeat), need, limits, &mut matched) {
            Ok(Some(w)) => return page_of(store, w.keys, w.more, query, per_page, &open),
            Ok(None) => {}
            // A list or a contact does not read: the read of every contact says which.
            Err(StoreError::Corrupt(e)) => tracing::warn!(
                "a contact search read something damaged ({e}); searching every contact"
            ),
            Err(e) => return Err(e.into()),
        }
    }
    let mut keys = Vec::new();
    let mut keep = |c: Contact| {
        if seen.allows(&c) && pass(&c) {
            keys.push(groups::key(&c));
        }
    };
    let Some(plan) = plan else {
        store.for_each::<Contact>(&schema::CONTACTS, &[], keep)?;
        let keys = repeated(store, keys, query.repeat)?;
        return page_of(store, keys, false, query, per_page, &open);
    };
    // Read in the store's order (by id): one by one in the index's order, each read was a
    // walk of its own through the store (about 80 µs a contact at a million, measured).
    let mut others = plan.others;
    others.sort_unstable();
    others.dedup();
    for id in &others {
        let Some(c) = get(id)? else { continue };
        let set = signatures::ValueSet::of(&c).id();
        if plan.sets.contains(&set) {
            continue;
        }
        // Listed among those mentioning the word its set lacks (read here only when its
        // place in the search index is damaged).
        if let Some(first) = plan.mentioned.get(&set)
            && store
                .get::<u64>(&schema::SEARCH_COLUMNS, &id.0)?
                .is_some_and(|column| column >= *first)
        {
            continue;
        }
        keep(c);
    }
    let keys = repeated(store, keys, query.repeat)?;
    if let ([list], true) = (plan.lists.as_slice(), keys.is_empty()) {
        return window(store, list, query, per_page, &open);
    }
    // A window of the lists and the others merged, read in order up to the page's end: a
    // key read per key passed and a block or two per list (at page 100 of a sector at a
    // million, reading each of its 72 lists up to the page's end took 26 ms, measured).
    let mut total = keys.len();
    for list in &plan.lists {
        total += groups::count(store, list)?;
    }
    let pages = total.div_ceil(per_page).max(1);
    let page = query.page.clamp(1, pages);
    let mut merged = Merged::of_lists(&groups::LISTS, plan.lists, keys, &[0; groups::KEY_LEN]);
    for _ in 0..(page - 1) * per_page {
        if merged.next(store)?.is_none() {
            break;
        }
    }
    let mut contacts = Vec::with_capacity(per_page);
    for _ in 0..per_page {
        let Some(k) = merged.next(store)? else {
            break;
        };
        contacts.extend(row(store, &k, &open)?);
    }
    Ok(ContactPage {
        contacts,
        total,
        more: false,
        page,
        pages,
    })
}

/// The page `query` asks for of one list: a window of it, only the page's contacts read.
fn window(
    store: &Store,
    list: &[u8],
    query: &ContactQuery,
    per_page: usize,
    open: &dyn Fn(&Contact) -> Option<SealedContact>,
) -> Result<ContactPage, ContactListError> {
    let total = groups::count(store, list)?;
    let pages = total.div_ceil(per_page).max(1);
    let page = query.page.clamp(1, pages);
    let ids = groups::LISTS.ids_in(store, list, (page - 1) * per_page, per_page)?;
    let mut contacts = Vec::with_capacity(ids.len());
    for k in listed(&ids) {
        contacts.extend(row(store, &k, open)?);
    }
    Ok(ContactPage {
        contacts,
        total,
        more: false,
        page,
        pages,
    })
}

/// The keys of the lists' `ids`.
fn listed(ids: &[Vec<u8>]) -> impl Iterator<Item = groups::Key> + '_ {
    ids.iter()
        .filter_map(|id| lists::key_of::<{ groups::KEY_LEN }>(id))
}

/// The contacts of `keys` of workers who got in touch more than once when `repeat`, sorted.
fn repeated(
    store: &Store,
    keys: Vec<groups::Key>,
    repeat: bool,
) -> Result<Vec<groups::Key>, StoreError> {
    let mut kept = Vec::with_capacity(keys.len());
    for k in keys {
        if !repeat || groups::group_size(store, &groups::contact_of(&k))? >= 2 {
            kept.push(k);
        }
    }
    kept.sort();
    Ok(kept)
}

/// The page `query` asks for of every contact found (`found`, in the list's order; `more`
/// when more may match).
fn page_of(
    store: &Store,
    found: Vec<groups::Key>,
    more: bool,
    query: &ContactQuery,
    per_page: usize,
    open: &dyn Fn(&Contact) -> Option<SealedContact>,
) -> Result<ContactPage, ContactListError> {
    let (keys, total, page, pages) = crate::worklist::paginate(found, query.page, per_page);
    let mut contacts = Vec::with_capacity(keys.len());
    for k in &keys {
        contacts.extend(row(store, k, open)?);
    }
    Ok(ContactPage {
        contacts,
        total,
        more,
        page,
        pages,
    })
}

/// The row of the contact a list's key names, read from the store (none when it is gone),
/// with the size of its worker's group and, for an operator who may see identities, the
/// worker's name.
fn row(
    store: &Store,
    key: &groups::Key,
    open: &dyn Fn(&Contact) -> Option<SealedContact>,
) -> Result<Option<ContactRow>, StoreError> {
    let id = groups::contact_of(key);
    let Some(c) = store.get::<Contact>(&schema::CONTACTS, &id.0)? else {
        return Ok(None);
    };
    Ok(Some(ContactRow {
        contact: summary(&c),
        contacts_by_worker: groups::group_size(store, &c.id)?,
        name: open(&c).map(|s| s.identity.name),
    }))
}
