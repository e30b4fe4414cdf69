//! Lists read in key order as one: each list a chunk at a time from where its reader is,
//! the next key of each in a heap. A reader that wants the first keys of a union of many
//! lists (a page of the case list's wide search, of a contact search over the lists of
//! many sets of values) reads about as many keys as it takes, plus a block per list, rather
//! than each list up to the page's end.

use super::{BLOCK, Lists};
use crate::store::{Store, StoreError};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// Most ids read from one list at a time.
const CHUNK: usize = 256;

/// Ids read from one list at its start and after a leap (one block): a list read on grows
/// its chunks up to [`CHUNK`].
const FIRST_CHUNK: usize = BLOCK;

/// One list read in order: the ids under `prefix`, each ending with a key.
pub(super) struct Cursor<const N: usize> {
    /// The table read (None for keys found apart, all read already).
    lists: Option<&'static Lists<N>>,
    prefix: Vec<u8>,
    /// Where the next chunk starts (None once the list is read to its end).
    from: Option<Vec<u8>>,
    /// Ids the next chunk reads.
    chunk: usize,
    read: VecDeque<[u8; N]>,
    /// Whether a leap reads the block it lands in alone (a join's lists, `joined`).
    near: bool,
    /// Whether the next read is where a leap landed.
    leapt: bool,
    /// Whether `from` follows the last id of a block read (a read there starts at the
    /// next block, without reading that one again).
    at_block_end: bool,
    /// Ids read from the store so far.
    pub(super) ids_read: usize,
    /// Seeks of the engine's tree made so far (one or two per read of the store).
    pub(super) seeks: usize,
}

impl<const N: usize> Cursor<N> {
    /// The list `prefix` of `lists`, read from the key `start` on, in chunks that grow as it
    /// is read on (as a merge reads it). Nothing is read yet.
    pub(super) fn new(lists: &'static Lists<N>, prefix: Vec<u8>, start: &[u8; N]) -> Cursor<N> {
        // Every id of the list is at or above its prefix and a zero key: starting at the
        // prefix spares a read of the block before.
        let from = if start.iter().all(|b| *b == 0) {
            prefix.clone()
        } else {
            [prefix.as_slice(), start].concat()
        };
        Cursor {
            lists: Some(lists),
            prefix,
            from: Some(from),
            chunk: FIRST_CHUNK,
            read: VecDeque::new(),
            near: false,
            leapt: false,
            at_block_end: false,
            ids_read: 0,
            seeks: 0,
        }
    }

    /// [`Cursor::new`], each leap reading the block it lands in alone: a list of a join,
    /// leapt along to keys the others hold, may give one key before its next leap. Not a
    /// merge's: two of its streams holding many keys alike, each leap landing just past what
    /// was read, made 1,667 seeks this way where chunks made 1,050 (measured).
    pub(super) fn joined(lists: &'static Lists<N>, prefix: Vec<u8>, start: &[u8; N]) -> Cursor<N> {
        Cursor {
            near: true,
            ..Cursor::new(lists, prefix, start)
        }
    }

    /// The least key of the list not taken yet.
    pub(super) fn peek(&mut self, store: &Store) -> Result<Option<[u8; N]>, StoreError> {
        if self.read.is_empty()
            && let Some(lists) = self.lists
            && let Some(from) = self.from.take()
        {
            let leapt = std::mem::take(&mut self.leapt);
            let at_block_end = std::mem::take(&mut self.at_block_end);
            let (read, more) = if leapt && self.near {
                let read = lists.keys_near(store, &self.prefix, &from, &mut self.seeks)?;
                // It read its block to the end.
                self.at_block_end = !read.keys.is_empty();
                let more = !read.keys.is_empty();
                (read, more)
            } else {
                let read = lists.keys_from_counted(
                    store,
                    &self.prefix,
                    &from,
                    self.chunk,
                    at_block_end,
                    &mut self.seeks,
                )?;
                // Fewer than asked for: the list ends there.
                let more = read.keys.len() == self.chunk;
                self.chunk = self.chunk.saturating_mul(2).min(CHUNK);
                (read, more)
            };
            self.ids_read += read.keys.len();
            // The id just after the last one read: the same bytes and a zero byte.
            if more {
                self.from = read.last_id().map(|mut id| {
                    id.push(0);
                    id
                });
            }
            self.read.extend(read.keys);
        }
        Ok(self.read.front().copied())
    }

    /// The least key of the list at or above `target` (those below dropped): from what was
    /// read, or from a chunk read where `target` would be.
    pub(super) fn seek(
        &mut self,
        store: &Store,
        target: &[u8; N],
    ) -> Result<Option<[u8; N]>, StoreError> {
        if !self.drop_below(target)
            && let Some(from) = &mut self.from
        {
            let at = [self.prefix.as_slice(), target].concat();
            if at > *from {
                *from = at;
                self.leapt = true;
                self.at_block_end = false;
                // A list leapt over often is read in smaller chunks, down to the block a
                // leap lands in; a chunk read on grows them again.
                self.chunk = (self.chunk / 2).max(FIRST_CHUNK);
            }
        }
        self.peek(store)
    }

    /// Takes the least key read (the one [`Cursor::peek`] gave).
    pub(super) fn pop(&mut self) {
        self.read.pop_front();
    }

    /// Drops the keys read below `target`; says whether one read is left (at or above it).
    fn drop_below(&mut self, target: &[u8; N]) -> bool {
        let passed = self.read.partition_point(|k| k < target);
        self.read.drain(..passed);
        !self.read.is_empty()
    }
}

/// Keys of several lists, ascending, each once: the lists merged.
pub struct Merged<const N: usize> {
    cursors: Vec<Cursor<N>>,
    /// The next key of each cursor that has one, and the cursor's place, least on top (a
    /// merge may hold hundreds of lists: a step costs a few comparisons, not one per list).
    /// Filled at the first read.
    heads: BinaryHeap<Reverse<([u8; N], usize)>>,
    primed: bool,
}

impl<const N: usize> Merged<N> {
    /// The lists `sources` (each a table's lists and a list's name) and the `fixed` keys (a
    /// few found apart, sorted) merged, from the key `start` on. Nothing is read yet.
    pub fn new(
        sources: impl IntoIterator<Item = (&'static Lists<N>, Vec<u8>)>,
        fixed: Vec<[u8; N]>,
        start: &[u8; N],
    ) -> Merged<N> {
        let mut cursors: Vec<Cursor<N>> = sources
            .into_iter()
            .map(|(lists, name)| Cursor::new(lists, name, start))
            .collect();
        if !fixed.is_empty() {
            cursors.push(Cursor {
                lists: None,
                prefix: Vec::new(),
                from: None,
                chunk: FIRST_CHUNK,
                read: fixed.into_iter().filter(|k| k >= start).collect(),
                near: false,
                leapt: false,
                at_block_end: false,
                ids_read: 0,
                seeks: 0,
            });
        }
        Merged {
            heads: BinaryHeap::with_capacity(cursors.len()),
            cursors,
            primed: false,
        }
    }

    /// The lists `names` of `lists` and the `fixed` keys merged, from `start` on.
    pub fn of_lists(
        lists: &'static Lists<N>,
        names: Vec<Vec<u8>>,
        fixed: Vec<[u8; N]>,
        start: &[u8; N],
    ) -> Merged<N> {
        Merged::new(names.into_iter().map(|n| (lists, n)), fixed, start)
    }

    /// How many ids were read from the store so far (what a merge costs).
    pub fn ids_read(&self) -> usize {
        self.cursors.iter().map(|c| c.ids_read).sum()
    }

    /// How many seeks of the engine's tree it made so far (what its reads cost, beside the
    /// ids they decode).
    pub fn seeks(&self) -> usize {
        self.cursors.iter().map(|c| c.seeks).sum()
    }

    /// Puts cursor `i`'s next key among the heads, if it has one.
    fn push_head(&mut self, store: &Store, i: usize) -> Result<(), StoreError> {
        if let Some(k) = self.cursors[i].peek(store)? {
            self.heads.push(Reverse((k, i)));
        }
        Ok(())
    }

    /// The next key, without taking it.
    pub fn peek(&mut self, store: &Store) -> Result<Option<[u8; N]>, StoreError> {
        if !self.primed {
            self.primed = true;
            for i in 0..self.cursors.len() {
                self.push_head(store, i)?;
            }
        }
        Ok(self.heads.peek().map(|Reverse((k, _))| *k))
    }

    /// The next key at or above `target`, those below dropped.
    pub fn seek(&mut self, store: &Store, target: &[u8; N]) -> Result<Option<[u8; N]>, StoreError> {
        self.peek(store)?;
        while let Some(Reverse((k, i))) = self.heads.peek().copied() {
            if k >= *target {
                break;
            }
            self.heads.pop();
            if let Some(k) = self.cursors[i].seek(store, target)? {
                self.heads.push(Reverse((k, i)));
            }
        }
        self.peek(store)
    }

    /// The next key, taken (once, though several lists hold it).
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self, store: &Store) -> Result<Option<[u8; N]>, StoreError> {
        let Some(key) = self.peek(store)? else {
            return Ok(None);
        };
        while let Some(Reverse((k, i))) = self.heads.peek().copied() {
            if k != key {
                break;
            }
            self.heads.pop();
            self.cursors[i].pop();
            self.push_head(store, i)?;
        }
        Ok(Some(key))
    }
}

#[cfg(test)]
pub(super) mod tests;
