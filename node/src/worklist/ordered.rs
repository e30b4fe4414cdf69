//! A brand's case list in another order than newest first, when the lists hold its
//! conditions exactly: the cases they keep are walked in the order of a case-level list, and
//! only the page's rows are built; an export takes the same walk through every case kept,
//! and builds each row once. Before, the row of every case the conditions keep was built to
//! sort them: 1.9 s for 30,000 cases. The orders are [`Filter::sort_key`]'s:
//!
//! - soonest due first: the due-date list (`aggregates::chain::DUE_CASES`, or that of the
//!   cases of the sector, category or corridor the query names, which holds every case kept
//!   that owes something: `walk::due_lists`), by the earliest date owed, ties newest first
//!   (the opening the case's key holds), then the cases owing nothing by reference. The walk
//!   stops once it has the page and every case due at the same second as its last.
//! - by status: each status's list (`chain::cases_in_status`, newest first, as the order
//!   wants within a status), in lifecycle order; with one status named, the cases kept are
//!   in that order already. A walk that reaches the end without meeting every case kept
//!   (the lists out of step with the reports) leaves the page, or the export, to the rows.
//!
//! A walk that would read more entries than the rows it spares gives up, and the rows are
//! built: the cases kept may be far down the lists, or on none of them (owing nothing).

use super::condition::Key;
use super::{CasePage, CaseRow, Filter, Sort};
use crate::aggregates::{chain, opened, reports};
use crate::store::{Store, StoreError};
use ilm_protocol::{CaseRef, Timestamp};
use std::collections::{HashMap, HashSet};

/// Entries of a list read at a time.
const CHUNK: usize = 512;

/// The page `filter` asks for, in its order (soonest due first, or by status), of the cases
/// `keys` (every case its conditions keep, exactly, newest first); `row` builds a case's row.
pub(super) fn page(
    store: &Store,
    filter: &Filter,
    keys: &[Key],
    row: &dyn Fn(&Key) -> Result<Option<CaseRow>, StoreError>,
) -> Result<CasePage, StoreError> {
    page_within(store, filter, keys, row, budget(keys))
}

/// The most list entries a walk among `keys` reads before it gives up: about as many blocks
/// as the rows it spares.
fn budget(keys: &[Key]) -> usize {
    keys.len().saturating_mul(crate::aggregates::lists::BLOCK)
}

/// [`page`], a walk reading at most `budget` entries (tests take the rows' way with none).
pub(crate) fn page_within(
    store: &Store,
    filter: &Filter,
    keys: &[Key],
    row: &dyn Fn(&Key) -> Result<Option<CaseRow>, StoreError>,
    budget: usize,
) -> Result<CasePage, StoreError> {
    let total = keys.len();
    let pages = total.div_ceil(filter.per_page).max(1);
    let need = filter
        .page
        .clamp(1, pages)
        .saturating_mul(filter.per_page)
        .min(total);
    let placed = if worth_walking(store, total, need, filter.per_page)? {
        placed(store, filter, keys, need, budget)?
    } else {
        None
    };
    let Some(placed) = placed else {
        let mut rows = Vec::with_capacity(total);
        for key in keys {
            rows.extend(row(key)?);
        }
        return Ok(super::sorted_page(rows, filter));
    };
    super::built_page(placed, total, false, filter, row)
}

/// Every case of `keys` in the order `filter` asks for (an export's), or None when walking
/// the lists would read more than the rows it spares, or misses some of them.
pub(super) fn order(
    store: &Store,
    filter: &Filter,
    keys: &[Key],
) -> Result<Option<Vec<Key>>, StoreError> {
    Ok(placed(store, filter, keys, keys.len(), budget(keys))?
        .map(|p| p.into_iter().copied().collect()))
}

/// The first `need` cases of `keys` in the order `filter` asks for (or a few more), from a
/// walk of the lists that hold it; None when the walk reads more than `budget` entries, or
/// misses some of them.
fn placed<'k>(
    store: &Store,
    filter: &Filter,
    keys: &'k [Key],
    need: usize,
    budget: usize,
) -> Result<Option<Vec<&'k Key>>, StoreError> {
    match filter.sort {
        Sort::Due => soonest(store, &super::walk::due_lists(filter).0, keys, need, budget),
        // One status named: newest first is the order already.
        Sort::Status if filter.status.is_empty() => by_status(store, keys, need, budget),
        Sort::Status | Sort::Opened => Ok(Some(keys.iter().take(need).collect())),
    }
}

/// The first `need` cases of `keys` in lifecycle order, newest first within a status.
fn by_status<'k>(
    store: &Store,
    keys: &'k [Key],
    need: usize,
    budget: usize,
) -> Result<Option<Vec<&'k Key>>, StoreError> {
    // Found by halving (the keys come newest first, sorted); each once, though a case that
    // moves on during the walk may be met on two lists.
    if !keys.is_sorted() {
        return Ok(None);
    }
    let mut met: HashSet<usize> = HashSet::new();
    let mut out: Vec<&Key> = Vec::with_capacity(need.min(4096));
    let mut read = 0usize;
    for code in super::query::status_codes() {
        let name = chain::cases_in_status(code);
        let mut from = name.clone();
        loop {
            if out.len() >= need {
                return Ok(Some(out));
            }
            if read > budget {
                return Ok(None);
            }
            let ids = reports::LISTS.ids_from(store, &name, &from, CHUNK)?;
            read += ids.len();
            for id in &ids {
                if let Some(at) = opened::key_of(id).and_then(|k| keys.binary_search(&k).ok())
                    && met.insert(at)
                {
                    out.push(&keys[at]);
                }
            }
            match ids.last() {
                Some(last) if ids.len() == CHUNK => from = [last.as_slice(), &[0]].concat(),
                _ => break,
            }
        }
    }
    // Some case is on no status's list (the lists out of step with the reports): the rows
    // place it.
    Ok((out.len() >= need).then_some(out))
}

/// The first `need` cases of `keys` soonest due first (or a few more, tied with the last),
/// from the due-date list `list` (which names every one of them owing something).
fn soonest<'k>(
    store: &Store,
    list: &[u8],
    keys: &'k [Key],
    need: usize,
    budget: usize,
) -> Result<Option<Vec<&'k Key>>, StoreError> {
    let kept: HashMap<CaseRef, &Key> = keys.iter().map(|k| (opened::case_of(k), k)).collect();
    let Some((due, walked_all)) = walk(store, list, &kept, need, budget)? else {
        return Ok(None);
    };
    let mut order: Vec<(u64, u64, CaseRef, &Key)> = due
        .iter()
        .map(|(t, case, key)| (t.0, u64::MAX - opened::opened_of(key).0, *case, *key))
        .collect();
    order.sort_unstable();
    let mut placed: Vec<&Key> = order.iter().map(|(_, _, _, key)| *key).collect();
    // The cases owing nothing come next: those the whole list did not name.
    if placed.len() < need && walked_all {
        let named: HashSet<CaseRef> = due.iter().map(|(_, c, _)| *c).collect();
        let mut rest: Vec<&Key> = keys
            .iter()
            .filter(|k| !named.contains(&opened::case_of(k)))
            .collect();
        rest.sort_unstable_by_key(|k| opened::case_of(k));
        placed.extend(rest);
    }
    Ok(Some(placed))
}

/// Whether walking a list for the first `need` of the `kept` cases (a page of `per_page`)
/// costs less than building all their rows: spread among every case, they are found after
/// about `need * cases / kept` entries, read a block of [`crate::aggregates::lists::BLOCK`]
/// at a time.
fn worth_walking(
    store: &Store,
    kept: usize,
    need: usize,
    per_page: usize,
) -> Result<bool, StoreError> {
    if need == 0 {
        return Ok(false);
    }
    let cases = usize::try_from(chain::case_totals(store, None)?.0).unwrap_or(usize::MAX);
    let blocks = need.saturating_mul(cases) / kept / crate::aggregates::lists::BLOCK;
    Ok(blocks.saturating_add(per_page) < kept)
}

/// The cases of `kept` the due-date list `list` names, each once, in its order, until `need`
/// are found and the date owed changes; and whether the whole list was read. None once
/// more than `budget` entries are read.
#[allow(clippy::type_complexity)]
pub(crate) fn walk<'k>(
    store: &Store,
    list: &[u8],
    kept: &HashMap<CaseRef, &'k Key>,
    need: usize,
    budget: usize,
) -> Result<Option<(Vec<(Timestamp, CaseRef, &'k Key)>, bool)>, StoreError> {
    let mut out: Vec<(Timestamp, CaseRef, &Key)> = Vec::new();
    // Each once, though a case whose date moves during the walk may be met twice.
    let mut met: HashSet<CaseRef> = HashSet::new();
    let mut from = list.to_vec();
    let mut read = 0usize;
    loop {
        if read > budget {
            return Ok(None);
        }
        let ids = reports::LISTS.ids_from(store, list, &from, CHUNK)?;
        read += ids.len();
        for id in &ids {
            let (Some(due), Some(entry)) = (
                crate::aggregates::due::due_of(list, id),
                crate::aggregates::lists::key_of::<{ reports::KEY_LEN }>(id),
            ) else {
                continue;
            };
            if out.len() >= need && out.last().is_some_and(|(last, _, _)| *last != due) {
                return Ok(Some((out, false)));
            }
            let case = reports::case_of(&entry);
            if let Some(key) = kept.get(&case)
                && met.insert(case)
            {
                out.push((due, case, key));
            }
        }
        match ids.last() {
            Some(last) if ids.len() == CHUNK => from = [last.as_slice(), &[0]].concat(),
            _ => return Ok(Some((out, true))),
        }
    }
}
