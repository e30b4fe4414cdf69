//! The case workflow across real nodes: intake, escalation, response, verification,
//! attestation, supply-chain links, privacy and access control.

#[path = "support/mod.rs"]
mod support;

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use support::*;

/// An agency's attestation bundle reaches only the brands of the suppliers in the case.
#[path = "workflow/agency.rs"]
mod agency;
/// The CLI reads an identity from stdin and names members.
#[path = "workflow/cli.rs"]
mod cli;
/// Each party sees what is its own: a supplier's inbox, a brand's cases, the roles' limits, and a re-escalation's Thai text.
#[path = "workflow/visibility.rs"]
mod visibility;

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
