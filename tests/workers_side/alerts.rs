//! Broker alerts reach every CSO's portal only once a CSO reviewed and signed them, an
//! agency's proposal included.

use super::*;

/// The portal's alerts page of `cso`, in English.
fn alerts_page(cso: &Node) -> String {
    let (status, html) = get(&format!("{}/alerts?lang=en", portal_base(cso)));
    assert_eq!(status, 200, "{html}");
    html
}

fn alert_body(title: &str) -> Value {
    json!({
        "origin": "MM", "destination": "TH", "language": "en", "title": title,
        "body": "A broker asks 30,000 baht for factory jobs that do not exist.\n\nDo not pay.",
        "days": 30,
    })
}

/// An alert naming `reviewer`, signed with `keys`.
fn signed_alert(
    net: &Net,
    keys: &ilm_protocol::OrgKeys,
    reviewer: &Node,
    title: &str,
) -> SignedRecord {
    let t = now();
    let body = BrokerAlert {
        network_id: load_network(&net.genesis()).id(),
        reviewer: reviewer.org_id.parse().expect("org"),
        id: AlertId(ilm_protocol::identity::random_bytes().expect("random")),
        proposed_by: None,
        text: AlertText {
            origin: "MM".parse().expect("country"),
            destination: "TH".parse().expect("country"),
            language: "en".into(),
            title: title.into(),
            body: "Do not pay.".into(),
        },
        published_at: t,
        expires_at: t.plus_secs(86_400),
        withdrawn: false,
    };
    SignedRecord::sign(&body, keys).expect("sign")
}

#[test]
fn broker_alerts_reach_every_portal_only_once_a_cso_reviewed_them() {
    let mut net = Net::new();
    net.steward.start();
    let mut helpline = net.member("helpline", "cso");
    let mut union = net.member("union", "cso");
    for n in [&mut helpline, &mut union] {
        n.run_args = vec!["--portal-listen".into(), "127.0.0.1:0".into()];
        n.start();
    }
    let mut agency = net.member("agency", "agency");
    let mut supplier = net.member("supplier", "supplier");
    for n in [&mut agency, &mut supplier] {
        n.start();
        n.wait_to_know(&helpline);
    }
    helpline.wait_to_know(&union);

    // A CSO's own alert, reviewed by its caseworker: on the other CSO's portal, signed.
    helpline.post("/api/portal/alerts", &alert_body("Fake jobs on Facebook"));
    let page = wait_for(
        "the union's portal to show the helpline's alert",
        SOON,
        || {
            let html = alerts_page(&union);
            html.contains("Fake jobs on Facebook").then_some(html)
        },
    );
    assert!(page.contains("helpline org"), "named as its reviewer");

    // An agency's proposal waits for review and is on no portal until a CSO publishes it.
    let (status, _) = supplier.post_raw(
        "/api/alerts/propose",
        &json!({ "to": helpline.org_id, "origin": "MM", "destination": "TH", "language": "en", "title": "x", "body": "y", "days": 3 }),
    );
    assert_eq!(status, 403, "only agencies propose alerts");
    let mut proposal = alert_body("Broker U Aung in Myawaddy");
    proposal["to"] = json!(helpline.org_id);
    agency.post("/api/alerts/propose", &proposal);
    let mut declined = alert_body("Declined proposal");
    declined["to"] = json!(helpline.org_id);
    agency.post("/api/alerts/propose", &declined);
    let waiting = wait_for("the helpline to hold both proposals", SOON, || {
        let v = helpline.get("/api/portal/alerts")["proposals"].clone();
        (v.as_array().map_or(0, Vec::len) == 2).then_some(v)
    });
    for cso in [&helpline, &union] {
        assert!(!alerts_page(cso).contains("U Aung"), "not before review");
    }
    let find = |title: &str| {
        waiting
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["text"]["title"] == title).cloned())
            .expect("proposal")
    };
    let (p, d) = (find("Broker U Aung in Myawaddy"), find("Declined proposal"));
    helpline.post(
        "/api/portal/alerts/proposals/decline",
        &json!({ "proposer": d["proposer"], "id": d["id"] }),
    );
    // A proposal cannot be changed under the caseworker reading it: a modified agency
    // program sending another text under the same id is refused.
    let swapped = AlertProposal {
        network_id: load_network(&net.genesis()).id(),
        proposer: agency.org_id.parse().expect("org"),
        reviewer: helpline.org_id.parse().expect("org"),
        id: p["id"].as_str().expect("id").parse().expect("alert id"),
        text: AlertText {
            origin: "MM".parse().expect("country"),
            destination: "TH".parse().expect("country"),
            language: "en".into(),
            title: "Swapped text".into(),
            body: "Not what was reviewed.".into(),
        },
        days: 30,
        proposed_at: now(),
    };
    let swapped = SignedRecord::sign(&swapped, &keys_of(&agency)).expect("sign");
    match deliver(
        &net,
        &agency,
        &helpline,
        MessageKind::AlertProposal,
        &swapped,
    ) {
        AckOutcome::Rejected(why) => assert!(why.contains("cannot be changed"), "{why}"),
        other => panic!("a changed proposal was accepted: {other:?}"),
    }
    // Approving needs the digest of the version read.
    let (status, _) = helpline.post_raw(
        "/api/portal/alerts/proposals/approve",
        &json!({ "proposer": p["proposer"], "id": p["id"], "digest": d["digest"] }),
    );
    assert_eq!(status, 422, "another version than the one reviewed");
    helpline.post(
        "/api/portal/alerts/proposals/approve",
        &json!({ "proposer": p["proposer"], "id": p["id"], "digest": p["digest"] }),
    );
    let states: Vec<Value> = helpline.get("/api/portal/alerts")["proposals"]
        .as_array()
        .expect("proposals")
        .iter()
        .map(|p| p["state"].clone())
        .collect();
    assert_eq!(
        states,
        [json!("declined")],
        "the approved one is no longer held"
    );
    let page = wait_for(
        "the union's portal to show the agency's alert",
        SOON,
        || {
            let html = alerts_page(&union);
            html.contains("U Aung").then_some(html)
        },
    );
    assert!(page.contains("agency org"), "the proposer is named");
    assert!(!page.contains("Declined proposal") && !page.contains("Swapped text"));
    wait_for(
        "the agency to learn its proposal was published",
        SOON,
        || {
            agency.get("/api/alerts")["proposals"]
                .as_array()
                .and_then(|ps| {
                    ps.iter()
                        .find(|p| p["text"]["title"] == "Broker U Aung in Myawaddy")
                })
                .is_some_and(|p| p["state"] == json!("published"))
                .then_some(())
        },
    );

    // Forged: an agency cannot publish, in its own name or a CSO's.
    let own = signed_alert(&net, &keys_of(&agency), &agency, "Agency's own alert");
    assert!(matches!(
        deliver(&net, &agency, &union, MessageKind::BrokerAlert, &own),
        AckOutcome::Rejected(_)
    ));
    let forged = signed_alert(&net, &keys_of(&agency), &helpline, "Forged alert");
    assert!(matches!(
        deliver(&net, &agency, &union, MessageKind::BrokerAlert, &forged),
        AckOutcome::Rejected(_)
    ));
    // Control: a modified program with the helpline's own keys is accepted.
    let real = signed_alert(
        &net,
        &keys_of(&helpline),
        &helpline,
        "Signed by the helpline",
    );
    assert_eq!(
        deliver(&net, &helpline, &union, MessageKind::BrokerAlert, &real),
        AckOutcome::Accepted
    );
    let page = alerts_page(&union);
    assert!(page.contains("Signed by the helpline"));
    assert!(!page.contains("Agency's own alert") && !page.contains("Forged alert"));

    // Taken down by its reviewer: gone from the other portal too.
    let mine = helpline.get("/api/portal/alerts")["alerts"]
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|a| a["text"]["title"] == "Fake jobs on Facebook")
                .cloned()
        })
        .expect("alert held");
    helpline.post("/api/portal/alerts/delete", &json!({ "id": mine["id"] }));
    wait_for(
        "the taken-down alert to leave the union's portal",
        SOON,
        || (!alerts_page(&union).contains("Fake jobs on Facebook")).then_some(()),
    );
    // A revoked reviewer's alerts leave every portal.
    ilm(
        &net.steward.dir,
        &["member", "revoke", &helpline.org_id, "--reason", "test"],
    );
    wait_for(
        "the revoked CSO's alerts to leave the union's portal",
        SOON,
        || (!alerts_page(&union).contains("U Aung")).then_some(()),
    );
}
