//! A brand's scorecards narrowed only by days read each organisation's cells per day
//! escalated (`aggregates::report_days`): what is overdue counts what fell due today before
//! now, not after, and nothing in a closed case; without the cells nothing is counted.

use super::in_dates::shown;
use super::scorecards::scored_brand;
use super::*;
use crate::scorecard::{Comparison, Reading, compare_reading};

/// Reports of days no drawn report was escalated on (those fall in the first sixty days),
/// each owing an acknowledgement by a time of its own: one due today before now and one
/// after it, one due before today, one of the day before the filter's days, and one of a
/// case closed since by a newer report about the agency. Only the first and the third are
/// overdue in the filter's days, the cells and a read of every report agree, and an hour
/// earlier the first is not yet.
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
        for reading in [Reading::Days, Reading::Cheaper] {
            let counted = compare(at, reading);
            assert_eq!(shown(&counted), shown(&every), "{reading:?} at {at:?}");
            let supplier = &counted.parties[0].1;
            assert_eq!(
                (supplier.cases, supplier.open, supplier.overdue),
                (4, 3, overdue),
                "{reading:?}"
            );
        }
    }
}

/// Without its cells of some days an organisation's scorecard of those days counts nothing,
/// while a read of every report still counts its reports: the figures come from the cells.
#[test]
fn scorecards_of_some_days_come_from_the_cells_of_those_days() {
    let b = scored_brand();
    let me = b.brand.org_id();
    let filter = Filter {
        from: crate::clock::fmt_day(T0.plus_days(20)),
        to: crate::clock::fmt_day(T0.plus_days(40)),
        ..Filter::default()
    }
    .parse()
    .expect("filter");
    let now = T0.plus_days(45);
    let compare = |reading: Reading| {
        compare_reading(&b.store, &b.membership, &me, now, &filter, 0, reading).expect("compare")
    };
    let before = compare(Reading::Days);
    assert_eq!(shown(&before), shown(&compare(Reading::Every)));
    assert!(before.parties[0].1.cases > 0, "the control: it has some");
    let mine = format!(
        "{}{}.",
        crate::aggregates::report_days::PREFIX,
        b.parties[0]
    );
    let cells = crate::aggregates::with_prefix(&b.store, &mine).expect("cells");
    assert!(!cells.is_empty());
    let mut batch = WriteBatch::new();
    for name in cells.keys() {
        batch.remove(&schema::AGGREGATES, format!("{mine}{name}").as_bytes());
    }
    b.store.commit(batch).expect("commit");
    let after = compare(Reading::Days);
    assert_eq!(after.parties[0].1.cases, 0);
    assert_eq!(after.parties[1].1.cases, before.parties[1].1.cases);
    assert_eq!(
        compare(Reading::Every).parties[0].1.cases,
        before.parties[0].1.cases
    );
}
