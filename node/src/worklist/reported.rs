//! A brand's case list without a search, filter or other order: its supply-chain cases
//! newest first, a page at a time, from the case lists kept with its report cells
//! (`aggregates::reports`); only the page's rows are built, each from its case's reports.

use super::{CasePage, CaseRow, Filter, Sort, member_name, report_row};
use crate::aggregates::reports;
use crate::membership::MembershipState;
use crate::schema;
use crate::store::{Store, StoreError};
use ilm_protocol::Timestamp;

/// The page `filter` asks for, or None when it needs more than the case lists give (a
/// search, a filter, another order) or this node holds other rows than reported cases.
pub fn page(
    store: &Store,
    membership: &MembershipState,
    now: Timestamp,
    filter: &Filter,
) -> Result<Option<CasePage>, StoreError> {
    let plain = filter.words.is_empty()
        && filter.status.is_empty()
        && !filter.overdue
        && filter.party.is_empty()
        && filter.category.is_none()
        && filter.from.is_none()
        && filter.to.is_none()
        && filter.sort == Sort::Opened;
    let reported_only = !store.ids_after(&schema::STATUS_REPORTS, 0, 1)?.is_empty()
        && store.ids_after(&schema::CASE_STATES, 0, 1)?.is_empty()
        && store.ids_after(&schema::LOCAL_CASES, 0, 1)?.is_empty();
    if !plain || !reported_only {
        return Ok(None);
    }
    let (all, open) = reports::case_totals(store)?;
    let total = usize::try_from(if filter.closed { all } else { open }).unwrap_or(usize::MAX);
    let pages = total.div_ceil(filter.per_page).max(1);
    let page = filter.page.clamp(1, pages);
    let cases = reports::cases_page(
        store,
        filter.closed,
        (page - 1) * filter.per_page,
        filter.per_page,
    )?;
    let name = member_name(membership);
    let mut rows: Vec<CaseRow> = Vec::with_capacity(cases.len());
    for case in cases {
        rows.extend(report_row(&reports::reports_of(store, &case)?, &name, now));
    }
    Ok(Some(CasePage {
        rows,
        total,
        page,
        pages,
        more: false,
    }))
}
