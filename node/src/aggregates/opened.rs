//! Cases not closed, newest first: one id per case (the opening time, inverted so that a
//! scan runs newest first, then the case), kept with the aggregates in the batch that stores
//! the case's state. The case list's first page reads its rows from here instead of
//! building a row from every case.

use crate::schema;
use crate::store::{Store, StoreError};
use ilm_protocol::{CaseRef, CaseState};

/// The index id of a case state, or None for a closed case.
pub fn id(state: &CaseState) -> Option<Vec<u8>> {
    if state.closed.is_some() {
        return None;
    }
    let inverted = u64::MAX - state.opened_at.0;
    Some([inverted.to_be_bytes().as_slice(), state.case_ref.as_bytes()].concat())
}

/// The `n` newest cases not closed.
pub fn newest(store: &Store, n: usize) -> Result<Vec<CaseRef>, StoreError> {
    Ok(store
        .first_ids(&schema::OPENED, n)?
        .into_iter()
        .filter_map(|id| {
            let bytes: [u8; 16] = id.get(8..24)?.try_into().ok()?;
            Some(CaseRef(bytes))
        })
        .collect())
}
