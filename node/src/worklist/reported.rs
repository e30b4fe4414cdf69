//! A brand's case list: without a search, filter or other order (but for one organisation
//! named: a scorecard's drill-down), its supply-chain cases newest first, a page at a time,
//! from the case lists kept with its report cells (`aggregates::chain`), its total from the
//! cells; with one, from the same lists intersected (`worklist::chain`). Only the page's rows
//! are built, each from its case's reports.

use super::{CasePage, CaseRow, Filter, Sort, member_name};
use crate::aggregates::{chain, reports};
use crate::membership::MembershipState;
use crate::schema;
use crate::store::{Store, StoreError};
use ilm_protocol::{IssueCategory, Timestamp};

/// Whether every row of this node's case list is a case known from status reports (a
/// brand's supply chain: it holds no case escalated to it, nor opened here).
pub fn reported_only(store: &Store) -> Result<bool, StoreError> {
    Ok(!store.ids_after(&schema::STATUS_REPORTS, 0, 1)?.is_empty()
        && store.ids_after(&schema::CASE_STATES, 0, 1)?.is_empty()
        && store.ids_after(&schema::LOCAL_CASES, 0, 1)?.is_empty())
}

/// The page `filter` asks for, or None when this node holds other rows than reported cases.
/// `label` names a category as the reader searches for it.
pub fn page(
    store: &Store,
    membership: &MembershipState,
    now: Timestamp,
    filter: &Filter,
    label: &dyn Fn(IssueCategory) -> String,
) -> Result<Option<CasePage>, StoreError> {
    let plain = filter.only_party() && filter.sort == Sort::Opened;
    // One organisation's cases (a scorecard's drill-down) have lists of their own.
    let party = filter.party_named();
    if !reported_only(store)? {
        return Ok(None);
    }
    if !plain || (party.is_none() && !filter.party.is_empty()) {
        return super::chain::page(store, membership, now, filter, label).map(Some);
    }
    let (all, open) = chain::case_totals(store, party.as_ref())?;
    let total = usize::try_from(if filter.closed { all } else { open }).unwrap_or(usize::MAX);
    let pages = total.div_ceil(filter.per_page).max(1);
    let page = filter.page.clamp(1, pages);
    let cases = chain::cases_page(
        store,
        party.as_ref(),
        filter.closed,
        (page - 1) * filter.per_page,
        filter.per_page,
    )?;
    let name = member_name(membership);
    let mut rows: Vec<CaseRow> = Vec::with_capacity(cases.len());
    for case in cases {
        rows.extend(super::chain::report_row(
            &reports::reports_of(store, &case)?,
            &name,
            now,
        ));
    }
    Ok(Some(CasePage {
        rows,
        total,
        page,
        pages,
        more: false,
    }))
}
