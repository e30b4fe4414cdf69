//! Attestation bundles: verifiable offline, and every single-bit change is rejected.

mod common;

use common::*;
use ilm_protocol::attestation::AttestationMismatch;
use ilm_protocol::*;

#[test]
fn a_complete_bundle_verifies() {
    let w = World::new();
    let b = bundle(&w);
    let summary = b.verify().expect("bundle verifies");
    assert_eq!(summary.verdict, Verdict::Resolved);
    assert_eq!(summary.events, 6);
    assert_eq!(summary.remediating_party_role, Role::Supplier);
    assert_eq!(summary.workers_benefited, 42);
}

#[test]
fn every_bit_flip_of_a_bundle_file_is_rejected() {
    let w = World::new();
    let file = serde_json::to_vec_pretty(&bundle(&w)).expect("encode");
    let parsed: AttestationBundle = serde_json::from_slice(&file).expect("decode");
    assert!(parsed.verify().is_ok());
    let mut buf = file.clone();
    let mut accepted = Vec::new();
    for i in 0..buf.len() {
        for bit in 0..8 {
            buf[i] ^= 1 << bit;
            if let Ok(b) = serde_json::from_slice::<AttestationBundle>(&buf)
                && b.verify().is_ok()
            {
                accepted.push((i, bit));
            }
            buf[i] ^= 1 << bit;
        }
    }
    assert!(accepted.is_empty(), "accepted flips: {accepted:?}");
}

#[test]
fn an_attestation_missing_the_cso_signature_fails() {
    let w = World::new();
    let mut b = bundle(&w);
    b.attestation.signatures.remove(0);
    assert!(matches!(b.verify(), Err(BundleError::Attestation(_))));
}

#[test]
fn missing_or_extra_events_and_missing_certificates_fail() {
    let w = World::new();
    let mut missing = bundle(&w);
    missing.events.pop();
    assert!(missing.verify().is_err());

    let mut extra = bundle(&w);
    let root = extra.events[0].clone();
    let other = w.event(
        Role::Supplier,
        case_no(7),
        vec![root.digest()],
        T0.plus_days(50),
        EventPayload::Dispute {
            reason: "late".into(),
        },
    );
    extra.events.push(other);
    assert!(extra.verify().is_err());

    let mut no_cert = bundle(&w);
    no_cert.certificates.pop();
    assert!(no_cert.verify().is_err());

    let mut dup = bundle(&w);
    dup.certificates.push(dup.certificates[0].clone());
    assert!(dup.verify().is_err());
}

#[test]
fn events_listed_out_of_order_still_verify() {
    let w = World::new();
    let mut b = bundle(&w);
    b.events.reverse();
    assert!(b.verify().is_ok());
}

#[test]
fn verdict_must_match_the_workers_verification() {
    let w = World::new();
    let case = case_no(7);
    let events = full_case(&w, case);
    let mut body: RemediationAttestation = attestation(&w, case, &events)
        .verify::<RemediationAttestation>()
        .expect("att")
        .body()
        .clone();
    body.verdict = Verdict::PartlyResolved;
    let mut att = SignedRecord::sign(&body, &w.m(Role::Cso).keys).expect("sign");
    att.cosign(&w.m(Role::Supplier).keys);
    let mut b = bundle(&w);
    b.attestation = att;
    assert_eq!(
        b.verify(),
        Err(BundleError::Mismatch(AttestationMismatch::Verdict))
    );
}

#[test]
fn a_duplicated_event_record_is_rejected() {
    let w = World::new();
    let mut b = bundle(&w);
    b.events.push(b.events[0].clone());
    assert!(matches!(b.verify(), Err(BundleError::Inconsistent(_))));
}
