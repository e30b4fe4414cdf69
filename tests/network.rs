//! Multi-node tests: real `ilm run` processes on loopback, real sled databases in temp dirs.

#[path = "support/mod.rs"]
mod support;

use serde_json::json;
use std::collections::BTreeSet;
use std::time::Duration;
use support::*;

#[test]
fn five_nodes_discover_each_other_from_one_bootstrap_and_deliver_an_escalation() {
    let mut net = Net::new();
    net.steward.start();
    let mut cso = net.member("cso", "cso");
    let mut agency = net.member("agency", "agency");
    let mut supplier = net.member("supplier", "supplier");
    let mut brand = net.member("brand", "brand");
    for n in [&mut cso, &mut agency, &mut supplier, &mut brand] {
        n.start();
    }
    // The CSO only knows the steward's address; the supplier is found through the network.
    let case = cso.escalate(&supplier, "Two months of wages unpaid at Site A");
    wait_for("the supplier to hold the case", SOON, || {
        supplier.cases().contains(&case).then_some(())
    });
    assert_eq!(supplier.event_hashes(&case), cso.event_hashes(&case));
    wait_for("the CSO's outbox to show delivery", SOON, || {
        (cso.outbox_counts() == (0, 1, 0)).then_some(())
    });
    // And a second escalation to the agency.
    let case2 = cso.escalate(&agency, "Recruitment fees charged");
    wait_for("the agency to hold its case", SOON, || {
        agency.cases().contains(&case2).then_some(())
    });
    // Nobody else got anything: the brand and the steward hold no case; the agency not the supplier's.
    assert!(brand.cases().is_empty());
    assert!(net.steward.cases().is_empty());
    assert!(!agency.cases().contains(&case));
    assert!(!supplier.cases().contains(&case2));
    assert!(cso.peer_orgs().contains(&supplier.org_id));
    // The CLI reads the running node through its API.
    let status = ilm(&cso.dir, &["status"]);
    assert!(status.contains("2 delivered"), "{status}");
}

#[test]
fn an_offline_recipient_gets_the_message_when_it_starts() {
    let mut net = Net::new();
    net.steward.start();
    let mut cso = net.member("cso", "cso");
    let mut supplier = net.member("supplier", "supplier");
    // The supplier runs once so that the network knows its certificate, then goes offline.
    supplier.start();
    cso.start();
    wait_for("the CSO to know the supplier", SOON, || {
        cso.peer_orgs().contains(&supplier.org_id).then_some(())
    });
    supplier.stop();
    let case = cso.escalate(&supplier, "Passports held by the employer");
    wait_for("a failed attempt", SOON, || {
        let v = cso.get("/api/outbox");
        let e = &v["entries"][0];
        (e["state"] == "pending" && e["attempts"].as_u64().unwrap_or(0) >= 1).then_some(())
    });
    supplier.start();
    wait_for("delivery after restart", Duration::from_secs(120), || {
        supplier.cases().contains(&case).then_some(())
    });
    wait_for("the CSO to see it delivered", SOON, || {
        (cso.outbox_counts() == (0, 1, 0)).then_some(())
    });
}

#[test]
fn every_message_arrives_exactly_once_when_the_receiver_is_killed_mid_stream() {
    const N: usize = 1000;
    let mut net = Net::new();
    net.steward.start();
    let mut cso = net.member("cso", "cso");
    let mut supplier = net.member("supplier", "supplier");
    supplier.start();
    cso.start();
    wait_for("the CSO to know the supplier", SOON, || {
        cso.peer_orgs().contains(&supplier.org_id).then_some(())
    });
    let mut sent = BTreeSet::new();
    let mut killed = false;
    for i in 0..N {
        sent.insert(cso.escalate(&supplier, &format!("Message {i} of the stream")));
        if !killed && i >= N / 3 && cso.outbox_counts().1 > 50 {
            // The receiver dies in the middle of the stream, while deliveries are in flight.
            supplier.kill9();
            killed = true;
        }
    }
    assert!(killed, "the receiver was never killed mid-stream");
    supplier.start();
    wait_for("all deliveries", Duration::from_secs(300), || {
        let (pending, delivered, rejected) = cso.outbox_counts();
        assert_eq!(rejected, 0);
        (pending == 0 && delivered == N as u64).then_some(())
    });
    let held: BTreeSet<String> = supplier.cases().into_iter().collect();
    assert_eq!(held, sent, "the receiver must hold exactly the cases sent");
    let status = supplier.get("/api/status");
    assert_eq!(
        status["received_messages"].as_u64(),
        Some(N as u64),
        "each message processed once"
    );
    for case in sent.iter().take(50) {
        assert_eq!(supplier.event_hashes(case).len(), 1);
    }
}

#[test]
fn two_parties_appending_while_disconnected_converge() {
    let mut net = Net::new();
    net.steward.start();
    let mut cso = net.member("cso", "cso");
    let mut supplier = net.member("supplier", "supplier");
    let mut brand = net.member("brand", "brand");
    supplier.start();
    brand.start();
    cso.start();
    let case = cso.escalate(&supplier, "Excessive overtime");
    wait_for("the supplier to hold the case", SOON, || {
        supplier.cases().contains(&case).then_some(())
    });
    // Disconnect: the CSO stops; the supplier acknowledges meanwhile.
    cso.stop();
    supplier.post(
        &format!("/api/cases/{case}/events"),
        &json!({ "event": { "type": "acknowledgement", "note": "checking" } }),
    );
    supplier.stop();
    // The CSO, without the acknowledgement, escalates the case to the brand as well.
    cso.start();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    cso.post(
        &format!("/api/cases/{case}/events"),
        &json!({ "event": {
            "type": "escalation",
            "to": brand.org_id,
            "categories": ["excessive_overtime"],
            "workers_affected": 3,
            "site": "Site A",
            "requested_remedy": "Push the supplier to limit overtime",
            "description": "Supplier has not answered",
            "recruitment_fees": null,
            "acknowledge_by": now + 7 * 86400,
            "remediate_by": now + 30 * 86400,
        }}),
    );
    assert_eq!(cso.event_hashes(&case).len(), 2);
    // Reconnect: both histories become the same three events, with two heads.
    supplier.start();
    let cso_view = wait_for(
        "the histories to converge",
        Duration::from_secs(120),
        || {
            let a = cso.event_hashes(&case);
            let b = supplier.event_hashes(&case);
            (a.len() == 3 && a == b).then_some(a)
        },
    );
    let heads = cso.get(&format!("/api/cases/{case}"))["heads"]
        .as_array()
        .expect("heads")
        .len();
    assert_eq!(
        heads, 2,
        "concurrent appends are kept as two heads, not dropped"
    );
    // The third participant converges on the same three events too.
    wait_for("the brand to hold the same history", SOON, || {
        (brand.event_hashes(&case) == cso_view).then_some(())
    });
}

#[test]
fn the_admin_api_refuses_requests_without_the_token() {
    let mut net = Net::new();
    net.steward.start();
    let base = format!(
        "http://{}",
        std::fs::read_to_string(net.steward.dir.join("admin.addr"))
            .expect("addr")
            .trim()
    );
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    for path in [
        "/api/status",
        "/api/peers",
        "/api/outbox",
        "/api/cases",
        "/api/members",
        "/api/nope",
    ] {
        let res = agent.get(format!("{base}{path}")).call().expect("get");
        assert_eq!(res.status().as_u16(), 401, "{path} without token");
        let res = agent
            .get(format!("{base}{path}"))
            .header(
                "Authorization",
                "Bearer wrong-token-of-the-right-length-0000000000000000000000",
            )
            .call()
            .expect("get");
        assert_eq!(res.status().as_u16(), 401, "{path} with a wrong token");
    }
    let res = agent
        .post(format!("{base}/api/members/revoke"))
        .send_json(json!({ "org_id": "00".repeat(32), "reason": "x" }))
        .expect("post");
    assert_eq!(res.status().as_u16(), 401);
    assert_eq!(
        net.steward.get("/api/members")["members"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert!(net.steward.get("/api/status")["membership"]["revocations"] == 0);
}

#[test]
fn concurrent_appends_all_arrive() {
    let mut net = Net::new();
    net.steward.start();
    let mut cso = net.member("cso", "cso");
    let mut supplier = net.member("supplier", "supplier");
    supplier.start();
    cso.start();
    cso.wait_to_know(&supplier);
    // Eight operators at once (that waiting appends share one flush is checked by the core's
    // unit test; here, that none is lost or mixed up).
    let sent: BTreeSet<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|t| {
                let (cso, supplier) = (&cso, &supplier);
                s.spawn(move || {
                    (0..10)
                        .map(|i| cso.escalate(supplier, &format!("thread {t} case {i}")))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("thread"))
            .collect()
    });
    assert_eq!(sent.len(), 80, "every append got its own case");
    wait_for(
        "all 80 cases at the supplier",
        Duration::from_secs(120),
        || {
            let held: BTreeSet<String> = supplier.cases().into_iter().collect();
            (held == sent).then_some(())
        },
    );
    assert_eq!(cso.cases().len(), 80);
}
