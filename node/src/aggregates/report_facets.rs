//! At a brand, per supplier or agency and per facet of the reports about it (a category, a
//! sector, a corridor), what its scorecard counts of the reports that have it, and a list
//! of them newest escalation first: so that a scorecard narrowed by one category, sector or
//! corridor reads a few cells and a page of a list, instead of every report. Again per day
//! and per month each report was escalated, as `report_days` keeps them, so that one
//! narrowed by some days and one facet reads the cells of those days too. Counted as
//! `report_days` counts (open and owing by the case rule), kept per case with the other
//! aggregates.

use super::report_days::{self, Passing};
use super::reports::{self, ListKey, ReportFigures};
use super::{Cells, add, chain};
use crate::records::StatusReport;
use crate::store::{Store, StoreError};
use ilm_protocol::{Country, IssueCategory, OrgId, Timestamp};
use std::collections::BTreeMap;
use std::ops::RangeInclusive;

/// What a report may be narrowed by, alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Facet {
    /// One of its categories.
    Category(IssueCategory),
    /// Its sector (a code of `intake::SECTORS`).
    Sector(String),
    /// Its corridor: origin and work country.
    Corridor(Country, Country),
}

impl Facet {
    /// Its name in cells and lists: no dot is in any (category codes, sector codes and
    /// country codes hold none), so no facet's cells start with another's prefix; nor a
    /// zero byte, which ends a list's name.
    pub(super) fn name(&self) -> String {
        match self {
            Facet::Category(c) => format!("category:{}", c.code()),
            Facet::Sector(s) => format!("sector:{s}"),
            Facet::Corridor(o, w) => format!("corridor:{}-{}", o.as_str(), w.as_str()),
        }
    }

    /// The facets of a report: each category once, its sector when it is one of
    /// `intake::SECTORS` (a filter takes no other), its corridor.
    pub fn of(r: &StatusReport) -> Vec<Facet> {
        let mut out: Vec<Facet> = Vec::new();
        for c in &r.categories {
            if !out.contains(&Facet::Category(*c)) {
                out.push(Facet::Category(*c));
            }
        }
        if let Some(s) = r.sector.as_deref()
            && crate::intake::SECTORS.contains(&s)
        {
            out.push(Facet::Sector(s.to_string()));
        }
        if let Some((o, w)) = &r.corridor {
            out.push(Facet::Corridor(o.clone(), w.clone()));
        }
        out
    }

    /// Whether a report has it (is one of [`Facet::of`]), read off the report: a filter asks
    /// it of every report a narrowed read passes, where `of` would copy each one's names.
    pub fn held_by(&self, r: &StatusReport) -> bool {
        match self {
            Facet::Category(c) => r.categories.contains(c),
            Facet::Sector(s) => {
                r.sector.as_deref() == Some(s.as_str())
                    && crate::intake::SECTORS.contains(&s.as_str())
            }
            Facet::Corridor(o, w) => r
                .corridor
                .as_ref()
                .is_some_and(|(ro, rw)| ro == o && rw == w),
        }
    }
}

/// Every per-facet cell starts with this, then the party's id, a dot, the facet's name and
/// a dot; what follows is named as under `reports::prefix` (with `month.<YYYY-MM>`), with
/// `open` and `due.<day>` counted by the case rule.
pub const PREFIX: &str = "reportby.";

/// Every per-facet cell of a day starts with this, then the party's id, a dot, the facet's
/// name and a dot; what follows is named as under `report_days::PREFIX`.
pub const DAY_PREFIX: &str = "reportbyday.";

/// Every per-facet cell of a month starts with this, then as under [`DAY_PREFIX`]; what
/// follows is named as under `report_days::MONTH_PREFIX`.
pub const MONTH_PREFIX: &str = "reportbymonth.";

/// The start of `org`'s cells of `facet`.
fn prefix(org: &OrgId, facet: &Facet) -> String {
    format!("{PREFIX}{org}.{}.", facet.name())
}

/// `org`'s cells of `facet` per day and per month.
fn units(org: &OrgId, facet: &Facet) -> report_days::Units {
    let name = facet.name();
    report_days::Units::under(
        &format!("{DAY_PREFIX}{org}.{name}."),
        &format!("{MONTH_PREFIX}{org}.{name}."),
    )
}

/// The name of `org`'s list of its reports that have `facet`, newest escalation first.
pub fn list(org: &OrgId, facet: &Facet) -> Vec<u8> {
    [
        b"b".as_slice(),
        org.as_bytes(),
        facet.name().as_bytes(),
        &[0],
    ]
    .concat()
}

/// A report's entries in its party's per-facet lists.
pub(super) fn entries(r: &StatusReport) -> Vec<(Vec<u8>, ListKey)> {
    let (_, key) = reports::newest_entry(r);
    Facet::of(r)
        .iter()
        .map(|f| (list(&r.supplier, f), key))
        .collect()
}

/// What one case a brand knows from its reports (`group`, in id order) adds to its parties'
/// per-facet cells, and to their cells of two or three facets together (`report_pairs`).
pub(super) fn of_case(group: &[StatusReport], c: &mut Cells) {
    let closed = chain::closed(group);
    for (r, owed) in group.iter().zip(chain::owed_in(group)) {
        let due = owed.iter().map(|(_, due)| *due).min();
        let facets = Facet::of(r);
        for f in &facets {
            report_days::add_report(c, &units(&r.supplier, f), r, closed, &owed);
            add_at(c, &prefix(&r.supplier, f), r, closed, due);
        }
        super::report_pairs::add_report(c, r, &facets, closed, due);
    }
}

/// Adds one report to the cells under `at` that count over all time: its figures, the month
/// it was escalated, whether its case (`closed` or not) is open, and the day of the
/// earliest date it owes something by (`due`).
pub(super) fn add_at(
    c: &mut Cells,
    at: &str,
    r: &StatusReport,
    closed: bool,
    due: Option<Timestamp>,
) {
    reports::add_figures(c, at, r);
    add(c, format!("{at}month.{}", super::month(r.escalated_at)), 1);
    if !closed {
        add(c, format!("{at}open"), 1);
    }
    if let Some(due) = due {
        let day = report_days::day_of(due);
        add(c, format!("{at}due.{day:015}"), 1);
    }
}

/// `org`'s figures over its reports that have `facet`, and how many of them owe something
/// due before `now`: its cells of the facet, and the entries of its due-date list dated
/// today before `now` (each case read).
pub fn figures(
    store: &Store,
    org: &OrgId,
    facet: &Facet,
    now: Timestamp,
) -> Result<Passing, StoreError> {
    let has = |r: &StatusReport| facet.held_by(r);
    figures_at(store, org, &prefix(org, facet), now, has)
}

/// `org`'s figures over the reports counted in its cells under `at` (as [`add_at`] counts
/// them), those `has` takes, and how many of them owe something due before `now`.
pub(super) fn figures_at(
    store: &Store,
    org: &OrgId,
    at: &str,
    now: Timestamp,
    has: impl Fn(&StatusReport) -> bool,
) -> Result<Passing, StoreError> {
    passing(store, org, super::with_prefix(store, at)?, now, has)
}

/// `org`'s figures over the reports `cells` count (named as [`add_at`] names them after its
/// prefix), those `has` takes, and how many of them owe something due before `now`.
pub(super) fn passing(
    store: &Store,
    org: &OrgId,
    cells: BTreeMap<String, i64>,
    now: Timestamp,
    has: impl Fn(&StatusReport) -> bool,
) -> Result<Passing, StoreError> {
    let today = report_days::day_of(now);
    let mut named: BTreeMap<String, i64> = BTreeMap::new();
    let (mut overdue, mut of_today): (u64, u64) = (0, 0);
    for (name, n) in cells {
        let count = u64::try_from(n).unwrap_or(0);
        match name.strip_prefix("due.").map(str::parse::<u64>) {
            Some(Ok(day)) if day < today => overdue += count,
            Some(Ok(day)) if day == today => of_today += count,
            Some(_) => {}
            None => _ = named.insert(name, n),
        }
    }
    overdue += report_days::due_today(store, org, now, of_today, has)?;
    Ok(Passing {
        figures: ReportFigures::of_cells(&named),
        overdue,
    })
}

/// How many of `org`'s reports have `facet`, from its cells of it.
pub fn reports_with(store: &Store, org: &OrgId, facet: &Facet) -> Result<u64, StoreError> {
    let cell = format!("{}cases", prefix(org, facet));
    Ok(u64::try_from(super::get(store, &cell)?).unwrap_or(0))
}

/// `org`'s figures over its reports that have `facet` escalated on `days` (UTC days since
/// 1970), and how many of them owe something due before `now`: its cells of the facet of
/// the whole months among the days and of the days at either end, as
/// `report_days::escalated_on` reads its cells of every report.
pub fn escalated_on(
    store: &Store,
    org: &OrgId,
    facet: &Facet,
    days: RangeInclusive<u64>,
    now: Timestamp,
) -> Result<Passing, StoreError> {
    let has = |r: &StatusReport| facet.held_by(r);
    report_days::within(store, org, &units(org, facet), days, now, has)
}
