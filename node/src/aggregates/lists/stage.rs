//! How changes to a table's lists are staged in a batch: each changed key routed to the
//! block that holds it or would, blocks rewritten, thin ones merged with the next, and the
//! keys cut into blocks by where the list grew.

use super::*;

impl<const N: usize> Lists<N> {
    /// Puts `changes` into `batch`, reading the blocks they change from `store`. Refuses a
    /// batch that already writes the table: the blocks read would miss what it wrote.
    pub fn stage(
        &self,
        store: &Store,
        batch: &mut WriteBatch,
        changes: &Changes<N>,
    ) -> Result<(), StoreError> {
        self.stage_in(store, batch, changes, BLOCK).map(|_| ())
    }

    /// [`Lists::stage`], returning by how many keys each changed list grew (or shrank): what
    /// a count kept beside the lists adds.
    pub fn stage_counted(
        &self,
        store: &Store,
        batch: &mut WriteBatch,
        changes: &Changes<N>,
    ) -> Result<BTreeMap<Vec<u8>, i64>, StoreError> {
        self.stage_in(store, batch, changes, BLOCK)
    }

    /// [`Lists::stage_counted`], with blocks of at most `most` keys.
    pub(super) fn stage_in(
        &self,
        store: &Store,
        batch: &mut WriteBatch,
        changes: &Changes<N>,
        most: usize,
    ) -> Result<BTreeMap<Vec<u8>, i64>, StoreError> {
        let mut grown = BTreeMap::new();
        if changes.is_empty() {
            return Ok(grown);
        }
        if batch.touches(self.table) {
            return Err(StoreError::Corrupt(format!(
                "{}: staged twice in one batch",
                self.table.name()
            )));
        }
        for (term, keys) in changes {
            let mut blocks = TermBlocks {
                lists: self,
                store,
                term,
                read: BTreeMap::new(),
                first: None,
            };
            // Each changed key goes to the block that holds it or would (None: a new block).
            let mut routed: BTreeMap<Option<Vec<u8>>, Vec<KeyChange<N>>> = BTreeMap::new();
            for (key, holds) in keys {
                routed
                    .entry(blocks.route(key)?)
                    .or_default()
                    .push((*key, *holds));
            }
            let touched: BTreeSet<Vec<u8>> = routed.keys().flatten().cloned().collect();
            for (old, changed) in routed {
                let held = old.as_ref().and_then(|id| blocks.read.get(id));
                let mut now: BTreeSet<[u8; N]> =
                    held.map(|b| b.keys().collect()).unwrap_or_default();
                let grew = Growth::of(held, &changed);
                let before = now.len() as i64;
                for (key, holds) in changed {
                    if holds {
                        now.insert(key);
                    } else {
                        now.remove(&key);
                    }
                }
                *grown.entry(term.clone()).or_insert(0) += now.len() as i64 - before;
                if let Some(old) = &old {
                    batch.remove(self.table, old);
                    // A block left less than half full takes in the next one when both fit in
                    // one (unless this batch changes that one too): cases leave a status's
                    // list as they move on, and its blocks would otherwise thin out to a key
                    // or two.
                    if !now.is_empty()
                        && now.len() < most.div_ceil(2)
                        && let Some((next, block)) = self.next_block(store, term, old)?
                        && !touched.contains(&next)
                        && now.len() + block.len::<N>() <= most
                    {
                        batch.remove(self.table, &next);
                        now.extend(block.keys::<N>());
                    }
                }
                let now: Vec<[u8; N]> = now.into_iter().collect();
                for chunk in chunks(&now, most, grew) {
                    batch.put(self.table, &id_of(term, &chunk[0]), &Block::of(chunk))?;
                }
            }
        }
        Ok(grown)
    }
}

/// The blocks of one list read while staging its changes.
struct TermBlocks<'a, const N: usize> {
    lists: &'a Lists<N>,
    store: &'a Store,
    term: &'a [u8],
    /// The blocks read, by id.
    read: BTreeMap<Vec<u8>, Block>,
    /// The list's first block's id and first key, once read (None inside: no block).
    first: Option<Option<(Vec<u8>, [u8; N])>>,
}

impl<const N: usize> TermBlocks<'_, N> {
    /// The id of the block that holds `key` or would: the last one starting at or below it,
    /// else the list's first; None when the list has no block.
    fn route(&mut self, key: &[u8; N]) -> Result<Option<Vec<u8>>, StoreError> {
        // A key within a block read already (keys arrive ascending, mostly into few blocks).
        let at = id_of(self.term, key);
        if let Some((id, b)) = self.read.range(..=at.clone()).next_back()
            && b.last::<N>().is_some_and(|hi| *key <= hi)
        {
            return Ok(Some(id.clone()));
        }
        let below_first = matches!(&self.first, Some(Some((_, lo))) if key < lo);
        if !below_first
            && let Some((id, b)) = self.lists.block_at_or_below(self.store, self.term, &at)?
        {
            self.read.entry(id.clone()).or_insert(b);
            return Ok(Some(id));
        }
        if self.first.is_none() {
            let first = self.lists.block_from(self.store, self.term, self.term)?;
            self.first = Some(
                first
                    .as_ref()
                    .map(|(id, b)| (id.clone(), b.keys::<N>().next().unwrap_or(*key))),
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
    fn of<const N: usize>(held: Option<&Block>, changed: &[KeyChange<N>]) -> Growth {
        let added = || changed.iter().filter(|(_, holds)| *holds).map(|(k, _)| k);
        let (lo, hi) = match held {
            Some(b) => (b.keys::<N>().next(), b.last::<N>()),
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
fn chunks<K>(keys: &[K], most: usize, grew: Growth) -> Vec<&[K]> {
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
