//! Analytics across real nodes. Published network statistics: a CSO publishes a month once, suppressed;
//! members refuse a second version, small counts and non-CSO publishers; the public page
//! serves nothing but the published figures.

mod support;

use ilm_node::net::proto::AckOutcome;
use ilm_protocol::statistics::{self, Counts, MIN_K};
use ilm_protocol::{
    ImprovementActivity, MessageKind, Month, PublishedStatistics, SignedRecord, StatTable,
    SupplyChainLink,
};
use serde_json::{Value, json};
use support::wire::{cert_of, deliver_as_member, keys_of, load_network, now, seal};
use support::*;

/// The month before the current one: ended, so it may be published.
fn last_month() -> Month {
    Month::of(now())
        .previous()
        .expect("a month before this one")
}

/// Records a contact of last month with this nationality and gender; returns its id.
fn contact(cso: &Node, i: usize, nationality: &str, gender: &str) -> String {
    let mut body = contact_body(&format!("Canary Worker {i:02}"), &format!("+6690000{i:04}"));
    body["nationality"] = json!(nationality);
    body["origin"] = json!(nationality);
    body["gender"] = json!(gender);
    body["received_at"] = json!(last_month().start().0 + 3 * 86_400 + i as u64);
    cso.post("/api/contacts", &body)["id"]
        .as_str()
        .expect("contact id")
        .to_string()
}

/// Every number published anywhere in a statistics answer.
fn published_numbers(v: &Value, out: &mut Vec<u64>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k == "value" {
                    out.extend(x.as_u64());
                } else if k != "k" {
                    published_numbers(x, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| published_numbers(x, out)),
        _ => {}
    }
}

fn table<'a>(picture: &'a Value, name: &str) -> &'a Value {
    picture["months"][0]["tables"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["name"] == name))
        .unwrap_or_else(|| panic!("no table {name} in {picture}"))
}

fn cells(t: &Value) -> Vec<(String, u64, bool)> {
    t["cells"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            (
                c[0].as_str().unwrap_or_default().to_string(),
                c[1]["value"].as_u64().unwrap_or_default(),
                c[1]["at_least"] == json!(true),
            )
        })
        .collect()
}

/// GET on the public listener: status and body.
fn public_get(base: &str, path: &str) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let mut res = agent
        .get(format!("{base}{path}"))
        .call()
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    (
        res.status().as_u16(),
        res.body_mut().read_to_string().unwrap_or_default(),
    )
}

#[test]
fn a_cso_publishes_a_month_once_suppressed_and_the_public_page_shows_only_that() {
    let mut net = Net::new();
    net.steward.start();
    let mut cso = net.member("cso", "cso");
    cso.run_args = vec!["--public-listen".into(), "127.0.0.1:0".into()];
    let mut supplier = net.member("supplier", "supplier");
    let mut brand = net.member("brand", "brand");
    cso.start();
    supplier.start();
    brand.start();
    cso.wait_to_know(&brand);
    cso.wait_to_know(&supplier);
    let month = last_month();

    // 14 contacts last month: by nationality MM 8, KH 5, LA 1 (LA is below k, and KH must
    // go with it, or the total would give LA away); by gender female 8, male 6.
    let mut contacts = Vec::new();
    for i in 0..14 {
        let nationality = match i {
            0..8 => "MM",
            8..13 => "KH",
            _ => "LA",
        };
        let gender = if i % 7 < 4 { "female" } else { "male" };
        contacts.push(contact(&cso, i, nationality, gender));
    }
    // A case this month, to show its reference never reaches the public page.
    let case = cso.consented_case(&supplier, "Canary Worker Case");

    // Counts that changed since an operator reviewed them are not published.
    let (code, body) = cso.post_raw(
        "/api/statistics/publish",
        &json!({ "month": month.to_string(), "expect": "00".repeat(32) }),
    );
    assert_eq!(code, 422, "{body}");
    assert!(body.to_string().contains("changed since"), "{body}");
    // Published with the real binary.
    let out = ilm(
        &cso.dir,
        &[
            "--json",
            "statistics",
            "publish",
            "--month",
            &month.to_string(),
        ],
    );
    let published: Value = serde_json::from_str(&out).expect("json");
    let first: SignedRecord = serde_json::from_value(published["record"].clone()).expect("record");

    // The brand holds it, suppressed as the rules say.
    let picture = wait_for("the brand to hold the CSO's statistics", SOON, || {
        let v = brand.get("/api/statistics");
        (v["months"][0]["month"] == month.to_string()).then_some(v)
    });
    assert_eq!(picture["months"][0]["contributors"][0]["name"], "cso org");
    let nat = table(&picture, "contacts.nationality");
    assert_eq!(nat["total"]["value"], 14);
    assert_eq!(cells(nat), [("MM".to_string(), 8, false)]);
    let gender = table(&picture, "contacts.gender");
    assert_eq!(
        cells(gender),
        [
            ("female".to_string(), 8, false),
            ("male".to_string(), 6, false)
        ]
    );
    let mut numbers = Vec::new();
    published_numbers(&picture["months"], &mut numbers);
    assert!(numbers.contains(&14) && numbers.contains(&8), "{numbers:?}");
    assert!(
        numbers.iter().all(|n| *n == 0 || *n >= u64::from(MIN_K)),
        "a published count below k: {numbers:?}"
    );

    // A second publication of the month: refused by the CLI...
    contact(&cso, 14, "LA", "female");
    let err = ilm_fails(
        &cso.dir,
        &["statistics", "publish", "--month", &month.to_string()],
    );
    assert!(err.contains("already published"), "{err}");
    let err = ilm_fails(
        &cso.dir,
        &[
            "statistics",
            "publish",
            "--month",
            &Month::of(now()).to_string(),
        ],
    );
    assert!(err.contains("not over"), "{err}");

    // ...and, signed with the CSO's own key by a modified program, refused by members. Its
    // difference with the first is exactly what suppression hides: one worker, from Laos.
    let network = load_network(&net.genesis());
    let first_body: PublishedStatistics = serde_json::from_slice(&first.body).expect("body");
    let counts = |pairs: &[(&str, u64)]| -> Counts {
        pairs.iter().map(|(n, v)| (n.to_string(), *v)).collect()
    };
    let mut second_body = first_body.clone();
    second_body.published_at = now();
    second_body.tables = vec![statistics::suppress(
        "contacts.nationality",
        &counts(&[("MM", 8), ("KH", 5), ("LA", 2)]),
        MIN_K,
    )];
    let total = |b: &PublishedStatistics| {
        b.table("contacts.nationality")
            .and_then(|t: &StatTable| t.total)
            .expect("total")
    };
    assert_eq!(
        total(&second_body) - total(&first_body),
        1,
        "control: both versions together would single out one worker"
    );
    let second = SignedRecord::sign(&second_body, &keys_of(&cso)).expect("sign");
    let to_brand = [cert_of(&brand)];
    let envelope = |r: &SignedRecord| {
        let payload = serde_json::to_vec(r).expect("json");
        seal(
            &network,
            &keys_of(&cso),
            MessageKind::PublishedStatistics,
            &payload,
            &to_brand,
        )
    };
    // Publications that break a rule, each signed with the CSO's real key.
    let other_month = month.previous().expect("month");
    let signed = |edit: &dyn Fn(&mut PublishedStatistics)| {
        let mut b = first_body.clone();
        b.month = other_month;
        edit(&mut b);
        SignedRecord::sign(&b, &keys_of(&cso)).expect("sign")
    };
    let nationality = |cells: &[(&str, u64)], total: u64| StatTable {
        name: "contacts.nationality".into(),
        total: Some(total),
        cells: counts(cells),
    };
    let mut canonical_broken = signed(&|_| {});
    let body: PublishedStatistics = serde_json::from_slice(&canonical_broken.body).expect("body");
    canonical_broken.body = serde_json::to_vec_pretty(&body).expect("json");
    canonical_broken.signatures.clear();
    canonical_broken.cosign(&keys_of(&cso));
    let this_month = Month::of(now());
    let refused: Vec<(&str, SignedRecord)> = vec![
        ("published once", second.clone()),
        (
            "below the minimum",
            signed(&|b| {
                b.k = 2;
                b.tables = vec![nationality(&[("MM", 8), ("KH", 5), ("LA", 2)], 15)];
            }),
        ),
        (
            "count below k",
            signed(&|b| b.tables = vec![nationality(&[("MM", 8), ("KH", 5), ("LA", 2)], 15)]),
        ),
        (
            "could be recovered",
            signed(&|b| b.tables = vec![nationality(&[("MM", 8), ("KH", 5)], 15)]),
        ),
        (
            "another network",
            signed(&|b| b.network_id = ilm_protocol::NetworkId([9; 16])),
        ),
        (
            "in the future",
            signed(&|b| {
                b.month = this_month;
                b.published_at = ilm_protocol::Timestamp(this_month.end().0 + 2 * 86_400);
            }),
        ),
        ("canonical", canonical_broken),
    ];
    let mut envelopes = vec![envelope(&first)];
    envelopes.extend(refused.iter().map(|(_, r)| envelope(r)));
    let outcomes = deliver_as_member(&network, &cso, &brand, envelopes);
    assert!(
        matches!(&outcomes[0], AckOutcome::Accepted | AckOutcome::Duplicate),
        "the same publication again is harmless: {:?}",
        outcomes[0]
    );
    for ((why, _), outcome) in refused.iter().zip(&outcomes[1..]) {
        assert!(
            matches!(outcome, AckOutcome::Rejected(w) if w.contains(why)),
            "expected a refusal for {why:?}, got {outcome:?}"
        );
    }
    // Only a CSO publishes, and only its own: a supplier's, and a CSO relaying another's.
    let mut foreign_body = first_body.clone();
    foreign_body.month = other_month;
    foreign_body.publisher = cert_of(&supplier).org_id;
    let foreign = SignedRecord::sign(&foreign_body, &keys_of(&supplier)).expect("sign");
    let from = |node: &Node, r: &SignedRecord| {
        let payload = serde_json::to_vec(r).expect("json");
        seal(
            &network,
            &keys_of(node),
            MessageKind::PublishedStatistics,
            &payload,
            &to_brand,
        )
    };
    let outcome = deliver_as_member(&network, &supplier, &brand, vec![from(&supplier, &foreign)]);
    assert!(
        matches!(&outcome[0], AckOutcome::Rejected(why) if why.contains("may not send")),
        "{:?}",
        outcome[0]
    );
    let mut other_cso = net.member("cso2", "cso");
    other_cso.start();
    brand.wait_to_know(&other_cso);
    let relayed = signed(&|_| {});
    let outcome = deliver_as_member(
        &network,
        &other_cso,
        &brand,
        vec![from(&other_cso, &relayed)],
    );
    assert!(
        matches!(&outcome[0], AckOutcome::Rejected(why) if why.contains("must come from")),
        "{:?}",
        outcome[0]
    );
    let after = brand.get("/api/statistics");
    assert_eq!(after["months"].as_array().map(Vec::len), Some(1));
    assert_eq!(table(&after, "contacts.nationality")["total"]["value"], 14);

    // The public page: the same figures, and nothing else.
    let public = format!(
        "http://{}",
        std::fs::read_to_string(cso.dir.join("public.addr"))
            .expect("public.addr")
            .trim()
    );
    let (code, page) = public_get(&public, "/?lang=my");
    assert_eq!(code, 200);
    let (code, data) = public_get(&public, "/statistics.json");
    assert_eq!(code, 200);
    assert!(page.contains(&month.to_string()) && page.contains("data-total=\"14\""));
    assert!(data.contains("\"value\":14"), "{data}");
    // Control: the admin API of the same node does show what the scan looks for.
    let admin = cso.get_text("/api/cases") + &cso.get_text("/api/contacts");
    let secrets: Vec<String> = [
        case.clone(),
        "Canary Worker".into(),
        "+6690000".into(),
        cso.org_id.clone(),
        brand.org_id.clone(),
        supplier.org_id.clone(),
    ]
    .into_iter()
    .chain(contacts.iter().cloned())
    .collect();
    assert!(admin.contains(&case) && admin.contains(&contacts[0]));
    assert!(cso.get_text("/api/status").contains(&cso.org_id));
    // Ids are looked for by their first 8 hex digits, as `short()` prints them.
    for s in &secrets {
        let short = &s[..s.len().min(8)];
        assert!(!page.contains(short), "the public page shows {s:?}");
        assert!(!data.contains(short), "the public JSON shows {s:?}");
    }
    // Contact exports: without personal data for anyone who reads; with the identities only
    // when asked for explicitly, and logged without any of the data.
    let (code, plain) = cso.get_raw("/api/contacts.csv");
    assert_eq!(code, 200);
    assert!(
        plain.contains(&contacts[0]),
        "control: the export lists the contacts"
    );
    assert!(
        !plain.contains("Canary Worker") && !plain.contains("+6690000"),
        "{plain}"
    );
    let (code, body) = cso.get_raw("/api/contacts-with-identities.csv");
    assert_eq!(code, 400, "{body}");
    let (code, full) = cso.get_raw("/api/contacts-with-identities.csv?confirm=yes");
    assert_eq!(code, 200);
    assert!(full.contains("Canary Worker 00") && full.contains("+66900000000"));
    let file = net.tmp.path().join("contacts.csv");
    let file_arg = file.to_str().expect("utf8");
    ilm(&cso.dir, &["export", "contacts", "--out", file_arg]);
    let text = std::fs::read_to_string(&file).expect("export");
    assert!(text.contains(&contacts[0]) && !text.contains("Canary Worker"));
    ilm(
        &cso.dir,
        &["export", "contacts", "--with-identities", "--out", file_arg],
    );
    let text = std::fs::read_to_string(&file).expect("export");
    assert!(text.contains("Canary Worker 00"));
    std::fs::remove_file(&file).expect("remove the export");
    let log_path = cso.dir.with_extension("log1");
    let log = wait_for("the export in the log", SOON, || {
        let log = std::fs::read_to_string(&log_path).ok()?;
        (log.matches("exported contacts with workers' identities")
            .count()
            >= 2)
            .then_some(log)
    });
    assert!(log.contains("admin-token"), "the log names who exported");
    assert!(!log.contains("Canary") && !log.contains("+6690000"));
    // Nothing of the admin listener answers on the public one, and the reverse.
    for path in [
        "/api/cases",
        "/api/status",
        "/api/statistics",
        "/login",
        "/dashboard",
        "/statistics",
        "/static/app.js",
        "/api/hello?challenge=00",
    ] {
        assert_eq!(
            public_get(&public, path).0,
            404,
            "{path} on the public page"
        );
    }
    let (code, body) = public_get(&cso_base(&cso), "/statistics.json");
    assert!(
        code != 200 && !body.contains("months"),
        "the public JSON on the admin listener: {code} {body}"
    );
}

/// The admin listener's base address.
fn cso_base(node: &Node) -> String {
    format!(
        "http://{}",
        std::fs::read_to_string(node.dir.join("admin.addr"))
            .expect("admin.addr")
            .trim()
    )
}

/// The improvement activities a node holds, by id: (title, completed_at).
fn plan(node: &Node) -> Vec<(String, String, Value)> {
    node.get("/api/improvements")["activities"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            (
                a["id"].as_str().unwrap_or_default().to_string(),
                a["title"].as_str().unwrap_or_default().to_string(),
                a["completed_at"].clone(),
            )
        })
        .collect()
}

#[test]
fn a_supplier_s_improvement_plan_reaches_its_brand_and_cso_and_no_one_else() {
    let (net, cso, supplier, brand) = Net::with_cso_supplier_and_brand();
    let mut other_brand = net.member("brand2", "brand");
    other_brand.start();
    brand.link_supplier(&supplier);
    // The CSO works with the supplier: it escalated a case to it.
    let case = cso.consented_case(&supplier, "Canary Plan Worker");
    wait_for("the supplier to hold the case", SOON, || {
        supplier.cases().contains(&case).then_some(())
    });
    supplier.wait_to_know(&other_brand);
    let planned = format!("{}-01", last_month());
    let v = supplier.post(
        "/api/improvements",
        &json!({
            "kind": "policy_adopted", "title": "Employer Pays adopted",
            "description": "No worker pays recruitment costs", "planned_for": planned,
        }),
    );
    let id = v["id"].as_str().expect("activity id").to_string();
    let first: SignedRecord = serde_json::from_value(v["record"].clone()).expect("record");
    for node in [&brand, &cso] {
        wait_for(&format!("{} to receive the plan", node.name), SOON, || {
            plan(node).iter().any(|(i, _, _)| *i == id).then_some(())
        });
    }
    // The CSO's caseworkers see it on the case they escalated to the supplier.
    let page = cso.get_text(&format!("/cases/{case}"));
    assert!(
        page.contains(&format!("data-activity=\"{id}\"")) && page.contains("Employer Pays adopted"),
        "the plan is not on the CSO's case page"
    );
    // Completed: the new version replaces the old one everywhere.
    supplier.post(
        "/api/improvements",
        &json!({
            "id": id, "kind": "policy_adopted", "title": "Employer Pays adopted",
            "planned_for": planned, "completed_at": planned,
        }),
    );
    wait_for("the brand to see it completed", SOON, || {
        plan(&brand)
            .iter()
            .any(|(i, _, done)| *i == id && !done.is_null())
            .then_some(())
    });
    // The brand's trend chart marks it, and its plan lists it.
    let page = brand.get_text("/supply-chain");
    assert!(
        page.contains(
            "<g class=\"marker\"><title translate=\"no\">1. Employer Pays adopted</title>"
        ),
        "no marker on the brand's chart"
    );
    assert!(page.contains("data-activity=\"") && page.contains(&id));
    // A brand that does not buy from the supplier was sent nothing...
    assert!(
        plan(&other_brand).is_empty(),
        "an unlinked brand holds the plan"
    );
    // ...and does not take the plan when a modified supplier node sends it anyway (it answers
    // "not yet": the link that would relate them may still be on its way).
    let network = load_network(&net.genesis());
    let to = |node: &Node, from: &Node, r: &SignedRecord| {
        seal(
            &network,
            &keys_of(from),
            MessageKind::ImprovementActivity,
            &serde_json::to_vec(r).expect("json"),
            &[cert_of(node)],
        )
    };
    let out = deliver_as_member(
        &network,
        &supplier,
        &other_brand,
        vec![to(&other_brand, &supplier, &first)],
    );
    assert!(
        matches!(&out[0], AckOutcome::Retry(why) if why.contains("neither buys from nor works with")),
        "{:?}",
        out[0]
    );
    assert!(plan(&other_brand).is_empty());
    // Nor does a CSO that never escalated to the supplier.
    let mut other_cso = net.member("cso2", "cso");
    other_cso.start();
    supplier.wait_to_know(&other_cso);
    let out = deliver_as_member(
        &network,
        &supplier,
        &other_cso,
        vec![to(&other_cso, &supplier, &first)],
    );
    assert!(
        matches!(&out[0], AckOutcome::Retry(why) if why.contains("neither buys from nor works with")),
        "{:?}",
        out[0]
    );
    // A version dated ahead of the receiver's clock is refused.
    let mut ahead: ImprovementActivity = serde_json::from_slice(&first.body).expect("body");
    ahead.recorded_at = ilm_protocol::Timestamp(now().0 + 30 * 86_400);
    let ahead = SignedRecord::sign(&ahead, &keys_of(&supplier)).expect("sign");
    let out = deliver_as_member(
        &network,
        &supplier,
        &brand,
        vec![to(&brand, &supplier, &ahead)],
    );
    assert!(
        matches!(&out[0], AckOutcome::Rejected(why) if why.contains("future")),
        "{:?}",
        out[0]
    );
    // The old version again changes nothing at the linked brand.
    let out = deliver_as_member(
        &network,
        &supplier,
        &brand,
        vec![to(&brand, &supplier, &first)],
    );
    assert!(
        matches!(&out[0], AckOutcome::Accepted | AckOutcome::Duplicate),
        "{:?}",
        out[0]
    );
    assert!(
        plan(&brand)
            .iter()
            .any(|(i, _, done)| *i == id && !done.is_null()),
        "an older version replaced the completion"
    );
    // A plan in the supplier's name signed by someone else, and a plan from a brand.
    let mut forged_body: ImprovementActivity = serde_json::from_slice(&first.body).expect("body");
    forged_body.title = "Forged".into();
    let forged = SignedRecord::sign(&forged_body, &keys_of(&other_brand)).expect("sign");
    let mut own_body = forged_body.clone();
    own_body.org = cert_of(&other_brand).org_id;
    let from_brand = SignedRecord::sign(&own_body, &keys_of(&other_brand)).expect("sign");
    let out = deliver_as_member(
        &network,
        &other_brand,
        &brand,
        vec![
            to(&brand, &other_brand, &forged),
            to(&brand, &other_brand, &from_brand),
        ],
    );
    assert!(
        matches!(&out[0], AckOutcome::Rejected(why) if why.contains("signed by")),
        "{:?}",
        out[0]
    );
    assert!(
        matches!(&out[1], AckOutcome::Rejected(why) if why.contains("may not send")),
        "{:?}",
        out[1]
    );
    assert!(!plan(&brand).iter().any(|(_, t, _)| t == "Forged"));
    // A brand that links to the supplier later gets the plan recorded before.
    other_brand.link_supplier(&supplier);
    wait_for("the newly linked brand to receive the plan", SOON, || {
        plan(&other_brand)
            .iter()
            .any(|(i, _, done)| *i == id && !done.is_null())
            .then_some(())
    });
    // Only a supplier or an agency keeps a plan.
    let (code, _) = cso.post_raw(
        "/api/improvements",
        &json!({ "kind": "training", "title": "x", "planned_for": planned }),
    );
    assert_eq!(code, 403);
    // Withdrawn: it leaves the plan everywhere, and can be neither changed nor withdrawn
    // again.
    supplier.post("/api/improvements/withdraw", &json!({ "id": id }));
    for node in [&brand, &other_brand, &cso, &supplier] {
        wait_for(
            &format!("{} to drop the withdrawn activity", node.name),
            SOON,
            || (!plan(node).iter().any(|(i, _, _)| *i == id)).then_some(()),
        );
    }
    assert!(
        !brand.get_text("/supply-chain").contains(&id),
        "no longer on the brand's page"
    );
    let (code, body) = supplier.post_raw("/api/improvements/withdraw", &json!({ "id": id }));
    assert_eq!(code, 422, "{body}");
    let (code, body) = supplier.post_raw(
        "/api/improvements",
        &json!({ "id": id, "kind": "policy_adopted", "title": "Back", "planned_for": planned }),
    );
    assert_eq!(code, 422, "{body}");
    // The earlier, completed version delivered again does not bring it back.
    let out = deliver_as_member(
        &network,
        &supplier,
        &brand,
        vec![to(&brand, &supplier, &first)],
    );
    assert!(matches!(
        &out[0],
        AckOutcome::Accepted | AckOutcome::Duplicate
    ));
    assert!(!plan(&brand).iter().any(|(i, _, _)| *i == id));
}

/// The brand's view of one organisation of its supply chain (`/api/supply-chain`).
fn chain_entry(brand: &Node, org: &str) -> Option<Value> {
    brand.get("/api/supply-chain")["suppliers"]
        .as_array()?
        .iter()
        .find(|s| s["supplier"] == org)
        .cloned()
}

/// Whether `node` holds a complete link between `upstream` and `downstream`.
fn holds_link(node: &Node, upstream: &str, downstream: &str) -> bool {
    node.get("/api/links")["links"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|l| {
            l["complete"] == true
                && l["link"]["upstream"] == upstream
                && l["link"]["downstream"] == downstream
        })
}

#[test]
fn an_agency_s_cases_and_plan_reach_the_brands_of_the_suppliers_it_recruits_for() {
    let (net, cso, supplier, mut brand) = Net::with_cso_supplier_and_brand();
    let mut agency = net.member("agency", "agency");
    agency.start();
    let mut late_brand = net.member("brand2", "brand");
    late_brand.start();
    brand.link_supplier(&supplier);
    // A plan the agency kept before any supplier recruited through it.
    let planned = format!("{}-01", last_month());
    let before = agency.post(
        "/api/improvements",
        &json!({
            "kind": "policy_adopted", "title": "Zero fees for workers",
            "description": "Employer Pays adopted", "planned_for": planned,
        }),
    );
    let before_id = before["id"].as_str().expect("activity id").to_string();
    let first: SignedRecord = serde_json::from_value(before["record"].clone()).expect("record");
    // The supplier recruits through the agency: its brand learns of the link and gets the
    // agency's plan through the supplier (the agency does not know the brand).
    supplier.link_to("supplier_agency", &agency);
    wait_for("the brand to learn of the supplier's agency", SOON, || {
        holds_link(&brand, &supplier.org_id, &agency.org_id).then_some(())
    });
    for node in [&supplier, &brand] {
        wait_for(
            &format!("{} to hold the agency's plan", node.name),
            SOON,
            || {
                plan(node)
                    .iter()
                    .any(|(i, _, _)| *i == before_id)
                    .then_some(())
            },
        );
    }
    // A brand that does not buy from the supplier learned nothing...
    assert!(!holds_link(&late_brand, &supplier.org_id, &agency.org_id));
    assert!(plan(&late_brand).is_empty());
    // ...and refuses the link and the plan from a modified supplier node that sends them anyway.
    let network = load_network(&net.genesis());
    // The same link signed again by both sides (the test holds their keys).
    let link: SupplyChainLink = brand.get("/api/links")["links"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|l| l["link"]["downstream"] == agency.org_id.as_str())
        .and_then(|l| serde_json::from_value(l["link"].clone()).ok())
        .expect("the agency link at the brand");
    let mut link_record = SignedRecord::sign(&link, &keys_of(&supplier)).expect("sign");
    link_record.cosign(&keys_of(&agency));
    let sealed = |kind, r: &SignedRecord, to: &Node| {
        seal(
            &network,
            &keys_of(&supplier),
            kind,
            &serde_json::to_vec(r).expect("json"),
            &[cert_of(to)],
        )
    };
    let out = deliver_as_member(
        &network,
        &supplier,
        &late_brand,
        vec![
            sealed(MessageKind::SupplyChainLink, &link_record, &late_brand),
            sealed(MessageKind::ImprovementActivity, &first, &late_brand),
        ],
    );
    assert!(
        matches!(&out[0], AckOutcome::Retry(why) if why.contains("neither buys from nor works with")),
        "{:?}",
        out[0]
    );
    assert!(
        matches!(&out[1], AckOutcome::Retry(why) if why.contains("neither buys from nor works with")),
        "{:?}",
        out[1]
    );
    // The same two messages to the brand that buys from the supplier are taken (a control:
    // the refusals above come from the missing link, not from the messages).
    let out = deliver_as_member(
        &network,
        &supplier,
        &brand,
        vec![
            sealed(MessageKind::SupplyChainLink, &link_record, &brand),
            sealed(MessageKind::ImprovementActivity, &first, &brand),
        ],
    );
    assert!(
        out.iter()
            .all(|o| matches!(o, AckOutcome::Accepted | AckOutcome::Duplicate)),
        "{out:?}"
    );
    // The agency cannot reach a brand directly either: it is not linked to it.
    let direct = seal(
        &network,
        &keys_of(&agency),
        MessageKind::ImprovementActivity,
        &serde_json::to_vec(&first).expect("json"),
        &[cert_of(&late_brand)],
    );
    let out = deliver_as_member(&network, &agency, &late_brand, vec![direct]);
    assert!(
        matches!(&out[0], AckOutcome::Retry(why) if why.contains("neither buys from nor works with")),
        "{:?}",
        out[0]
    );
    assert!(plan(&late_brand).is_empty());
    // A case the CSO escalates to the agency reaches the brand as the agency's.
    let case = cso.escalate(&agency, "Recruitment fees charged");
    let entry = wait_for("the brand to see the agency's case", SOON, || {
        chain_entry(&brand, &agency.org_id)
            .filter(|e| e["cases"].as_array().is_some_and(|c| c.len() == 1))
    });
    assert_eq!(entry["role"], "agency");
    assert_eq!(entry["recruits_for"], json!([supplier.org_id]));
    assert_eq!(entry["cases"][0]["case_ref"], case.as_str());
    // One organisation asked for: a page of its reports, and how many there are. A query
    // the node cannot answer is refused, saying why.
    let one = brand.get(&format!(
        "/api/supply-chain?supplier={}&per_page=1",
        agency.org_id
    ));
    assert_eq!(one["suppliers"].as_array().map(Vec::len), Some(1));
    assert_eq!(one["suppliers"][0]["cases_total"], 1);
    assert_eq!(one["suppliers"][0]["cases"][0]["case_ref"], case.as_str());
    let outsider = format!("supplier={}", cso.org_id);
    for (query, status, says) in [
        ("per_page=10001", 400, "per_page"),
        ("supplier=nobody", 400, "organisation id"),
        (outsider.as_str(), 404, "not a supplier or agency"),
    ] {
        let (code, body) = brand.get_raw(&format!("/api/supply-chain?{query}"));
        assert!(
            code == status && body.contains(says),
            "{query}: {code} {body}"
        );
    }
    // Not as the supplier's: the supplier's own scorecard counts nothing.
    let cards = brand.get("/api/scorecards")["scorecards"].clone();
    let card = |org: &str| {
        cards
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["supplier"] == org)
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(card(&supplier.org_id)["cases"], 0, "{cards}");
    assert_eq!(card(&agency.org_id)["cases"], 1, "{cards}");
    assert_eq!(card(&agency.org_id)["role"], "agency");
    let (code, csv) = brand.get_raw("/api/scorecards.csv");
    assert_eq!(code, 200);
    assert!(
        csv.lines()
            .any(|l| l.starts_with(agency.org_id.as_str()) && l.ends_with(",agency")),
        "{csv}"
    );
    // The brand's page names the agency and whom it recruits for, and its case list opens
    // the case.
    let page = brand.get_text("/supply-chain");
    assert!(page.contains("data-recruits-for"), "no agency section");
    // A corridor no report names, asked for, is shown selected on both pages, so the form
    // says what narrows them (the positive control: it is not offered unasked).
    assert!(!page.contains("value=\"KH-TH\""), "offered unasked");
    for path in ["/supply-chain?corridor=KH-TH", "/cases?corridor=KH-TH"] {
        let narrowed = brand.get_text(path);
        assert!(
            narrowed.contains("<option value=\"KH-TH\" selected>"),
            "{path}: the corridor asked for is not shown"
        );
    }
    assert!(page.contains(&format!("data-benchmark=\"{}\"", agency.org_id)));
    let list = brand.get("/api/cases");
    assert!(list.to_string().contains(&case), "{list}");
    // A case escalated to the supplier and then to its agency: the brand keeps a report of
    // each, lists the case once naming both, and its dashboard counts it once.
    let both = cso.escalate(&supplier, "Wages withheld");
    cso.escalate_fees_to(&both, &agency);
    wait_for("the brand to hold both parties' reports", SOON, || {
        let has = |org: &str| {
            chain_entry(&brand, org).is_some_and(|e| {
                e["cases"]
                    .as_array()
                    .is_some_and(|c| c.iter().any(|r| r["case_ref"] == both.as_str()))
            })
        };
        (has(&supplier.org_id) && has(&agency.org_id)).then_some(())
    });
    let rows: Vec<Value> = brand.get("/api/cases")["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .filter(|r| r["case_ref"] == both.as_str())
        .cloned()
        .collect();
    assert_eq!(rows.len(), 1, "{rows:?}");
    let names = rows[0]["counterparties"].to_string();
    assert!(
        names.contains(&supplier.org_id) && names.contains(&agency.org_id),
        "{names}"
    );
    // A report kept by an earlier release (under the case and CSO only) is read, and the
    // next report for the same case and supplier replaces it rather than adding a second.
    // The brand also loses the agency link (as a brand that upgraded from a release that
    // did not relay them never had it): the supplier tells it again when it is admitted.
    brand.stop();
    {
        use ilm_node::schema::{LINKS, STATUS_REPORTS, legacy_report_id, open, report_id};
        let store = open(&brand.dir.join("db")).expect("open the brand's db");
        let case_ref: ilm_protocol::CaseRef = both.parse().expect("case ref");
        let (cso_id, supplier_id) = (cert_of(&cso).org_id, cert_of(&supplier).org_id);
        let id = report_id(&case_ref, &cso_id, &supplier_id);
        let r: ilm_node::records::StatusReport = store
            .get(&STATUS_REPORTS, &id)
            .expect("read")
            .expect("the supplier's report");
        let mut batch = ilm_node::store::WriteBatch::new();
        batch.remove(&STATUS_REPORTS, &id);
        batch
            .put(&STATUS_REPORTS, &legacy_report_id(&case_ref, &cso_id), &r)
            .expect("stage");
        let links: Vec<ilm_node::records::StoredLink> = store.scan(&LINKS, &[]).expect("links");
        let agency_links: Vec<_> = links
            .iter()
            .filter(|l| {
                serde_json::from_slice::<SupplyChainLink>(&l.record.body)
                    .is_ok_and(|b| b.downstream == cert_of(&agency).org_id)
            })
            .collect();
        assert_eq!(agency_links.len(), 1);
        for l in agency_links {
            batch.remove(&LINKS, l.id.as_bytes());
        }
        store.commit(batch).expect("commit");
        store.flush().expect("flush");
    }
    brand.start();
    wait_for(
        "the supplier to tell the brand of its agency again",
        SOON,
        || holds_link(&brand, &supplier.org_id, &agency.org_id).then_some(()),
    );
    let reports_of_both = |org: &str| -> Vec<Value> {
        chain_entry(&brand, org)
            .and_then(|e| e["cases"].as_array().cloned())
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r["case_ref"] == both.as_str())
            .collect()
    };
    assert_eq!(
        reports_of_both(&supplier.org_id).len(),
        1,
        "the legacy report is not read"
    );
    supplier.append_event(
        &both,
        json!({ "type": "acknowledgement", "note": "Looking into it" }),
    );
    wait_for(
        "the brand to hold the supplier's acknowledgement",
        SOON,
        || {
            reports_of_both(&supplier.org_id)
                .iter()
                .any(|r| !r["acknowledged_at"].is_null())
                .then_some(())
        },
    );
    assert_eq!(
        reports_of_both(&supplier.org_id).len(),
        1,
        "the legacy report was kept beside the new one"
    );
    // The agency is not counted as a linked supplier.
    let dashboard = brand.get_text("/dashboard");
    assert!(
        dashboard.contains("data-stat=\"linked_suppliers\"><div class=\"value\">1</div>"),
        "the dashboard does not count one linked supplier"
    );
    // An activity the agency records now reaches the brand through the supplier.
    let now_id = agency.post(
        "/api/improvements",
        &json!({ "kind": "training", "title": "Pre-departure training", "planned_for": planned }),
    )["id"]
        .as_str()
        .expect("id")
        .to_string();
    wait_for(
        "the brand to receive the agency's new activity",
        SOON,
        || {
            plan(&brand)
                .iter()
                .any(|(i, _, _)| *i == now_id)
                .then_some(())
        },
    );
    // A brand that links to the supplier later learns of the agency and gets its plan.
    late_brand.link_supplier(&supplier);
    wait_for("the later brand to learn of the agency", SOON, || {
        holds_link(&late_brand, &supplier.org_id, &agency.org_id).then_some(())
    });
    wait_for("the later brand to receive the agency's plan", SOON, || {
        let p = plan(&late_brand);
        (p.iter().any(|(i, _, _)| *i == before_id) && p.iter().any(|(i, _, _)| *i == now_id))
            .then_some(())
    });
    assert!(chain_entry(&late_brand, &agency.org_id).is_some());
    // Each brand gets its own envelope (an envelope names all its recipients, and a brand
    // must not learn who else buys from the supplier): the CSO's report of the agency's
    // acknowledgement, and the supplier's relay of the agency's next activity.
    agency.append_event(&case, json!({ "type": "acknowledgement", "note": "Seen" }));
    let third = agency.post(
        "/api/improvements",
        &json!({ "kind": "training", "title": "Refresher", "planned_for": planned }),
    )["id"]
        .as_str()
        .expect("id")
        .to_string();
    for b in [&brand, &late_brand] {
        wait_for(&format!("{} to receive the activity", b.name), SOON, || {
            plan(b).iter().any(|(i, _, _)| *i == third).then_some(())
        });
    }
    let brands = [brand.org_id.clone(), late_brand.org_id.clone()];
    for (node, kind, case_ref) in [
        (&cso, "status_report", Some(case.as_str())),
        (&supplier, "improvement_activity", None),
    ] {
        let sent = wait_for(
            &format!("{} to send {kind} to both brands", node.name),
            SOON,
            || {
                let entries: Vec<(String, String)> = node.get("/api/outbox")["entries"]
                    .as_array()?
                    .iter()
                    .filter(|e| e["kind"] == kind)
                    .filter(|e| case_ref.is_none_or(|c| e["case_ref"] == c))
                    .filter(|e| brands.iter().any(|b| e["recipient"] == b.as_str()))
                    .map(|e| {
                        (
                            e["message_id"].as_str().unwrap_or_default().to_string(),
                            e["recipient"].as_str().unwrap_or_default().to_string(),
                        )
                    })
                    .collect();
                let to = |b: &str| entries.iter().filter(|(_, r)| r == b).count();
                (to(&brands[0]) > 0 && to(&brands[1]) > 0).then_some(entries)
            },
        );
        let mut ids: Vec<&String> = sent.iter().map(|(m, _)| m).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(
            ids.len(),
            sent.len(),
            "{kind}: an envelope to two brands: {sent:?}"
        );
    }
}
