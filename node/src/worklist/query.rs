//! A worklist query: what the case list's URL and the API ask for ([`CaseQuery`]), checked
//! into the [`Filter`] that keeps rows, orders them and picks a page.

use super::{CaseRow, page_size, stage};
use crate::membership::MembershipState;
use ilm_protocol::{CaseRef, Country, IssueCategory, OrgId, Timestamp};
use serde::{Deserialize, Serialize};

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
pub(super) fn status_codes() -> Vec<&'static str> {
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
            && self.narrowed(r)
    }

    /// Whether a row's dates, categories, sector and corridor pass: the case's, or with one
    /// party named at a brand, those of the case's report about it (when it reached that
    /// party), so that the list of a party's cases holds what its scorecard counts.
    fn narrowed(&self, r: &CaseRow) -> bool {
        let reached = r
            .reached
            .iter()
            .find(|p| !self.party.is_empty() && p.party.to_string() == self.party);
        let (at, categories, sector, corridor) = match reached {
            Some(p) => (p.at, &p.categories, &p.sector, &p.corridor),
            None => (r.opened_at, &r.categories, &r.sector, &r.corridor),
        };
        self.category.is_none_or(|c| categories.contains(&c))
            && self.from.is_none_or(|f| at >= f)
            && self.to.is_none_or(|t| at <= t)
            && self
                .sector
                .as_ref()
                .is_none_or(|s| sector.as_ref() == Some(s))
            && self
                .corridor
                .as_ref()
                .is_none_or(|c| corridor.as_ref() == Some(c))
    }

    /// Whether it narrows by sector or corridor, which only a brand's rows carry.
    pub fn narrows_profile(&self) -> bool {
        self.sector.is_some() || self.corridor.is_some()
    }

    /// The organisation named, as the rows and lists compare it: as written (an id that
    /// does not read back the same names none, and the query then keeps nothing).
    pub fn party_named(&self) -> Option<OrgId> {
        self.party
            .parse::<OrgId>()
            .ok()
            .filter(|p| p.to_string() == self.party)
    }

    /// Whether the query names no condition but perhaps an organisation: every case (not
    /// closed, unless closed cases are asked for), or every case naming it.
    pub fn only_party(&self) -> bool {
        !self.overdue && self.only_party_or_overdue()
    }

    /// Whether the query names no condition but perhaps an organisation, and perhaps
    /// overdue.
    pub fn only_party_or_overdue(&self) -> bool {
        self.words.is_empty()
            && self.status.is_empty()
            && self.category.is_none()
            && self.from.is_none()
            && self.to.is_none()
            && !self.narrows_profile()
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
