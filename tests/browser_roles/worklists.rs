//! The case list, the dashboard's overdue counts and `/api/overdue`, checked against the API.

use super::*;

/// The case references the list page shows.
pub(super) fn listed(s: &Session) -> BTreeSet<String> {
    s.find_all("table.list tbody tr[data-case]")
        .iter()
        .filter_map(|tr| s.attribute(tr, "data-case"))
        .collect()
}

/// The case references and total the API gives for a query.
pub(super) fn api_cases(node: &Node, query: &str) -> (BTreeSet<String>, u64) {
    let v = node.get(&format!("/api/cases?{query}"));
    let refs = v["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| c["case_ref"].as_str().expect("ref").to_string())
        .collect();
    (refs, v["total"].as_u64().expect("total"))
}

pub(super) fn shown_total(s: &Session) -> u64 {
    let el = s.find("#case-count");
    s.attribute(&el, "data-total")
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no total on the case list{}", s.context()))
}

/// Submits the case list's filter form.
pub(super) fn filter(s: &Session) {
    let button = s.find("form.filters button[type=submit]");
    s.click_to_load(&button, SOON);
    s.wait_for("#case-count", SOON);
}

/// Search, filters, paging, the dashboard tiles and the CSV export give the rows the API
/// gives for the same query, on the demo's data.
pub(super) fn worklists_match_the_api(s: &mut Session, cso: &Node) {
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
pub(super) fn overdue_by_organisation(s: &mut Session, cso: &Node, overdue_n: u64) {
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
pub(super) fn others_see_what_is_overdue_for_them(demo: &Demo, brand: &Node) {
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
