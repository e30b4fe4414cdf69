//! Worklist pages read from the indexes kept with the aggregates (`aggregates::opened`,
//! `due`, `terms`) instead of a row built from every case, so that a page costs what it
//! shows and what the query finds, not what the node holds.
//!
//! A query whose cases one index lists in its order (the default view, one status, one
//! category, or every case by due date while the page is among the cases that owe
//! something) is read as a window of that index, the pages before it skipped and its total
//! counted on keys. Otherwise each condition of a query is a set of case keys read from one
//! index prefix or a few (`condition`). When one of them is small, its cases are checked one by one
//! against the whole query ([`Filter::matches`], the rule the full scan applies); when all
//! are large, the sets are intersected, and only the page's rows are built. Both give the
//! page the full scan gives (a core test compares them on random data).
//!
//! When every condition of a newest-first query holds many cases, it stops counting once it
//! has found the page and [`COUNTED`] more: its cases are checked newest first, from its
//! conditions read in order and intersected by leaps (`stream`) or from the smallest
//! condition read whole, and the page says its total is "at least" what was counted
//! (`CasePage::more`). The list of every case keeps its exact total, from the aggregates.

use super::condition::{Condition, Key, Source, conditions, intersect, read};
use super::probe::{probed, probes};
use super::stream::{self, COUNTED, Found};
use super::{
    CasePage, CaseRow, Filter, Sort, SortKey, history_row, local_row, member_name, paginate, stage,
};
use crate::aggregates::{due, opened, terms};
use crate::cases;
use crate::intake::LocalCase;
use crate::membership::MembershipState;
use crate::schema;
use crate::store::{Store, StoreError};
use ilm_protocol::{IssueCategory, OrgId, Timestamp};
use std::collections::HashMap;

/// The most cases of the smallest condition that are checked one by one; above it the
/// conditions' sets are intersected instead.
pub const CHECKED: usize = 2_000;

/// The page `filter` asks for, or None when this node's worklist has rows the indexes do not
/// hold (a brand's cases known from status reports).
pub fn page(
    store: &Store,
    membership: &MembershipState,
    me: &OrgId,
    now: Timestamp,
    filter: &Filter,
    label: &dyn Fn(IssueCategory) -> String,
) -> Result<Option<CasePage>, StoreError> {
    page_checking(store, membership, me, now, filter, label, CHECKED, COUNTED)
}

/// [`page`], checking the cases of the smallest condition one by one only when it holds at
/// most `checked` (tests take both ways with 0 and a large number), and counting at most
/// `counted` cases past the page when every condition holds more.
#[allow(clippy::too_many_arguments)]
pub(crate) fn page_checking(
    store: &Store,
    membership: &MembershipState,
    me: &OrgId,
    now: Timestamp,
    filter: &Filter,
    label: &dyn Fn(IssueCategory) -> String,
    checked: usize,
    counted: usize,
) -> Result<Option<CasePage>, StoreError> {
    if !indexes_answer(store, filter)? {
        return Ok(None);
    }
    let row = |key: &Key| row_of(store, membership, me, now, key);
    let local = local_rows(store, membership, filter, label)?;
    let conditions = conditions(membership, me, now, filter, label);
    if let Some(page) = window(store, filter, &conditions, &local, &row)? {
        return Ok(Some(page));
    }
    if let Some((from, candidates)) = smallest(store, &conditions, checked)? {
        // Newest first, and every other condition answered by point reads of the indexes:
        // only the page's rows are built.
        let others = others(&conditions, from);
        if filter.sort == Sort::Opened
            && let Some(probes) = probes(store, &others)?
        {
            let keys = probed(store, &probes, candidates)?;
            return finish(store, filter, Found { keys, more: false }, local, &row).map(Some);
        }
        let mut rows = local;
        for key in &candidates {
            if let Some(r) = row(key)?.filter(|r| filter.matches(r, label)) {
                rows.push(r);
            }
        }
        return Ok(Some(super::sorted_page(rows, filter)));
    }
    // Every condition holds more. Newest first, if matches are common, reading the
    // conditions in order and leaping finds the page sooner than any condition read whole.
    // Otherwise a smallest one of up to PROBED_FACTOR times as many is still cheaper to check
    // by point reads than every condition read in full and intersected (a common word
    // beside a rarer one). Found with growing bounds, so what is read stays a few times the
    // smallest condition; its cases are checked newest first until the page and `counted`
    // more are found.
    if filter.sort == Sort::Opened && checked > 0 {
        let need = stream::needed(filter, counted);
        let budget = checked.saturating_mul(WALK_FACTOR);
        if let Some(found) = stream::walk(store, filter, &conditions, need, budget)? {
            return wide(store, filter, &conditions, found, local, &row).map(Some);
        }
        let mut cap = checked.saturating_mul(4);
        while cap <= checked.saturating_mul(PROBED_FACTOR) {
            if let Some((from, candidates)) = smallest(store, &conditions, cap)? {
                if let Some(probes) = probes(store, &others(&conditions, from))? {
                    let found = stream::probed_until(store, filter, &probes, candidates, need)?;
                    return wide(store, filter, &conditions, found, local, &row).map(Some);
                }
                break;
            }
            cap = cap.saturating_mul(4);
        }
    }
    // Every condition holds many cases: intersect them, then build only the page's rows.
    let mut keys: Option<Vec<Key>> = None;
    for c in &conditions {
        let these = read(store, c, usize::MAX)?.unwrap_or_default();
        keys = Some(match keys {
            None => these,
            Some(held) => intersect(&held, &these),
        });
    }
    let keys = keys.unwrap_or_default();
    finish(store, filter, Found { keys, more: false }, local, &row).map(Some)
}

/// [`finish`] for a query that may have stopped counting; the list of every case (no
/// condition, no dates) takes its exact total from the aggregates.
fn wide(
    store: &Store,
    filter: &Filter,
    conditions: &[Condition],
    found: Found,
    local: Vec<CaseRow>,
    row: &dyn Fn(&Key) -> Result<Option<CaseRow>, StoreError>,
) -> Result<CasePage, StoreError> {
    let every = matches!(conditions, [c] if matches!(c.as_slice(), [Source::Every]))
        && filter.from.is_none()
        && filter.to.is_none();
    let local_n = local.len();
    let mut page = finish(store, filter, found, local, row)?;
    if every && page.more {
        let indexed = crate::aggregates::get(store, "cases")?.max(0) as usize;
        page.total = indexed + local_n;
        page.pages = page.total.div_ceil(filter.per_page).max(1);
        page.more = false;
    }
    Ok(page)
}

/// The page of the indexed cases found (every condition but the dates checked) and the
/// local cases that pass: only the page's rows are built.
fn finish(
    store: &Store,
    filter: &Filter,
    found: Found,
    local: Vec<CaseRow>,
    row: &dyn Fn(&Key) -> Result<Option<CaseRow>, StoreError>,
) -> Result<CasePage, StoreError> {
    let entries = ordered(store, filter, found.keys, local)?;
    let (entries, total, page, pages) = paginate(entries, filter.page, filter.per_page);
    let mut rows = Vec::with_capacity(entries.len());
    for (_, e) in entries {
        match e {
            Selected::Local(r) => rows.push(*r),
            Selected::Indexed(k) => rows.extend(row(&k)?),
        }
    }
    Ok(CasePage {
        rows,
        total,
        page,
        pages,
        more: found.more,
    })
}

/// The indexed cases `keys` in the dates of `filter` and the `local` cases, in the filter's
/// order.
fn ordered(
    store: &Store,
    filter: &Filter,
    mut keys: Vec<Key>,
    local: Vec<CaseRow>,
) -> Result<Vec<(SortKey, Selected)>, StoreError> {
    keys.retain(|k| {
        let opened = opened::opened_of(k);
        filter.from.is_none_or(|f| opened >= f) && filter.to.is_none_or(|t| opened <= t)
    });
    let sort_keys = sort_keys(store, filter, &keys)?;
    let mut entries: Vec<(SortKey, Selected)> = keys
        .into_iter()
        .zip(sort_keys)
        .map(|(k, s)| (s, Selected::Indexed(k)))
        .collect();
    entries.extend(
        local
            .into_iter()
            .map(|r| (filter.sort_key(&r), Selected::Local(Box::new(r)))),
    );
    entries.sort_by_key(|(s, _)| *s);
    Ok(entries)
}

/// How many times [`CHECKED`] cases the smallest condition of a newest-first query may hold
/// and still be checked by point reads rather than intersected.
const PROBED_FACTOR: usize = 64;

/// How many times [`CHECKED`] cases a wide query considers reading its conditions in order
/// before it looks for a smaller condition to read whole instead (`stream::walk`).
const WALK_FACTOR: usize = 8;

/// The condition with the fewest cases, if one holds at most `cap`: its place and its keys
/// (each condition is read only while it is smaller than the smallest so far).
fn smallest(
    store: &Store,
    conditions: &[Condition],
    cap: usize,
) -> Result<Option<(usize, Vec<Key>)>, StoreError> {
    let mut out: Option<(usize, Vec<Key>)> = None;
    for (i, c) in conditions.iter().enumerate() {
        let max = out.as_ref().map_or(cap, |(_, keys)| keys.len());
        if let Some(keys) = read(store, c, max)? {
            out = Some((i, keys));
        }
    }
    Ok(out)
}

/// Every condition but the one at `from`.
pub(super) fn others(conditions: &[Condition], from: usize) -> Vec<&Condition> {
    conditions
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != from)
        .map(|(_, c)| c)
        .collect()
}

/// A case of a page or selection before its row is built.
pub enum Selected {
    /// A case in the indexes (its row is built only when needed: [`row_of`]).
    Indexed(Key),
    /// A case opened here and not escalated yet (boxed: a selection holds an entry per case,
    /// nearly all of them keys).
    Local(Box<CaseRow>),
}

/// The row of the indexed case `key` (None when its state is gone).
pub fn row_of(
    store: &Store,
    membership: &MembershipState,
    me: &OrgId,
    now: Timestamp,
    key: &Key,
) -> Result<Option<CaseRow>, StoreError> {
    let name = member_name(membership);
    Ok(cases::state_of(store, &opened::case_of(key))?
        .map(|state| history_row(&state, me, &name, now)))
}

/// The cases opened at this CSO and not escalated yet that pass `filter`, in its order:
/// they are not in the indexes (they have no signed state), and there are few of them.
fn local_rows(
    store: &Store,
    membership: &MembershipState,
    filter: &Filter,
    label: &dyn Fn(IssueCategory) -> String,
) -> Result<Vec<CaseRow>, StoreError> {
    let name = member_name(membership);
    let mut local: Vec<CaseRow> = Vec::new();
    for l in store.scan::<LocalCase>(&schema::LOCAL_CASES, &[])? {
        if !store.contains(&schema::CASE_STATES, l.case_ref.as_bytes())? {
            local.push(local_row(&l, &name));
        }
    }
    local.retain(|r| filter.matches(r, label));
    local.sort_by_key(|r| filter.sort_key(r));
    Ok(local)
}

/// Every case a newest-first `filter` selects, handed to `each` in order as its conditions'
/// lists are read (the local cases merged in at their places), so that an export holds a
/// chunk of each list, not the selection. None, before anything is handed, for another
/// order, a condition no index lists in order ([`stream::each`]), or rows the indexes do not
/// hold ([`selection`] then).
#[allow(clippy::too_many_arguments)]
pub fn each_newest(
    store: &Store,
    membership: &MembershipState,
    me: &OrgId,
    now: Timestamp,
    filter: &Filter,
    label: &dyn Fn(IssueCategory) -> String,
    each: &mut dyn FnMut(Selected) -> Result<bool, StoreError>,
) -> Result<Option<()>, StoreError> {
    if filter.sort != Sort::Opened || !indexes_answer(store, filter)? {
        return Ok(None);
    }
    let conditions = conditions(membership, me, now, filter, label);
    let mut local = local_rows(store, membership, filter, label)?
        .into_iter()
        .peekable();
    let mut go = true;
    let streamed = stream::each(store, filter, &conditions, &mut |key| {
        let place = newest_first(key);
        while let Some(r) = local.next_if(|r| filter.sort_key(r) < place) {
            go = each(Selected::Local(Box::new(r)))?;
            if !go {
                return Ok(false);
            }
        }
        go = each(Selected::Indexed(*key))?;
        Ok(go)
    })?;
    if streamed.is_none() {
        return Ok(None);
    }
    if go {
        for r in local {
            if !each(Selected::Local(Box::new(r)))? {
                break;
            }
        }
    }
    Ok(Some(()))
}

/// Every case `filter` selects, in its order, rows not built (an export builds them a chunk
/// at a time). None when this node's worklist has rows the indexes do not hold.
pub fn selection(
    store: &Store,
    membership: &MembershipState,
    me: &OrgId,
    now: Timestamp,
    filter: &Filter,
    label: &dyn Fn(IssueCategory) -> String,
) -> Result<Option<Vec<Selected>>, StoreError> {
    if !indexes_answer(store, filter)? {
        return Ok(None);
    }
    let local = local_rows(store, membership, filter, label)?;
    let conditions = conditions(membership, me, now, filter, label);
    // The smallest condition's cases (each later condition read only while it is smaller),
    // checked against the others by point reads when they can be, else intersected with
    // them: what is held grows with the cases of the smallest condition.
    let (from, mut keys) = smallest(store, &conditions, usize::MAX)?.unwrap_or_default();
    let others = others(&conditions, from);
    match probes(store, &others)? {
        Some(probes) => keys = probed(store, &probes, keys)?,
        None => {
            for c in others {
                keys = intersect(&keys, &read(store, c, usize::MAX)?.unwrap_or_default());
            }
        }
    }
    let entries = ordered(store, filter, keys, local)?;
    Ok(Some(entries.into_iter().map(|(_, e)| e).collect()))
}

/// The page of a query whose cases one index lists in the query's order, read by skipping
/// the pages before it, with the total counted without reading the cases: one condition
/// from one index (the default view, one status, one category, one counterparty) newest
/// first, or every case (or every case not closed) soonest due first while the page is
/// among the cases that owe something. None for any other query.
fn window(
    store: &Store,
    filter: &Filter,
    conditions: &[Condition],
    local: &[CaseRow],
    row: &dyn Fn(&Key) -> Result<Option<CaseRow>, StoreError>,
) -> Result<Option<CasePage>, StoreError> {
    let [condition] = conditions else {
        return Ok(None);
    };
    let [source] = condition.as_slice() else {
        return Ok(None);
    };
    if filter.from.is_some() || filter.to.is_some() {
        return Ok(None);
    }
    let aggregate = |cell: &str| crate::aggregates::get(store, cell).map(|v| v.max(0) as usize);
    let per_page = filter.per_page;
    match (filter.sort, source) {
        (Sort::Opened, Source::NotClosed | Source::Term(..)) => {
            // The list read: a term's (with its zero byte), else the cases not closed.
            let (term0, indexed) = match source {
                Source::Term(term, cell) => {
                    let term0 = [term.as_slice(), &[0]].concat();
                    let n = match cell {
                        Some(cell) => aggregate(cell)?,
                        None => terms::LISTS.count(store, &term0)?,
                    };
                    (Some(term0), n)
                }
                _ => {
                    let n = aggregate("cases")?.saturating_sub(aggregate("cases.status.closed")?);
                    (None, n)
                }
            };
            let (lists, name) = match &term0 {
                Some(t) => (&terms::LISTS, t.as_slice()),
                None => (&opened::LISTS, opened::ALL),
            };
            let before = |key: &Key| lists.count_between(store, name, &[], key);
            let total = indexed + local.len();
            let pages = total.div_ceil(per_page).max(1);
            let page = filter.page.clamp(1, pages);
            let start = (page - 1) * per_page;
            // Each local case's place in the whole list: its place among the local ones
            // plus the indexed cases before it.
            let mut rows = Vec::new();
            let mut local_before = 0;
            for (i, r) in local.iter().enumerate() {
                let at = i + before(&opened::key(r.opened_at, &r.case_ref))?;
                if at < start {
                    local_before += 1;
                } else if at < start + per_page {
                    rows.push(r.clone());
                }
            }
            let wanted = per_page - rows.len();
            let skip = start - local_before;
            for id in lists.ids_in(store, name, skip, wanted)? {
                if let Some(key) = opened::key_of(&id) {
                    rows.extend(row(&key)?);
                }
            }
            rows.sort_by_key(|r| filter.sort_key(r));
            Ok(Some(CasePage {
                rows,
                total,
                page,
                pages,
                more: false,
            }))
        }
        (Sort::Due, Source::NotClosed | Source::Every) => {
            let indexed = match source {
                Source::NotClosed => {
                    aggregate("cases")?.saturating_sub(aggregate("cases.status.closed")?)
                }
                _ => aggregate("cases")?,
            };
            let total = indexed + local.len();
            let pages = total.div_ceil(per_page).max(1);
            let page = filter.page.clamp(1, pages);
            let start = (page - 1) * per_page;
            // The cases that owe something come first, in the index's order; local cases
            // owe nothing yet. A page past them is left to the general way.
            let owing = aggregate("cases.owing")?;
            if start + per_page > owing {
                return Ok(None);
            }
            let mut rows = Vec::with_capacity(per_page);
            for id in due::LISTS.ids_in(store, due::ALL, start, per_page)? {
                if let Some(key) = opened::key_of(&id) {
                    rows.extend(row(&key)?);
                }
            }
            Ok(Some(CasePage {
                rows,
                total,
                page,
                pages,
                more: false,
            }))
        }
        _ => Ok(None),
    }
}

/// Whether the indexes answer `filter`: they hold no sector or corridor, and no row of a
/// case known from status reports (a brand's rows hold both, from its reports).
fn indexes_answer(store: &Store, filter: &Filter) -> Result<bool, StoreError> {
    Ok(!filter.narrows_profile() && store.ids_after(&schema::STATUS_REPORTS, 0, 1)?.is_empty())
}

/// The place of the case `key` in the newest-first order (as [`Filter::sort_key`] places a row).
fn newest_first(key: &Key) -> SortKey {
    (
        0,
        u64::MAX - opened::opened_of(key).0,
        0,
        opened::case_of(key),
    )
}

/// Where each key goes in the filter's order, read from the indexes (due dates, statuses).
fn sort_keys(store: &Store, filter: &Filter, keys: &[Key]) -> Result<Vec<SortKey>, StoreError> {
    let newest = |k: &Key| u64::MAX - opened::opened_of(k).0;
    Ok(match filter.sort {
        Sort::Opened => keys.iter().map(newest_first).collect(),
        Sort::Due => {
            let due: HashMap<Key, Timestamp> =
                due::all(store)?.into_iter().map(|(t, k)| (k, t)).collect();
            keys.iter()
                .map(|k| match due.get(k) {
                    Some(t) => (0, t.0, newest(k), opened::case_of(k)),
                    None => (1, 0, 0, opened::case_of(k)),
                })
                .collect()
        }
        Sort::Status => {
            let status: HashMap<Key, String> = terms::statuses(store)?
                .into_iter()
                .map(|(s, k)| (k, s))
                .collect();
            keys.iter()
                .map(|k| {
                    let s = status.get(k).map_or(u64::MAX, |s| stage(s));
                    (s, newest(k), 0, opened::case_of(k))
                })
                .collect()
        }
    })
}
