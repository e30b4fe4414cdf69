//! Wide searches: each condition's cases read newest first a chunk at a time (the index lists
//! it stands for, merged), the conditions' streams intersected by leaping each one to the
//! oldest case another is at (a case all of them hold is a match), the conditions no index
//! lists in order checked by point reads, until the page and [`COUNTED`] more cases are
//! found. A search that finds a hundred thousand cases then costs what it shows, and says
//! its total is "at least" what it counted.
//!
//! Why leap rather than drive by one condition and check the others by point reads: at a
//! million cases a point read costs about 10 µs (the engine's cache holds few of the blocks),
//! while a stream that leaps over a case it already read costs nothing, and one that leaps
//! past its chunk reads the next from where it lands.

use super::Filter;
use super::condition::{Condition, Key, Source};
use super::probe::{Probe, passes, probes};
use crate::aggregates::lists::Lists;
use crate::aggregates::lists::merged::Merged;
use crate::aggregates::opened::KEY_LEN;
use crate::aggregates::{opened, terms};
use crate::store::{Store, StoreError};

/// Cases a wide search counts past the page it shows before it stops: its total is then a
/// lower bound (narrow the search, or export the list, for every case).
pub const COUNTED: usize = 1_000;

/// Most distinct words one searched word may start and still be read in order (each is a
/// list to merge, with one read at its start): "1" starts 111 words in a store of numbered
/// sites.
const MERGED_TERMS: usize = 256;

/// A condition's cases, newest first, each once: the lists of its sources merged.
pub(super) type Stream = Merged<KEY_LEN>;

/// The stream of `condition` from the key `start` on; None when a source cannot be read in
/// order (an overdue filter, a reference, a word that starts too many words).
fn stream_of(
    store: &Store,
    condition: &Condition,
    start: &Key,
) -> Result<Option<Stream>, StoreError> {
    let mut sources: Vec<(&'static Lists<KEY_LEN>, Vec<u8>)> = Vec::new();
    // The lists of every distinct term starting with `prefix`, if there are few.
    let terms_under = |prefix: &[u8]| -> Result<Option<Vec<_>>, StoreError> {
        Ok(terms::distinct(store, prefix, MERGED_TERMS)?.map(|words| {
            words
                .into_iter()
                .map(|w| (&terms::LISTS, [w.as_slice(), &[0]].concat()))
                .collect()
        }))
    };
    for source in condition {
        let lists = match source {
            Source::Term(term, _) => Some(vec![(&terms::LISTS, [term.as_slice(), &[0]].concat())]),
            Source::Terms(prefix) => terms_under(prefix)?,
            // Each case holds one status term.
            Source::Every => terms_under(terms::ANY_STATUS)?,
            Source::NotClosed => Some(vec![(&opened::LISTS, opened::ALL.to_vec())]),
            Source::Reference(_) | Source::DueBefore(_) | Source::OwedBefore(..) => None,
        };
        let Some(lists) = lists else {
            return Ok(None);
        };
        sources.extend(lists);
    }
    Ok(Some(Merged::new(sources, Vec::new(), start)))
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
pub(super) fn in_dates(filter: &Filter, key: &Key) -> bool {
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

/// A newest-first query read from its conditions in order (each one an index can list so,
/// intersected by leaps), each case they share checked against the other conditions by point
/// reads, until `need` match. None when no condition can be read so, when another cannot be
/// checked by point reads, or when `budget` cases were considered before enough matched (a
/// narrow intersection of large conditions: reading them whole is cheaper).
pub(super) fn walk(
    store: &Store,
    filter: &Filter,
    conditions: &[Condition],
    need: usize,
    budget: usize,
) -> Result<Option<Found>, StoreError> {
    let Some((streams, probes)) = streams(store, filter, conditions)? else {
        return Ok(None);
    };
    leap(store, streams, filter.from, need, budget, &mut |key| {
        Ok(in_dates(filter, key) && passes(store, &probes, key)?)
    })
}

/// Every case of a newest-first query, read from its conditions as [`walk`] reads them but
/// to their end, handed to `each` as it is found (false: stop), so that what is held is a
/// chunk of each list: None, before anything is handed, when the query cannot be read so,
/// or a condition would be checked by point reads (a reference, few cases: reading it whole
/// costs less than a point read per case of the others).
pub(super) fn each(
    store: &Store,
    filter: &Filter,
    conditions: &[Condition],
    each: &mut dyn FnMut(&Key) -> Result<bool, StoreError>,
) -> Result<Option<()>, StoreError> {
    let Some((mut streams, probes)) = streams(store, filter, conditions)? else {
        return Ok(None);
    };
    if !probes.is_empty() {
        return Ok(None);
    }
    leap_each(store, &mut streams, filter.from, usize::MAX, &mut |key| {
        if in_dates(filter, key) {
            each(key)
        } else {
            Ok(true)
        }
    })?;
    Ok(Some(()))
}

/// The point reads that check the conditions no index lists in order, one list per condition.
type Probes = Vec<Vec<Probe>>;

/// The streams of the conditions an index lists in order, from the filter's start, and the
/// point reads that check the others; None when no condition streams, or another cannot be
/// checked by point reads.
fn streams(
    store: &Store,
    filter: &Filter,
    conditions: &[Condition],
) -> Result<Option<(Vec<Stream>, Probes)>, StoreError> {
    let start = start(filter);
    let mut streams = Vec::new();
    let mut checked = Vec::new();
    for c in conditions {
        match stream_of(store, c, &start)? {
            Some(stream) => streams.push(stream),
            None => checked.push(c),
        }
    }
    if streams.is_empty() {
        return Ok(None);
    }
    Ok(probes(store, &checked)?.map(|probes| (streams, probes)))
}

/// Where a newest-first walk starts: cases opened after the filter's `to` are skipped by
/// starting at its key.
pub(super) fn start(filter: &Filter) -> Key {
    match filter.to {
        Some(t) => opened::key(t, &ilm_protocol::CaseRef([0; 16])),
        None => [0u8; opened::KEY_LEN],
    }
}

/// The cases every stream holds, newest first, found by leaping, that `check` keeps, until
/// `need` are kept: None when `budget` cases were considered before (see [`walk`]). No
/// case opened before `oldest` is considered.
pub(super) fn leap(
    store: &Store,
    mut streams: Vec<Stream>,
    oldest: Option<ilm_protocol::Timestamp>,
    need: usize,
    budget: usize,
    check: &mut dyn FnMut(&Key) -> Result<bool, StoreError>,
) -> Result<Option<Found>, StoreError> {
    let mut keys = Vec::new();
    let leapt = leap_each(store, &mut streams, oldest, budget, &mut |key| {
        if keys.len() == need {
            return Ok(false);
        }
        if check(key)? {
            keys.push(*key);
        }
        Ok(true)
    })?;
    Ok(match leapt {
        Leapt::End => Some(Found { keys, more: false }),
        Leapt::Stopped => Some(Found { keys, more: true }),
        // The page is found: only whether more cases match is unknown.
        Leapt::OverBudget => (keys.len() == need).then_some(Found { keys, more: true }),
    })
}

/// What ended a leap through the streams.
pub(super) enum Leapt {
    /// A stream ran out, or the cases left are older than the oldest wanted.
    End,
    /// The receiver of the shared cases asked to stop.
    Stopped,
    /// The budget of cases considered was spent first.
    OverBudget,
}

/// The cases every stream holds, newest first, found by leaping, each handed to `shared`
/// (false: stop), until `budget` cases were considered. No case opened before `oldest` is
/// considered.
pub(super) fn leap_each(
    store: &Store,
    streams: &mut [Stream],
    oldest: Option<ilm_protocol::Timestamp>,
    budget: usize,
    shared: &mut dyn FnMut(&Key) -> Result<bool, StoreError>,
) -> Result<Leapt, StoreError> {
    let mut considered = 0;
    loop {
        // No case before the oldest of the streams' next ones is in all of them.
        let mut target: Option<Key> = None;
        for s in streams.iter_mut() {
            let Some(k) = s.peek(store)? else {
                return Ok(Leapt::End);
            };
            target = Some(target.map_or(k, |t| t.max(k)));
        }
        let Some(target) = target else {
            return Ok(Leapt::End);
        };
        if oldest.is_some_and(|f| opened::opened_of(&target) < f) {
            return Ok(Leapt::End);
        }
        considered += 1;
        if considered > budget {
            return Ok(Leapt::OverBudget);
        }
        let mut all = true;
        for s in streams.iter_mut() {
            match s.seek(store, &target)? {
                None => return Ok(Leapt::End),
                Some(k) => all &= k == target,
            }
        }
        if !all {
            continue;
        }
        if !shared(&target)? {
            return Ok(Leapt::Stopped);
        }
        for s in streams.iter_mut() {
            s.next(store)?;
        }
    }
}

#[cfg(test)]
mod tests;
