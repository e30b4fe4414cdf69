//! Open cases by next due date: one id per case that owes something (the earliest due date,
//! then the case's [`opened::key`]), kept with the aggregates in the batch that stores the
//! case's state. The dashboard's overdue count is then a count of the ids dated before now,
//! and the case list's overdue filter a read of them, not a scan of every case.

use super::opened;
use crate::schema;
use crate::store::{Store, StoreError};
use ilm_protocol::{CaseState, Timestamp};

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
