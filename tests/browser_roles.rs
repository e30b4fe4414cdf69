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

/// A supplier's improvement plan and a brand's analysis of its supply chain.
#[path = "browser_roles/analysis.rs"]
mod analysis;
/// A CSO's contacts page, and the steward's membership work.
#[path = "browser_roles/contacts_and_steward.rs"]
mod contacts_and_steward;
/// Pages in every language, the login's language, accessibility and small screens.
#[path = "browser_roles/languages.rs"]
mod languages;
/// Published statistics, job listings, ratings and broker alerts, on the portal too.
#[path = "browser_roles/publishing.rs"]
mod publishing;
/// A supplier's inbox and a brand's supply chain.
#[path = "browser_roles/responders.rs"]
mod responders;
/// The case list, the dashboard's overdue counts and `/api/overdue`, checked against the API.
#[path = "browser_roles/worklists.rs"]
mod worklists;

use analysis::*;
use contacts_and_steward::*;
use languages::*;
use publishing::*;
use responders::*;
use worklists::*;

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
