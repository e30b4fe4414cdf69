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

/// An agency's cases and plan reach the brands of the suppliers it recruits for.
#[path = "analytics/agency.rs"]
mod agency;
/// A supplier's improvement plan reaches its brand and its CSO, and no one else.
#[path = "analytics/plans.rs"]
mod plans;

use plans::{cso_base, plan};

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
