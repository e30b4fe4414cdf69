//! The rows of the search index as stored: one per signature bit and block, a bit per
//! column of the block.

use super::{BLOCK, column_of};
use crate::schema;
use crate::store::{Store, StoreError};
use serde::{Deserialize, Serialize};

/// Bytes of a row.
pub(super) const ROW_BYTES: usize = (BLOCK / 8) as usize;

/// One row of a block: bit `c % BLOCK` is set when column `c` has the row's bit.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Row(#[serde(with = "ilm_protocol::bytes::hex_bytes")] pub(super) Vec<u8>);

impl Row {
    /// A row of a block with none of its bits (as a row not stored reads).
    pub(crate) fn empty() -> Row {
        Row(vec![0; ROW_BYTES])
    }

    /// The row as stored, at its length: a damaged row's missing bytes read as set, so a
    /// search still checks those contacts rather than missing them.
    pub(super) fn sized(mut self) -> Row {
        self.0.resize(ROW_BYTES, 0xff);
        self
    }

    /// Bytes held.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it holds no bytes (a damaged row).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether it holds a bit for every column of a block (else it is damaged).
    pub(crate) fn is_whole(&self) -> bool {
        self.0.len() == ROW_BYTES
    }

    /// Whether the column `bit` of its block has the row's bit (none past its bytes).
    pub(crate) fn bit(&self, bit: usize) -> bool {
        self.0
            .get(bit / 8)
            .is_some_and(|byte| byte & (1 << (bit % 8)) != 0)
    }

    /// The columns below `upto` whose bit differs in `other` (bytes compared first).
    pub(crate) fn differing(&self, other: &Row, upto: usize) -> Vec<usize> {
        (0..upto.div_ceil(8))
            .filter(|i| self.0.get(*i) != other.0.get(*i))
            .flat_map(|i| i * 8..(i * 8 + 8).min(upto))
            .filter(|b| self.bit(*b) != other.bit(*b))
            .collect()
    }

    /// Sets or clears the bit of the column `bit` of its block.
    pub(crate) fn set(&mut self, bit: usize, on: bool) {
        let (byte, mask) = (bit / 8, 1u8 << (bit % 8));
        if let Some(b) = self.0.get_mut(byte) {
            if on {
                *b |= mask;
            } else {
                *b &= !mask;
            }
        }
    }
}

/// The id of a row: the row first, so that a search reads one row of every block as one
/// run of the table (by block first, 3,920 reads spread over the table took 272 ms for a
/// name at a million contacts, measured).
pub(crate) fn row_id(row: u16, block: u64) -> [u8; 10] {
    let mut id = [0u8; 10];
    id[..2].copy_from_slice(&row.to_be_bytes());
    id[2..].copy_from_slice(&block.to_be_bytes());
    id
}

/// Row `r` of block `block` as stored (None: a block without the row has none of its bits).
pub(crate) fn stored_row(store: &Store, r: u16, block: u64) -> Result<Option<Row>, StoreError> {
    store.get::<Row>(&schema::SEARCH_ROWS, &row_id(r, block))
}

/// Bits by column, over every block.
pub(super) type Bits = Vec<u8>;

/// Row `r` of every block, as bits by column (`len` bytes; a block without the row has
/// none of its bits).
pub(super) fn read_row(store: &Store, r: u16, len: usize) -> Result<Bits, StoreError> {
    let mut bits = vec![0u8; len];
    for (id, row) in store.scan_with_ids_prefixed::<Row>(&schema::SEARCH_ROWS, &r.to_be_bytes())? {
        let Some(block) = id.get(2..).and_then(column_of) else {
            continue;
        };
        let at = usize::try_from(block)
            .unwrap_or(usize::MAX)
            .saturating_mul(ROW_BYTES);
        if let Some(to) = bits.get_mut(at..at.saturating_add(ROW_BYTES)) {
            to.copy_from_slice(&row.sized().0);
        }
    }
    Ok(bits)
}
