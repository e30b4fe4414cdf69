//! Checks the JSON test vectors in `tests/vectors/` against the crate, and against raw
//! primitives (ed25519-dalek, SHA-256, X25519, ChaCha20-Poly1305 and a from-scratch RFC 9180
//! key schedule) to show that the recipe in docs/PROTOCOL.md is enough to verify records and
//! open envelopes without this crate.
//!
//! Regenerate the vectors with
//! `cargo run -p ilm-protocol --example gen_vectors -- protocol/tests/vectors docs/PROTOCOL.md`.

#[path = "support/rfc9180.rs"]
mod rfc9180;

use chacha20poly1305::ChaCha20Poly1305;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use ed25519_dalek::Signer as _;
use ilm_protocol::bytes::{from_hex, to_hex};
use ilm_protocol::envelope::HPKE_INFO;
use ilm_protocol::membership::verify_request;
use ilm_protocol::*;
use serde_json::Value;
use std::collections::BTreeMap;

const RECORDS: &str = include_str!("vectors/records.json");
const ENVELOPE: &str = include_str!("vectors/envelope.json");
const BUNDLE: &str = include_str!("vectors/bundle.json");
const PROTOCOL_MD: &str = include_str!("../../docs/PROTOCOL.md");

fn records_json() -> Value {
    serde_json::from_str(RECORDS).expect("records.json is valid JSON")
}

fn envelope_json() -> Value {
    serde_json::from_str(ENVELOPE).expect("envelope.json is valid JSON")
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("vector field {key:?} is missing or not a string in {v}"))
}

fn hex(v: &Value, key: &str) -> Vec<u8> {
    from_hex(text(v, key)).unwrap_or_else(|e| panic!("vector field {key:?} is not hex: {e}"))
}

fn hex32(v: &Value, key: &str) -> [u8; 32] {
    hex(v, key)
        .try_into()
        .unwrap_or_else(|_| panic!("vector field {key:?} is not 32 bytes"))
}

fn list<'a>(v: &'a Value, key: &str) -> &'a Vec<Value> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("vector field {key:?} is missing or not a list"))
}

/// Test organisations by name: (ed25519 seed, x25519 secret).
fn secrets(v: &Value) -> BTreeMap<String, ([u8; 32], [u8; 32])> {
    list(v, "keys")
        .iter()
        .map(|k| {
            (
                text(k, "name").to_string(),
                (hex32(k, "ed25519_seed"), hex32(k, "x25519_secret")),
            )
        })
        .collect()
}

fn org_keys(v: &Value, name: &str) -> OrgKeys {
    let (seed, x) = secrets(v)
        .get(name)
        .copied()
        .unwrap_or_else(|| panic!("no key named {name}"));
    OrgKeys::from_secret_bytes(seed, x)
}

fn record_vectors(v: &Value) -> &Vec<Value> {
    list(v, "records")
}

fn record_named(v: &Value, name: &str) -> SignedRecord {
    let rv = record_vectors(v)
        .iter()
        .find(|r| text(r, "name") == name)
        .unwrap_or_else(|| panic!("no record named {name}"));
    serde_json::from_value(rv["record"].clone()).expect("record parses as a SignedRecord")
}

/// The signing input built by hand, exactly as the document describes it.
fn manual_signing_input(tag: &str, body: &[u8]) -> Vec<u8> {
    let mut out = b"ilm/v1/".to_vec();
    out.extend_from_slice(tag.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(body);
    out
}

/// Each organisation's newest certificate among the record vectors (after a key rotation, the
/// one that names its keys).
fn newest_certificates(v: &Value) -> BTreeMap<OrgId, MembershipCertificate> {
    let mut newest: BTreeMap<OrgId, MembershipCertificate> = BTreeMap::new();
    for rv in record_vectors(v) {
        if text(rv, "kind") != "membership-certificate" {
            continue;
        }
        let c: MembershipCertificate =
            serde_json::from_str(text(rv, "body_utf8")).expect("certificate body");
        if newest
            .get(&c.org_id)
            .is_none_or(|old| old.issued_at < c.issued_at)
        {
            newest.insert(c.org_id, c);
        }
    }
    newest
}

/// Verifies with the body's own type (keys bound by the newest certificates), and checks the
/// crate's writer reproduces the body bytes.
fn verify_and_reencode(record: &SignedRecord, certs: &BTreeMap<OrgId, MembershipCertificate>) {
    fn check<T: RecordBody>(record: &SignedRecord, certs: &BTreeMap<OrgId, MembershipCertificate>) {
        let book = |org: &OrgId| certs.get(org).cloned();
        let verified = record
            .verify_with::<T>(&book)
            .unwrap_or_else(|e| panic!("{} record does not verify: {e}", record.kind.tag()));
        let again = serde_json::to_vec(verified.body()).expect("body re-encodes");
        assert_eq!(
            again,
            record.body,
            "the crate no longer writes {} bodies byte for byte as the vectors do",
            record.kind.tag()
        );
    }
    match record.kind {
        RecordKind::NetworkGenesis => check::<NetworkGenesis>(record, certs),
        RecordKind::MembershipRequest => check::<MembershipRequest>(record, certs),
        RecordKind::MembershipCertificate => check::<MembershipCertificate>(record, certs),
        RecordKind::Revocation => check::<Revocation>(record, certs),
        RecordKind::CaseEvent => check::<CaseEvent>(record, certs),
        RecordKind::RemediationAttestation => check::<RemediationAttestation>(record, certs),
        RecordKind::SupplyChainLink => check::<SupplyChainLink>(record, certs),
        // Checked by the steward before the rotation, with the key of then: the supplier's
        // joining key (no certificate needed for a first rotation).
        RecordKind::KeyRotationRequest => check::<KeyRotationRequest>(record, &BTreeMap::new()),
        RecordKind::StewardSuccession => check::<StewardSuccession>(record, certs),
        RecordKind::PublishedStatistics => check::<PublishedStatistics>(record, certs),
        RecordKind::ImprovementActivity => check::<ImprovementActivity>(record, certs),
        RecordKind::JobListing => check::<JobListing>(record, certs),
        RecordKind::RatingSummary => check::<RatingSummary>(record, certs),
        RecordKind::RatingAnswer => check::<RatingAnswer>(record, certs),
        RecordKind::BrokerAlert => check::<BrokerAlert>(record, certs),
        RecordKind::AlertProposal => check::<AlertProposal>(record, certs),
    }
}

#[test]
fn keys_derive_from_their_seeds() {
    let v = records_json();
    for k in list(&v, "keys") {
        let seed = hex32(k, "ed25519_seed");
        let x_secret = hex32(k, "x25519_secret");
        let public = ed25519_dalek::SigningKey::from_bytes(&seed)
            .verifying_key()
            .to_bytes();
        assert_eq!(to_hex(&public), text(k, "ed25519_public"), "{k}");
        assert_eq!(
            to_hex(&rfc9180::x25519_public(&x_secret)),
            text(k, "x25519_public"),
            "{k}"
        );
        let keys = OrgKeys::from_secret_bytes(seed, x_secret);
        assert_eq!(keys.org_id().to_hex(), text(k, "ed25519_public"));
        assert_eq!(keys.encryption_key().to_hex(), text(k, "x25519_public"));
    }
}

#[test]
fn every_kind_has_a_vector() {
    let v = records_json();
    for kind in [
        RecordKind::NetworkGenesis,
        RecordKind::MembershipRequest,
        RecordKind::MembershipCertificate,
        RecordKind::Revocation,
        RecordKind::CaseEvent,
        RecordKind::RemediationAttestation,
        RecordKind::SupplyChainLink,
        RecordKind::KeyRotationRequest,
        RecordKind::StewardSuccession,
        RecordKind::PublishedStatistics,
        RecordKind::ImprovementActivity,
        RecordKind::JobListing,
        RecordKind::RatingSummary,
        RecordKind::RatingAnswer,
        RecordKind::BrokerAlert,
        RecordKind::AlertProposal,
    ] {
        assert!(
            record_vectors(&v)
                .iter()
                .any(|r| text(r, "kind") == kind.tag()),
            "no vector for {}",
            kind.tag()
        );
    }
    let mut payloads = std::collections::BTreeSet::new();
    for r in record_vectors(&v) {
        if text(r, "kind") == "case-event" {
            let body: CaseEvent =
                serde_json::from_str(text(r, "body_utf8")).expect("event body parses");
            payloads.insert(body.payload.kind());
        }
    }
    assert_eq!(
        payloads.len(),
        EventKind::ALL.len(),
        "every event payload type has a vector"
    );
}

#[test]
fn records_match_signing_inputs_digests_and_signatures() {
    let v = records_json();
    let secrets = secrets(&v);
    for rv in record_vectors(&v) {
        let name = text(rv, "name");
        let tag = text(rv, "kind");
        let body = hex(rv, "body_hex");
        assert_eq!(
            text(rv, "body_utf8").as_bytes(),
            &body[..],
            "{name}: body text"
        );
        let record: SignedRecord =
            serde_json::from_value(rv["record"].clone()).expect("record parses");
        assert_eq!(record.kind.tag(), tag, "{name}: kind");
        assert_eq!(record.body, body, "{name}: record body");

        let input = hex(rv, "signing_input_hex");
        assert_eq!(
            manual_signing_input(tag, &body),
            input,
            "{name}: signing input"
        );
        assert_eq!(
            record.kind.signing_input(&body),
            input,
            "{name}: crate input"
        );

        let digest = rfc9180::sha256(&[&input]);
        assert_eq!(to_hex(&digest), text(rv, "digest"), "{name}: digest");
        assert_eq!(record.digest().0, digest, "{name}: crate digest");

        let sigs = list(rv, "signatures");
        assert_eq!(
            sigs.len(),
            record.signatures.len(),
            "{name}: signature count"
        );
        let mut resigned = SignedRecord {
            kind: record.kind,
            body: body.clone(),
            signatures: Vec::new(),
        };
        for (sv, rs) in sigs.iter().zip(&record.signatures) {
            let signer = text(sv, "signer");
            let (seed, x) = secrets[signer];
            assert_eq!(rs.signer.to_hex(), text(sv, "signer_id"), "{name}");
            assert_eq!(rs.signature.to_hex(), text(sv, "signature"), "{name}");
            // After a rotation the signature names its key; otherwise the signer's id is it.
            let key_field = if sv.get("key_id").is_some() {
                assert_eq!(
                    rs.key.map(|k| k.to_hex()),
                    Some(text(sv, "key_id").to_string())
                );
                "key_id"
            } else {
                assert_eq!(rs.key, None, "{name}");
                "signer_id"
            };
            // ed25519 is deterministic: the same key over the same input gives the same bytes.
            let raw = ed25519_dalek::SigningKey::from_bytes(&seed).sign(&input);
            assert_eq!(to_hex(&raw.to_bytes()), text(sv, "signature"), "{name}");
            resigned.cosign(&OrgKeys::from_secret_bytes(seed, x).rotated(rs.signer, vec![]));
            // Raw ed25519-dalek, no crate helper: strict verification over the manual input.
            let key = ed25519_dalek::VerifyingKey::from_bytes(&hex32(sv, key_field))
                .expect("the signing key is an ed25519 point");
            let sig = ed25519_dalek::Signature::from_bytes(
                &hex(sv, "signature")
                    .try_into()
                    .expect("signature is 64 bytes"),
            );
            key.verify_strict(&manual_signing_input(tag, &body), &sig)
                .unwrap_or_else(|e| panic!("{name}: raw ed25519 verification failed: {e}"));
        }
        assert_eq!(resigned, record, "{name}: re-signing gives the same record");
        verify_and_reencode(&record, &newest_certificates(&v));

        // One flipped bit anywhere in the body breaks the signature.
        let mut tampered = record.clone();
        tampered.body[body.len() / 2] ^= 0x01;
        let input = manual_signing_input(tag, &tampered.body);
        let sv = &sigs[0];
        let key = ed25519_dalek::VerifyingKey::from_bytes(&hex32(sv, "signer_id"))
            .expect("signer id is an ed25519 point");
        let sig = ed25519_dalek::Signature::from_bytes(
            &hex(sv, "signature")
                .try_into()
                .expect("signature is 64 bytes"),
        );
        assert!(key.verify_strict(&input, &sig).is_err(), "{name}: tamper");
    }
}

#[test]
fn record_files_refuse_uppercase_hex() {
    let v = records_json();
    let mut record = record_vectors(&v)[0]["record"].clone();
    let upper = text(&record, "body").to_uppercase();
    record["body"] = Value::String(upper);
    assert!(serde_json::from_value::<SignedRecord>(record).is_err());
}

#[test]
fn network_id_is_the_genesis_digest_prefix() {
    let v = records_json();
    let genesis = record_named(&v, text(&v["network"], "genesis_record"));
    let network = Network::from_genesis(&genesis).expect("genesis verifies");
    let digest = hex(&v["network"], "genesis_digest");
    assert_eq!(genesis.digest().0.to_vec(), digest);
    assert_eq!(network.id().to_hex(), text(&v["network"], "network_id"));
    assert_eq!(network.id().0.to_vec(), digest[..16].to_vec());
}

#[test]
fn membership_records_and_validity_rules() {
    let v = records_json();
    let network = Network::from_genesis(&record_named(&v, "genesis")).expect("genesis verifies");
    verify_request(&record_named(&v, "request_agency")).expect("request verifies");
    for rv in record_vectors(&v) {
        if text(rv, "kind") == "membership-certificate" {
            network
                .verify_certificate(&record_named(&v, text(rv, "name")))
                .unwrap_or_else(|e| panic!("{}: {e}", text(rv, "name")));
        }
    }
    let checks = list(&v, "membership_checks");
    assert!(!checks.is_empty());
    for c in checks {
        let mut revocations = RevocationList::new();
        for r in list(c, "revocations") {
            let name = r.as_str().expect("revocation name");
            let rev = network
                .check_revocation(&record_named(&v, name))
                .expect("revocation verifies");
            revocations.add(&rev);
        }
        let at = Timestamp(c["at"].as_u64().expect("at is a number"));
        let cert = record_named(&v, text(c, "certificate"));
        let got = match network.check_certificate(&cert, at, &revocations) {
            Ok(_) => "valid",
            Err(MembershipError::NotYetValid { .. }) => "not_yet_valid",
            Err(MembershipError::Expired { .. }) => "expired",
            Err(MembershipError::Revoked(_)) => "revoked",
            Err(e) => panic!("unexpected error {e}"),
        };
        assert_eq!(got, text(c, "expect"), "{c}");
    }
    let link = record_named(&v, "link_brand_supplier")
        .verify::<SupplyChainLink>()
        .expect("link verifies");
    assert!(link.body().roles_fit(Role::Brand, Role::Supplier));
    assert_eq!(link.body().network_id, network.id());
}

#[test]
fn case_history_heads_and_order() {
    let v = records_json();
    let network = Network::from_genesis(&record_named(&v, "genesis")).expect("genesis verifies");
    let mut certs = BTreeMap::new();
    for name in [
        "certificate_cso",
        "certificate_supplier",
        "certificate_brand",
    ] {
        let c = network
            .verify_certificate(&record_named(&v, name))
            .expect("certificate verifies");
        certs.insert(c.body().org_id, c.body().clone());
    }
    let cert_of = |org: &OrgId, _at: Timestamp| certs.get(org).cloned();
    let case = &v["case"];
    let case_ref: CaseRef = text(case, "case_ref").parse().expect("case_ref");
    let mut history = CaseHistory::new(network.id(), case_ref);
    let mut names = BTreeMap::new();
    for name in list(case, "appended") {
        let name = name.as_str().expect("event name");
        let rec = record_named(&v, name);
        names.insert(rec.digest(), name.to_string());
        match history.insert(&rec, &cert_of) {
            Ok(Inserted::New(h)) => assert_eq!(h, rec.digest()),
            other => panic!("{name}: {other:?}"),
        }
        // Replays are no-ops.
        assert!(matches!(
            history.insert(&rec, &cert_of),
            Ok(Inserted::Duplicate(_))
        ));
    }
    let heads: Vec<String> = history.heads().iter().map(|h| h.to_hex()).collect();
    let want_heads: Vec<&str> = list(case, "heads")
        .iter()
        .map(|h| h.as_str().expect("head"))
        .collect();
    assert_eq!(heads, want_heads);
    let order: Vec<&str> = history
        .ordered()
        .iter()
        .map(|e| names[&e.digest()].as_str())
        .collect();
    let want_order: Vec<&str> = list(case, "order")
        .iter()
        .map(|h| h.as_str().expect("name"))
        .collect();
    assert_eq!(order, want_order);
    // The attestation covers exactly these events, in this order.
    let att = record_named(&v, "attestation")
        .verify::<RemediationAttestation>()
        .expect("attestation verifies");
    let covered: Vec<&str> = att
        .body()
        .events
        .iter()
        .map(|h| names[h].as_str())
        .collect();
    assert_eq!(covered, want_order);
}

#[test]
fn bundle_verifies_and_matches_the_records() {
    let v = records_json();
    let bundle: AttestationBundle = serde_json::from_str(BUNDLE).expect("bundle.json parses");
    let summary = bundle.verify().expect("bundle verifies");
    assert_eq!(
        serde_json::to_value(&summary).expect("summary encodes"),
        v["bundle_summary"]
    );
    assert_eq!(bundle.genesis, record_named(&v, "genesis"));
    assert_eq!(bundle.attestation, record_named(&v, "attestation"));
    let order: Vec<SignedRecord> = list(&v["case"], "order")
        .iter()
        .map(|n| record_named(&v, n.as_str().expect("name")))
        .collect();
    assert_eq!(bundle.events, order);
    for cert in &bundle.certificates {
        assert!(
            record_vectors(&v)
                .iter()
                .any(|r| text(r, "digest") == cert.digest().to_hex()),
            "bundle certificate is one of the vectors"
        );
    }
    // Events listed in any order still verify (the bundle replays them).
    let mut reversed = bundle.clone();
    reversed.events.reverse();
    assert_eq!(
        reversed.verify().expect("reversed bundle verifies"),
        summary
    );
}

#[test]
fn protocol_md_carries_the_same_vectors() {
    let r = records_json();
    let e = envelope_json();
    let mut wanted: Vec<String> = Vec::new();
    for k in list(&r, "keys") {
        for f in [
            "ed25519_seed",
            "ed25519_public",
            "x25519_secret",
            "x25519_public",
        ] {
            wanted.push(text(k, f).to_string());
        }
    }
    wanted.push(text(&r["network"], "network_id").to_string());
    wanted.push(text(&r["network"], "genesis_digest").to_string());
    for rv in record_vectors(&r) {
        wanted.push(text(rv, "digest").to_string());
        for s in list(rv, "signatures") {
            wanted.push(text(s, "signature").to_string());
        }
    }
    for f in ["signature", "content_key", "signing_input_sha256"] {
        wanted.push(text(&e, f).to_string());
    }
    for w in list(&e, "wraps") {
        for f in [
            "ephemeral_ikm",
            "ephemeral_secret",
            "enc",
            "dh",
            "shared_secret",
            "key",
            "base_nonce",
            "sealed_key",
        ] {
            wanted.push(text(w, f).to_string());
        }
    }
    wanted.push(text(&e, "header_utf8").to_string());
    wanted.push(text(&e, "plaintext_utf8").to_string());
    let missing: Vec<&String> = wanted
        .iter()
        .filter(|w| !PROTOCOL_MD.contains(w.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/PROTOCOL.md lacks {} vector values (rerun gen_vectors with the doc path): {missing:?}",
        missing.len()
    );
    assert!(PROTOCOL_MD.contains("<!-- BEGIN TEST VECTORS"));
    assert!(PROTOCOL_MD.contains("<!-- END TEST VECTORS -->"));
}

/// The envelope vector: its fields, signature and opening, by the crate and by hand.
#[path = "vectors/envelope.rs"]
mod envelope;
