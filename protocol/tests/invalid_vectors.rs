//! Checks the negative test vectors (`tests/vectors/invalid.json`): every input is refused with
//! the code the vector names, and docs/PROTOCOL.md section 12 lists every one. Positive
//! controls show that each signature vector would pass a weaker check, so the refusal comes
//! from the rule the vector is about.

use ilm_protocol::*;
use serde_json::Value;
use std::collections::BTreeMap;

const RECORDS: &str = include_str!("vectors/records.json");
const INVALID: &str = include_str!("vectors/invalid.json");
const PROTOCOL_MD: &str = include_str!("../../docs/PROTOCOL.md");

fn json(s: &str) -> Value {
    serde_json::from_str(s).expect("vector file is JSON")
}

fn record(v: &Value) -> SignedRecord {
    serde_json::from_value(v.clone()).expect("a signed record in file form")
}

/// The certificates of records.json, verified against its genesis.
fn certificates() -> BTreeMap<OrgId, MembershipCertificate> {
    let r = json(RECORDS);
    let records = r["records"].as_array().expect("records");
    let by_name = |n: &str| {
        records
            .iter()
            .find(|v| v["name"] == n)
            .map(|v| record(&v["record"]))
            .expect("named record")
    };
    let network = Network::from_genesis(&by_name("genesis")).expect("genesis");
    records
        .iter()
        .filter(|v| v["kind"] == "membership-certificate")
        .map(|v| {
            let c = network
                .verify_certificate(&record(&v["record"]))
                .expect("certificate")
                .body()
                .clone();
            (c.org_id, c)
        })
        .collect()
}

/// Runs one vector's check; Ok(()) means the input was accepted.
fn check(case: &Value, events: &BTreeMap<String, SignedRecord>) -> Result<(), String> {
    match case["check"].as_str() {
        Some("record") => record(&case["record"])
            .verify::<CaseEvent>()
            .map(|_| ())
            .map_err(|e| e.code().to_string()),
        Some("event") => {
            let certs = certificates();
            let cert_at = |org: &OrgId, at: Timestamp| {
                certs
                    .get(org)
                    .filter(|c| c.not_before <= at && at < c.not_after)
                    .cloned()
            };
            let ev = record(&case["event"]);
            let body = ev
                .verify::<CaseEvent>()
                .expect("event vectors are well signed");
            let mut h = CaseHistory::new(body.body().network_id, body.body().case_ref);
            for name in case["history"].as_array().expect("history") {
                let prior = &events[name.as_str().expect("name")];
                h.insert(prior, &cert_at).expect("history events are valid");
            }
            h.insert(&ev, &cert_at)
                .map(|_| ())
                .map_err(|e| e.code().to_string())
        }
        Some("bundle") => {
            let bundle: AttestationBundle =
                serde_json::from_value(case["bundle"].clone()).expect("bundle");
            let network = Network::from_genesis(&bundle.genesis).expect("genesis");
            let mut list = RevocationList::new();
            for r in case["revocations"].as_array().expect("revocations") {
                list.add(&network.check_revocation(&record(r)).expect("revocation"));
            }
            bundle
                .verify_with_revocations(&list)
                .map(|_| ())
                .map_err(|e| e.code().to_string())
        }
        other => Err(format!("unknown check {other:?}")),
    }
}

fn events() -> BTreeMap<String, SignedRecord> {
    json(INVALID)["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| {
            (
                e["name"].as_str().expect("name").to_string(),
                record(&e["record"]),
            )
        })
        .collect()
}

#[test]
fn every_invalid_vector_is_refused_with_its_code() {
    let v = json(INVALID);
    let events = events();
    let cases = v["cases"].as_array().expect("cases");
    let mut kinds_refused = std::collections::BTreeSet::new();
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let expect = case["expect"].as_str().expect("expect");
        assert_eq!(
            check(case, &events),
            Err(expect.to_string()),
            "vector {name}"
        );
        if case["check"] == "event" {
            let ev = record(&case["event"]).verify::<CaseEvent>().expect("event");
            kinds_refused.insert(ev.body().payload.kind());
        }
    }
    // Out-of-order events of every kind are among them.
    assert_eq!(
        kinds_refused.len(),
        EventKind::ALL.len(),
        "{kinds_refused:?}"
    );
    for required in [
        "small_order_public_key",
        "non_canonical_s",
        "signature_over_another_domain_tag",
        "attestation_without_verification",
        "tampered_bundle",
        "json_duplicate_key",
        "json_negative_zero",
        "json_lone_surrogate",
        "json_unknown_field",
        "cosigner_revoked_before_signing",
    ] {
        assert!(
            cases.iter().any(|c| c["name"] == required),
            "no vector {required}"
        );
    }
}

#[test]
fn the_history_of_every_event_vector_is_valid_on_its_own() {
    // Positive control: each refused event's history is accepted, so the refusal is the
    // candidate event's alone.
    let events = events();
    for case in json(INVALID)["cases"].as_array().expect("cases") {
        if case["check"] != "event" {
            continue;
        }
        let certs = certificates();
        let cert_at = |org: &OrgId, _at: Timestamp| certs.get(org).cloned();
        let Some(first) = case["history"][0].as_str() else {
            continue;
        };
        let first = &events[first];
        let root = first.verify::<CaseEvent>().expect("root");
        let mut h = CaseHistory::new(root.body().network_id, root.body().case_ref);
        for name in case["history"].as_array().expect("history") {
            h.insert(&events[name.as_str().expect("name")], &cert_at)
                .expect("valid history");
        }
    }
}

#[test]
fn signature_vectors_fail_only_the_strict_check_they_are_about() {
    let v = json(INVALID);
    let case = |name: &str| -> Value {
        v["cases"]
            .as_array()
            .expect("cases")
            .iter()
            .find(|c| c["name"] == name)
            .cloned()
            .expect("vector")
    };
    let parts = |rec: &SignedRecord, tag: RecordKind| {
        let key = ed25519_dalek::VerifyingKey::from_bytes(rec.signatures[0].signer.as_bytes())
            .expect("a curve point");
        let sig = ed25519_dalek::Signature::from_bytes(&rec.signatures[0].signature.0);
        (key, sig, tag.signing_input(&rec.body))
    };
    // The small-order key's "signature" passes the unchecked cofactorless equation.
    let small = record(&case("small_order_public_key")["record"]);
    let (key, sig, msg) = parts(&small, RecordKind::CaseEvent);
    assert!(key.verify_strict(&msg, &sig).is_err());
    assert!(ed25519_dalek::Verifier::verify(&key, &msg, &sig).is_ok());
    // The other-domain signature is a good signature over the other tag's input.
    let other = record(&case("signature_over_another_domain_tag")["record"]);
    let (key, sig, _) = parts(&other, RecordKind::CaseEvent);
    let (_, _, cert_input) = parts(&other, RecordKind::MembershipCertificate);
    assert!(key.verify_strict(&cert_input, &sig).is_ok());
    // Malformed JSON bodies carry good signatures: only the strict parse refuses them.
    for c in v["cases"].as_array().expect("cases") {
        if c["expect"] != "record.malformed_body" {
            continue;
        }
        let rec = record(&c["record"]);
        let (key, sig, msg) = parts(&rec, RecordKind::CaseEvent);
        assert!(key.verify_strict(&msg, &sig).is_ok(), "{}", c["name"]);
    }
}

#[test]
fn protocol_md_lists_every_invalid_vector() {
    for case in json(INVALID)["cases"].as_array().expect("cases") {
        let row = format!(
            "| `{}` | {} | `{}` |",
            case["name"].as_str().expect("name"),
            case["check"].as_str().expect("check"),
            case["expect"].as_str().expect("expect")
        );
        assert!(
            PROTOCOL_MD.contains(&row),
            "docs/PROTOCOL.md section 12 lacks {row} (rerun gen_vectors with the doc path)"
        );
    }
}
