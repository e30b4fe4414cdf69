//! What a node acknowledges is on disk: a delivery whose flush fails is never acknowledged
//! (neither `Accepted` nor, on redelivery, `Duplicate`), leaves nothing visible, and arrives
//! once storage works again. The receiver is a real node embedded in the test process, so
//! the failure is injected through its store; the sender is a real `ilm run`.

#[path = "support/mod.rs"]
mod support;

use ilm_node::daemon::{RunOptions, start};
use ilm_node::datadir::DataDir;
use serde_json::Value;
use support::*;

fn entry_to(node: &Node, case: &str, recipient: &str) -> Option<Value> {
    node.get("/api/outbox")["entries"]
        .as_array()?
        .iter()
        .find(|e| e["case_ref"] == case && e["recipient"] == recipient && e["kind"] == "case_event")
        .cloned()
}

#[test]
fn a_delivery_whose_flush_fails_is_never_acknowledged_and_arrives_later() {
    let mut net = Net::new();
    net.steward.start();
    let mut cso = net.member("cso", "cso");
    cso.start();
    let supplier = net.member("supplier", "supplier");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let node = rt
        .block_on(start(
            DataDir::new(&supplier.dir),
            RunOptions {
                listen: vec!["/ip4/127.0.0.1/tcp/0".into()],
                bootstrap: supplier.bootstrap.clone(),
                admin_listen: Some("127.0.0.1:0".parse().expect("addr")),
                ..RunOptions::default()
            },
        ))
        .expect("start the supplier in-process");
    cso.wait_to_know(&supplier);
    wait_for("the CSO and the supplier to meet", SOON, || {
        cso.peer_orgs().contains(&supplier.org_id).then_some(())
    });

    // The supplier's disk is full: every flush fails.
    node.store.inject_flush_failures(u32::MAX);
    let case = cso.escalate(&supplier, "Wages withheld; the disk is full");
    // Counted once a failed attempt was seen: a flush the supplier began before the fault
    // (gossip it was storing as the peers met) may still end well after it was injected.
    wait_for("a first failed attempt", SOON, || {
        entry_to(&cso, &case, &supplier.org_id).filter(|e| e["attempts"].as_u64() >= Some(1))
    });
    let flushes = node.store.flush_count();
    // The CSO retries; each attempt meets a failed flush. Without the undo, the second
    // attempt found the first one's processed-marker and was answered `Duplicate`.
    let e = wait_for(
        "three failed attempts (or an acknowledgement)",
        SOON,
        || {
            entry_to(&cso, &case, &supplier.org_id)
                .filter(|e| e["attempts"].as_u64() >= Some(3) || e["state"] != "pending")
        },
    );
    assert_eq!(
        e["state"], "pending",
        "acknowledged without reaching the disk: {e}"
    );
    assert!(
        e["last_error"]
            .as_str()
            .unwrap_or("")
            .contains("storage error"),
        "{e}"
    );
    assert_eq!(
        node.store.flush_count(),
        flushes,
        "no flush succeeded meanwhile"
    );
    // Nothing of it is visible at the supplier: while writes fail, reads are refused (503:
    // memory may hold a batch whose flush failed) or show no case and no processed message.
    match supplier.try_get("/api/cases?closed=true&per_page=10000") {
        Ok(v) => assert_eq!(
            v["cases"],
            serde_json::json!([]),
            "a case whose flush failed is visible"
        ),
        Err(e) => assert!(e.starts_with("503"), "{e}"),
    }
    assert!(
        !matches!(node.store.count(&ilm_node::schema::PROCESSED), Ok(n) if n > 0),
        "a processed marker whose flush failed is visible"
    );

    // Space is freed: the next attempt is stored, flushed and acknowledged.
    node.store.inject_flush_failures(0);
    wait_for("the delivery after storage recovered", SOON, || {
        entry_to(&cso, &case, &supplier.org_id).filter(|e| e["state"] == "delivered")
    });
    assert_eq!(supplier.cases(), vec![case.clone()]);
    assert_eq!(supplier.event_hashes(&case).len(), 1);
    rt.block_on(node.stop()).expect("stop the supplier");

    // It survives a restart (it was flushed before the acknowledgement).
    let store = ilm_node::schema::open(&DataDir::new(&supplier.dir).db_path()).expect("open");
    let case_ref: ilm_protocol::CaseRef = case.parse().expect("case ref");
    assert_eq!(
        store
            .scan(&ilm_node::schema::EVENTS, case_ref.as_bytes())
            .expect("events")
            .len(),
        1
    );
    assert_eq!(store.count(&ilm_node::schema::PROCESSED).expect("count"), 1);
}
