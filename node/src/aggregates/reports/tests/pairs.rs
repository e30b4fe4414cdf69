//! A brand's scorecards narrowed by two or three of a category, a sector and a corridor
//! read each organisation's cells of them together (`aggregates::report_pairs`), and equal
//! those counted from every report.

use super::facets::{deliver_due_on_one_day, equal_every_reports, overdue_during_the_day};
use super::in_dates::shown;
use super::scorecards::scored_brand;
use super::*;
use crate::aggregates::report_pairs;
use crate::scorecard::{Comparison, Reading};

/// Every two or three of the categories, some sectors and corridors (those the reports
/// have, and some they do not).
fn every_set() -> Vec<Filter> {
    let mut categories: Vec<&str> = IssueCategory::ALL.iter().map(|c| c.code()).collect();
    categories.push("");
    let mut out = Vec::new();
    for category in categories {
        for sector in ["", "seafood", "garment", "construction", "hospitality"] {
            for corridor in ["", "MM-TH", "KH-TH", "LA-TH"] {
                let named = [category, sector, corridor];
                if named.iter().filter(|n| !n.is_empty()).count() >= 2 {
                    out.push(Filter {
                        category: category.into(),
                        sector: sector.into(),
                        corridor: corridor.into(),
                        ..Filter::default()
                    });
                }
            }
        }
    }
    out
}

/// Every two or three facets together, at several times, one of them a time some reports
/// fall due on before and after it: the cells give the comparison a read of every report
/// gives, overdue counts and newest cases included (a report giving a category twice
/// counted once; of two CSOs' reports in one case escalated at once, only the one that has
/// the facets shown).
#[test]
fn scorecards_of_two_or_three_facets_equal_every_reports() {
    let b = scored_brand();
    let due_day = deliver_due_on_one_day(&b);
    let (compared, some) = equal_every_reports(&b, due_day, &every_set());
    assert!(some > 100 && some < compared, "{some} of {compared}");
    // The controls: at two hours into the day one of the supplier's reports of the category,
    // sector and corridor is overdue (the other is due later that day), at four hours both.
    overdue_during_the_day(
        &b,
        due_day,
        &Filter {
            category: IssueCategory::ALL[9].code().into(),
            sector: "construction".into(),
            corridor: "KH-TH".into(),
            ..Filter::default()
        },
    );
}

/// Without its cells of a sector and a corridor together (or of a category, sector and
/// corridor) an organisation's scorecard narrowed by them counts nothing, while a read of
/// every report still finds its reports, and its newest cases still come from its list of
/// one of them: the figures come from what is kept per set of facets, not from its reports.
#[test]
fn scorecards_of_two_or_three_facets_come_from_their_cells_together() {
    let b = scored_brand();
    let now = T0.plus_days(45);
    // One of the supplier's reports names all three.
    let r = b
        .reports
        .iter()
        .find(|r| r.supplier == b.parties[0] && r.sector.is_some() && r.corridor.is_some())
        .expect("a report with a sector and a corridor");
    let (sector, (origin, work)) = (
        r.sector.clone().expect("sector"),
        r.corridor.clone().expect("corridor"),
    );
    let corridor = format!("{}-{}", origin.as_str(), work.as_str());
    let category = r.categories.first().expect("a category").code();
    let sets = [
        (
            String::new(),
            format!("sector:{sector}+corridor:{corridor}"),
        ),
        (
            category.to_string(),
            format!("category:{category}+sector:{sector}+corridor:{corridor}"),
        ),
    ];
    for (category, name) in sets {
        let filter = Filter {
            category,
            sector: sector.clone(),
            corridor: corridor.clone(),
            ..Filter::default()
        };
        let compare =
            |reading: Reading| b.narrowed(&filter, now, RECENT, reading).expect("compare");
        let every = compare(Reading::Every);
        assert!(every.parties[0].1.cases > 0, "the control: it has some");
        assert_eq!(shown(&compare(Reading::Cells)), shown(&every));
        remove_cells(
            &b.store,
            &format!("{}{}.{name}.", report_pairs::PREFIX, b.parties[0]),
        );
        let cells = compare(Reading::Cells);
        assert_eq!(cells.parties[0].1.cases, 0, "{name}");
        // Its newest cases are walked only as far as its cells count: none.
        assert!(!every.recent[0].is_empty() && cells.recent[0].is_empty());
        assert_eq!(cells.parties[1].1.cases, every.parties[1].1.cases);
        assert_eq!(
            compare(Reading::Every).parties[0].1.cases,
            every.parties[0].1.cases
        );
    }
}

/// An organisation's newest cases of two facets come from its lists of them: with the list
/// of either emptied (the one walked, or the other, which each entry is checked against),
/// its scorecard stays and its newest cases go, while a read of every report still finds
/// them.
#[test]
fn newest_cases_of_two_facets_come_from_both_lists() {
    use crate::aggregates::report_facets::{self, Facet};
    let now = T0.plus_days(45);
    let both = Filter {
        sector: "seafood".into(),
        corridor: "MM-TH".into(),
        ..Filter::default()
    };
    let facets = [
        Facet::Sector("seafood".into()),
        Facet::Corridor("MM".parse().expect("c"), "TH".parse().expect("c")),
    ];
    for emptied in &facets {
        let b = scored_brand();
        let compare = |reading: Reading| b.narrowed(&both, now, RECENT, reading).expect("compare");
        let every = compare(Reading::Every);
        assert!(!every.recent[0].is_empty(), "the control: it has some");
        assert_eq!(shown(&compare(Reading::Cells)), shown(&every));
        empty_list(&b.store, &report_facets::list(&b.parties[0], emptied));
        let cells = compare(Reading::Cells);
        assert!(cells.recent[0].is_empty(), "{emptied:?}");
        let card = |c: &Comparison| serde_json::to_string(&c.parties[0].1).expect("json");
        assert_eq!(card(&cells), card(&every));
        assert_eq!(shown(&compare(Reading::Every)), shown(&every));
    }
}

/// The newest cases of two facets found past the first entries of both lists: with three
/// hundred newer reports of the supplier's on each list without the other's facet, the
/// walk reads its list a chunk at a time and finds the same newest cases as a read of every
/// report, and the scorecard the same figures.
#[test]
fn newest_cases_of_two_facets_are_found_far_down_both_lists() {
    let b = scored_brand();
    let now = T0.plus_days(45);
    let both = Filter {
        sector: "seafood".into(),
        corridor: "MM-TH".into(),
        ..Filter::default()
    };
    let before = b
        .narrowed(&both, now, RECENT, Reading::Every)
        .expect("every");
    assert!(!before.recent[0].is_empty(), "the control: it has some");
    let newer = |n: u16, sector: &str, origin: &str| {
        let mut r = b.reports[0].clone();
        r.case_ref = CaseRef(
            [[200, (n >> 8) as u8], [n as u8; 2]].concat().repeat(4)[..16]
                .try_into()
                .expect("16 bytes"),
        );
        r.supplier = b.parties[0];
        r.sector = Some(sector.into());
        r.corridor = Some((origin.parse().expect("c"), "TH".parse().expect("c")));
        r.escalated_at = T0.plus_days(40).plus_secs(u64::from(n));
        r
    };
    let mut added = Vec::new();
    for n in 0..300 {
        added.push(newer(n, "seafood", "KH"));
        added.push(newer(300 + n, "garment", "MM"));
    }
    deliver(
        &b.store,
        &added.chunks(50).map(<[_]>::to_vec).collect::<Vec<_>>(),
    );
    let every = b
        .narrowed(&both, now, RECENT, Reading::Every)
        .expect("every");
    // The added reports have one of the facets each: the same cases pass.
    let newest = |c: &Comparison| -> Vec<Vec<CaseRef>> {
        c.recent
            .iter()
            .map(|r| r.iter().map(|r| r.case_ref).collect())
            .collect()
    };
    assert_eq!(newest(&every), newest(&before));
    assert_eq!(every.overall.cases, before.overall.cases);
    assert_eq!(
        shown(
            &b.narrowed(&both, now, RECENT, Reading::Cells)
                .expect("cells")
        ),
        shown(&every)
    );
}
