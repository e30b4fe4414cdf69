//! Shared fixtures: a small network with one member of each role and a complete case.
#![allow(dead_code)]

use ilm_protocol::codebook::Currency;
use ilm_protocol::event::{Escalation, Evidence, RemediationAction};
use ilm_protocol::*;
use std::collections::BTreeMap;

/// 2026-01-01T00:00:00Z.
pub const T0: Timestamp = Timestamp(1_767_225_600);
pub const DAY: u64 = 86_400;

/// Deterministic keys for fixture organisation `n`.
pub fn keys(n: u8) -> OrgKeys {
    OrgKeys::from_secret_bytes([n; 32], [n.wrapping_add(100); 32])
}

/// The reference of fixture case number `n`, opened by the fixture CSO (organisation 2).
pub fn case_no(n: u8) -> CaseRef {
    CaseRef::derive(&keys(2).org_id(), &CaseNonce([n; 16]))
}

/// The nonce behind a fixture case reference, if it is one.
fn nonce_of(case: CaseRef) -> Option<CaseNonce> {
    (0..=255u8)
        .map(|n| CaseNonce([n; 16]))
        .find(|n| CaseRef::derive(&keys(2).org_id(), n) == case)
}

pub struct Member {
    pub keys: OrgKeys,
    pub cert: SignedRecord,
    pub body: MembershipCertificate,
}

pub struct World {
    pub steward: Member,
    pub network: Network,
    pub members: BTreeMap<Role, Member>,
}

pub fn genesis(steward: &OrgKeys) -> SignedRecord {
    SignedRecord::sign(
        &NetworkGenesis {
            name: "Test network".into(),
            stewards: vec![steward.org_id()],
            created_at: T0,
        },
        steward,
    )
    .expect("sign genesis")
}

pub fn certificate(
    network: &Network,
    issuer: &OrgKeys,
    subject: &OrgKeys,
    role: Role,
    not_before: Timestamp,
    not_after: Timestamp,
) -> SignedRecord {
    SignedRecord::sign(
        &MembershipCertificate {
            network_id: network.id(),
            org_id: subject.org_id(),
            name: format!("{role} org"),
            role,
            country: "TH".parse().expect("country"),
            encryption_key: subject.encryption_key(),
            not_before,
            not_after,
            issuer: issuer.org_id(),
            issued_at: not_before,
            signing_key: None,
            earlier_keys: Vec::new(),
        },
        issuer,
    )
    .expect("sign certificate")
}

fn member(network: &Network, steward: &OrgKeys, n: u8, role: Role) -> Member {
    let keys = keys(n);
    let cert = certificate(network, steward, &keys, role, T0, T0.plus_days(365));
    let body = network
        .verify_certificate(&cert)
        .expect("fixture certificate")
        .body()
        .clone();
    Member { keys, cert, body }
}

impl World {
    pub fn new() -> World {
        let steward_keys = keys(1);
        let network = Network::from_genesis(&genesis(&steward_keys)).expect("genesis");
        let steward = member(&network, &steward_keys, 1, Role::Steward);
        let mut members = BTreeMap::new();
        for (n, role) in [
            (2, Role::Cso),
            (3, Role::Agency),
            (4, Role::Supplier),
            (5, Role::Brand),
            (6, Role::Government),
        ] {
            members.insert(role, member(&network, &steward_keys, n, role));
        }
        World {
            steward,
            network,
            members,
        }
    }

    pub fn m(&self, role: Role) -> &Member {
        if role == Role::Steward {
            return &self.steward;
        }
        &self.members[&role]
    }

    pub fn certs(&self) -> Vec<SignedRecord> {
        let mut v = vec![self.steward.cert.clone()];
        v.extend(self.members.values().map(|m| m.cert.clone()));
        v
    }

    pub fn cert_of(&self, org: &OrgId) -> Option<MembershipCertificate> {
        std::iter::once(&self.steward)
            .chain(self.members.values())
            .find(|m| m.keys.org_id() == *org)
            .map(|m| m.body.clone())
    }

    pub fn event(
        &self,
        author: Role,
        case: CaseRef,
        parents: Vec<EventHash>,
        at: Timestamp,
        payload: EventPayload,
    ) -> SignedRecord {
        SignedRecord::sign(
            &CaseEvent {
                network_id: self.network.id(),
                case_ref: case,
                case_nonce: if parents.is_empty() {
                    nonce_of(case)
                } else {
                    None
                },
                parents,
                author: self.m(author).keys.org_id(),
                authored_at: at,
                payload,
            },
            &self.m(author).keys,
        )
        .expect("sign event")
    }
}

pub fn thb(minor_units: u64) -> Money {
    Money {
        minor_units,
        currency: "THB".parse::<Currency>().expect("currency"),
    }
}

pub fn escalation_to(to: OrgId) -> EventPayload {
    EventPayload::Escalation(Escalation {
        to,
        categories: vec![
            IssueCategory::RecruitmentFees,
            IssueCategory::RetentionOfIdentityDocuments,
        ],
        workers_affected: 42,
        site: "Factory 3, Samut Sakhon".into(),
        requested_remedy: "Reimburse recruitment fees; return passports".into(),
        description: "Workers report paying fees and having passports held by the employer.".into(),
        recruitment_fees: Some(thb(1_500_000)),
        acknowledge_by: T0.plus_days(7),
        remediate_by: T0.plus_days(60),
    })
}

/// A complete case: escalation to the supplier, acknowledgement, plan, action, report,
/// verification (resolved); returns the events in order.
pub fn full_case(w: &World, case: CaseRef) -> Vec<SignedRecord> {
    let supplier = w.m(Role::Supplier).keys.org_id();
    let mut events: Vec<SignedRecord> = Vec::new();
    let push = |author: Role, day: u64, payload: EventPayload, events: &mut Vec<SignedRecord>| {
        let parents = events.last().map(|e| vec![e.digest()]).unwrap_or_default();
        events.push(w.event(author, case, parents, T0.plus_days(day), payload));
    };
    push(Role::Cso, 1, escalation_to(supplier), &mut events);
    push(
        Role::Supplier,
        3,
        EventPayload::Acknowledgement {
            note: "We will investigate".into(),
        },
        &mut events,
    );
    push(
        Role::Supplier,
        5,
        EventPayload::RemediationPlan {
            description: "Repay fees, return passports".into(),
            target_date: T0.plus_days(40),
        },
        &mut events,
    );
    push(
        Role::Supplier,
        30,
        EventPayload::RemediationAction(RemediationAction {
            description: "Fees repaid by bank transfer".into(),
            taken_at: T0.plus_days(30),
            amount_repaid: Some(thb(1_500_000)),
            workers_benefited: 42,
            evidence: vec![Evidence {
                sha256: Digest::of(&[b"receipts.pdf"]),
                label: "bank transfer receipts".into(),
            }],
        }),
        &mut events,
    );
    push(
        Role::Supplier,
        31,
        EventPayload::RemediationReported {
            summary: "Done".into(),
        },
        &mut events,
    );
    push(
        Role::Cso,
        38,
        EventPayload::WorkerVerification {
            verdict: Verdict::Resolved,
            workers_consulted: 12,
            note: "Workers confirm repayment".into(),
        },
        &mut events,
    );
    events
}

pub fn attestation(w: &World, case: CaseRef, events: &[SignedRecord]) -> SignedRecord {
    let body = RemediationAttestation {
        network_id: w.network.id(),
        case_ref: case,
        cso: w.m(Role::Cso).keys.org_id(),
        remediating_party: w.m(Role::Supplier).keys.org_id(),
        categories: vec![IssueCategory::RecruitmentFees],
        summary: "Recruitment fees repaid to 42 workers".into(),
        workers_benefited: 42,
        amounts_repaid: vec![thb(1_500_000)],
        remediated_at: T0.plus_days(31),
        verdict: Verdict::Resolved,
        verified_at: T0.plus_days(38),
        events: events.iter().map(SignedRecord::digest).collect(),
        issued_at: T0.plus_days(39),
    };
    let mut rec = SignedRecord::sign(&body, &w.m(Role::Cso).keys).expect("sign attestation");
    rec.cosign(&w.m(Role::Supplier).keys);
    rec
}

pub fn bundle(w: &World) -> AttestationBundle {
    let case = case_no(7);
    let events = full_case(w, case);
    let attestation = attestation(w, case, &events);
    AttestationBundle {
        format: ilm_protocol::attestation::BundleFormat::V1,
        genesis: w.network.genesis_record().clone(),
        successions: Vec::new(),
        certificates: vec![
            w.m(Role::Cso).cert.clone(),
            w.m(Role::Supplier).cert.clone(),
        ],
        events,
        attestation,
    }
}
