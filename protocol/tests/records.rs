//! Signed records: round trips, and every single-bit change is rejected.

mod common;

use common::*;
use ilm_protocol::*;
use proptest::prelude::*;

fn flip_every_bit<F: Fn(&[u8]) -> bool>(bytes: &[u8], accepted: F) -> Vec<(usize, u8)> {
    let mut accepted_flips = Vec::new();
    let mut buf = bytes.to_vec();
    for i in 0..buf.len() {
        for bit in 0..8 {
            buf[i] ^= 1 << bit;
            if accepted(&buf) {
                accepted_flips.push((i, bit));
            }
            buf[i] ^= 1 << bit;
        }
    }
    accepted_flips
}

#[test]
fn every_bit_flip_of_a_signed_record_is_rejected() {
    let w = World::new();
    let member = w.m(Role::Supplier);
    let file = serde_json::to_vec_pretty(&member.cert).expect("encode");
    let original = serde_json::from_slice::<SignedRecord>(&file).expect("decode");
    assert!(w.network.verify_certificate(&original).is_ok());
    let accepted = flip_every_bit(&file, |b| {
        let Ok(rec) = serde_json::from_slice::<SignedRecord>(b) else {
            return false;
        };
        w.network.verify_certificate(&rec).is_ok()
    });
    assert!(accepted.is_empty(), "flips accepted at {accepted:?}");
    // And in the binary body itself, not only in its hex text.
    let mut rec = member.cert.clone();
    for i in 0..rec.body.len() {
        for bit in 0..8 {
            rec.body[i] ^= 1 << bit;
            assert!(
                rec.verify::<MembershipCertificate>().is_err(),
                "body byte {i} bit {bit}"
            );
            rec.body[i] ^= 1 << bit;
        }
    }
}

#[test]
fn a_record_of_one_kind_does_not_verify_as_another() {
    let w = World::new();
    let mut rec = w.m(Role::Cso).cert.clone();
    assert!(matches!(
        rec.verify::<Revocation>(),
        Err(RecordError::WrongKind { .. })
    ));
    // Relabelling the kind changes the signing input prefix, so the signature fails.
    rec.kind = RecordKind::MembershipRequest;
    assert!(rec.verify::<MembershipRequest>().is_err());
}

#[test]
fn signers_must_be_exactly_the_required_ones_in_order() {
    let w = World::new();
    let case = case_no(1);
    let events = full_case(&w, case);
    let mut att = attestation(&w, case, &events);
    assert!(att.verify::<RemediationAttestation>().is_ok());
    // Missing the CSO's signature.
    let mut only_supplier = att.clone();
    only_supplier.signatures.remove(0);
    assert!(matches!(
        only_supplier.verify::<RemediationAttestation>(),
        Err(RecordError::WrongSigners { .. })
    ));
    // Extra signature by someone else.
    let mut extra = att.clone();
    extra.cosign(&w.m(Role::Brand).keys);
    assert!(extra.verify::<RemediationAttestation>().is_err());
    // Swapped order.
    att.signatures.swap(0, 1);
    assert!(att.verify::<RemediationAttestation>().is_err());
    // A signature copied from another signer's slot does not verify.
    let mut forged = attestation(&w, case, &events);
    forged.signatures[1].signature = forged.signatures[0].signature;
    assert!(matches!(
        forged.verify::<RemediationAttestation>(),
        Err(RecordError::BadSignature(_))
    ));
}

#[test]
fn partial_verification_accepts_a_prefix_of_signers() {
    let w = World::new();
    let case = case_no(1);
    let events = full_case(&w, case);
    let mut att = attestation(&w, case, &events);
    att.signatures.truncate(1);
    assert!(att.verify_partial::<RemediationAttestation>().is_ok());
    assert!(att.verify::<RemediationAttestation>().is_err());
}

proptest! {
    #[test]
    fn sign_verify_round_trip(seed in any::<[u8; 32]>(), name in "\\PC{1,60}", days in 1u64..3650) {
        let k = OrgKeys::from_secret_bytes(seed, [9; 32]);
        prop_assume!(!name.trim().is_empty());
        let body = MembershipRequest {
            org_id: k.org_id(),
            name: name.clone(),
            role: Role::Agency,
            country: "MM".parse().expect("country"),
            encryption_key: k.encryption_key(),
            requested_at: T0.plus_days(days),
        };
        let rec = SignedRecord::sign(&body, &k).expect("sign");
        let json = serde_json::to_vec(&rec).expect("encode");
        let back: SignedRecord = serde_json::from_slice(&json).expect("decode");
        let v = back.verify::<MembershipRequest>().expect("verify");
        prop_assert_eq!(v.body(), &body);
        prop_assert_eq!(back.digest(), rec.digest());
        // Another key cannot pass as the signer.
        let other = OrgKeys::from_secret_bytes([seed[0] ^ 1; 32], [9; 32]);
        let mut forged = rec.clone();
        forged.signatures[0].signature = SignedRecord::sign(&body, &other).expect("sign").signatures[0].signature;
        prop_assert!(forged.verify::<MembershipRequest>().is_err());
    }
}
