//! The trust model across real nodes, against members running modified programs (their real
//! keys and certificates, any message on the wire): status reports, disclosures and case
//! references are bound to the case's owner, a revocation is never replaced by an older one,
//! and a rotated key signs nothing dated after its rotation.

#[path = "support/mod.rs"]
mod support;

use ilm_node::net::proto::{AckOutcome, CaseHeads, Hello, Request, Response, SyncRequest};
use ilm_protocol::*;
use serde_json::{Value, json};
use support::wire::*;
use support::*;

fn rejected(outcome: &AckOutcome, why: &str) {
    match outcome {
        AckOutcome::Rejected(reason) => assert!(reason.contains(why), "{reason}"),
        other => panic!("expected a rejection ({why}), got {other:?}"),
    }
}

/// The root event of a case as `node` holds it.
fn root_of(node: &Node, case: &str) -> CaseEvent {
    let v = node.get(&format!("/api/cases/{case}"));
    let first = &v["events"][0];
    assert!(first["parents"].as_array().is_some_and(|p| p.is_empty()));
    serde_json::from_value(v["state"]["nonce"].clone())
        .map(|nonce: CaseNonce| CaseEvent {
            network_id: v["state"]["network_id"]
                .as_str()
                .expect("id")
                .parse()
                .expect("id"),
            case_ref: case.parse().expect("case"),
            case_nonce: Some(nonce),
            parents: vec![],
            author: first["author"]
                .as_str()
                .expect("author")
                .parse()
                .expect("author"),
            authored_at: Timestamp(first["authored_at"].as_u64().expect("time")),
            payload: serde_json::from_value(first["event"].clone()).expect("payload"),
        })
        .expect("the case's nonce")
}

fn report(case: &str, cso: &Node, supplier: &Node, nonce: CaseNonce, status: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "case_ref": case, "case_nonce": nonce, "cso": cso.org_id, "supplier": supplier.org_id,
        "status": status, "stage": "resolved", "categories": ["withholding_of_wages"],
        "workers_affected": 3, "escalated_at": 1, "acknowledge_by": 2, "remediate_by": 3,
        "acknowledged_at": 2, "remediated_at": 3, "verified_at": 4, "reported_at": now().0,
    }))
    .expect("json")
}

fn brand_reports(brand: &Node, case: &str) -> Vec<Value> {
    let v = brand.get("/api/supply-chain");
    v["suppliers"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["cases"].as_array().cloned().unwrap_or_default())
        .filter(|c| c["case_ref"] == case)
        .collect()
}

#[test]
fn status_reports_disclosures_and_case_references_are_bound_to_the_owner() {
    let mut net = Net::new();
    net.steward.start();
    let mut cso = net.member("cso", "cso");
    let mut other = net.member("other-cso", "cso");
    let mut supplier = net.member("supplier", "supplier");
    let mut brand = net.member("brand", "brand");
    for n in [&mut cso, &mut other, &mut supplier, &mut brand] {
        n.start();
    }
    let network = load_network(&net.genesis());
    brand.link_supplier(&supplier);
    wait_for("the CSO to hold the link", SOON, || {
        cso.get("/api/links")["links"]
            .as_array()
            .is_some_and(|l| l.iter().any(|x| x["complete"] == true))
            .then_some(())
    });
    let case = cso.escalate(&supplier, "Wages withheld for two months");
    wait_for("the brand to receive the CSO's report", SOON, || {
        (brand_reports(&brand, &case).len() == 1).then_some(())
    });
    wait_for("the supplier to hold the case", SOON, || {
        supplier.cases().contains(&case).then_some(())
    });
    let root = root_of(&supplier, &case);
    let nonce = root.case_nonce.expect("nonce");

    // The supplier forges its brand's view: "resolved", in its own name or the CSO's.
    supplier.stop();
    let keys = keys_of(&supplier);
    let forged: Vec<Envelope> = [&supplier, &cso]
        .iter()
        .map(|named| {
            seal(
                &network,
                &keys,
                MessageKind::StatusReport,
                &report(&case, named, &supplier, nonce, "resolved"),
                &[cert_of(&brand)],
            )
        })
        .collect();
    for outcome in deliver_as_member(&network, &supplier, &brand, forged) {
        rejected(&outcome, "a supplier may not send a status report");
    }
    supplier.start();
    // Another CSO reports on this CSO's case: the reference does not derive from it.
    other.stop();
    let from_other = seal(
        &network,
        &keys_of(&other),
        MessageKind::StatusReport,
        &report(&case, &other, &supplier, nonce, "resolved"),
        &[cert_of(&brand)],
    );
    let out = deliver_as_member(&network, &other, &brand, vec![from_other]);
    rejected(&out[0], "only the CSO that owns the case");
    let reports = brand_reports(&brand, &case);
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0]["cso"], cso.org_id.as_str());
    assert_eq!(reports[0]["status"], "escalated");

    // The other CSO plants identities in this CSO's case at the supplier.
    let identities = json!({ "case_ref": case, "identities": [{
        "name": "PLANTED NAME", "phone": "+66 000", "messenger_id": "x", "id_numbers": [] }] });
    let planted = seal(
        &network,
        &keys_of(&other),
        MessageKind::ConsentedDisclosure,
        &serde_json::to_vec(&identities).expect("json"),
        &[cert_of(&supplier)],
    );
    // And takes over its reference for a case of its own.
    let mut takeover = root.clone();
    takeover.author = cert_of(&other).org_id;
    takeover.case_nonce = Some(CaseNonce([0x77; 16]));
    takeover.authored_at = now();
    let takeover = SignedRecord::sign(&takeover, &keys_of(&other)).expect("sign");
    let to_supplier = seal_event(&network, &keys_of(&other), &takeover, &[cert_of(&supplier)]);
    let out = deliver_as_member(&network, &other, &supplier, vec![planted, to_supplier]);
    rejected(&out[0], "only the CSO that owns the case");
    rejected(&out[1], "already has a first event");
    // A node that does not hold the case refuses it too: the reference is not the other
    // CSO's to take (without the binding, this node would store a case under it).
    let to_brand = seal_event(&network, &keys_of(&other), &takeover, &[cert_of(&brand)]);
    let out = deliver_as_member(&network, &other, &brand, vec![to_brand]);
    rejected(&out[0], "does not derive");
    assert!(brand.cases().is_empty());
    assert!(
        supplier.get("/api/disclosures")["disclosures"]
            .as_array()
            .is_some_and(|d| d.is_empty())
    );
    assert_eq!(supplier.event_hashes(&case).len(), 1);
    other.start();
    // Nor can it choose the reference through its own API.
    let now_s = now().0;
    let (code, v) = other.post_raw(
        &format!("/api/cases/{case}/events"),
        &json!({ "event": { "type": "escalation", "to": supplier.org_id, "categories": ["deception"],
            "workers_affected": 1, "site": "x", "requested_remedy": "x", "description": "x",
            "recruitment_fees": null, "acknowledge_by": now_s + 86_400, "remediate_by": now_s + 2 * 86_400 } }),
    );
    assert_eq!(code, 404, "{v}");

    // Positive control: the owner's own disclosure on the same path is accepted and attributed.
    cso.stop();
    let from_owner = seal(
        &network,
        &keys_of(&cso),
        MessageKind::ConsentedDisclosure,
        &serde_json::to_vec(&identities).expect("json"),
        &[cert_of(&supplier)],
    );
    let out = deliver_as_member(&network, &cso, &supplier, vec![from_owner]);
    assert_eq!(out, vec![AckOutcome::Accepted]);
    let d = supplier.get("/api/disclosures");
    assert_eq!(d["disclosures"][0]["from"], cso.org_id.as_str());
    assert_eq!(d["disclosures"][0]["from_name"], "cso org");
}

#[test]
fn a_stale_revocation_never_replaces_a_newer_one() {
    let mut net = Net::new();
    net.steward.start();
    let mut node = net.member("cso", "cso");
    let stale = net.member("stale", "supplier");
    let rogue = net.member("rogue", "agency");
    node.start();
    let network = load_network(&net.genesis());
    let path = |n: &str| net.tmp.path().join(n);
    let revoke = |file: &str| {
        ilm(
            &net.steward.dir,
            &[
                "member",
                "revoke",
                &rogue.org_id,
                "--reason",
                "test",
                "--out",
                path(file).to_str().expect("utf8"),
            ],
        );
        let rec: SignedRecord =
            serde_json::from_slice(&std::fs::read(path(file)).expect("read")).expect("record");
        rec
    };
    let held = |node: &Node| -> Vec<String> {
        node.get("/api/revocations")["revocations"]
            .as_array()
            .expect("list")
            .iter()
            .map(|r| {
                serde_json::from_value::<SignedRecord>(r.clone())
                    .expect("record")
                    .digest()
                    .to_hex()
            })
            .collect()
    };
    // Revoke, re-admit with a new certificate, revoke again (each a second apart, so that
    // issue and revocation times are ordered).
    let first = revoke("rev1.json");
    std::thread::sleep(std::time::Duration::from_millis(1_100));
    ilm(
        &net.steward.dir,
        &[
            "member",
            "issue",
            path("rogue-req.json").to_str().expect("utf8"),
            "--out",
            path("rogue-cert2.json").to_str().expect("utf8"),
        ],
    );
    let cert2: SignedRecord =
        serde_json::from_slice(&std::fs::read(path("rogue-cert2.json")).expect("read"))
            .expect("record");
    std::thread::sleep(std::time::Duration::from_millis(1_100));
    let second = revoke("rev2.json");
    wait_for("the node to hold the second revocation", SOON, || {
        (held(&node) == vec![second.digest().to_hex()]).then_some(())
    });
    // Positive control: the first revocation alone does not cover the new certificate, so a
    // node that fell back to it would admit the rogue member.
    let mut only_first = RevocationList::new();
    only_first.add(&network.check_revocation(&first).expect("rev1"));
    assert!(
        network
            .check_certificate(&cert2, now(), &only_first)
            .is_ok()
    );

    // A stale peer presents the older revocation in its hello.
    let hello = Hello {
        certificate: cert_record(&stale),
        revocations: vec![first.clone()],
        successions: vec![],
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("rt");
    let answer = rt.block_on(async {
        let (client, task) = spawn_peer(&network, &keys_of(&stale), hello, &node);
        let peer = ilm_node::membership::peer_id_of(&cert_of(&node).org_id).expect("peer");
        let probe = Request::Sync(SyncRequest {
            cases: vec![CaseHeads {
                case_ref: CaseRef([1; 16]),
                heads: vec![],
            }],
        });
        let answer = client.request(peer, probe).await;
        task.abort();
        answer
    });
    assert!(
        matches!(answer, Ok(Response::Sync(None))),
        "the stale peer was admitted: {answer:?}"
    );
    assert_eq!(held(&node), vec![second.digest().to_hex()]);
    // After a restart, the node still holds the newer one, and the twice-revoked member with
    // its second certificate is refused at the door.
    node.stop();
    node.start();
    assert_eq!(held(&node), vec![second.digest().to_hex()]);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("rt");
    let answer = rt.block_on(async {
        let hello = Hello {
            certificate: cert2,
            revocations: vec![],
            successions: vec![],
        };
        let (client, task) = spawn_peer(&network, &keys_of(&rogue), hello, &node);
        let peer = ilm_node::membership::peer_id_of(&cert_of(&node).org_id).expect("peer");
        let probe = Request::Sync(SyncRequest { cases: vec![] });
        let answer = client.request(peer, probe).await;
        task.abort();
        answer
    });
    assert!(
        matches!(
            answer,
            Ok(Response::Refused(_)) | Err(ilm_node::net::SendError::Refused(_))
        ),
        "the twice-revoked member was admitted: {answer:?}"
    );
}

#[test]
fn dates_at_the_end_of_the_calendar_break_no_page_or_command() {
    let (_net, cso, supplier) = Net::with_cso_and_supplier();
    cso.wait_to_know(&supplier);
    // Due dates on the last second of the year 9999: valid, and as far as any rule allows.
    let last = ilm_protocol::rules::MAX_TIMESTAMP.0;
    let v = cso.post(
        "/api/cases",
        &json!({ "escalation": {
            "to": supplier.org_id, "categories": ["withholding_of_wages"], "workers_affected": 3,
            "site": "Site A", "requested_remedy": "Pay", "description": "Far deadlines",
            "recruitment_fees": null, "acknowledge_by": last, "remediate_by": last } }),
    );
    let case = v["case_ref"].as_str().expect("case").to_string();
    // One second later is refused at the edge, with a clear message.
    let (code, v) = cso.post_raw(
        "/api/cases",
        &json!({ "escalation": {
            "to": supplier.org_id, "categories": ["withholding_of_wages"], "workers_affected": 3,
            "site": "Site A", "requested_remedy": "Pay", "description": "Too far",
            "recruitment_fees": null, "acknowledge_by": last + 1, "remediate_by": last + 1 } }),
    );
    assert_eq!(code, 422, "{v}");
    assert!(v["error"].as_str().unwrap_or("").contains("9999"), "{v}");
    wait_for("the supplier to hold the case", SOON, || {
        supplier.cases().contains(&case).then_some(())
    });
    // Every page and command that shows those dates still works.
    let inbox = ilm(&supplier.dir, &["inbox"]);
    assert!(
        inbox.contains(&case[..8]) || inbox.contains(&case),
        "{inbox}"
    );
    ilm(&supplier.dir, &["case", "list"]);
    ilm(&supplier.dir, &["case", "show", &case]);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let base = std::fs::read_to_string(supplier.dir.join("admin.addr")).expect("addr");
    for page in ["/inbox", "/cases", &format!("/cases/{case}"), "/dashboard"] {
        let mut res = agent
            .get(format!("http://{}{page}", base.trim()))
            .header("Authorization", format!("Bearer {}", supplier.token()))
            .call()
            .expect("get");
        assert_eq!(res.status().as_u16(), 200, "{page}");
        let html = res.body_mut().read_to_string().expect("html");
        if page == "/inbox" {
            assert!(html.contains("9999-12-31"), "{page}");
        }
    }
}

/// Rotated keys across real nodes: records signed before and after a rotation.
#[path = "trust/rotation.rs"]
mod rotation;
