//! A CSO's contacts page, and the steward's membership work.

use super::*;

/// The contact ids the contacts page shows.
pub(super) fn listed_contacts(s: &Session) -> BTreeSet<String> {
    s.find_all("table#contacts tbody tr[data-contact]")
        .iter()
        .filter_map(|tr| s.attribute(tr, "data-contact"))
        .collect()
}

pub(super) fn api_contacts(node: &Node, query: &str) -> (BTreeSet<String>, u64) {
    let v = node.get(&format!("/api/contacts?{query}"));
    let ids = v["contacts"]
        .as_array()
        .expect("contacts")
        .iter()
        .map(|c| c["id"].as_str().expect("id").to_string())
        .collect();
    (ids, v["total"].as_u64().expect("total"))
}

pub(super) fn contact_total(s: &Session) -> u64 {
    let el = s.find("#contact-count");
    s.attribute(&el, "data-total")
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no total on the contacts page{}", s.context()))
}

/// The contacts page finds past contacts and repeat callers, as the API does; an operator
/// who may not see identities cannot search by them, but still sees who called again.
pub(super) fn contacts_page_finds_repeat_callers(
    s: &mut Session,
    readonly: &mut Session,
    cso: &Node,
) {
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
pub(super) fn steward_issues_and_revokes(s: &mut Session, readonly: &mut Session, steward: &Node) {
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
