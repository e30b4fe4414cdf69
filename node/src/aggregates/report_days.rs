//! At a brand, per supplier or agency and per day its reports' cases were escalated to it
//! (UTC), what its scorecard counts: the figures each report counts whatever else its case
//! holds (`reports::add_figures`), and, by the rule the case list reads (`chain::owed_in`:
//! a closed case owes nothing whatever an older report says), the reports of cases not
//! closed and the day of the earliest date each owes something by. Kept per case, with the
//! other aggregates, so that a scorecard of some days reads a few cells per day instead of
//! every report escalated in them.

use super::chain;
use super::reports::{self, DAY, ReportFigures};
use super::{Cells, add};
use crate::records::StatusReport;
use crate::schema;
use crate::store::{Store, StoreError};
use ilm_protocol::{OrgId, Timestamp};
use std::collections::BTreeMap;
use std::ops::RangeInclusive;

/// Every per-day cell starts with this, then the party's id, a dot, the day (days since
/// 1970, six digits) and a dot.
pub const PREFIX: &str = "reportday.";

/// The start of `org`'s cells.
fn prefix(org: &OrgId) -> String {
    format!("{PREFIX}{org}.")
}

/// The start of `org`'s cells of `day`.
fn day_prefix(org: &OrgId, day: u64) -> String {
    format!("{}{day:06}.", prefix(org))
}

/// The day a time falls on (UTC, days since 1970).
pub fn day_of(t: Timestamp) -> u64 {
    t.0 / DAY
}

/// What one case a brand knows from its reports (`group`, in id order) adds to its parties'
/// per-day cells, each report under the day it was escalated.
pub(super) fn of_case(group: &[StatusReport], c: &mut Cells) {
    let closed = chain::closed(group);
    for r in group {
        let at = day_prefix(&r.supplier, day_of(r.escalated_at));
        reports::add_figures(c, &at, r);
        if !closed {
            add(c, format!("{at}open"), 1);
        }
    }
    for (r, due) in chain::owing(group) {
        let at = day_prefix(&r.supplier, day_of(r.escalated_at));
        add(c, format!("{at}due.{:06}", day_of(due)), 1);
    }
}

/// What a scorecard counts of one organisation's reports escalated on some days.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Escalated {
    /// Its figures, `open` by the case rule, months from the days.
    pub figures: ReportFigures,
    /// Of its reports, those owing something due before the time asked at.
    pub overdue: u64,
}

/// `org`'s figures over its reports escalated on `days` (UTC days since 1970), and how many
/// of them owe something due before `now`: the cells of those days, and the entries of its
/// due-date list dated today before `now` (each case read, to know when it was escalated).
pub fn escalated_on(
    store: &Store,
    org: &OrgId,
    days: RangeInclusive<u64>,
    now: Timestamp,
) -> Result<Escalated, StoreError> {
    let at = prefix(org);
    // A day's cells end before `<day>/`: the dot that follows the day sorts before it.
    let lower = format!("{at}{:06}.", days.start());
    let upper = format!("{at}{:06}/", days.end());
    let today = day_of(now);
    let mut named: BTreeMap<String, i64> = BTreeMap::new();
    let mut months: BTreeMap<String, u64> = BTreeMap::new();
    let mut overdue: u64 = 0;
    for (id, n) in store.entries_between(&schema::AGGREGATES, lower.as_bytes(), upper.as_bytes())? {
        let id = String::from_utf8_lossy(&id);
        let Some((day, name)) = id.strip_prefix(&at).and_then(|r| r.split_once('.')) else {
            continue;
        };
        let Ok(day) = day.parse::<u64>() else {
            continue;
        };
        let count = u64::try_from(n).unwrap_or(0);
        match name.strip_prefix("due.").map(str::parse::<u64>) {
            Some(Ok(due)) if due < today => overdue += count,
            Some(_) => {}
            None => {
                if name == "cases" {
                    let month = super::month(Timestamp(day.saturating_mul(DAY)));
                    *months.entry(month).or_default() += count;
                }
                *named.entry(name.to_string()).or_default() += n;
            }
        }
    }
    let mut figures = ReportFigures::of_cells(&named);
    figures.months = months;
    overdue += due_today(store, org, &days, now)?;
    Ok(Escalated { figures, overdue })
}

/// `org`'s reports escalated on `days` whose earliest date owed falls today before `now`
/// (a day's cells cannot tell before from after `now`): its due-date list's entries of
/// today before `now`, each case read once.
fn due_today(
    store: &Store,
    org: &OrgId,
    days: &RangeInclusive<u64>,
    now: Timestamp,
) -> Result<u64, StoreError> {
    let start = Timestamp(day_of(now) * DAY);
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
        let group = reports::reports_of(store, &case)?;
        n += chain::owing(&group)
            .into_iter()
            .filter(|(r, due)| {
                r.supplier == *org
                    && *due >= start
                    && *due < now
                    && days.contains(&day_of(r.escalated_at))
            })
            .count() as u64;
    }
    Ok(n)
}
