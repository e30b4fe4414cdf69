//! The whole selection of a worklist query, row by row in its order, for the case-list
//! exports: rows are built a chunk at a time from the indexes' keys, so an export of a node
//! with a million cases holds, newest first when its conditions' lists can be read in order,
//! a chunk of each; otherwise the selected cases' keys; never every row.

use super::condition::Key;
use super::{CaseQuery, CaseRow, Filter, ListError, chain, indexed, rows};
use crate::membership::MembershipState;
use crate::store::{Store, StoreError};
use ilm_protocol::{IssueCategory, OrgId, Timestamp};

/// Calls `each` with every row `query` selects (its page and page size aside), in its
/// order, until `each` returns false. Returns how many rows were handed over.
pub fn each_row(
    store: &Store,
    membership: &MembershipState,
    me: &OrgId,
    now: Timestamp,
    query: &CaseQuery,
    label: &dyn Fn(IssueCategory) -> String,
    each: &mut dyn FnMut(CaseRow) -> bool,
) -> Result<u64, ListError> {
    let filter = Filter::parse_at(query, membership, me)?;
    let mut handed = 0u64;
    // Hands over a row the query keeps; false: the receiver takes no more.
    let mut hand = |row: Option<CaseRow>| match row {
        Some(r) => {
            handed += 1;
            each(r)
        }
        None => true,
    };
    // A case's row, checked again: it may have changed since its key was read.
    let case_row = |s: indexed::Selected| -> Result<Option<CaseRow>, StoreError> {
        Ok(match s {
            indexed::Selected::Local(r) => Some(*r),
            indexed::Selected::Indexed(key) => indexed::row_of(store, membership, me, now, &key)?
                .filter(|r| filter.matches(r, label)),
        })
    };
    let newest = indexed::each_newest(store, membership, me, now, &filter, label, &mut |s| {
        Ok(hand(case_row(s)?))
    })?;
    if newest.is_some() {
        return Ok(handed);
    }
    if let Some(selected) = indexed::selection(store, membership, me, now, &filter, label)? {
        for s in selected {
            if !hand(case_row(s)?) {
                break;
            }
        }
        return Ok(handed);
    }
    // A brand's cases, known from status reports: their keys from its case lists, each row
    // built in turn.
    if super::reported::reported_only(store)? {
        let report_row = |key: &Key| -> Result<Option<CaseRow>, StoreError> {
            Ok(chain::row_of(store, membership, now, key)?.filter(|r| filter.matches(r, label)))
        };
        // Read as the lists are, a case is handed at its current place only: a report
        // escalated earlier, arriving during the export, moves it down the lists (its
        // opening is its earliest report's).
        let newest = chain::each_newest(store, membership, now, &filter, label, &mut |key| {
            let at_place = |r: &CaseRow| r.opened_at == crate::aggregates::opened::opened_of(key);
            Ok(hand(report_row(key)?.filter(at_place)))
        })?;
        if newest.is_some() {
            return Ok(handed);
        }
        for key in chain::selection(store, membership, now, &filter, label)? {
            if !hand(report_row(&key)?) {
                break;
            }
        }
        return Ok(handed);
    }
    // A node holding both kinds of rows: every row.
    let mut all = rows(store, membership, me, now)?;
    all.retain(|r| filter.matches(r, label));
    all.sort_by_key(|r| filter.sort_key(r));
    for r in all {
        if !hand(Some(r)) {
            break;
        }
    }
    Ok(handed)
}
