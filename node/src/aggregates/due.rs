//! Open cases by next due date: one list of an entry per case that owes something (the
//! earliest due date, then the case's [`opened::key`]), kept with the aggregates in the batch
//! that stores the case's state. The dashboard's overdue count is then a count of the
//! entries dated before now, and the case list's overdue filter a read of them, not a scan
//! of every case.
//!
//! The same per party ([`BY_PARTY`]: a list per party, of its own earliest due date and the
//! key; and per-day cells per party), so that what each organisation owes overdue is
//! counted and listed without a scan too.

use super::lists::Lists;
use super::opened;
use crate::schema;
use crate::store::{Store, StoreError};
use ilm_protocol::{CaseState, OrgId, Timestamp};
use std::collections::BTreeMap;

/// Bytes in a [`DueKey`].
pub const DUE_KEY_LEN: usize = 8 + opened::KEY_LEN;

/// An entry of the due-date lists: the due date (big-endian), then the case's key.
pub type DueKey = [u8; DUE_KEY_LEN];

/// Lists of due-date entries.
pub type DueLists = Lists<DUE_KEY_LEN>;

/// Open cases that owe something, soonest due first: one list, without a name.
pub const LISTS: DueLists = Lists::new(&schema::DUE);

/// The name of the one list [`LISTS`] holds.
pub const ALL: &[u8] = &[];

/// Per party (a list named by the party's id bytes), the open cases in which it owes
/// something, by its own earliest due date.
pub const BY_PARTY: DueLists = Lists::new(&schema::PARTY_DUE);

/// The entry of a due date and a case's key.
fn due_key(due: Timestamp, key: &opened::Key) -> DueKey {
    let mut k = [0u8; DUE_KEY_LEN];
    k[..8].copy_from_slice(&due.0.to_be_bytes());
    k[8..].copy_from_slice(key);
    k
}

/// The due date of an id of the list `term` (None for an id too short to hold one).
pub fn due_of(term: &[u8], id: &[u8]) -> Option<Timestamp> {
    let at = term.len();
    id.get(at..at + 8)
        .and_then(|d| <[u8; 8]>::try_from(d).ok())
        .map(|d| Timestamp(u64::from_be_bytes(d)))
}

/// A case state's entry in [`LISTS`]: its earliest open due date and its key; none when it
/// owes nothing (closed, or every party settled).
pub fn entries(state: &CaseState) -> Vec<(Vec<u8>, DueKey)> {
    // Obligations and their dates do not depend on the time asked at; only "overdue" does.
    let Some(due) = state.next_due(Timestamp(0)) else {
        return Vec::new();
    };
    let key = opened::key(state.opened_at, &state.case_ref);
    vec![(ALL.to_vec(), due_key(due, &key))]
}

/// The aggregate cells counting open cases by the day (UTC, days since 1970, six digits)
/// their next due date falls on.
pub const DAY_CELL: &str = "cases.due.";

const DAY: u64 = 86_400;

/// Open cases with something due before `now` (as the case list counts "overdue").
pub fn overdue(store: &Store, now: Timestamp) -> Result<u64, StoreError> {
    overdue_count(store, DAY_CELL, &LISTS, ALL, now)
}

/// Entries with something due before `now` (due strictly before it): the per-day cells
/// (`<day_cells><day>`, days since 1970) of the days before today, and the entries of
/// today in the list `list` of `lists` (each starting with its due date) due before now. A
/// count reads at most a cell per day and a day's entries, whatever it counts.
pub(crate) fn overdue_count<const N: usize>(
    store: &Store,
    day_cells: &str,
    lists: &Lists<N>,
    list: &[u8],
    now: Timestamp,
) -> Result<u64, StoreError> {
    let today = now.0 / DAY;
    let before_today: i64 = super::with_prefix(store, day_cells)?
        .iter()
        .filter(|(day, _)| day.parse::<u64>().is_ok_and(|d| d < today))
        .map(|(_, n)| *n)
        .sum();
    let (from, to) = ((today * DAY).to_be_bytes(), now.0.to_be_bytes());
    let today_so_far = lists.count_between(store, list, &from, &to)?;
    Ok(u64::try_from(before_today).unwrap_or(0) + today_so_far as u64)
}

/// The keys of the open cases with something due before `now`, sorted; None when there
/// are more than `max`.
pub fn overdue_keys(
    store: &Store,
    now: Timestamp,
    max: usize,
) -> Result<Option<Vec<[u8; opened::KEY_LEN]>>, StoreError> {
    let Some(ids) = LISTS.ids_below(store, ALL, &now.0.to_be_bytes(), max)? else {
        return Ok(None);
    };
    let mut keys: Vec<_> = ids.iter().filter_map(|id| opened::key_of(id)).collect();
    keys.sort_unstable();
    Ok(Some(keys))
}

/// Every open case's next due date with its key, soonest first.
pub fn all(store: &Store) -> Result<Vec<(Timestamp, [u8; opened::KEY_LEN])>, StoreError> {
    let ids = LISTS
        .ids_prefixed(store, ALL, usize::MAX)?
        .unwrap_or_default();
    Ok(ids
        .iter()
        .filter_map(|id| Some((due_of(ALL, id)?, opened::key_of(id)?)))
        .collect())
}

/// Each party that owes something in a case, with its earliest open due date.
pub fn party_dues(state: &CaseState) -> BTreeMap<OrgId, Timestamp> {
    let mut out: BTreeMap<OrgId, Timestamp> = BTreeMap::new();
    for o in state.obligations(Timestamp(0)) {
        let due = out.entry(o.party).or_insert(o.due);
        *due = (*due).min(o.due);
    }
    out
}

/// A case state's entries in [`BY_PARTY`]: for each party that owes something, its list
/// (the party) and its earliest open due date with the case's key.
pub fn party_entries(state: &CaseState) -> Vec<(Vec<u8>, DueKey)> {
    let key = opened::key(state.opened_at, &state.case_ref);
    party_dues(state)
        .into_iter()
        .map(|(party, due)| (party.as_bytes().to_vec(), due_key(due, &key)))
        .collect()
}

/// Per party (its id, the list's name), the cases escalated to it in which it owes nothing
/// (rounds answered, cases closed), newest first: the second part of its inbox, read from
/// any page on without the cases of the first.
pub const SETTLED: Lists<{ opened::KEY_LEN }> = Lists::new(&schema::PARTY_SETTLED);

/// A case state's entries in [`SETTLED`]: each party escalated to that owes nothing in it,
/// with the case's key.
pub fn settled_entries(state: &CaseState) -> Vec<(Vec<u8>, opened::Key)> {
    let key = opened::key(state.opened_at, &state.case_ref);
    let owing = party_dues(state);
    state
        .responders()
        .filter(|p| !owing.contains_key(p))
        .map(|p| (p.as_bytes().to_vec(), key))
        .collect()
}

/// The aggregate cells counting, per party, the open cases in which it owes something by
/// the day its earliest due date falls on: `owing.<party>.<day>`.
pub const PARTY_DAY_CELL: &str = "owing.";

/// The cell of a party's due date.
pub fn party_day_cell(party: &OrgId, due: Timestamp) -> String {
    format!("{PARTY_DAY_CELL}{party}.{:06}", due.0 / DAY)
}

/// How many of `party`'s entries in [`BY_PARTY`] are dated from today's start up to now.
fn party_today(store: &Store, party: &OrgId, now: Timestamp) -> Result<u64, StoreError> {
    let today = now.0 / DAY;
    let (from, to) = ((today * DAY).to_be_bytes(), now.0.to_be_bytes());
    Ok(BY_PARTY.count_between(store, party.as_bytes(), &from, &to)? as u64)
}

/// Open cases in which `party` owes something (the entries of its list in [`BY_PARTY`]):
/// its per-day cells, summed.
pub fn owing(store: &Store, party: &OrgId) -> Result<usize, StoreError> {
    let days = super::with_prefix(store, &format!("{PARTY_DAY_CELL}{party}."))?;
    Ok(days
        .values()
        .map(|n| usize::try_from(*n).unwrap_or(0))
        .sum())
}

/// Open cases whose next deadline for `party` falls within `secs` of `now` (not overdue):
/// a count of its due-date list between the two times.
pub fn owed_within(
    store: &Store,
    party: &OrgId,
    now: Timestamp,
    secs: u64,
) -> Result<u64, StoreError> {
    let until = now.0.saturating_add(secs).saturating_add(1);
    let (from, to) = (now.0.to_be_bytes(), until.to_be_bytes());
    Ok(BY_PARTY.count_between(store, party.as_bytes(), &from, &to)? as u64)
}

/// Open cases in which `party` owes something due before `now`.
pub fn overdue_at(store: &Store, party: &OrgId, now: Timestamp) -> Result<u64, StoreError> {
    overdue_count(
        store,
        &format!("{PARTY_DAY_CELL}{party}."),
        &BY_PARTY,
        party.as_bytes(),
        now,
    )
}

/// Every party with open cases in which it owes something due before `now`, with how many,
/// most first (ties by id): one read of the per-party cells, and of today's ids per party.
pub fn overdue_by_party(store: &Store, now: Timestamp) -> Result<Vec<(OrgId, u64)>, StoreError> {
    let today = now.0 / DAY;
    let mut counts: BTreeMap<OrgId, i64> = BTreeMap::new();
    for (rest, n) in super::with_prefix(store, PARTY_DAY_CELL)? {
        let Some((party, day)) = rest.split_once('.') else {
            continue;
        };
        let (Ok(party), Ok(day)) = (party.parse::<OrgId>(), day.parse::<u64>()) else {
            continue;
        };
        // Every party with a cell is asked for today's ids below, once.
        let count = counts.entry(party).or_default();
        if day < today {
            *count += n;
        }
    }
    let mut out = Vec::new();
    for (party, before_today) in counts {
        let n = u64::try_from(before_today).unwrap_or(0) + party_today(store, &party, now)?;
        if n > 0 {
            out.push((party, n));
        }
    }
    out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    Ok(out)
}

/// The keys of the open cases in which `party` owes something due before `now`, sorted;
/// None when there are more than `max`.
pub fn owed_keys(
    store: &Store,
    party: &OrgId,
    now: Timestamp,
    max: usize,
) -> Result<Option<Vec<[u8; opened::KEY_LEN]>>, StoreError> {
    let Some(ids) = BY_PARTY.ids_below(store, party.as_bytes(), &now.0.to_be_bytes(), max)? else {
        return Ok(None);
    };
    let mut keys: Vec<_> = ids.iter().filter_map(|id| opened::key_of(id)).collect();
    keys.sort_unstable();
    Ok(Some(keys))
}
