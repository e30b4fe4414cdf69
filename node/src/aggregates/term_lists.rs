//! How the store holds the search index's lists: the keys of one term's cases in blocks of
//! at most [`BLOCK`] keys, one record per block, its id the term, a zero byte and the
//! block's first key. That is the shape of the one-record-per-case ids the blocks replaced,
//! so a read of the first id under a term still finds the term ([`super::terms::distinct`]).
//!
//! Why blocks: the engine's memory and files grow with its number of records, whatever their
//! size (about 30 bytes of memory and 280 on disk each, measured). At one record per term
//! and case, a CSO with a million cases held 18 million of them for its search index alone.
//!
//! Invariants (checked by the tests' `check`): a term's blocks are not empty, hold their keys
//! ascending and without repeats, start with the key of their id, and hold only keys below
//! the next block's first; so reading the blocks in id order gives the term's ids in order.
//! Every writer stages the index once per batch ([`stage`] refuses a second time), since a
//! block's new value is computed from the one the store holds.

use super::opened::{KEY_LEN, Key, key_of};
use crate::schema;
use crate::store::{Store, StoreError, WriteBatch};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Most keys one block holds (768 bytes): a change rewrites its block, and the engine
/// rewrites a node of 16 records every 10 changes, so bigger blocks cost more writes.
pub const BLOCK: usize = 32;

/// Blocks read at a time by a scan.
const SCAN: usize = 16;

/// Changes to the lists: per term (with its zero byte), each case key whose membership
/// changes and whether the case now holds the term.
pub type Changes = BTreeMap<Vec<u8>, BTreeMap<Key, bool>>;

/// One block: case keys, ascending, [`KEY_LEN`] bytes each.
#[derive(Serialize, Deserialize, Default)]
pub struct Block(#[serde(with = "ilm_protocol::bytes::hex_bytes")] Vec<u8>);

impl Block {
    fn of(keys: &[Key]) -> Block {
        Block(keys.concat())
    }

    /// How many keys it holds.
    pub fn len(&self) -> usize {
        self.0.len() / KEY_LEN
    }

    /// Whether it holds no key (never, in the store).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn key(&self, i: usize) -> &[u8] {
        &self.0[i * KEY_LEN..(i + 1) * KEY_LEN]
    }

    /// Its keys, ascending.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = Key> + '_ {
        self.0.chunks_exact(KEY_LEN).map(|c| {
            let mut k = [0u8; KEY_LEN];
            k.copy_from_slice(c);
            k
        })
    }

    fn last(&self) -> Option<Key> {
        self.keys().next_back()
    }

    fn contains(&self, key: &Key) -> bool {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.key(mid).cmp(key.as_slice()) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return true,
            }
        }
        false
    }

    /// The block read under `id`, if it is one the store could hold (whole keys, ascending,
    /// the first one its id's): a damaged record is an error, not a wrong answer.
    fn checked(id: &[u8], block: Block) -> Result<Block, StoreError> {
        let whole = !block.is_empty() && block.0.len().is_multiple_of(KEY_LEN);
        let ascending = whole && (1..block.len()).all(|i| block.key(i - 1) < block.key(i));
        let first = whole && key_of(id).is_some_and(|k| k.as_slice() == block.key(0));
        if ascending && first {
            Ok(block)
        } else {
            Err(StoreError::Corrupt(format!(
                "{}: a block of {} bytes does not hold ascending case keys from its id's",
                schema::TERMS.name(),
                block.0.len()
            )))
        }
    }
}

/// The term (with its zero byte) of a block's id.
fn term_of(id: &[u8]) -> &[u8] {
    &id[..id.len().saturating_sub(KEY_LEN)]
}

fn id_of(term0: &[u8], key: &Key) -> Vec<u8> {
    [term0, key.as_slice()].concat()
}

/// The last block under `prefix` starting at or below `at`.
fn block_at_or_below(
    store: &Store,
    prefix: &[u8],
    at: &[u8],
) -> Result<Option<(Vec<u8>, Block)>, StoreError> {
    store
        .entry_at_or_below(&schema::TERMS, prefix, at)?
        .map(|(id, b)| Block::checked(&id, b).map(|b| (id, b)))
        .transpose()
}

/// Calls `f` with each block under `prefix` (its term and keys), in id order, from the one
/// that holds `from` on, while `f` returns true.
fn each_block(
    store: &Store,
    prefix: &[u8],
    from: &[u8],
    mut f: impl FnMut(&[u8], &Block) -> bool,
) -> Result<(), StoreError> {
    let mut next = from.to_vec();
    // Every id is longer than the prefix: no block starts at or below the prefix itself.
    if from != prefix
        && let Some((id, block)) = block_at_or_below(store, prefix, from)?
    {
        if !f(term_of(&id), &block) {
            return Ok(());
        }
        next = [id.as_slice(), &[0]].concat();
    }
    loop {
        let blocks = store.entries_from::<Block>(&schema::TERMS, prefix, &next, SCAN)?;
        let last = blocks.len() < SCAN;
        for (id, block) in blocks {
            let block = Block::checked(&id, block)?;
            if !f(term_of(&id), &block) {
                return Ok(());
            }
            next = [id.as_slice(), &[0]].concat();
        }
        if last {
            return Ok(());
        }
    }
}

/// Whether the case of `key` holds the term `term0` (a term and its zero byte).
pub fn contains(store: &Store, term0: &[u8], key: &Key) -> Result<bool, StoreError> {
    Ok(block_at_or_below(store, term0, &id_of(term0, key))?.is_some_and(|(_, b)| b.contains(key)))
}

/// At most `n` ids (term, zero byte, case key) under `prefix` at or above `from`, in id
/// order: a cursor over one prefix, read a chunk at a time.
pub fn ids_from(
    store: &Store,
    prefix: &[u8],
    from: &[u8],
    n: usize,
) -> Result<Vec<Vec<u8>>, StoreError> {
    let mut out = Vec::with_capacity(n.min(4096));
    each_block(store, prefix, from, |term0, block| {
        for k in block.keys() {
            let id = id_of(term0, &k);
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

/// Every id under `prefix`, in id order; None as soon as there are more than `max`.
pub fn ids_prefixed(
    store: &Store,
    prefix: &[u8],
    max: usize,
) -> Result<Option<Vec<Vec<u8>>>, StoreError> {
    let mut out = Vec::new();
    let mut over = false;
    each_block(store, prefix, prefix, |term0, block| {
        if out.len() + block.len() > max {
            over = true;
            return false;
        }
        out.extend(block.keys().map(|k| id_of(term0, &k)));
        true
    })?;
    Ok((!over).then_some(out))
}

/// How many ids are under `prefix`.
pub fn count(store: &Store, prefix: &[u8]) -> Result<usize, StoreError> {
    let mut n = 0;
    each_block(store, prefix, prefix, |_, block| {
        n += block.len();
        true
    })?;
    Ok(n)
}

/// How many cases of the term `term0` come before `key` (newer ones).
pub fn count_before(store: &Store, term0: &[u8], key: &Key) -> Result<usize, StoreError> {
    let mut n = 0;
    each_block(store, term0, term0, |_, block| {
        let before = block.keys().take_while(|k| k < key).count();
        n += before;
        before == block.len()
    })?;
    Ok(n)
}

/// The ids of the term `term0` from the `skip`-th on, at most `n`, in id order.
pub fn ids_in(
    store: &Store,
    term0: &[u8],
    mut skip: usize,
    n: usize,
) -> Result<Vec<Vec<u8>>, StoreError> {
    let mut out = Vec::with_capacity(n.min(4096));
    if n == 0 {
        return Ok(out);
    }
    each_block(store, term0, term0, |_, block| {
        if skip >= block.len() {
            skip -= block.len();
            return true;
        }
        for k in block.keys().skip(skip).take(n - out.len()) {
            out.push(id_of(term0, &k));
        }
        skip = 0;
        out.len() < n
    })?;
    Ok(out)
}

/// Puts `changes` into `batch`, reading the blocks they change from `store`. Refuses a
/// batch that already writes the index: the blocks read would miss what it wrote.
pub fn stage(store: &Store, batch: &mut WriteBatch, changes: &Changes) -> Result<(), StoreError> {
    stage_in(store, batch, changes, BLOCK)
}

/// [`stage`], with blocks of at most `most` keys.
fn stage_in(
    store: &Store,
    batch: &mut WriteBatch,
    changes: &Changes,
    most: usize,
) -> Result<(), StoreError> {
    if changes.is_empty() {
        return Ok(());
    }
    if batch.touches(&schema::TERMS) {
        return Err(StoreError::Corrupt(format!(
            "{}: staged twice in one batch",
            schema::TERMS.name()
        )));
    }
    for (term0, keys) in changes {
        let mut blocks = TermBlocks {
            store,
            term0,
            read: BTreeMap::new(),
            first: None,
        };
        // Each changed key goes to the block that holds it or would (None: a new block).
        let mut routed: BTreeMap<Option<Vec<u8>>, Vec<(Key, bool)>> = BTreeMap::new();
        for (key, holds) in keys {
            routed
                .entry(blocks.route(key)?)
                .or_default()
                .push((*key, *holds));
        }
        let touched: BTreeSet<Vec<u8>> = routed.keys().flatten().cloned().collect();
        for (old, changed) in routed {
            let held = old.as_ref().and_then(|id| blocks.read.get(id));
            let mut now: BTreeSet<Key> = held.map(|b| b.keys().collect()).unwrap_or_default();
            let grew = Growth::of(held, &changed);
            for (key, holds) in changed {
                if holds {
                    now.insert(key);
                } else {
                    now.remove(&key);
                }
            }
            if let Some(old) = &old {
                batch.remove(&schema::TERMS, old);
                // A block left less than half full takes in the next one when both fit in one
                // (unless this batch changes that one too): cases leave a status's list as
                // they move on, and its blocks would otherwise thin out to a key or two.
                if !now.is_empty()
                    && now.len() < most.div_ceil(2)
                    && let Some((next, block)) = next_block(store, term0, old)?
                    && !touched.contains(&next)
                    && now.len() + block.len() <= most
                {
                    batch.remove(&schema::TERMS, &next);
                    now.extend(block.keys());
                }
            }
            let now: Vec<Key> = now.into_iter().collect();
            for chunk in chunks(&now, most, grew) {
                batch.put(&schema::TERMS, &id_of(term0, &chunk[0]), &Block::of(chunk))?;
            }
        }
    }
    Ok(())
}

/// The first block of the term `term0` whose id is at or above `from`.
fn block_from(
    store: &Store,
    term0: &[u8],
    from: &[u8],
) -> Result<Option<(Vec<u8>, Block)>, StoreError> {
    store
        .entries_from::<Block>(&schema::TERMS, term0, from, 1)?
        .into_iter()
        .next()
        .map(|(id, b)| Block::checked(&id, b).map(|b| (id, b)))
        .transpose()
}

/// The block of the term `term0` after the one under `id`.
fn next_block(
    store: &Store,
    term0: &[u8],
    id: &[u8],
) -> Result<Option<(Vec<u8>, Block)>, StoreError> {
    block_from(store, term0, &[id, &[0]].concat())
}

/// The blocks of one term read while staging its changes.
struct TermBlocks<'a> {
    store: &'a Store,
    term0: &'a [u8],
    /// The blocks read, by id.
    read: BTreeMap<Vec<u8>, Block>,
    /// The term's first block's id and first key, once read (None inside: no block).
    first: Option<Option<(Vec<u8>, Key)>>,
}

impl TermBlocks<'_> {
    /// The id of the block that holds `key` or would: the last one starting at or below it,
    /// else the term's first; None when the term has no block.
    fn route(&mut self, key: &Key) -> Result<Option<Vec<u8>>, StoreError> {
        // A key within a block read already (keys arrive ascending, mostly into few blocks).
        let at = id_of(self.term0, key);
        if let Some((id, b)) = self.read.range(..=at.clone()).next_back()
            && b.last().is_some_and(|hi| *key <= hi)
        {
            return Ok(Some(id.clone()));
        }
        let below_first = matches!(&self.first, Some(Some((_, lo))) if key < lo);
        if !below_first && let Some((id, b)) = block_at_or_below(self.store, self.term0, &at)? {
            self.read.entry(id.clone()).or_insert(b);
            return Ok(Some(id));
        }
        if self.first.is_none() {
            let first = block_from(self.store, self.term0, self.term0)?;
            self.first = Some(
                first
                    .as_ref()
                    .map(|(id, b)| (id.clone(), b.keys().next().unwrap_or(*key))),
            );
            if let Some((id, b)) = first {
                self.read.entry(id).or_insert(b);
            }
        }
        Ok(self.first.clone().flatten().map(|(id, _)| id))
    }
}

/// Where a block's new keys went.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Growth {
    /// Before its first (new cases arrive with the lowest keys).
    Start,
    /// After its last (a rebuild adds cases in key order).
    End,
    /// Anywhere else (a case that changed status, a case learned late).
    Anywhere,
}

impl Growth {
    fn of(held: Option<&Block>, changed: &[(Key, bool)]) -> Growth {
        let added = || changed.iter().filter(|(_, holds)| *holds).map(|(k, _)| k);
        let (lo, hi) = match held {
            Some(b) => (b.keys().next(), b.last()),
            None => (None, None),
        };
        if added().all(|k| lo.is_none_or(|lo| *k < lo)) {
            Growth::Start
        } else if added().all(|k| hi.is_none_or(|hi| *k > hi)) {
            Growth::End
        } else {
            Growth::Anywhere
        }
    }
}

/// `keys` cut into blocks of at most `most`, full where no more keys are expected: all but
/// the first when the list grew at its start, all but the last when it grew at its end;
/// otherwise as even as can be, so that each has room for more.
fn chunks(keys: &[Key], most: usize, grew: Growth) -> Vec<&[Key]> {
    let most = most.max(1);
    if keys.is_empty() {
        return Vec::new();
    }
    let blocks = keys.len().div_ceil(most);
    match grew {
        Growth::Start => {
            let first = keys.len() - (blocks - 1) * most;
            std::iter::once(&keys[..first])
                .chain(keys[first..].chunks(most))
                .collect()
        }
        Growth::End => keys.chunks(most).collect(),
        Growth::Anywhere => {
            let (size, bigger) = (keys.len() / blocks, keys.len() % blocks);
            let mut out = Vec::with_capacity(blocks);
            let mut at = 0;
            for i in 0..blocks {
                let n = size + usize::from(i < bigger);
                out.push(&keys[at..at + n]);
                at += n;
            }
            out
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
