//! A brand's supply-chain cases, each known from the status reports the CSOs send about its
//! parties (one per party the case was escalated to): what the case list shows of each
//! ([`CaseSummary`]), the case-level cells its dashboard counts, and the case-level lists its
//! case list reads a page from, kept in the report lists' table ([`LISTS`]).

use super::reports::{DAY, KEY_LEN, LISTS, ListKey, case_of, list_key};
use super::{Cells, add};
use crate::records::StatusReport;
use crate::store::{Store, StoreError};
use ilm_protocol::{CaseRef, Country, IssueCategory, OrgId, Timestamp};

/// What a brand's case list shows of a case it knows from status reports (one per party
/// the case was escalated to, stored by case first): where the newest report says it
/// stands, when it was first escalated, its categories, what is next due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseSummary {
    /// The case.
    pub case_ref: CaseRef,
    /// The CSO of the newest report.
    pub cso: OrgId,
    /// Its status, as the newest report says.
    pub status: ilm_protocol::CaseStatus,
    /// When first escalated (to any of the parties).
    pub opened_at: Timestamp,
    /// The categories of every report, each once, in order.
    pub categories: Vec<ilm_protocol::IssueCategory>,
    /// The earliest date any party owes something by.
    pub next_due: Option<Timestamp>,
    /// The organisations its case-list row names: each party a report concerns, and the CSO.
    pub counterparties: Vec<OrgId>,
    /// The sector of the first report (in id order) that names one.
    pub sector: Option<String>,
    /// The corridor of the first report (in id order) that names one.
    pub corridor: Option<(Country, Country)>,
}

impl CaseSummary {
    /// Whether the case is closed.
    pub fn closed(&self) -> bool {
        self.status == ilm_protocol::CaseStatus::Closed
    }
}

/// The newest of a case's reports: it says where the case stands (one under the earlier
/// id, or one about another party, may be older).
fn newest(group: &[StatusReport]) -> Option<&StatusReport> {
    group.iter().max_by_key(|r| r.reported_at)
}

/// Whether a case is closed, as its newest report says.
pub(super) fn closed(group: &[StatusReport]) -> bool {
    newest(group).is_some_and(|r| r.status == ilm_protocol::CaseStatus::Closed)
}

/// What each of a case's reports says its party owes, with due dates (in the group's
/// order): nothing once the newest report says the case is closed. A party's own last report
/// may be older and still say it owes: the CSO no longer sends one about a party that left
/// the network, nor to a brand that no longer buys from it.
pub fn owed_in(group: &[StatusReport]) -> Vec<Vec<(ilm_protocol::Owed, Timestamp)>> {
    let closed = closed(group);
    group
        .iter()
        .map(|r| if closed { Vec::new() } else { r.owed() })
        .collect()
}

/// What each of a case's reports owes past its date at `now` ([`owed_in`]'s rule: nothing in a
/// closed case), for the reports that owe something.
pub fn overdue_in(
    group: &[StatusReport],
    now: Timestamp,
) -> Vec<(&StatusReport, Vec<(ilm_protocol::Owed, Timestamp)>)> {
    group
        .iter()
        .zip(owed_in(group))
        .filter_map(|(r, owed)| {
            let late: Vec<_> = owed.into_iter().filter(|(_, due)| now > *due).collect();
            (!late.is_empty()).then_some((r, late))
        })
        .collect()
}

/// The reports of a case that owe something ([`owed_in`]'s rule), each with the earliest date
/// it owes by.
pub(super) fn owing(group: &[StatusReport]) -> Vec<(&StatusReport, Timestamp)> {
    group
        .iter()
        .zip(owed_in(group))
        .filter_map(|(r, owed)| Some((r, owed.iter().map(|(_, due)| *due).min()?)))
        .collect()
}

/// The summary of one case's reports (in id order; None for none).
pub fn summary(group: &[StatusReport]) -> Option<CaseSummary> {
    let newest = newest(group)?;
    let mut categories = Vec::new();
    for c in group.iter().flat_map(|r| r.categories.iter()) {
        if !categories.contains(c) {
            categories.push(*c);
        }
    }
    Some(CaseSummary {
        case_ref: newest.case_ref,
        cso: newest.cso,
        status: newest.status,
        opened_at: group
            .iter()
            .map(|r| r.escalated_at)
            .min()
            .unwrap_or(newest.escalated_at),
        categories,
        next_due: owing(group).iter().map(|(_, due)| *due).min(),
        counterparties: {
            let mut c: Vec<OrgId> = group.iter().map(|r| r.supplier).collect();
            c.push(newest.cso);
            c.sort();
            c.dedup();
            c
        },
        sector: group.iter().find_map(|r| r.sector.clone()),
        corridor: group.iter().find_map(|r| r.corridor.clone()),
    })
}

/// Every case-level cell starts with this: the brand's supply-chain cases, each once.
pub const CASES: &str = "chain.";

/// The list of cases not closed, newest first ([`super::opened::key`]).
pub const OPEN_CASES: &[u8] = b"o";

/// The list of every case, newest first.
pub const ALL_CASES: &[u8] = b"a";

/// The list of cases in which some party owes something, by the earliest date owed.
pub const DUE_CASES: &[u8] = b"u";

/// What the name of each due-date list of the cases of one category, sector or corridor
/// starts with ([`due_cases_of`]).
const DUE_OF: &[u8] = b"w";

/// The name of the list of the cases on `facet` (the list of a category's, a sector's or a
/// corridor's cases) in which some party owes something, by the earliest date owed, as
/// [`DUE_CASES`] holds them: a case list soonest due first narrowed by the facet walks it
/// and meets only the facet's cases, and checks another facet named by the same key on its
/// list (a facet's name holds no zero byte but its last).
pub fn due_cases_of(facet: &[u8]) -> Vec<u8> {
    [DUE_OF, facet].concat()
}

/// The name of the list of every case naming `org` (a party or the CSO), newest first.
pub fn cases_with(org: &OrgId) -> Vec<u8> {
    [b"p".as_slice(), org.as_bytes()].concat()
}

/// The name of the list of the cases not closed naming `org`, newest first.
pub fn open_cases_with(org: &OrgId) -> Vec<u8> {
    [b"q".as_slice(), org.as_bytes()].concat()
}

/// The name of the list of the cases whose newest report gives this status code, newest
/// first.
pub fn cases_in_status(code: &str) -> Vec<u8> {
    [b"t", code.as_bytes(), &[0]].concat()
}

/// The name of the list of the cases any report of which gives this category, newest first.
pub fn cases_of_category(category: IssueCategory) -> Vec<u8> {
    [b"c", category.code().as_bytes(), &[0]].concat()
}

/// The name of the list of the cases naming `org` whose categories, as they concern it,
/// include `category`, newest first: those of its own report (the first about it, in id
/// order), or the case's for an organisation no report concerns (its CSO). A case's report
/// about one party may give fewer categories than the case's reports together.
pub fn cases_with_category(org: &OrgId, category: IssueCategory) -> Vec<u8> {
    [
        b"k".as_slice(),
        org.as_bytes(),
        category.code().as_bytes(),
        &[0],
    ]
    .concat()
}

/// The name of the list of the cases of this sector (a code of `intake::SECTORS`, as
/// [`CaseSummary::sector`] says), newest first.
pub fn cases_of_sector(sector: &str) -> Vec<u8> {
    [b"e", sector.as_bytes(), &[0]].concat()
}

/// The name of the list of the cases of this corridor (as [`CaseSummary::corridor`] says),
/// newest first.
pub fn cases_of_corridor(origin: &Country, work: &Country) -> Vec<u8> {
    [
        b"r",
        origin.as_str().as_bytes(),
        b"-",
        work.as_str().as_bytes(),
        &[0],
    ]
    .concat()
}

/// Adds to `c` what one case, known from its reports, counts: once, by status, by each
/// category, open, and per day of its earliest due date.
pub(super) fn add_case(c: &mut Cells, s: &CaseSummary) {
    add(c, format!("{CASES}cases"), 1);
    add(c, format!("{CASES}status.{}", s.status.code()), 1);
    if !s.closed() {
        add(c, format!("{CASES}open"), 1);
    }
    for cat in &s.categories {
        add(c, format!("{CASES}category.{}", cat.code()), 1);
    }
    for org in &s.counterparties {
        add(c, format!("{CASES}with.{org}.cases"), 1);
        if !s.closed() {
            add(c, format!("{CASES}with.{org}.open"), 1);
        }
    }
    if let Some(due) = s.next_due {
        add(c, format!("{CASES}due.{:06}", due.0 / DAY), 1);
    }
}

/// A case's entries in the case-level lists and in its parties' lists.
pub fn entries(group: &[StatusReport]) -> Vec<(Vec<u8>, ListKey)> {
    let mut out = Vec::new();
    if let Some(s) = summary(group) {
        out.extend(case_entries(&s));
        let key = super::opened::key(s.opened_at, &s.case_ref);
        for org in &s.counterparties {
            // As the case list reads a row with an organisation named: the first report about
            // it (in id order), or the case's categories when none is (its CSO).
            let categories = group
                .iter()
                .find(|r| r.supplier == *org)
                .map_or(&s.categories, |r| &r.categories);
            out.extend(
                categories
                    .iter()
                    .map(|c| (cases_with_category(org, *c), key)),
            );
        }
    }
    out.extend(group.iter().map(super::reports::newest_entry));
    out.extend(group.iter().flat_map(super::report_facets::entries));
    out.extend(owing(group).into_iter().map(|(r, due)| {
        (
            super::reports::due_list(&r.supplier),
            list_key(due.0, &r.case_ref),
        )
    }));
    out
}

/// A case's entries in the case-level lists.
fn case_entries(s: &CaseSummary) -> Vec<(Vec<u8>, ListKey)> {
    let key = super::opened::key(s.opened_at, &s.case_ref);
    let mut out = vec![(ALL_CASES.to_vec(), key)];
    if !s.closed() {
        out.push((OPEN_CASES.to_vec(), key));
    }
    for org in &s.counterparties {
        out.push((cases_with(org), key));
        if !s.closed() {
            out.push((open_cases_with(org), key));
        }
    }
    out.push((cases_in_status(s.status.code()), key));
    let facets = facets_of(s);
    out.extend(facets.iter().map(|f| (f.clone(), key)));
    if let Some(due) = s.next_due {
        let owed = list_key(due.0, &s.case_ref);
        out.push((DUE_CASES.to_vec(), owed));
        out.extend(facets.iter().map(|f| (due_cases_of(f), owed)));
    }
    out
}

/// The lists of the categories, the sector and the corridor a case is on. What a case list
/// narrows by: only a sector of the list a query may name (a name holds no zero byte but
/// its last, so no list's ids start with another's name).
fn facets_of(s: &CaseSummary) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = s.categories.iter().map(|c| cases_of_category(*c)).collect();
    if let Some(sector) = s.sector.as_deref()
        && crate::intake::SECTORS.contains(&sector)
    {
        out.push(cases_of_sector(sector));
    }
    if let Some((origin, work)) = &s.corridor {
        out.push(cases_of_corridor(origin, work));
    }
    out
}

/// The brand's supply-chain cases (those naming `org`, if given): in all, and not closed.
pub fn case_totals(store: &Store, org: Option<&OrgId>) -> Result<(u64, u64), StoreError> {
    let at = org.map_or_else(String::new, |o| format!("with.{o}."));
    let n = |cell: &str| -> Result<u64, StoreError> {
        Ok(u64::try_from(super::get(store, &format!("{CASES}{at}{cell}"))?).unwrap_or(0))
    };
    Ok((n("cases")?, n("open")?))
}

/// The brand's supply-chain cases in which some party owes something due before `now` (as
/// its case list counts "overdue").
pub fn cases_overdue(store: &Store, now: Timestamp) -> Result<u64, StoreError> {
    super::due::overdue_count(store, &format!("{CASES}due."), &LISTS, DUE_CASES, now)
}

/// The first `n` of the brand's supply-chain cases in which some party owes something due
/// before `now`, most overdue first (by the earliest date owed, then by case), with that date.
pub fn overdue_page(
    store: &Store,
    now: Timestamp,
    n: usize,
) -> Result<Vec<(Timestamp, CaseRef)>, StoreError> {
    let mut out = Vec::new();
    for id in LISTS.ids_in(store, DUE_CASES, 0, n)? {
        let (Some(due), Some(key)) = (
            super::due::due_of(DUE_CASES, &id),
            super::lists::key_of::<KEY_LEN>(&id),
        ) else {
            continue;
        };
        if due >= now {
            break;
        }
        out.push((due, case_of(&key)));
    }
    Ok(out)
}

/// The brand's supply-chain cases (those naming `org`, if given) from the `skip`-th on, at
/// most `n`, newest first: every case, or those not closed.
pub fn cases_page(
    store: &Store,
    org: Option<&OrgId>,
    closed_too: bool,
    skip: usize,
    n: usize,
) -> Result<Vec<CaseRef>, StoreError> {
    let list = match (org, closed_too) {
        (None, true) => ALL_CASES.to_vec(),
        (None, false) => OPEN_CASES.to_vec(),
        (Some(o), true) => cases_with(o),
        (Some(o), false) => open_cases_with(o),
    };
    Ok(LISTS
        .ids_in(store, &list, skip, n)?
        .iter()
        .filter_map(|id| super::opened::key_of(id))
        .map(|k| super::opened::case_of(&k))
        .collect())
}

/// What one case a brand knows from its reports (`group`, in id order) adds to the
/// case-level cells, to its parties' cells per day of the earliest date each owes by, and
/// to their cells per day escalated (`report_days`), per facet and per two or three facets
/// together (`report_facets`, `report_pairs`; nothing for no reports).
pub(super) fn of_case(group: &[StatusReport]) -> Cells {
    let mut c = Cells::new();
    if let Some(s) = summary(group) {
        add_case(&mut c, &s);
    }
    super::report_days::of_case(group, &mut c);
    super::report_facets::of_case(group, &mut c);
    for (r, due) in owing(group) {
        let at = super::reports::prefix(&r.supplier);
        add(&mut c, format!("{at}due.{:06}", due.0 / DAY), 1);
    }
    // A party's counts are of reports: with two about it in one case (two CSOs'), they are
    // not of cases.
    let mut parties: Vec<OrgId> = group.iter().map(|r| r.supplier).collect();
    parties.sort();
    for twice in parties.chunk_by(|a, b| a == b).filter(|p| p.len() > 1) {
        add(
            &mut c,
            format!("{}{TWICE}", super::reports::prefix(&twice[0])),
            1,
        );
    }
    c
}

/// The cell, after a party's prefix, counting the cases with more than one report about it.
const TWICE: &str = "reported_twice";

/// Whether some case has more than one report about `party`: then its counts of reports
/// are not counts of cases.
pub fn reported_twice(store: &Store, party: &OrgId) -> Result<bool, StoreError> {
    let cell = format!("{}{TWICE}", super::reports::prefix(party));
    Ok(super::get(store, &cell)? != 0)
}
