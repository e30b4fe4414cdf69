//! A supplier's improvement plan and a brand's analysis of its supply chain.

use super::*;

/// A supplier records an improvement activity and completes it in the UI; its brand sees it
/// marked on the supplier's trend chart, narrows the picture by issue category (the
/// benchmark, the scorecards and their CSV follow), and opens the cases a figure counts.
pub(super) fn supplier_plan_and_brand_analysis(
    sup: &mut Session,
    brand: &mut Session,
    supplier: &Node,
) {
    let title = "Line supervisors trained on Employer Pays";
    let day = format!(
        "{}-01",
        ilm_protocol::Month::of(support::wire::now())
            .previous()
            .expect("last month")
    );
    sup.open("/improvements");
    sup.wait_for("#activity-form", SOON);
    sup.fill("#activity-form", "kind", "training");
    sup.fill("#activity-form", "title", title);
    sup.fill(
        "#activity-form",
        "description",
        "Every line supervisor, two days",
    );
    sup.execute(
        "document.querySelector('#a-planned').value = arguments[0];",
        vec![serde_json::json!(day)],
    );
    sup.click(&sup.find("#activity-form button[type=submit]"));
    sup.wait_displayed(ui::CONFIRM_DIALOG, SOON);
    let summary = sup.text(&sup.find(ui::CONFIRM_SUMMARY));
    assert!(summary.contains(title), "{summary}");
    sup.click_to_load(&sup.find(ui::CONFIRM_YES), SOON);
    let row = sup.reload_until("/improvements", "the new activity", |b| {
        b.find_all("#plan tr[data-activity]")
            .into_iter()
            .find(|r| b.text(r).contains(title))
    });
    let id = sup.attribute(&row, "data-activity").expect("id");
    // The supplier corrects the title before it is done: the same activity, a new version.
    let first_title = title;
    let title = "Line supervisors and recruiters trained on Employer Pays";
    let edit = format!("tr[data-activity=\"{id}\"] form.edit-form");
    sup.click(&sup.find(&format!(
        "tr[data-activity=\"{id}\"] details.edit-activity summary"
    )));
    sup.execute(
        &format!("document.querySelector('{edit} input[name=title]').value = arguments[0];"),
        vec![serde_json::json!(title)],
    );
    sup.click(&sup.find(&format!("{edit} button[type=submit]")));
    sup.confirm_dialog();
    sup.reload_until("/improvements", "the activity changed", |b| {
        b.try_find(&format!("tr[data-activity=\"{id}\"]"))
            .filter(|r| b.text(r).contains(title))
    });
    assert_eq!(
        sup.find_all("#plan tr[data-activity]")
            .iter()
            .filter(|r| sup.text(r).contains(first_title))
            .count(),
        0,
        "the change replaced the activity, it did not add one"
    );
    // Completed on the day it was planned.
    let form = format!("tr[data-activity=\"{id}\"] form.complete-form");
    sup.execute(
        &format!("document.querySelector('{form} input[name=completed_at]').value = arguments[0];"),
        vec![serde_json::json!(day)],
    );
    sup.click(&sup.find(&format!("{form} button[type=submit]")));
    sup.confirm_dialog();
    sup.reload_until("/improvements", "the activity completed", |b| {
        b.try_find(&format!("tr[data-activity=\"{id}\"]"))
            .filter(|_| b.try_find(&form).is_none())
    });
    sup.shot("supplier-improvement-plan");

    // The brand: the activity is a marker on the supplier's chart and a line of its plan.
    let section = format!("section[data-supplier=\"{}\"]", supplier.org_id);
    brand.reload_until("/supply-chain", "the plan at the brand", |b| {
        b.try_find(&format!("{section} li[data-activity=\"{id}\"]"))
    });
    let marker = brand.find(&format!("{section} svg.chart g.marker title"));
    assert!(
        brand
            .find_all(&format!("{section} svg.chart g.marker title"))
            .iter()
            .any(|t| brand
                .property(t, "textContent")
                .is_some_and(|x| x.contains(title))),
        "no marker for the activity: {:?}",
        brand.property(&marker, "textContent")
    );
    let all_cases: u64 = brand
        .text(&brand.find("tr[data-benchmark=all] [data-stat=cases]"))
        .trim()
        .parse()
        .expect("count");
    brand.shot("brand-supply-chain-plan");
    // The dashboard compares the suppliers with the same figures.
    brand.open("/dashboard");
    let on_dashboard: u64 = brand
        .text(&brand.find("#benchmark tr[data-benchmark=all] [data-stat=cases]"))
        .trim()
        .parse()
        .expect("count");
    assert_eq!(
        on_dashboard, all_cases,
        "dashboard and supply chain disagree"
    );
    brand.open("/supply-chain");
    // Narrowed to one category: the benchmark, every scorecard and the CSV follow.
    brand.fill("#supply-filter", "category", "withholding_of_wages");
    brand.click_to_load(&brand.find("#supply-filter button[type=submit]"), SOON);
    brand.wait_until("the filtered page", SOON, |b| {
        b.current_url()
            .contains("category=withholding_of_wages")
            .then_some(())
    });
    let narrowed: u64 = brand
        .text(&brand.find("tr[data-benchmark=all] [data-stat=cases]"))
        .trim()
        .parse()
        .expect("count");
    assert!(
        0 < narrowed && narrowed <= all_cases,
        "{narrowed} of {all_cases}: the demo has wage cases"
    );
    // Each section lists its newest cases that pass (at most 20) and counts them all; the
    // suppliers' counts add up to the benchmark's (agencies are not in it).
    let mut counted = 0;
    for section in brand.find_all("section[data-supplier]") {
        let supplier = brand
            .attribute(&section, "data-supplier")
            .expect("supplier");
        let at = format!("section[data-supplier=\"{supplier}\"]");
        let rows = brand.find_all(&format!("{at} table.list.cards tbody tr[data-case]"));
        for row in &rows {
            assert!(
                brand
                    .try_find_in(row, ".tag[data-code=withholding_of_wages]")
                    .is_some(),
                "a case without the category filtered for"
            );
        }
        let cases: u64 = brand
            .text(&brand.find(&format!("{at} p[data-stat=cases] [data-count]")))
            .trim()
            .parse()
            .expect("count");
        assert_eq!(rows.len() as u64, cases.min(20), "{supplier}");
        if brand
            .try_find(&format!("{at} [data-recruits-for]"))
            .is_none()
        {
            counted += cases;
        }
    }
    assert_eq!(
        counted, narrowed,
        "the benchmark counts what the sections count"
    );
    let link = brand.find("a.download");
    let href = brand.attribute(&link, "href").expect("href");
    assert!(href.contains("category=withholding_of_wages"), "{href}");
    let (code, csv) = brand.http_get(&href);
    assert_eq!(code, 200);
    let csv = String::from_utf8(csv).expect("utf8");
    let column = csv
        .lines()
        .next()
        .and_then(|h| h.split(',').position(|c| c == "cases"))
        .expect("a cases column");
    let csv_cases: u64 = csv
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').nth(column)?.parse::<u64>().ok())
        .sum();
    assert_eq!(csv_cases, narrowed, "{csv}");
    brand.shot("brand-supply-chain-filtered");
    // Under the filter, a section's count opens the case list narrowed the same way (by the
    // dates and categories of that organisation's own report), and it lists that many.
    let all = brand.find(&format!("{section} p[data-stat=cases] a[data-count]"));
    let expected: usize = brand.text(&all).trim().parse().expect("count");
    brand.click_to_load(&all, SOON);
    brand.wait_until("the supplier's cases of one category", SOON, |b| {
        let url = b.current_url();
        (url_path(&url).starts_with("/cases") && url.contains("category=withholding_of_wages"))
            .then_some(())
    });
    let total: usize = brand
        .attribute(&brand.find("#case-count"), "data-total")
        .and_then(|t| t.parse().ok())
        .expect("total");
    assert_eq!(total, expected, "the narrowed count and its case list");
    // Drill-down: a scorecard's open cases open the case list of that supplier.
    brand.open("/supply-chain");
    let open = brand.find(&format!("{section} [data-stat=open] a"));
    let expected: usize = brand.text(&open).trim().parse().expect("count");
    brand.click_to_load(&open, SOON);
    brand.wait_until("the supplier's cases", SOON, |b| {
        url_path(&b.current_url())
            .starts_with("/cases")
            .then_some(())
    });
    let total: usize = brand
        .attribute(&brand.find("#case-count"), "data-total")
        .and_then(|t| t.parse().ok())
        .expect("total");
    assert_eq!(
        total, expected,
        "the drill-down lists what the scorecard counts"
    );
    // All its cases, closed too, open the same way.
    brand.open("/supply-chain");
    let all = brand.find(&format!("{section} p[data-stat=cases] a[data-count]"));
    let expected: usize = brand.text(&all).trim().parse().expect("count");
    brand.click_to_load(&all, SOON);
    brand.wait_until("all the supplier's cases", SOON, |b| {
        b.current_url().contains("closed=true").then_some(())
    });
    let total: usize = brand
        .attribute(&brand.find("#case-count"), "data-total")
        .and_then(|t| t.parse().ok())
        .expect("total");
    assert_eq!(total, expected, "the section's count and its case list");
    // Narrowed to a sector, the open count opens the case list narrowed the same way, and its
    // form shows the sector (the list used to ignore it and list every open case).
    brand.open("/supply-chain");
    let unfiltered: usize = brand
        .text(&brand.find(&format!("{section} [data-stat=open] a")))
        .trim()
        .parse()
        .expect("count");
    let mut narrowed = None;
    for sector in ilm_node::intake::SECTORS {
        brand.open(&format!("/supply-chain?sector={sector}"));
        let open = brand.find(&format!("{section} [data-stat=open] a"));
        let expected: usize = brand.text(&open).trim().parse().expect("count");
        if expected == 0 || expected == unfiltered {
            continue;
        }
        brand.click_to_load(&open, SOON);
        brand.wait_until("the supplier's cases of one sector", SOON, |b| {
            b.current_url()
                .contains(&format!("sector={sector}"))
                .then_some(())
        });
        let total: usize = brand
            .attribute(&brand.find("#case-count"), "data-total")
            .and_then(|t| t.parse().ok())
            .expect("total");
        assert_eq!(total, expected, "the drill-down under {sector}");
        let shown = brand.attribute(&brand.find("#sector option[selected]"), "value");
        assert_eq!(shown.as_deref(), Some(*sector), "the form shows the sector");
        narrowed = Some(sector);
        break;
    }
    assert!(
        narrowed.is_some(),
        "the demo supplier has open cases in more than one sector ({unfiltered} open)"
    );
}
