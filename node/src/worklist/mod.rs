//! Worklists: every case this node holds (escalated or only opened at the CSO) as one row
//! with what people sort and filter by, and the query the case list, the API and the CLI share
//! (search, filters, sorting, paging).

use crate::cases;
use crate::intake::LocalCase;
use crate::membership::MembershipState;
use crate::schema;
use crate::store::{Store, StoreError};
use ilm_protocol::{CaseRef, IssueCategory, OrgId, Timestamp};
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
    /// What its words are searched in (site, requested remedies, descriptions); names and
    /// categories are searched apart, as the directory and the reader's language name them.
    #[serde(skip)]
    text: String,
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
    /// Only cases with this category code.
    pub category: String,
    /// Opened on or after this day (YYYY-MM-DD).
    pub from: String,
    /// Opened on or before this day (YYYY-MM-DD).
    pub to: String,
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
            && self.category.is_none_or(|c| r.categories.contains(&c))
            && self.from.is_none_or(|f| r.opened_at >= f)
            && self.to.is_none_or(|t| r.opened_at <= t)
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
    let filter = Filter::parse(query)?;
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
mod tests {
    use super::*;

    fn row(n: u8, status: &str, opened: u64, closed: bool, overdue: bool) -> CaseRow {
        CaseRow {
            case_ref: CaseRef([n; 16]),
            status: status.into(),
            opened_at: Timestamp(opened),
            site: format!("Factory {n}"),
            counterparties: vec![OrgId([n % 2; 32])],
            counterparty_names: vec![format!("Agency {}", n % 2)],
            categories: vec![if n.is_multiple_of(2) {
                IssueCategory::WithholdingOfWages
            } else {
                IssueCategory::Deception
            }],
            workers: 1,
            next_due: (!closed).then_some(Timestamp(opened + 100)),
            overdue,
            overdue_with: if overdue {
                vec![OrgId([n % 2; 32])]
            } else {
                Vec::new()
            },
            closed,
            source: Source::History,
            text: format!("factory {n}"),
        }
    }

    fn label(c: IssueCategory) -> String {
        format!("{c:?}")
    }

    #[test]
    fn filters_sort_and_pages_pick_the_right_rows() {
        let rows: Vec<CaseRow> = (1..=60)
            .map(|n| {
                row(
                    n,
                    if n % 3 == 0 {
                        "escalated"
                    } else {
                        "acknowledged"
                    },
                    n as u64 * 86_400,
                    n % 10 == 0,
                    n % 7 == 0,
                )
            })
            .collect();
        let q = |f: &dyn Fn(&mut CaseQuery)| {
            let mut q = CaseQuery::default();
            f(&mut q);
            select(rows.clone(), &q, &label).expect("query")
        };
        // Closed cases are hidden by default; newest first; 25 a page.
        let all = q(&|_| {});
        assert_eq!(all.total, 54);
        assert_eq!((all.pages, all.rows.len()), (3, 25));
        assert_eq!(all.rows[0].case_ref, CaseRef([59; 16]));
        assert_eq!(q(&|q| q.closed = true).total, 60);
        assert_eq!(q(&|q| q.page = 3).rows.len(), 4);
        assert_eq!(q(&|q| q.page = 99).page, 3);
        assert_eq!(q(&|q| q.per_page = 100).rows.len(), 54);
        assert_eq!(
            select(
                rows.clone(),
                &CaseQuery {
                    per_page: MAX_PER_PAGE + 1,
                    ..Default::default()
                },
                &label
            )
            .err(),
            Some(QueryError::BadPageSize)
        );
        assert_eq!(q(&|q| q.status = "escalated".into()).total, 18);
        assert_eq!(q(&|q| q.overdue = true).total, 8);
        // Overdue with one party: only the cases that party owes something in.
        let with = |n: u8| {
            q(&|q| {
                q.overdue = true;
                q.party = OrgId([n; 32]).to_string();
            })
            .total
        };
        assert_eq!(with(0) + with(1), 8);
        assert!(with(0) > 0 && with(1) > 0);
        assert_eq!(
            q(&|q| q.q = "factory 42".into()).rows[0].case_ref,
            CaseRef([42; 16])
        );
        // A reference by its start; a short number does not match inside references.
        assert_eq!(
            q(&|q| q.q = "2a2a2a2a".into()).rows[0].case_ref,
            CaseRef([42; 16])
        );
        assert_eq!(q(&|q| q.q = "2a2a".into()).total, 0);
        assert_eq!(q(&|q| q.q = "deception".into()).total, 30);
        assert_eq!(q(&|q| q.category = "withholding_of_wages".into()).total, 24);
        assert_eq!(q(&|q| q.party = OrgId([1; 32]).to_string()).total, 30);
        let window = q(&|q| {
            q.from = "1970-01-11".into();
            q.to = "1970-01-20".into();
        });
        assert_eq!(window.total, 9, "days 10 to 19, day 10 closed");
        let due = q(&|q| q.sort = "due".into());
        assert_eq!(due.rows[0].case_ref, CaseRef([1; 16]));
        assert_eq!(
            select(
                rows.clone(),
                &CaseQuery {
                    from: "yesterday".into(),
                    ..Default::default()
                },
                &label
            )
            .err(),
            Some(QueryError::BadDay("from"))
        );
        for bad in [
            CaseQuery {
                status: "done".into(),
                ..Default::default()
            },
            CaseQuery {
                category: "wages".into(),
                ..Default::default()
            },
        ] {
            let err = select(rows.clone(), &bad, &label).expect_err("refused");
            assert!(
                err.to_string().contains("escalated") || err.to_string().contains("deception"),
                "{err}"
            );
        }
    }
}
