//! A brand's scorecard of each linked supplier, from what the brand legitimately holds: the
//! status reports the CSOs send it and the attestations it verified. Built from the same
//! supply-chain view as its Supply chain page, so the two never disagree.

use crate::aggregates::{median, month};
use crate::membership::MembershipState;
use crate::store::{Store, StoreError};
use crate::views::{self, SupplierView};
use ilm_protocol::{CaseStatus, OrgId, Timestamp};
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

/// The scorecards of every supplier linked to this brand, and only those.
pub fn scorecards(
    store: &Store,
    membership: &MembershipState,
    me: &OrgId,
    now: Timestamp,
) -> Result<Vec<Scorecard>, StoreError> {
    Ok(views::supply_chain(store, membership, me)?
        .iter()
        .map(|v| of_supplier(v, now))
        .collect())
}
