//! A brand's scorecard of each linked supplier, from what the brand legitimately holds: the
//! status reports the CSOs send it and the attestations it verified. Built from the same
//! supply-chain view as its Supply chain page, so the two never disagree.

use crate::aggregates::{median, month};
use crate::membership::MembershipState;
use crate::records::StatusReport;
use crate::store::{Store, StoreError};
use crate::views::{self, SupplierView};
use crate::worklist::{QueryError, day};
use ilm_protocol::{CaseStatus, IssueCategory, OrgId, Timestamp};
use serde::Serialize;
use std::collections::BTreeMap;

const DAY: f64 = 86_400.0;

/// One linked supplier's figures.
#[derive(Debug, Clone, Serialize)]
pub struct Scorecard {
    /// The supplier.
    pub supplier: OrgId,
    /// Its name in the member directory, if known.
    pub name: Option<String>,
    /// Cases the brand holds a status report of.
    pub cases: u64,
    /// Not closed.
    pub open: u64,
    /// With something overdue now.
    pub overdue: u64,
    /// Median days from escalation to acknowledgement (acknowledged cases).
    pub median_days_to_acknowledge: Option<f64>,
    /// Median days from escalation to reported remediation (remediated cases).
    pub median_days_to_remediate: Option<f64>,
    /// Cases whose remediation was reported.
    pub remediated: u64,
    /// Of those, the ones the workers' verdict was recorded for, in percent.
    pub share_verified: Option<u64>,
    /// Attestations co-signed and verified.
    pub attestations_verified: u64,
    /// Cases by issue category code.
    pub categories: BTreeMap<String, u64>,
    /// Cases by month escalated (`YYYY-MM`).
    pub by_month: BTreeMap<String, u64>,
}

fn days(from: Timestamp, to: Timestamp) -> f64 {
    to.0.saturating_sub(from.0) as f64 / DAY
}

/// The scorecard of one supplier as the supply-chain view shows it.
pub fn of_supplier(view: &SupplierView, now: Timestamp) -> Scorecard {
    let reports = &view.cases;
    let mut categories = BTreeMap::new();
    let mut by_month = BTreeMap::new();
    for r in reports {
        for c in &r.categories {
            *categories.entry(c.code().to_string()).or_default() += 1;
        }
        *by_month.entry(month(r.escalated_at)).or_default() += 1;
    }
    let remediated = reports.iter().filter(|r| r.remediated_at.is_some()).count() as u64;
    let verified = reports
        .iter()
        .filter(|r| r.remediated_at.is_some() && r.verified_at.is_some())
        .count() as u64;
    Scorecard {
        supplier: view.supplier,
        name: view.name.clone(),
        cases: reports.len() as u64,
        open: reports
            .iter()
            .filter(|r| r.status != CaseStatus::Closed)
            .count() as u64,
        overdue: reports
            .iter()
            .filter(|r| !r.overdue(now).is_empty())
            .count() as u64,
        median_days_to_acknowledge: median(
            reports
                .iter()
                .filter_map(|r| r.acknowledged_at.map(|a| days(r.escalated_at, a)))
                .collect(),
        ),
        median_days_to_remediate: median(
            reports
                .iter()
                .filter_map(|r| r.remediated_at.map(|a| days(r.escalated_at, a)))
                .collect(),
        ),
        remediated,
        share_verified: (verified * 100).checked_div(remediated),
        attestations_verified: view
            .attestations
            .iter()
            .filter(|a| a.complete && a.signature_verified)
            .count() as u64,
        categories,
        by_month,
    }
}

/// What a brand analyst narrows the picture to: cases escalated in a date range, with an
/// issue category. Every field is optional; as a query: `from`, `to` (YYYY-MM-DD), `category`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, Serialize)]
#[serde(default)]
pub struct Filter {
    /// Escalated on or after this day.
    pub from: String,
    /// Escalated on or before this day.
    pub to: String,
    /// An issue category code.
    pub category: String,
}

/// A filter checked and parsed.
#[derive(Debug, Clone, Copy, Default)]
pub struct Narrowing {
    from: Option<Timestamp>,
    to: Option<Timestamp>,
    category: Option<IssueCategory>,
}

impl Filter {
    /// Parses the filter, with a clear error for a bad day or category.
    pub fn parse(&self) -> Result<Narrowing, QueryError> {
        let category = match self.category.trim() {
            "" => None,
            c => Some(c.parse::<IssueCategory>().map_err(|_| {
                let codes: Vec<&str> = IssueCategory::ALL.iter().map(|c| c.code()).collect();
                QueryError::BadCategory(codes.join(", "))
            })?),
        };
        Ok(Narrowing {
            from: day(&self.from, "from", false)?,
            to: day(&self.to, "to", true)?,
            category,
        })
    }
}

impl Narrowing {
    /// Whether a case's report passes.
    fn keeps(&self, r: &StatusReport) -> bool {
        self.from.is_none_or(|f| r.escalated_at >= f)
            && self.to.is_none_or(|t| r.escalated_at <= t)
            && self.category.is_none_or(|c| r.categories.contains(&c))
    }

    /// The supplier's view narrowed: its cases that pass, and their attestations.
    pub fn apply(&self, view: &SupplierView) -> SupplierView {
        let cases: Vec<StatusReport> = view
            .cases
            .iter()
            .filter(|r| self.keeps(r))
            .cloned()
            .collect();
        let kept: std::collections::HashSet<_> = cases.iter().map(|r| r.case_ref).collect();
        SupplierView {
            supplier: view.supplier,
            name: view.name.clone(),
            country: view.country.clone(),
            cases,
            attestations: view
                .attestations
                .iter()
                .filter(|a| kept.contains(&a.case_ref))
                .cloned()
                .collect(),
        }
    }
}

/// The scorecards of every supplier linked to this brand, and only those, narrowed by
/// `filter`.
pub fn scorecards(
    store: &Store,
    membership: &MembershipState,
    me: &OrgId,
    now: Timestamp,
    filter: &Narrowing,
) -> Result<Vec<Scorecard>, StoreError> {
    Ok(views::supply_chain(store, membership, me)?
        .iter()
        .map(|v| of_supplier(&filter.apply(v), now))
        .collect())
}

/// One scorecard over every linked supplier together (the benchmark the page compares each
/// supplier with).
pub fn overall(views: &[SupplierView], now: Timestamp) -> Scorecard {
    let all = SupplierView {
        supplier: OrgId([0; 32]),
        name: None,
        country: None,
        cases: views.iter().flat_map(|v| v.cases.iter().cloned()).collect(),
        attestations: views
            .iter()
            .flat_map(|v| v.attestations.iter().cloned())
            .collect(),
    };
    of_supplier(&all, now)
}
