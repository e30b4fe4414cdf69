//! A brand's scorecards narrowed by some days and one category, sector or corridor read each
//! organisation's cells of the facet per day and per month escalated
//! (`aggregates::report_facets`, counted as `aggregates::report_days` counts) and its list
//! of the facet between the days, and equal those counted from every report.

use super::facets::{deliver_due_on_one_day, every_facet};
use super::in_dates::shown;
use super::scorecards::scored_brand;
use super::*;
use crate::aggregates::report_facets::{self, Facet};
use crate::scorecard::{Comparison, Reading};

/// The filter of the days `from` to `to` after T0 (both in), either left open when None.
fn days(from: Option<u64>, to: Option<u64>) -> Filter {
    let day = |d: Option<u64>| d.map(|d| crate::clock::fmt_day(T0.plus_days(d)));
    Filter {
        from: day(from).unwrap_or_default(),
        to: day(to).unwrap_or_default(),
        ..Filter::default()
    }
}

/// Every category, sector and corridor, each with days of no whole month, of whole months,
/// of both, around reports falling due on one day, or left open at either end, at times
/// before, while and after some of them fall due: the cells give the comparison a read of
/// every report gives, overdue counts and newest cases included.
#[test]
fn scorecards_of_some_days_and_one_facet_equal_every_reports() {
    let b = scored_brand();
    let due_day = deliver_due_on_one_day(&b);
    let windows = [
        days(Some(20), Some(40)),
        days(Some(0), Some(58)),
        days(Some(0), Some(40)),
        days(Some(245), Some(255)),
        days(Some(10), None),
        days(None, Some(40)),
    ];
    let times = [
        T0.plus_days(45),
        due_day.plus_secs(2 * 3_600),
        due_day.plus_secs(4 * 3_600),
    ];
    let (mut compared, mut some) = (0, 0);
    for window in &windows {
        for filter in every_facet(window) {
            for now in times {
                let every = b.narrowed(&filter, now, RECENT, Reading::Every);
                let every = every.expect("compare");
                for reading in [Reading::Cells, Reading::Cheaper] {
                    let counted = b.narrowed(&filter, now, RECENT, reading);
                    assert_eq!(
                        shown(&counted.expect("compare")),
                        shown(&every),
                        "{filter:?} at {now:?}, {reading:?}"
                    );
                }
                compared += 1;
                some += usize::from(every.overall.cases > 0);
            }
        }
    }
    assert!(some > 60 && some < compared, "{some} of {compared}");
    // The controls: in days around its escalation, at two hours into the day one of the
    // supplier's reports of the category is overdue (the other is due later that day), at
    // four hours both.
    let of_own = Filter {
        category: IssueCategory::ALL[9].code().into(),
        ..windows[3].clone()
    };
    let late = |h: u64| {
        b.narrowed(
            &of_own,
            due_day.plus_secs(h * 3_600),
            RECENT,
            Reading::Cells,
        )
        .expect("compare")
    };
    let own_overdue = |c: &Comparison| c.parties[0].1.overdue;
    assert_eq!(
        [0, 2, 4].map(|h| own_overdue(&late(h))),
        [0, 1, 2],
        "the supplier's two reports of its own category"
    );
}

/// Without its cells of a facet per month and per day an organisation's scorecard of some
/// days and that facet counts nothing, while a read of every report still counts its
/// reports: the figures come from its cells of the facet of the whole months among the
/// days and of the days at either end; its newest cases from its list of the facet between
/// the days.
#[test]
fn scorecards_of_some_days_and_one_facet_come_from_its_cells_of_those_days() {
    let b = scored_brand();
    let now = T0.plus_days(45);
    let seafood = |window: Filter| Filter {
        sector: "seafood".into(),
        ..window
    };
    // Days 20 to 40 hold no whole month; days 0 to 58 are January and February 2026; days
    // 0 to 40 are January and ten days of February.
    let windows = [
        seafood(days(Some(20), Some(40))),
        seafood(days(Some(0), Some(58))),
        seafood(days(Some(0), Some(40))),
    ];
    let compare = |w: usize, reading: Reading| {
        b.narrowed(&windows[w], now, RECENT, reading)
            .expect("compare")
    };
    let supplier = |c: &Comparison| c.parties[0].1.cases;
    let every: Vec<u64> = (0..windows.len())
        .map(|w| supplier(&compare(w, Reading::Every)))
        .collect();
    for (w, n) in every.iter().enumerate() {
        assert_eq!(
            shown(&compare(w, Reading::Cells)),
            shown(&compare(w, Reading::Every))
        );
        assert!(*n > 0, "the control: it has some");
        let recent = &compare(w, Reading::Cells).recent[0];
        assert!(!recent.is_empty());
        assert!(
            recent
                .iter()
                .all(|r| r.sector.as_deref() == Some("seafood"))
        );
    }

    // The supplier's newest-first list emptied: its figures and newest cases stay (neither
    // is read from it); its list of the sector emptied, its newest cases go.
    empty_list(&b.store, &newest_list(&b.parties[0]));
    assert_eq!(
        shown(&compare(2, Reading::Cells)),
        shown(&compare(2, Reading::Every))
    );
    empty_list(
        &b.store,
        &report_facets::list(&b.parties[0], &Facet::Sector("seafood".into())),
    );
    let listless = compare(2, Reading::Cells);
    assert!(listless.recent[0].is_empty());
    assert_eq!(supplier(&listless), every[2]);

    let remove = |prefix: &str| {
        remove_cells(
            &b.store,
            &format!("{prefix}{}.sector:seafood.", b.parties[0]),
        )
    };
    let counted = |w: usize| supplier(&compare(w, Reading::Cells));
    remove(report_facets::DAY_PREFIX);
    assert_eq!(counted(0), 0);
    assert_eq!(counted(1), every[1], "whole months: their cells");
    let partly = counted(2);
    assert!(partly > 0 && partly < every[2], "{partly} of {}", every[2]);
    assert_eq!(
        compare(0, Reading::Cells).parties[1].1.cases,
        compare(0, Reading::Every).parties[1].1.cases,
        "the agency's cells are its own"
    );
    remove(report_facets::MONTH_PREFIX);
    assert_eq!(counted(1), 0);
    for (w, n) in every.iter().enumerate() {
        assert_eq!(supplier(&compare(w, Reading::Every)), *n);
    }
}
