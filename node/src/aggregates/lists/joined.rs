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

/// A list read beside a join, whose entries start with the keys the join gives (a key, then
/// what is kept of it): the entry of each key, asked for in order. At first, and where the
/// keys come close together (the last one was in what was read already), the list is read
/// on, a chunk at a time (growing), from where it was read to; where one falls past the
/// chunk read on, or they come far apart, it leaps to the block the key is in (a backward
/// seek of the engine's tree, which copies the node it lands in: a seek per key was a third
/// of a narrowed scorecard's time at 200,000 reports, profiled).
pub struct Beside<const M: usize> {
    cursor: Cursor<M>,
    /// Whether the next key not in what was read is looked for by reading on.
    reading_on: bool,
}

impl<const M: usize> Beside<M> {
    /// The list `name` of `lists`, from its entries at or above `lower` (the start of one).
    pub fn new(lists: &'static Lists<M>, name: &[u8], lower: &[u8]) -> Beside<M> {
        Beside {
            cursor: Cursor::joined(lists, name.to_vec(), &padded(lower)),
            reading_on: true,
        }
    }

    /// The entry starting with `key`, if the list holds one: keys are asked for ascending
    /// (the entries below one are passed over for good).
    pub fn entry(&mut self, store: &Store, key: &[u8]) -> Result<Option<[u8; M]>, StoreError> {
        let target = padded(key);
        let found = if self.cursor.drop_below(&target) {
            // In what was read: the keys come close together.
            self.reading_on = true;
            self.cursor.peek(store)?
        } else if self.reading_on
            && self.cursor.peek(store)?.is_some()
            && self.cursor.drop_below(&target)
        {
            // In the chunk read on.
            self.cursor.peek(store)?
        } else {
            // Past it, or far from what was read: a leap.
            self.reading_on = false;
            self.cursor.seek(store, &target)?
        };
        Ok(found.filter(|entry| entry.starts_with(key)))
    }

    /// What it read from the store so far.
    pub fn read(&self) -> Read {
        Read {
            seeks: self.cursor.seeks,
            ids: self.cursor.ids_read,
        }
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
