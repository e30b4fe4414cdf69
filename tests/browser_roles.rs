//! Every kind of operator doing its work in the web UI of the demo network (`ilm demo`, the
//! real binary, eleven real nodes), in a real headless Chromium: worklists checked against the
//! API, role pages, languages, accessibility and small screens. One demo network serves every
//! check, so the suite starts it once.
//!
//! Chromium and chromedriver are required (scripts/test installs them); never skipped.
//! Screenshots go to target/test-artifacts/browser/.

#[path = "support/catalogue.rs"]
mod catalogue;
#[path = "support/demo.rs"]
mod demo;
#[path = "support/session.rs"]
mod session;
#[path = "support/mod.rs"]
mod support;
#[path = "support/webdriver.rs"]
mod webdriver;

use demo::{DEMO_OPERATOR, DEMO_PASSWORD, Demo};
use serde_json::{Value, json};
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
    s.click_to_load(&button, SOON);
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
    s.click_to_load(&next, SOON);
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

    // A wide search: every generated case says "sample". The list stops counting at the
    // page and 1,000 more, says so, and agrees with the API and the CLI.
    let wide = cso.get("/api/cases?q=sample&closed=true");
    assert_eq!(wide["total_at_least"], true, "{}", wide["total"]);
    let counted = wide["total"].as_u64().expect("total");
    assert!((1_025..2_500).contains(&counted), "{counted}");
    s.open("/cases?q=sample&closed=true");
    s.wait_for("#case-count", SOON);
    assert_eq!(shown_total(s), counted);
    let count = s.find("#case-count");
    assert_eq!(
        s.attribute(&count, "data-at-least").as_deref(),
        Some("true")
    );
    assert!(
        s.text(&count).contains(&format!("≥ {counted}")),
        "{}",
        s.context()
    );
    assert!(!s.text(&s.find("#count-more")).is_empty());
    s.find("a[rel=next]");
    s.shot("cases-wide-search");
    let out = ilm(
        &cso.dir,
        &["case", "list", "--search", "sample", "--closed"],
    );
    assert!(out.contains(&format!("at least {counted} cases")), "{out}");
    // Control: a narrow search counts every case, and says nothing more.
    let narrow = cso.get("/api/cases?q=sample+123&closed=true");
    assert_eq!(narrow["total_at_least"], false);
    s.open("/cases?q=sample+123&closed=true");
    s.wait_for("#case-count", SOON);
    assert_eq!(shown_total(s), narrow["total"].as_u64().expect("total"));
    assert!(s.find_all("#count-more").is_empty(), "{}", s.context());

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
    // The response-time table: one row per month with answers (the demo has some), and in
    // each the 90th percentile is at least the median.
    let months = s.find_all("#response-times tbody tr[data-month]");
    assert!(!months.is_empty(), "the demo CSO has answered escalations");
    for row in &months {
        for (median, p90) in [
            ("ack_median", "ack_p90"),
            ("remediate_median", "remediate_p90"),
        ] {
            let read = |stat: &str| s.text(&s.find_in(row, &format!("[data-stat={stat}]")));
            let (m, p) = (read(median), read(p90));
            match (m.trim().parse::<f64>(), p.trim().parse::<f64>()) {
                (Ok(m), Ok(p)) => assert!(p >= m, "median {m} above p90 {p}"),
                _ => assert_eq!((m.trim(), p.trim()), ("—", "—"), "{median}"),
            }
        }
    }
    let tile = s.find("a.stat[data-stat=overdue_items]");
    s.click_to_load(&tile, SOON);
    s.wait_for("#case-count", SOON);
    assert_eq!(shown_total(s), overdue_n);

    // The CSV export holds every selected row.
    let (code, body) = s.http_get("/cases.csv?overdue=true");
    assert_eq!(code, 200);
    let csv = String::from_utf8(body).expect("utf-8 csv");
    assert_eq!(csv.lines().count() as u64, overdue_n + 1, "{csv}");

    overdue_by_organisation(s, cso, overdue_n);
}

/// The dashboard's overdue cases per organisation: each count is what the case list shows
/// for that organisation with "only overdue", the API gives the same counts, and a count
/// opens its cases.
fn overdue_by_organisation(s: &mut Session, cso: &Node, overdue_n: u64) {
    s.open("/dashboard");
    let rows = s.find_all("#overdue-by-party tbody tr[data-party]");
    assert!(!rows.is_empty(), "the demo's suppliers have overdue work");
    let mut shown = Vec::new();
    for row in &rows {
        let party = s.attribute(row, "data-party").expect("a party");
        let count: u64 = s
            .text(&s.find_in(row, "[data-stat=overdue_cases]"))
            .trim()
            .parse()
            .expect("a count");
        let (_, listed) = api_cases(cso, &format!("overdue=true&party={party}"));
        assert_eq!(count, listed, "{party}");
        // Its overdue cases are among its cases.
        let (_, with_party) = api_cases(cso, &format!("party={party}&closed=true"));
        assert!(with_party >= listed, "{party}");
        shown.push((party, count));
    }
    // Every overdue case owes something to at least one organisation.
    assert!(shown.iter().map(|(_, n)| n).sum::<u64>() >= overdue_n);
    let api: Value = cso.get("/api/overdue?limit=1");
    assert_eq!(api["cases"], json!(overdue_n));
    assert_eq!(api["listed"], json!(1), "{api}");
    let by_party: Vec<(String, u64)> = api["by_party"]
        .as_array()
        .expect("by_party")
        .iter()
        .map(|p| {
            (
                p["party"].as_str().unwrap_or_default().to_string(),
                p["cases"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(by_party, shown);
    let (code, _) = cso.get_raw("/api/overdue?limit=0");
    assert_eq!(code, 400);
    // The CLI says how many it left out, and names the organisations with their counts.
    let printed = ilm(&cso.dir, &["overdue", "--limit", "1"]);
    assert!(
        printed.contains(&format!(
            "1 of {overdue_n} cases with something overdue listed"
        )),
        "{printed}"
    );
    assert!(
        printed.contains(&format!(": overdue in {} open case(s)", shown[0].1)),
        "{printed}"
    );
    let first = s.find("#overdue-by-party tbody tr[data-party] [data-stat=overdue_cases] a");
    s.click_to_load(&first, SOON);
    s.wait_for("#case-count", SOON);
    assert_eq!(shown_total(s), shown[0].1);
    s.shot("cases-overdue-by-party");
}

/// `/api/overdue` at a supplier or agency lists only what it owes itself, counted as its case
/// list counts "overdue with" each CSO; at a brand, its supply chain's overdue cases, counted
/// as its list counts them, in all and per organisation.
fn others_see_what_is_overdue_for_them(demo: &Demo, brand: &Node) {
    let csos: Vec<&Node> = demo
        .roles
        .iter()
        .filter(|(_, role)| role.as_str() == "cso")
        .map(|(k, _)| demo.node(k))
        .collect();
    let mut owing = 0;
    for (key, role) in &demo.roles {
        if !["supplier", "agency"].contains(&role.as_str()) {
            continue;
        }
        let node = demo.node(key);
        let v: Value = node.get("/api/overdue");
        for item in v["overdue"].as_array().expect("items") {
            assert_eq!(item["party"], json!(node.org_id), "{key}: {item}");
        }
        let cases = v["cases"].as_u64().expect("cases");
        let listed: u64 = csos
            .iter()
            .map(|c| api_cases(node, &format!("overdue=true&party={}", c.org_id)).1)
            .sum();
        assert_eq!(cases, listed, "{key}");
        let by_party = if cases > 0 {
            json!([{ "party": node.org_id, "cases": cases }])
        } else {
            json!([])
        };
        assert_eq!(v["by_party"], by_party, "{key}");
        owing += cases;
    }
    assert!(
        owing > 0,
        "the demo's suppliers and agencies have overdue work"
    );
    let v: Value = brand.get("/api/overdue");
    assert_eq!(v["cases"], json!(api_cases(brand, "overdue=true").1));
    let parties = v["by_party"].as_array().expect("by_party");
    assert!(
        !parties.is_empty(),
        "the brand's supply chain has overdue work"
    );
    for p in parties {
        let party = p["party"].as_str().expect("party");
        let (_, n) = api_cases(brand, &format!("overdue=true&party={party}"));
        assert_eq!(p["cases"], json!(n), "{party}");
    }
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
    s.click_to_load(&s.find("form.filters button[type=submit]"), SOON);
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
    s.click_to_load(&badge, SOON);
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

    // A refused request is explained in the operator's language, the node's words after it.
    s.open("/members");
    s.switch_language("th");
    let text = s.find("#request-text");
    s.send_keys(&text, r#"{"not": "a request"}"#);
    s.click(&s.find("form#review-form button[type=submit]"));
    let shown = s.wait_until("the refusal", SOON, |b| b.try_text("#result .error"));
    assert_eq!(
        shown,
        catalogue::messages("th")["err_400"],
        "{}",
        s.context()
    );
    assert!(
        s.try_find("#result [lang=en]").is_some(),
        "the node's own words follow"
    );
    s.shot("refusal-th");
    s.switch_language("en");

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
    s.wait_displayed(ui::CONFIRM_DIALOG, SOON);
    let summary = s.text(&s.find(ui::CONFIRM_SUMMARY));
    assert!(
        summary.contains("Mekong Migrant Voice") && summary.contains(&org),
        "the revocation names the member: {summary}"
    );
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

/// A supplier (or a labour office) answers an escalation from its inbox; remediation cannot be reported before
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
fn brand_sees_its_supply_chain(s: &mut Session) {
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

/// The page's text as people read it, without data other organisations or workers wrote
/// (marked `translate="no"`) and without codes shown as code.
fn page_text(s: &Session) -> String {
    s.execute(
        "var c = document.body.cloneNode(true);\
         c.querySelectorAll('[translate=no], code, script, template, option:not(:checked)').forEach(function (e) { e.remove(); });\
         return c.textContent;",
        vec![],
    )
    .as_str()
    .unwrap_or_default()
    .to_string()
}

/// Every page in `lang` holds no English catalogue text and no raw code, and the script's
/// font is loaded from the node.
fn pages_are_translated(s: &mut Session, lang: &str, pages: &[String], font: Option<&str>) {
    let english = catalogue::english_left_out(lang);
    let codes = catalogue::codes();
    s.switch_language(lang);
    for page in pages {
        s.open(page);
        s.wait_for("main", SOON);
        let text = page_text(s);
        let left: Vec<&String> = english
            .iter()
            .filter(|e| contains_words(&text, e))
            .collect();
        assert!(
            left.is_empty(),
            "{page} in {lang} still says {left:?}{}",
            s.context()
        );
        let raw: Vec<&String> = codes.iter().filter(|c| contains_words(&text, c)).collect();
        assert!(
            raw.is_empty(),
            "{page} in {lang} shows raw codes {raw:?}{}",
            s.context()
        );
        if let Some(family) = font {
            s.wait_until(&format!("{family} to load on {page}"), SOON, |b| {
                let loaded = b.execute(
                    "return Array.from(document.fonts).filter(function (f) { return f.status === 'loaded'; }).map(function (f) { return f.family; }).join('|');",
                    vec![],
                );
                loaded.as_str().is_some_and(|l| l.contains(family)).then_some(())
            });
        }
        let name: String = page
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        s.shot(&format!("{lang}{name}"));
    }
    s.switch_language("en");
}

/// The login page speaks the browser's language, offers a picker, and an operator's choice
/// is remembered at the next login.
fn login_languages(cso: &Node, axe: &str) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let page = |accept: &str| {
        agent
            .get(format!("{}/login", ui_base(cso)))
            .header("Accept-Language", accept)
            .call()
            .expect("login page")
            .body_mut()
            .read_to_string()
            .expect("body")
    };
    assert!(page("my-MM,my;q=0.9,en;q=0.5").contains("<html lang=\"my\">"));
    assert!(
        page("fr-FR,th;q=0.4,en;q=0.2").contains("<html lang=\"th\">"),
        "by weight"
    );
    assert!(
        page("fr-FR").contains("<html lang=\"en\">"),
        "unknown: English"
    );
    cso.add_operator("tida", "caseworker", PASSWORD);
    let mut s = Session::new("demo-login-language", cso);
    s.open("/login?lang=th");
    s.wait_for(ui::LOGIN_FORM, SOON);
    let lang = |s: &Session| s.execute("return document.documentElement.lang;", vec![]);
    assert_eq!(lang(&s), "th");
    s.shot("login-th");
    let text = page_text(&s);
    let left: Vec<String> = catalogue::english_left_out("th")
        .into_iter()
        .filter(|e| contains_words(&text, e))
        .collect();
    assert!(left.is_empty(), "the Thai login page still says {left:?}");
    accessible_and_fits_small_screens(&mut s, axe, &["/login?lang=th".to_string()]);
    // Logging in from the Thai login page keeps Thai, and remembers it.
    for user_page in ["/login?lang=th", "/login"] {
        s.open(user_page);
        s.wait_for(ui::LOGIN_FORM, SOON);
        for (css, value) in [(ui::LOGIN_USERNAME, "tida"), (ui::LOGIN_PASSWORD, PASSWORD)] {
            let el = s.find(css);
            s.clear(&el);
            s.send_keys(&el, value);
        }
        s.click_to_load(&s.find(ui::LOGIN_SUBMIT), SOON);
        s.wait_until("the dashboard", SOON, |b| {
            url_path(&b.current_url())
                .starts_with(ui::DASHBOARD_PATH)
                .then_some(())
        });
        assert_eq!(lang(&s), "th", "after logging in from {user_page}");
        s.click(&s.find(ui::LOGOUT_SUBMIT));
        s.wait_for(ui::LOGIN_FORM, SOON);
    }
}

/// On every page: axe-core finds no serious or critical violation, and at 400 px wide
/// nothing scrolls sideways.
fn accessible_and_fits_small_screens(s: &mut Session, axe: &str, pages: &[String]) {
    for page in pages {
        s.open(page);
        accessible_at_width(s, axe, page, 400);
    }
}

/// Runs axe on the open page (no serious or critical violation) and checks that it does not
/// scroll sideways at `width` pixels.
fn accessible_at_width(s: &mut Session, axe: &str, page: &str, width: u64) {
    s.wait_for("main", SOON);
    let bad = s.axe_serious(axe, page);
    assert!(bad.is_empty(), "axe on {page}: {bad:#?}");
    s.cmd(
        "POST",
        "/window/rect",
        serde_json::json!({ "width": width, "height": 900 }),
    );
    let (scroll, inner) = s.wait_until(&format!("{page} at {width} px"), SOON, |b| {
        let v = b.execute(
            "return [document.documentElement.scrollWidth, window.innerWidth];",
            vec![],
        );
        let w = |i: usize| v[i].as_u64();
        Some((w(0)?, w(1)?)).filter(|(_, inner)| *inner <= width)
    });
    let name: String = page
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    s.shot(&format!("{width}px{name}"));
    assert!(
        scroll <= inner,
        "{page} scrolls sideways at {width} px: {scroll} > {inner}"
    );
    s.cmd(
        "POST",
        "/window/rect",
        serde_json::json!({ "width": 1280, "height": 900 }),
    );
}

/// A supplier records an improvement activity and completes it in the UI; its brand sees it
/// marked on the supplier's trend chart, narrows the picture by issue category (the
/// benchmark, the scorecards and their CSV follow), and opens the cases a figure counts.
fn supplier_plan_and_brand_analysis(sup: &mut Session, brand: &mut Session, supplier: &Node) {
    let title = "Line supervisors trained on Employer Pays";
    let day = format!(
        "{}-01",
        ilm_protocol::Month::of(support::wire::now())
            .previous()
            .expect("last month")
    );
    sup.open("/improvements");
    sup.wait_for("#activity-form", SOON);
    sup.fill("#activity-form", "kind", "training");
    sup.fill("#activity-form", "title", title);
    sup.fill(
        "#activity-form",
        "description",
        "Every line supervisor, two days",
    );
    sup.execute(
        "document.querySelector('#a-planned').value = arguments[0];",
        vec![serde_json::json!(day)],
    );
    sup.click(&sup.find("#activity-form button[type=submit]"));
    sup.wait_displayed(ui::CONFIRM_DIALOG, SOON);
    let summary = sup.text(&sup.find(ui::CONFIRM_SUMMARY));
    assert!(summary.contains(title), "{summary}");
    sup.click_to_load(&sup.find(ui::CONFIRM_YES), SOON);
    let row = sup.reload_until("/improvements", "the new activity", |b| {
        b.find_all("#plan tr[data-activity]")
            .into_iter()
            .find(|r| b.text(r).contains(title))
    });
    let id = sup.attribute(&row, "data-activity").expect("id");
    // The supplier corrects the title before it is done: the same activity, a new version.
    let first_title = title;
    let title = "Line supervisors and recruiters trained on Employer Pays";
    let edit = format!("tr[data-activity=\"{id}\"] form.edit-form");
    sup.click(&sup.find(&format!(
        "tr[data-activity=\"{id}\"] details.edit-activity summary"
    )));
    sup.execute(
        &format!("document.querySelector('{edit} input[name=title]').value = arguments[0];"),
        vec![serde_json::json!(title)],
    );
    sup.click(&sup.find(&format!("{edit} button[type=submit]")));
    sup.confirm_dialog();
    sup.reload_until("/improvements", "the activity changed", |b| {
        b.try_find(&format!("tr[data-activity=\"{id}\"]"))
            .filter(|r| b.text(r).contains(title))
    });
    assert_eq!(
        sup.find_all("#plan tr[data-activity]")
            .iter()
            .filter(|r| sup.text(r).contains(first_title))
            .count(),
        0,
        "the change replaced the activity, it did not add one"
    );
    // Completed on the day it was planned.
    let form = format!("tr[data-activity=\"{id}\"] form.complete-form");
    sup.execute(
        &format!("document.querySelector('{form} input[name=completed_at]').value = arguments[0];"),
        vec![serde_json::json!(day)],
    );
    sup.click(&sup.find(&format!("{form} button[type=submit]")));
    sup.confirm_dialog();
    sup.reload_until("/improvements", "the activity completed", |b| {
        b.try_find(&format!("tr[data-activity=\"{id}\"]"))
            .filter(|_| b.try_find(&form).is_none())
    });
    sup.shot("supplier-improvement-plan");

    // The brand: the activity is a marker on the supplier's chart and a line of its plan.
    let section = format!("section[data-supplier=\"{}\"]", supplier.org_id);
    brand.reload_until("/supply-chain", "the plan at the brand", |b| {
        b.try_find(&format!("{section} li[data-activity=\"{id}\"]"))
    });
    let marker = brand.find(&format!("{section} svg.chart g.marker title"));
    assert!(
        brand
            .find_all(&format!("{section} svg.chart g.marker title"))
            .iter()
            .any(|t| brand
                .property(t, "textContent")
                .is_some_and(|x| x.contains(title))),
        "no marker for the activity: {:?}",
        brand.property(&marker, "textContent")
    );
    let all_cases: u64 = brand
        .text(&brand.find("tr[data-benchmark=all] [data-stat=cases]"))
        .trim()
        .parse()
        .expect("count");
    brand.shot("brand-supply-chain-plan");
    // The dashboard compares the suppliers with the same figures.
    brand.open("/dashboard");
    let on_dashboard: u64 = brand
        .text(&brand.find("#benchmark tr[data-benchmark=all] [data-stat=cases]"))
        .trim()
        .parse()
        .expect("count");
    assert_eq!(
        on_dashboard, all_cases,
        "dashboard and supply chain disagree"
    );
    brand.open("/supply-chain");
    // Narrowed to one category: the benchmark, every scorecard and the CSV follow.
    brand.fill("#supply-filter", "category", "withholding_of_wages");
    brand.click_to_load(&brand.find("#supply-filter button[type=submit]"), SOON);
    brand.wait_until("the filtered page", SOON, |b| {
        b.current_url()
            .contains("category=withholding_of_wages")
            .then_some(())
    });
    let narrowed: u64 = brand
        .text(&brand.find("tr[data-benchmark=all] [data-stat=cases]"))
        .trim()
        .parse()
        .expect("count");
    assert!(
        0 < narrowed && narrowed <= all_cases,
        "{narrowed} of {all_cases}: the demo has wage cases"
    );
    // Each section lists its newest cases that pass (at most 20) and counts them all; the
    // suppliers' counts add up to the benchmark's (agencies are not in it).
    let mut counted = 0;
    for section in brand.find_all("section[data-supplier]") {
        let supplier = brand
            .attribute(&section, "data-supplier")
            .expect("supplier");
        let at = format!("section[data-supplier=\"{supplier}\"]");
        let rows = brand.find_all(&format!("{at} table.list.cards tbody tr[data-case]"));
        for row in &rows {
            assert!(
                brand
                    .try_find_in(row, ".tag[data-code=withholding_of_wages]")
                    .is_some(),
                "a case without the category filtered for"
            );
        }
        let cases: u64 = brand
            .text(&brand.find(&format!("{at} p[data-stat=cases] [data-count]")))
            .trim()
            .parse()
            .expect("count");
        assert_eq!(rows.len() as u64, cases.min(20), "{supplier}");
        if brand
            .try_find(&format!("{at} [data-recruits-for]"))
            .is_none()
        {
            counted += cases;
        }
    }
    assert_eq!(
        counted, narrowed,
        "the benchmark counts what the sections count"
    );
    let link = brand.find("a.download");
    let href = brand.attribute(&link, "href").expect("href");
    assert!(href.contains("category=withholding_of_wages"), "{href}");
    let (code, csv) = brand.http_get(&href);
    assert_eq!(code, 200);
    let csv = String::from_utf8(csv).expect("utf8");
    let column = csv
        .lines()
        .next()
        .and_then(|h| h.split(',').position(|c| c == "cases"))
        .expect("a cases column");
    let csv_cases: u64 = csv
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').nth(column)?.parse::<u64>().ok())
        .sum();
    assert_eq!(csv_cases, narrowed, "{csv}");
    brand.shot("brand-supply-chain-filtered");
    // Under the filter, a section's count opens the case list narrowed the same way (by the
    // dates and categories of that organisation's own report), and it lists that many.
    let all = brand.find(&format!("{section} p[data-stat=cases] a[data-count]"));
    let expected: usize = brand.text(&all).trim().parse().expect("count");
    brand.click_to_load(&all, SOON);
    brand.wait_until("the supplier's cases of one category", SOON, |b| {
        let url = b.current_url();
        (url_path(&url).starts_with("/cases") && url.contains("category=withholding_of_wages"))
            .then_some(())
    });
    let total: usize = brand
        .attribute(&brand.find("#case-count"), "data-total")
        .and_then(|t| t.parse().ok())
        .expect("total");
    assert_eq!(total, expected, "the narrowed count and its case list");
    // Drill-down: a scorecard's open cases open the case list of that supplier.
    brand.open("/supply-chain");
    let open = brand.find(&format!("{section} [data-stat=open] a"));
    let expected: usize = brand.text(&open).trim().parse().expect("count");
    brand.click_to_load(&open, SOON);
    brand.wait_until("the supplier's cases", SOON, |b| {
        url_path(&b.current_url())
            .starts_with("/cases")
            .then_some(())
    });
    let total: usize = brand
        .attribute(&brand.find("#case-count"), "data-total")
        .and_then(|t| t.parse().ok())
        .expect("total");
    assert_eq!(
        total, expected,
        "the drill-down lists what the scorecard counts"
    );
    // All its cases, closed too, open the same way.
    brand.open("/supply-chain");
    let all = brand.find(&format!("{section} p[data-stat=cases] a[data-count]"));
    let expected: usize = brand.text(&all).trim().parse().expect("count");
    brand.click_to_load(&all, SOON);
    brand.wait_until("all the supplier's cases", SOON, |b| {
        b.current_url().contains("closed=true").then_some(())
    });
    let total: usize = brand
        .attribute(&brand.find("#case-count"), "data-total")
        .and_then(|t| t.parse().ok())
        .expect("total");
    assert_eq!(total, expected, "the section's count and its case list");
    // Narrowed to a sector, the open count opens the case list narrowed the same way, and its
    // form shows the sector (the list used to ignore it and list every open case).
    brand.open("/supply-chain");
    let unfiltered: usize = brand
        .text(&brand.find(&format!("{section} [data-stat=open] a")))
        .trim()
        .parse()
        .expect("count");
    let mut narrowed = None;
    for sector in ilm_node::intake::SECTORS {
        brand.open(&format!("/supply-chain?sector={sector}"));
        let open = brand.find(&format!("{section} [data-stat=open] a"));
        let expected: usize = brand.text(&open).trim().parse().expect("count");
        if expected == 0 || expected == unfiltered {
            continue;
        }
        brand.click_to_load(&open, SOON);
        brand.wait_until("the supplier's cases of one sector", SOON, |b| {
            b.current_url()
                .contains(&format!("sector={sector}"))
                .then_some(())
        });
        let total: usize = brand
            .attribute(&brand.find("#case-count"), "data-total")
            .and_then(|t| t.parse().ok())
            .expect("total");
        assert_eq!(total, expected, "the drill-down under {sector}");
        let shown = brand.attribute(&brand.find("#sector option[selected]"), "value");
        assert_eq!(shown.as_deref(), Some(*sector), "the form shows the sector");
        narrowed = Some(sector);
        break;
    }
    assert!(
        narrowed.is_some(),
        "the demo supplier has open cases in more than one sector ({unfiltered} open)"
    );
}

/// A CSO's admin publishes last month from the Statistics page, after seeing exactly what
/// will be signed; a read-only operator is offered nothing; a brand then sees the month, and
/// so does the public page, in Burmese on a small screen.
fn cso_publishes_statistics(
    s: &mut Session,
    readonly: &mut Session,
    brand: &mut Session,
    cso: &Node,
    axe: &str,
) {
    let month = ilm_protocol::Month::of(support::wire::now())
        .previous()
        .expect("last month")
        .to_string();
    // The demo published three earlier months from both CSOs.
    s.open("/statistics");
    s.wait_for("h1", SOON);
    assert!(
        s.find_all("section.statistics[data-month]").len() >= 3,
        "the demo's publications{}",
        s.context()
    );
    assert!(
        s.try_find(&format!("section[data-month=\"{month}\"]"))
            .is_none()
    );
    readonly.open("/statistics");
    readonly.wait_for("h1", SOON);
    assert!(
        readonly.try_find("#publish").is_none(),
        "a read-only operator may publish"
    );
    let details = s.find(&format!("details[data-publish=\"{month}\"]"));
    s.click(&s.find_in(&details, "summary"));
    let facts = s.text(&s.find_in(&details, "dl.facts"));
    assert!(facts.contains(&month), "{facts}");
    s.click(&s.find_in(&details, "button[type=submit]"));
    s.wait_displayed(ui::CONFIRM_DIALOG, SOON);
    s.shot("cso-statistics-confirm");
    s.click_to_load(&s.find(ui::CONFIRM_YES), SOON);
    s.reload_until("/statistics", "the published month", |b| {
        b.try_find(&format!("section[data-month=\"{month}\"]"))
    });
    assert!(
        s.try_find(&format!("details[data-publish=\"{month}\"]"))
            .is_none(),
        "offered to publish the month again{}",
        s.context()
    );
    s.shot("cso-statistics");
    // Publishing it again is refused.
    let (code, body) = s.http_post(
        "/api/statistics/publish",
        &serde_json::json!({ "month": month }),
    );
    assert_eq!(code, 422, "{body}");
    brand.open("/statistics");
    brand.reload_until("/statistics", "the brand to receive the month", |b| {
        b.try_find(&format!("section[data-month=\"{month}\"]"))
    });
    brand.shot("brand-statistics");
    // The public page, with no session, in Burmese, at 360 px.
    let public = std::fs::read_to_string(cso.dir.join("public.addr")).expect("public.addr");
    s.goto(&format!("http://{}/?lang=my", public.trim()));
    let title = s.text(&s.wait_for("h1", SOON));
    assert!(has_script(&title, '\u{1000}'..='\u{109F}'), "{title}");
    assert!(
        s.try_find(&format!("section[data-month=\"{month}\"]"))
            .is_some()
    );
    accessible_at_width(s, axe, "public-statistics", 360);
}

/// Whether `needle` appears in `hay` as whole words.
fn contains_words(hay: &str, needle: &str) -> bool {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    hay.match_indices(needle).any(|(i, _)| {
        let before = hay[..i].chars().next_back();
        let after = hay[i + needle.len()..].chars().next();
        !before.is_some_and(is_word) && !after.is_some_and(is_word)
    })
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A supplier publishes a job listing with a cost to the worker from its Job listings page;
/// the helpline sees it on its own page and on its portal, and its Ratings page shows what it
/// collected next to what it published (the demo withholds a supplier rated fewer than k
/// times).
fn supplier_lists_a_job_and_the_helpline_sees_it(
    sup: &mut Session,
    cso_s: &mut Session,
    cso: &Node,
) {
    let job = "Cold store loader";
    sup.open("/jobs");
    sup.wait_for("#listing-form", SOON);
    for (name, value) in [
        ("job", job),
        ("employer", "Samut Seafood Co."),
        ("site", "Samut Sakhon, cold store"),
        ("workers_wanted", "12"),
        ("wage", "13,000 THB"),
        ("hours_per_week", "48"),
        ("contract_months", "24"),
        ("contract_languages", "Burmese, Thai"),
        ("costs.0.item", "Medical check"),
        ("costs.0.amount", "1,000 THB"),
    ] {
        sup.fill("#listing-form", name, value);
    }
    sup.fill("#listing-form", "documents_kept_by", "worker");
    sup.click(&sup.find("#publish-listing"));
    sup.confirm_dialog();
    let row = sup.reload_until("/jobs", "the new listing", |b| {
        b.find_all("#listings tr[data-listing]")
            .into_iter()
            .find(|r| b.text(r).contains(job))
    });
    assert!(
        sup.text(&row).contains("1,000.00 THB"),
        "{}",
        sup.text(&row)
    );
    sup.shot("supplier-jobs");
    cso_s.reload_until("/jobs", "the helpline to hold the listing", |b| {
        b.find_all("#listings tr[data-listing]")
            .into_iter()
            .find(|r| b.text(r).contains(job))
    });
    cso_s.shot("cso-jobs");
    let (status, page) = support::portal::get(&format!(
        "{}/jobs?lang=my",
        support::portal::portal_base(cso)
    ));
    assert_eq!(status, 200);
    assert!(page.contains(job), "the portal lists it");
    // What the helpline collected, and what left it: the supplier rated three times is
    // collected but not published.
    cso_s.open("/ratings");
    cso_s.wait_for("#collected", SOON);
    let ratings = cso.get("/api/ratings");
    let withheld: Vec<&Value> = ratings["collected"]
        .as_array()
        .expect("collected")
        .iter()
        .filter(|c| c["published"] == 0)
        .collect();
    assert!(!withheld.is_empty(), "the demo withholds one: {ratings}");
    for c in withheld {
        let org = c["org"].as_str().expect("org");
        assert!(
            cso_s
                .try_find(&format!("#published-ratings tr[data-org=\"{org}\"]"))
                .is_none(),
            "an organisation rated fewer than k times is not shown as published"
        );
        assert!(
            cso_s
                .try_find(&format!("#collected tr[data-org=\"{org}\"]"))
                .is_some()
        );
    }
    assert!(
        !cso_s.find_all("#published-ratings tr[data-org]").is_empty(),
        "control: the published ones are shown"
    );
    cso_s.shot("cso-ratings");
}

/// The helpline's portal on a 360 px phone with scripts off, in Burmese: the job listings,
/// one listing with the way to ask about it, and the published ratings.
fn portal_jobs_and_ratings_on_a_phone(cso: &Node, axe: &str) {
    let base = support::portal::portal_base(cso);
    let b = webdriver::Browser::phone(360, false);
    let shot = |name: &str| {
        b.check_phone_page(
            axe,
            name,
            360,
            &std::path::Path::new(ARTIFACTS).join(format!("portal-demo-{name}.png")),
        )
    };
    b.open_page(&format!("{base}/jobs?lang=my"));
    let first = b.find("#jobs li[data-listing] h2 a");
    shot("jobs");
    b.click_to_page(&first);
    b.wait_for("#ask-form", SOON);
    shot("job");
    b.click_to_page(&b.find("#ask-about-job"));
    b.wait_for("#report-form", SOON);
    let what = b.execute("return document.getElementById('what').value;", vec![]);
    assert!(
        what.as_str().is_some_and(|w| !w.trim().is_empty()),
        "the report names the job"
    );
    b.open_page(&format!("{base}/ratings?lang=my"));
    assert!(
        !b.find_all("#ratings li[data-org]").is_empty(),
        "ratings are published"
    );
    shot("ratings");
}

/// An agency proposes a broker alert from its Job listings page; the helpline's caseworker
/// publishes it from the portal page after review, and the portal shows it with both names.
fn agency_proposes_an_alert_and_the_helpline_publishes_it(
    ag: &mut Session,
    s: &mut Session,
    cso: &Node,
) {
    let title = "Broker asks for passports at Mae Sot";
    ag.open("/jobs");
    ag.wait_for("#proposal-form", SOON);
    ag.fill("#proposal-form", "to", &cso.org_id);
    ag.fill("#proposal-form", "language", "en");
    ag.fill("#proposal-form", "title", title);
    ag.fill(
        "#proposal-form",
        "body",
        "A man says he is from our agency and keeps passports as a deposit. We never do.",
    );
    ag.click(&ag.find("#propose-alert"));
    ag.confirm_dialog();
    ag.reload_until("/jobs", "the proposal to be listed", |b| {
        b.find_all("#my-proposals li[data-proposal]")
            .into_iter()
            .find(|li| b.text(li).contains(title))
    });
    let li = s.reload_until("/portal", "the proposal to wait for review", |b| {
        b.find_all("#alert-proposals li[data-proposal]")
            .into_iter()
            .find(|li| b.text(li).contains(title))
    });
    let id = s.attribute(&li, "data-proposal").expect("id");
    s.shot("cso-proposal");
    s.click(&s.find(&format!(
        "li[data-proposal=\"{id}\"] form.approve-proposal button"
    )));
    s.confirm_dialog();
    s.reload_until("/portal", "the alert to be published", |b| {
        b.try_find(&format!("#broker-alerts tr[data-alert=\"{id}\"]"))
    });
    let (_, page) = support::portal::get(&format!(
        "{}/alerts?lang=en",
        support::portal::portal_base(cso)
    ));
    assert!(page.contains(title), "on the portal");
    assert!(
        page.contains("Golden Bridge Recruitment (Yangon)"),
        "the proposer is named: {page}"
    );
}

#[test]
fn every_role_does_its_work_on_the_demo_network() {
    std::fs::create_dir_all(ARTIFACTS).expect("artifacts dir");
    // Enough generated cases that a wide search stops counting (past 2,000 matches).
    let demo = Demo::start(160, 2_500);
    let cso = demo.node("cso-helpline");
    cso.add_operator("rita", "readonly", PASSWORD);
    let mut s = Session::new("demo-cso", cso);
    s.login_to_dashboard(DEMO_OPERATOR, DEMO_PASSWORD);
    let any_case = format!(
        "/cases/{}",
        api_cases(cso, "sort=due")
            .0
            .into_iter()
            .next()
            .expect("a case")
    );
    let cso_pages: Vec<String> = [
        "/dashboard",
        "/cases",
        "/contacts",
        "/intake",
        "/network",
        "/statistics",
        "/jobs",
        "/ratings",
        "/portal",
        "/cases/zzzz",
    ]
    .iter()
    .map(|p| p.to_string())
    .chain([any_case])
    .collect();
    // Positive control: the check finds English on an English page.
    s.open("/dashboard");
    let text = page_text(&s);
    assert!(
        catalogue::english_left_out("th")
            .iter()
            .any(|e| contains_words(&text, e)),
        "the untranslated-text check would find nothing"
    );
    assert!(contains_words(
        "x withholding_of_wages y",
        "withholding_of_wages"
    ));
    for (lang, font) in [
        ("th", Some("Noto Sans Thai")),
        ("my", Some("Noto Sans Myanmar")),
        ("ja", None),
    ] {
        pages_are_translated(&mut s, lang, &cso_pages, font);
    }
    let axe = webdriver::axe_source();
    login_languages(cso, &axe);
    accessible_and_fits_small_screens(&mut s, &axe, &cso_pages);
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
    let sup_case = format!(
        "/cases/{}",
        supplier.get("/api/inbox")["inbox"][0]["case_ref"]
            .as_str()
            .expect("case")
    );
    let pages: Vec<String> = ["/dashboard", "/inbox", "/cases", sup_case.as_str()]
        .map(String::from)
        .to_vec();
    for (lang, font) in [
        ("th", Some("Noto Sans Thai")),
        ("my", Some("Noto Sans Myanmar")),
    ] {
        pages_are_translated(&mut sup, lang, &pages, font);
    }
    accessible_and_fits_small_screens(&mut sup, &axe, &pages);

    // The labour office works from its inbox like a supplier does.
    let gov = demo.node("gov-labour");
    gov.add_operator("gita", "readonly", PASSWORD);
    let mut g = Session::new("demo-government", gov);
    g.login_to_dashboard(DEMO_OPERATOR, DEMO_PASSWORD);
    let mut g_ro = Session::new("demo-government-readonly", gov);
    g_ro.login_to_dashboard("gita", PASSWORD);
    supplier_answers_from_its_inbox(&mut g, &mut g_ro, gov);
    let pages: Vec<String> = ["/dashboard", "/inbox", "/cases"]
        .map(String::from)
        .to_vec();
    pages_are_translated(&mut g, "th", &pages, Some("Noto Sans Thai"));
    accessible_and_fits_small_screens(&mut g, &axe, &pages);

    let brand = demo.node("brand-northwind");
    others_see_what_is_overdue_for_them(&demo, brand);
    let mut b = Session::new("demo-brand", brand);
    b.login_to_dashboard(DEMO_OPERATOR, DEMO_PASSWORD);
    brand_sees_its_supply_chain(&mut b);
    let samut = demo.node("supplier-samut");
    let mut samut_session = Session::new("demo-supplier-plan", samut);
    samut_session.login_to_dashboard(DEMO_OPERATOR, DEMO_PASSWORD);
    supplier_plan_and_brand_analysis(&mut samut_session, &mut b, samut);
    supplier_lists_a_job_and_the_helpline_sees_it(&mut samut_session, &mut s, cso);
    portal_jobs_and_ratings_on_a_phone(cso, &axe);
    let yangon = demo.node("agency-yangon");
    let mut ag = Session::new("demo-agency", yangon);
    ag.login_to_dashboard(DEMO_OPERATOR, DEMO_PASSWORD);
    agency_proposes_an_alert_and_the_helpline_publishes_it(&mut ag, &mut s, cso);
    let pages: Vec<String> = ["/jobs", "/ratings"].map(String::from).to_vec();
    pages_are_translated(&mut ag, "my", &pages, Some("Noto Sans Myanmar"));
    accessible_and_fits_small_screens(&mut ag, &axe, &pages);
    let pages: Vec<String> = ["/jobs", "/ratings", "/improvements"]
        .map(String::from)
        .to_vec();
    for (lang, font) in [
        ("th", Some("Noto Sans Thai")),
        ("my", Some("Noto Sans Myanmar")),
    ] {
        pages_are_translated(&mut samut_session, lang, &pages, font);
    }
    accessible_and_fits_small_screens(&mut samut_session, &axe, &pages);
    cso_publishes_statistics(&mut s, &mut readonly, &mut b, cso, &axe);
    let brand_case = format!(
        "/cases/{}",
        api_cases(brand, "").0.into_iter().next().expect("a case")
    );
    let pages: Vec<String> = [
        "/dashboard",
        "/supply-chain",
        "/inbox",
        "/statistics",
        "/ratings",
        brand_case.as_str(),
    ]
    .map(String::from)
    .to_vec();
    for (lang, font) in [
        ("th", Some("Noto Sans Thai")),
        ("my", Some("Noto Sans Myanmar")),
    ] {
        pages_are_translated(&mut b, lang, &pages, font);
    }
    accessible_and_fits_small_screens(&mut b, &axe, &pages);
    let pages: Vec<String> = ["/dashboard", "/members", "/network"]
        .map(String::from)
        .to_vec();
    for (lang, font) in [
        ("th", Some("Noto Sans Thai")),
        ("my", Some("Noto Sans Myanmar")),
    ] {
        pages_are_translated(&mut st, lang, &pages, font);
    }
    accessible_and_fits_small_screens(&mut st, &axe, &pages);
}
