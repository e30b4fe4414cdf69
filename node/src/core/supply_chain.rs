//! Who is linked to whom in supply chains (the complete links a node holds: a supplier's
//! brands, an agency's suppliers, a party's buyers), and the status report of a case that a
//! CSO sends to a supplier's linked brands.

use super::*;
use crate::schema;
use ilm_protocol::{CaseState, CaseStatus, LinkKind, PartyStage, SupplyChainLink};

/// Every complete link this node holds.
pub fn complete_links(store: &Store) -> Result<Vec<SupplyChainLink>, StoreError> {
    Ok(store
        .scan(&schema::LINKS, &[])?
        .into_iter()
        .filter(|l| l.complete)
        .filter_map(|l| serde_json::from_slice::<SupplyChainLink>(&l.record.body).ok())
        .collect())
}

/// The upstream sides of the complete links of `kind` whose downstream side is `org`,
/// sorted, from `links`.
fn upstream_of(links: &[SupplyChainLink], kind: LinkKind, org: &OrgId) -> Vec<OrgId> {
    let mut out: Vec<OrgId> = links
        .iter()
        .filter(|l| l.kind == kind && l.downstream == *org)
        .map(|l| l.upstream)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Brands linked (complete brand-supplier links) to `supplier`, from the stored links.
pub fn brands_of(store: &Store, supplier: &OrgId) -> Result<Vec<OrgId>, StoreError> {
    Ok(upstream_of(
        &complete_links(store)?,
        LinkKind::BrandSupplier,
        supplier,
    ))
}

/// Suppliers that recruit through `agency` (complete supplier-agency links).
pub fn suppliers_of(store: &Store, agency: &OrgId) -> Result<Vec<OrgId>, StoreError> {
    Ok(upstream_of(
        &complete_links(store)?,
        LinkKind::SupplierAgency,
        agency,
    ))
}

/// Brands an attestation bundle of a case remediated by `party` goes to. A bundle holds the
/// case's whole history (every party's escalation), so an agency's goes only to the brands of
/// its suppliers that take part in the case, never to those of a supplier the case does not
/// concern.
pub fn bundle_buyers(
    store: &Store,
    party: &OrgId,
    case_parties: &[OrgId],
) -> Result<Vec<OrgId>, StoreError> {
    let links = complete_links(store)?;
    let mut out = upstream_of(&links, LinkKind::BrandSupplier, party);
    for supplier in upstream_of(&links, LinkKind::SupplierAgency, party) {
        if case_parties.contains(&supplier) {
            out.extend(upstream_of(&links, LinkKind::BrandSupplier, &supplier));
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Brands that buy from `party`: linked to it (a supplier), or linked to a supplier that
/// recruits through it (an agency), from the stored links. A CSO holds every link; a brand,
/// its own and the supplier-agency links its suppliers told it of.
pub fn buyers_of(store: &Store, party: &OrgId) -> Result<Vec<OrgId>, StoreError> {
    let links = complete_links(store)?;
    let mut out = upstream_of(&links, LinkKind::BrandSupplier, party);
    for supplier in upstream_of(&links, LinkKind::SupplierAgency, party) {
        out.extend(upstream_of(&links, LinkKind::BrandSupplier, &supplier));
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The status report of a case as its owner sees it, for one supplier or agency escalated to.
pub fn status_report(
    state: &CaseState,
    cso: OrgId,
    supplier: OrgId,
    now: Timestamp,
    profile: Option<(String, ilm_protocol::Country, ilm_protocol::Country)>,
) -> Option<StatusReport> {
    let p = state.party(&supplier)?;
    let (sector, corridor) = match profile {
        Some((s, o, d)) => (Some(s), Some((o, d))),
        None => (None, None),
    };
    Some(StatusReport {
        case_ref: state.case_ref,
        case_nonce: state.nonce?,
        cso,
        supplier,
        status: state.status(),
        stage: p.stage,
        categories: p.categories.clone(),
        workers_affected: p.workers_affected,
        escalated_at: p.first_escalated_at,
        acknowledge_by: p.escalation.acknowledge_by,
        remediate_by: p.escalation.remediate_by,
        acknowledged_at: p.acknowledged_at,
        remediated_at: p.reported_at,
        verified_at: p.verified_at,
        reported_at: now,
        sector,
        corridor,
    })
}

impl StatusReport {
    /// What the supplier owes, with due dates, by the same rule as the CSO's own view.
    pub fn owed(&self) -> Vec<(ilm_protocol::Owed, Timestamp)> {
        if self.status == CaseStatus::Closed {
            return Vec::new();
        }
        let mut out = Vec::new();
        if self.stage == PartyStage::Escalated {
            out.push((ilm_protocol::Owed::Acknowledgement, self.acknowledge_by));
        }
        if self.stage.owes_remediation() {
            out.push((ilm_protocol::Owed::Remediation, self.remediate_by));
        }
        out
    }

    /// What the supplier owes past its due date at `now`.
    pub fn overdue(&self, now: Timestamp) -> Vec<(ilm_protocol::Owed, Timestamp)> {
        self.owed()
            .into_iter()
            .filter(|(_, due)| now > *due)
            .collect()
    }
}
