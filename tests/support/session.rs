//! A person's browser session on one node's web UI, and the page contract (selectors and
//! paths) the browser tests rely on. Shared by the browser test binaries.

#![allow(dead_code)] // each test binary uses part of it

use crate::support::*;
use crate::webdriver::{self, Browser, Element};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Every selector and path of the page contract the test relies on, in one place.
pub mod ui {
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
    pub fn case_issue(code: &str) -> String {
        format!("form#case-form input[name=issues][value={code}]")
    }
    pub const CONTACT_LINK: &str = "#result a.contact-link";
    pub const VERIFY_FORM: &str = "form#verify-form";
    pub const VERDICTS: &str = "form#verify-form input[name=verdict]";
    pub fn verdict(code: &str) -> String {
        format!("form#verify-form input[name=verdict][value={code}]")
    }
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

pub const ARTIFACTS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../target/test-artifacts/browser"
);

pub const PASSWORD: &str = "Correct-Horse-Battery-Staple-42";

/// Base URL of a node's UI (the admin address).
pub fn ui_base(node: &Node) -> String {
    let addr = std::fs::read_to_string(node.dir.join("admin.addr"))
        .unwrap_or_else(|e| panic!("{} admin.addr: {e} (is it running?)", node.name));
    format!("http://{}", addr.trim())
}

/// The path part of an absolute URL.
pub fn url_path(url: &str) -> String {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    match rest.find('/') {
        Some(i) => rest[i..].to_string(),
        None => "/".to_string(),
    }
}

/// The first run of at least 32 hex digits in `s`.
pub fn hex_run(s: &str, min: usize) -> Option<String> {
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

pub fn has_script(s: &str, range: std::ops::RangeInclusive<char>) -> bool {
    s.chars().any(|c| range.contains(&c))
}

/// One person's browser on one node's UI. On a panic it saves a screenshot and the page
/// source as `FAILED-<label>.png/.html` next to the other artifacts.
pub struct Session {
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
    pub fn new(label: &str, node: &Node) -> Session {
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

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn open(&self, path: &str) {
        self.b.goto(&self.url(path));
    }

    pub fn path(&self) -> String {
        url_path(&self.b.current_url())
    }

    /// Saves a screenshot as `<label>-NN-<name>.png`.
    pub fn shot(&mut self, name: &str) {
        self.shots += 1;
        let file =
            Path::new(ARTIFACTS).join(format!("{}-{:02}-{name}.png", self.label, self.shots));
        self.b.screenshot(&file);
    }

    /// Sets a form field by name: selects the option of a select, else clears and types.
    pub fn fill(&self, form: &str, name: &str, value: &str) {
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

    pub fn submit_login(&self, user: &str, password: &str) {
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
    pub fn login(&self, user: &str, password: &str) -> String {
        self.submit_login(user, password);
        self.b
            .wait_until(&format!("{user} to be logged in"), SOON, |b| {
                let path = url_path(&b.current_url());
                (!path.starts_with(ui::LOGIN_PATH)).then_some(path)
            })
    }

    /// Logs in and checks the landing page is the dashboard.
    pub fn login_to_dashboard(&self, user: &str, password: &str) {
        let path = self.login(user, password);
        assert!(
            path.starts_with(ui::DASHBOARD_PATH),
            "{user} landed on {path}, expected {}{}",
            ui::DASHBOARD_PATH,
            self.b.context()
        );
    }

    /// Polls `#result` until `f` accepts its text; fails at once on an error shown there.
    pub fn wait_result<T>(&self, what: &str, mut f: impl FnMut(&Browser, &str) -> Option<T>) -> T {
        self.b.wait_until(what, SOON, |b| {
            if let Some(err) = b.try_text(ui::RESULT_ERROR) {
                panic!("the form failed: {err}{}", b.context());
            }
            let text = b.try_text(ui::RESULT)?;
            f(b, &text)
        })
    }

    /// Reloads `path` until `f` holds (bounded by SOON).
    pub fn reload_until<T>(
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
    pub fn case_status(b: &Browser) -> Option<String> {
        let el = b.try_find(ui::STATUS)?;
        b.attribute(&el, "data-code")
    }

    /// Every timeline entry has a signer and says its signature was verified.
    pub fn check_timeline(&self, at_least: usize) -> Vec<Element> {
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
    pub fn switch_language(&self, lang: &str) {
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

    /// POST JSON outside the browser with this session's cookies and CSRF token, as the
    /// page's script would: how a test makes a request the page does not offer.
    pub fn http_post(&self, path: &str, body: &serde_json::Value) -> (u16, String) {
        let csrf = self
            .b
            .execute(
                "return document.querySelector('meta[name=\"csrf-token\"]').content;",
                vec![],
            )
            .as_str()
            .unwrap_or_default()
            .to_string();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        let mut res = agent
            .post(self.url(path))
            .header("Cookie", self.b.cookie_header())
            .header("X-CSRF-Token", &csrf)
            .header("Content-Type", "application/json")
            .send(body.to_string())
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        let status = res.status().as_u16();
        (status, res.body_mut().read_to_string().unwrap_or_default())
    }

    /// Confirms the open dialog and waits for the page its form reloads on success.
    pub fn confirm_dialog(&self) {
        self.b.wait_displayed(ui::CONFIRM_DIALOG, SOON);
        let yes = self.b.find(ui::CONFIRM_YES);
        // The form posts, then reloads the page on success: leaving the page before that
        // (a test's own reload) can cancel the request before it is sent.
        self.b.click_to_load(&yes, SOON);
    }

    /// GET outside the browser with this session's cookies (redirects not followed).
    pub fn http_get(&self, path: &str) -> (u16, Vec<u8>) {
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

pub fn status(node: &Node, case: &str) -> String {
    node.case_status(case)
}
