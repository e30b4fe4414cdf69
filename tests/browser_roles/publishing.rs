//! Published statistics, job listings, ratings and broker alerts, on the portal too.

use super::*;

/// A CSO's admin publishes last month from the Statistics page, after seeing exactly what
/// will be signed; a read-only operator is offered nothing; a brand then sees the month, and
/// so does the public page, in Burmese on a small screen.
pub(super) fn cso_publishes_statistics(
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
pub(super) fn contains_words(hay: &str, needle: &str) -> bool {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    hay.match_indices(needle).any(|(i, _)| {
        let before = hay[..i].chars().next_back();
        let after = hay[i + needle.len()..].chars().next();
        !before.is_some_and(is_word) && !after.is_some_and(is_word)
    })
}

pub(super) fn urlencode(s: &str) -> String {
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
pub(super) fn supplier_lists_a_job_and_the_helpline_sees_it(
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
pub(super) fn portal_jobs_and_ratings_on_a_phone(cso: &Node, axe: &str) {
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
pub(super) fn agency_proposes_an_alert_and_the_helpline_publishes_it(
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
