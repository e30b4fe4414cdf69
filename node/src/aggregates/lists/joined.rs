//! Lists read together: the keys each of several lists holds, in order. Each list is read
//! from where the next key all of them could share is: on, a chunk at a time, while the
//! others hold that key or one soon after, or with a leap past what another lacks (one
//! seek of the engine's tree, reading the block it lands in). Looking each key of one list
//! up on the others costs a seek per key and list (a quarter of a narrowed scorecard's time
//! at 200,000 reports, profiled: the engine copies the node it lands in at every seek).

use super::Lists;
use super::merged::Cursor;
use crate::store::{Store, StoreError};

/// What a join read from the store.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Read {
    /// Seeks of the engine's tree: one for the block a leap lands in (two when it holds no
    /// key past the leap), usually one or two for a chunk of ids read on (one from a
    /// block's end or the list's start; more where blocks are not full).
    pub seeks: usize,
    /// Ids in them.
    pub ids: usize,
}

/// Calls `f` with each key at or above `lower` and below `upper` (each the start of a key,
/// compared bytewise) that every list of `names` holds, ascending, until `f` says to stop;
/// and says what it read.
pub fn each_key_on_all<const N: usize>(
    store: &Store,
    lists: &'static Lists<N>,
    names: &[&[u8]],
    (lower, upper): (&[u8], &[u8]),
    mut f: impl FnMut(&[u8; N]) -> Result<bool, StoreError>,
) -> Result<Read, StoreError> {
    if names.is_empty() || lower >= upper {
        return Ok(Read::default());
    }
    // The least key at or above `lower`: its first bytes, then zeros (a longer bound is
    // passed over below).
    let start = padded::<N>(lower);
    let mut cursors: Vec<Cursor<N>> = names
        .iter()
        .map(|name| Cursor::joined(lists, name.to_vec(), &start))
        .collect();
    let joined = join(store, &mut cursors, (lower, upper), &mut f);
    let read = cursors.iter().fold(Read::default(), |r, c| Read {
        seeks: r.seeks + c.seeks,
        ids: r.ids + c.ids_read,
    });
    joined.map(|()| read)
}

/// The walk of [`each_key_on_all`]: the first cursor's next key, then each cursor in turn
/// sought to the greatest key found so far, until all of them stand on one.
fn join<const N: usize>(
    store: &Store,
    cursors: &mut [Cursor<N>],
    (lower, upper): (&[u8], &[u8]),
    f: &mut impl FnMut(&[u8; N]) -> Result<bool, StoreError>,
) -> Result<(), StoreError> {
    let count = cursors.len();
    loop {
        let Some(mut key) = cursors[0].peek(store)? else {
            return Ok(());
        };
        // How many cursors in a row stand on `key`, and the next one to seek.
        let (mut agreed, mut at) = (1, 1);
        while agreed < count {
            if key.as_slice() >= upper {
                return Ok(());
            }
            let Some(found) = cursors[at % count].seek(store, &key)? else {
                return Ok(());
            };
            if found == key {
                agreed += 1;
            } else {
                // Every key the others hold below `found` is one this one lacks.
                key = found;
                agreed = 1;
            }
            at += 1;
        }
        if key.as_slice() >= upper {
            return Ok(());
        }
        if key.as_slice() >= lower && !f(&key)? {
            return Ok(());
        }
        // Every cursor stands on `key`: the first one steps past it.
        cursors[0].pop();
    }
}

/// The least entry of `M` bytes starting with (as much as it holds of) `start`.
fn padded<const M: usize>(start: &[u8]) -> [u8; M] {
    let mut out = [0u8; M];
    let n = start.len().min(M);
    out[..n].copy_from_slice(&start[..n]);
    out
}

#[cfg(test)]
mod tests;
