//! A supplier's improvement plan reaches its brand and its CSO, and no one else.

use super::*;

/// The admin listener's base address.
pub(super) fn cso_base(node: &Node) -> String {
    format!(
        "http://{}",
        std::fs::read_to_string(node.dir.join("admin.addr"))
            .expect("admin.addr")
            .trim()
    )
}

/// The improvement activities a node holds, by id: (title, completed_at).
pub(super) fn plan(node: &Node) -> Vec<(String, String, Value)> {
    node.get("/api/improvements")["activities"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            (
                a["id"].as_str().unwrap_or_default().to_string(),
                a["title"].as_str().unwrap_or_default().to_string(),
                a["completed_at"].clone(),
            )
        })
        .collect()
}

#[test]
fn a_supplier_s_improvement_plan_reaches_its_brand_and_cso_and_no_one_else() {
    let (net, cso, supplier, brand) = Net::with_cso_supplier_and_brand();
    let mut other_brand = net.member("brand2", "brand");
    other_brand.start();
    brand.link_supplier(&supplier);
    // The CSO works with the supplier: it escalated a case to it.
    let case = cso.consented_case(&supplier, "Canary Plan Worker");
    wait_for("the supplier to hold the case", SOON, || {
        supplier.cases().contains(&case).then_some(())
    });
    supplier.wait_to_know(&other_brand);
    let planned = format!("{}-01", last_month());
    let v = supplier.post(
        "/api/improvements",
        &json!({
            "kind": "policy_adopted", "title": "Employer Pays adopted",
            "description": "No worker pays recruitment costs", "planned_for": planned,
        }),
    );
    let id = v["id"].as_str().expect("activity id").to_string();
    let first: SignedRecord = serde_json::from_value(v["record"].clone()).expect("record");
    for node in [&brand, &cso] {
        wait_for(&format!("{} to receive the plan", node.name), SOON, || {
            plan(node).iter().any(|(i, _, _)| *i == id).then_some(())
        });
    }
    // The CSO's caseworkers see it on the case they escalated to the supplier.
    let page = cso.get_text(&format!("/cases/{case}"));
    assert!(
        page.contains(&format!("data-activity=\"{id}\"")) && page.contains("Employer Pays adopted"),
        "the plan is not on the CSO's case page"
    );
    // Completed: the new version replaces the old one everywhere.
    supplier.post(
        "/api/improvements",
        &json!({
            "id": id, "kind": "policy_adopted", "title": "Employer Pays adopted",
            "planned_for": planned, "completed_at": planned,
        }),
    );
    wait_for("the brand to see it completed", SOON, || {
        plan(&brand)
            .iter()
            .any(|(i, _, done)| *i == id && !done.is_null())
            .then_some(())
    });
    // The brand's trend chart marks it, and its plan lists it.
    let page = brand.get_text("/supply-chain");
    assert!(
        page.contains(
            "<g class=\"marker\"><title translate=\"no\">1. Employer Pays adopted</title>"
        ),
        "no marker on the brand's chart"
    );
    assert!(page.contains("data-activity=\"") && page.contains(&id));
    // A brand that does not buy from the supplier was sent nothing...
    assert!(
        plan(&other_brand).is_empty(),
        "an unlinked brand holds the plan"
    );
    // ...and does not take the plan when a modified supplier node sends it anyway (it answers
    // "not yet": the link that would relate them may still be on its way).
    let network = load_network(&net.genesis());
    let to = |node: &Node, from: &Node, r: &SignedRecord| {
        seal(
            &network,
            &keys_of(from),
            MessageKind::ImprovementActivity,
            &serde_json::to_vec(r).expect("json"),
            &[cert_of(node)],
        )
    };
    let out = deliver_as_member(
        &network,
        &supplier,
        &other_brand,
        vec![to(&other_brand, &supplier, &first)],
    );
    assert!(
        matches!(&out[0], AckOutcome::Retry(why) if why.contains("neither buys from nor works with")),
        "{:?}",
        out[0]
    );
    assert!(plan(&other_brand).is_empty());
    // Nor does a CSO that never escalated to the supplier.
    let mut other_cso = net.member("cso2", "cso");
    other_cso.start();
    supplier.wait_to_know(&other_cso);
    let out = deliver_as_member(
        &network,
        &supplier,
        &other_cso,
        vec![to(&other_cso, &supplier, &first)],
    );
    assert!(
        matches!(&out[0], AckOutcome::Retry(why) if why.contains("neither buys from nor works with")),
        "{:?}",
        out[0]
    );
    // A version dated ahead of the receiver's clock is refused.
    let mut ahead: ImprovementActivity = serde_json::from_slice(&first.body).expect("body");
    ahead.recorded_at = ilm_protocol::Timestamp(now().0 + 30 * 86_400);
    let ahead = SignedRecord::sign(&ahead, &keys_of(&supplier)).expect("sign");
    let out = deliver_as_member(
        &network,
        &supplier,
        &brand,
        vec![to(&brand, &supplier, &ahead)],
    );
    assert!(
        matches!(&out[0], AckOutcome::Rejected(why) if why.contains("future")),
        "{:?}",
        out[0]
    );
    // The old version again changes nothing at the linked brand.
    let out = deliver_as_member(
        &network,
        &supplier,
        &brand,
        vec![to(&brand, &supplier, &first)],
    );
    assert!(
        matches!(&out[0], AckOutcome::Accepted | AckOutcome::Duplicate),
        "{:?}",
        out[0]
    );
    assert!(
        plan(&brand)
            .iter()
            .any(|(i, _, done)| *i == id && !done.is_null()),
        "an older version replaced the completion"
    );
    // A plan in the supplier's name signed by someone else, and a plan from a brand.
    let mut forged_body: ImprovementActivity = serde_json::from_slice(&first.body).expect("body");
    forged_body.title = "Forged".into();
    let forged = SignedRecord::sign(&forged_body, &keys_of(&other_brand)).expect("sign");
    let mut own_body = forged_body.clone();
    own_body.org = cert_of(&other_brand).org_id;
    let from_brand = SignedRecord::sign(&own_body, &keys_of(&other_brand)).expect("sign");
    let out = deliver_as_member(
        &network,
        &other_brand,
        &brand,
        vec![
            to(&brand, &other_brand, &forged),
            to(&brand, &other_brand, &from_brand),
        ],
    );
    assert!(
        matches!(&out[0], AckOutcome::Rejected(why) if why.contains("signed by")),
        "{:?}",
        out[0]
    );
    assert!(
        matches!(&out[1], AckOutcome::Rejected(why) if why.contains("may not send")),
        "{:?}",
        out[1]
    );
    assert!(!plan(&brand).iter().any(|(_, t, _)| t == "Forged"));
    // A brand that links to the supplier later gets the plan recorded before.
    other_brand.link_supplier(&supplier);
    wait_for("the newly linked brand to receive the plan", SOON, || {
        plan(&other_brand)
            .iter()
            .any(|(i, _, done)| *i == id && !done.is_null())
            .then_some(())
    });
    // Only a supplier or an agency keeps a plan.
    let (code, _) = cso.post_raw(
        "/api/improvements",
        &json!({ "kind": "training", "title": "x", "planned_for": planned }),
    );
    assert_eq!(code, 403);
    // Withdrawn: it leaves the plan everywhere, and can be neither changed nor withdrawn
    // again.
    supplier.post("/api/improvements/withdraw", &json!({ "id": id }));
    for node in [&brand, &other_brand, &cso, &supplier] {
        wait_for(
            &format!("{} to drop the withdrawn activity", node.name),
            SOON,
            || (!plan(node).iter().any(|(i, _, _)| *i == id)).then_some(()),
        );
    }
    assert!(
        !brand.get_text("/supply-chain").contains(&id),
        "no longer on the brand's page"
    );
    let (code, body) = supplier.post_raw("/api/improvements/withdraw", &json!({ "id": id }));
    assert_eq!(code, 422, "{body}");
    let (code, body) = supplier.post_raw(
        "/api/improvements",
        &json!({ "id": id, "kind": "policy_adopted", "title": "Back", "planned_for": planned }),
    );
    assert_eq!(code, 422, "{body}");
    // The earlier, completed version delivered again does not bring it back.
    let out = deliver_as_member(
        &network,
        &supplier,
        &brand,
        vec![to(&brand, &supplier, &first)],
    );
    assert!(matches!(
        &out[0],
        AckOutcome::Accepted | AckOutcome::Duplicate
    ));
    assert!(!plan(&brand).iter().any(|(i, _, _)| *i == id));
}
