//! At a brand, per supplier or agency and per day each report about it was escalated (UTC),
//! and again per month, what its scorecard counts: the figures each report counts whatever
//! else its case holds (`reports::add_figures`), and, by the rule the case list reads
//! (`chain::owed_in`: a closed case owes nothing whatever an older report says), the reports
//! of cases not closed and the day of the earliest date each owes something by. Kept per
//! case, with the other aggregates, so that a scorecard of some days reads the cells of the
//! whole months among them and of the days left at either end, instead of every report
//! escalated in them.

use super::chain;
use super::reports::{self, DAY, ReportFigures};
use super::{Cells, add};
use crate::records::StatusReport;
use crate::store::{Store, StoreError};
use ilm_protocol::{Month, OrgId, Timestamp};
use std::collections::BTreeMap;
use std::ops::RangeInclusive;

/// Every per-day cell starts with this, then the party's id, a dot, the day (days since
/// 1970, fifteen digits: as many as any time's day has, so that days sort as their names)
/// and a dot. What follows is named as under `reports::prefix`, with `open` and
/// `due.<day>` (the day of the earliest date owed) counted by the case rule.
pub const PREFIX: &str = "reportday.";

/// Every per-month cell starts with this, then the party's id, a dot, the month (`YYYY-MM`)
/// and a dot.
pub const MONTH_PREFIX: &str = "reportmonth.";

/// The day a time falls on (UTC, days since 1970).
pub fn day_of(t: Timestamp) -> u64 {
    t.0 / DAY
}

/// The first second of a day.
pub fn start_of(day: u64) -> Timestamp {
    Timestamp(day.saturating_mul(DAY))
}

/// Where one set of cells per day and per month is kept: an organisation's (its names under
/// [`PREFIX`] and [`MONTH_PREFIX`]), or its cells of one facet (`report_facets::units`).
/// Each name ends with a dot; a day's or month's cells follow it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Units {
    days: String,
    months: String,
}

impl Units {
    /// `org`'s cells per day and per month.
    pub fn of(org: &OrgId) -> Units {
        Units::under(&format!("{PREFIX}{org}."), &format!("{MONTH_PREFIX}{org}."))
    }

    /// The cells whose day's and month's names follow `days` and `months` (each ending with
    /// a dot, neither the start of another set's names).
    pub(super) fn under(days: &str, months: &str) -> Units {
        Units {
            days: days.to_string(),
            months: months.to_string(),
        }
    }

    /// The start of the cells of `day`.
    fn day(&self, day: u64) -> String {
        format!("{}{day:015}.", self.days)
    }

    /// The start of the cells of `month`.
    fn month(&self, month: Month) -> String {
        format!("{}{month}.", self.months)
    }
}

/// The month a time falls in, when it has one (`Month` ends with 9999: a later time is
/// counted per day only).
fn month_of(t: Timestamp) -> Option<Month> {
    let m = Month::of(t);
    (m.start() <= t && t < m.end()).then_some(m)
}

/// What one case a brand knows from its reports (`group`, in id order) adds to its parties'
/// cells per day and per month, each report under the day it was escalated.
pub(super) fn of_case(group: &[StatusReport], c: &mut Cells) {
    let closed = chain::closed(group);
    for (r, owed) in group.iter().zip(chain::owed_in(group)) {
        add_report(c, &Units::of(&r.supplier), r, closed, &owed);
    }
}

/// Adds one report to `units`' cells of the day and the month it was escalated: its
/// figures, whether its case (`closed` or not) is open, and the day of the earliest of the
/// dates it owes something by (`owed`, as `chain::owed_in` gives them).
pub(super) fn add_report(
    c: &mut Cells,
    units: &Units,
    r: &StatusReport,
    closed: bool,
    owed: &[(ilm_protocol::Owed, Timestamp)],
) {
    let mut under = vec![units.day(day_of(r.escalated_at))];
    under.extend(month_of(r.escalated_at).map(|m| units.month(m)));
    let due = owed.iter().map(|(_, due)| day_of(*due)).min();
    for at in &under {
        reports::add_figures(c, at, r);
        if !closed {
            add(c, format!("{at}open"), 1);
        }
        if let Some(due) = due {
            add(c, format!("{at}due.{due:015}"), 1);
        }
    }
}

/// What a scorecard counts of one organisation's reports that pass a narrowing (escalated
/// on some days, or having one facet: `report_facets`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Passing {
    /// Its figures, `open` by the case rule.
    pub figures: ReportFigures,
    /// Of its reports, those owing something due before the time asked at.
    pub overdue: u64,
}

/// The sums of the cells read so far.
#[derive(Default)]
struct Sums {
    named: BTreeMap<String, i64>,
    months: BTreeMap<String, u64>,
    /// Reports owing something due before today.
    overdue: u64,
    /// Reports whose earliest date owed is today.
    due_today: u64,
}

impl Sums {
    /// Adds a cell named `name` (after its day's or month's prefix), counting `n`, where
    /// today is `today`; `month` names the month it counts in.
    fn add(&mut self, month: impl FnOnce() -> String, name: &str, n: i64, today: u64) {
        let count = u64::try_from(n).unwrap_or(0);
        match name.strip_prefix("due.").map(str::parse::<u64>) {
            Some(Ok(due)) if due < today => self.overdue += count,
            Some(Ok(due)) if due == today => self.due_today += count,
            Some(_) => {}
            None => {
                if name == "cases" {
                    *self.months.entry(month()).or_default() += count;
                }
                match self.named.get_mut(name) {
                    Some(sum) => *sum += n,
                    None => _ = self.named.insert(name.to_string(), n),
                }
            }
        }
    }

    /// Adds the cells under `at` (one organisation's day or month cells) of the units named
    /// `first` to `last` (names that sort as the units do), those whose unit `keeps` takes;
    /// `month` names the month of a unit.
    fn read(
        &mut self,
        store: &Store,
        at: &str,
        (first, last): (String, String),
        keeps: impl Fn(&str) -> bool,
        month: impl Fn(&str) -> String,
        today: u64,
    ) -> Result<(), StoreError> {
        // A unit's cells end before `<unit>/`: the dot that follows it sorts before that.
        let (lower, upper) = (format!("{at}{first}."), format!("{at}{last}/"));
        for (id, cells) in super::units::between(store, &lower, &upper)? {
            let Some(unit) = id.strip_prefix(at).and_then(|r| r.strip_suffix('.')) else {
                continue;
            };
            if keeps(unit) {
                for (name, n) in cells {
                    self.add(|| month(unit), &name, n, today);
                }
            }
        }
        Ok(())
    }

    /// Adds the cells of `units` of the days `first` to `last`.
    fn days(
        &mut self,
        store: &Store,
        units: &Units,
        (first, last): (u64, u64),
        today: u64,
    ) -> Result<(), StoreError> {
        let day = |unit: &str| unit.parse::<u64>().ok();
        self.read(
            store,
            &units.days,
            (format!("{first:015}"), format!("{last:015}")),
            |unit| day(unit).is_some_and(|d| (first..=last).contains(&d)),
            |unit| super::month(start_of(day(unit).unwrap_or(0))),
            today,
        )
    }

    /// Adds the cells of `units` of the months `first` to `last`.
    fn months(
        &mut self,
        store: &Store,
        units: &Units,
        (first, last): (Month, Month),
        today: u64,
    ) -> Result<(), StoreError> {
        self.read(
            store,
            &units.months,
            (first.to_string(), last.to_string()),
            |unit| {
                unit.parse::<Month>()
                    .is_ok_and(|m| (first..=last).contains(&m))
            },
            str::to_string,
            today,
        )
    }
}

/// `org`'s figures over its reports escalated on `days` (UTC days since 1970), and how many
/// of them owe something due before `now`: the cells of the whole months among the days and
/// of the days left at either end, and the entries of its due-date list dated today before
/// `now` (each case read, to know when it was escalated).
pub fn escalated_on(
    store: &Store,
    org: &OrgId,
    days: RangeInclusive<u64>,
    now: Timestamp,
) -> Result<Passing, StoreError> {
    within(store, org, &Units::of(org), days, now, |_| true)
}

/// As [`escalated_on`], over `units` (`org`'s cells, or its cells of one facet), whose
/// reports are those of `org`'s that `belongs` takes.
pub(super) fn within(
    store: &Store,
    org: &OrgId,
    units: &Units,
    days: RangeInclusive<u64>,
    now: Timestamp,
    belongs: impl Fn(&StatusReport) -> bool,
) -> Result<Passing, StoreError> {
    let today = day_of(now);
    let mut sums = Sums::default();
    let (first, last) = (*days.start(), *days.end());
    match whole_months(first, last) {
        None => sums.days(store, units, (first, last), today)?,
        Some((from, to)) => {
            let (from_day, after_day) = (day_of(from.start()), day_of(to.end()));
            if first < from_day {
                sums.days(store, units, (first, from_day - 1), today)?;
            }
            sums.months(store, units, (from, to), today)?;
            if after_day <= last {
                sums.days(store, units, (after_day, last), today)?;
            }
        }
    }
    let mut figures = ReportFigures::of_cells(&sums.named);
    figures.months = sums.months;
    let kept = |r: &StatusReport| days.contains(&day_of(r.escalated_at)) && belongs(r);
    let overdue = sums.overdue + due_today(store, org, now, sums.due_today, kept)?;
    Ok(Passing { figures, overdue })
}

/// The first and last whole months between two days (both in), if any.
fn whole_months(first: u64, last: u64) -> Option<(Month, Month)> {
    // A first day after 9999 has no month at all.
    let mut from = month_of(start_of(first))?;
    if day_of(from.start()) < first {
        from = from.next()?;
    }
    let to = match month_of(start_of(last)) {
        Some(m) if day_of(m.end()) == last + 1 => m,
        Some(m) => m.previous()?,
        // After 9999: every month there is ends before it.
        None => Month::new(9999, 12).ok()?,
    };
    (from <= to).then_some((from, to))
}

/// `org`'s reports that `keeps` takes whose earliest date owed falls today before `now` (a
/// cell of the day cannot tell before from after `now`), of the `of_today` such reports
/// whose earliest date owed is today (at any time): its due-date list's entries of today
/// before `now`, each case read once, until that many are found.
pub(super) fn due_today(
    store: &Store,
    org: &OrgId,
    now: Timestamp,
    of_today: u64,
    keeps: impl Fn(&StatusReport) -> bool,
) -> Result<u64, StoreError> {
    if of_today == 0 {
        return Ok(0);
    }
    let start = start_of(day_of(now));
    let ids = reports::LISTS.ids_between(
        store,
        &reports::due_list(org),
        &start.0.to_be_bytes(),
        &now.0.to_be_bytes(),
    )?;
    let mut cases: Vec<_> = ids
        .iter()
        .filter_map(|id| super::lists::key_of::<{ reports::KEY_LEN }>(id))
        .map(|k| reports::case_of(&k))
        .collect();
    cases.sort_unstable();
    cases.dedup();
    let mut n = 0;
    for case in cases {
        if n == of_today {
            break;
        }
        let group = reports::reports_of(store, &case)?;
        n += chain::owing(&group)
            .into_iter()
            .filter(|(r, due)| r.supplier == *org && *due >= start && *due < now && keeps(r))
            .count() as u64;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> u64 {
        let t = humantime::parse_rfc3339(&format!("{s}T00:00:00Z")).expect("day");
        t.duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs()
            / DAY
    }

    fn months(first: &str, last: &str) -> Option<(String, String)> {
        whole_months(day(first), day(last)).map(|(a, b)| (a.to_string(), b.to_string()))
    }

    /// The whole months between two days: those starting on or after the first and ending
    /// on or before the last, none when no month fits, up to 9999-12 when the days run on.
    #[test]
    fn whole_months_are_those_the_days_cover_from_start_to_end() {
        let m = |a: &str, b: &str| Some((a.to_string(), b.to_string()));
        assert_eq!(months("2026-01-01", "2026-01-31"), m("2026-01", "2026-01"));
        assert_eq!(months("2026-01-01", "2026-01-30"), None);
        assert_eq!(months("2026-01-02", "2026-02-28"), m("2026-02", "2026-02"));
        assert_eq!(months("2026-01-02", "2026-02-27"), None);
        assert_eq!(months("2025-12-29", "2026-03-03"), m("2026-01", "2026-02"));
        assert_eq!(months("2024-02-01", "2024-02-29"), m("2024-02", "2024-02"));
        assert_eq!(months("2024-02-01", "2024-02-28"), None);
        assert_eq!(months("2026-12-01", "2027-01-31"), m("2026-12", "2027-01"));
        assert_eq!(
            whole_months(0, u64::MAX / DAY).map(|(a, b)| (a.to_string(), b.to_string())),
            m("1970-01", "9999-12")
        );
        assert_eq!(
            whole_months(day("2026-01-15"), u64::MAX / DAY).map(|(a, _)| a.to_string()),
            Some("2026-02".to_string())
        );
        // Nothing whole: inside 1970-01, from a day after 9999, from within 9999-12.
        assert_eq!(months("1970-01-01", "1970-01-30"), None);
        assert_eq!(months("1970-01-02", "1970-01-31"), None);
        assert_eq!(whole_months(day("9999-12-31") + 1, u64::MAX / DAY), None);
        assert_eq!(whole_months(day("9999-12-02"), u64::MAX / DAY), None);
        assert_eq!(months("9999-12-01", "9999-12-31"), m("9999-12", "9999-12"));
    }
}
