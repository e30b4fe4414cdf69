//! How the store holds the indexes kept with the aggregates: lists of fixed-size keys, each
//! under a name (its "term"), in blocks of at most [`BLOCK`] keys, one record per block; a
//! block's id is its term and its first key. The search index names its lists by a term and
//! a zero byte ([`super::terms`]) and holds case keys; the due-date lists hold a due date and
//! a case key, one list for all ([`super::due::LISTS`]) and one per party
//! ([`super::due::BY_PARTY`]); the cases not closed are one list without a name
//! ([`super::opened::LISTS`]). Reading the blocks in id order gives the ids the
//! one-record-per-key indexes they replaced held (term, then key), in the same order.
//!
//! Why blocks: the engine's memory and files grow with its number of records, whatever their
//! size (about 30 bytes of memory and 280 on disk each, measured). At one record per term
//! and case, a CSO with a million cases held 18 million of them for its search index alone,
//! and three more million for its due dates and open cases.
//!
//! Invariants (checked by the tests' `check`): a term's blocks are not empty, hold their keys
//! ascending and without repeats, start with the key of their id, and hold only keys below
//! the next block's first; so reading the blocks in id order gives the term's ids in order.
//! Every writer stages a table's lists once per batch ([`Lists::stage`] refuses a second
//! time), since a block's new value is computed from the one the store holds.

use crate::store::{Store, StoreError, Table, WriteBatch};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Most keys one block holds (768 bytes of case keys): a change rewrites its block, and the
/// engine rewrites a node of 16 records every 10 changes, so bigger blocks cost more writes.
pub const BLOCK: usize = 32;

/// Blocks read at a time by a scan.
const SCAN: usize = 16;

/// Changes to the lists of one table: per term, each key whose membership changes and
/// whether the list now holds it.
pub type Changes<const N: usize> = BTreeMap<Vec<u8>, BTreeMap<[u8; N], bool>>;

/// A key and whether its list now holds it.
type KeyChange<const N: usize> = ([u8; N], bool);

/// One block: keys, ascending, of the size its table's [`Lists`] says.
#[derive(Serialize, Deserialize, Default)]
pub struct Block(#[serde(with = "ilm_protocol::bytes::hex_bytes")] Vec<u8>);

impl Block {
    fn of<const N: usize>(keys: &[[u8; N]]) -> Block {
        Block(keys.concat())
    }

    /// How many keys of `N` bytes it holds.
    pub fn len<const N: usize>(&self) -> usize {
        self.0.len() / N
    }

    /// Whether it holds no key (never, in the store).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn key<const N: usize>(&self, i: usize) -> &[u8] {
        &self.0[i * N..(i + 1) * N]
    }

    /// Its keys of `N` bytes, ascending.
    pub fn keys<const N: usize>(&self) -> impl DoubleEndedIterator<Item = [u8; N]> + '_ {
        self.0.chunks_exact(N).map(|c| {
            let mut k = [0u8; N];
            k.copy_from_slice(c);
            k
        })
    }

    fn last<const N: usize>(&self) -> Option<[u8; N]> {
        self.keys().next_back()
    }

    fn contains<const N: usize>(&self, key: &[u8; N]) -> bool {
        let (mut lo, mut hi) = (0, self.len::<N>());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.key::<N>(mid).cmp(key.as_slice()) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return true,
            }
        }
        false
    }
}

/// The key of `N` bytes an id ends with (None for an id too short to hold one).
pub fn key_of<const N: usize>(id: &[u8]) -> Option<[u8; N]> {
    id.len()
        .checked_sub(N)
        .and_then(|start| id[start..].try_into().ok())
}

/// The term of a block's id.
fn term_of<const N: usize>(id: &[u8]) -> &[u8] {
    &id[..id.len().saturating_sub(N)]
}

fn id_of<const N: usize>(term: &[u8], key: &[u8; N]) -> Vec<u8> {
    [term, key.as_slice()].concat()
}

/// Whether the id of `key` in the list `term` ([`id_of`]) is at or above `from`, compared
/// without making it.
fn at_or_above<const N: usize>(term: &[u8], key: &[u8; N], from: &[u8]) -> bool {
    let n = term.len().min(from.len());
    match term[..n].cmp(&from[..n]) {
        std::cmp::Ordering::Less => false,
        std::cmp::Ordering::Greater => true,
        // `from` ends within the term (the id is longer), or goes on into the key.
        std::cmp::Ordering::Equal => key.as_slice() >= &from[n..],
    }
}

/// Keys read from lists, in order, and the id of the last one.
#[derive(Default)]
pub(super) struct Keys<const N: usize> {
    /// The keys.
    pub(super) keys: Vec<[u8; N]>,
    /// The term of the last one.
    term: Vec<u8>,
}

impl<const N: usize> Keys<N> {
    fn push(&mut self, term: &[u8], key: [u8; N]) {
        if self.term != term {
            self.term = term.to_vec();
        }
        self.keys.push(key);
    }

    /// The id of the last key.
    pub(super) fn last_id(&self) -> Option<Vec<u8>> {
        self.keys.last().map(|k| id_of(&self.term, k))
    }
}

/// One table of lists of keys of `N` bytes.
pub struct Lists<const N: usize> {
    table: &'static Table<Block>,
}

impl<const N: usize> Lists<N> {
    /// The lists `table` holds.
    pub const fn new(table: &'static Table<Block>) -> Lists<N> {
        Lists { table }
    }

    /// The table they are stored in.
    pub fn table(&self) -> &'static Table<Block> {
        self.table
    }

    /// The block read under `id`, if it is one the store could hold (whole keys, ascending,
    /// the first one its id's): a damaged record is an error, not a wrong answer.
    fn checked(&self, id: &[u8], block: Block) -> Result<Block, StoreError> {
        let whole = !block.is_empty() && block.0.len().is_multiple_of(N);
        let ascending =
            whole && (1..block.len::<N>()).all(|i| block.key::<N>(i - 1) < block.key::<N>(i));
        let first = whole && key_of::<N>(id).is_some_and(|k| k.as_slice() == block.key::<N>(0));
        if ascending && first {
            Ok(block)
        } else {
            Err(StoreError::Corrupt(format!(
                "{}: a block of {} bytes does not hold ascending keys from its id's",
                self.table.name(),
                block.0.len()
            )))
        }
    }

    /// The last block under `prefix` starting at or below `at`.
    fn block_at_or_below(
        &self,
        store: &Store,
        prefix: &[u8],
        at: &[u8],
    ) -> Result<Option<(Vec<u8>, Block)>, StoreError> {
        store
            .entry_at_or_below(self.table, prefix, at)?
            .map(|(id, b)| self.checked(&id, b).map(|b| (id, b)))
            .transpose()
    }

    /// Calls `f` with each list's name and each of its keys, in order, over every list under
    /// `prefix` (a check reads every list whole without holding one).
    pub fn each_key(
        &self,
        store: &Store,
        prefix: &[u8],
        mut f: impl FnMut(&[u8], &[u8; N]),
    ) -> Result<(), StoreError> {
        self.each_block(store, prefix, prefix, |term, block| {
            block.keys::<N>().for_each(|k| f(term, &k));
            true
        })
    }

    /// Calls `f` with each block under `prefix` (its term and keys), in id order, from the
    /// one that holds `from` on, while `f` returns true.
    fn each_block(
        &self,
        store: &Store,
        prefix: &[u8],
        from: &[u8],
        f: impl FnMut(&[u8], &Block) -> bool,
    ) -> Result<(), StoreError> {
        self.each_block_by(store, prefix, from, SCAN, f).map(|_| ())
    }

    /// [`Lists::each_block`], reading `scan` blocks at a time after the first (a reader that
    /// wants a few ids decodes no more blocks than it needs); says how many seeks of the
    /// engine's tree it made (one per read of the store).
    fn each_block_by(
        &self,
        store: &Store,
        prefix: &[u8],
        from: &[u8],
        scan: usize,
        f: impl FnMut(&[u8], &Block) -> bool,
    ) -> Result<usize, StoreError> {
        self.blocks_by(store, prefix, from, scan, true, f)
    }

    /// [`Lists::each_block_by`]; without `below`, the block holding `from` is not looked
    /// for (the reader knows it holds no id at or above `from`: it read that block's last).
    fn blocks_by(
        &self,
        store: &Store,
        prefix: &[u8],
        from: &[u8],
        scan: usize,
        below: bool,
        mut f: impl FnMut(&[u8], &Block) -> bool,
    ) -> Result<usize, StoreError> {
        let scan = scan.clamp(1, SCAN);
        let mut next = from.to_vec();
        let mut seeks = 0;
        // Every id is longer than the prefix: no block starts at or below the prefix itself.
        if below && from != prefix {
            seeks += 1;
            if let Some((id, block)) = self.block_at_or_below(store, prefix, from)? {
                if !f(term_of::<N>(&id), &block) {
                    return Ok(seeks);
                }
                next = [id.as_slice(), &[0]].concat();
            }
        }
        loop {
            seeks += 1;
            let blocks = store.entries_from::<Block>(self.table, prefix, &next, scan)?;
            let last = blocks.len() < scan;
            for (id, block) in blocks {
                let block = self.checked(&id, block)?;
                if !f(term_of::<N>(&id), &block) {
                    return Ok(seeks);
                }
                next = [id.as_slice(), &[0]].concat();
            }
            if last {
                return Ok(seeks);
            }
        }
    }

    /// Whether the list `term` holds `key`.
    pub fn contains(&self, store: &Store, term: &[u8], key: &[u8; N]) -> Result<bool, StoreError> {
        Ok(self
            .block_at_or_below(store, term, &id_of(term, key))?
            .is_some_and(|(_, b)| b.contains(key)))
    }

    /// At most `n` ids (term, key) under `prefix` at or above `from`, in id order: a cursor
    /// over one prefix, read a chunk at a time.
    pub fn ids_from(
        &self,
        store: &Store,
        prefix: &[u8],
        from: &[u8],
        n: usize,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut out = Vec::with_capacity(n.min(4096));
        // The block holding `from` is read first; `n` ids usually fill this many more (a
        // block may be less than full: then more are read).
        let scan = n.div_ceil(BLOCK) + 1;
        self.each_block_by(store, prefix, from, scan, |term, block| {
            for k in block.keys::<N>() {
                let id = id_of(term, &k);
                if id.as_slice() >= from {
                    if out.len() == n {
                        return false;
                    }
                    out.push(id);
                }
            }
            out.len() < n
        })?;
        Ok(out)
    }

    /// [`Lists::ids_from`]'s ids as keys (a cursor keeps keys), and the last one's id: no
    /// id is made per key (a read of a block made 32, a third of a narrowed scorecard's
    /// time at 200,000 reports, profiled, mostly the allocator's). Adds to `seeks` the
    /// seeks of the engine's tree it made; with `at_block_end`, `from` follows the last id
    /// of a block read (its block not read again).
    pub(super) fn keys_from_counted(
        &self,
        store: &Store,
        prefix: &[u8],
        from: &[u8],
        n: usize,
        at_block_end: bool,
        seeks: &mut usize,
    ) -> Result<Keys<N>, StoreError> {
        let mut out = Keys::default();
        let scan = n.div_ceil(BLOCK) + 1;
        *seeks += self.blocks_by(store, prefix, from, scan, !at_block_end, |term, block| {
            for k in block.keys::<N>() {
                if at_or_above(term, &k, from) {
                    if out.keys.len() == n {
                        return false;
                    }
                    out.push(term, k);
                }
            }
            out.keys.len() < n
        })?;
        Ok(out)
    }

    /// The keys under `prefix` at or above `from` (an id) in the first block that holds any,
    /// in order (none: the list holds none there), and the last one's id: what a reader
    /// leaping ahead reads first, one seek of the engine's tree when the block holding
    /// `from` has some, where [`Lists::keys_from_counted`] reads on from the next block with
    /// a second. Adds to `seeks` the seeks it made.
    pub(super) fn keys_near(
        &self,
        store: &Store,
        prefix: &[u8],
        from: &[u8],
        seeks: &mut usize,
    ) -> Result<Keys<N>, StoreError> {
        let mut out = Keys::default();
        *seeks += self.each_block_by(store, prefix, from, 1, |term, block| {
            for k in block.keys::<N>() {
                if at_or_above(term, &k, from) {
                    out.push(term, k);
                }
            }
            out.keys.is_empty()
        })?;
        Ok(out)
    }

    /// Every id under `prefix`, in id order; None as soon as there are more than `max`.
    pub fn ids_prefixed(
        &self,
        store: &Store,
        prefix: &[u8],
        max: usize,
    ) -> Result<Option<Vec<Vec<u8>>>, StoreError> {
        let mut out = Vec::new();
        let mut over = false;
        self.each_block(store, prefix, prefix, |term, block| {
            if out.len() + block.len::<N>() > max {
                over = true;
                return false;
            }
            out.extend(block.keys::<N>().map(|k| id_of(term, &k)));
            true
        })?;
        Ok((!over).then_some(out))
    }

    /// The names of the lists under `prefix`, in order: one read per list, whatever it holds.
    /// Their names must be of one length (as a party's lists are), or one could hide another.
    pub fn terms(&self, store: &Store, prefix: &[u8]) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut out: Vec<Vec<u8>> = Vec::new();
        let mut from = prefix.to_vec();
        while let Some(id) = store
            .ids_from(self.table, prefix, &from, 1)?
            .into_iter()
            .next()
        {
            let term = term_of::<N>(&id).to_vec();
            // Past the last id a list of this name can hold: its name, then N bytes 0xff.
            from = [term.as_slice(), &[0xff; N], &[0]].concat();
            out.push(term);
        }
        Ok(out)
    }

    /// How many ids are under `prefix`.
    pub fn count(&self, store: &Store, prefix: &[u8]) -> Result<usize, StoreError> {
        let mut n = 0;
        self.each_block(store, prefix, prefix, |_, block| {
            n += block.len::<N>();
            true
        })?;
        Ok(n)
    }

    /// How many keys of the list `term` are at or above `lower` and below `upper` (each the
    /// start of a key, compared bytewise).
    pub fn count_between(
        &self,
        store: &Store,
        term: &[u8],
        lower: &[u8],
        upper: &[u8],
    ) -> Result<usize, StoreError> {
        let mut n = 0;
        self.each_block(store, term, &[term, lower].concat(), |_, block| {
            for k in block.keys::<N>() {
                if k.as_slice() >= upper {
                    return false;
                }
                n += usize::from(k.as_slice() >= lower);
            }
            true
        })?;
        Ok(n)
    }

    /// The ids of the list `term` whose keys are at or above `lower` and below `upper` (each
    /// the start of a key), in id order: read to the bound, not to a count taken before, so
    /// that an entry written meanwhile cannot push one out.
    pub fn ids_between(
        &self,
        store: &Store,
        term: &[u8],
        lower: &[u8],
        upper: &[u8],
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut out = Vec::new();
        self.each_block(store, term, &[term, lower].concat(), |_, block| {
            for k in block.keys::<N>() {
                if k.as_slice() >= upper {
                    return false;
                }
                if k.as_slice() >= lower {
                    out.push(id_of(term, &k));
                }
            }
            true
        })?;
        Ok(out)
    }

    /// The ids of the list `term` whose keys are below `upper` (the start of a key), in id
    /// order; None as soon as there are more than `max`.
    pub fn ids_below(
        &self,
        store: &Store,
        term: &[u8],
        upper: &[u8],
        max: usize,
    ) -> Result<Option<Vec<Vec<u8>>>, StoreError> {
        let mut out = Vec::new();
        let mut over = false;
        self.each_block(store, term, term, |_, block| {
            for k in block.keys::<N>() {
                if k.as_slice() >= upper {
                    return false;
                }
                if out.len() == max {
                    over = true;
                    return false;
                }
                out.push(id_of(term, &k));
            }
            true
        })?;
        Ok((!over).then_some(out))
    }

    /// The ids of the list `term` from the `skip`-th on, at most `n`, in id order.
    pub fn ids_in(
        &self,
        store: &Store,
        term: &[u8],
        mut skip: usize,
        n: usize,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut out = Vec::with_capacity(n.min(4096));
        if n == 0 {
            return Ok(out);
        }
        // Blocks usually hold what is wanted in this many (then more are read): a small
        // window of many lists reads a block or two of each.
        let scan = skip.saturating_add(n).div_ceil(BLOCK).saturating_add(1);
        self.each_block_by(store, term, term, scan, |_, block| {
            let len = block.len::<N>();
            if skip >= len {
                skip -= len;
                return true;
            }
            for k in block.keys::<N>().skip(skip).take(n - out.len()) {
                out.push(id_of(term, &k));
            }
            skip = 0;
            out.len() < n
        })?;
        Ok(out)
    }

    /// The first block of the list `term` whose id is at or above `from`.
    fn block_from(
        &self,
        store: &Store,
        term: &[u8],
        from: &[u8],
    ) -> Result<Option<(Vec<u8>, Block)>, StoreError> {
        store
            .entries_from::<Block>(self.table, term, from, 1)?
            .into_iter()
            .next()
            .map(|(id, b)| self.checked(&id, b).map(|b| (id, b)))
            .transpose()
    }

    /// The block of the list `term` after the one under `id`.
    fn next_block(
        &self,
        store: &Store,
        term: &[u8],
        id: &[u8],
    ) -> Result<Option<(Vec<u8>, Block)>, StoreError> {
        self.block_from(store, term, &[id, &[0]].concat())
    }
}

pub mod joined;
pub mod merged;
mod stage;

#[cfg(test)]
pub(crate) mod tests;
