//! A brand's case list: without a search, filter or other order (but for one organisation
//! named: a scorecard's drill-down), its supply-chain cases newest first, a page at a time,
//! from the case lists kept with its report cells (`aggregates::chain`), its total from the
//! cells; with one, from the same lists intersected (`worklist::chain`). Only the page's rows
//! are built, each from its case's reports.

use super::{CasePage, CaseRow, Filter, Sort, Source, member_name};
use crate::aggregates::{chain, reports};
use crate::membership::MembershipState;
use crate::records::StatusReport;
use crate::schema;
use crate::store::{Store, StoreError};
use ilm_protocol::{IssueCategory, OrgId, Timestamp};

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
    let plain = filter.words.is_empty()
        && filter.status.is_empty()
        && !filter.overdue
        && filter.category.is_none()
        && filter.from.is_none()
        && filter.to.is_none()
        && !filter.narrows_profile()
        && filter.sort == Sort::Opened;
    // One organisation's cases (a scorecard's drill-down) have lists of their own.
    let party = match filter.party.as_str() {
        "" => None,
        // As the rows compare it: as written.
        p => p.parse::<OrgId>().ok().filter(|o| o.to_string() == p),
    };
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

/// The row of a case a brand knows from its status reports (`group`, in id order), naming
/// each supplier or agency a report concerns; None for no reports.
pub(super) fn report_row(
    group: &[StatusReport],
    name: &dyn Fn(&OrgId) -> String,
    now: Timestamp,
) -> Option<CaseRow> {
    let s = crate::aggregates::chain::summary(group)?;
    // Each once, in the reports' order: two CSOs' reports about one party are not adjacent.
    let mut counterparties: Vec<OrgId> = Vec::new();
    for o in group.iter().map(|r| r.supplier).chain([s.cso]) {
        if !counterparties.contains(&o) {
            counterparties.push(o);
        }
    }
    let counterparty_names: Vec<String> = counterparties.iter().map(name).collect();
    Some(CaseRow {
        case_ref: s.case_ref,
        status: s.status.code().to_string(),
        opened_at: s.opened_at,
        site: String::new(),
        counterparties,
        counterparty_names,
        workers: group.iter().map(|r| r.workers_affected).max().unwrap_or(0),
        next_due: s.next_due,
        overdue: group.iter().any(|r| !r.overdue(now).is_empty()),
        overdue_with: late_in_reports(group, now),
        closed: s.closed(),
        categories: s.categories,
        source: Source::Report,
        sector: s.sector,
        corridor: s.corridor,
        reached: group
            .iter()
            .map(|r| super::Reached {
                party: r.supplier,
                at: r.escalated_at,
                categories: r.categories.clone(),
                sector: r.sector.clone(),
                corridor: r.corridor.clone(),
            })
            .collect(),
        text: String::new(),
    })
}

/// The suppliers and agencies of a case's status reports that have something overdue.
fn late_in_reports(reports: &[StatusReport], now: Timestamp) -> Vec<OrgId> {
    let mut out: Vec<OrgId> = reports
        .iter()
        .filter(|r| !r.overdue(now).is_empty())
        .map(|r| r.supplier)
        .collect();
    out.sort();
    out.dedup();
    out
}
