//! Supply-chain links: signed by both sides, they decide which brand sees which supplier.

use crate::identity::{OrgId, Role, Timestamp};
use crate::membership::NetworkId;
use crate::record::{RecordBody, RecordKind};
use serde::{Deserialize, Serialize};

/// Which relationship a link states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    /// Brand (upstream) buys from supplier (downstream).
    BrandSupplier,
    /// Supplier (upstream) recruits through agency (downstream).
    SupplierAgency,
}

impl LinkKind {
    /// The roles the two sides must hold: (upstream, downstream).
    pub fn roles(&self) -> (Role, Role) {
        match self {
            LinkKind::BrandSupplier => (Role::Brand, Role::Supplier),
            LinkKind::SupplierAgency => (Role::Supplier, Role::Agency),
        }
    }
}

/// "upstream buys from / recruits through downstream", signed by upstream then downstream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupplyChainLink {
    /// Network of both parties.
    pub network_id: NetworkId,
    /// The relationship.
    pub kind: LinkKind,
    /// Brand (for brand-supplier) or supplier (for supplier-agency).
    pub upstream: OrgId,
    /// Supplier (for brand-supplier) or agency (for supplier-agency).
    pub downstream: OrgId,
    /// When the link was proposed.
    pub established_at: Timestamp,
}

impl RecordBody for SupplyChainLink {
    const KIND: RecordKind = RecordKind::SupplyChainLink;
    fn required_signers(&self) -> Vec<OrgId> {
        vec![self.upstream, self.downstream]
    }
    fn signed_at(&self) -> Option<Timestamp> {
        Some(self.established_at)
    }
}

impl SupplyChainLink {
    /// Whether the two sides' certified roles fit the link kind.
    pub fn roles_fit(&self, upstream_role: Role, downstream_role: Role) -> bool {
        self.kind.roles() == (upstream_role, downstream_role)
    }
}
