//! An agency's cases and plan reach the brands of the suppliers it recruits for.

use super::*;

/// The brand's view of one organisation of its supply chain (`/api/supply-chain`).
pub(super) fn chain_entry(brand: &Node, org: &str) -> Option<Value> {
    brand.get("/api/supply-chain")["suppliers"]
        .as_array()?
        .iter()
        .find(|s| s["supplier"] == org)
        .cloned()
}

/// Whether `node` holds a complete link between `upstream` and `downstream`.
pub(super) fn holds_link(node: &Node, upstream: &str, downstream: &str) -> bool {
    node.get("/api/links")["links"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|l| {
            l["complete"] == true
                && l["link"]["upstream"] == upstream
                && l["link"]["downstream"] == downstream
        })
}

#[test]
fn an_agency_s_cases_and_plan_reach_the_brands_of_the_suppliers_it_recruits_for() {
    let (net, cso, supplier, mut brand) = Net::with_cso_supplier_and_brand();
    let mut agency = net.member("agency", "agency");
    agency.start();
    let mut late_brand = net.member("brand2", "brand");
    late_brand.start();
    brand.link_supplier(&supplier);
    // A plan the agency kept before any supplier recruited through it.
    let planned = format!("{}-01", last_month());
    let before = agency.post(
        "/api/improvements",
        &json!({
            "kind": "policy_adopted", "title": "Zero fees for workers",
            "description": "Employer Pays adopted", "planned_for": planned,
        }),
    );
    let before_id = before["id"].as_str().expect("activity id").to_string();
    let first: SignedRecord = serde_json::from_value(before["record"].clone()).expect("record");
    // The supplier recruits through the agency: its brand learns of the link and gets the
    // agency's plan through the supplier (the agency does not know the brand).
    supplier.link_to("supplier_agency", &agency);
    wait_for("the brand to learn of the supplier's agency", SOON, || {
        holds_link(&brand, &supplier.org_id, &agency.org_id).then_some(())
    });
    for node in [&supplier, &brand] {
        wait_for(
            &format!("{} to hold the agency's plan", node.name),
            SOON,
            || {
                plan(node)
                    .iter()
                    .any(|(i, _, _)| *i == before_id)
                    .then_some(())
            },
        );
    }
    // A brand that does not buy from the supplier learned nothing...
    assert!(!holds_link(&late_brand, &supplier.org_id, &agency.org_id));
    assert!(plan(&late_brand).is_empty());
    // ...and refuses the link and the plan from a modified supplier node that sends them anyway.
    let network = load_network(&net.genesis());
    // The same link signed again by both sides (the test holds their keys).
    let link: SupplyChainLink = brand.get("/api/links")["links"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|l| l["link"]["downstream"] == agency.org_id.as_str())
        .and_then(|l| serde_json::from_value(l["link"].clone()).ok())
        .expect("the agency link at the brand");
    let mut link_record = SignedRecord::sign(&link, &keys_of(&supplier)).expect("sign");
    link_record.cosign(&keys_of(&agency));
    let sealed = |kind, r: &SignedRecord, to: &Node| {
        seal(
            &network,
            &keys_of(&supplier),
            kind,
            &serde_json::to_vec(r).expect("json"),
            &[cert_of(to)],
        )
    };
    let out = deliver_as_member(
        &network,
        &supplier,
        &late_brand,
        vec![
            sealed(MessageKind::SupplyChainLink, &link_record, &late_brand),
            sealed(MessageKind::ImprovementActivity, &first, &late_brand),
        ],
    );
    assert!(
        matches!(&out[0], AckOutcome::Retry(why) if why.contains("neither buys from nor works with")),
        "{:?}",
        out[0]
    );
    assert!(
        matches!(&out[1], AckOutcome::Retry(why) if why.contains("neither buys from nor works with")),
        "{:?}",
        out[1]
    );
    // The same two messages to the brand that buys from the supplier are taken (a control:
    // the refusals above come from the missing link, not from the messages).
    let out = deliver_as_member(
        &network,
        &supplier,
        &brand,
        vec![
            sealed(MessageKind::SupplyChainLink, &link_record, &brand),
            sealed(MessageKind::ImprovementActivity, &first, &brand),
        ],
    );
    assert!(
        out.iter()
            .all(|o| matches!(o, AckOutcome::Accepted | AckOutcome::Duplicate)),
        "{out:?}"
    );
    // The agency cannot reach a brand directly either: it is not linked to it.
    let direct = seal(
        &network,
        &keys_of(&agency),
        MessageKind::ImprovementActivity,
        &serde_json::to_vec(&first).expect("json"),
        &[cert_of(&late_brand)],
    );
    let out = deliver_as_member(&network, &agency, &late_brand, vec![direct]);
    assert!(
        matches!(&out[0], AckOutcome::Retry(why) if why.contains("neither buys from nor works with")),
        "{:?}",
        out[0]
    );
    assert!(plan(&late_brand).is_empty());
    // A case the CSO escalates to the agency reaches the brand as the agency's.
    let case = cso.escalate(&agency, "Recruitment fees charged");
    let entry = wait_for("the brand to see the agency's case", SOON, || {
        chain_entry(&brand, &agency.org_id)
            .filter(|e| e["cases"].as_array().is_some_and(|c| c.len() == 1))
    });
    assert_eq!(entry["role"], "agency");
    assert_eq!(entry["recruits_for"], json!([supplier.org_id]));
    assert_eq!(entry["cases"][0]["case_ref"], case.as_str());
    // One organisation asked for: a page of its reports, and how many there are. A query
    // the node cannot answer is refused, saying why.
    let one = brand.get(&format!(
        "/api/supply-chain?supplier={}&per_page=1",
        agency.org_id
    ));
    assert_eq!(one["suppliers"].as_array().map(Vec::len), Some(1));
    assert_eq!(one["suppliers"][0]["cases_total"], 1);
    assert_eq!(one["suppliers"][0]["cases"][0]["case_ref"], case.as_str());
    let outsider = format!("supplier={}", cso.org_id);
    for (query, status, says) in [
        ("per_page=10001", 400, "per_page"),
        ("supplier=nobody", 400, "organisation id"),
        (outsider.as_str(), 404, "not a supplier or agency"),
    ] {
        let (code, body) = brand.get_raw(&format!("/api/supply-chain?{query}"));
        assert!(
            code == status && body.contains(says),
            "{query}: {code} {body}"
        );
    }
    // Not as the supplier's: the supplier's own scorecard counts nothing.
    let cards = brand.get("/api/scorecards")["scorecards"].clone();
    let card = |org: &str| {
        cards
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["supplier"] == org)
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(card(&supplier.org_id)["cases"], 0, "{cards}");
    assert_eq!(card(&agency.org_id)["cases"], 1, "{cards}");
    assert_eq!(card(&agency.org_id)["role"], "agency");
    let (code, csv) = brand.get_raw("/api/scorecards.csv");
    assert_eq!(code, 200);
    assert!(
        csv.lines()
            .any(|l| l.starts_with(agency.org_id.as_str()) && l.ends_with(",agency")),
        "{csv}"
    );
    // The brand's page names the agency and whom it recruits for, and its case list opens
    // the case.
    let page = brand.get_text("/supply-chain");
    assert!(page.contains("data-recruits-for"), "no agency section");
    // A corridor no report names, asked for, is shown selected on both pages, so the form
    // says what narrows them (the positive control: it is not offered unasked).
    assert!(!page.contains("value=\"KH-TH\""), "offered unasked");
    for path in ["/supply-chain?corridor=KH-TH", "/cases?corridor=KH-TH"] {
        let narrowed = brand.get_text(path);
        assert!(
            narrowed.contains("<option value=\"KH-TH\" selected>"),
            "{path}: the corridor asked for is not shown"
        );
    }
    assert!(page.contains(&format!("data-benchmark=\"{}\"", agency.org_id)));
    let list = brand.get("/api/cases");
    assert!(list.to_string().contains(&case), "{list}");
    // A case escalated to the supplier and then to its agency: the brand keeps a report of
    // each, lists the case once naming both, and its dashboard counts it once.
    let both = cso.escalate(&supplier, "Wages withheld");
    cso.escalate_fees_to(&both, &agency);
    wait_for("the brand to hold both parties' reports", SOON, || {
        let has = |org: &str| {
            chain_entry(&brand, org).is_some_and(|e| {
                e["cases"]
                    .as_array()
                    .is_some_and(|c| c.iter().any(|r| r["case_ref"] == both.as_str()))
            })
        };
        (has(&supplier.org_id) && has(&agency.org_id)).then_some(())
    });
    let rows: Vec<Value> = brand.get("/api/cases")["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .filter(|r| r["case_ref"] == both.as_str())
        .cloned()
        .collect();
    assert_eq!(rows.len(), 1, "{rows:?}");
    let names = rows[0]["counterparties"].to_string();
    assert!(
        names.contains(&supplier.org_id) && names.contains(&agency.org_id),
        "{names}"
    );
    // A report kept by an earlier release (under the case and CSO only) is read, and the
    // next report for the same case and supplier replaces it rather than adding a second.
    // The brand also loses the agency link (as a brand that upgraded from a release that
    // did not relay them never had it): the supplier tells it again when it is admitted.
    brand.stop();
    {
        use ilm_node::schema::{LINKS, STATUS_REPORTS, legacy_report_id, open, report_id};
        let store = open(&brand.dir.join("db")).expect("open the brand's db");
        let case_ref: ilm_protocol::CaseRef = both.parse().expect("case ref");
        let (cso_id, supplier_id) = (cert_of(&cso).org_id, cert_of(&supplier).org_id);
        let id = report_id(&case_ref, &cso_id, &supplier_id);
        let r: ilm_node::records::StatusReport = store
            .get(&STATUS_REPORTS, &id)
            .expect("read")
            .expect("the supplier's report");
        let mut batch = ilm_node::store::WriteBatch::new();
        batch.remove(&STATUS_REPORTS, &id);
        batch
            .put(&STATUS_REPORTS, &legacy_report_id(&case_ref, &cso_id), &r)
            .expect("stage");
        let links: Vec<ilm_node::records::StoredLink> = store.scan(&LINKS, &[]).expect("links");
        let agency_links: Vec<_> = links
            .iter()
            .filter(|l| {
                serde_json::from_slice::<SupplyChainLink>(&l.record.body)
                    .is_ok_and(|b| b.downstream == cert_of(&agency).org_id)
            })
            .collect();
        assert_eq!(agency_links.len(), 1);
        for l in agency_links {
            batch.remove(&LINKS, l.id.as_bytes());
        }
        store.commit(batch).expect("commit");
        store.flush().expect("flush");
    }
    brand.start();
    wait_for(
        "the supplier to tell the brand of its agency again",
        SOON,
        || holds_link(&brand, &supplier.org_id, &agency.org_id).then_some(()),
    );
    let reports_of_both = |org: &str| -> Vec<Value> {
        chain_entry(&brand, org)
            .and_then(|e| e["cases"].as_array().cloned())
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r["case_ref"] == both.as_str())
            .collect()
    };
    assert_eq!(
        reports_of_both(&supplier.org_id).len(),
        1,
        "the legacy report is not read"
    );
    supplier.append_event(
        &both,
        json!({ "type": "acknowledgement", "note": "Looking into it" }),
    );
    wait_for(
        "the brand to hold the supplier's acknowledgement",
        SOON,
        || {
            reports_of_both(&supplier.org_id)
                .iter()
                .any(|r| !r["acknowledged_at"].is_null())
                .then_some(())
        },
    );
    assert_eq!(
        reports_of_both(&supplier.org_id).len(),
        1,
        "the legacy report was kept beside the new one"
    );
    // The agency is not counted as a linked supplier.
    let dashboard = brand.get_text("/dashboard");
    assert!(
        dashboard.contains("data-stat=\"linked_suppliers\"><div class=\"value\">1</div>"),
        "the dashboard does not count one linked supplier"
    );
    // An activity the agency records now reaches the brand through the supplier.
    let now_id = agency.post(
        "/api/improvements",
        &json!({ "kind": "training", "title": "Pre-departure training", "planned_for": planned }),
    )["id"]
        .as_str()
        .expect("id")
        .to_string();
    wait_for(
        "the brand to receive the agency's new activity",
        SOON,
        || {
            plan(&brand)
                .iter()
                .any(|(i, _, _)| *i == now_id)
                .then_some(())
        },
    );
    // A brand that links to the supplier later learns of the agency and gets its plan.
    late_brand.link_supplier(&supplier);
    wait_for("the later brand to learn of the agency", SOON, || {
        holds_link(&late_brand, &supplier.org_id, &agency.org_id).then_some(())
    });
    wait_for("the later brand to receive the agency's plan", SOON, || {
        let p = plan(&late_brand);
        (p.iter().any(|(i, _, _)| *i == before_id) && p.iter().any(|(i, _, _)| *i == now_id))
            .then_some(())
    });
    assert!(chain_entry(&late_brand, &agency.org_id).is_some());
    // Each brand gets its own envelope (an envelope names all its recipients, and a brand
    // must not learn who else buys from the supplier): the CSO's report of the agency's
    // acknowledgement, and the supplier's relay of the agency's next activity.
    agency.append_event(&case, json!({ "type": "acknowledgement", "note": "Seen" }));
    let third = agency.post(
        "/api/improvements",
        &json!({ "kind": "training", "title": "Refresher", "planned_for": planned }),
    )["id"]
        .as_str()
        .expect("id")
        .to_string();
    for b in [&brand, &late_brand] {
        wait_for(&format!("{} to receive the activity", b.name), SOON, || {
            plan(b).iter().any(|(i, _, _)| *i == third).then_some(())
        });
    }
    let brands = [brand.org_id.clone(), late_brand.org_id.clone()];
    for (node, kind, case_ref) in [
        (&cso, "status_report", Some(case.as_str())),
        (&supplier, "improvement_activity", None),
    ] {
        let sent = wait_for(
            &format!("{} to send {kind} to both brands", node.name),
            SOON,
            || {
                let entries: Vec<(String, String)> = node.get("/api/outbox")["entries"]
                    .as_array()?
                    .iter()
                    .filter(|e| e["kind"] == kind)
                    .filter(|e| case_ref.is_none_or(|c| e["case_ref"] == c))
                    .filter(|e| brands.iter().any(|b| e["recipient"] == b.as_str()))
                    .map(|e| {
                        (
                            e["message_id"].as_str().unwrap_or_default().to_string(),
                            e["recipient"].as_str().unwrap_or_default().to_string(),
                        )
                    })
                    .collect();
                let to = |b: &str| entries.iter().filter(|(_, r)| r == b).count();
                (to(&brands[0]) > 0 && to(&brands[1]) > 0).then_some(entries)
            },
        );
        let mut ids: Vec<&String> = sent.iter().map(|(m, _)| m).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(
            ids.len(),
            sent.len(),
            "{kind}: an envelope to two brands: {sent:?}"
        );
    }
}
