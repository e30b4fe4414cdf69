//! The whole selection of a worklist query, row by row in its order, for the case-list
//! exports: rows are built a chunk at a time from the indexes' keys, so an export of a node
//! with a million cases holds the selected cases' keys, never every row.

use super::{CaseQuery, CaseRow, Filter, ListError, indexed, rows};
use crate::membership::MembershipState;
use crate::store::Store;
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
    if let Some(selected) = indexed::selection(store, membership, me, now, &filter, label)? {
        for s in selected {
            let row = match s {
                indexed::Selected::Local(r) => Some(*r),
                // Checked again: the case may have changed since its key was selected.
                indexed::Selected::Indexed(key) => {
                    indexed::row_of(store, membership, me, now, &key)?
                        .filter(|r| filter.matches(r, label))
                }
            };
            if let Some(r) = row {
                handed += 1;
                if !each(r) {
                    break;
                }
            }
        }
        return Ok(handed);
    }
    // A brand's cases, known from status reports: their keys from its case lists, each row
    // built in turn (checked again: the case may have changed since its key was selected).
    if super::reported::reported_only(store)? {
        for key in super::chain::selection(store, membership, now, &filter, label)? {
            if let Some(r) = super::chain::row_of(store, membership, now, &key)?
                .filter(|r| filter.matches(r, label))
            {
                handed += 1;
                if !each(r) {
                    break;
                }
            }
        }
        return Ok(handed);
    }
    // A node holding both kinds of rows: every row.
    let mut all = rows(store, membership, me, now)?;
    all.retain(|r| filter.matches(r, label));
    all.sort_by_key(|r| filter.sort_key(r));
    for r in all {
        handed += 1;
        if !each(r) {
            break;
        }
    }
    Ok(handed)
}
