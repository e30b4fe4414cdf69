//! Open cases by next due date: one id per case that owes something (the earliest due date,
//! then the case's [`opened::key`]), kept with the aggregates in the batch that stores the
//! case's state. The dashboard's overdue count is then a count of the ids dated before now,
//! and the case list's overdue filter a read of them, not a scan of every case.
//!
//! The same per party ([`party_ids`]: the party, its own earliest due date, the key; and
//! per-day cells per party), so that what each organisation owes overdue is counted and
//! listed without a scan too.

use super::opened;
use crate::schema;
use crate::store::{Store, StoreError};
use ilm_protocol::{CaseState, OrgId, Timestamp};
use std::collections::BTreeMap;

/// The index id of a case state: its earliest open due date (big-endian) and its key; none
/// when it owes nothing (closed, or every party settled).
pub fn id(state: &CaseState) -> Vec<Vec<u8>> {
    // Obligations and their dates do not depend on the time asked at; only "overdue" does.
    let Some(due) = state.next_due(Timestamp(0)) else {
        return Vec::new();
    };
    let key = opened::key(state.opened_at, &state.case_ref);
    vec![[due.0.to_be_bytes().as_slice(), key.as_slice()].concat()]
}

/// The aggregate cells counting open cases by the day (UTC, days since 1970, six digits)
/// their next due date falls on.
pub const DAY_CELL: &str = "cases.due.";

const DAY: u64 = 86_400;

/// Open cases with something due before `now` (as the case list counts "overdue"): the
/// per-day cells of the days before today, and today's ids due before now.
pub fn overdue(store: &Store, now: Timestamp) -> Result<u64, StoreError> {
    let today = now.0 / DAY;
    let before_today: i64 = super::with_prefix(store, DAY_CELL)?
        .iter()
        .filter(|(day, _)| day.parse::<u64>().is_ok_and(|d| d < today))
        .map(|(_, n)| *n)
        .sum();
    // Due strictly before now is overdue (`now > due`): ids from today's start up to (now,
    // smallest key).
    let today_so_far = store.count_between(
        &schema::DUE,
        &(today * DAY).to_be_bytes(),
        &now.0.to_be_bytes(),
    )?;
    Ok(u64::try_from(before_today).unwrap_or(0) + today_so_far as u64)
}

/// The keys of the open cases with something due before `now`, sorted; None when there
/// are more than `max`.
pub fn overdue_keys(
    store: &Store,
    now: Timestamp,
    max: usize,
) -> Result<Option<Vec<[u8; opened::KEY_LEN]>>, StoreError> {
    let Some(ids) = store.ids_below(&schema::DUE, &now.0.to_be_bytes(), max)? else {
        return Ok(None);
    };
    let mut keys: Vec<_> = ids.iter().filter_map(|id| opened::key_of(id)).collect();
    keys.sort_unstable();
    Ok(Some(keys))
}

/// Every open case's next due date with its key, soonest first.
pub fn all(store: &Store) -> Result<Vec<(Timestamp, [u8; opened::KEY_LEN])>, StoreError> {
    let mut out = Vec::new();
    for id in store.ids_after(&schema::DUE, 0, usize::MAX)? {
        let due: Option<[u8; 8]> = id.get(..8).and_then(|d| d.try_into().ok());
        if let (Some(due), Some(key)) = (due, opened::key_of(&id)) {
            out.push((Timestamp(u64::from_be_bytes(due)), key));
        }
    }
    Ok(out)
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

/// The party index's ids of a case state: for each party that owes something, the party,
/// its earliest open due date (big-endian) and the case's key.
pub fn party_ids(state: &CaseState) -> Vec<Vec<u8>> {
    let key = opened::key(state.opened_at, &state.case_ref);
    party_dues(state)
        .into_iter()
        .map(|(party, due)| [party.as_bytes().as_slice(), &due.0.to_be_bytes(), &key].concat())
        .collect()
}

/// The aggregate cells counting, per party, the open cases in which it owes something by
/// the day its earliest due date falls on: `owing.<party>.<day>`.
pub const PARTY_DAY_CELL: &str = "owing.";

/// The cell of a party's due date.
pub fn party_day_cell(party: &OrgId, due: Timestamp) -> String {
    format!("{PARTY_DAY_CELL}{party}.{:06}", due.0 / DAY)
}

/// How many of `party`'s ids in the party index are dated from today's start up to now.
fn party_today(store: &Store, party: &OrgId, now: Timestamp) -> Result<u64, StoreError> {
    let today = now.0 / DAY;
    let at = |t: u64| [party.as_bytes().as_slice(), &t.to_be_bytes()].concat();
    Ok(store.count_between(&schema::PARTY_DUE, &at(today * DAY), &at(now.0))? as u64)
}

/// Open cases in which `party` owes something due before `now`: its per-day cells of the
/// days before today, and its ids of today due before now.
pub fn overdue_at(store: &Store, party: &OrgId, now: Timestamp) -> Result<u64, StoreError> {
    let today = now.0 / DAY;
    let before_today: i64 = super::with_prefix(store, &format!("{PARTY_DAY_CELL}{party}."))?
        .iter()
        .filter(|(day, _)| day.parse::<u64>().is_ok_and(|d| d < today))
        .map(|(_, n)| *n)
        .sum();
    Ok(u64::try_from(before_today).unwrap_or(0) + party_today(store, party, now)?)
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
    let upper = [party.as_bytes().as_slice(), &now.0.to_be_bytes()].concat();
    let Some(ids) = store.ids_between(&schema::PARTY_DUE, party.as_bytes(), &upper, max)? else {
        return Ok(None);
    };
    let mut keys: Vec<_> = ids.iter().filter_map(|id| opened::key_of(id)).collect();
    keys.sort_unstable();
    Ok(Some(keys))
}
