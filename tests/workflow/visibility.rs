//! Each party sees what is its own: a supplier's inbox, a brand's cases, the roles' limits, and a re-escalation's Thai text.

use super::*;

/// A supplier's inbox comes a page at a time, what it owes soonest first and an answered
/// round last, from the API, the page (with links between pages) and the CLI; a page size
/// out of range or an unknown parameter is refused with a message, not ignored.
#[test]
fn a_supplier_pages_through_its_inbox_owing_first() {
    let (_net, cso, supplier) = Net::with_cso_and_supplier();
    let owes_ack = cso.escalate(&supplier, "Wages withheld");
    let owes_remedy = cso.escalate(&supplier, "Passports kept");
    let settled = cso.escalate(&supplier, "Fees charged");
    wait_for("the supplier to hold the three cases", SOON, || {
        let held = supplier.cases();
        [&owes_ack, &owes_remedy, &settled]
            .iter()
            .all(|c| held.contains(c))
            .then_some(())
    });
    supplier.append_event(
        &owes_remedy,
        json!({ "type": "acknowledgement", "note": "Looking into it" }),
    );
    remediate(&supplier, &settled);
    let refs = |v: &Value| -> Vec<String> {
        v["inbox"]
            .as_array()
            .expect("inbox")
            .iter()
            .map(|i| i["case_ref"].as_str().expect("case_ref").to_string())
            .collect()
    };
    let first = supplier.get("/api/inbox?per_page=2");
    assert_eq!(
        refs(&first),
        [owes_ack.clone(), owes_remedy.clone()],
        "{first}"
    );
    assert_eq!(
        (
            &first["total"],
            &first["owing"],
            &first["page"],
            &first["pages"]
        ),
        (&json!(3), &json!(2), &json!(1), &json!(2)),
        "{first}"
    );
    let second = supplier.get("/api/inbox?page=2&per_page=2");
    assert_eq!(refs(&second), std::slice::from_ref(&settled), "{second}");
    assert_eq!(refs(&supplier.get("/api/inbox")).len(), 3);
    for bad in ["per_page=10001", "page=two", "colour=red"] {
        let (code, body) = supplier.get_raw(&format!("/api/inbox?{bad}"));
        assert_eq!(code, 400, "{bad}: {body}");
        let v: Value = serde_json::from_str(&body).expect("json");
        assert!(
            !v["error"].as_str().unwrap_or("").is_empty(),
            "{bad}: {body}"
        );
    }
    // The page links to the next one and back.
    let (code, html) = supplier.get_raw("/inbox?per_page=2");
    assert_eq!(code, 200);
    let pager = |html: &str| {
        html.find("class=\"pager\"")
            .map(|i| html[i..].chars().take(400).collect::<String>())
    };
    assert!(
        html.contains(&owes_ack) && !html.contains(&settled),
        "page 1"
    );
    assert!(
        html.contains("rel=\"next\" href=\"&#x2f;inbox?page=2&amp;per_page=2\""),
        "{:?}",
        pager(&html)
    );
    assert!(!html.contains("rel=\"prev\""));
    let (_, html) = supplier.get_raw("/inbox?page=2&per_page=2");
    assert!(
        html.contains(&settled) && !html.contains(&owes_ack),
        "page 2"
    );
    assert!(
        html.contains("rel=\"prev\" href=\"&#x2f;inbox?page=1&amp;per_page=2\""),
        "{:?}",
        pager(&html)
    );
    assert!(!html.contains("rel=\"next\""));
    let (code, _) = supplier.get_raw("/inbox?per_page=99999");
    assert_eq!(code, 400);
    // The CLI pages the same way.
    let cli = ilm(&supplier.dir, &["inbox", "--per-page", "2"]);
    assert!(
        cli.contains(&owes_ack[..8]) && !cli.contains(&settled[..8]),
        "{cli}"
    );
    assert!(cli.contains("page 1 of 2"), "{cli}");
    let cli = ilm(&supplier.dir, &["inbox", "--page", "2", "--per-page", "2"]);
    assert!(
        cli.contains(&settled[..8]) && !cli.contains(&owes_ack[..8]),
        "{cli}"
    );
}

#[test]
fn suppliers_and_brands_see_only_their_own_cases() {
    let mut net = Net::new();
    net.steward.start();
    let mut cso = net.member("cso", "cso");
    let mut a = net.member("supplier-a", "supplier");
    let mut b = net.member("supplier-b", "supplier");
    let mut brand = net.member("brand", "brand");
    for n in [&mut cso, &mut a, &mut b, &mut brand] {
        n.start();
    }
    brand.link_supplier(&a);
    let case_a = intake_case(&cso, &a, "Worker A", "1");
    let case_b = intake_case(&cso, &b, "Worker B", "2");
    escalate(&cso, &case_a, &a);
    escalate(&cso, &case_b, &b);
    wait_for("both suppliers to hold their case", SOON, || {
        (a.cases().contains(&case_a) && b.cases().contains(&case_b)).then_some(())
    });
    a.append_event(&case_a, json!({ "type": "acknowledgement", "note": "ok" }));
    wait_for("the brand to get A's status", SOON, || {
        let v = brand.get("/api/supply-chain");
        v["suppliers"][0]["cases"]
            .as_array()?
            .iter()
            .any(|c| c["case_ref"] == case_a.as_str() && c["status"] == "acknowledged")
            .then_some(())
    });
    assert_eq!(a.cases(), vec![case_a.clone()]);
    assert_eq!(b.cases(), vec![case_b.clone()]);
    assert!(
        brand.cases().is_empty(),
        "a brand is not a case participant unless escalated to"
    );
    let v = brand.get("/api/supply-chain");
    let suppliers = v["suppliers"].as_array().expect("suppliers");
    assert_eq!(suppliers.len(), 1);
    assert_eq!(suppliers[0]["supplier"], a.org_id.as_str());
    assert!(
        !v.to_string().contains(&case_b),
        "the brand must see nothing of B's case"
    );
    // Links are not broadcast: B never learns who A sells to; the CSO knows (to report).
    assert!(
        b.get("/api/links")["links"]
            .as_array()
            .expect("links")
            .is_empty()
    );
    assert_eq!(
        cso.get("/api/links")["links"]
            .as_array()
            .expect("links")
            .len(),
        1
    );
    // B's node cannot read anything about A's case, and asking for it returns nothing.
    assert!(b.try_get(&format!("/api/cases/{case_a}")).is_err());
    // The brand's scorecards and their export: A's figures (the acknowledged case), and
    // nothing of B, which it is not linked to.
    let cards = brand.get("/api/scorecards");
    let cards = cards["scorecards"].as_array().expect("scorecards");
    assert_eq!(cards.len(), 1, "{cards:?}");
    assert_eq!(cards[0]["supplier"], a.org_id.as_str());
    assert_eq!(cards[0]["cases"], 1);
    assert!(
        cards[0]["median_days_to_acknowledge"].is_number(),
        "{cards:?}"
    );
    // The report names the case's sector and corridor (from the workers' contacts, coarse),
    // and the brand narrows its scorecards by them.
    let report = &v["suppliers"][0]["cases"][0];
    assert_eq!(report["sector"], "seafood", "{report}");
    assert_eq!(report["corridor"], json!(["MM", "TH"]), "{report}");
    let count = |query: &str| {
        brand.get(&format!("/api/scorecards?{query}"))["scorecards"][0]["cases"].clone()
    };
    assert_eq!(count("sector=seafood"), json!(1));
    assert_eq!(count("sector=garment"), json!(0));
    assert_eq!(count("corridor=MM-TH"), json!(1));
    assert_eq!(count("corridor=KH-TH"), json!(0));
    for bad in ["sector=not_a_sector", "corridor=MMTH", "corridor=mm-th"] {
        let (status, body) = brand.get_raw(&format!("/api/scorecards?{bad}"));
        assert_eq!(status, 400, "{bad}: {body}");
    }
    // The CLI's export narrows the same way, and refuses a bad value.
    let narrowed = |args: &[&str]| {
        let mut all = vec!["export", "scorecards", "--format", "json"];
        all.extend_from_slice(args);
        let v: Value = serde_json::from_str(&ilm(&brand.dir, &all)).expect("json");
        v["scorecards"][0]["cases"].clone()
    };
    assert_eq!(
        narrowed(&["--sector", "seafood", "--corridor", "MM-TH"]),
        json!(1)
    );
    assert_eq!(narrowed(&["--sector", "garment"]), json!(0));
    let refused = ilm_fails(
        &brand.dir,
        &["export", "scorecards", "--corridor", "Myanmar"],
    );
    assert!(refused.contains("corridor"), "{refused}");
    let csv = ilm(&brand.dir, &["export", "scorecards", "--format", "csv"]);
    assert!(csv.contains(&a.org_id), "{csv}");
    for needle in [b.org_id.as_str(), "supplier-b org", case_b.as_str()] {
        assert!(
            !csv.contains(needle),
            "{needle} in the brand's export: {csv}"
        );
    }
}

#[test]
fn roles_are_enforced_and_not_resolved_reopens_the_case() {
    let (_net, cso, supplier, brand) = Net::with_cso_supplier_and_brand();
    let case = intake_case(&cso, &supplier, "Worker R", "3");
    escalate(&cso, &case, &supplier);
    remediate(&supplier, &case);
    // A supplier cannot author a worker verification.
    let (code, v) = supplier.post_raw(
        &format!("/api/cases/{case}/events"),
        &json!({ "event": { "type": "worker_verification", "verdict": "resolved", "workers_consulted": 1, "note": "" } }),
    );
    assert_eq!(code, 422, "{v}");
    assert!(v["error"].as_str().unwrap_or("").contains("may not author"));
    // Nobody backdates a signed event on a real node (deadlines depend on it).
    let (code, v) = supplier.post_raw(
        &format!("/api/cases/{case}/events"),
        &json!({ "event": { "type": "acknowledgement", "note": "" }, "at": 1700000000 }),
    );
    assert_eq!(code, 400, "{v}");
    // A brand cannot escalate.
    brand.wait_to_know(&supplier);
    let (code, v) = brand.post_raw(
        "/api/cases",
        &json!({ "escalation": {
            "to": supplier.org_id, "categories": ["deception"], "workers_affected": 1, "site": "x",
            "requested_remedy": "x", "description": "x", "recruitment_fees": null,
            "acknowledge_by": 1900000000, "remediate_by": 1900000001 } }),
    );
    assert_eq!(code, 422, "{v}");
    // Workers say it did not happen: the case reopens and goes back to the supplier.
    wait_for("remediation reported at the CSO", SOON, || {
        (status(&cso, &case) == "remediation_reported").then_some(())
    });
    let before = supplier.event_hashes(&case).len();
    cso.post(&format!("/api/cases/{case}/verify"), &json!({ "verdict": "not_resolved", "workers_consulted": 8, "note": "No payment received" }));
    // Reopened and escalated again: the supplier owes an answer once more.
    assert_eq!(status(&cso, &case), "escalated");
    assert_eq!(
        cso.get(&format!("/api/cases/{case}"))["state"]["reopens"],
        1
    );
    wait_for("the supplier to receive the re-escalation", SOON, || {
        let v = supplier.get(&format!("/api/cases/{case}"));
        let events = v["events"].as_array()?;
        let escalations = events
            .iter()
            .filter(|e| e["event"]["type"] == "escalation")
            .count();
        (events.len() >= before + 3 && escalations == 2 && v["status"] == "escalated").then_some(())
    });
    // No attestation for a not-resolved case.
    assert!(
        cso.get("/api/attestations")["attestations"]
            .as_array()
            .expect("list")
            .is_empty()
    );
}

#[test]
fn a_re_escalation_cuts_thai_text_on_a_character_boundary() {
    let (_net, cso, supplier) = Net::with_cso_and_supplier();
    let case = intake_case(&cso, &supplier, "Worker T", "5");
    cso.wait_to_know(&supplier);
    // 7,996 bytes, almost all Thai (3 bytes a character): with the re-escalation's prefix,
    // the text must be cut, and 8,000 bytes falls inside a character.
    let thai = format!("A{}", "ค".repeat(2_665));
    cso.post(
        &format!("/api/cases/{case}/escalate"),
        &json!({ "to": supplier.org_id, "requested_remedy": "จ่ายค่าจ้าง", "description": thai }),
    );
    remediate(&supplier, &case);
    wait_for("remediation reported at the CSO", SOON, || {
        (status(&cso, &case) == "remediation_reported").then_some(())
    });
    let (code, v) = cso.post_raw(
        &format!("/api/cases/{case}/verify"),
        &json!({ "verdict": "not_resolved", "workers_consulted": 4 }),
    );
    assert_eq!(code, 200, "{v}");
    let again = wait_for("the re-escalation at the supplier", SOON, || {
        let v = supplier.get(&format!("/api/cases/{case}"));
        v["events"]
            .as_array()?
            .iter()
            .filter(|e| e["event"]["type"] == "escalation")
            .nth(1)
            .map(|e| e["event"]["description"].as_str().unwrap_or("").to_string())
    });
    assert!(again.starts_with("Re-escalated"), "{again}");
    assert!(
        again.len() <= 8_000 && again.len() > 7_990,
        "{}",
        again.len()
    );
    assert!(again.ends_with('ค'));
}
