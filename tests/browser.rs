//! The server-rendered web UI in a real headless Chromium, against real nodes: operators log
//! in, a CSO records a contact, opens and escalates a case, the supplier acknowledges it from
//! its inbox, the brand sees the verified attestation; charts, languages, logout, and an
//! intake-only operator refused a case it did not record.
//!
//! Chromium and chromedriver are required (scripts/test installs them); this test is never
//! skipped. Screenshots of every page go to target/test-artifacts/browser/.

#[path = "support/mod.rs"]
mod support;
#[path = "support/webdriver.rs"]
mod webdriver;

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;
use support::*;
use webdriver::{Browser, Element};

/// Every selector and path of the page contract the test relies on, in one place.
mod ui {
    // Login and logout.
    pub const LOGIN_PATH: &str = "/login";
    pub const LOGIN_FORM: &str = "form#login";
    pub const LOGIN_USERNAME: &str = "form#login input[name=username]";
    pub const LOGIN_PASSWORD: &str = "form#login input[name=password]";
    pub const LOGIN_SUBMIT: &str = "form#login button[type=submit]";
    pub const LOGIN_ERROR: &str = ".error";
    pub const LOGOUT_SUBMIT: &str =
        "form#logout button, form#logout input[type=submit], form#logout [type=submit]";

    // Dashboard.
    pub const DASHBOARD_PATH: &str = "/dashboard";
    pub const HEADING: &str = "h1";
    pub const CHART: &str = "svg.chart";
    pub const MIN_CHARTS: usize = 4;

    // Intake (CSO).
    pub const INTAKE_PATH: &str = "/intake";
    pub const INTAKE_FORM: &str = "form#intake-form";
    pub const INTAKE_SUBMIT: &str = "button#intake-submit";
    pub const RESULT: &str = "#result";
    pub const RESULT_ERROR: &str = "#result .error";
    pub const CASE_FORM: &str = "form#case-form";
    pub const CASE_ISSUES: &str = "form#case-form select[name=issues]";
    pub const CASE_SUPPLIER: &str = "form#case-form select[name=supplier]";
    pub const CASE_SUBMIT: &str = "button#case-submit";
    pub const CASE_LINK: &str = "#result a.case-link";

    // Case page.
    pub const CASES_PATH: &str = "/cases/";
    pub const TIMELINE_ITEM: &str = "ol#timeline > li";
    pub const SIGNER: &str = ".signer";
    pub const VERIFIED: &str = ".verified";
    pub const VERIFIED_TEXT: &str = "signature verified";
    pub const ESCALATE_FORM: &str = "form#escalate-form";
    pub const ESCALATE_TO: &str = "form#escalate-form select[name=to]";
    pub const ESCALATE_SUBMIT: &str = "form#escalate-form button[type=submit]";
    pub const STATUS: &str = "#status";
    pub const CONFIRM_DIALOG: &str = "dialog#confirm[open]";
    pub const CONFIRM_SUMMARY: &str = "dialog#confirm .confirm-summary";
    pub const CONFIRM_YES: &str = "dialog#confirm button[value=yes]";

    // Inbox (supplier).
    pub const INBOX_PATH: &str = "/inbox";
    pub fn inbox_row(case: &str) -> String {
        format!("tr[data-case=\"{case}\"]")
    }
    pub const ACK_SUBMIT: &str = "form.ack-form button[type=submit]";

    // Supply chain (brand).
    pub const SUPPLY_CHAIN_PATH: &str = "/supply-chain";
    pub const ATTESTATION: &str = ".attestation";
    pub const BADGE_VERIFIED: &str = ".badge-verified";
    pub const BUNDLE_LINK: &str = "a.bundle";

    // Language switch.
    pub const LANG_FORM: &str = "form#lang";
    pub const LANG_SELECT: &str = "form#lang select[name=lang]";
    pub const LANG_SUBMIT: &str = "form#lang button[type=submit]";
    pub const NAV: &str = "nav";
}

const ARTIFACTS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../target/test-artifacts/browser"
);

const PASSWORD: &str = "Correct-Horse-Battery-Staple-42";

/// Base URL of a node's UI (the admin address).
fn ui_base(node: &Node) -> String {
    let addr = std::fs::read_to_string(node.dir.join("admin.addr"))
        .unwrap_or_else(|e| panic!("{} admin.addr: {e} (is it running?)", node.name));
    format!("http://{}", addr.trim())
}

/// The path part of an absolute URL.
fn url_path(url: &str) -> String {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    match rest.find('/') {
        Some(i) => rest[i..].to_string(),
        None => "/".to_string(),
    }
}

/// The first run of at least 32 hex digits in `s`.
fn hex_run(s: &str, min: usize) -> Option<String> {
    let mut run = String::new();
    for c in s.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_hexdigit() {
            run.push(c);
        } else if run.len() >= min {
            return Some(run);
        } else {
            run.clear();
        }
    }
    None
}

fn has_script(s: &str, range: std::ops::RangeInclusive<char>) -> bool {
    s.chars().any(|c| range.contains(&c))
}

/// One person's browser on one node's UI. On a panic it saves a screenshot and the page
/// source as `FAILED-<label>.png/.html` next to the other artifacts.
struct Session {
    b: Browser,
    base: String,
    label: String,
    shots: usize,
}

impl std::ops::Deref for Session {
    type Target = Browser;
    fn deref(&self) -> &Browser {
        &self.b
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let dir = PathBuf::from(ARTIFACTS);
            let _ = std::fs::create_dir_all(&dir);
            if let Ok(v) = self.b.try_cmd("GET", "/screenshot", Value::Null)
                && let Ok(png) = webdriver::base64_decode(v.as_str().unwrap_or_default())
            {
                let _ = std::fs::write(dir.join(format!("FAILED-{}.png", self.label)), png);
            }
            if let Ok(v) = self.b.try_cmd("GET", "/source", Value::Null) {
                let _ = std::fs::write(
                    dir.join(format!("FAILED-{}.html", self.label)),
                    v.as_str().unwrap_or_default(),
                );
            }
            eprintln!(
                "browser session {} failed; screenshot and page in {}",
                self.label,
                dir.display()
            );
        }
    }
}

impl Session {
    fn new(label: &str, node: &Node) -> Session {
        // Remove this label's screenshots of earlier runs, so none are mistaken for this one's.
        for e in std::fs::read_dir(ARTIFACTS).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with(&format!("{label}-"))
                || name.starts_with(&format!("FAILED-{label}."))
            {
                let _ = std::fs::remove_file(e.path());
            }
        }
        Session {
            b: Browser::start(),
            base: ui_base(node),
            label: label.to_string(),
            shots: 0,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn open(&self, path: &str) {
        self.b.goto(&self.url(path));
    }

    fn path(&self) -> String {
        url_path(&self.b.current_url())
    }

    /// Saves a screenshot as `<label>-NN-<name>.png`.
    fn shot(&mut self, name: &str) {
        self.shots += 1;
        let file =
            Path::new(ARTIFACTS).join(format!("{}-{:02}-{name}.png", self.label, self.shots));
        self.b.screenshot(&file);
    }

    /// Sets a form field by name: selects the option of a select, else clears and types.
    fn fill(&self, form: &str, name: &str, value: &str) {
        let css = format!("{form} [name=\"{name}\"]");
        let el = self.b.find(&css);
        if self.b.tag_name(&el) == "select" {
            self.b
                .select_option(&format!("{form} select[name=\"{name}\"]"), value);
        } else {
            self.b.clear(&el);
            self.b.send_keys(&el, value);
        }
    }

    fn submit_login(&self, user: &str, password: &str) {
        self.open(ui::LOGIN_PATH);
        self.b.wait_for(ui::LOGIN_FORM, SOON);
        let u = self.b.find(ui::LOGIN_USERNAME);
        self.b.clear(&u);
        self.b.send_keys(&u, user);
        let p = self.b.find(ui::LOGIN_PASSWORD);
        self.b.clear(&p);
        self.b.send_keys(&p, password);
        let submit = self.b.find(ui::LOGIN_SUBMIT);
        self.b.click(&submit);
    }

    /// Logs in and waits to leave the login page; returns the path landed on.
    fn login(&self, user: &str, password: &str) -> String {
        self.submit_login(user, password);
        self.b
            .wait_until(&format!("{user} to be logged in"), SOON, |b| {
                let path = url_path(&b.current_url());
                (!path.starts_with(ui::LOGIN_PATH)).then_some(path)
            })
    }

    /// Logs in and checks the landing page is the dashboard.
    fn login_to_dashboard(&self, user: &str, password: &str) {
        let path = self.login(user, password);
        assert!(
            path.starts_with(ui::DASHBOARD_PATH),
            "{user} landed on {path}, expected {}{}",
            ui::DASHBOARD_PATH,
            self.b.context()
        );
    }

    /// Polls `#result` until `f` accepts its text; fails at once on an error shown there.
    fn wait_result<T>(&self, what: &str, mut f: impl FnMut(&Browser, &str) -> Option<T>) -> T {
        self.b.wait_until(what, SOON, |b| {
            if let Some(err) = b.try_text(ui::RESULT_ERROR) {
                panic!("the form failed: {err}{}", b.context());
            }
            let text = b.try_text(ui::RESULT)?;
            f(b, &text)
        })
    }

    /// Reloads `path` until `f` holds (bounded by SOON).
    fn reload_until<T>(
        &self,
        path: &str,
        what: &str,
        mut f: impl FnMut(&Browser) -> Option<T>,
    ) -> T {
        let url = self.url(path);
        self.b.wait_until(what, SOON, |b| {
            b.goto(&url);
            let v = f(b);
            if v.is_none() {
                std::thread::sleep(Duration::from_millis(400));
            }
            v
        })
    }

    /// The status code of the case page (`#status`'s data-code; its text is translated).
    fn case_status(b: &Browser) -> Option<String> {
        let el = b.try_find(ui::STATUS)?;
        b.attribute(&el, "data-code")
    }

    /// Every timeline entry has a signer and says its signature was verified.
    fn check_timeline(&self, at_least: usize) -> Vec<Element> {
        let items = self.b.find_all(ui::TIMELINE_ITEM);
        assert!(
            items.len() >= at_least,
            "expected at least {at_least} signed events in `{}`, found {}{}",
            ui::TIMELINE_ITEM,
            items.len(),
            self.b.context()
        );
        for li in &items {
            let signer = self.b.find_in(li, ui::SIGNER);
            assert!(
                !self.b.text(&signer).trim().is_empty(),
                "empty signer in a timeline entry{}",
                self.b.context()
            );
            let verified = self.b.find_in(li, ui::VERIFIED);
            let text = self.b.text(&verified).to_lowercase();
            assert!(
                text.contains(ui::VERIFIED_TEXT),
                "timeline entry's `{}` says {text:?}, expected {:?}{}",
                ui::VERIFIED,
                ui::VERIFIED_TEXT,
                self.b.context()
            );
        }
        items
    }

    /// Switches the UI language with the language form and waits for `html[lang]`.
    fn switch_language(&self, lang: &str) {
        self.b.wait_for(ui::LANG_FORM, SOON);
        self.b.select_option(ui::LANG_SELECT, lang);
        let submit = self.b.find(ui::LANG_SUBMIT);
        self.b.click(&submit);
        self.b
            .wait_until(&format!("html[lang] to become {lang}"), SOON, |b| {
                let l = b.execute("return document.documentElement.lang;", vec![]);
                (l.as_str() == Some(lang)).then_some(())
            });
    }

    /// GET outside the browser with this session's cookies (redirects not followed).
    fn http_get(&self, path: &str) -> (u16, Vec<u8>) {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        let mut res = agent
            .get(self.url(path))
            .header("Cookie", self.b.cookie_header())
            .call()
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let status = res.status().as_u16();
        let body = res
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_vec()
            .unwrap_or_default();
        (status, body)
    }
}

fn status(node: &Node, case: &str) -> String {
    node.try_get(&format!("/api/cases/{case}"))
        .ok()
        .and_then(|v| v["status"].as_str().map(String::from))
        .unwrap_or_default()
}

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
    let submit = c.find(ui::INTAKE_SUBMIT);
    c.click(&submit);
    let contact_id = c.wait_result("#result to show the new contact id", |_, text| {
        hex_run(text, 32)
    });
    c.shot("contact-recorded");

    // Open a case for it.
    c.wait_displayed(ui::CASE_FORM, SOON);
    c.select_option(ui::CASE_ISSUES, "withholding_of_wages");
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
    c.click(&link_el);
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
    drop(s);

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
    cso.post(
        &format!("/api/cases/{case}/verify"),
        &json!({ "verdict": "resolved", "workers_consulted": 10, "note": "Workers confirm payment" }),
    );
    wait_for("the supplier to get the attestation draft", SOON, || {
        supplier.get("/api/attestations")["attestations"]
            .as_array()?
            .iter()
            .any(|a| a["awaiting_my_signature"] == true)
            .then_some(())
    });
    supplier.post(&format!("/api/attestations/{case}/cosign"), &json!(null));
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
