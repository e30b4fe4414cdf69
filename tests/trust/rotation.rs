//! A rotated key across real nodes: records an organisation signed with its old key
//! before the rotation, and with its new key after, verify on every node and with `ilm
//! verify`; the old key signs nothing dated after the rotation.

use super::*;

/// The key each of `org`'s signatures in a bundle names (None: its own id).
fn keys_named(bundle: &AttestationBundle, org: &OrgId) -> Vec<Option<OrgId>> {
    bundle
        .events
        .iter()
        .chain(std::iter::once(&bundle.attestation))
        .flat_map(|r| r.signatures.iter())
        .filter(|s| s.signer == *org)
        .map(|s| s.key)
        .collect()
}

#[test]
fn rotated_keys_verify_old_and_new_records_across_real_nodes() {
    let (net, cso, mut supplier, mut brand) = Net::with_cso_supplier_and_brand();
    brand.link_supplier(&supplier);
    let network = load_network(&net.genesis());
    let case = cso.escalate(&supplier, "Wages withheld for two months");
    wait_for("the supplier to hold the case", SOON, || {
        supplier.cases().contains(&case).then_some(())
    });
    supplier.append_event(
        &case,
        json!({ "type": "acknowledgement", "note": "Looking into it" }),
    );
    wait_for("the CSO to see the acknowledgement", SOON, || {
        (cso.case_status(&case) == "acknowledged").then_some(())
    });
    // The brand is offline while the supplier rotates: it learns of it when it comes back.
    brand.stop();
    supplier.stop();
    let old_keys = keys_of(&supplier);
    let old_cert = cert_record(&supplier);
    let req = net.tmp.path().join("rotation-request.json");
    let new_cert = net.tmp.path().join("rotated-cert.json");
    let path = |p: &std::path::Path| p.to_str().expect("utf8").to_string();
    ilm(&supplier.dir, &["key", "rotate", "--out", &path(&req)]);
    // A steward's key is handed over, not rotated (its certificates would stop verifying).
    let err = ilm_fails(&net.steward.dir, &["key", "rotate", "--out", &path(&req)]);
    assert!(err.contains("handed over"), "{err}");
    let requested_at = serde_json::from_slice::<SignedRecord>(&std::fs::read(&req).expect("read"))
        .expect("record")
        .verify_with::<KeyRotationRequest>(&|_: &OrgId| None)
        .expect("a request signed by the old and the new key")
        .body()
        .requested_at;
    // Until the steward's certificate is installed the node does not start: it would go on
    // signing with the key it asked to replace.
    let err = ilm_fails(&supplier.dir, &["run"]);
    assert!(err.contains("key rotation is pending"), "{err}");
    ilm(
        &net.steward.dir,
        &["member", "issue", &path(&req), "--out", &path(&new_cert)],
    );
    let joined = ilm(
        &supplier.dir,
        &["member", "join", &path(&net.genesis()), &path(&new_cert)],
    );
    assert!(joined.contains("new key"), "{joined}");
    let new_keys = keys_of(&supplier);
    assert_eq!(
        new_keys.org_id(),
        old_keys.org_id(),
        "the organisation keeps its id"
    );
    assert_ne!(new_keys.signing_key_id(), old_keys.signing_key_id());
    // `ilm verify` in the steward's directory binds the key it has just granted: the
    // certificate is in its register, and the network has not brought it back yet (the
    // supplier has not started since).
    while now() <= requested_at {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let granted = SignedRecord::sign(
        &CaseEvent {
            parents: vec![
                cso.event_hashes(&case)
                    .last()
                    .expect("events")
                    .parse()
                    .expect("hash"),
            ],
            author: new_keys.org_id(),
            authored_at: now(),
            case_nonce: None,
            payload: serde_json::from_value(
                json!({ "type": "acknowledgement", "note": "new key" }),
            )
            .expect("payload"),
            ..root_of(&cso, &case)
        },
        &new_keys,
    )
    .expect("sign");
    let granted_file = net.tmp.path().join("granted-key-event.json");
    std::fs::write(&granted_file, ilm_node::datadir::record_json(&granted)).expect("write");
    let out = ilm(&net.steward.dir, &["verify", &path(&granted_file)]);
    assert!(out.starts_with("VALID"), "at the steward: {out}");
    supplier.start();
    // New records carry the new key and are taken by the CSO.
    supplier.append_event(
        &case,
        json!({ "type": "remediation_plan", "description": "Pay the wages", "target_date": 1893456000 }),
    );
    supplier.append_event(
        &case,
        json!({
            "type": "remediation_action", "description": "Wages paid", "taken_at": now().0 - 60,
            "amount_repaid": { "minor_units": 900000, "currency": "THB" }, "workers_benefited": 3,
            "evidence": [],
        }),
    );
    supplier.append_event(
        &case,
        json!({ "type": "remediation_reported", "summary": "All 3 workers paid" }),
    );
    wait_for("the CSO to see the remediation reported", SOON, || {
        (cso.case_status(&case) == "remediation_reported").then_some(())
    });
    cso.post(
        &format!("/api/cases/{case}/verify"),
        &json!({ "verdict": "resolved", "workers_consulted": 3, "note": "Workers confirm" }),
    );
    // The supplier co-signs once it holds every event the draft covers.
    wait_for("the supplier to hold the verification", SOON, || {
        (supplier.event_hashes(&case) == cso.event_hashes(&case)).then_some(())
    });
    let digest = wait_for("the supplier to get the attestation draft", SOON, || {
        let v = supplier.get("/api/attestations");
        v["attestations"]
            .as_array()?
            .iter()
            .find(|a| a["case_ref"] == case.as_str() && a["awaiting_my_signature"] == true)
            .and_then(|a| a["digest"].as_str().map(str::to_string))
    });
    supplier.post(
        &format!("/api/attestations/{case}/cosign"),
        &json!({ "draft": digest }),
    );
    // The brand, back online, learns the rotation and verifies the whole attestation.
    brand.start();
    wait_for("the brand to verify the attestation", SOON, || {
        let v = brand.get("/api/supply-chain");
        v["suppliers"][0]["attestations"]
            .as_array()?
            .iter()
            .any(|a| a["signature_verified"] == true)
            .then_some(())
    });
    // Offline, with the real binary: the exported bundle carries the rotated certificate.
    let file = net.tmp.path().join("attestation.json");
    ilm(
        &cso.dir,
        &["attestation", "export", &case, "--out", &path(&file)],
    );
    let out = ilm(&brand.dir, &["verify", &path(&file)]);
    assert!(out.starts_with("VALID attestation"), "{out}");
    // What it verified: the supplier's signatures with the old key (none named) and with
    // the new one, attestation included.
    let bundle: AttestationBundle =
        serde_json::from_slice(&std::fs::read(&file).expect("read")).expect("bundle");
    let named = keys_named(&bundle, &new_keys.org_id());
    assert!(named.contains(&None), "{named:?}");
    assert!(
        named.contains(&Some(new_keys.signing_key_id())),
        "{named:?}"
    );
    assert_eq!(
        bundle.attestation.signatures[1].key,
        Some(new_keys.signing_key_id())
    );

    // Envelopes are dated by the second: let the rotation's second pass.
    while now() <= requested_at {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // Refused: an event signed with the old key and dated after the rotation, even inside
    // an envelope the new key signed...
    let cso_cert = cert_of(&cso);
    // On a case of their own, so that the accepted control leaves the first one alone.
    let case2 = cso.escalate(&supplier, "Passports kept by the employer");
    wait_for("the supplier to hold the second case", SOON, || {
        supplier.cases().contains(&case2).then_some(())
    });
    let heads = cso.event_hashes(&case2);
    let last: EventHash = heads.last().expect("events").parse().expect("hash");
    let root = root_of(&cso, &case2);
    let event = |keys: &OrgKeys, note: &str| {
        let body = CaseEvent {
            parents: vec![last],
            author: keys.org_id(),
            // After the rotation, whatever the clock's second.
            authored_at: now().max(requested_at.plus_secs(1)),
            case_nonce: None,
            payload: serde_json::from_value(json!({ "type": "acknowledgement", "note": note }))
                .expect("payload"),
            ..root.clone()
        };
        SignedRecord::sign(&body, keys).expect("sign")
    };
    let forged = event(&old_keys, "signed with the stolen key");
    let honest = event(&new_keys, "signed with the current key");
    let outcomes = deliver_as_member(
        &network,
        &supplier,
        &cso,
        vec![
            seal_event(
                &network,
                &new_keys,
                &forged,
                std::slice::from_ref(&cso_cert),
            ),
            seal_event(
                &network,
                &new_keys,
                &honest,
                std::slice::from_ref(&cso_cert),
            ),
        ],
    );
    rejected(&outcomes[0], "was not its key at that time");
    // ...while the same event signed with the new key is taken.
    assert_eq!(outcomes[1], AckOutcome::Accepted);
    // Refused: an envelope signed with the old key.
    let outcomes = deliver_as_member(
        &network,
        &supplier,
        &cso,
        vec![seal_event(
            &network,
            &old_keys,
            &honest,
            std::slice::from_ref(&cso_cert),
        )],
    );
    rejected(&outcomes[0], "not the sender's at that time");
    // Refused: a peer connecting with the old key and the old (still validly signed)
    // certificate.
    let hello = Hello {
        certificate: old_cert,
        revocations: vec![],
        successions: vec![],
    };
    let answers = deliver_as(
        &network,
        &old_keys,
        hello,
        &cso,
        vec![seal_event(
            &network,
            &old_keys,
            &honest,
            std::slice::from_ref(&cso_cert),
        )],
    );
    assert!(answers[0].is_err(), "{:?}", answers[0]);
    // `ilm verify` of one record the new key signed: valid where the rotated certificate is
    // known (the brand's data directory, its node running, which holds the database, or
    // stopped), refused as unbound where it is not.
    let single = net.tmp.path().join("rotated-event.json");
    std::fs::write(&single, ilm_node::datadir::record_json(&honest)).expect("write");
    let out = ilm(&brand.dir, &["verify", &path(&single)]);
    assert!(out.starts_with("VALID"), "while the node runs: {out}");
    // And the old key's record dated after the rotation is refused there, the node running.
    let stolen = net.tmp.path().join("stolen-key-event.json");
    std::fs::write(&stolen, ilm_node::datadir::record_json(&forged)).expect("write");
    let err = ilm_fails(&brand.dir, &["verify", &path(&stolen)]);
    assert!(
        err.contains("not its key at that time"),
        "while the node runs: {err}"
    );
    brand.stop();
    let out = ilm(&brand.dir, &["verify", &path(&single)]);
    assert!(out.starts_with("VALID"), "{out}");
    let elsewhere = net.tmp.path().join("not-a-node");
    let err = ilm_fails(&elsewhere, &["verify", &path(&single)]);
    assert!(err.contains("not its key at that time"), "{err}");
}
