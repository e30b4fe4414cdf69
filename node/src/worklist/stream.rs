//! Wide searches: a condition's cases read newest first a chunk at a time (the index lists it
//! stands for, merged), each checked against the other conditions by point reads, until the
//! page and [`COUNTED`] more cases are found. A search that finds a hundred thousand cases
//! then costs what it shows, and says its total is "at least" what it counted.

use super::Filter;
use super::indexed::{Condition, Key, Source, others};
use super::probe::{Probe, passes, probes};
use crate::aggregates::lists::Lists;
use crate::aggregates::opened::KEY_LEN;
use crate::aggregates::{opened, terms};
use crate::store::{Store, StoreError};
use std::collections::VecDeque;

/// Cases a wide search counts past the page it shows before it stops: its total is then a
/// lower bound (narrow the search, or export the list, for every case).
pub const COUNTED: usize = 1_000;

/// Ids read from one index list at a time.
const CHUNK: usize = 256;

/// Most distinct words one searched word may start and still be read in order (each is a
/// list to merge).
const MERGED_TERMS: usize = 16;

/// One index list read in order: the ids under `prefix`, each ending with a case's key.
struct Cursor {
    /// The index read: the cases not closed, or the search terms.
    lists: &'static Lists<KEY_LEN>,
    prefix: Vec<u8>,
    /// Where the next chunk starts (None once the list is read to its end).
    from: Option<Vec<u8>>,
    read: VecDeque<Key>,
}

impl Cursor {
    fn new(lists: &'static Lists<KEY_LEN>, prefix: Vec<u8>, start: &[u8]) -> Cursor {
        let from = [prefix.as_slice(), start].concat();
        Cursor {
            lists,
            prefix,
            from: Some(from),
            read: VecDeque::new(),
        }
    }

    /// The newest case of the list not taken yet.
    fn peek(&mut self, store: &Store) -> Result<Option<Key>, StoreError> {
        if self.read.is_empty()
            && let Some(from) = self.from.take()
        {
            let ids = self.lists.ids_from(store, &self.prefix, &from, CHUNK)?;
            // The id just after the last one read: the same bytes and a zero byte.
            if ids.len() == CHUNK {
                self.from = ids.last().map(|id| [id.as_slice(), &[0]].concat());
            }
            self.read
                .extend(ids.iter().filter_map(|id| opened::key_of(id)));
        }
        Ok(self.read.front().copied())
    }
}

/// A condition's cases, newest first, each once: the lists of its sources merged.
pub(crate) struct Stream {
    cursors: Vec<Cursor>,
}

impl Stream {
    /// The stream of `condition` from the key `start` on; None when a source cannot be read
    /// in order (an overdue filter, a reference, a word that starts too many words).
    fn of(store: &Store, condition: &Condition, start: &Key) -> Result<Option<Stream>, StoreError> {
        let mut cursors = Vec::new();
        // The lists of every distinct term starting with `prefix`, if there are few.
        let terms_under = |prefix: &[u8]| -> Result<Option<Vec<Cursor>>, StoreError> {
            Ok(terms::distinct(store, prefix, MERGED_TERMS)?.map(|words| {
                words
                    .into_iter()
                    .map(|w| Cursor::new(&terms::LISTS, [w.as_slice(), &[0]].concat(), start))
                    .collect()
            }))
        };
        for source in condition {
            let lists = match source {
                Source::Term(term, _) => Some(vec![Cursor::new(
                    &terms::LISTS,
                    [term.as_slice(), &[0]].concat(),
                    start,
                )]),
                Source::Terms(prefix) => terms_under(prefix)?,
                // Each case holds one status term.
                Source::Every => terms_under(terms::ANY_STATUS)?,
                Source::NotClosed => Some(vec![Cursor::new(
                    &opened::LISTS,
                    opened::ALL.to_vec(),
                    start,
                )]),
                Source::Reference(_) | Source::DueBefore(_) | Source::OwedBefore(..) => None,
            };
            let Some(lists) = lists else {
                return Ok(None);
            };
            cursors.extend(lists);
        }
        Ok(Some(Stream { cursors }))
    }

    /// The cases of the search index's `lists` (each a term and its zero byte), merged.
    pub(crate) fn of_lists(lists: Vec<Vec<u8>>) -> Stream {
        let cursors = lists
            .into_iter()
            .map(|list| Cursor::new(&terms::LISTS, list, &[]))
            .collect();
        Stream { cursors }
    }

    /// The next case, newest first.
    pub(crate) fn next(&mut self, store: &Store) -> Result<Option<Key>, StoreError> {
        let mut newest: Option<Key> = None;
        for c in &mut self.cursors {
            if let Some(k) = c.peek(store)? {
                newest = Some(newest.map_or(k, |n| n.min(k)));
            }
        }
        let Some(key) = newest else {
            return Ok(None);
        };
        // A case under several of the lists is taken from each.
        for c in &mut self.cursors {
            if c.read.front() == Some(&key) {
                c.read.pop_front();
            }
        }
        Ok(Some(key))
    }
}

/// What a wide search found: the cases matching, newest first, and whether it stopped
/// counting before the end.
pub(super) struct Found {
    /// The cases that match, newest first.
    pub keys: Vec<Key>,
    /// More cases may match than `keys` holds.
    pub more: bool,
}

/// How many matching cases a newest-first page needs: those of the pages up to it, and
/// `counted` more for its total.
pub(super) fn needed(filter: &Filter, counted: usize) -> usize {
    filter
        .page
        .max(1)
        .saturating_mul(filter.per_page)
        .saturating_add(counted)
}

/// Whether a case's opening time is in the filter's dates.
fn in_dates(filter: &Filter, key: &Key) -> bool {
    let opened = opened::opened_of(key);
    filter.from.is_none_or(|f| opened >= f) && filter.to.is_none_or(|t| opened <= t)
}

/// The `candidates` (newest first) that meet `probes` and the dates, until `need` are found.
pub(super) fn probed_until(
    store: &Store,
    filter: &Filter,
    probes: &[Vec<Probe>],
    candidates: Vec<Key>,
    need: usize,
) -> Result<Found, StoreError> {
    let mut keys = Vec::with_capacity(need.min(candidates.len()));
    let total = candidates.len();
    for (i, key) in candidates.into_iter().enumerate() {
        if keys.len() == need {
            return Ok(Found {
                keys,
                more: i < total,
            });
        }
        if in_dates(filter, &key) && passes(store, probes, &key)? {
            keys.push(key);
        }
    }
    Ok(Found { keys, more: false })
}

/// A newest-first query read from one of its conditions in order (the last one that can be,
/// a searched word before the open cases), each case checked against the others, until
/// `need` match. None when no condition can be read so, when another cannot be checked by
/// point reads, or when `budget` cases were read before enough matched (a narrow
/// intersection of large conditions: reading them whole is cheaper).
pub(super) fn walk(
    store: &Store,
    filter: &Filter,
    conditions: &[Condition],
    need: usize,
    budget: usize,
) -> Result<Option<Found>, StoreError> {
    // Cases opened after `to` are skipped by starting at its key.
    let start = match filter.to {
        Some(t) => opened::key(t, &ilm_protocol::CaseRef([0; 16])),
        None => [0u8; opened::KEY_LEN],
    };
    let mut driven = None;
    for (i, c) in conditions.iter().enumerate().rev() {
        if let Some(stream) = Stream::of(store, c, &start)? {
            driven = Some((i, stream));
            break;
        }
    }
    let Some((from, mut stream)) = driven else {
        return Ok(None);
    };
    let Some(probes) = probes(store, &others(conditions, from))? else {
        return Ok(None);
    };
    let mut keys = Vec::new();
    let mut read = 0;
    while let Some(key) = stream.next(store)? {
        if filter.from.is_some_and(|f| opened::opened_of(&key) < f) {
            break;
        }
        if keys.len() == need {
            return Ok(Some(Found { keys, more: true }));
        }
        read += 1;
        if read > budget {
            return Ok(None);
        }
        if in_dates(filter, &key) && passes(store, &probes, &key)? {
            keys.push(key);
        }
    }
    Ok(Some(Found { keys, more: false }))
}
