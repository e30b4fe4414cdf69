//! Typed views of what this node holds, shared by the JSON API (which serialises them) and
//! the pages (which read their fields): no loosely typed JSON passes between them.

use crate::cases;
use crate::core::{StatusReport, StoredAttestation, StoredLink};
use crate::membership::{AttestationCheck, MembershipState};
use crate::schema;
use crate::store::{Store, StoreError};
use ilm_protocol::{
    AttestationBundle, CaseRef, Country, Digest, LinkKind, OrgId, RemediationAttestation, Role,
    SupplyChainLink,
};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// An attestation as a node holds it, with whether it verifies.
#[derive(Debug, Clone, Serialize)]
pub struct AttestationView {
    /// The case.
    pub case_ref: CaseRef,
    /// Both parties signed.
    pub complete: bool,
    /// Signatures (and, for a bundle, the whole bundle against this network) verify.
    pub signature_verified: bool,
    /// A draft waiting for this node's co-signature.
    pub awaiting_my_signature: bool,
    /// What it states.
    pub attestation: Option<RemediationAttestation>,
    /// SHA-256 (hex) of the signed body: a co-signature names the draft it was shown.
    pub digest: String,
}

/// SHA-256 (hex) of a stored attestation's signed body.
pub fn attestation_digest(a: &StoredAttestation) -> String {
    use sha2::Digest;
    ilm_protocol::bytes::to_hex(&sha2::Sha256::digest(&a.record.body))
}

/// The view of a stored attestation.
pub fn attestation(
    membership: &MembershipState,
    me: &OrgId,
    a: &StoredAttestation,
) -> AttestationView {
    let AttestationCheck { body, verified } = membership.check_attestation(check_key(a), || {
        let keys = membership.key_book();
        let body = a
            .record
            .verify_partial_with::<RemediationAttestation>(&keys)
            .ok();
        // With a bundle, "verified" means the whole bundle checks out (signatures,
        // certificates, history, the revocations this node knows), against this node's
        // network.
        let verified = a.complete
            && match &a.bundle {
                Some(b) => b
                    .verify_with_revocations(&membership.revocations())
                    .is_ok_and(|s| s.network_id == membership.network_id()),
                None => a
                    .record
                    .verify_with::<RemediationAttestation>(&keys)
                    .is_ok(),
            };
        AttestationCheck { body, verified }
    });
    AttestationView {
        case_ref: a.case_ref,
        complete: a.complete,
        signature_verified: verified,
        awaiting_my_signature: !a.complete
            && body.as_ref().is_some_and(|b| b.remediating_party == *me),
        attestation: body,
        digest: attestation_digest(a),
    }
}

/// A digest of everything an attestation's check reads from it: whether it is complete, and
/// each record's kind, body and signatures (its own and its bundle's).
fn check_key(a: &StoredAttestation) -> [u8; 32] {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update([u8::from(a.complete)]);
    hash_record(&mut h, &a.record);
    match &a.bundle {
        None => h.update([0]),
        Some(b) => {
            h.update([1]);
            hash_record(&mut h, &b.genesis);
            for list in [&b.successions, &b.certificates, &b.events] {
                h.update((list.len() as u64).to_be_bytes());
                for r in list {
                    hash_record(&mut h, r);
                }
            }
            hash_record(&mut h, &b.attestation);
        }
    }
    h.finalize().into()
}

/// Feeds a record's kind, body and signatures to `h`, each part length-prefixed.
fn hash_record(h: &mut sha2::Sha256, r: &ilm_protocol::SignedRecord) {
    use sha2::Digest;
    for part in [r.kind.tag().as_bytes(), r.body.as_slice()] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    h.update((r.signatures.len() as u64).to_be_bytes());
    for sig in &r.signatures {
        h.update(sig.signer.as_bytes());
        match &sig.key {
            Some(k) => {
                h.update([1]);
                h.update(k.as_bytes());
            }
            None => h.update([0]),
        }
        h.update(sig.signature.0);
    }
}

/// Every attestation this node holds.
pub fn attestations(
    store: &Store,
    membership: &MembershipState,
    me: &OrgId,
) -> Result<Vec<AttestationView>, StoreError> {
    let all: Vec<StoredAttestation> = store.scan(&schema::ATTESTATIONS, &[])?;
    Ok(all.iter().map(|a| attestation(membership, me, a)).collect())
}

/// Why a bundle could not be given.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// No attestation for the case.
    #[error("no attestation for this case")]
    NotFound,
    /// Not co-signed yet.
    #[error("the attestation is not co-signed yet")]
    NotComplete,
    /// The node holds neither a bundle nor the history.
    #[error("this node does not hold the case history")]
    NoHistory,
    /// What it holds does not verify.
    #[error("the bundle does not verify: {0}")]
    Invalid(String),
    /// Storage.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The self-contained bundle of a complete attestation, checked before it is returned.
pub fn bundle(
    store: &Store,
    membership: &MembershipState,
    case: &CaseRef,
) -> Result<AttestationBundle, BundleError> {
    let a: StoredAttestation = store
        .get(&schema::ATTESTATIONS, case.as_bytes())?
        .ok_or(BundleError::NotFound)?;
    if !a.complete {
        return Err(BundleError::NotComplete);
    }
    // Brands hold the bundle the CSO sent them; participants build it from their history.
    if let Some(b) = a.bundle {
        b.verify()
            .map_err(|e| BundleError::Invalid(e.to_string()))?;
        return Ok(b);
    }
    let history = cases::load_history(store, membership, case)?.ok_or(BundleError::NoHistory)?;
    cases::bundle(&history, &a.record, membership).map_err(BundleError::Invalid)
}

/// A supply-chain link as a node holds it.
#[derive(Debug, Clone, Serialize)]
pub struct LinkView {
    /// The link's id.
    pub id: Digest,
    /// Both sides signed.
    pub complete: bool,
    /// What it states.
    pub link: Option<SupplyChainLink>,
}

/// The view of a stored link.
pub fn link(l: &StoredLink) -> LinkView {
    LinkView {
        id: l.id,
        complete: l.complete,
        link: serde_json::from_slice(&l.record.body).ok(),
    }
}

/// Every link this node holds.
pub fn links(store: &Store) -> Result<Vec<LinkView>, StoreError> {
    let all: Vec<StoredLink> = store.scan(&schema::LINKS, &[])?;
    Ok(all.iter().map(link).collect())
}

/// One supplier in a brand's supply chain, or one agency its suppliers recruit through,
/// with the status reports of its cases (serialised as one object).
#[derive(Debug, Clone, Serialize)]
pub struct SupplierView {
    /// Who it is, and its attestations.
    #[serde(flatten)]
    pub party: ChainParty,
    /// The status reports of its cases, from the CSOs that own them: one page of them,
    /// newest escalation first.
    pub cases: Vec<StatusReport>,
    /// How many status reports about it the brand holds (on every page).
    pub cases_total: usize,
}

/// Which page of each organisation's status reports a supply-chain view holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportsPage {
    /// The page, from 1.
    pub page: usize,
    /// Reports per page.
    pub per_page: usize,
}

impl Default for ReportsPage {
    fn default() -> ReportsPage {
        ReportsPage {
            page: 1,
            per_page: 100,
        }
    }
}

/// Who is in a brand's supply chain.
#[derive(Debug, Clone, Default)]
pub struct ChainMembers {
    /// The suppliers it is linked to, sorted.
    pub suppliers: Vec<OrgId>,
    /// Each agency they recruit through, with those suppliers (sorted).
    pub agencies: BTreeMap<OrgId, Vec<OrgId>>,
}

/// Who is in a brand's supply chain, from the complete links it holds.
pub fn chain_members(store: &Store, me: &OrgId) -> Result<ChainMembers, StoreError> {
    let links = crate::core::complete_links(store)?;
    let mut suppliers: Vec<OrgId> = links
        .iter()
        .filter(|l| l.kind == LinkKind::BrandSupplier && l.upstream == *me)
        .map(|l| l.downstream)
        .collect();
    suppliers.sort();
    suppliers.dedup();
    let mut agencies: BTreeMap<OrgId, Vec<OrgId>> = BTreeMap::new();
    for l in links.iter().filter(|l| l.kind == LinkKind::SupplierAgency) {
        if suppliers.contains(&l.upstream) {
            agencies.entry(l.downstream).or_default().push(l.upstream);
        }
    }
    for via in agencies.values_mut() {
        via.sort();
        via.dedup();
    }
    Ok(ChainMembers {
        suppliers,
        agencies,
    })
}

/// One organisation of a brand's supply chain, without its reports: who it is, and the
/// attestations the brand holds of its remediations.
#[derive(Debug, Clone, Serialize)]
pub struct ChainParty {
    /// The supplier or agency.
    pub supplier: OrgId,
    /// Whether it is a supplier the brand is linked to, or an agency one of them recruits
    /// through.
    pub role: Role,
    /// For an agency, the brand's suppliers that recruit through it.
    pub recruits_for: Vec<OrgId>,
    /// Its name, if its certificate is current.
    pub name: Option<String>,
    /// Its country.
    pub country: Option<Country>,
    /// Its attestations.
    pub attestations: Vec<AttestationView>,
}

/// A brand's supply chain without the status reports: linked suppliers, then the agencies
/// they recruit through (as the suppliers told it), each with its attestations (every
/// attestation is read and checked once, then handed to the organisation it concerns).
pub fn chain_parties(
    store: &Store,
    membership: &MembershipState,
    me: &OrgId,
) -> Result<Vec<ChainParty>, StoreError> {
    let ChainMembers {
        suppliers,
        agencies,
    } = chain_members(store, me)?;
    // Every attestation's view, read and checked once per state of the membership and of
    // the attestations held.
    let all = membership.remembered(store.changes(&schema::ATTESTATIONS), || {
        let mut all: Vec<AttestationView> = Vec::new();
        store.for_each(&schema::ATTESTATIONS, &[], |a: StoredAttestation| {
            all.push(attestation(membership, me, &a));
        })?;
        Ok::<_, StoreError>(all)
    })?;
    let mut attestations_of: HashMap<OrgId, Vec<AttestationView>> = HashMap::new();
    for v in all.iter() {
        if let Some(party) = v.attestation.as_ref().map(|b| b.remediating_party) {
            attestations_of.entry(party).or_default().push(v.clone());
        }
    }
    let mut party = |org: OrgId, role: Role, recruits_for: Vec<OrgId>| {
        let cert = membership.current(&org);
        ChainParty {
            supplier: org,
            role,
            recruits_for,
            name: cert.as_ref().map(|c| c.name.clone()),
            country: cert.as_ref().map(|c| c.country.clone()),
            attestations: attestations_of.remove(&org).unwrap_or_default(),
        }
    };
    let mut out: Vec<ChainParty> = suppliers
        .into_iter()
        .map(|s| party(s, Role::Supplier, Vec::new()))
        .collect();
    out.extend(
        agencies
            .into_iter()
            .map(|(a, via)| party(a, Role::Agency, via)),
    );
    Ok(out)
}

/// A brand's supply chain (or the one organisation of it `only` names): linked suppliers,
/// then the agencies they recruit through (as the suppliers told it), with their
/// attestations and a page of their cases' status reports, newest escalation first, read
/// from each one's list of reports (`aggregates::reports`): what a view reads grows with its
/// page, not with the reports the brand holds.
pub fn supply_chain(
    store: &Store,
    membership: &MembershipState,
    me: &OrgId,
    only: Option<&OrgId>,
    window: ReportsPage,
) -> Result<Vec<SupplierView>, StoreError> {
    use crate::aggregates::reports;
    let parties = chain_parties(store, membership, me)?;
    let mut out = Vec::new();
    for party in parties {
        if only.is_some_and(|o| *o != party.supplier) {
            continue;
        }
        let org = party.supplier;
        let total = crate::aggregates::get(store, &format!("{}cases", reports::prefix(&org)))?;
        let total = usize::try_from(total).unwrap_or(0);
        let skip = window
            .page
            .saturating_sub(1)
            .saturating_mul(window.per_page);
        let mut cases = Vec::new();
        // A page past the end reads nothing.
        let entries = if skip < total {
            reports::newest_page(store, &org, skip, window.per_page)?
        } else {
            Vec::new()
        };
        for (at, case) in entries {
            // Each entry is one report of the case about it (two CSOs' are two entries).
            cases.extend(
                reports::reports_of(store, &case)?
                    .into_iter()
                    .filter(|r| r.supplier == org && r.escalated_at == at),
            );
        }
        out.push(SupplierView {
            cases,
            cases_total: total,
            party,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ilm_protocol::attestation::BundleFormat;
    use ilm_protocol::record::RecordSignature;
    use ilm_protocol::{AttestationBundle, RecordKind, SignatureBytes, SignedRecord, Timestamp};

    fn record(kind: RecordKind, body: &str, sig: u8) -> SignedRecord {
        SignedRecord {
            kind,
            body: body.as_bytes().to_vec(),
            signatures: vec![RecordSignature {
                signer: OrgId([sig; 32]),
                key: None,
                signature: SignatureBytes([sig; 64]),
            }],
        }
    }

    fn stored() -> StoredAttestation {
        let att = record(RecordKind::RemediationAttestation, "{\"a\":1}", 1);
        StoredAttestation {
            case_ref: CaseRef([9; 16]),
            record: att.clone(),
            complete: true,
            stored_at: Timestamp(1),
            bundle: Some(AttestationBundle {
                format: BundleFormat::V1,
                genesis: record(RecordKind::NetworkGenesis, "{}", 2),
                successions: vec![],
                certificates: vec![record(RecordKind::MembershipCertificate, "{\"c\":1}", 3)],
                events: vec![record(RecordKind::CaseEvent, "{\"e\":1}", 4)],
                attestation: att,
            }),
        }
    }

    /// A change made to a stored attestation.
    type Change = Box<dyn Fn(&mut StoredAttestation)>;

    /// A remembered check is found again only for the very same bytes: anything its outcome
    /// reads gives another key.
    #[test]
    fn every_part_an_attestation_check_reads_changes_its_key() {
        let base = check_key(&stored());
        assert_eq!(
            base,
            check_key(&stored()),
            "the same attestation, the same key"
        );
        let mut changes: Vec<(&str, Change)> = vec![
            ("complete", Box::new(|a| a.complete = false)),
            ("no bundle", Box::new(|a| a.bundle = None)),
            ("record body", Box::new(|a| a.record.body.push(b' '))),
            (
                "record signature",
                Box::new(|a| a.record.signatures[0].signature.0[0] ^= 1),
            ),
            (
                "signing key named",
                Box::new(|a| a.record.signatures[0].key = Some(OrgId([5; 32]))),
            ),
            (
                "record kind",
                Box::new(|a| a.record.kind = RecordKind::CaseEvent),
            ),
        ];
        let in_bundle = |f: fn(&mut AttestationBundle)| -> Change {
            Box::new(move |a| f(a.bundle.as_mut().expect("bundle")))
        };
        changes.push((
            "a certificate moved to the successions",
            in_bundle(|b| b.successions.push(b.certificates.remove(0))),
        ));
        changes.push((
            "an event's body",
            in_bundle(|b| b.events[0].body.push(b' ')),
        ));
        changes.push((
            "the genesis signature",
            in_bundle(|b| b.genesis.signatures[0].signature.0[63] ^= 1),
        ));
        changes.push((
            "the bundle's attestation",
            in_bundle(|b| b.attestation.signatures.clear()),
        ));
        for (what, change) in changes {
            let mut a = stored();
            change(&mut a);
            assert_ne!(check_key(&a), base, "{what}");
        }
        // The case it is stored under and when are not read by the check.
        let mut a = stored();
        a.stored_at = Timestamp(2);
        assert_eq!(check_key(&a), base);
    }
}
