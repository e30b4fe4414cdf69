//! Worklists: every case this node holds (escalated or only opened at the CSO) as one row
//! with what people sort and filter by, and the query the case list, the API and the CLI share
//! (search, filters, sorting, paging).

use crate::cases;
use crate::intake::LocalCase;
use crate::membership::MembershipState;
use crate::schema;
use crate::store::{Store, StoreError};
use ilm_protocol::{CaseRef, Country, IssueCategory, OrgId, Timestamp};
use serde::Serialize;

pub mod chain;
mod condition;
pub mod export;
pub mod indexed;
pub(crate) mod ordered;
mod probe;
mod query;
pub mod reported;
mod stream;
pub(crate) mod walk;

pub use query::{
    CaseQuery, Filter, MAX_PER_PAGE, QueryError, Sort, SortKey, corridor, day, sector,
};

/// Rows per page.
pub const PER_PAGE: usize = 25;

/// One case in a worklist.
#[derive(Debug, Clone, Serialize)]
pub struct CaseRow {
    /// The case.
    pub case_ref: CaseRef,
    /// Status code (`open` for a case opened at the CSO and not escalated yet).
    pub status: String,
    /// When opened.
    pub opened_at: Timestamp,
    /// The worksite.
    pub site: String,
    /// The other organisations: the parties asked to act, or (for them) the owning CSO.
    pub counterparties: Vec<OrgId>,
    /// Their names in the member directory (empty when unknown), in the same order.
    pub counterparty_names: Vec<String>,
    /// Issue categories.
    pub categories: Vec<IssueCategory>,
    /// Workers affected.
    pub workers: u32,
    /// The next date something is due.
    pub next_due: Option<Timestamp>,
    /// Whether something is overdue.
    pub overdue: bool,
    /// The counterparties with which something is overdue: at the owner, the parties that
    /// owe something overdue; at a party, the owner when this party does.
    pub overdue_with: Vec<OrgId>,
    /// Whether the case is closed.
    pub closed: bool,
    /// Where this node knows the case from.
    pub source: Source,
    /// The sector most of the case's workers work in, as its status reports say (a brand's
    /// rows; none elsewhere, and for reports of releases before it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sector: Option<String>,
    /// The corridor most of them came by (origin, then country of work), as its status
    /// reports say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub corridor: Option<(Country, Country)>,
    /// A brand's row: when the case reached each party its reports concern, and for which
    /// categories (a list naming one party reads its dates and categories here, as the
    /// party's scorecard counts them).
    #[serde(skip)]
    pub reached: Vec<Reached>,
    /// What its words are searched in (site, requested remedies, descriptions); names and
    /// categories are searched apart, as the directory and the reader's language name them.
    #[serde(skip)]
    text: String,
}

/// When a case reached one party, and for which categories, as its report about that party
/// says.
#[derive(Debug, Clone)]
pub struct Reached {
    /// The supplier or agency.
    pub party: OrgId,
    /// When the case was escalated to it.
    pub at: Timestamp,
    /// The categories escalated to it.
    pub categories: Vec<IssueCategory>,
    /// The sector its report gives.
    pub sector: Option<String>,
    /// The corridor its report gives.
    pub corridor: Option<(Country, Country)>,
}

/// Where a node knows a case from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Its signed history (the owner and the parties escalated to).
    History,
    /// Opened at this CSO, not escalated yet.
    Local,
    /// Only the owner's status reports (a brand's supply chain).
    Report,
}

/// A member's name in the directory (empty when unknown), as rows show counterparties.
pub(crate) fn member_name(membership: &MembershipState) -> impl Fn(&OrgId) -> String + '_ {
    |o| {
        membership
            .certificate(o)
            .map(|c| c.name)
            .unwrap_or_default()
    }
}

/// Every case this node holds, with escalated cases from the read model and, at a CSO,
/// cases opened but not escalated yet.
pub fn rows(
    store: &Store,
    membership: &MembershipState,
    me: &OrgId,
    now: Timestamp,
) -> Result<Vec<CaseRow>, StoreError> {
    let name = member_name(membership);
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for state in cases::states(store)? {
        seen.insert(state.case_ref);
        out.push(history_row(&state, me, &name, now));
    }
    // A brand's supply-chain cases, known from the CSOs' status reports: one row per case,
    // naming each supplier or agency a report concerns (reports are stored by case first).
    let reports: Vec<crate::records::StatusReport> = store.scan(&schema::STATUS_REPORTS, &[])?;
    for group in reports.chunk_by(|a, b| a.case_ref == b.case_ref) {
        if let Some(row) = chain::report_row(group, &name, now)
            && seen.insert(row.case_ref)
        {
            out.push(row);
        }
    }
    let local: Vec<LocalCase> = store.scan(&schema::LOCAL_CASES, &[])?;
    for l in local.into_iter().filter(|l| !seen.contains(&l.case_ref)) {
        out.push(local_row(&l, &name));
    }
    Ok(out)
}

/// The row of a case this node holds the history of.
pub(crate) fn history_row(
    state: &ilm_protocol::CaseState,
    me: &OrgId,
    name: &dyn Fn(&OrgId) -> String,
    now: Timestamp,
) -> CaseRow {
    let counterparties: Vec<OrgId> = if state.owner == *me {
        state.responders().collect()
    } else {
        vec![state.owner]
    };
    let site = state
        .parties
        .first()
        .map(|p| p.escalation.site.clone())
        .unwrap_or_default();
    let counterparty_names: Vec<String> = counterparties.iter().map(name).collect();
    let mut late: Vec<OrgId> = state
        .obligations(now)
        .iter()
        .filter(|o| o.overdue)
        .map(|o| o.party)
        .collect();
    late.dedup();
    CaseRow {
        case_ref: state.case_ref,
        status: state.status().code().to_string(),
        opened_at: state.opened_at,
        site,
        counterparties,
        counterparty_names,
        categories: state.categories(),
        workers: state.workers_affected(),
        next_due: state.next_due(now),
        overdue: !late.is_empty(),
        overdue_with: if state.owner == *me {
            late
        } else if late.contains(me) {
            vec![state.owner]
        } else {
            Vec::new()
        },
        closed: state.closed.is_some(),
        source: Source::History,
        sector: None,
        corridor: None,
        reached: Vec::new(),
        text: crate::aggregates::terms::text(state),
    }
}

/// The row of a case opened at this CSO and not escalated yet.
pub(crate) fn local_row(l: &LocalCase, name: &dyn Fn(&OrgId) -> String) -> CaseRow {
    let counterparties: Vec<OrgId> = l.supplier.iter().chain(&l.agencies).copied().collect();
    let counterparty_names: Vec<String> = counterparties.iter().map(name).collect();
    CaseRow {
        case_ref: l.case_ref,
        status: "open".into(),
        opened_at: l.opened_at,
        site: l.site.clone(),
        counterparties,
        counterparty_names,
        categories: l.issues.iter().map(|i| i.category).collect(),
        workers: l.workers,
        next_due: None,
        overdue: false,
        overdue_with: Vec::new(),
        closed: false,
        source: Source::Local,
        sector: None,
        corridor: None,
        reached: Vec::new(),
        text: l.site.clone(),
    }
}

/// One page of a worklist.
#[derive(Debug, Clone, Serialize)]
pub struct CasePage {
    /// The rows of this page.
    pub rows: Vec<CaseRow>,
    /// Rows matching the query, on every page.
    pub total: usize,
    /// This page, from 1.
    pub page: usize,
    /// Number of pages (at least 1; with `more`, those counted so far).
    pub pages: usize,
    /// A wide search stopped counting: `total` is a lower bound, more cases may match
    /// (narrow it, or export the list, for every one).
    pub more: bool,
}

/// The place of a status code in lifecycle order.
pub fn stage(code: &str) -> u64 {
    query::status_codes()
        .iter()
        .position(|s| *s == code)
        .map_or(u64::MAX, |p| p as u64)
}

/// The page of `rows` that `query` asks for. `label` turns a category code into the name
/// people search for (in their language).
pub fn select(
    rows: Vec<CaseRow>,
    query: &CaseQuery,
    label: &dyn Fn(IssueCategory) -> String,
) -> Result<CasePage, QueryError> {
    let filter = Filter::parse(query)?;
    let rows: Vec<CaseRow> = rows
        .into_iter()
        .filter(|r| filter.matches(r, label))
        .collect();
    Ok(sorted_page(rows, &filter))
}

/// The page `filter` asks for of `rows` (those that pass it, every one), sorted in its
/// order.
fn sorted_page(mut rows: Vec<CaseRow>, filter: &Filter) -> CasePage {
    rows.sort_by_key(|r| filter.sort_key(r));
    let (rows, total, page, pages) = paginate(rows, filter.page, filter.per_page);
    CasePage {
        rows,
        total,
        page,
        pages,
        more: false,
    }
}

/// The page `filter` asks for among `total` cases whose rows `row` builds from `items`,
/// in order from the first page's start (only the page's are built), with `more` as
/// counted.
fn built_page<T>(
    items: impl IntoIterator<Item = T>,
    total: usize,
    more: bool,
    filter: &Filter,
    row: impl Fn(T) -> Result<Option<CaseRow>, StoreError>,
) -> Result<CasePage, StoreError> {
    let pages = total.div_ceil(filter.per_page).max(1);
    let page = filter.page.clamp(1, pages);
    let mut rows = Vec::with_capacity(filter.per_page);
    for item in items
        .into_iter()
        .skip((page - 1) * filter.per_page)
        .take(filter.per_page)
    {
        rows.extend(row(item)?);
    }
    Ok(CasePage {
        rows,
        total,
        page,
        pages,
        more,
    })
}

/// Why a worklist cannot be listed.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    /// The query is not valid.
    #[error(transparent)]
    Query(#[from] QueryError),
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The page `query` asks for of every case this node holds: from the indexes kept with the
/// aggregates when they can answer it ([`indexed::page`]), else from a row per case.
pub fn list(
    store: &Store,
    membership: &MembershipState,
    me: &OrgId,
    now: Timestamp,
    query: &CaseQuery,
    label: &dyn Fn(IssueCategory) -> String,
) -> Result<CasePage, ListError> {
    let filter = Filter::parse_at(query, membership, me)?;
    if let Some(page) = indexed::page(store, membership, me, now, &filter, label)? {
        return Ok(page);
    }
    if let Some(page) = reported::page(store, membership, now, &filter, label)? {
        return Ok(page);
    }
    let all = rows(store, membership, me, now)?;
    Ok(select(all, query, label)?)
}

/// A requested page size: 0 means [`PER_PAGE`]; more than [`MAX_PER_PAGE`] is refused.
pub fn page_size(requested: usize) -> Option<usize> {
    match requested {
        0 => Some(PER_PAGE),
        n if n <= MAX_PER_PAGE => Some(n),
        _ => None,
    }
}

/// One page of `rows`: the rows, how many there are in all, the page (clamped to the
/// existing ones, from 1) and the number of pages (at least 1).
pub fn paginate<T>(rows: Vec<T>, page: usize, per_page: usize) -> (Vec<T>, usize, usize, usize) {
    let total = rows.len();
    let pages = total.div_ceil(per_page).max(1);
    let page = page.clamp(1, pages);
    let rows = rows
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    (rows, total, page, pages)
}

#[cfg(test)]
mod tests;
