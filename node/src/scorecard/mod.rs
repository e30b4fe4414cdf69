//! A brand's scorecard of each linked supplier (and each agency they recruit through), from
//! what the brand legitimately holds: the status reports the CSOs send it and the
//! attestations it verified. Every page, export and API answer calls [`compare`], so they
//! never disagree; it reads the aggregate cells kept with the reports; narrowed only by
//! days, by one category, sector or corridor, or by two or three of those, with or without
//! days, each organisation's cells of those (`cells`; with two or three facets and days,
//! the reports of the side of the days likely to hold fewer of them read too); narrowed
//! otherwise (days that are not whole, which no parsed filter gives: tests and benches
//! read that way), the reports that pass, counted by the same definitions:
//! those of each organisation's shortest list the filter names (of its days, of its
//! category, sector or corridor between its days), when that reads fewer, else every report
//! (`kept`).

use crate::aggregates::report_facets::Facet;
use crate::aggregates::reports::{self, ReportFigures};
use crate::aggregates::{chain, median_days};
use crate::membership::MembershipState;
use crate::records::StatusReport;
use crate::store::{Store, StoreError};
use crate::views::{self, AttestationView, ChainParty};
use crate::worklist::{QueryError, day};
use ilm_protocol::{Country, IssueCategory, Money, OrgId, RemediationAttestation, Timestamp};
use serde::Serialize;

mod cells;
mod kept;

use kept::Kept;
pub use kept::Reading;
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// One linked supplier's figures, or those of an agency it recruits through.
#[derive(Debug, Clone, Serialize)]
pub struct Scorecard {
    /// The supplier or agency.
    pub supplier: OrgId,
    /// Which of the two.
    pub role: ilm_protocol::Role,
    /// Its name in the member directory, if known.
    pub name: Option<String>,
    /// Cases the brand holds a status report of.
    pub cases: u64,
    /// Not closed, as the case's newest report says (about any party: the case list's
    /// reading, which its link opens).
    pub open: u64,
    /// With something overdue now.
    pub overdue: u64,
    /// Median days from escalation to acknowledgement (acknowledged cases; whole days, as
    /// the CSO's figures count them).
    pub median_days_to_acknowledge: Option<f64>,
    /// Median days from escalation to reported remediation (remediated cases; whole days).
    pub median_days_to_remediate: Option<f64>,
    /// Cases whose remediation was reported.
    pub remediated: u64,
    /// Of those, the ones the workers' verdict was recorded for, in percent.
    pub share_verified: Option<u64>,
    /// Attestations co-signed and verified.
    pub attestations_verified: u64,
    /// Amounts repaid to workers as those attestations state them: one total per currency,
    /// in currency order.
    pub amounts_repaid: Vec<Money>,
    /// Cases by issue category code.
    pub categories: BTreeMap<String, u64>,
    /// Cases by month escalated (`YYYY-MM`).
    pub by_month: BTreeMap<String, u64>,
}

/// One total per currency, in currency order.
fn totals<'a>(amounts: impl Iterator<Item = &'a Money>) -> Vec<Money> {
    let mut by_currency: BTreeMap<String, (Money, u64)> = BTreeMap::new();
    for m in amounts {
        let entry = by_currency
            .entry(m.currency.to_string())
            .or_insert_with(|| (m.clone(), 0));
        entry.1 = entry.1.saturating_add(m.minor_units);
    }
    by_currency
        .into_values()
        .map(|(mut m, total)| {
            m.minor_units = total;
            m
        })
        .collect()
}

/// Whose scorecard it is.
struct Whose<'a> {
    supplier: OrgId,
    role: ilm_protocol::Role,
    name: Option<&'a String>,
}

/// A scorecard from the figures of the reports it covers, how many of those are overdue,
/// and the attestations it covers.
fn card(
    whose: Whose<'_>,
    f: &ReportFigures,
    overdue: u64,
    attestations: &[&AttestationView],
) -> Scorecard {
    // Only what a co-signed attestation that verifies states counts as repaid.
    let verified_attestations: Vec<&RemediationAttestation> = attestations
        .iter()
        .filter(|a| a.complete && a.signature_verified)
        .filter_map(|a| a.attestation.as_ref())
        .collect();
    Scorecard {
        supplier: whose.supplier,
        role: whose.role,
        name: whose.name.cloned(),
        cases: f.cases,
        open: f.open,
        overdue,
        median_days_to_acknowledge: median_days(&f.ack_days),
        median_days_to_remediate: median_days(&f.remediate_days),
        remediated: f.remediated,
        share_verified: (f.verified * 100).checked_div(f.remediated),
        attestations_verified: verified_attestations.len() as u64,
        amounts_repaid: totals(
            verified_attestations
                .iter()
                .flat_map(|a| a.amounts_repaid.iter()),
        ),
        categories: f.categories.clone(),
        by_month: f.months.clone(),
    }
}

/// What a brand analyst narrows the picture to: cases escalated in a date range, with an
/// issue category, in a sector, on a corridor. Every field is optional; as a query: `from`,
/// `to` (YYYY-MM-DD), `category`, `sector`, `corridor` (`MM-TH`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, Serialize)]
#[serde(default)]
pub struct Filter {
    /// Escalated on or after this day.
    pub from: String,
    /// Escalated on or before this day.
    pub to: String,
    /// An issue category code.
    pub category: String,
    /// A sector code.
    pub sector: String,
    /// A corridor: origin and destination country codes joined by a dash.
    pub corridor: String,
}

/// A filter checked and parsed.
#[derive(Debug, Clone, Default)]
pub struct Narrowing {
    from: Option<Timestamp>,
    to: Option<Timestamp>,
    category: Option<IssueCategory>,
    sector: Option<String>,
    corridor: Option<(Country, Country)>,
}

impl Filter {
    /// Parses the filter, with a clear error for a bad day, category, sector or corridor.
    pub fn parse(&self) -> Result<Narrowing, QueryError> {
        let category = match self.category.trim() {
            "" => None,
            c => Some(c.parse::<IssueCategory>().map_err(|_| {
                let codes: Vec<&str> = IssueCategory::ALL.iter().map(|c| c.code()).collect();
                QueryError::BadCategory(codes.join(", "))
            })?),
        };
        let sector = crate::worklist::sector(&self.sector)?;
        let corridor = crate::worklist::corridor(&self.corridor)?;
        Ok(Narrowing {
            from: day(&self.from, "from", false)?,
            to: day(&self.to, "to", true)?,
            category,
            sector,
            corridor,
        })
    }
}

impl Narrowing {
    /// Whether it keeps every report.
    pub fn is_empty(&self) -> bool {
        self.from.is_none()
            && self.to.is_none()
            && self.category.is_none()
            && self.sector.is_none()
            && self.corridor.is_none()
    }

    /// The category, sector and corridor it names, as facets (a report that passes has
    /// each: its sector is one of `intake::SECTORS`, as `Filter::parse` checks).
    pub(super) fn facets(&self) -> Vec<Facet> {
        let mut out = Vec::new();
        out.extend(self.category.map(Facet::Category));
        out.extend(self.sector.clone().map(Facet::Sector));
        out.extend(self.corridor.clone().map(|(o, w)| Facet::Corridor(o, w)));
        out
    }

    /// Whether a case's report passes (a report without a sector or corridor, from an
    /// earlier release or a case without contacts, passes no filter on them).
    fn keeps(&self, r: &StatusReport) -> bool {
        self.from.is_none_or(|f| r.escalated_at >= f)
            && self.to.is_none_or(|t| r.escalated_at <= t)
            && self.category.is_none_or(|c| r.categories.contains(&c))
            && self
                .sector
                .as_ref()
                .is_none_or(|s| r.sector.as_ref() == Some(s))
            && self
                .corridor
                .as_ref()
                .is_none_or(|c| r.corridor.as_ref() == Some(c))
    }
}

/// How many of an organisation's newest cases the Supply chain page lists (the case list,
/// filtered to it, has them all).
pub const RECENT: usize = 20;

/// Each organisation of a brand's supply chain with its scorecard, and the scorecard over
/// every linked supplier together (the benchmark the page compares each one with).
#[derive(Debug, Clone)]
pub struct Comparison {
    /// Linked suppliers, then the agencies they recruit through, each with its scorecard
    /// and the attestations it counts (of its cases that pass).
    pub parties: Vec<(ChainParty, Scorecard)>,
    /// Each one's newest reports that pass (as many as asked for, newest escalation first).
    pub recent: Vec<Vec<StatusReport>>,
    /// Over every linked supplier.
    pub overall: Scorecard,
    /// Every corridor the brand's reports name (`MM-TH`), whatever the filter.
    pub corridors: BTreeSet<String>,
}

/// What one organisation's scorecard is made of.
struct Parts {
    figures: ReportFigures,
    overdue: u64,
    recent: Vec<StatusReport>,
}

/// The comparison of this brand's supply chain, narrowed by `filter`, with each
/// organisation's `recent` newest cases. Unnarrowed, each organisation's figures are read
/// from its aggregate cells (`aggregates::reports`); narrowed by whole days, by one
/// category, sector or corridor, by two or three of those, or by days and any of those,
/// from its cells of those (`aggregates::report_days`, `aggregates::report_facets`,
/// `aggregates::report_pairs`, which reads some reports beside them when days and two or
/// three facets narrow them); narrowed otherwise (days that are not whole, which no parsed
/// filter gives: tests and benches take that way), from its reports that pass, by the
/// same definitions. Either way an attestation counts where its case has a
/// report about the organisation that passes.
pub fn compare(
    store: &Store,
    membership: &MembershipState,
    me: &OrgId,
    now: Timestamp,
    filter: &Narrowing,
    recent: usize,
) -> Result<Comparison, StoreError> {
    compare_reading(store, membership, me, now, filter, recent, Reading::Cheaper)
}

/// [`compare`], a narrowed one finding the reports that pass as `reading` says.
pub fn compare_reading(
    store: &Store,
    membership: &MembershipState,
    me: &OrgId,
    now: Timestamp,
    filter: &Narrowing,
    recent: usize,
    reading: Reading,
) -> Result<Comparison, StoreError> {
    let mut parties = views::chain_parties(store, membership, me)?;
    let mut parts: Vec<Parts> = Vec::new();
    let mut corridors = BTreeSet::new();
    if filter.is_empty() {
        for p in &mut parties {
            let mut figures = reports::figures(store, &p.supplier)?;
            // Open as the case list says: the case's newest report, about any party.
            figures.open = chain::case_totals(store, Some(&p.supplier))?.1;
            let overdue = reports::overdue(store, &p.supplier, now)?;
            corridors.extend(figures.corridors.keys().cloned());
            // Each entry of its list is one report (two CSOs' in one case are two entries).
            let mut newest = Vec::new();
            for (at, case) in reports::newest_page(store, &p.supplier, 0, recent)? {
                newest.extend(
                    reports::reports_of(store, &case)?
                        .into_iter()
                        .find(|r| r.supplier == p.supplier && r.escalated_at == at),
                );
            }
            let mut kept = Vec::new();
            for a in std::mem::take(&mut p.attestations) {
                let cso = a.attestation.as_ref().map(|b| b.cso);
                if let Some(cso) = cso
                    && reports::has_report(store, &a.case_ref, &cso, &p.supplier)?
                {
                    kept.push(a);
                }
            }
            p.attestations = kept;
            parts.push(Parts {
                figures,
                overdue,
                recent: newest,
            });
        }
    } else if let Some(counted) = cells::counted(filter)
        && reading != Reading::Every
        && reading != Reading::InLists
    {
        parts = cells::parts(store, &mut parties, filter, &counted, now, recent)?;
        corridors = reports::corridors(store)?;
    } else {
        // Whether each case is closed, as its newest report says (the case list's reading;
        // a party's own report may be older).
        let Kept {
            by_party: mut kept,
            closed,
            corridors: named,
        } = kept::kept(store, &parties, filter, reading)?;
        corridors = named;
        for p in &mut parties {
            let reports = kept.remove(&p.supplier).unwrap_or_default();
            let cases: HashSet<_> = reports.iter().map(|r| r.case_ref).collect();
            let is_closed = |r: &StatusReport| closed.get(&r.case_ref).copied().unwrap_or(false);
            // Nothing is owed in a closed case (`chain::owed_in`).
            let overdue = reports
                .iter()
                .filter(|r| !is_closed(r) && !r.overdue(now).is_empty())
                .count() as u64;
            p.attestations.retain(|a| cases.contains(&a.case_ref));
            let mut figures = ReportFigures::of_reports(&reports);
            figures.open = reports.iter().filter(|r| !is_closed(r)).count() as u64;
            let mut recent_reports = reports;
            // As the list orders them: newest escalation first, then by case.
            recent_reports.sort_by_key(|r| (std::cmp::Reverse(r.escalated_at), r.case_ref));
            recent_reports.truncate(recent);
            parts.push(Parts {
                figures,
                overdue,
                recent: recent_reports,
            });
        }
    }
    // Agencies are left out of the overall figures: a case escalated to a supplier and its
    // agency would count twice.
    let mut all = ReportFigures::default();
    let mut all_overdue = 0;
    let mut all_attestations = Vec::new();
    for (p, part) in parties.iter().zip(&parts) {
        if p.role == ilm_protocol::Role::Supplier {
            all.merge(&part.figures);
            all_overdue += part.overdue;
            all_attestations.extend(p.attestations.iter());
        }
    }
    let overall = card(
        Whose {
            supplier: OrgId([0; 32]),
            role: ilm_protocol::Role::Supplier,
            name: None,
        },
        &all,
        all_overdue,
        &all_attestations,
    );
    let cards: Vec<Scorecard> = parties
        .iter()
        .zip(&parts)
        .map(|(p, part)| {
            let whose = Whose {
                supplier: p.supplier,
                role: p.role,
                name: p.name.as_ref(),
            };
            let attestations: Vec<&AttestationView> = p.attestations.iter().collect();
            card(whose, &part.figures, part.overdue, &attestations)
        })
        .collect();
    let recent = parts.into_iter().map(|p| p.recent).collect();
    Ok(Comparison {
        parties: parties.into_iter().zip(cards).collect(),
        recent,
        overall,
        corridors,
    })
}

/// The scorecards of every supplier linked to this brand (and the agencies they recruit
/// through), and only those, narrowed by `filter`.
pub fn scorecards(
    store: &Store,
    membership: &MembershipState,
    me: &OrgId,
    now: Timestamp,
    filter: &Narrowing,
) -> Result<Vec<Scorecard>, StoreError> {
    Ok(compare(store, membership, me, now, filter, 0)?
        .parties
        .into_iter()
        .map(|(_, c)| c)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::views::SupplierView;

    /// The scorecard of one supplier as the supply-chain view shows it (its reports read).
    fn of_supplier(view: &SupplierView, now: Timestamp) -> Scorecard {
        let f = ReportFigures::of_reports(&view.cases);
        let overdue = view
            .cases
            .iter()
            .filter(|r| !r.overdue(now).is_empty())
            .count() as u64;
        let whose = Whose {
            supplier: view.party.supplier,
            role: view.party.role,
            name: view.party.name.as_ref(),
        };
        card(
            whose,
            &f,
            overdue,
            &view.party.attestations.iter().collect::<Vec<_>>(),
        )
    }

    use crate::views::AttestationView;

    fn attestation(
        n: u8,
        amounts: &[(u64, &str)],
        complete: bool,
        verified: bool,
    ) -> AttestationView {
        let money = |(minor_units, c): &(u64, &str)| Money {
            minor_units: *minor_units,
            currency: c.parse().expect("currency"),
        };
        AttestationView {
            case_ref: ilm_protocol::CaseRef([n; 16]),
            complete,
            signature_verified: verified,
            awaiting_my_signature: false,
            attestation: Some(RemediationAttestation {
                network_id: ilm_protocol::NetworkId([1; 16]),
                case_ref: ilm_protocol::CaseRef([n; 16]),
                cso: OrgId([2; 32]),
                remediating_party: OrgId([3; 32]),
                categories: vec![IssueCategory::WithholdingOfWages],
                summary: "Wages repaid".into(),
                workers_benefited: 4,
                amounts_repaid: amounts.iter().map(money).collect(),
                remediated_at: Timestamp(1_700_000_000),
                verdict: ilm_protocol::Verdict::Resolved,
                verified_at: Timestamp(1_700_100_000),
                events: vec![],
                issued_at: Timestamp(1_700_200_000),
            }),
            digest: String::new(),
        }
    }

    /// Amounts repaid are summed per currency over the attestations that are co-signed and
    /// verify, and only those (a draft or one that fails to verify states nothing proven).
    #[test]
    fn amounts_repaid_count_only_verified_attestations_per_currency() {
        let view = SupplierView {
            party: ChainParty {
                supplier: OrgId([3; 32]),
                role: ilm_protocol::Role::Supplier,
                recruits_for: Vec::new(),
                name: None,
                country: None,
                attestations: vec![
                    attestation(1, &[(150_000, "THB")], true, true),
                    attestation(2, &[(50_000, "THB"), (2_000, "USD")], true, true),
                    attestation(3, &[(999_999, "THB")], false, true),
                    attestation(4, &[(777_777, "USD")], true, false),
                ],
            },
            cases: vec![],
            cases_total: 0,
        };
        let card = of_supplier(&view, Timestamp(1_800_000_000));
        let shown: Vec<(u64, String)> = card
            .amounts_repaid
            .iter()
            .map(|m| (m.minor_units, m.currency.to_string()))
            .collect();
        assert_eq!(
            shown,
            [(200_000, "THB".to_string()), (2_000, "USD".to_string())]
        );
        assert_eq!(card.attestations_verified, 2);
    }

    /// Sector and corridor filters keep only reports that name them: one from an earlier
    /// release, which names neither, is kept by no such filter (and by every other).
    #[test]
    fn sector_and_corridor_filters_read_the_reports_profile() {
        let report = |sector: Option<&str>, corridor: Option<(&str, &str)>| StatusReport {
            case_ref: ilm_protocol::CaseRef([1; 16]),
            case_nonce: ilm_protocol::CaseNonce([2; 16]),
            cso: OrgId([2; 32]),
            supplier: OrgId([3; 32]),
            status: ilm_protocol::CaseStatus::Escalated,
            stage: ilm_protocol::PartyStage::Escalated,
            categories: vec![IssueCategory::RecruitmentFees],
            workers_affected: 3,
            escalated_at: Timestamp(1_800_000_000),
            acknowledge_by: Timestamp(1_800_600_000),
            remediate_by: Timestamp(1_802_000_000),
            acknowledged_at: None,
            remediated_at: None,
            verified_at: None,
            reported_at: Timestamp(1_800_000_000),
            sector: sector.map(str::to_string),
            corridor: corridor.map(|(o, d)| (o.parse().expect("c"), d.parse().expect("c"))),
        };
        let filter = |sector: &str, corridor: &str| {
            Filter {
                sector: sector.into(),
                corridor: corridor.into(),
                ..Filter::default()
            }
            .parse()
            .expect("filter")
        };
        let seafood = report(Some("seafood"), Some(("MM", "TH")));
        let older = report(None, None);
        assert!(filter("seafood", "MM-TH").keeps(&seafood));
        assert!(!filter("garment", "").keeps(&seafood));
        assert!(!filter("", "KH-TH").keeps(&seafood));
        assert!(!filter("seafood", "").keeps(&older));
        assert!(!filter("", "MM-TH").keeps(&older));
        assert!(filter("", "").keeps(&older));
        for (sector, corridor) in [("fish", ""), ("", "MM"), ("", "MM-T"), ("", "mm-th")] {
            let f = Filter {
                sector: sector.into(),
                corridor: corridor.into(),
                ..Filter::default()
            };
            assert!(f.parse().is_err(), "{sector} {corridor}");
        }
    }
}
