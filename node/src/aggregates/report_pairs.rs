//! At a brand, per supplier or agency and per two or three facets of different kinds its
//! reports have together (a category and a sector, a category and a corridor, a sector and
//! a corridor, or all three), what its scorecard counts of the reports that have them all,
//! over all time: so that a scorecard narrowed by two or three facets reads one record per
//! organisation, instead of each case of the entries its lists of the facets share.
//! Narrowed by some days too, it counts the reports on the side of the days likely to hold
//! fewer of them, by the set's cells per month, from the join of the set's lists of figures
//! (`report_figures`): those escalated on the days, or those escalated on others, taken off
//! the cells (a set's cells per day would be a record per organisation, set and day: most
//! of a brand's records).
//! Counted as `report_facets` counts the cells of one facet (open and owing by the case
//! rule), kept per case with the other aggregates; an organisation's cells of one set of
//! facets are one record (`units`): a report adds to a few sets (seven with two categories,
//! a sector and a corridor), each rewritten once per batch, not a record per cell.

use super::lists::{Lists, joined};
use super::report_days::{self, Passing};
use super::report_facets::{self, Facet};
use super::report_figures;
use super::{Cells, chain, reports};
use crate::records::StatusReport;
use crate::store::{Store, StoreError};
use ilm_protocol::{Month, OrgId, Timestamp};
use std::ops::RangeInclusive;

/// Every cell of a set of facets starts with this, then the party's id, a dot, the facets'
/// names joined by `+` (which none holds) and a dot; what follows is named as under
/// `report_facets::PREFIX`.
pub const PREFIX: &str = "reportbypair.";

/// Two or three facets of different kinds, in the order a filter names them: a category,
/// then a sector, then a corridor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Together(Vec<Facet>);

/// A facet's kind, in the order a set names them.
fn kind(f: &Facet) -> u8 {
    match f {
        Facet::Category(_) => 0,
        Facet::Sector(_) => 1,
        Facet::Corridor(..) => 2,
    }
}

impl Together {
    /// The facets as a set, when they are two or three of different kinds in that order.
    pub fn new(facets: Vec<Facet>) -> Option<Together> {
        let ordered = facets.windows(2).all(|w| kind(&w[0]) < kind(&w[1]));
        (matches!(facets.len(), 2 | 3) && ordered).then_some(Together(facets))
    }

    /// The facets, in order.
    pub fn facets(&self) -> &[Facet] {
        &self.0
    }

    /// Its name in cells.
    fn name(&self) -> String {
        let names: Vec<String> = self.0.iter().map(Facet::name).collect();
        names.join("+")
    }

    /// Whether a report has each of the facets.
    pub fn held_by(&self, r: &StatusReport) -> bool {
        self.0.iter().all(|f| f.held_by(r))
    }

    /// Every set of two or three of a report's facets (`Facet::of`: each category with its
    /// sector, with its corridor, and with both; its sector with its corridor).
    fn of(facets: &[Facet]) -> Vec<Together> {
        let of_kind = |k: u8| -> Vec<Option<&Facet>> {
            std::iter::once(None)
                .chain(facets.iter().filter(|f| kind(f) == k).map(Some))
                .collect()
        };
        let (sectors, corridors) = (of_kind(1), of_kind(2));
        let mut out = Vec::new();
        for category in of_kind(0) {
            for sector in &sectors {
                for corridor in &corridors {
                    let set = [category, *sector, *corridor].into_iter().flatten();
                    out.extend(Together::new(set.cloned().collect()));
                }
            }
        }
        out
    }
}

/// The start of `org`'s cells of `set`.
fn prefix(org: &OrgId, set: &Together) -> String {
    format!("{PREFIX}{org}.{}.", set.name())
}

/// Adds one report to its party's cells of each set of its `facets` (`Facet::of`):
/// `closed` says whether its case is closed, `due` the earliest date it owes something by.
pub(super) fn add_report(
    c: &mut Cells,
    r: &StatusReport,
    facets: &[Facet],
    closed: bool,
    due: Option<Timestamp>,
) {
    for set in Together::of(facets) {
        report_facets::add_at(c, &prefix(&r.supplier, &set), r, closed, due);
    }
}

/// `org`'s figures over its reports that have every facet of `set`, and how many of them
/// owe something due before `now`: its cells of the set, and the entries of its due-date
/// list dated today before `now` (each case read).
pub fn figures(
    store: &Store,
    org: &OrgId,
    set: &Together,
    now: Timestamp,
) -> Result<Passing, StoreError> {
    report_facets::figures_at(store, org, &prefix(org, set), now, |r| set.held_by(r))
}

/// `org`'s figures over its reports that have every facet of `set` escalated on `days`
/// (UTC days since 1970), and how many of them owe something due before `now`. Its cells of
/// the set count every such report, and how many were escalated in each month: from those
/// (a month the days cover in part weighed by the share of its days they cover) the side
/// of the days likely to hold fewer of them is chosen. Its reports escalated on the days
/// are read from its lists and counted alone, or those escalated on other days are read
/// and taken off the cells ([`each_listed`]).
pub fn escalated_on(
    store: &Store,
    org: &OrgId,
    set: &Together,
    days: RangeInclusive<u64>,
    now: Timestamp,
) -> Result<Passing, StoreError> {
    let all = super::with_prefix(store, &prefix(org, set))?;
    if all.get("cases").is_none_or(|n| *n <= 0) {
        // No report has the set: its lists would be walked for nothing (the one of the
        // facet fewest reports have may still hold a great many).
        return Ok(Passing::default());
    }
    let (first, last) = (*days.start(), *days.end());
    // About how many of its reports were escalated on the days, and on others: each month's
    // shared by the share of its days on either side (days in inverse order cover none).
    let (mut within, mut without) = (0.0f64, 0.0f64);
    for (name, n) in &all {
        let Some(month) = name.strip_prefix("month.") else {
            continue;
        };
        let n = *n as f64;
        let Ok(m) = month.parse::<Month>() else {
            // Not a month of the calendar: on both sides.
            within += n;
            without += n;
            continue;
        };
        let (from, to) = (
            report_days::day_of(m.start()),
            report_days::day_of(m.end()) - 1,
        );
        let covered = (to.min(last) + 1).saturating_sub(from.max(first)) as f64;
        let share = covered / (to + 1 - from) as f64;
        within += n * share;
        without += n * (1.0 - share);
    }
    let (lower, upper) = reports::escalated_between(
        Some(report_days::start_of(first)),
        report_days::start_of(last)
            .0
            .checked_add(reports::DAY - 1)
            .map(Timestamp),
    );
    let lists = fewest(store, org, set.facets())?;
    let mut read = Cells::new();
    let cells = if within <= without {
        each_listed(store, org, set, &lists, (&lower, &upper), &mut read)?;
        read
    } else {
        let end = [0xFF; reports::KEY_LEN + 1];
        each_listed(store, org, set, &lists, (&[], &lower), &mut read)?;
        each_listed(store, org, set, &lists, (&upper, &end), &mut read)?;
        let mut cells = all;
        for (name, n) in read {
            *cells.entry(name).or_default() -= n;
        }
        // Every cell counts reports: one that falls to nothing is one a read of the reports
        // never names, and one below (a report stored between the read of the cells and
        // that of the lists, which no snapshot spans) says less than nothing: both go, and
        // the figures are short of that report until the next read. Nor does the join read
        // its lists at one instant: a report whose case changes meanwhile may be found
        // with its old entry on one list and its new one on another, and so not counted
        // (or, rarer, counted twice) by that read alone.
        cells.retain(|_, n| *n > 0);
        cells
    };
    let kept =
        |r: &StatusReport| days.contains(&report_days::day_of(r.escalated_at)) && set.held_by(r);
    report_facets::passing(store, org, cells, now, kept)
}

/// Adds to `into`, named as [`report_facets::add_at`] names cells after their prefix, what
/// `org`'s reports that have every facet of `set` count whose entries in its newest-first
/// lists fall from `lower` (in) to `upper` (out): the entries of its lists of figures
/// (`report_figures`, named as its lists of the facets: `list`, the facet's fewest of its
/// reports have, [`fewest`], and `others`) that every one of them holds, joined, each
/// counted from its figures, or from its case when they are not packed (an entry on each
/// list may then be two CSOs' reports escalated at once, each with some of the facets: only
/// a report with all of them counts). Returns how many cases it read.
pub(super) fn each_listed(
    store: &Store,
    org: &OrgId,
    set: &Together,
    (list, others): &(Vec<u8>, Vec<Vec<u8>>),
    (lower, upper): (&[u8], &[u8]),
    into: &mut Cells,
) -> Result<usize, StoreError> {
    let mut counted = report_figures::Counted::default();
    let mut cases = 0;
    let lists = &report_figures::LISTS;
    join(
        store,
        lists,
        (list, others.as_slice()),
        (lower, upper),
        |entry| {
            if counted.add(entry) {
                return Ok(true);
            }
            cases += 1;
            let key = &report_figures::key(entry);
            // Two CSOs' reports about it in one case are one entry when escalated at once.
            let (at, case) = (reports::escalated_of(key), reports::case_of(key));
            let group = reports::reports_of(store, &case)?;
            let closed = chain::closed(&group);
            for (r, owed) in group.iter().zip(chain::owed_in(&group)) {
                if r.supplier == *org && r.escalated_at == at && set.held_by(r) {
                    let due = owed.iter().map(|(_, due)| *due).min();
                    report_facets::add_at(into, "", r, closed, due);
                }
            }
            Ok(true)
        },
    )?;
    counted.add_to(into);
    Ok(cases)
}

/// Calls `f` with each key of `list` from `lower` (in) to `upper` (out), in order, that each
/// of `others` holds too (a report with every facet of a set has the same key on each list
/// of them, so one another lacks names none and its case is not read), until `f` says to
/// stop: the lists joined (`lists::joined`), each read from where the next key all of them
/// could share is.
pub(crate) fn each_key_on_all(
    store: &Store,
    (list, others): (&[u8], &[Vec<u8>]),
    (lower, upper): (&[u8], &[u8]),
    f: impl FnMut(&reports::ListKey) -> Result<bool, StoreError>,
) -> Result<(), StoreError> {
    join(store, &reports::LISTS, (list, others), (lower, upper), f)
}

/// [`each_key_on_all`] over the lists of that name in `lists` (a report's key, or its
/// entry of figures, which is the same on each of its lists).
fn join<const N: usize>(
    store: &Store,
    lists: &'static Lists<N>,
    (list, others): (&[u8], &[Vec<u8>]),
    (lower, upper): (&[u8], &[u8]),
    f: impl FnMut(&[u8; N]) -> Result<bool, StoreError>,
) -> Result<(), StoreError> {
    let names: Vec<&[u8]> = std::iter::once(list)
        .chain(others.iter().map(Vec::as_slice))
        .collect();
    joined::each_key_on_all(store, lists, &names, (lower, upper), f)?;
    Ok(())
}

/// `org`'s list of the one of `facets` (two or three) fewest of its reports have, by its
/// cells (the one with the fewest entries to walk past), and its lists of the others.
pub(crate) fn fewest(
    store: &Store,
    org: &OrgId,
    facets: &[Facet],
) -> Result<(Vec<u8>, Vec<Vec<u8>>), StoreError> {
    let mut counted = Vec::with_capacity(facets.len());
    for f in facets {
        counted.push((report_facets::reports_with(store, org, f)?, f));
    }
    // The first of the fewest.
    let Some(at) = (0..counted.len()).min_by_key(|i| counted[*i].0) else {
        // A set always names some. Its newest-first list would do as well for its keys
        // (`scorecard::cells`), walked further; no list of figures is named so, and a join
        // of those would count nothing.
        return Ok((reports::newest_list(org), Vec::new()));
    };
    let (_, walked) = counted.remove(at);
    let others = counted
        .into_iter()
        .map(|(_, f)| report_facets::list(org, f))
        .collect();
    Ok((report_facets::list(org, walked), others))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ilm_protocol::IssueCategory;

    /// A set is two or three facets of different kinds in a filter's order; a report with
    /// two categories, a sector and a corridor has seven sets, each category's its own.
    #[test]
    fn sets_are_two_or_three_kinds_in_order() {
        let category = |n: usize| Facet::Category(IssueCategory::ALL[n]);
        let sector = Facet::Sector("seafood".into());
        let corridor = Facet::Corridor("MM".parse().expect("c"), "TH".parse().expect("c"));
        assert!(Together::new(vec![category(0), sector.clone()]).is_some());
        assert!(Together::new(vec![category(0), sector.clone(), corridor.clone()]).is_some());
        assert!(Together::new(vec![sector.clone(), category(0)]).is_none());
        assert!(Together::new(vec![category(0), category(1)]).is_none());
        assert!(Together::new(vec![sector.clone()]).is_none());
        assert!(Together::new(Vec::new()).is_none());

        let r = StatusReport {
            case_ref: ilm_protocol::CaseRef([1; 16]),
            case_nonce: ilm_protocol::CaseNonce([2; 16]),
            cso: OrgId([2; 32]),
            supplier: OrgId([3; 32]),
            status: ilm_protocol::CaseStatus::Escalated,
            stage: ilm_protocol::PartyStage::Escalated,
            categories: vec![
                IssueCategory::ALL[0],
                IssueCategory::ALL[1],
                IssueCategory::ALL[0],
            ],
            workers_affected: 3,
            escalated_at: Timestamp(1_800_000_000),
            acknowledge_by: Timestamp(1_800_600_000),
            remediate_by: Timestamp(1_802_000_000),
            acknowledged_at: None,
            remediated_at: None,
            verified_at: None,
            reported_at: Timestamp(1_800_000_000),
            sector: Some("seafood".into()),
            corridor: Some(("MM".parse().expect("c"), "TH".parse().expect("c"))),
        };
        let sets = Together::of(&Facet::of(&r));
        assert_eq!(sets.len(), 7, "{sets:?}");
        assert!(sets.iter().all(|s| s.held_by(&r)));
        let names: Vec<String> = sets.iter().map(Together::name).collect();
        let both = format!("sector:seafood+{}", corridor.name());
        assert!(names.contains(&both), "{names:?}");
        let all = format!("{}+sector:seafood+{}", category(1).name(), corridor.name());
        assert!(names.contains(&all), "{names:?}");
        // Without a sector (or with one no filter takes): its categories with its corridor.
        let mut odd = r.clone();
        odd.sector = Some("seafood.x".into());
        assert_eq!(Together::of(&Facet::of(&odd)).len(), 2);
        assert!(
            !Together::new(vec![category(0), sector])
                .expect("set")
                .held_by(&odd)
        );
    }
}
