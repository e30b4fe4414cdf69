//! A brand's scorecards narrowed only by days read each organisation's cells per day
//! escalated (`aggregates::report_days`): what is overdue counts what fell due today before
//! now, not after, and nothing in a closed case; without the cells nothing is counted.

use super::in_dates::shown;
use super::scorecards::scored_brand;
use super::*;
use crate::scorecard::{Comparison, Reading, compare_reading};

/// The filter of the days `from` to `to` after T0 (both in).
fn days(from: u64, to: u64) -> Filter {
    Filter {
        from: crate::clock::fmt_day(T0.plus_days(from)),
        to: crate::clock::fmt_day(T0.plus_days(to)),
        ..Filter::default()
    }
}

/// Reports of days no drawn report was escalated on (those fall in the first sixty days),
/// each owing an acknowledgement by a time of its own: one due today before now, one after
/// it and one at now, one due before today, one of the day before the filter's days, and
/// one of a case closed since by a newer report about the agency. Only the first and the
/// one due before today are overdue in the filter's days, the cells and a read of every
/// report agree, and an hour earlier the first is not yet.
#[test]
fn overdue_of_some_days_counts_what_fell_due_today_before_now_from_the_cells() {
    let b = scored_brand();
    let me = b.brand.org_id();
    let day = |d: u64| T0.plus_days(d);
    let now = day(310).plus_secs(12 * 3_600);
    let made = |n: u8, escalated: Timestamp, due: Timestamp, party: usize| {
        let mut r = b.reports[0].clone();
        r.case_ref = case_ref(160 + n, 0);
        r.cso = b.csos[0].org_id();
        r.supplier = b.parties[party];
        r.status = CaseStatus::Escalated;
        r.stage = PartyStage::Escalated;
        r.escalated_at = escalated;
        r.acknowledge_by = due;
        r.remediate_by = due.plus_days(30);
        r.acknowledged_at = None;
        r.remediated_at = None;
        r.verified_at = None;
        r.reported_at = Timestamp(T0.0 + 900 + u64::from(n));
        r
    };
    let mut closing = made(5, day(300).plus_secs(60), now.plus_secs(600), 1);
    closing.case_ref = case_ref(164, 0);
    closing.status = CaseStatus::Closed;
    closing.reported_at = Timestamp(T0.0 + 999);
    let reports = vec![
        made(0, day(300).plus_secs(10), Timestamp(now.0 - 3_600), 0),
        made(1, day(300).plus_secs(20), now.plus_secs(3_600), 0),
        made(2, day(301).plus_secs(30), day(305), 0),
        made(3, Timestamp(day(300).0 - 1), Timestamp(now.0 - 60), 0),
        made(
            4,
            day(302).plus_secs(86_399 - 40),
            Timestamp(now.0 - 7_200),
            0,
        ),
        made(6, day(301), now, 0),
        closing,
    ];
    deliver(&b.store, &[reports]);
    let filter = Filter {
        from: crate::clock::fmt_day(day(300)),
        to: crate::clock::fmt_day(day(302)),
        ..Filter::default()
    }
    .parse()
    .expect("filter");
    let compare = |now: Timestamp, reading: Reading| -> Comparison {
        compare_reading(&b.store, &b.membership, &me, now, &filter, RECENT, reading)
            .expect("compare")
    };
    for (at, overdue) in [(now, 2), (Timestamp(now.0 - 3_601), 1)] {
        let every = compare(at, Reading::Every);
        for reading in [Reading::Cells, Reading::Cheaper] {
            let counted = compare(at, reading);
            assert_eq!(shown(&counted), shown(&every), "{reading:?} at {at:?}");
            let supplier = &counted.parties[0].1;
            assert_eq!(
                (supplier.cases, supplier.open, supplier.overdue),
                (5, 4, overdue),
                "{reading:?}"
            );
        }
    }
}

/// Without its cells of some days an organisation's scorecard of those days counts nothing,
/// while a read of every report still counts its reports: the figures come from the cells,
/// those of whole months from the months' cells, those of the days at either end from the
/// days' cells.
#[test]
fn scorecards_of_some_days_come_from_the_cells_of_those_days_and_months() {
    let b = scored_brand();
    let now = T0.plus_days(45);
    let compare = |from: u64, to: u64, reading: Reading| {
        b.narrowed(&days(from, to), now, 0, reading)
            .expect("compare")
    };
    // Days 20 to 40 hold no whole month; days 0 to 58 are January and February 2026; days
    // 0 to 40 are January and ten days of February.
    let windows = [(20, 40), (0, 58), (0, 40)];
    let supplier = |c: &Comparison| c.parties[0].1.cases;
    let every: Vec<u64> = windows
        .iter()
        .map(|(f, t)| supplier(&compare(*f, *t, Reading::Every)))
        .collect();
    for ((f, t), n) in windows.iter().zip(&every) {
        let counted = compare(*f, *t, Reading::Cells);
        assert_eq!(shown(&counted), shown(&compare(*f, *t, Reading::Every)));
        assert!(*n > 0, "the control: it has some");
    }
    let remove = |prefix: &str| remove_cells(&b.store, &format!("{prefix}{}.", b.parties[0]));
    let counted = |w: usize, reading| supplier(&compare(windows[w].0, windows[w].1, reading));
    remove(crate::aggregates::report_days::PREFIX);
    assert_eq!(counted(0, Reading::Cells), 0);
    assert_eq!(
        counted(1, Reading::Cells),
        every[1],
        "whole months: their cells"
    );
    let partly = counted(2, Reading::Cells);
    assert!(partly > 0 && partly < every[2], "{partly} of {}", every[2]);
    assert_eq!(
        compare(20, 40, Reading::Cells).parties[1].1.cases,
        compare(20, 40, Reading::Every).parties[1].1.cases,
        "the agency's cells are its own"
    );
    remove(crate::aggregates::report_days::MONTH_PREFIX);
    assert_eq!(counted(1, Reading::Cells), 0);
    for (w, n) in every.iter().enumerate() {
        assert_eq!(counted(w, Reading::Every), *n);
    }
}

/// A report dated far ahead by a sender's wrong clock (in the year 5000, and after 9999,
/// which no month holds) counts in a scorecard of the days from one on, or of its own
/// day, as a read of every report counts it: days are named so that they sort as numbers.
#[test]
fn reports_dated_far_ahead_count_as_every_report_read_counts_them() {
    let b = scored_brand();
    let me = b.brand.org_id();
    let far = |n: u8, at: u64| {
        let mut r = b.reports[0].clone();
        r.case_ref = case_ref(170 + n, 0);
        r.cso = b.csos[0].org_id();
        r.supplier = b.parties[0];
        r.escalated_at = Timestamp(at);
        r.acknowledge_by = Timestamp(at + 86_400);
        r.remediate_by = Timestamp(at + 2 * 86_400);
        r.reported_at = Timestamp(T0.0 + 950 + u64::from(n));
        r
    };
    // 5000-03-01 and about 11476.
    let (y5000, later) = (95_622_681_600 + 3_600, 300_000_000_000);
    deliver(&b.store, &[vec![far(0, y5000), far(1, later)]]);
    let now = T0.plus_days(45);
    let compare = |from: &str, to: &str, reading: Reading| {
        let filter = Filter {
            from: from.into(),
            to: to.into(),
            ..Filter::default()
        }
        .parse()
        .expect("filter");
        compare_reading(&b.store, &b.membership, &me, now, &filter, RECENT, reading)
            .expect("compare")
    };
    let day0 = crate::clock::fmt_day(T0);
    let windows = [
        (day0.as_str(), ""),
        ("", day0.as_str()),
        ("5000-03-01", "5000-03-01"),
        ("5000-01-01", ""),
        ("2272-01-01", "4999-12-31"),
        ("4708-01-01", "9999-12-31"),
    ];
    let mut found = Vec::new();
    for (from, to) in windows {
        let every = compare(from, to, Reading::Every);
        assert_eq!(
            shown(&compare(from, to, Reading::Cells)),
            shown(&every),
            "{from} {to}"
        );
        found.push(every.parties[0].1.cases);
    }
    // The controls: the far reports are in the windows that hold them, and only those.
    let held = found[0];
    assert!(held > 2);
    assert_eq!(&found[2..], &[1, 2, 0, 1]);
}

/// Today's due entries are read only when the cells say some report that passes falls due
/// today: with the one case due today (escalated before the window) made unreadable, a
/// window without it is counted, and one with it reports the damage (the read is real).
#[test]
fn todays_due_entries_are_read_only_when_a_report_that_passes_falls_due_today() {
    let b = scored_brand();
    let now = T0.plus_days(300).plus_secs(12 * 3_600);
    let mut r = b.reports[0].clone();
    r.case_ref = case_ref(175, 0);
    r.cso = b.csos[0].org_id();
    r.status = CaseStatus::Escalated;
    r.stage = PartyStage::Escalated;
    r.escalated_at = T0.plus_days(200);
    r.acknowledge_by = Timestamp(now.0 - 600);
    r.remediate_by = now.plus_days(30);
    r.reported_at = Timestamp(T0.0 + 990);
    deliver(&b.store, &[vec![r.clone()]]);
    let compare = |from: u64, to: u64| b.narrowed(&days(from, to), now, 0, Reading::Cells);
    let before = compare(190, 210).expect("readable");
    assert_eq!(before.parties[0].1.overdue, 1);
    assert!(compare(20, 40).is_ok());
    // The report's bytes replaced by ones that do not read as a report.
    let damaged: crate::store::Table<u8> = crate::store::Table::new(b's', "status reports");
    let id = schema::report_id(&r.case_ref, &r.cso, &r.supplier);
    let mut batch = WriteBatch::new();
    batch.put(&damaged, &id, &1).expect("put");
    b.store.commit(batch).expect("commit");
    assert!(
        compare(20, 40).is_ok(),
        "no report of these days is due today"
    );
    assert!(compare(190, 210).is_err(), "the control: its case is read");
}
