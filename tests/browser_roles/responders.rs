//! A supplier's inbox and a brand's supply chain.

use super::*;

/// A supplier (or a labour office) answers an escalation from its inbox; remediation cannot be reported before
/// it answered (not offered, and refused when sent anyway), and is offered once it has.
pub(super) fn supplier_answers_from_its_inbox(
    s: &mut Session,
    readonly: &mut Session,
    supplier: &Node,
) {
    let inbox = supplier.get("/api/inbox");
    let case = inbox["inbox"]
        .as_array()
        .expect("inbox")
        .iter()
        .find(|i| {
            i["allowed"]
                .as_array()
                .is_some_and(|a| a.iter().any(|k| k == "acknowledgement"))
        })
        .and_then(|i| i["case_ref"].as_str())
        .unwrap_or_else(|| panic!("no escalation to answer at {}: {inbox}", supplier.name))
        .to_string();
    s.open(&format!("/cases/{case}"));
    s.wait_for("#status", SOON);
    assert!(s.try_find("form.ack-form").is_some(), "{}", s.context());
    assert!(
        s.try_find("form.complete-form").is_none(),
        "report offered before an answer"
    );
    let (code, body) = s.http_post(
        &format!("/api/cases/{case}/events"),
        &serde_json::json!({ "event": { "type": "remediation_reported", "summary": "done" } }),
    );
    assert_eq!(code, 422, "remediation reported before an answer: {body}");
    s.shot("supplier-case-escalated");
    // The read-only operator sees the case but no form, and cannot answer anyway.
    readonly.open(&format!("/cases/{case}"));
    readonly.wait_for("#status", SOON);
    assert!(readonly.try_find("#respond").is_none());
    let (code, _) = readonly.http_post(
        &format!("/api/cases/{case}/events"),
        &serde_json::json!({ "event": { "type": "acknowledgement", "note": "" } }),
    );
    assert_eq!(code, 403);
    // Acknowledge from the inbox.
    s.open("/inbox");
    let row = s.find(&ui::inbox_row(&case));
    s.click(&s.find_in(&row, "form.ack-form button[type=submit]"));
    s.reload_until(&format!("/cases/{case}"), "the acknowledged case", |b| {
        b.try_find("form.complete-form")
            .filter(|_| b.try_find("form.ack-form").is_none())
    });
    s.shot("supplier-case-acknowledged");
    // An amount with a decimal comma is refused, not misread; a grouped one is recorded
    // exactly.
    let actions = |n: &Node| {
        n.get(&format!("/api/cases/{case}"))["events"]
            .as_array()
            .expect("events")
            .iter()
            .filter(|e| e["event"]["type"] == "remediation_action")
            .map(|e| e["event"]["amount_repaid"].clone())
            .collect::<Vec<_>>()
    };
    let before = actions(supplier).len();
    s.fill("form.action-form", "description", "Back wages repaid");
    s.fill("form.action-form", "workers_benefited", "3");
    s.fill("form.action-form", "amount_repaid", "1500,50 THB");
    s.click(&s.find("form.action-form button[type=submit]"));
    s.wait_until("the money error", SOON, |b| b.try_find("#result .error"));
    assert_eq!(
        actions(supplier).len(),
        before,
        "a misread amount was recorded"
    );
    s.fill("form.action-form", "amount_repaid", "1,500.50 THB");
    s.click(&s.find("form.action-form button[type=submit]"));
    let recorded = wait_for("the action", SOON, || {
        let a = actions(supplier);
        (a.len() > before).then(|| a[before].clone())
    });
    assert_eq!(recorded["minor_units"], 150_050, "{recorded}");
    assert_eq!(recorded["currency"], "THB");
}

/// A brand's dashboard counts its supply chain as its supply-chain page shows it, its
/// supply-chain cases open, and it has an inbox.
pub(super) fn brand_sees_its_supply_chain(s: &mut Session) {
    s.open("/supply-chain");
    s.wait_for("h1", SOON);
    let verified = s.find_all(".attestation .badge-verified").len();
    assert!(
        verified > 0,
        "the demo brand has verified attestations{}",
        s.context()
    );
    // Each supplier's scorecard counts what its section lists.
    let mut carded = 0;
    for section in s.find_all("section[data-supplier]") {
        let supplier = s.attribute(&section, "data-supplier").expect("supplier");
        let card = s.find(&format!(
            "section[data-supplier=\"{supplier}\"] dl.scorecard [data-stat=verified_attestations] dd"
        ));
        let badges = s
            .find_all(&format!(
                "section[data-supplier=\"{supplier}\"] .attestation .badge-verified"
            ))
            .len();
        assert_eq!(
            s.text(&card).trim(),
            badges.to_string(),
            "scorecard of {supplier}"
        );
        carded += badges;
    }
    // Each scorecard shows the amounts its verified attestations state, as the API counts
    // them: a dash when none, else every currency.
    let (code, body) = s.http_get("/api/scorecards");
    assert_eq!(code, 200);
    let cards: serde_json::Value = serde_json::from_slice(&body).expect("json");
    let mut with_amounts = 0;
    for card in cards["scorecards"].as_array().expect("scorecards") {
        let supplier = card["supplier"].as_str().expect("supplier");
        let shown = s.text(&s.find(&format!(
            "section[data-supplier=\"{supplier}\"] dl.scorecard [data-stat=amounts_repaid] dd"
        )));
        let amounts = card["amounts_repaid"].as_array().expect("amounts");
        if amounts.is_empty() {
            assert_eq!(shown.trim(), "—", "{supplier}");
        }
        for m in amounts {
            with_amounts += 1;
            let currency = m["currency"].as_str().expect("currency");
            assert!(
                shown.contains(currency),
                "{supplier}: {shown:?} lacks {currency}"
            );
        }
    }
    assert!(
        with_amounts > 0,
        "the demo's verified attestations state amounts repaid"
    );
    assert_eq!(
        carded, verified,
        "every verified attestation is on a scorecard"
    );
    // The scorecards download as CSV, one line per linked supplier.
    let (code, csv) = s.http_get("/api/scorecards.csv");
    assert_eq!(code, 200);
    let csv = String::from_utf8(csv).expect("utf8");
    assert!(csv.starts_with("supplier,name,cases,"), "{csv}");
    assert!(
        csv.lines()
            .next()
            .is_some_and(|h| h.ends_with(",amounts_repaid,role")),
        "{csv}"
    );
    // The demo's suppliers recruit through an agency: the brand sees it, with its own
    // scorecard, saying whom it recruits for.
    assert!(
        csv.lines().any(|l| l.ends_with(",agency")),
        "no agency scorecard: {csv}"
    );
    assert!(
        !s.find_all("section[data-supplier] [data-recruits-for]")
            .is_empty(),
        "no agency on the Supply chain page"
    );
    assert_eq!(
        csv.lines().count(),
        1 + s.find_all("section[data-supplier]").len(),
        "{csv}"
    );
    s.shot("brand-supply-chain");
    s.open("/dashboard");
    let tile = s.find("a.stat[data-stat=verified_attestations] .value");
    assert_eq!(
        s.text(&tile).trim(),
        verified.to_string(),
        "dashboard and supply chain disagree"
    );
    assert!(
        s.try_find("nav a[href=\"/inbox\"]").is_some(),
        "no inbox link for the brand"
    );
    s.shot("brand-dashboard");
    // Every supply-chain case opens.
    s.open("/supply-chain");
    let link = s.find("table.list tbody tr[data-case] a");
    let href = s.attribute(&link, "href").expect("href");
    s.click_to_load(&link, SOON);
    s.wait_until("the supply-chain case", SOON, |b| {
        (url_path(&b.current_url()) == href).then_some(())
    });
    assert!(
        s.try_find("#status").is_some(),
        "case page missing{}",
        s.context()
    );
    assert!(
        s.try_find("section.party").is_some(),
        "no report shown{}",
        s.context()
    );
    // A brand is not a party to its suppliers' cases: nothing to answer is offered, and
    // answering anyway is refused.
    assert!(
        s.try_find("main form").is_none(),
        "a form on a supply-chain case{}",
        s.context()
    );
    let case = href.rsplit('/').next().expect("case ref");
    let (code, body) = s.http_post(
        &format!("/api/cases/{case}/events"),
        &serde_json::json!({ "event": { "type": "acknowledgement", "note": "" } }),
    );
    assert!(
        code == 404 || code == 422,
        "a brand answered a case not escalated to it: {code} {body}"
    );
    s.shot("brand-case");
}
