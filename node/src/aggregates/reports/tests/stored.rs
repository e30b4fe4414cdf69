//! What a brand counts and lists comes from the cells and list entries kept with each
//! report: a report stored without them is neither counted nor listed, and an entry two
//! reports share stays while either holds it.

use super::*;

/// A report stored without its cells and list entries is neither counted nor listed: the
/// figures come from the cells, not from a read of the reports (which does count it).
#[test]
fn a_report_stored_without_its_cells_is_not_counted() {
    let (_dir, store) = open_store();
    let d = |case: u8, stage: usize| Drawn {
        case,
        cso: 0,
        party: 0,
        status: 0,
        stage,
        categories: 1,
        escalated_hours: u32::from(case) * 10,
        acknowledged: None,
        remediated: None,
        verified: false,
        corridor: true,
    };
    deliver(&store, &[vec![report(&d(1, 0), 1), report(&d(2, 3), 2)]]);
    let stray = report(&d(3, 0), 3);
    let mut batch = WriteBatch::new();
    let id = schema::report_id(&stray.case_ref, &stray.cso, &stray.supplier);
    batch
        .put(&schema::STATUS_REPORTS, &id, &stray)
        .expect("put");
    store.commit(batch).expect("commit");
    let party = org(3);
    let now = T0.plus_days(60);
    let reports = all_reports(&store);
    // The control: a read of every report counts three, two of them overdue.
    let scanned = ReportFigures::of_reports(&reports);
    assert_eq!((scanned.cases, scanned.open), (3, 3));
    let f = figures(&store, &party).expect("figures");
    assert_eq!((f.cases, f.open), (2, 2));
    assert_eq!(overdue(&store, &party, now).expect("overdue"), 2);
    let newest: Vec<CaseRef> = newest_page(&store, &party, 0, 10)
        .expect("newest")
        .into_iter()
        .map(|(_, case)| case)
        .collect();
    assert_eq!(newest, [case_ref(2, 0), case_ref(1, 0)]);
    assert_eq!(summaries(&reports).len(), 3, "the control: three cases");
    assert_eq!(case_totals(&store, None).expect("totals"), (2, 2));
    assert_eq!(cases_overdue(&store, now).expect("overdue"), 2);
    assert_eq!(
        cases_page(&store, None, true, 0, 10).expect("page"),
        [case_ref(2, 0), case_ref(1, 0)]
    );
}

/// Two CSOs' reports about one party of one case may share an entry of its lists (the same
/// escalation, the same date owed): when one of them moves on, the entry stays for the
/// other, which still owes.
#[test]
fn a_list_entry_two_reports_share_stays_while_either_holds_it() {
    let (_dir, store) = open_store();
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let d = drawn().new_tree(&mut runner).expect("draw").current();
    let both = |cso: u8| {
        let mut r = report(&d, 1);
        r.case_ref = case_ref(7, 0);
        r.cso = org(cso);
        r.supplier = org(3);
        r.status = CaseStatus::Escalated;
        r.stage = PartyStage::Escalated;
        r
    };
    let (a, b) = (both(1), both(2));
    deliver(&store, &[vec![a.clone(), b]]);
    let due = due_list(&org(3));
    assert_eq!(
        LISTS.count(&store, &due).expect("count"),
        1,
        "one shared entry"
    );
    assert_eq!(lists_held(&store), Some(lists_of(&all_reports(&store))));
    // One CSO hears it resolved; the other's report still owes the acknowledgement.
    let mut moved = a;
    moved.stage = PartyStage::Resolved;
    moved.status = CaseStatus::Resolved;
    moved.acknowledged_at = Some(moved.escalated_at.plus_days(1));
    moved.reported_at = Timestamp(moved.reported_at.0 + 60);
    deliver(&store, &[vec![moved]]);
    assert_eq!(
        LISTS.count(&store, &due).expect("count"),
        1,
        "the other still owes"
    );
    assert_eq!(lists_held(&store), Some(lists_of(&all_reports(&store))));
}
