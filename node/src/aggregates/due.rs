//! Open cases by next due date: one id per case that owes something (the earliest due date,
//! then the case), kept with the aggregates in the batch that stores the case's state. The
//! dashboard's overdue count is then a count of the ids dated before now, not a scan of
//! every case.

use crate::schema;
use crate::store::{Store, StoreError, WriteBatch};
use ilm_protocol::{CaseState, Timestamp};

/// The index id of a case state: its earliest open due date (big-endian) and the case; None
/// when it owes nothing (closed, or every party settled).
pub fn id(state: &CaseState) -> Option<Vec<u8>> {
    // Obligations and their dates do not depend on the time asked at; only "overdue" does.
    let due = state.next_due(Timestamp(0))?;
    Some([due.0.to_be_bytes().as_slice(), state.case_ref.as_bytes()].concat())
}

/// Open cases with something due before `now` (as the case list counts "overdue").
pub fn overdue(store: &Store, now: Timestamp) -> Result<u64, StoreError> {
    // Due strictly before now is overdue (`now > due`): ids below (now, smallest case).
    store.count_below(&schema::DUE, &now.0.to_be_bytes())
}

/// Every id the index holds (for checks).
pub fn held(store: &Store) -> Result<Vec<Vec<u8>>, StoreError> {
    Ok(store
        .scan_with_ids(&schema::DUE)?
        .into_iter()
        .map(|(id, ())| id)
        .collect())
}

/// Rebuilds both indexes kept with the aggregates (this one and `opened`) from every
/// stored case state, streaming them.
pub fn rebuild(store: &Store) -> Result<(), StoreError> {
    for table in [&schema::DUE, &schema::OPENED] {
        let mut batch = WriteBatch::new();
        for (id, ()) in store.scan_with_ids(table)? {
            batch.remove(table, &id);
        }
        store.commit(batch)?;
    }
    let mut ids = Vec::new();
    store.for_each::<CaseState>(&schema::CASE_STATES, &[], |s| {
        ids.extend(id(&s).map(|i| (&schema::DUE, i)));
        ids.extend(super::opened::id(&s).map(|i| (&schema::OPENED, i)));
    })?;
    for chunk in ids.chunks(10_000) {
        let mut batch = WriteBatch::new();
        for (table, id) in chunk {
            batch.put(table, id, &())?;
        }
        store.commit(batch)?;
    }
    Ok(())
}
