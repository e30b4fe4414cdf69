//! The server-rendered web UI in a real headless Chromium, against real nodes: operators log
//! in, a CSO records a contact, opens and escalates a case, the supplier acknowledges it from
//! its inbox, the brand sees the verified attestation; charts, languages, logout, and an
//! intake-only operator refused a case it did not record.
//!
//! Chromium and chromedriver are required (scripts/test installs them); this test is never
//! skipped. Screenshots of every page go to target/test-artifacts/browser/.

#[path = "support/session.rs"]
mod session;
#[path = "support/mod.rs"]
mod support;
#[path = "support/webdriver.rs"]
mod webdriver;

use serde_json::json;
use session::*;
use support::*;

#[test]
fn operators_run_a_case_through_the_web_ui_to_a_verified_attestation() {
    std::fs::create_dir_all(ARTIFACTS).expect("artifacts dir");
    let mut net = Net::new();
    net.steward.start();
    let mut cso = net.member("cso", "cso");
    let mut supplier = net.member("supplier", "supplier");
    let mut brand = net.member("brand", "brand");
    // Operators made before the daemons start.
    cso.add_operator("carla", "caseworker", PASSWORD);
    supplier.add_operator("sam", "admin", PASSWORD);
    brand.add_operator("bea", "admin", PASSWORD);
    for n in [&mut cso, &mut supplier, &mut brand] {
        n.start();
    }
    brand.link_supplier(&supplier);
    // The intake and escalation forms list the supplier only once the CSO knows it.
    cso.wait_to_know(&supplier);

    // --- The CSO caseworker. ---
    let mut c = Session::new("cso", &cso);
    // Without a session, the dashboard sends to the login page.
    c.open(ui::DASHBOARD_PATH);
    c.wait_for(ui::LOGIN_FORM, SOON);
    c.shot("login");
    // A wrong password is refused with an error.
    c.submit_login("carla", "not-the-password");
    c.wait_for(ui::LOGIN_ERROR, SOON);
    assert!(
        !c.path().starts_with(ui::DASHBOARD_PATH),
        "a wrong password must not log in{}",
        c.context()
    );
    c.shot("login-error");
    c.login_to_dashboard("carla", PASSWORD);
    c.shot("dashboard");

    // Record a contact.
    c.open(ui::INTAKE_PATH);
    c.wait_for(ui::INTAKE_FORM, SOON);
    let f = ui::INTAKE_FORM;
    // Nothing is preselected, and the case form waits for a saved contact.
    let selects = c.find_all(&format!("{f} select"));
    assert!(selects.len() >= 8, "intake pickers{}", c.context());
    for sel in &selects {
        assert_eq!(
            c.property(sel, "value").as_deref(),
            Some(""),
            "a preselected intake value{}",
            c.context()
        );
    }
    assert!(
        !c.is_displayed(&c.find(ui::CASE_FORM)),
        "case form before a contact"
    );
    // Submitting with nothing chosen records nothing (the browser asks for the fields).
    let before = cso.get("/api/contacts")["total"].as_u64().expect("total");
    c.click(&c.find(ui::INTAKE_SUBMIT));
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(cso.get("/api/contacts")["total"].as_u64(), Some(before));
    for (name, value) in [
        ("channel", "line"),
        ("language", "my"),
        ("nationality", "MM"),
        ("gender", "female"),
        ("age_band", "25_34"),
        ("sector", "seafood"),
        ("origin", "MM"),
        ("destination", "TH"),
        ("identity.name", "Browser Worker"),
        ("identity.phone", "+66 80 000 0042"),
        (
            "notes",
            "Reports two months of unpaid wages (recorded in the browser)",
        ),
    ] {
        c.fill(f, name, value);
    }
    c.shot("intake-filled");
    // A double submit (two submits before the first answer) records one contact.
    c.execute(
        "var f = document.querySelector(arguments[0]); f.requestSubmit(); f.requestSubmit();",
        vec![json!(ui::INTAKE_FORM)],
    );
    let contact_id = c.wait_result("#result to link to the new contact", |b, _| {
        let a = b.try_find(ui::CONTACT_LINK)?;
        hex_run(&b.attribute(&a, "href")?, 32)
    });
    c.shot("contact-recorded");
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(
        cso.get("/api/contacts?q=Browser+Worker")["total"].as_u64(),
        Some(1),
        "a double submit recorded the contact twice"
    );
    // A search finds the labels of its values (sector, language) beside its name, and not
    // the label of a value it does not have.
    assert_eq!(
        cso.get("/api/contacts?q=Browser+Worker+processing+Burmese")["total"].as_u64(),
        Some(1)
    );
    assert_eq!(
        cso.get("/api/contacts?q=Browser+Worker+Cambodia")["total"].as_u64(),
        Some(0)
    );

    // Open a case for it.
    c.wait_displayed(ui::CASE_FORM, SOON);
    c.click(&c.find(&ui::case_issue("withholding_of_wages")));
    c.fill(ui::CASE_FORM, "workers", "25");
    c.fill(ui::CASE_FORM, "site", "Samut Sakhon factory");
    c.select_option(ui::CASE_SUPPLIER, &supplier.org_id);
    let submit = c.find(ui::CASE_SUBMIT);
    c.click(&submit);
    let link_el = c.wait_result("#result to link to the new case", |b, _| {
        b.try_find(ui::CASE_LINK)
    });
    let href = c
        .property(&link_el, "href")
        .unwrap_or_else(|| panic!("a.case-link has no href{}", c.context()));
    let case = href
        .split_once(ui::CASES_PATH)
        .map(|(_, r)| {
            r.chars()
                .take_while(|ch| ch.is_ascii_alphanumeric() || *ch == '-' || *ch == '_')
                .collect::<String>()
        })
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| panic!("case link {href:?} is not /cases/{{case}}{}", c.context()));
    c.shot("case-opened");
    // The UI wrote through to the node: the contact belongs to the case.
    let contacts = cso.get("/api/contacts");
    assert!(
        contacts["contacts"]
            .as_array()
            .expect("contacts")
            .iter()
            .any(|x| x["id"] == contact_id.as_str() && x["case_ref"] == case.as_str()),
        "contact {contact_id} should belong to case {case}: {contacts}"
    );

    // Escalate it to the supplier from the case page.
    c.click_to_load(&link_el, SOON);
    c.wait_until("the case page", SOON, |b| {
        url_path(&b.current_url())
            .starts_with(&format!("{}{case}", ui::CASES_PATH))
            .then_some(())
    });
    c.wait_for(ui::ESCALATE_FORM, SOON);
    c.shot("case-page");
    c.select_option(ui::ESCALATE_TO, &supplier.org_id);
    c.fill(
        ui::ESCALATE_FORM,
        "requested_remedy",
        "Pay the withheld wages",
    );
    c.fill(
        ui::ESCALATE_FORM,
        "description",
        "25 workers unpaid for two months",
    );
    let submit = c.find(ui::ESCALATE_SUBMIT);
    c.click(&submit);
    // Nothing is signed before the operator confirms what goes to whom.
    c.wait_displayed(ui::CONFIRM_DIALOG, SOON);
    let summary = c.text(&c.find(ui::CONFIRM_SUMMARY));
    assert!(
        summary.contains("supplier org") && summary.contains("Pay the withheld wages"),
        "the confirmation should name the recipient and the remedy: {summary}"
    );
    assert_ne!(
        status(&cso, &case),
        "escalated",
        "escalated before the operator confirmed"
    );
    c.shot("case-confirm-escalation");
    let yes = c.find(ui::CONFIRM_YES);
    c.click(&yes);
    let case_path = format!("{}{case}", ui::CASES_PATH);
    c.reload_until(&case_path, "#status to say escalated", |b| {
        Session::case_status(b)?.contains("escalated").then_some(())
    });
    c.check_timeline(1);
    c.shot("case-escalated");
    assert_eq!(status(&cso, &case), "escalated");

    // --- The supplier acknowledges it from its inbox. ---
    wait_for("the supplier to receive the escalation", SOON, || {
        supplier.cases().contains(&case).then_some(())
    });
    let mut s = Session::new("supplier", &supplier);
    s.login_to_dashboard("sam", PASSWORD);
    s.shot("dashboard");
    let row_css = ui::inbox_row(&case);
    let row = s.reload_until(ui::INBOX_PATH, &format!("inbox row {row_css}"), |b| {
        b.try_find(&row_css)
    });
    s.shot("inbox");
    let ack = s.find_in(&row, ui::ACK_SUBMIT);
    s.click(&ack);
    wait_for("the supplier's acknowledgement", SOON, || {
        (status(&supplier, &case) == "acknowledged").then_some(())
    });
    s.open(ui::INBOX_PATH);
    s.shot("inbox-acknowledged");

    // --- The CSO sees it acknowledged. ---
    c.reload_until(&case_path, "#status to say acknowledged", |b| {
        Session::case_status(b)?
            .contains("acknowledged")
            .then_some(())
    });
    let items = c.check_timeline(2);
    let signers: Vec<String> = items
        .iter()
        .map(|li| c.text(&c.find_in(li, ui::SIGNER)))
        .collect();
    let short = &supplier.org_id[..8];
    assert!(
        signers
            .iter()
            .any(|t| t.contains("supplier org") || t.contains(short)),
        "the supplier ({short}, \"supplier org\") should sign an event: {signers:?}"
    );
    c.shot("case-acknowledged");

    // --- The rest of the lifecycle through the JSON API (as tests/workflow.rs). ---
    supplier.append_event(
        &case,
        json!({ "type": "remediation_plan", "description": "Pay back wages", "target_date": 1893456000 }),
    );
    supplier.append_event(
        &case,
        json!({
            "type": "remediation_action", "description": "Back wages paid by bank transfer", "taken_at": 1796000000,
            "amount_repaid": { "minor_units": 1500000, "currency": "THB" }, "workers_benefited": 25,
            "evidence": [{ "sha256": "ab".repeat(32), "label": "bank transfer receipts" }],
        }),
    );
    supplier.append_event(
        &case,
        json!({ "type": "remediation_reported", "summary": "All 25 workers paid" }),
    );
    wait_for("the CSO to see remediation reported", SOON, || {
        (status(&cso, &case) == "remediation_reported").then_some(())
    });
    // --- The CSO records the workers' verdict in the page: nothing chosen for it. ---
    c.reload_until(&case_path, "the verification form", |b| {
        b.try_find(ui::VERIFY_FORM)
    });
    for radio in c.find_all(ui::VERDICTS) {
        assert!(
            !c.is_selected(&radio),
            "a verdict is preselected{}",
            c.context()
        );
    }
    // The first verdict of the list, so a form that sent the last one would be caught.
    c.click(&c.find(&ui::verdict("resolved")));
    c.fill(ui::VERIFY_FORM, "workers_consulted", "10");
    c.fill(ui::VERIFY_FORM, "note", "Workers confirm payment");
    c.click(&c.find(&format!("{} button[type=submit]", ui::VERIFY_FORM)));
    c.wait_displayed(ui::CONFIRM_DIALOG, SOON);
    let summary = c.text(&c.find(ui::CONFIRM_SUMMARY));
    assert!(
        summary.contains("Resolved"),
        "the confirmation shows the verdict: {summary}"
    );
    assert_eq!(
        status(&cso, &case),
        "remediation_reported",
        "recorded before confirming"
    );
    c.click(&c.find(ui::CONFIRM_YES));
    let recorded = wait_for("the verdict to be recorded", SOON, || {
        Some(status(&cso, &case)).filter(|s| s != "remediation_reported")
    });
    assert_eq!(
        recorded, "resolved",
        "the page recorded another verdict than chosen"
    );
    wait_for("the supplier to get the attestation draft", SOON, || {
        supplier.get("/api/attestations")["attestations"]
            .as_array()?
            .iter()
            .any(|a| a["awaiting_my_signature"] == true)
            .then_some(())
    });
    // The supplier co-signs in its page, after seeing exactly what it signs.
    s.reload_until(&case_path, "the co-sign form", |b| {
        b.try_find("form#cosign-form")
    });
    s.click(&s.find("form#cosign-form button[type=submit]"));
    s.wait_displayed(ui::CONFIRM_DIALOG, SOON);
    let summary = s.text(&s.find(ui::CONFIRM_SUMMARY));
    assert!(
        summary.contains("All 25 workers paid")
            && summary.contains("25")
            && summary.contains("Resolved"),
        "the co-signature confirmation shows what is signed: {summary}"
    );
    s.shot("cosign-confirm");
    s.click(&s.find(ui::CONFIRM_YES));
    s.reload_until(&case_path, "the complete attestation", |b| {
        b.try_find("#attestation a.bundle")
            .filter(|_| b.try_find("form#cosign-form").is_none())
    });
    drop(s);
    c.reload_until(
        &case_path,
        "the CSO's case page to show the full timeline",
        |b| (b.find_all(ui::TIMELINE_ITEM).len() >= 6).then_some(()),
    );
    c.check_timeline(6);
    c.shot("case-verified");

    // --- The brand sees a verified attestation and downloads the bundle. ---
    let mut br = Session::new("brand", &brand);
    br.login_to_dashboard("bea", PASSWORD);
    let att = br.reload_until(
        ui::SUPPLY_CHAIN_PATH,
        "a verified attestation on /supply-chain",
        |b| {
            b.find_all(ui::ATTESTATION).into_iter().find(|a| {
                b.try_find_in(a, ui::BADGE_VERIFIED)
                    .is_some_and(|badge| b.text(&badge).to_lowercase().contains("verified"))
            })
        },
    );
    br.shot("supply-chain");
    let bundle = br.find_in(&att, ui::BUNDLE_LINK);
    let href = br
        .attribute(&bundle, "href")
        .unwrap_or_else(|| panic!("a.bundle has no href{}", br.context()));
    let bundle_path = if href.starts_with("http") {
        url_path(&href)
    } else {
        href.clone()
    };
    let (code, body) = br.http_get(&bundle_path);
    assert_eq!(
        code,
        200,
        "GET {href} (bundle): {}",
        String::from_utf8_lossy(&body)
    );
    let file = net.tmp.path().join("bundle-from-ui.json");
    std::fs::write(&file, &body).expect("write bundle");
    let out = ilm(&brand.dir, &["verify", file.to_str().expect("utf8")]);
    assert!(out.starts_with("VALID attestation"), "{out}");
    drop(br);

    // The CSO's dashboard with the case's contact counted.
    c.open(ui::DASHBOARD_PATH);
    c.wait_for(ui::CHART, SOON);
    c.shot("dashboard-after");
}

#[test]
fn an_intake_operator_cannot_open_a_case_it_did_not_record() {
    std::fs::create_dir_all(ARTIFACTS).expect("artifacts dir");
    let mut net = Net::new();
    net.steward.start();
    let mut cso = net.member("cso", "cso");
    let mut supplier = net.member("supplier", "supplier");
    for n in [&mut cso, &mut supplier] {
        n.start();
    }
    cso.wait_to_know(&supplier);
    // A case recorded through the admin API, not by the intake operator.
    let site = "Intake-Forbidden-Site-5e1";
    let id = cso.post(
        "/api/contacts",
        &json!({
            "channel": "line", "language": "my", "nationality": "MM", "gender": "female",
            "age_band": "25_34", "sector": "seafood", "origin": "MM", "destination": "TH",
            "identity": { "name": "Someone Else", "phone": "+66 80 000 0099", "messenger_id": "", "id_numbers": [] },
            "notes": "recorded by someone else",
        }),
    )["id"]
        .as_str()
        .expect("id")
        .to_string();
    let case = cso.post(
        "/api/local-cases",
        &json!({
            "contacts": [id], "workers": 4, "site": site,
            "issues": [{ "category": "withholding_of_wages" }],
            "supplier": supplier.org_id,
        }),
    )["case_ref"]
        .as_str()
        .expect("case_ref")
        .to_string();
    // An operator added while the daemon runs.
    cso.add_operator("ines", "intake", PASSWORD);

    let mut b = Session::new("intake", &cso);
    // The contract sends every operator to the dashboard; an intake operator, who may not
    // see it, may instead land directly on the intake form.
    let landed = b.login("ines", PASSWORD);
    assert!(
        landed.starts_with(ui::INTAKE_PATH) || landed.starts_with(ui::DASHBOARD_PATH),
        "intake operator landed on {landed}{}",
        b.context()
    );
    b.open(ui::INTAKE_PATH);
    b.wait_for(ui::INTAKE_FORM, SOON);
    b.shot("intake");

    let case_path = format!("{}{case}", ui::CASES_PATH);
    b.open(&case_path);
    let src = b.page_source();
    let lower = src.to_lowercase();
    b.shot("case-forbidden");
    assert!(
        lower.contains("403") || lower.contains("forbidden"),
        "an intake operator opening {case_path} should see 403/forbidden{}",
        b.context()
    );
    assert!(
        !src.contains(site) && b.try_find(ui::TIMELINE_ITEM).is_none(),
        "the forbidden page shows the case{}",
        b.context()
    );

    // The same session cookie outside the browser: valid for /intake, refused for the case.
    let (code, body) = b.http_get(ui::INTAKE_PATH);
    let body = String::from_utf8_lossy(&body);
    assert_eq!(code, 200, "the session cookie should open /intake: {body}");
    assert!(body.contains("intake-form"), "{body}");
    let (code, body) = b.http_get(&case_path);
    let body = String::from_utf8_lossy(&body);
    assert!(
        code == 403 || body.to_lowercase().contains("forbidden"),
        "GET {case_path} as an intake operator: {code} {body}"
    );
    assert!(!body.contains(site), "the refusal leaks the case: {body}");
}

#[test]
fn the_dashboard_draws_charts_switches_language_and_logs_out() {
    std::fs::create_dir_all(ARTIFACTS).expect("artifacts dir");
    let mut net = Net::new();
    net.steward.start();
    let mut cso = net.member("cso", "cso");
    cso.add_operator("dana", "caseworker", PASSWORD);
    cso.start();
    // Some contacts for the charts to count.
    for (channel, language, gender) in [
        ("line", "my", "female"),
        ("phone_call", "km", "male"),
        ("line", "my", "male"),
    ] {
        cso.post(
            "/api/contacts",
            &json!({
                "channel": channel, "language": language, "nationality": "MM", "gender": gender,
                "age_band": "25_34", "sector": "seafood", "origin": "MM", "destination": "TH",
                "identity": { "name": "Chart Worker", "phone": "", "messenger_id": "", "id_numbers": [] },
                "notes": "",
            }),
        );
    }

    let mut c = Session::new("dashboard", &cso);
    c.login_to_dashboard("dana", PASSWORD);
    // --- Dashboard charts. ---
    let h1 = c.wait_for(ui::HEADING, SOON);
    assert!(!c.text(&h1).trim().is_empty(), "empty h1{}", c.context());
    let charts = c.find_all(ui::CHART);
    assert!(
        charts.len() >= ui::MIN_CHARTS,
        "expected at least {} `{}` on the dashboard, found {}{}",
        ui::MIN_CHARTS,
        ui::CHART,
        charts.len(),
        c.context()
    );
    c.shot("dashboard-charts");

    // --- Languages. ---
    let nav_en = c.text(&c.find(ui::NAV));
    for (lang, script, name) in [
        ("th", '\u{0E00}'..='\u{0E7F}', "Thai"),
        ("my", '\u{1000}'..='\u{109F}', "Myanmar"),
        ("ja", '\u{3040}'..='\u{9FFF}', "Japanese"),
    ] {
        c.switch_language(lang);
        let nav = c.text(&c.find(ui::NAV));
        assert_ne!(nav, nav_en, "nav text unchanged after switching to {lang}");
        assert!(
            has_script(&nav, script.clone()),
            "no {name} text in the nav after switching to {lang}: {nav:?}"
        );
        c.shot(&format!("dashboard-{lang}"));
    }
    c.switch_language("en");
    let nav = c.text(&c.find(ui::NAV));
    assert!(
        !has_script(&nav, '\u{0E00}'..='\u{0E7F}') && !has_script(&nav, '\u{3040}'..='\u{9FFF}'),
        "nav still translated after switching back to en: {nav:?}"
    );

    // --- Logout ends the session. ---
    let out_btn = c.find(ui::LOGOUT_SUBMIT);
    c.click(&out_btn);
    c.open(ui::DASHBOARD_PATH);
    c.wait_for(ui::LOGIN_FORM, SOON);
    c.shot("logged-out");
}
