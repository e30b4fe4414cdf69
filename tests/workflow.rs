//! The case workflow across real nodes: intake, escalation, response, verification,
//! attestation, supply-chain links, privacy and access control.

#[path = "support/mod.rs"]
mod support;

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use support::*;

/// Records a contact and opens a case for it at the CSO; returns the case reference.
fn intake_case(cso: &Node, supplier: &Node, name: &str, phone: &str) -> String {
    intake_case_with_contact(cso, supplier, name, phone).0
}

/// Like [`intake_case`], also returning the contact (the worker) id.
fn intake_case_with_contact(
    cso: &Node,
    supplier: &Node,
    name: &str,
    phone: &str,
) -> (String, String) {
    let id = cso.post("/api/contacts", &contact_body(name, phone))["id"]
        .as_str()
        .expect("id")
        .to_string();
    let case = cso.post(
        "/api/local-cases",
        &json!({
            "contacts": [id], "workers": 25, "site": "Samut Sakhon factory",
            "issues": [{ "category": "withholding_of_wages" }, { "category": "recruitment_fees", "fee": { "minor_units": 1500000, "currency": "THB" } }],
            "supplier": supplier.org_id,
        }),
    )["case_ref"]
        .as_str()
        .expect("case_ref")
        .to_string();
    (case, id)
}

fn escalate(cso: &Node, case: &str, to: &Node) {
    cso.wait_to_know(to);
    cso.post(
        &format!("/api/cases/{case}/escalate"),
        &json!({ "to": to.org_id, "requested_remedy": "Pay wages and refund fees", "description": "25 workers unpaid for two months; fees charged" }),
    );
}

fn status(node: &Node, case: &str) -> String {
    node.get(&format!("/api/cases/{case}"))["status"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

/// Runs the supplier's side: acknowledge, plan, act, report.
fn remediate(supplier: &Node, case: &str) {
    wait_for("the supplier to receive the escalation", SOON, || {
        supplier.cases().contains(&case.to_string()).then_some(())
    });
    supplier.append_event(
        case,
        json!({ "type": "acknowledgement", "note": "We are investigating" }),
    );
    supplier.append_event(
        case,
        json!({ "type": "remediation_plan", "description": "Pay back wages and refund fees", "target_date": 1893456000 }),
    );
    supplier.append_event(
        case,
        json!({
            "type": "remediation_action", "description": "Back wages paid by bank transfer", "taken_at": 1796000000,
            "amount_repaid": { "minor_units": 1500000, "currency": "THB" }, "workers_benefited": 25,
            "evidence": [{ "sha256": "ab".repeat(32), "label": "bank transfer receipts" }],
        }),
    );
    supplier.append_event(
        case,
        json!({ "type": "remediation_reported", "summary": "All 25 workers paid" }),
    );
}

/// The files below `dir` holding `needle` (see `support::holders`).
fn grep_dir(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    support::holders(&[dir.to_path_buf()], &[needle])
}

#[test]
fn whole_lifecycle_to_a_brand_verifying_the_exported_attestation() {
    let (net, cso, supplier, brand) = Net::with_cso_supplier_and_brand();
    brand.link_supplier(&supplier);
    let case = intake_case(&cso, &supplier, "Worker One", "+66 80 000 0001");
    escalate(&cso, &case, &supplier);
    remediate(&supplier, &case);
    wait_for("the CSO to see remediation reported", SOON, || {
        (status(&cso, &case) == "remediation_reported").then_some(())
    });
    cso.post(&format!("/api/cases/{case}/verify"), &json!({ "verdict": "resolved", "workers_consulted": 10, "note": "Workers confirm payment" }));
    wait_for("the supplier to get the attestation draft", SOON, || {
        let v = supplier.get("/api/attestations");
        v["attestations"]
            .as_array()?
            .iter()
            .any(|a| a["awaiting_my_signature"] == true)
            .then_some(())
    });
    // A co-signature names the draft that was shown: another digest is refused and signs
    // nothing; the draft's own digest signs it.
    let cosign = format!("/api/attestations/{case}/cosign");
    let (code, v) = supplier.post_raw(&cosign, &json!({ "draft": "00".repeat(32) }));
    assert_eq!(code, 409, "{v}");
    let drafts = supplier.get("/api/attestations");
    let draft = drafts["attestations"]
        .as_array()
        .expect("attestations")
        .iter()
        .find(|a| a["case_ref"] == case.as_str())
        .expect("draft");
    assert_eq!(
        draft["complete"], false,
        "a refused co-signature signed: {draft}"
    );
    let digest = draft["digest"].as_str().expect("digest").to_string();
    supplier.post(&cosign, &json!({ "draft": digest }));
    wait_for("the brand to see a verified attestation", SOON, || {
        let v = brand.get("/api/supply-chain");
        let s = &v["suppliers"][0];
        let ok = s["supplier"] == supplier.org_id.as_str()
            && s["attestations"]
                .as_array()?
                .iter()
                .any(|a| a["signature_verified"] == true)
            && s["cases"]
                .as_array()?
                .iter()
                .any(|c| c["case_ref"] == case.as_str());
        ok.then_some(())
    });
    // Each page of the brand shows every attestation of its supply chain: a bundle is
    // checked once (dozens of signatures), not on every view, until the membership changes.
    let checks = || brand.get("/api/status")["membership"]["attestation_checks"].as_u64();
    // A certificate learned later would rightly start the checks again: first the brand
    // knows every member the steward admitted.
    let known = |n: &Node| n.get("/api/status")["membership"]["known_members"].as_u64();
    wait_for("the brand to know every member", SOON, || {
        (known(&brand) == known(&net.steward)).then_some(())
    });
    let before = checks().expect("attestation checks");
    assert!(before >= 1, "the view above checked the bundle");
    for _ in 0..3 {
        let v = brand.get("/api/supply-chain");
        assert_eq!(
            v["suppliers"][0]["attestations"][0]["signature_verified"],
            true
        );
    }
    assert_eq!(
        checks(),
        Some(before),
        "views checked the same bundle again"
    );
    // The CSO exports the bundle; the brand verifies it offline with the real binary.
    let file = net.tmp.path().join("attestation.json");
    ilm(
        &cso.dir,
        &[
            "attestation",
            "export",
            &case,
            "--out",
            file.to_str().expect("utf8"),
        ],
    );
    let out = ilm(&brand.dir, &["verify", file.to_str().expect("utf8")]);
    assert!(out.starts_with("VALID attestation"), "{out}");
    // Without the CSO's signature it fails.
    let mut bundle: Value =
        serde_json::from_slice(&std::fs::read(&file).expect("read")).expect("json");
    bundle["attestation"]["signatures"]
        .as_array_mut()
        .expect("sigs")
        .remove(0);
    let bad = net.tmp.path().join("bad.json");
    std::fs::write(&bad, serde_json::to_vec(&bundle).expect("json")).expect("write");
    let res = Command::new(ilm_bin())
        .arg("verify")
        .arg(&bad)
        .output()
        .expect("run");
    assert_eq!(res.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&res.stderr).contains("INVALID"));
}

#[test]
fn worker_identity_never_leaves_the_cso_without_consent() {
    let mut net = Net::new();
    net.steward.start();
    let mut cso = net.member("cso", "cso");
    let mut supplier = net.member("supplier", "supplier");
    let mut other = net.member("other", "supplier");
    let mut brand = net.member("brand", "brand");
    for n in [&mut cso, &mut supplier, &mut other, &mut brand] {
        n.start();
    }
    brand.link_supplier(&supplier);
    // Without consent.
    let canary_name = "CANARY-NAME-7f3a9c";
    let canary_phone = "CANARY-PHONE-+66-81-555-0199";
    let case = intake_case(&cso, &supplier, canary_name, canary_phone);
    escalate(&cso, &case, &supplier);
    remediate(&supplier, &case);
    wait_for("remediation reported at the CSO", SOON, || {
        (status(&cso, &case) == "remediation_reported").then_some(())
    });
    cso.post(
        &format!("/api/cases/{case}/verify"),
        &json!({ "verdict": "resolved", "workers_consulted": 3 }),
    );
    // Consent given, then withdrawn before the escalation: nothing is disclosed.
    let withdrawn_name = "WITHDRAWN-NAME-9e1c";
    let (case3, worker3) =
        intake_case_with_contact(&cso, &supplier, withdrawn_name, "WITHDRAWN-PHONE-0077");
    let consent = json!({ "recipient": supplier.org_id, "contacts": [worker3] });
    let v = cso.post(&format!("/api/cases/{case3}/consent"), &consent);
    assert_eq!(v["consent"][0]["recorded_by"], "admin-token");
    let v = cso.post(&format!("/api/cases/{case3}/consent/withdraw"), &consent);
    assert!(v["consent"][0]["withdrawn_at"].is_u64(), "{v}");
    cso.wait_to_know(&supplier);
    let v = cso.post(
        &format!("/api/cases/{case3}/escalate"),
        &json!({ "to": supplier.org_id, "requested_remedy": "Pay wages", "description": "Unpaid wages" }),
    );
    assert_eq!(v["identity_disclosed"], false, "{v}");
    // Consent is per worker: naming nobody is refused.
    let (code, _) = cso.post_raw(
        &format!("/api/cases/{case3}/consent"),
        &json!({ "recipient": supplier.org_id, "contacts": [] }),
    );
    assert_eq!(code, 400);
    // With consent for the supplier only.
    let consented_name = "CONSENTED-NAME-41bd";
    let (case2, worker2) =
        intake_case_with_contact(&cso, &supplier, consented_name, "CONSENTED-PHONE-0042");
    cso.post(
        &format!("/api/cases/{case2}/consent"),
        &json!({ "recipient": supplier.org_id, "contacts": [worker2] }),
    );
    escalate(&cso, &case2, &supplier);
    wait_for(
        "the supplier to receive the consented disclosure",
        SOON,
        || {
            let v = supplier.get("/api/disclosures");
            v["disclosures"]
                .as_array()?
                .iter()
                .any(|d| d["identities"][0]["name"] == consented_name)
                .then_some(())
        },
    );
    // The withdrawn worker's identity never reached the supplier (the escalation of its case
    // went out before the consented one arrived).
    let received = supplier.get("/api/disclosures");
    assert!(!received.to_string().contains(withdrawn_name), "{received}");
    // The CSO can still read its own contact through its API.
    let contacts = cso.get("/api/contacts");
    let id = contacts["contacts"]
        .as_array()
        .expect("contacts")
        .iter()
        .find(|c| c["case_ref"] == case.as_str())
        .expect("contact")["id"]
        .as_str()
        .expect("id")
        .to_string();
    assert_eq!(
        cso.get(&format!("/api/contacts/{id}"))["identity"]["name"],
        canary_name
    );
    // Exports carry counts and cases, never a worker: the case list names the case and its
    // site, the aggregates count the contacts (positive controls), and no canary is in them.
    let cases_csv = ilm(&cso.dir, &["export", "cases", "--format", "csv"]);
    assert!(cases_csv.starts_with("case_ref,status,"), "{cases_csv}");
    assert!(cases_csv.contains(&case), "{cases_csv}");
    // To a file, as JSON: every case the list holds, pages aside, streamed from the node.
    let cases_file = net.tmp.path().join("cases.json");
    let said = ilm(
        &cso.dir,
        &[
            "export",
            "cases",
            "--format",
            "json",
            "--out",
            cases_file.to_str().expect("utf8"),
        ],
    );
    let exported: Value =
        serde_json::from_slice(&std::fs::read(&cases_file).expect("read")).expect("json");
    let total = cso.get("/api/cases?closed=true")["total"]
        .as_u64()
        .expect("total");
    assert!(total > 0);
    assert_eq!(
        exported["cases"].as_array().map(Vec::len),
        Some(total as usize),
        "{exported}"
    );
    assert!(said.contains(&format!("Wrote {total} cases")), "{said}");
    assert!(!net.tmp.path().join("cases.json.partial").exists());
    // A bad query is refused before anything is sent.
    let (code, body) = cso.get_raw("/api/cases/export?status=nonsense");
    assert_eq!(code, 400, "{body}");
    // So is a sector at a node that is not a brand (its rows carry none), with the reason.
    let (code, body) = cso.get_raw("/api/cases/export?sector=seafood");
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("not a brand"), "{body}");
    let (code, body) = cso.get_raw("/api/cases?sector=seafood");
    assert_eq!(code, 400, "{body}");
    let aggregates_file = net.tmp.path().join("aggregates.json");
    ilm(
        &cso.dir,
        &[
            "export",
            "aggregates",
            "--format",
            "json",
            "--out",
            aggregates_file.to_str().expect("utf8"),
        ],
    );
    let aggregates: Value =
        serde_json::from_slice(&std::fs::read(&aggregates_file).expect("read")).expect("json");
    let contacts = cso.get("/api/contacts")["contacts"]
        .as_array()
        .map(Vec::len)
        .unwrap_or(0);
    assert_eq!(
        aggregates["aggregates"]["contacts"],
        json!(contacts),
        "{aggregates}"
    );
    let aggregates_csv = ilm(&cso.dir, &["export", "aggregates"]);
    for needle in [canary_name, canary_phone, withdrawn_name, consented_name] {
        assert!(!cases_csv.contains(needle), "{needle} in the case export");
        assert!(
            !aggregates_csv.contains(needle),
            "{needle} in the aggregates"
        );
    }
    for n in [
        &mut cso,
        &mut supplier,
        &mut other,
        &mut brand,
        &mut net.steward,
    ] {
        n.stop();
    }
    // Control: the search does find what is stored in clear (the worksite of the local case),
    // so an empty result below means the canary is really absent.
    assert!(!grep_dir(&cso.dir, b"Samut Sakhon factory").is_empty());
    // Nowhere in any data dir or log, not even in the CSO's own (sealed at rest).
    for needle in [canary_name, canary_phone, withdrawn_name] {
        let hits = grep_dir(net.tmp.path(), needle.as_bytes());
        assert!(hits.is_empty(), "{needle} found in {hits:?}");
    }
    // The consented identity reached the supplier only, and is sealed there too.
    for n in [&cso, &other, &brand, &net.steward, &supplier] {
        let hits = grep_dir(&n.dir, consented_name.as_bytes());
        assert!(
            hits.is_empty(),
            "{consented_name} found in plaintext in {hits:?}"
        );
    }
}

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

/// Runs `ilm` with `input` on standard input; returns (success, stdout, stderr).
fn ilm_with_input(dir: &Path, args: &[&str], input: &str) -> (bool, String, String) {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = Command::new(ilm_bin())
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env_remove("ILM_DATA_DIR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run ilm");
    // A command refused on its arguments exits before reading its input: a broken pipe
    // here is that refusal, which the exit status reports.
    match child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => panic!("write stdin: {e}"),
        _ => {}
    }
    let out = child.wait_with_output().expect("wait");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The CLI's intake keeps worker identity out of process arguments, and members are named by
/// name on the command line and in its lists.
#[test]
fn the_cli_reads_identity_from_stdin_and_names_members() {
    let (_net, cso, supplier) = Net::with_cso_and_supplier();
    cso.wait_to_know(&supplier);
    let base = [
        "--json",
        "contact",
        "add",
        "--channel",
        "line",
        "--language",
        "my",
        "--nationality",
        "MM",
        "--sector",
        "seafood",
        "--origin",
        "MM",
        "--destination",
        "TH",
    ];
    // The identity flags are gone: nothing personal can be put in the process list.
    let mut with_flag = base.to_vec();
    with_flag.extend(["--name", "Flag Name", "--identity-stdin"]);
    let (ok, _, err) = ilm_with_input(&cso.dir, &with_flag, "{}");
    assert!(!ok && err.contains("--name"), "{err}");
    // Bad JSON is refused without echoing what was typed.
    let mut args = base.to_vec();
    args.push("--identity-stdin");
    let (ok, _, err) = ilm_with_input(&cso.dir, &args, r#"{"nam": "Secret Typo"}"#);
    assert!(
        !ok && err.contains("\"name\"") && !err.contains("Secret Typo"),
        "{err}"
    );
    // Standard input carries the identity; it is sealed and shown only on request.
    let (ok, out, err) = ilm_with_input(
        &cso.dir,
        &args,
        r#"{"name": "Aye Aye", "phone": "+66 81 000 0001", "notes": "unpaid wages"}"#,
    );
    assert!(ok, "{err}");
    let id = serde_json::from_str::<Value>(&out).expect("json")["id"]
        .as_str()
        .expect("id")
        .to_string();
    let shown = cso.get(&format!("/api/contacts/{id}"));
    assert_eq!(shown["identity"]["name"], "Aye Aye", "{shown}");
    // The supplier by name, in `case new` and `case escalate`.
    let v: Value = serde_json::from_str(&ilm(
        &cso.dir,
        &[
            "--json",
            "case",
            "new",
            "--contact",
            &id,
            "--workers",
            "1",
            "--issue",
            "withholding_of_wages",
            "--supplier",
            "Supplier Org",
            "--site",
            "Factory 1",
        ],
    ))
    .expect("json");
    let case = v["case_ref"].as_str().expect("case").to_string();
    // A case opened and not escalated yet is in the list, with its site and supplier by name.
    let list = ilm(&cso.dir, &["case", "list"]);
    let line = list
        .lines()
        .find(|l| l.starts_with(&case))
        .unwrap_or_else(|| panic!("{case} not in the list:\n{list}"));
    assert!(
        line.contains(" open ") && line.contains("Factory 1") && line.contains("supplier org"),
        "{line}"
    );
    let escalated = ilm(&cso.dir, &["case", "list", "--status", "escalated"]);
    assert!(!escalated.contains(&case), "{escalated}");
    let (ok, _, err) = ilm_with_input(&cso.dir, &["case", "list", "--status", "done"], "");
    assert!(!ok && err.contains("remediation_reported"), "{err}");
    let (ok, _, err) = ilm_with_input(
        &cso.dir,
        &[
            "case",
            "escalate",
            &case,
            "--to",
            "nobody org",
            "--remedy",
            "pay",
            "--description",
            "unpaid",
        ],
        "",
    );
    assert!(!ok && err.contains("supplier org (supplier)"), "{err}");
    ilm(
        &cso.dir,
        &[
            "case",
            "escalate",
            &case,
            "--to",
            "supplier org",
            "--remedy",
            "pay wages",
            "--description",
            "unpaid for two months",
        ],
    );
    let escalated = ilm(
        &cso.dir,
        &[
            "case",
            "list",
            "--status",
            "escalated",
            "--party",
            "supplier org",
        ],
    );
    assert!(escalated.contains(&case), "{escalated}");
    // Lists name the counterparty.
    let outbox = ilm(&cso.dir, &["outbox"]);
    assert!(outbox.contains("to supplier org"), "{outbox}");
}

/// The attestation entries a brand's supply chain shows for `org` (verified ones).
fn verified_attestations(brand: &Node, org: &str) -> usize {
    brand.get("/api/supply-chain")["suppliers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["supplier"] == org)
        .flat_map(|s| s["attestations"].as_array().cloned().unwrap_or_default())
        .filter(|a| a["signature_verified"] == true)
        .count()
}

#[test]
fn an_agency_s_attestation_bundle_reaches_only_brands_of_suppliers_in_the_case() {
    let (net, cso, supplier, brand) = Net::with_cso_supplier_and_brand();
    let mut agency = net.member("agency", "agency");
    let mut other_supplier = net.member("supplier2", "supplier");
    let mut other_brand = net.member("brand2", "brand");
    for n in [&mut agency, &mut other_supplier, &mut other_brand] {
        n.start();
    }
    brand.link_supplier(&supplier);
    other_brand.link_supplier(&other_supplier);
    // Both suppliers recruit through the agency, so both brands buy from it.
    for s in [&supplier, &other_supplier] {
        s.link_to("supplier_agency", &agency);
    }
    for (b, s) in [(&brand, &supplier), (&other_brand, &other_supplier)] {
        wait_for(&format!("{} to learn of the agency", b.name), SOON, || {
            b.get("/api/links")["links"]
                .as_array()?
                .iter()
                .any(|l| {
                    l["complete"] == true
                        && l["link"]["upstream"] == s.org_id.as_str()
                        && l["link"]["downstream"] == agency.org_id.as_str()
                })
                .then_some(())
        });
    }
    // A case at the first supplier, escalated to the agency too, which remediates.
    let case = cso.escalate(&supplier, "Fees charged for the job at this site");
    cso.escalate_fees_to(&case, &agency);
    remediate(&agency, &case);
    wait_for("the CSO to see the agency's remediation", SOON, || {
        let v = cso.get(&format!("/api/cases/{case}"));
        v.to_string().contains("remediation_reported").then_some(())
    });
    cso.post(
        &format!("/api/cases/{case}/verify"),
        &json!({ "verdict": "resolved", "workers_consulted": 3, "note": "Fees repaid" }),
    );
    let digest = wait_for("the agency to get the attestation draft", SOON, || {
        agency.get("/api/attestations")["attestations"]
            .as_array()?
            .iter()
            .find(|a| a["awaiting_my_signature"] == true)
            .and_then(|a| a["digest"].as_str().map(str::to_string))
    });
    agency.post(
        &format!("/api/attestations/{case}/cosign"),
        &json!({ "draft": digest }),
    );
    // The brand of the supplier in the case gets the bundle (it holds the case's history);
    // the other brand, which buys from the agency through a supplier the case does not
    // concern, gets the agency's status reports but never the bundle.
    wait_for("the first brand to hold the verified bundle", SOON, || {
        (verified_attestations(&brand, &agency.org_id) == 1).then_some(())
    });
    wait_for("the other brand to hold the agency's report", SOON, || {
        other_brand.get("/api/supply-chain")["suppliers"]
            .as_array()?
            .iter()
            .any(|s| {
                s["supplier"] == agency.org_id.as_str()
                    && s["cases"]
                        .as_array()
                        .is_some_and(|c| c.iter().any(|r| r["case_ref"] == case.as_str()))
            })
            .then_some(())
    });
    // The CSO queued the bundles with the attestation, before the first brand got its own:
    // none is for the other brand.
    let to_other: Vec<Value> = cso.get("/api/outbox")["entries"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e["kind"] == "attestation" && e["recipient"] == other_brand.org_id.as_str())
        .collect();
    assert!(to_other.is_empty(), "{to_other:?}");
    assert_eq!(verified_attestations(&other_brand, &agency.org_id), 0);
}
