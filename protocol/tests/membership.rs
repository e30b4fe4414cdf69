//! Membership certificates and revocations: the rules for who is a current member.

mod common;

use common::*;
use ilm_protocol::*;

fn revocation(w: &World, org: OrgId, at: Timestamp, issuer: &OrgKeys) -> SignedRecord {
    SignedRecord::sign(
        &Revocation {
            network_id: w.network.id(),
            org_id: org,
            reason: "left the network".into(),
            revoked_at: at,
            issuer: issuer.org_id(),
        },
        issuer,
    )
    .expect("sign revocation")
}

#[test]
fn valid_certificate_is_accepted_within_its_period() {
    let w = World::new();
    let none = RevocationList::new();
    let cert = &w.m(Role::Cso).cert;
    assert!(w.network.check_certificate(cert, T0, &none).is_ok());
    assert!(
        w.network
            .check_certificate(cert, T0.plus_days(364), &none)
            .is_ok()
    );
}

#[test]
fn expired_and_not_yet_valid_certificates_are_rejected() {
    let w = World::new();
    let none = RevocationList::new();
    let cert = &w.m(Role::Cso).cert;
    assert!(matches!(
        w.network
            .check_certificate(cert, Timestamp(T0.0 - 1), &none),
        Err(MembershipError::NotYetValid { .. })
    ));
    assert!(matches!(
        w.network.check_certificate(cert, T0.plus_days(365), &none),
        Err(MembershipError::Expired { .. })
    ));
}

#[test]
fn certificate_signed_by_a_non_steward_is_rejected() {
    let w = World::new();
    let brand = &w.m(Role::Brand).keys;
    let forged = certificate(
        &w.network,
        brand,
        &keys(40),
        Role::Cso,
        T0,
        T0.plus_days(10),
    );
    assert!(matches!(
        w.network
            .check_certificate(&forged, T0, &RevocationList::new()),
        Err(MembershipError::NotASteward(_))
    ));
}

#[test]
fn certificate_with_a_forged_signature_is_rejected() {
    let w = World::new();
    // Claims the steward as issuer but is signed by another key.
    let impostor = keys(41);
    let mut forged = certificate(
        &w.network,
        &impostor,
        &keys(42),
        Role::Cso,
        T0,
        T0.plus_days(10),
    );
    let mut body: MembershipCertificate = serde_json::from_slice(&forged.body).expect("body");
    body.issuer = w.steward.keys.org_id();
    forged.body = serde_json::to_vec(&body).expect("encode");
    forged.signatures[0].signer = w.steward.keys.org_id();
    assert!(matches!(
        w.network
            .check_certificate(&forged, T0, &RevocationList::new()),
        Err(MembershipError::Record(RecordError::BadSignature(_)))
    ));
}

#[test]
fn certificate_of_another_network_is_rejected() {
    let w = World::new();
    let steward2 = keys(50);
    let other_net = Network::from_genesis(&genesis(&steward2)).expect("genesis");
    assert_ne!(other_net.id(), w.network.id());
    let cert = certificate(
        &other_net,
        &steward2,
        &keys(51),
        Role::Cso,
        T0,
        T0.plus_days(10),
    );
    assert!(
        w.network
            .check_certificate(&cert, T0, &RevocationList::new())
            .is_err()
    );
}

#[test]
fn revoked_certificate_is_rejected_and_readmission_works() {
    let w = World::new();
    let supplier = w.m(Role::Supplier);
    let rev = revocation(
        &w,
        supplier.keys.org_id(),
        T0.plus_days(10),
        &w.steward.keys,
    );
    let verified = w
        .network
        .check_revocation(&rev)
        .expect("revocation verifies");
    let mut list = RevocationList::new();
    list.add(&verified);
    assert!(matches!(
        w.network
            .check_certificate(&supplier.cert, T0.plus_days(11), &list),
        Err(MembershipError::Revoked(_))
    ));
    // A certificate issued after the revocation readmits the organisation.
    let mut body = supplier.body.clone();
    body.issued_at = T0.plus_days(20);
    body.not_before = T0.plus_days(20);
    let readmit = SignedRecord::sign(&body, &w.steward.keys).expect("sign");
    assert!(
        w.network
            .check_certificate(&readmit, T0.plus_days(21), &list)
            .is_ok()
    );
}

#[test]
fn revocation_by_a_non_steward_is_rejected() {
    let w = World::new();
    let rev = revocation(
        &w,
        w.m(Role::Supplier).keys.org_id(),
        T0,
        &w.m(Role::Cso).keys,
    );
    assert!(matches!(
        w.network.check_revocation(&rev),
        Err(MembershipError::NotASteward(_))
    ));
}

#[test]
fn steward_role_is_reserved_for_genesis_stewards() {
    let w = World::new();
    let cert = certificate(
        &w.network,
        &w.steward.keys,
        &keys(60),
        Role::Steward,
        T0,
        T0.plus_days(10),
    );
    assert!(matches!(
        w.network
            .check_certificate(&cert, T0, &RevocationList::new()),
        Err(MembershipError::StewardRoleNotInGenesis)
    ));
}

#[test]
fn genesis_must_be_signed_by_every_steward() {
    let a = keys(70);
    let b = keys(71);
    let body = NetworkGenesis {
        name: "Two stewards".into(),
        stewards: vec![a.org_id(), b.org_id()],
        created_at: T0,
    };
    let mut rec = SignedRecord::sign(&body, &a).expect("sign");
    assert!(Network::from_genesis(&rec).is_err());
    rec.cosign(&b);
    assert!(Network::from_genesis(&rec).is_ok());
}

#[test]
fn a_revocation_takes_effect_from_its_time() {
    let w = World::new();
    let supplier = w.m(Role::Supplier);
    let rev = revocation(
        &w,
        supplier.keys.org_id(),
        T0.plus_days(10),
        &w.steward.keys,
    );
    let mut list = RevocationList::new();
    list.add(&w.network.check_revocation(&rev).expect("revocation"));
    // Signatures made before the revocation stay valid; from its time on, none are.
    assert!(
        w.network
            .check_certificate(&supplier.cert, T0.plus_days(9), &list)
            .is_ok()
    );
    assert!(
        w.network
            .check_certificate(&supplier.cert, T0.plus_days(10), &list)
            .is_err()
    );
}
