//! Membership at the door: peers without a valid, unrevoked certificate get nothing in and
//! nothing stored. The intruders are real libp2p peers built from the node's own network code.

#[path = "support/mod.rs"]
mod support;

use ilm_node::membership::peer_id_of;
use ilm_node::net::SendError;
use ilm_node::net::proto::{CaseHeads, Hello, Request, Response, SyncRequest};
use ilm_protocol::event::Escalation;
use ilm_protocol::*;
use serde_json::json;
use std::time::Duration;
use support::wire::{self, cert_of, now};
use support::*;

fn load_network(net: &Net) -> Network {
    wire::load_network(&net.genesis())
}

/// Connects an intruder with `keys` and `hello` to `target` and tries to deliver an
/// escalation envelope to it. Returns what the target answered.
fn intrude(
    network: &Network,
    keys: &OrgKeys,
    hello: Hello,
    target: &Node,
) -> Result<Response, SendError> {
    let mut probe_answer = None;
    let answer = intrude_after(network, keys, hello, target, false, |probe| {
        probe_answer = Some(probe)
    });
    // The first request already meets the refusal: that proves the intruder reached the node.
    let probe = probe_answer.expect("probe ran");
    assert!(
        matches!(probe, Err(SendError::Refused(_)) | Ok(Response::Refused(_))),
        "the intruder must reach the node and be refused, got {probe:?}"
    );
    // Its delivery attempt must get no acknowledgement of any kind.
    assert!(
        !matches!(answer, Ok(Response::Ack(_))),
        "an intruder's delivery was acknowledged: {answer:?}"
    );
    answer
}

/// Like [`intrude`], but first probes with a sync request (answered only for admitted peers)
/// and runs `meanwhile` with the probe's answer before trying the delivery.
fn intrude_after(
    network: &Network,
    keys: &OrgKeys,
    hello: Hello,
    target: &Node,
    expect_disconnect: bool,
    meanwhile: impl FnOnce(Result<Response, SendError>),
) -> Result<Response, SendError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let (client, task) = wire::spawn_peer(network, keys, hello, target);
        let target_cert = cert_of(target);
        let event = CaseEvent {
            network_id: network.id(),
            case_ref: CaseRef::derive(&keys.org_id(), &CaseNonce([9; 16])),
            case_nonce: Some(CaseNonce([9; 16])),
            parents: vec![],
            author: keys.org_id(),
            authored_at: now(),
            payload: EventPayload::Escalation(Escalation {
                to: target_cert.org_id,
                categories: vec![IssueCategory::Deception],
                workers_affected: 1,
                site: "x".into(),
                requested_remedy: "x".into(),
                description: "INTRUDER-PAYLOAD".into(),
                recruitment_fees: None,
                acknowledge_by: now().plus_days(1),
                remediate_by: now().plus_days(2),
            }),
        };
        let rec = SignedRecord::sign(&event, keys).expect("sign");
        let env = Envelope::seal(
            keys,
            network.id(),
            MessageKind::CaseEvent,
            &[Recipient {
                org_id: target_cert.org_id,
                encryption_key: target_cert.encryption_key,
            }],
            now(),
            &serde_json::to_vec(&rec).expect("json"),
        )
        .expect("seal");
        let peer = peer_id_of(&target_cert.org_id).expect("peer id");
        let probe = tokio::time::timeout(
            Duration::from_secs(60),
            client.request(
                peer,
                Request::Sync(SyncRequest {
                    cases: vec![CaseHeads {
                        case_ref: CaseRef([1; 16]),
                        heads: vec![],
                    }],
                }),
            ),
        )
        .await
        .expect("a probe answer within a minute");
        tokio::task::block_in_place(|| meanwhile(probe));
        // Whatever `meanwhile` did may close the connection (a revocation does): let the
        // intruder notice before it sends, so the answer comes from a fresh hello.
        if expect_disconnect {
            let mut gone = false;
            for _ in 0..600 {
                let st = client.status().await.expect("intruder status");
                if st.peers.iter().all(|p| p.peer_id != peer.to_string()) {
                    gone = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            assert!(
                gone,
                "the node never closed the revoked member's connection"
            );
        }
        let answer = tokio::time::timeout(
            Duration::from_secs(60),
            client.request(peer, Request::Deliver(env)),
        )
        .await
        .expect("an answer within a minute");
        task.abort();
        answer
    })
}

/// Whether `needle` is anywhere in the node's database, as stored bytes or hex-encoded (the
/// form records carry their signed bodies in), compressed records decoded.
fn stored_anywhere(node: &Node, needle: &[u8]) -> bool {
    let hex = ilm_protocol::bytes::to_hex(needle).into_bytes();
    !support::holders(&[node.dir.join("db")], &[needle, &hex]).is_empty()
}

fn assert_refused_and_nothing_stored(
    answer: Result<Response, SendError>,
    target: &Node,
    intruder: &OrgId,
) {
    // (Its probe was answered `Refused`, checked in `intrude`; by the time its delivery goes
    // out the connection may already be closed.) No acknowledgement of any kind:
    assert!(
        matches!(
            answer,
            Err(SendError::Refused(_))
                | Ok(Response::Refused(_))
                | Err(SendError::Unreachable(_))
                | Err(SendError::Failed(_))
        ),
        "the intruder's delivery must get no acknowledgement, got {answer:?}"
    );
    assert!(
        target.get("/api/status")["refused_peers"]
            .as_u64()
            .unwrap_or(0)
            >= 1
    );
    assert!(
        target.cases().is_empty(),
        "nothing from the intruder may be stored"
    );
    assert_eq!(target.get("/api/status")["received_messages"], 0);
    assert!(!target.peer_orgs().contains(&intruder.to_hex()));
    // Its bytes are nowhere in the target's database either, in clear or hex-encoded.
    assert!(
        !stored_anywhere(target, b"INTRUDER-PAYLOAD"),
        "intruder payload found in the target's database"
    );
}

#[test]
fn a_peer_without_a_certificate_is_refused() {
    let mut net = Net::new();
    net.steward.start();
    let mut cso = net.member("cso", "cso");
    cso.start();
    let network = load_network(&net);
    let keys = OrgKeys::generate().expect("keys");
    // Presents a signed membership request instead of a certificate.
    let request = SignedRecord::sign(
        &MembershipRequest {
            org_id: keys.org_id(),
            name: "Nobody".into(),
            role: Role::Cso,
            country: "TH".parse().expect("country"),
            encryption_key: keys.encryption_key(),
            requested_at: now(),
        },
        &keys,
    )
    .expect("sign");
    let answer = intrude(
        &network,
        &keys,
        Hello {
            certificate: request,
            revocations: vec![],
            successions: vec![],
        },
        &cso,
    );
    assert_refused_and_nothing_stored(answer, &cso, &keys.org_id());
}

#[test]
fn a_peer_with_a_forged_certificate_is_refused() {
    let mut net = Net::new();
    net.steward.start();
    let mut cso = net.member("cso", "cso");
    cso.start();
    let network = load_network(&net);
    let keys = OrgKeys::generate().expect("keys");
    let steward_cert = cert_of(&net.steward);
    // Claims the steward issued it, but signs it itself.
    let mut forged = SignedRecord::sign(
        &MembershipCertificate {
            network_id: network.id(),
            org_id: keys.org_id(),
            name: "Forged CSO".into(),
            role: Role::Cso,
            country: "TH".parse().expect("country"),
            encryption_key: keys.encryption_key(),
            not_before: now(),
            not_after: now().plus_days(30),
            issuer: keys.org_id(),
            issued_at: now(),
            signing_key: None,
            earlier_keys: Vec::new(),
        },
        &keys,
    )
    .expect("sign");
    let mut body: MembershipCertificate = serde_json::from_slice(&forged.body).expect("body");
    body.issuer = steward_cert.org_id;
    forged.body = serde_json::to_vec(&body).expect("json");
    forged.signatures[0].signer = steward_cert.org_id;
    let answer = intrude(
        &network,
        &keys,
        Hello {
            certificate: forged,
            revocations: vec![],
            successions: vec![],
        },
        &cso,
    );
    assert_refused_and_nothing_stored(answer, &cso, &keys.org_id());
}

#[test]
fn a_revoked_member_is_refused_at_the_door_and_its_new_messages_are_refused() {
    let mut net = Net::new();
    net.steward.start();
    let mut cso = net.member("cso", "cso");
    let mut supplier = net.member("supplier", "supplier");
    let rogue = net.member("rogue", "agency");
    cso.start();
    supplier.start();
    let case = cso.escalate(&supplier, "Wages withheld");
    wait_for("the supplier to hold the case", SOON, || {
        supplier.cases().contains(&case).then_some(())
    });
    // Positive control for the search below: an accepted event's text is found, although it
    // is stored inside a hex-encoded signed body.
    assert!(stored_anywhere(&supplier, b"Wages withheld"));

    // The rogue agency is admitted with its real certificate; then the steward revokes it and
    // the supplier while both are connected.
    let network = load_network(&net);
    let keys = rogue_keys(&rogue);
    let cert: SignedRecord =
        serde_json::from_slice(&std::fs::read(rogue.dir.join("certificate.json")).expect("cert"))
            .expect("record");
    let answer = intrude_after(
        &network,
        &keys,
        Hello {
            certificate: cert,
            revocations: vec![],
            successions: vec![],
        },
        &cso,
        true,
        |probe| {
            assert!(
                matches!(probe, Ok(Response::Sync(None))),
                "the member was admitted before revocation: {probe:?}"
            );
            for org in [&supplier.org_id, &rogue.org_id] {
                ilm(
                    &net.steward.dir,
                    &["member", "revoke", org, "--reason", "test"],
                );
            }
            wait_for("the CSO to learn both revocations", SOON, || {
                (cso.get("/api/status")["membership"]["revocations"] == 2).then_some(())
            });
        },
    );
    // The revoked agency's new message is refused and nothing of it is stored.
    assert_refused_and_nothing_stored_besides(answer, &cso, &keys.org_id());
    assert_eq!(cso.event_hashes(&case).len(), 1);

    // The revoked supplier's own node learned of its revocation too and stops authoring.
    wait_for("the supplier to learn its revocation", SOON, || {
        let (status, v) = supplier.post_raw(
            &format!("/api/cases/{case}/events"),
            &json!({ "event": { "type": "acknowledgement", "note": "late" } }),
        );
        (status == 422
            && v["error"]
                .as_str()
                .is_some_and(|m| m.contains("not a current member")))
        .then_some(())
    });
    assert!(!cso.peer_orgs().contains(&supplier.org_id));

    // `ilm verify` at a node whose daemon holds the database still sees the revocation.
    let out = std::process::Command::new(ilm_bin())
        .arg("--data-dir")
        .arg(&cso.dir)
        .arg("verify")
        .arg(net.tmp.path().join("rogue-cert.json"))
        .output()
        .expect("run ilm verify");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("revoked"));
}

fn rogue_keys(node: &Node) -> OrgKeys {
    wire::keys_of(node)
}

fn assert_refused_and_nothing_stored_besides(
    answer: Result<Response, SendError>,
    target: &Node,
    intruder: &OrgId,
) {
    assert!(
        matches!(
            answer,
            Err(SendError::Refused(_)) | Ok(Response::Refused(_))
        ),
        "the revoked member must reach the node and be refused, got {answer:?}"
    );
    assert_eq!(target.cases().len(), 1, "only the CSO's own case");
    assert!(!target.peer_orgs().contains(&intruder.to_hex()));
}

/// A certificate for `subject` signed with `issuer`'s keys, issued at `at`.
fn cert_by(network: &Network, issuer: &OrgKeys, subject: &OrgKeys, at: Timestamp) -> SignedRecord {
    SignedRecord::sign(
        &MembershipCertificate {
            network_id: network.id(),
            org_id: subject.org_id(),
            name: "Agency".into(),
            role: Role::Agency,
            country: "TH".parse().expect("country"),
            encryption_key: subject.encryption_key(),
            not_before: at,
            not_after: at.plus_days(30),
            issuer: issuer.org_id(),
            issued_at: at,
            signing_key: None,
            earlier_keys: Vec::new(),
        },
        issuer,
    )
    .expect("sign")
}

/// Whether `target` admits a peer with `keys` presenting `certificate`: an admitted peer's
/// delivery is acknowledged (here refused for its empty payload), a refused peer's is not.
fn admitted(network: &Network, keys: &OrgKeys, certificate: SignedRecord, target: &Node) -> bool {
    let hello = Hello {
        certificate,
        revocations: vec![],
        successions: vec![],
    };
    let env = wire::seal(
        network,
        keys,
        MessageKind::CaseEvent,
        b"{}",
        &[cert_of(target)],
    );
    let answers = wire::deliver_as(network, keys, hello, target, vec![env]);
    matches!(answers[0], Ok(Response::Ack(_)))
}

#[test]
fn a_successor_steward_takes_over_and_the_old_key_issues_no_more() {
    let mut net = Net::new();
    net.steward.start();
    let mut cso = net.member("cso", "cso");
    let mut supplier = net.member("supplier", "supplier");
    cso.start();
    net.steward.stop();
    let network = load_network(&net);
    let path = |p: &std::path::Path| p.to_str().expect("utf8").to_string();
    // The incoming steward's node; the outgoing steward starts the hand-over.
    let new_dir = net.tmp.path().join("steward2");
    ilm(
        &new_dir,
        &[
            "init",
            "--role",
            "steward",
            "--name",
            "New steward",
            "--country",
            "TH",
        ],
    );
    let new_org = node_handle("steward2", new_dir.clone(), vec![])
        .org_id
        .clone();
    let file = net.tmp.path().join("succession.json");
    ilm(
        &net.steward.dir,
        &[
            "network",
            "succession",
            "start",
            "--to",
            &new_org,
            "--out",
            &path(&file),
        ],
    );
    // Only the next signer may sign.
    let err = ilm_fails(&cso.dir, &["network", "succession", "sign", &path(&file)]);
    assert!(err.contains("the next signature is"), "{err}");
    ilm(
        &new_dir,
        &[
            "network",
            "succession",
            "sign",
            &path(&file),
            "--network",
            &path(&net.genesis()),
        ],
    );
    let mut steward2 = node_handle("steward2", new_dir, vec![cso.multiaddr()]);
    steward2.start();
    wait_for("the CSO to admit the new steward", SOON, || {
        cso.peer_orgs().contains(&steward2.org_id).then_some(())
    });
    // A certificate the old key issues after the succession is refused at the door; one it
    // issued before (backdated here, as the old key could) still lets its holder in.
    let old_steward = wire::keys_of(&net.steward);
    let at: StewardSuccession = serde_json::from_slice(
        &serde_json::from_slice::<SignedRecord>(&std::fs::read(&file).expect("read"))
            .expect("record")
            .body,
    )
    .expect("succession");
    let late = OrgKeys::generate().expect("keys");
    let after = now().max(at.at.plus_secs(1));
    assert!(!admitted(
        &network,
        &late,
        cert_by(&network, &old_steward, &late, after),
        &cso
    ));
    let early = OrgKeys::generate().expect("keys");
    let before = Timestamp(at.at.0 - 60);
    assert!(admitted(
        &network,
        &early,
        cert_by(&network, &old_steward, &early, before),
        &cso
    ));
    // A member the successor certifies joins with the succession and works with the CSO.
    let dir = net.tmp.path().join("agency");
    ilm(
        &dir,
        &[
            "init",
            "--role",
            "agency",
            "--name",
            "Agency",
            "--country",
            "TH",
        ],
    );
    let req = net.tmp.path().join("agency-req.json");
    let cert = net.tmp.path().join("agency-cert.json");
    ilm(&dir, &["member", "request", "--out", &path(&req)]);
    ilm(
        &steward2.dir,
        &["member", "issue", &path(&req), "--out", &path(&cert)],
    );
    // Without the succession the certificate does not verify.
    let err = ilm_fails(
        &dir,
        &["member", "join", &path(&net.genesis()), &path(&cert)],
    );
    assert!(err.contains("not a steward"), "{err}");
    ilm(
        &dir,
        &[
            "member",
            "join",
            &path(&net.genesis()),
            &path(&cert),
            "--succession",
            &path(&file),
        ],
    );
    let mut agency = node_handle("agency", dir, vec![steward2.multiaddr()]);
    agency.start();
    let case = cso.escalate(&agency, "Recruitment fees charged");
    wait_for("the agency to hold the case", SOON, || {
        agency.cases().contains(&case).then_some(())
    });
    // A member the old steward certified before the hand-over still gets in (it finds the
    // network through the new steward: the old one is gone).
    supplier.bootstrap = vec![steward2.multiaddr()];
    supplier.start();
    let case = cso.escalate(&supplier, "Wages withheld");
    wait_for("the supplier to hold the case", SOON, || {
        supplier.cases().contains(&case).then_some(())
    });
}
