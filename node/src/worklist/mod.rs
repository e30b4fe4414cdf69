//! Worklists: every case this node holds (escalated or only opened at the CSO) as one row
//! with what people sort and filter by, and the query the case list, the API and the CLI share
//! (search, filters, sorting, paging).

use crate::cases;
use crate::intake::LocalCase;
use crate::membership::MembershipState;
use crate::schema;
use crate::store::{Store, StoreError};
use ilm_protocol::{CaseRef, Country, IssueCategory, OrgId, Timestamp};
use serde::{Deserialize, Serialize};

pub mod export;
pub mod indexed;
mod probe;
pub mod reported;
pub(crate) mod stream;

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
        if let Some(row) = reported::report_row(group, &name, now)
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

/// What a worklist shows: search, filters, order and page. Every field is optional.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct CaseQuery {
    /// Words that must all appear (reference, site, counterparty names, remedy, description,
    /// category names).
    pub q: String,
    /// One status code.
    pub status: String,
    /// Only cases with something overdue (with `party`: overdue between this node and that
    /// party, whichever owes it).
    pub overdue: bool,
    /// Only cases with this counterparty (org id).
    pub party: String,
    /// Only cases with this category code (with `party` at a brand: escalated to that party
    /// for it).
    pub category: String,
    /// Opened on or after this day (YYYY-MM-DD; with `party` at a brand: escalated to that
    /// party on or after it, as its scorecard counts).
    pub from: String,
    /// Opened on or before this day (YYYY-MM-DD; with `party` at a brand: escalated to
    /// that party on or before it).
    pub to: String,
    /// A brand's cases whose status reports name this sector (a code of
    /// `intake::SECTORS`).
    pub sector: String,
    /// A brand's cases whose status reports name this corridor (`MM-TH`: origin, then
    /// country of work).
    pub corridor: String,
    /// Include closed cases (hidden by default).
    pub closed: bool,
    /// `opened` (newest first, the default), `due` (soonest first) or `status`.
    pub sort: String,
    /// Page number, from 1.
    pub page: usize,
    /// Rows per page, 1 to `MAX_PER_PAGE` (0: `PER_PAGE`).
    pub per_page: usize,
}

/// The most rows one page may hold (an export or a script asks for everything at once).
pub const MAX_PER_PAGE: usize = 10_000;

/// Why a query cannot be answered.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum QueryError {
    /// A date that is not YYYY-MM-DD.
    #[error("{0}: a day as YYYY-MM-DD")]
    BadDay(&'static str),
    /// An unknown sort key.
    #[error("sort: opened, due or status")]
    BadSort,
    /// A status that is not a case status.
    #[error("status: one of {0}")]
    BadStatus(String),
    /// A category that is not in the codebook.
    #[error("category: a code from the codebook, one of {0}")]
    BadCategory(String),
    /// A page size out of range.
    #[error("per_page: 1 to 10000")]
    BadPageSize,
    /// A sector that is not in the list.
    #[error("sector: one of {0}")]
    BadSector(String),
    /// A corridor that is not two country codes.
    #[error("corridor: two country codes joined by a dash, such as MM-TH")]
    BadCorridor,
    /// A sector or corridor asked of a node that is not a brand.
    #[error(
        "sector and corridor narrow a brand's cases, as the status reports it receives say; this node is not a brand"
    )]
    NotABrand,
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
    /// A wide search stopped counting: more cases match than `total` (narrow it, or export
    /// the list, for every one).
    pub more: bool,
}

/// A sector code of `intake::SECTORS` (None when empty).
pub fn sector(s: &str) -> Result<Option<String>, QueryError> {
    match s.trim() {
        "" => Ok(None),
        s if crate::intake::SECTORS.contains(&s) => Ok(Some(s.to_string())),
        _ => Err(QueryError::BadSector(crate::intake::SECTORS.join(", "))),
    }
}

/// A corridor written `MM-TH`: country of origin, then of work (None when empty).
pub fn corridor(s: &str) -> Result<Option<(Country, Country)>, QueryError> {
    match s.trim() {
        "" => Ok(None),
        c => {
            let (o, d) = c.split_once('-').ok_or(QueryError::BadCorridor)?;
            let country = |s: &str| s.parse::<Country>().map_err(|_| QueryError::BadCorridor);
            Ok(Some((country(o)?, country(d)?)))
        }
    }
}

/// A day written YYYY-MM-DD as its first second, or its last one with `end` (None when
/// empty).
pub fn day(s: &str, what: &'static str, end: bool) -> Result<Option<Timestamp>, QueryError> {
    if s.trim().is_empty() {
        return Ok(None);
    }
    let t = humantime::parse_rfc3339(&format!("{}T00:00:00Z", s.trim()))
        .map_err(|_| QueryError::BadDay(what))?;
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| QueryError::BadDay(what))?
        .as_secs();
    Ok(Some(Timestamp(if end { secs + 86_399 } else { secs })))
}

/// The order of a worklist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    /// Newest first.
    Opened,
    /// Soonest due first, cases owing nothing last.
    Due,
    /// In lifecycle order, newest first within a status.
    Status,
}

/// Where a row goes in a sorted worklist: smaller first.
pub type SortKey = (u64, u64, u64, CaseRef);

/// The status codes in lifecycle order (`open`: opened at the CSO, not escalated yet).
fn status_codes() -> Vec<&'static str> {
    std::iter::once("open")
        .chain(ilm_protocol::CaseStatus::ALL.iter().map(|s| s.code()))
        .collect()
}

/// A worklist query, checked: what rows it keeps, in which order, on which page.
#[derive(Debug, Clone)]
pub struct Filter {
    /// Words that must each start a word of the row's text, or be in a counterparty's name
    /// or a category's label, or start its reference (8 digits or more).
    pub words: Vec<String>,
    /// One status code (empty: any).
    pub status: String,
    /// Only cases with something overdue.
    pub overdue: bool,
    /// Only cases with this counterparty, its id as written (empty: any).
    pub party: String,
    /// Only cases with this category.
    pub category: Option<IssueCategory>,
    /// Opened at or after.
    pub from: Option<Timestamp>,
    /// Opened at or before.
    pub to: Option<Timestamp>,
    /// Only a brand's cases of this sector.
    pub sector: Option<String>,
    /// Only a brand's cases of this corridor.
    pub corridor: Option<(Country, Country)>,
    /// Whether closed cases are kept.
    pub closed: bool,
    /// The order.
    pub sort: Sort,
    /// The page asked for, from 1 (clamped to the existing ones).
    pub page: usize,
    /// Rows per page.
    pub per_page: usize,
}

impl Filter {
    /// Checks a query.
    pub fn parse(query: &CaseQuery) -> Result<Filter, QueryError> {
        let statuses = status_codes();
        if !query.status.is_empty() && !statuses.contains(&query.status.as_str()) {
            return Err(QueryError::BadStatus(statuses.join(", ")));
        }
        let category = match query.category.as_str() {
            "" => None,
            code => Some(code.parse::<IssueCategory>().map_err(|_| {
                let codes: Vec<&str> = IssueCategory::ALL.iter().map(|c| c.code()).collect();
                QueryError::BadCategory(codes.join(", "))
            })?),
        };
        let sort = match query.sort.as_str() {
            "" | "opened" => Sort::Opened,
            "due" => Sort::Due,
            "status" => Sort::Status,
            _ => return Err(QueryError::BadSort),
        };
        Ok(Filter {
            words: crate::aggregates::terms::words(&query.q),
            status: query.status.clone(),
            overdue: query.overdue,
            party: query.party.clone(),
            category,
            from: day(&query.from, "from", false)?,
            to: day(&query.to, "to", true)?,
            sector: sector(&query.sector)?,
            corridor: corridor(&query.corridor)?,
            closed: query.closed || query.status == "closed",
            sort,
            page: query.page,
            per_page: page_size(query.per_page).ok_or(QueryError::BadPageSize)?,
        })
    }

    /// Whether a query word finds a row by what the index does not hold (counterparty names
    /// and category labels, which the directory and the reader's language decide) or by its
    /// reference.
    pub fn found_apart(
        word: &str,
        case: &CaseRef,
        names: &[String],
        categories: &[IssueCategory],
        label: &dyn Fn(IssueCategory) -> String,
    ) -> bool {
        names.iter().any(|n| n.to_lowercase().contains(word))
            || categories
                .iter()
                .any(|c| label(*c).to_lowercase().contains(word))
            // A reference matches from its start, with 8 digits or more (a short number in a
            // search must not find random references).
            || (word.len() >= 8 && case.to_hex().starts_with(word))
    }

    /// Whether a row is kept.
    pub fn matches(&self, r: &CaseRow, label: &dyn Fn(IssueCategory) -> String) -> bool {
        let words_ok = self.words.is_empty() || {
            let indexed = crate::aggregates::terms::indexed_words(&r.text);
            self.words.iter().all(|w| {
                crate::aggregates::terms::found_in(&indexed, w)
                    || Self::found_apart(
                        w,
                        &r.case_ref,
                        &r.counterparty_names,
                        &r.categories,
                        label,
                    )
            })
        };
        words_ok
            && (self.closed || !r.closed)
            && (self.status.is_empty() || r.status == self.status)
            && (!self.overdue
                || if self.party.is_empty() {
                    r.overdue
                } else {
                    r.overdue_with.iter().any(|p| p.to_string() == self.party)
                })
            && (self.party.is_empty()
                || r.counterparties.iter().any(|p| p.to_string() == self.party))
            && self.dated(r)
            && self
                .sector
                .as_ref()
                .is_none_or(|s| r.sector.as_ref() == Some(s))
            && self
                .corridor
                .as_ref()
                .is_none_or(|c| r.corridor.as_ref() == Some(c))
    }

    /// Whether a row's dates and categories pass: the case's, or with one party named at a
    /// brand, those of the case's report about it (when it reached that party), so that the
    /// list of a party's cases holds what its scorecard counts.
    fn dated(&self, r: &CaseRow) -> bool {
        let reached = r
            .reached
            .iter()
            .find(|p| !self.party.is_empty() && p.party.to_string() == self.party);
        let (at, categories) = match reached {
            Some(p) => (p.at, &p.categories),
            None => (r.opened_at, &r.categories),
        };
        self.category.is_none_or(|c| categories.contains(&c))
            && self.from.is_none_or(|f| at >= f)
            && self.to.is_none_or(|t| at <= t)
    }

    /// Whether it narrows by sector or corridor, which only a brand's rows carry.
    pub fn narrows_profile(&self) -> bool {
        self.sector.is_some() || self.corridor.is_some()
    }

    /// [`Filter::parse`], refusing a sector or corridor at a node that is not a brand (its
    /// rows carry neither, so the list would be empty, not narrowed).
    pub fn parse_at(
        query: &CaseQuery,
        membership: &MembershipState,
        me: &OrgId,
    ) -> Result<Filter, QueryError> {
        let filter = Filter::parse(query)?;
        let brand = membership
            .certificate(me)
            .is_some_and(|c| c.role == ilm_protocol::Role::Brand);
        if filter.narrows_profile() && !brand {
            return Err(QueryError::NotABrand);
        }
        Ok(filter)
    }

    /// Where a row goes in this query's order.
    pub fn sort_key(&self, r: &CaseRow) -> SortKey {
        let newest = u64::MAX - r.opened_at.0;
        // Ties on the due date go newest first, as the due-date index holds them.
        match self.sort {
            Sort::Opened => (0, newest, 0, r.case_ref),
            Sort::Due => match r.next_due {
                Some(d) => (0, d.0, newest, r.case_ref),
                None => (1, 0, 0, r.case_ref),
            },
            Sort::Status => (stage(&r.status), newest, 0, r.case_ref),
        }
    }
}

/// The place of a status code in lifecycle order.
pub fn stage(code: &str) -> u64 {
    status_codes()
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
    let mut rows: Vec<CaseRow> = rows
        .into_iter()
        .filter(|r| filter.matches(r, label))
        .collect();
    rows.sort_by_key(|r| filter.sort_key(r));
    let (rows, total, page, pages) = paginate(rows, filter.page, filter.per_page);
    Ok(CasePage {
        rows,
        total,
        page,
        pages,
        more: false,
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
    if let Some(page) = reported::page(store, membership, now, &filter)? {
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
