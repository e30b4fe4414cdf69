//! The lifecycle is a protocol rule, enforced by every receiver: across real nodes, a
//! verification before remediation and a completion before acknowledgement are refused by
//! the author's own API and, when a modified program puts them on the wire anyway, by every
//! node that receives them; a dispute answered by escalating to the brand runs to the end.

#[path = "support/mod.rs"]
mod support;

use ilm_node::net::proto::AckOutcome;
use ilm_protocol::*;
use serde_json::{Value, json};
use support::wire::{cert_of, deliver_as_member, keys_of, load_network, now, seal_event};
use support::*;

fn status(node: &Node, case: &str) -> String {
    node.get(&format!("/api/cases/{case}"))["status"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

fn heads(node: &Node, case: &str) -> Vec<EventHash> {
    node.get(&format!("/api/cases/{case}"))["heads"]
        .as_array()
        .expect("heads")
        .iter()
        .map(|h| h.as_str().expect("hex").parse().expect("hash"))
        .collect()
}

/// An event signed by `author` (its real keys) following `parents`.
fn signed(
    network: &Network,
    author: &Node,
    case: &str,
    parents: Vec<EventHash>,
    payload: EventPayload,
) -> SignedRecord {
    let event = CaseEvent {
        network_id: network.id(),
        case_ref: case.parse().expect("case ref"),
        case_nonce: None,
        parents,
        author: cert_of(author).org_id,
        authored_at: now(),
        payload,
    };
    SignedRecord::sign(&event, &keys_of(author)).expect("sign")
}

/// Delivers each event as its author, over libp2p, to `target`; returns the ack outcomes.
fn force(
    network: &Network,
    author: &Node,
    target: &Node,
    events: &[&SignedRecord],
) -> Vec<AckOutcome> {
    let keys = keys_of(author);
    let envelopes = events
        .iter()
        .map(|e| seal_event(network, &keys, e, &[cert_of(target)]))
        .collect();
    deliver_as_member(network, author, target, envelopes)
}

fn assert_rejected(outcome: &AckOutcome, why: &str) {
    match outcome {
        AckOutcome::Rejected(reason) => assert!(reason.contains(why), "{reason}"),
        other => panic!("expected a rejection ({why}), got {other:?}"),
    }
}

fn refused(node: &Node, case: &str, event: Value) -> String {
    let (code, v) = node.post_raw(
        &format!("/api/cases/{case}/events"),
        &json!({ "event": event }),
    );
    assert_eq!(code, 422, "{v}");
    v["error"].as_str().unwrap_or("").to_string()
}

#[test]
fn every_receiver_enforces_the_lifecycle_and_a_dispute_goes_to_the_brand() {
    let (net, mut cso, mut supplier, brand) = Net::with_cso_supplier_and_brand();
    let network = load_network(&net.genesis());
    let case = cso.escalate(&supplier, "Two months of wages unpaid");
    wait_for("the supplier to hold the case", SOON, || {
        supplier.cases().contains(&case).then_some(())
    });

    // The CSO's own API refuses a verdict on a case nobody reported remediated.
    let why = refused(
        &cso,
        &case,
        json!({ "type": "worker_verification", "verdict": "resolved", "workers_consulted": 3, "note": "" }),
    );
    assert!(why.contains("nothing for the workers to verify"), "{why}");
    let (code, v) = cso.post_raw(
        &format!("/api/cases/{case}/verify"),
        &json!({ "verdict": "resolved", "workers_consulted": 3 }),
    );
    assert_eq!(code, 422, "{v}");
    // The supplier's own API refuses a completion before any acknowledgement.
    let why = refused(
        &supplier,
        &case,
        json!({ "type": "remediation_reported", "summary": "Paid" }),
    );
    assert!(why.contains("before the party acknowledges"), "{why}");

    // The supplier disputes; the CSO answers by escalating to the brand, which acknowledges.
    supplier.append_event(
        &case,
        json!({ "type": "dispute", "reason": "Wages were paid in cash" }),
    );
    wait_for("the dispute at the CSO", SOON, || {
        (status(&cso, &case) == "disputed").then_some(())
    });
    cso.wait_to_know(&brand);
    let now_s = now().0;
    cso.append_event(
        &case,
        json!({ "type": "escalation", "to": brand.org_id, "categories": ["withholding_of_wages"],
                "workers_affected": 3, "site": "Site A", "requested_remedy": "Use your leverage",
                "description": "The supplier disputes the workers' account", "recruitment_fees": null,
                "acknowledge_by": now_s + 7 * 86_400, "remediate_by": now_s + 30 * 86_400 }),
    );
    wait_for("the brand to hold the case", SOON, || {
        brand.cases().contains(&case).then_some(())
    });
    brand.append_event(
        &case,
        json!({ "type": "acknowledgement", "note": "We will talk to our supplier" }),
    );
    for n in [&cso, &supplier] {
        wait_for("the brand's acknowledgement everywhere", SOON, || {
            (n.event_hashes(&case).len() == 4).then_some(())
        });
    }

    // A modified CSO program puts a verdict on the wire anyway: every receiver refuses it.
    let at = heads(&supplier, &case);
    let verdict = signed(
        &network,
        &cso,
        &case,
        at.clone(),
        EventPayload::WorkerVerification {
            verdict: Verdict::Resolved,
            workers_consulted: 3,
            note: String::new(),
        },
    );
    // Positive control on the same path: a valid event from the same sender is accepted.
    let reminder = signed(
        &network,
        &cso,
        &case,
        at,
        EventPayload::Escalation(ilm_protocol::event::Escalation {
            to: cert_of(&supplier).org_id,
            categories: vec![IssueCategory::WithholdingOfWages],
            workers_affected: 3,
            site: "Site A".into(),
            requested_remedy: "Pay the wages".into(),
            description: "Reminder".into(),
            recruitment_fees: None,
            acknowledge_by: now().plus_days(7),
            remediate_by: now().plus_days(30),
        }),
    );
    cso.stop();
    for receiver in [&supplier, &brand] {
        let outcomes = force(&network, &cso, receiver, &[&verdict, &reminder]);
        assert_rejected(&outcomes[0], "nothing for the workers to verify");
        assert_eq!(outcomes[1], AckOutcome::Accepted, "{}", receiver.name);
        let held = receiver.event_hashes(&case);
        assert!(
            !held.contains(&verdict.digest().to_hex()),
            "{} stored the verdict",
            receiver.name
        );
        assert!(held.contains(&reminder.digest().to_hex()));
    }
    cso.start();

    // A modified supplier program reports completion while it disputes: refused everywhere.
    wait_for("the CSO to hold the reminder", SOON, || {
        cso.event_hashes(&case)
            .contains(&reminder.digest().to_hex())
            .then_some(())
    });
    let completion = signed(
        &network,
        &supplier,
        &case,
        vec![reminder.digest()],
        EventPayload::RemediationReported {
            summary: "Paid".into(),
        },
    );
    let ack = signed(
        &network,
        &supplier,
        &case,
        vec![reminder.digest()],
        EventPayload::Acknowledgement {
            note: "We will pay".into(),
        },
    );
    supplier.stop();
    for receiver in [&cso, &brand] {
        let outcomes = force(&network, &supplier, receiver, &[&completion]);
        assert_rejected(&outcomes[0], "before the party acknowledges");
        assert!(
            !receiver
                .event_hashes(&case)
                .contains(&completion.digest().to_hex())
        );
    }
    // Positive control: the acknowledgement on the same path is accepted by both.
    for receiver in [&cso, &brand] {
        assert_eq!(
            force(&network, &supplier, receiver, &[&ack]),
            vec![AckOutcome::Accepted]
        );
    }
    supplier.start();

    // The honest path runs to the end: report, the workers' verdict, the same state everywhere.
    wait_for("the supplier to hold its acknowledgement", SOON, || {
        supplier
            .event_hashes(&case)
            .contains(&ack.digest().to_hex())
            .then_some(())
    });
    supplier.append_event(
        &case,
        json!({ "type": "remediation_reported", "summary": "All wages paid" }),
    );
    wait_for("the report at the CSO", SOON, || {
        (status(&cso, &case) == "remediation_reported").then_some(())
    });
    cso.post(
        &format!("/api/cases/{case}/verify"),
        &json!({ "verdict": "resolved", "workers_consulted": 3, "note": "Workers confirm" }),
    );
    for n in [&cso, &supplier, &brand] {
        wait_for("the verdict everywhere", SOON, || {
            (status(n, &case) == "resolved").then_some(())
        });
    }
    let states: Vec<Value> = [&cso, &supplier, &brand]
        .iter()
        .map(|n| n.get(&format!("/api/cases/{case}"))["state"].clone())
        .collect();
    assert_eq!(states[0], states[1]);
    assert_eq!(states[0], states[2]);
    // The supplier's remediation is settled: it is offered nothing, and its API refuses more.
    let v = supplier.get(&format!("/api/cases/{case}"));
    assert_eq!(v["allowed"], json!([]));
    let why = refused(
        &supplier,
        &case,
        json!({ "type": "dispute", "reason": "late" }),
    );
    assert!(
        why.contains("verified this party's remediation as resolved"),
        "{why}"
    );
}
