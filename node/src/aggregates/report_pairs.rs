//! At a brand, per supplier or agency and per two or three facets of different kinds its
//! reports have together (a category and a sector, a category and a corridor, a sector and
//! a corridor, or all three), what its scorecard counts of the reports that have them all,
//! over all time: so that a scorecard narrowed by two or three facets reads one record per
//! organisation, instead of each case of the entries its lists of the facets share.
//! Counted as `report_facets` counts the cells of one facet (open and owing by the case
//! rule), kept per case with the other aggregates; an organisation's cells of one set of
//! facets are one record (`units`): a report adds to a few sets (seven with two categories,
//! a sector and a corridor), each rewritten once per batch, not a record per cell.

use super::Cells;
use super::report_days::Passing;
use super::report_facets::{self, Facet};
use crate::records::StatusReport;
use crate::store::{Store, StoreError};
use ilm_protocol::{OrgId, Timestamp};

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
        let of = Facet::of(r);
        self.0.iter().all(|f| of.contains(f))
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
