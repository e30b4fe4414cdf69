//! Cases not closed, newest first: one list (without a name) of their [`key`]s, kept with
//! the aggregates in the batch that stores the case's state. The case list's default view
//! reads its pages from here instead of building a row from every case.

use super::lists::Lists;
use crate::schema;
use ilm_protocol::{CaseRef, CaseState, Timestamp};

/// Bytes in a [`key`].
pub const KEY_LEN: usize = 24;

/// A case's place in the newest-first order (see [`key`]).
pub type Key = [u8; KEY_LEN];

/// The cases not closed, in blocks.
pub const LISTS: Lists<KEY_LEN> = Lists::new(&schema::OPENED);

/// The name of the one list [`LISTS`] holds (an id is then a key alone).
pub const ALL: &[u8] = &[];

/// A case's place in the newest-first order: its opening time inverted (so that byte order
/// runs newest first), then the case. The indexes kept with the aggregates end their ids
/// with it.
pub fn key(opened_at: Timestamp, case: &CaseRef) -> [u8; KEY_LEN] {
    let mut k = [0u8; KEY_LEN];
    k[..8].copy_from_slice(&(u64::MAX - opened_at.0).to_be_bytes());
    k[8..].copy_from_slice(case.as_bytes());
    k
}

/// The key an index id ends with (None for an id too short to hold one).
pub fn key_of(id: &[u8]) -> Option<[u8; KEY_LEN]> {
    super::lists::key_of(id)
}

/// The case of a key.
pub fn case_of(key: &[u8; KEY_LEN]) -> CaseRef {
    let mut c = [0u8; 16];
    c.copy_from_slice(&key[8..]);
    CaseRef(c)
}

/// The opening time of a key.
pub fn opened_of(key: &[u8; KEY_LEN]) -> Timestamp {
    let mut t = [0u8; 8];
    t.copy_from_slice(&key[..8]);
    Timestamp(u64::MAX - u64::from_be_bytes(t))
}

/// A case state's entry in [`LISTS`] (list and key), or none for a closed case.
pub fn entries(state: &CaseState) -> Vec<(Vec<u8>, Key)> {
    if state.closed.is_some() {
        return Vec::new();
    }
    vec![(ALL.to_vec(), key(state.opened_at, &state.case_ref))]
}
