//! A CSO whose vault key was lost for good and replaced (`ilm key replace-vault --lost`):
//! what the old key sealed no longer opens, and the node says so where it would be read
//! instead of failing, without ever sending a worker's identity it cannot read.

mod support;

use serde_json::json;
use support::portal::{a_report, portal_base, post_form};
use support::*;

#[test]
fn what_a_lost_vault_key_sealed_is_said_unreadable_and_never_disclosed() {
    let mut net = Net::new();
    net.steward.start();
    let mut cso = net.member("cso", "cso");
    let mut supplier = net.member("supplier", "supplier");
    cso.run_args = vec!["--portal-listen".into(), "127.0.0.1:0".into()];
    cso.start();
    supplier.start();

    // Before the key is lost: a portal report, and a contact whose case has consent to
    // disclose the worker's identity to the supplier.
    let words = "LOSTKEY-WORDS passport kept by the broker";
    let (code, body) = post_form(
        &format!("{}/report", portal_base(&cso)),
        &a_report(words, "LOSTKEY-NAME-PORTAL", "0811110000"),
        None,
    );
    assert_eq!(code, 200, "{body}");
    let contact = cso.post(
        "/api/contacts",
        &contact_body("LOSTKEY-NAME-CONSENTED", "0812220000"),
    )["id"]
        .as_str()
        .expect("id")
        .to_string();
    let case = cso.post(
        "/api/local-cases",
        &json!({ "contacts": [contact], "workers": 4, "site": "Pier 9",
                 "issues": [{ "category": "withholding_of_wages" }], "supplier": supplier.org_id }),
    )["case_ref"]
        .as_str()
        .expect("case_ref")
        .to_string();
    let consent = json!({ "recipient": supplier.org_id, "contacts": [contact] });
    cso.post(&format!("/api/cases/{case}/consent"), &consent);
    // Positive controls: all of it reads while the key is the one that sealed it.
    assert_eq!(
        cso.get(&format!("/api/contacts/{contact}"))["identity"]["name"],
        "LOSTKEY-NAME-CONSENTED"
    );
    let threads = cso.get("/api/portal/threads");
    let thread = threads["threads"][0]["contact"]
        .as_str()
        .unwrap_or_else(|| panic!("a thread: {threads}"))
        .to_string();
    let shown = cso.get(&format!("/api/portal/threads/{thread}"));
    assert!(shown.to_string().contains("LOSTKEY-WORDS"), "{shown}");
    assert!(cso.get_text("/portal").contains("LOSTKEY-WORDS"));

    // The key is lost for good, and replaced.
    cso.stop();
    std::fs::remove_file(cso.dir.join("vault.key")).expect("lose the key");
    let said = ilm(&cso.dir, &["key", "replace-vault", "--lost"]);
    assert!(said.contains("no longer opening"), "{said}");
    cso.start();

    // The contact: 409, saying why, not an internal error.
    let (code, body) = cso.get_raw(&format!("/api/contacts/{contact}"));
    assert_eq!(code, 409, "{body}");
    assert!(
        body.contains("does not open with this node's vault key"),
        "{body}"
    );
    // The portal: the thread answers 409, and the CSO's page lists it without its words
    // (one such thread used to fail the whole page).
    let (code, body) = cso.get_raw(&format!("/api/portal/threads/{thread}"));
    assert_eq!(code, 409, "{body}");
    let (code, page) = cso.get_raw("/portal");
    assert_eq!(code, 200, "{page}");
    assert_eq!(page.matches("class=\"portal-thread").count(), 1, "{page}");
    assert!(!page.contains("LOSTKEY-WORDS"), "{page}");

    // The escalation with consent for a worker whose identity no longer opens is refused,
    // saying why, and nothing reaches the supplier.
    cso.wait_to_know(&supplier);
    let escalation = json!({ "to": supplier.org_id, "requested_remedy": "Pay wages", "description": "Unpaid wages" });
    let status = || {
        let local = cso.get("/api/local-cases");
        local["cases"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["case_ref"] == case.as_str()))
            .map(|c| c["status"].clone())
            .unwrap_or_else(|| panic!("the local case: {local}"))
    };
    assert_eq!(status(), "open");
    let (code, body) = cso.post_raw(&format!("/api/cases/{case}/escalate"), &escalation);
    assert_eq!(code, 409, "{body}");
    assert!(
        body.to_string()
            .contains("does not open with this node's vault key"),
        "{body}"
    );
    assert_eq!(status(), "open");
    // Without that consent the same escalation goes, disclosing nobody (positive control:
    // the refusal was the consent's, not the case's).
    cso.post(&format!("/api/cases/{case}/consent/withdraw"), &consent);
    let done = cso.post(&format!("/api/cases/{case}/escalate"), &escalation);
    assert_eq!(done["identity_disclosed"], false, "{done}");
    wait_for("the supplier to receive the escalation", SOON, || {
        supplier.cases().contains(&case).then_some(())
    });
    // Nothing waits to go either (a disclosure is a message of its own).
    wait_for("the CSO's outbox to empty", SOON, || {
        (cso.outbox_counts().0 == 0).then_some(())
    });
    let received = supplier.get("/api/disclosures");
    assert_eq!(received["disclosures"], json!([]), "{received}");
    cso.stop();
    supplier.stop();
    net.steward.stop();
}
