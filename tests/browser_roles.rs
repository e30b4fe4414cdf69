//! Every kind of operator doing its work in the web UI of the demo network (`ilm demo`, the
//! real binary, eleven real nodes), in a real headless Chromium: worklists checked against the
//! API, role pages, languages, accessibility and small screens. One demo network serves every
//! check, so the suite starts it once.
//!
//! Chromium and chromedriver are required (scripts/test installs them); never skipped.
//! Screenshots go to target/test-artifacts/browser/.

#[path = "support/demo.rs"]
mod demo;
#[path = "support/session.rs"]
mod session;
#[path = "support/mod.rs"]
mod support;
#[path = "support/webdriver.rs"]
mod webdriver;

use demo::{DEMO_OPERATOR, DEMO_PASSWORD, Demo};
use serde_json::Value;
use session::*;
use std::collections::BTreeSet;
use support::*;

/// The case references the list page shows.
fn listed(s: &Session) -> BTreeSet<String> {
    s.find_all("table.list tbody tr[data-case]")
        .iter()
        .filter_map(|tr| s.attribute(tr, "data-case"))
        .collect()
}

/// The case references and total the API gives for a query.
fn api_cases(node: &Node, query: &str) -> (BTreeSet<String>, u64) {
    let v = node.get(&format!("/api/cases?{query}"));
    let refs = v["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| c["case_ref"].as_str().expect("ref").to_string())
        .collect();
    (refs, v["total"].as_u64().expect("total"))
}

fn shown_total(s: &Session) -> u64 {
    let el = s.find("#case-count");
    s.attribute(&el, "data-total")
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no total on the case list{}", s.context()))
}

/// Submits the case list's filter form.
fn filter(s: &Session) {
    let button = s.find("form.filters button[type=submit]");
    s.click(&button);
    s.wait_for("#case-count", SOON);
}

/// Search, filters, paging, the dashboard tiles and the CSV export give the rows the API
/// gives for the same query, on the demo's data.
fn worklists_match_the_api(s: &mut Session, cso: &Node) {
    s.open("/cases");
    s.wait_for("#case-count", SOON);
    let (first_page, total) = api_cases(cso, "");
    assert!(total > 8, "the demo should have cases: {total}");
    assert_eq!(shown_total(s), total, "{}", s.context());
    assert_eq!(listed(s), first_page, "first page differs from the API");
    s.shot("cases");

    // Paging (small pages, so the demo fills several): the next page is the API's page 2,
    // sorted by due date as chosen.
    s.open("/cases?per_page=4&sort=due");
    assert_eq!(
        listed(s),
        api_cases(cso, "per_page=4&sort=due").0,
        "page 1 differs"
    );
    let next = s.find("a[rel=next]");
    s.click(&next);
    s.wait_for("#case-count", SOON);
    let page2 = api_cases(cso, "per_page=4&sort=due&page=2").0;
    assert_eq!(page2.len(), 4);
    assert_eq!(listed(s), page2, "page 2 differs");

    // Search by a worksite taken from the data.
    let all: Value = cso.get("/api/cases?per_page=10000");
    let site = all["cases"][0]["site"].as_str().expect("site").to_string();
    s.open("/cases");
    s.fill("form.filters", "q", &site);
    filter(s);
    let (want, n) = api_cases(cso, &format!("per_page=10000&q={}", urlencode(&site)));
    assert!(n >= 1);
    if n <= 25 {
        assert_eq!(listed(s), want, "search {site:?}");
    }
    assert_eq!(shown_total(s), n, "search {site:?}");
    // Positive control for the search: a word in no case finds nothing.
    s.open("/cases?q=zzzz-no-such-site");
    assert_eq!(shown_total(s), 0);

    // Status and overdue filters through the form.
    let status = all["cases"][0]["status"]
        .as_str()
        .expect("status")
        .to_string();
    s.open("/cases");
    s.select_option("form.filters select[name=status]", &status);
    filter(s);
    let (_, n) = api_cases(cso, &format!("status={status}"));
    assert_eq!(shown_total(s), n, "status {status}");
    for tr in s.find_all("table.list tbody tr[data-case] .status") {
        assert_eq!(
            s.attribute(&tr, "data-code").as_deref(),
            Some(status.as_str())
        );
    }
    s.open("/cases");
    let overdue = s.find("form.filters input[name=overdue]");
    s.click(&overdue);
    filter(s);
    let (_, overdue_n) = api_cases(cso, "overdue=true");
    assert!(overdue_n > 0, "the demo has overdue work");
    assert_eq!(shown_total(s), overdue_n);
    s.shot("cases-overdue");

    // Closed cases are hidden unless asked for.
    let (_, with_closed) = api_cases(cso, "closed=true");
    assert!(with_closed >= total);

    // The dashboard's tiles link to these lists and count the same rows.
    s.open("/dashboard");
    for (stat, count) in [("open_cases", total), ("overdue_items", overdue_n)] {
        let tile = s.find(&format!("a.stat[data-stat={stat}]"));
        let value = s.text(&s.find_in(&tile, ".value"));
        assert_eq!(value.trim(), count.to_string(), "tile {stat}");
    }
    let tile = s.find("a.stat[data-stat=overdue_items]");
    s.click(&tile);
    s.wait_for("#case-count", SOON);
    assert_eq!(shown_total(s), overdue_n);

    // The CSV export holds every selected row.
    let (code, body) = s.http_get("/cases.csv?overdue=true");
    assert_eq!(code, 200);
    let csv = String::from_utf8(body).expect("utf-8 csv");
    assert_eq!(csv.lines().count() as u64, overdue_n + 1, "{csv}");
}

/// The contact ids the contacts page shows.
fn listed_contacts(s: &Session) -> BTreeSet<String> {
    s.find_all("table#contacts tbody tr[data-contact]")
        .iter()
        .filter_map(|tr| s.attribute(tr, "data-contact"))
        .collect()
}

fn api_contacts(node: &Node, query: &str) -> (BTreeSet<String>, u64) {
    let v = node.get(&format!("/api/contacts?{query}"));
    let ids = v["contacts"]
        .as_array()
        .expect("contacts")
        .iter()
        .map(|c| c["id"].as_str().expect("id").to_string())
        .collect();
    (ids, v["total"].as_u64().expect("total"))
}

fn contact_total(s: &Session) -> u64 {
    let el = s.find("#contact-count");
    s.attribute(&el, "data-total")
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no total on the contacts page{}", s.context()))
}

/// The contacts page finds past contacts and repeat callers, as the API does; an operator
/// who may not see identities cannot search by them, but still sees who called again.
fn contacts_page_finds_repeat_callers(s: &mut Session, readonly: &mut Session, cso: &Node) {
    s.open("/contacts");
    s.wait_for("#contact-count", SOON);
    let (first, total) = api_contacts(cso, "");
    assert!(total > 25);
    assert_eq!(contact_total(s), total);
    assert_eq!(listed_contacts(s), first);
    s.shot("contacts");
    // Repeat callers only.
    let repeat = s.find("form.filters input[name=repeat]");
    s.click(&repeat);
    s.click(&s.find("form.filters button[type=submit]"));
    s.wait_for("#contact-count", SOON);
    let (repeats, n) = api_contacts(cso, "repeat=true");
    assert!(n >= 2, "the demo has repeat callers");
    assert_eq!(contact_total(s), n);
    assert_eq!(listed_contacts(s), repeats);
    // One worker's contacts, from the badge.
    let badge = s.find("table#contacts a.badge.repeat");
    let count: u64 = s
        .attribute(&badge, "data-count")
        .and_then(|c| c.parse().ok())
        .expect("count");
    s.click(&badge);
    s.wait_for("#contact-count", SOON);
    assert_eq!(contact_total(s), count);
    let same = listed_contacts(s);
    let any = same.iter().next().expect("a contact").clone();
    assert_eq!(same, api_contacts(cso, &format!("same_as={any}")).0);
    // Search by the worker's name finds exactly these contacts.
    let name = s.text(&s.find("table#contacts tbody tr[data-contact] td:nth-child(2)"));
    s.open(&format!("/contacts?q={}", urlencode(&name)));
    assert_eq!(listed_contacts(s), same, "search by name {name:?}");
    s.shot("contacts-same-worker");
    // A read-only operator sees the repeat-caller badge but no names, and a name finds
    // nothing (positive control: the same search found them above).
    readonly.open(&format!("/contacts?q={}", urlencode(&name)));
    assert_eq!(
        contact_total(readonly),
        0,
        "a read-only operator searched identities"
    );
    readonly.open("/contacts?repeat=true");
    assert_eq!(contact_total(readonly), n);
    let page = readonly.page_source();
    assert!(
        !page.contains(&name),
        "a worker's name shown to a read-only operator"
    );
    readonly.shot("contacts-readonly");
}

/// The steward reviews and issues a membership request from a file, sees the new
/// certificate's expiry flagged, and revokes the member; a read-only operator is offered
/// none of it and is refused when trying anyway.
fn steward_issues_and_revokes(s: &mut Session, readonly: &mut Session, steward: &Node) {
    // A new organisation makes its request with the real CLI.
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("newcomer");
    ilm(
        &dir,
        &[
            "init",
            "--role",
            "cso",
            "--name",
            "Mekong Migrant Voice",
            "--country",
            "LA",
        ],
    );
    let req = tmp.path().join("request.json");
    ilm(
        &dir,
        &["member", "request", "--out", req.to_str().expect("utf8")],
    );
    let before = steward.get("/api/members")["members"]
        .as_array()
        .expect("members")
        .len();

    s.open("/members");
    s.wait_for("table#register", SOON);
    assert_eq!(
        s.find_all("table#register tbody tr[data-member]").len(),
        before,
        "register rows"
    );
    s.shot("members");
    // Review the request from its file: what it asks for is shown before anything is signed.
    let file = s.find("#request-file");
    s.send_keys(&file, req.to_str().expect("utf8"));
    s.wait_until("the request text", SOON, |b| {
        let t = b.find("#request-text");
        b.property(&t, "value").filter(|v| v.contains('{'))
    });
    s.click(&s.find("form#review-form button[type=submit]"));
    let shown = s.wait_until("the reviewed request", SOON, |b| {
        let dd = b.try_find("#issue-form [data-field=name]")?;
        let text = b.text(&dd);
        (!text.is_empty()).then_some(text)
    });
    assert_eq!(shown, "Mekong Migrant Voice");
    assert_eq!(
        steward.get("/api/members")["members"]
            .as_array()
            .expect("members")
            .len(),
        before,
        "reviewing issued something"
    );
    s.fill("form#issue-form", "valid_days", "10");
    s.click(&s.find("form#issue-form button[type=submit]"));
    s.wait_displayed(ui::CONFIRM_DIALOG, SOON);
    let summary = s.text(&s.find(ui::CONFIRM_SUMMARY));
    assert!(
        summary.contains("Mekong Migrant Voice") && summary.contains("10"),
        "{summary}"
    );
    s.click(&s.find(ui::CONFIRM_YES));
    s.wait_for("#result a.certificate", SOON);
    s.shot("member-issued");
    let members = steward.get("/api/members");
    let new = members["members"]
        .as_array()
        .expect("members")
        .iter()
        .find(|m| m["name"] == "Mekong Migrant Voice")
        .unwrap_or_else(|| panic!("not issued: {members}"))
        .clone();
    let org = new["org_id"].as_str().expect("org id").to_string();
    // Ten days of validity: flagged as expiring.
    s.open("/members");
    let row = s.find(&format!("tr[data-member=\"{org}\"]"));
    assert!(
        s.try_find_in(&row, "[data-expiring]").is_some(),
        "{}",
        s.context()
    );

    // The read-only operator sees the register without any form, and is refused anyway.
    readonly.open("/members");
    readonly.wait_for("table#register", SOON);
    assert!(readonly.try_find("form#review-form").is_none());
    assert!(readonly.try_find("form.revoke-form").is_none());
    let (code, _) = readonly.http_post(
        "/api/members/revoke",
        &serde_json::json!({ "org_id": org, "reason": "not allowed" }),
    );
    assert_eq!(code, 403, "a read-only operator revoked a member");
    assert_eq!(
        steward.get("/api/members")["members"]
            .as_array()
            .expect("m")
            .iter()
            .find(|m| m["org_id"] == org.as_str())
            .expect("row")["revoked"],
        false
    );

    // Revoke it, with a reason and a confirmation.
    let row = s.find(&format!("tr[data-member=\"{org}\"]"));
    s.click(&s.find_in(&row, "summary"));
    let form = s.find_in(&row, "form.revoke-form");
    let reason = s.find_in(&form, "input[name=reason]");
    s.send_keys(&reason, "Test of revocation from the web UI");
    s.click(&s.find_in(&form, "button[type=submit]"));
    s.confirm_dialog();
    s.reload_until("/members", "the revoked badge", |b| {
        let row = b.try_find(&format!("tr[data-member=\"{org}\"]"))?;
        b.try_find_in(&row, ".badge.overdue")
            .filter(|_| b.try_find_in(&row, "form.revoke-form").is_none())
    });
    let revoked = steward.get("/api/members");
    assert!(
        revoked["members"]
            .as_array()
            .expect("m")
            .iter()
            .any(|m| m["org_id"] == org.as_str() && m["revoked"] == true),
        "{revoked}"
    );
    s.shot("member-revoked");
}

/// A supplier answers an escalation from its inbox; remediation cannot be reported before
/// it answered (not offered, and refused when sent anyway), and is offered once it has.
fn supplier_answers_from_its_inbox(s: &mut Session, readonly: &mut Session, supplier: &Node) {
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
}

/// A brand's dashboard counts its supply chain as its supply-chain page shows it, its
/// supply-chain cases open, and it has an inbox.
fn brand_sees_its_supply_chain(s: &mut Session) {
    s.open("/supply-chain");
    s.wait_for("h1", SOON);
    let verified = s.find_all(".attestation .badge-verified").len();
    assert!(
        verified > 0,
        "the demo brand has verified attestations{}",
        s.context()
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
    s.click(&link);
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
    s.shot("brand-case");
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn every_role_does_its_work_on_the_demo_network() {
    std::fs::create_dir_all(ARTIFACTS).expect("artifacts dir");
    let demo = Demo::start(160);
    let cso = demo.node("cso-helpline");
    cso.add_operator("rita", "readonly", PASSWORD);
    let mut s = Session::new("demo-cso", cso);
    s.login_to_dashboard(DEMO_OPERATOR, DEMO_PASSWORD);
    let mut readonly = Session::new("demo-cso-readonly", cso);
    readonly.login_to_dashboard("rita", PASSWORD);
    worklists_match_the_api(&mut s, cso);
    contacts_page_finds_repeat_callers(&mut s, &mut readonly, cso);

    let steward = demo.node("steward");
    steward.add_operator("sara", "readonly", PASSWORD);
    let mut st = Session::new("demo-steward", steward);
    st.login_to_dashboard(DEMO_OPERATOR, DEMO_PASSWORD);
    let mut st_ro = Session::new("demo-steward-readonly", steward);
    st_ro.login_to_dashboard("sara", PASSWORD);
    steward_issues_and_revokes(&mut st, &mut st_ro, steward);

    // The supplier with an escalation still to answer.
    let supplier = ["supplier-samut", "supplier-songkhla", "supplier-penang"]
        .into_iter()
        .map(|k| demo.node(k))
        .find(|n| {
            n.get("/api/inbox")["inbox"].as_array().is_some_and(|a| {
                a.iter().any(|i| {
                    i["allowed"]
                        .as_array()
                        .is_some_and(|k| k.iter().any(|k| k == "acknowledgement"))
                })
            })
        })
        .expect("a supplier with an escalation to answer");
    supplier.add_operator("sam", "readonly", PASSWORD);
    let mut sup = Session::new("demo-supplier", supplier);
    sup.login_to_dashboard(DEMO_OPERATOR, DEMO_PASSWORD);
    let mut sup_ro = Session::new("demo-supplier-readonly", supplier);
    sup_ro.login_to_dashboard("sam", PASSWORD);
    supplier_answers_from_its_inbox(&mut sup, &mut sup_ro, supplier);

    let brand = demo.node("brand-northwind");
    let mut b = Session::new("demo-brand", brand);
    b.login_to_dashboard(DEMO_OPERATOR, DEMO_PASSWORD);
    brand_sees_its_supply_chain(&mut b);
}
