//! The workers' side across real nodes (the `ilm` binary on loopback): job listings published
//! by agencies and suppliers reach a CSO's portal with the publisher verified, and leave it
//! when forged, revoked, expired or taken down; a later case naming fees a listing does not
//! charge flags it to the CSO. Ratings leave the CSO only as signed summaries of at least k,
//! each later one k more; no organisation rates itself or submits ratings. Broker alerts
//! reach every CSO's portal only once a CSO reviewed and signed them, an agency's proposal
//! included.

mod support;

use ilm_node::net::proto::AckOutcome;
use ilm_protocol::{
    AlertId, AlertProposal, AlertText, BrokerAlert, Dimension, DimensionSum, DocumentsKeeper,
    JobListing, ListingId, MessageKind, Money, RatingSummary, SignedRecord, WagePeriod,
};
use serde_json::{Value, json};
use support::portal::{element_text, get, portal_base, post_form};
use support::wire::{cert_of, deliver_as_member, keys_of, load_network, now, seal};
use support::*;

/// A listing as an agency's operator publishes it.
fn listing_body(job: &str, costs: Value) -> Value {
    json!({
        "employer": "Andaman Seafood Co.",
        "site": "Samut Sakhon",
        "job": job,
        "description": "Day shift.\n\nHousing free of charge.",
        "origin": "MM",
        "destination": "TH",
        "workers_wanted": 40,
        "wage": { "minor_units": 1_200_000, "currency": "THB" },
        "wage_period": "month",
        "hours_per_week": 48,
        "contract_months": 24,
        "contract_languages": "Burmese, Thai",
        "costs": costs,
        "documents_kept_by": "worker",
        "days": 60,
    })
}

/// The portal's job page, as a worker sees it.
fn jobs_page(cso: &Node) -> String {
    let (status, html) = get(&format!("{}/jobs?lang=en", portal_base(cso)));
    assert_eq!(status, 200, "{html}");
    html
}

/// A listing signed with `keys`, naming `publisher`, up from `published` to `expires`.
fn signed_listing(
    net: &Net,
    keys: &ilm_protocol::OrgKeys,
    publisher: &Node,
    job: &str,
    published: u64,
    expires: u64,
) -> SignedRecord {
    let body = JobListing {
        network_id: load_network(&net.genesis()).id(),
        publisher: publisher.org_id.parse().expect("org id"),
        id: ListingId(ilm_protocol::identity::random_bytes().expect("random")),
        employer: "Andaman Seafood Co.".into(),
        site: "Samut Sakhon".into(),
        job: job.into(),
        description: String::new(),
        origin: "MM".parse().expect("country"),
        destination: "TH".parse().expect("country"),
        workers_wanted: 5,
        wage: Money {
            minor_units: 1_000_000,
            currency: "THB".parse().expect("currency"),
        },
        wage_period: WagePeriod::Month,
        hours_per_week: 48,
        contract_months: 12,
        contract_languages: vec!["Burmese".into()],
        costs: vec![],
        documents_kept_by: DocumentsKeeper::Worker,
        first_published_at: ilm_protocol::Timestamp(published),
        published_at: ilm_protocol::Timestamp(published),
        expires_at: ilm_protocol::Timestamp(expires),
        withdrawn: false,
    };
    SignedRecord::sign(&body, keys).expect("sign")
}

/// Delivers `rec` as `kind` from `from` (its real keys: a modified program) to `to`.
fn deliver(net: &Net, from: &Node, to: &Node, kind: MessageKind, rec: &SignedRecord) -> AckOutcome {
    let network = load_network(&net.genesis());
    let payload = serde_json::to_vec(rec).expect("json");
    let env = seal(&network, &keys_of(from), kind, &payload, &[cert_of(to)]);
    deliver_as_member(&network, from, to, vec![env])
        .pop()
        .expect("an answer")
}

/// Opens a case at the CSO against `party` naming a recruitment fee; returns its reference.
fn fee_case(cso: &Node, party: &Node, fee: Value) -> String {
    cso.wait_to_know(party);
    let t = now().0;
    let v = cso.post(
        "/api/cases",
        &json!({ "escalation": {
            "to": party.org_id,
            "categories": ["recruitment_fees"],
            "workers_affected": 4,
            "site": "Samut Sakhon",
            "requested_remedy": "Repay the fees",
            "description": "Workers paid a broker before leaving",
            "recruitment_fees": fee,
            "acknowledge_by": t + 7 * 86400,
            "remediate_by": t + 30 * 86400,
        }}),
    );
    v["case_ref"].as_str().expect("case_ref").to_string()
}

/// The CSO's listings by job title.
fn held_listing(cso: &Node, job: &str) -> Option<Value> {
    cso.get("/api/listings")["listings"]
        .as_array()
        .and_then(|ls| ls.iter().find(|l| l["job"] == job).cloned())
}

#[test]
fn job_listings_show_verified_and_leave_the_portal_when_forged_revoked_expired_or_withdrawn() {
    let mut net = Net::new();
    net.steward.start();
    let mut cso = net.member("cso", "cso");
    cso.run_args = vec!["--portal-listen".into(), "127.0.0.1:0".into()];
    cso.start();
    let mut agency = net.member("agency", "agency");
    let mut rogue = net.member("rogue", "agency");
    let mut supplier = net.member("supplier", "supplier");
    for n in [&mut agency, &mut rogue, &mut supplier] {
        n.start();
        n.wait_to_know(&cso);
    }
    // A CSO publishes no listing; an agency's is signed and sent.
    let (status, _) = cso.post_raw("/api/listings", &listing_body("Any job", json!([])));
    assert_eq!(
        status, 403,
        "a CSO's node does not offer publishing listings"
    );
    let fair = agency.post("/api/listings", &listing_body("Shrimp peeler", json!([])));
    let fair_key = fair["key"].as_str().expect("key").to_string();
    rogue.post("/api/listings", &listing_body("Net mender", json!([])));
    supplier.post(
        "/api/listings",
        &listing_body(
            "Packer",
            json!([{ "item": "Medical check", "amount": { "minor_units": 150_000, "currency": "THB" } }]),
        ),
    );
    // Bad input changes nothing.
    let (status, _) = agency.post_raw(
        "/api/listings",
        &listing_body("Bad costs", json!([{ "item": "Visa" }])),
    );
    assert_eq!(status, 400);
    let page = wait_for("the three listings on the portal", SOON, || {
        let html = jobs_page(&cso);
        ["Shrimp peeler", "Net mender", "Packer"]
            .iter()
            .all(|j| html.contains(j))
            .then_some(html)
    });
    assert!(!page.contains("Bad costs"));
    // The publisher is named as its certificate names it, the costs as stated.
    assert!(page.contains("agency org") && page.contains("supplier org"));
    assert!(page.contains("You pay nothing"), "Employer Pays is stated");
    assert!(page.contains("1,500.00 THB"), "the supplier's cost: {page}");
    let (status, job) = get(&format!("{}/jobs/{fair_key}?lang=my", portal_base(&cso)));
    assert_eq!(status, 200);
    assert!(job.contains("Housing free of charge."));
    // Asking the helpline about it starts a report naming the job.
    let (_, form) = get(&format!(
        "{}/report?lang=en&about={fair_key}",
        portal_base(&cso)
    ));
    let what = element_text(&form, "what").unwrap_or_default();
    assert!(what.contains("Shrimp peeler"), "{what}");

    // Forged: a listing naming the agency, signed by the rogue, is refused; so is one the
    // rogue delivers for a steward-less key.
    let t = now().0;
    let forged = signed_listing(&net, &keys_of(&rogue), &agency, "Forged job", t, t + 86_400);
    match deliver(&net, &rogue, &cso, MessageKind::JobListing, &forged) {
        AckOutcome::Rejected(why) => {
            assert!(why.contains("signature") || why.contains("sign"), "{why}")
        }
        other => panic!("a forged listing was not refused: {other:?}"),
    }
    // Control: the same program delivering the rogue's own listing is accepted.
    let own = signed_listing(&net, &keys_of(&rogue), &rogue, "Deckhand", t, t + 86_400);
    assert_eq!(
        deliver(&net, &rogue, &cso, MessageKind::JobListing, &own),
        AckOutcome::Accepted
    );
    let page = jobs_page(&cso);
    assert!(page.contains("Deckhand") && !page.contains("Forged job"));

    // Expired: one up for half a minute is shown, then disappears.
    let brief = signed_listing(
        &net,
        &keys_of(&agency),
        &agency,
        "Seasonal picker",
        t,
        t + 30,
    );
    assert_eq!(
        deliver(&net, &agency, &cso, MessageKind::JobListing, &brief),
        AckOutcome::Accepted
    );
    assert!(
        jobs_page(&cso).contains("Seasonal picker"),
        "the listing is shown while open"
    );
    wait_for("the expired listing to leave the portal", SOON, || {
        (!jobs_page(&cso).contains("Seasonal picker")).then_some(())
    });
    assert!(now().0 >= t + 30, "it left only once expired");

    // Flagged: a later case against the agency names a fee its Employer Pays listing does
    // not charge; a case against the supplier within its stated costs flags nothing.
    let case = fee_case(
        &cso,
        &agency,
        json!({ "minor_units": 500_000, "currency": "THB" }),
    );
    fee_case(
        &cso,
        &supplier,
        json!({ "minor_units": 100_000, "currency": "THB" }),
    );
    let flagged = held_listing(&cso, "Shrimp peeler").expect("listing held");
    assert_eq!(flagged["contradictions"][0]["case_ref"], json!(case));
    let packer = held_listing(&cso, "Packer").expect("listing held");
    assert_eq!(
        packer["contradictions"],
        json!([]),
        "within the listing's costs"
    );
    // Publishing the listing again does not clear its record.
    let mut again = listing_body("Shrimp peeler", json!([]));
    again["id"] = fair["listing"]["id"].clone();
    again["days"] = json!(90);
    let republished = agency.post("/api/listings", &again);
    wait_for("the CSO to hold the new version", SOON, || {
        let held = held_listing(&cso, "Shrimp peeler")?;
        (held["published_at"] == republished["listing"]["published_at"]).then_some(())
    });
    let flagged = held_listing(&cso, "Shrimp peeler").expect("listing held");
    assert_eq!(flagged["contradictions"][0]["case_ref"], json!(case));
    // The supplier's case above its costs flags it.
    let over = fee_case(
        &cso,
        &supplier,
        json!({ "minor_units": 900_000, "currency": "THB" }),
    );
    let packer = held_listing(&cso, "Packer").expect("listing held");
    assert_eq!(packer["contradictions"][0]["case_ref"], json!(over));

    // Revoked: the steward revokes the rogue; its listings leave the portal.
    ilm(
        &net.steward.dir,
        &["member", "revoke", &rogue.org_id, "--reason", "test"],
    );
    wait_for(
        "the revoked agency's listings to leave the portal",
        SOON,
        || {
            let html = jobs_page(&cso);
            (!html.contains("Net mender") && !html.contains("Deckhand")).then_some(html)
        },
    );
    assert!(
        jobs_page(&cso).contains("Shrimp peeler"),
        "control: others stay"
    );

    // Withdrawn: the agency takes its listing down.
    let id = fair["listing"]["id"].as_str().expect("id");
    agency.post("/api/listings/withdraw", &json!({ "id": id }));
    wait_for("the withdrawn listing to leave the portal", SOON, || {
        (!jobs_page(&cso).contains("Shrimp peeler")).then_some(())
    });
    let (status, _) = get(&format!("{}/jobs/{fair_key}", portal_base(&cso)));
    assert_eq!(status, 404);
}

/// Records `n` ratings of `org` at the CSO, each from a new contact, all scores `score`.
fn rate(cso: &Node, org: &Node, n: usize, score: u8, tag: &str) {
    for i in 0..n {
        let contact = cso.post(
            "/api/contacts",
            &contact_body(&format!("Rater {tag} {i}"), &format!("+66800{i:05}")),
        )["id"]
            .as_str()
            .expect("contact id")
            .to_string();
        let scores: serde_json::Map<String, Value> = Dimension::ALL
            .iter()
            .map(|d| (d.code().to_string(), json!(score)))
            .collect();
        cso.post(
            "/api/ratings",
            &json!({ "contact": contact, "org": org.org_id, "scores": scores }),
        );
    }
}

/// How many ratings of `org` the node shows (0: none published).
fn shown_count(node: &Node, org: &Node) -> u64 {
    node.get("/api/ratings")["ratings"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["org"] == json!(org.org_id)))
        .and_then(|r| r["count"].as_u64())
        .unwrap_or(0)
}

fn published_now(cso: &Node, org: &Node) -> bool {
    cso.post("/api/ratings/publish", &json!({}))["outcomes"]
        .as_array()
        .and_then(|os| os.iter().find(|o| o["org"] == json!(org.org_id)))
        .is_some_and(|o| o["published"] == json!(true))
}

/// A summary of `count` ratings of `org`, all 3, signed with `keys` as `publisher`.
fn summary(
    net: &Net,
    keys: &ilm_protocol::OrgKeys,
    publisher: &Node,
    org: &Node,
    count: u32,
) -> SignedRecord {
    let body = RatingSummary {
        network_id: load_network(&net.genesis()).id(),
        publisher: publisher.org_id.parse().expect("org"),
        org: org.org_id.parse().expect("org"),
        k: 5,
        count,
        sums: Dimension::ALL
            .iter()
            .map(|d| DimensionSum {
                dimension: *d,
                sum: 3 * u64::from(count),
            })
            .collect(),
        // Later than any summary the CSO published in this second.
        published_at: now().plus_secs(2),
    };
    SignedRecord::sign(&body, keys).expect("sign")
}

#[test]
fn ratings_are_published_only_as_summaries_of_at_least_k_and_never_by_the_rated() {
    let (net, mut cso, supplier, brand) = Net::with_cso_supplier_and_brand();
    cso.stop();
    cso.run_args = vec!["--portal-listen".into(), "127.0.0.1:0".into()];
    cso.start();
    let mut agency = net.member("agency", "agency");
    agency.start();
    brand.link_supplier(&supplier);
    for n in [&supplier, &brand, &agency] {
        cso.wait_to_know(n);
    }

    // An organisation cannot rate itself, and only a CSO collects ratings.
    let contact = cso.post("/api/contacts", &contact_body("Self", "+66811111111"))["id"].clone();
    let scores: serde_json::Map<String, Value> = Dimension::ALL
        .iter()
        .map(|d| (d.code().to_string(), json!(4)))
        .collect();
    let (status, _) = cso.post_raw(
        "/api/ratings",
        &json!({ "contact": contact, "org": cso.org_id, "scores": scores }),
    );
    assert_eq!(status, 422, "a CSO rating itself");
    for n in [&agency, &supplier] {
        let (status, _) = n.post_raw(
            "/api/ratings",
            &json!({ "contact": contact, "org": n.org_id, "scores": scores }),
        );
        assert_eq!(status, 403, "{} submitting ratings", n.name);
        let (status, _) = n.post_raw("/api/ratings/publish", &json!({}));
        assert_eq!(status, 403);
    }
    // A score out of range changes nothing.
    let mut bad = scores.clone();
    bad.insert("treatment".into(), json!(6));
    let (status, _) = cso.post_raw(
        "/api/ratings",
        &json!({ "contact": contact, "org": supplier.org_id, "scores": bad }),
    );
    assert_eq!(status, 422);

    // Fewer than k: nothing leaves the CSO.
    rate(&cso, &supplier, 4, 2, "a");
    assert!(!published_now(&cso, &supplier));
    assert_eq!(shown_count(&cso, &supplier), 0);
    let (_, page) = get(&format!("{}/ratings?lang=en", portal_base(&cso)));
    assert!(!page.contains("supplier org"), "nothing on the portal yet");
    // The k-th rating: published, signed, seen by the rated supplier and its linked brand,
    // not by an unrelated agency.
    rate(&cso, &supplier, 1, 2, "b");
    assert!(published_now(&cso, &supplier));
    for n in [&supplier, &brand] {
        wait_for(&format!("{} to hold the summary", n.name), SOON, || {
            (shown_count(n, &supplier) == 5).then_some(())
        });
    }
    assert_eq!(
        shown_count(&agency, &supplier),
        0,
        "not the agency's business"
    );
    let (_, page) = get(&format!("{}/ratings?lang=en", portal_base(&cso)));
    assert!(page.contains("supplier org"), "{page}");

    // Four more: fewer than k new, so nothing new leaves (the difference would tell of four
    // workers). A modified CSO program sending such a step is refused by receivers.
    rate(&cso, &supplier, 4, 5, "c");
    assert!(!published_now(&cso, &supplier));
    let small_step = summary(&net, &keys_of(&cso), &cso, &supplier, 6);
    match deliver(
        &net,
        &cso,
        &supplier,
        MessageKind::RatingSummary,
        &small_step,
    ) {
        AckOutcome::Rejected(why) => assert!(why.contains("at least k"), "{why}"),
        other => panic!("a summary adding one rating was accepted: {other:?}"),
    }
    assert_eq!(shown_count(&supplier, &supplier), 5);
    // Control: a step of k from the same program is accepted.
    let step = summary(&net, &keys_of(&cso), &cso, &supplier, 10);
    assert_eq!(
        deliver(&net, &cso, &supplier, MessageKind::RatingSummary, &step),
        AckOutcome::Accepted
    );
    assert_eq!(shown_count(&supplier, &supplier), 10);

    // The rated cannot submit ratings of itself, even from a modified program.
    let own = summary(&net, &keys_of(&agency), &agency, &agency, 50);
    match deliver(&net, &agency, &brand, MessageKind::RatingSummary, &own) {
        AckOutcome::Rejected(_) => {}
        other => panic!("an agency's ratings of itself were accepted: {other:?}"),
    }
    assert_eq!(shown_count(&brand, &agency), 0);

    // The supplier answers publicly; the portal shows the answer by its ratings.
    supplier.post(
        "/api/ratings/answer",
        &json!({ "text": "We repaid all fees in March." }),
    );
    wait_for("the answer on the portal", SOON, || {
        let (_, page) = get(&format!("{}/ratings?lang=en", portal_base(&cso)));
        page.contains("We repaid all fees in March.").then_some(())
    });

    // A worker with a receipt rates the agency once from the portal.
    let base = portal_base(&cso);
    let (_, receipt) = post_form(
        &format!("{base}/report"),
        &[
            ("lang", "en"),
            ("reporter", "worker"),
            ("what", "Fees"),
            ("sector", "seafood"),
            ("origin", "MM"),
            ("destination", "TH"),
            ("may_contact", "no"),
            ("may_raise", "no"),
        ],
        None,
    );
    let code = element_text(&receipt, "receipt").expect("receipt");
    let pass = element_text(&receipt, "passphrase").expect("passphrase");
    let mut form: Vec<(&str, &str)> = vec![
        ("lang", "en"),
        ("receipt", &code),
        ("passphrase", &pass),
        ("org", &agency.org_id),
    ];
    form.extend(Dimension::ALL.iter().map(|d| (d.code(), "1")));
    let (status, page) = post_form(&format!("{base}/rate"), &form, None);
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Your rating was saved"));
    let (status, page) = post_form(&format!("{base}/rate"), &form, None);
    assert_eq!(status, 422);
    assert!(page.contains("already rated"), "{page}");
    // Not counted until a caseworker answers the report: a report made up only to rate
    // would otherwise count.
    let agency_counts = || {
        let collected = cso.get("/api/ratings")["collected"].clone();
        collected
            .as_array()
            .and_then(|c| c.iter().find(|c| c["org"] == json!(agency.org_id)))
            .map(|c| (c["count"].clone(), c["awaiting_triage"].clone()))
    };
    assert_eq!(agency_counts(), Some((json!(0), json!(1))));
    let thread = cso.get("/api/portal/threads")["threads"][0]["contact"]
        .as_str()
        .expect("thread")
        .to_string();
    cso.post(
        &format!("/api/portal/threads/{thread}/reply"),
        &json!({ "text": "We read your report." }),
    );
    assert_eq!(agency_counts(), Some((json!(1), json!(0))));
    // A wrong passphrase rates nothing.
    let mut wrong = form.clone();
    wrong[2] = ("passphrase", "0000000000000000");
    let (status, _) = post_form(&format!("{base}/rate"), &wrong, None);
    assert_eq!(status, 404);
}

/// Broker alerts, reviewed and signed by a CSO before any portal shows them.
#[path = "workers_side/alerts.rs"]
mod alerts;
