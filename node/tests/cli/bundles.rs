//! `ilm verify` of attestation bundles: a valid bundle verifies and a tampered one does
//! not; without a pinned network it says so; a co-signer revoked before it signed, or a
//! bundle of another network, is refused.

use super::*;

/// 2026-01-01T00:00:00Z: the sample case starts one day later.
const SAMPLE_T0: Timestamp = Timestamp(1_767_225_600);

/// The sample network's steward keys (they sign its genesis and revocations).
fn sample_steward() -> OrgKeys {
    OrgKeys::from_secret_bytes([1; 32], [101; 32])
}

/// A revocation of the sample bundle's supplier (the co-signer) at `at`.
fn sample_revocation_of_supplier(at: Timestamp) -> SignedRecord {
    let bundle = sample_bundle();
    let net = Network::from_genesis(&bundle.genesis).expect("network");
    let supplier = OrgKeys::from_secret_bytes([3; 32], [103; 32]).org_id();
    SignedRecord::sign(
        &Revocation {
            network_id: net.id(),
            org_id: supplier,
            reason: "Suspended".into(),
            revoked_at: at,
            issuer: sample_steward().org_id(),
        },
        &sample_steward(),
    )
    .expect("revocation")
}

/// Builds a complete attestation bundle with in-process keys, as a node would export it.
fn sample_bundle() -> AttestationBundle {
    let t0 = SAMPLE_T0;
    let k = |n: u8| OrgKeys::from_secret_bytes([n; 32], [n + 100; 32]);
    let (steward, cso, supplier) = (k(1), k(2), k(3));
    let genesis = SignedRecord::sign(
        &NetworkGenesis {
            name: "Sample".into(),
            stewards: vec![steward.org_id()],
            created_at: t0,
        },
        &steward,
    )
    .expect("genesis");
    let net = Network::from_genesis(&genesis).expect("network");
    let cert = |keys: &OrgKeys, role: Role| {
        SignedRecord::sign(
            &MembershipCertificate {
                network_id: net.id(),
                org_id: keys.org_id(),
                name: format!("{role} org"),
                role,
                country: "TH".parse().expect("country"),
                encryption_key: keys.encryption_key(),
                not_before: t0,
                not_after: t0.plus_days(365),
                issuer: steward.org_id(),
                issued_at: t0,
                signing_key: None,
                earlier_keys: Vec::new(),
            },
            &steward,
        )
        .expect("cert")
    };
    let case = CaseRef::derive(&cso.org_id(), &CaseNonce([5; 16]));
    let mut events: Vec<SignedRecord> = Vec::new();
    let mut add = |author: &OrgKeys, day: u64, payload: EventPayload| {
        let parents = events.last().map(|e| vec![e.digest()]).unwrap_or_default();
        let ev = CaseEvent {
            network_id: net.id(),
            case_ref: case,
            case_nonce: parents.is_empty().then_some(CaseNonce([5; 16])),
            parents,
            author: author.org_id(),
            authored_at: t0.plus_days(day),
            payload,
        };
        events.push(SignedRecord::sign(&ev, author).expect("event"));
    };
    add(
        &cso,
        1,
        EventPayload::Escalation(Escalation {
            to: supplier.org_id(),
            categories: vec![IssueCategory::WithholdingOfWages],
            workers_affected: 10,
            site: "Site A".into(),
            requested_remedy: "Pay wages".into(),
            description: "Wages unpaid for two months".into(),
            recruitment_fees: None,
            acknowledge_by: t0.plus_days(8),
            remediate_by: t0.plus_days(40),
        }),
    );
    add(
        &supplier,
        2,
        EventPayload::Acknowledgement { note: "ok".into() },
    );
    add(
        &supplier,
        20,
        EventPayload::RemediationReported {
            summary: "Paid".into(),
        },
    );
    add(
        &cso,
        25,
        EventPayload::WorkerVerification {
            verdict: Verdict::Resolved,
            workers_consulted: 4,
            note: "confirmed".into(),
        },
    );
    let mut att = SignedRecord::sign(
        &RemediationAttestation {
            network_id: net.id(),
            case_ref: case,
            cso: cso.org_id(),
            remediating_party: supplier.org_id(),
            categories: vec![IssueCategory::WithholdingOfWages],
            summary: "Back wages paid".into(),
            workers_benefited: 10,
            amounts_repaid: vec![],
            remediated_at: t0.plus_days(20),
            verdict: Verdict::Resolved,
            verified_at: t0.plus_days(25),
            events: events.iter().map(SignedRecord::digest).collect(),
            issued_at: t0.plus_days(26),
        },
        &cso,
    )
    .expect("attestation");
    att.cosign(&supplier);
    AttestationBundle {
        format: BundleFormat::V1,
        genesis,
        successions: Vec::new(),
        certificates: vec![cert(&cso, Role::Cso), cert(&supplier, Role::Supplier)],
        events,
        attestation: att,
    }
}

#[test]
fn verify_accepts_a_valid_bundle_and_rejects_a_tampered_one() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let bundle = sample_bundle();
    let good = tmp.path().join("bundle.json");
    std::fs::write(&good, serde_json::to_vec_pretty(&bundle).expect("json")).expect("write");
    let network = tmp.path().join("network.json");
    std::fs::write(&network, ilm_node::datadir::record_json(&bundle.genesis)).expect("write");
    // Any machine, no node at all: an empty data dir and the network genesis it trusts.
    ilm(&tmp.path().join("nobody"))
        .arg("verify")
        .arg(&good)
        .arg("--network")
        .arg(&network)
        .assert()
        .success()
        .stdout(
            predicate::str::starts_with("VALID attestation")
                .and(predicate::str::contains("10 workers benefited")),
        );
    let mut missing_cso = bundle.clone();
    missing_cso.attestation.signatures.remove(0);
    let bad = tmp.path().join("bad.json");
    std::fs::write(&bad, serde_json::to_vec_pretty(&missing_cso).expect("json")).expect("write");
    ilm(&tmp.path().join("nobody"))
        .arg("verify")
        .arg(&bad)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("INVALID: attestation"));
    // One flipped bit in the middle of the file (inside hex-encoded signed bytes).
    let mut flipped = std::fs::read(&good).expect("read");
    let pos = flipped.len() / 2;
    flipped[pos] ^= 0x01;
    std::fs::write(&bad, &flipped).expect("write");
    ilm(&tmp.path().join("nobody"))
        .arg("verify")
        .arg(&bad)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("INVALID"));
}

#[test]
fn verify_without_a_pinned_network_says_so_with_its_own_exit_status() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let good = tmp.path().join("bundle.json");
    std::fs::write(
        &good,
        serde_json::to_vec_pretty(&sample_bundle()).expect("json"),
    )
    .expect("write");
    // Consistent with its own genesis, but anyone can make a look-alike network: not VALID.
    ilm(&tmp.path().join("nobody"))
        .arg("verify")
        .arg(&good)
        .assert()
        .code(3)
        .stdout(
            predicate::str::starts_with("UNPINNED")
                .and(predicate::str::contains("VALID").not())
                .and(predicate::str::contains("--network")),
        );
    let out = ilm(&tmp.path().join("nobody"))
        .args(["--json", "verify"])
        .arg(&good)
        .assert()
        .code(3)
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).expect("json");
    assert_eq!(v["result"], "unpinned");
    assert_eq!(v["valid"], serde_json::Value::Null);
}

#[test]
fn verify_rejects_a_bundle_whose_cosigner_was_revoked_before_signing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let bundle = sample_bundle();
    let good = tmp.path().join("bundle.json");
    std::fs::write(&good, serde_json::to_vec_pretty(&bundle).expect("json")).expect("write");
    let network = tmp.path().join("network.json");
    std::fs::write(&network, ilm_node::datadir::record_json(&bundle.genesis)).expect("write");
    let verify = |revocations: &Path| {
        ilm(&tmp.path().join("nobody"))
            .arg("verify")
            .arg(&good)
            .arg("--network")
            .arg(&network)
            .arg("--revocations")
            .arg(revocations)
            .assert()
    };
    // The attestation was issued on day 26; the supplier was revoked on day 25.
    let before = tmp.path().join("revoked-day-25.json");
    let rev = sample_revocation_of_supplier(SAMPLE_T0.plus_days(25));
    std::fs::write(&before, ilm_node::datadir::record_json(&rev)).expect("write");
    verify(&before).code(1).stderr(
        predicate::str::contains("INVALID")
            .and(predicate::str::contains("supplier org"))
            .and(predicate::str::contains("revoked at")),
    );
    // Positive control: a revocation after the signature leaves the bundle valid, as
    // signatures made before a revocation stay valid.
    let after = tmp.path().join("revoked-day-30.json");
    let rev = sample_revocation_of_supplier(SAMPLE_T0.plus_days(30));
    std::fs::write(
        &after,
        format!(
            "[{}]",
            String::from_utf8_lossy(&ilm_node::datadir::record_json(&rev))
        ),
    )
    .expect("write");
    verify(&after)
        .success()
        .stdout(predicate::str::starts_with("VALID attestation"));
    // A revocation that no steward of the network signed is refused, not ignored.
    let forged = tmp.path().join("forged.json");
    let mut rec = sample_revocation_of_supplier(SAMPLE_T0.plus_days(25));
    rec.signatures[0].signature.0[0] ^= 1;
    std::fs::write(&forged, ilm_node::datadir::record_json(&rec)).expect("write");
    verify(&forged)
        .code(1)
        .stderr(predicate::str::contains("did not sign"));
}

#[test]
fn a_bundle_of_another_network_is_refused_when_a_network_is_trusted() {
    let net = Net::new();
    net.steward();
    let bundle = net.p("bundle.json");
    std::fs::write(
        &bundle,
        serde_json::to_vec_pretty(&sample_bundle()).expect("json"),
    )
    .expect("write");
    ilm(&net.p("s"))
        .arg("verify")
        .arg(&bundle)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not the trusted network"));
    ilm(&net.p("nobody"))
        .arg("verify")
        .arg(&bundle)
        .arg("--network")
        .arg(net.p("network.json"))
        .assert()
        .code(1);
}
