//! A case its newest report closes owes nothing, though a party's own last report (one the CSO
//! no longer sends: the party left the network, or the brand stopped buying from it) still
//! says it owes something past its date: the dashboard's overdue count, the case list's
//! overdue filter and its rows, `/api/overdue`, each party's count and the case view agree
//! (the page itself: `ui::case_pages`' test).

use super::searches::{brand_knowing, label};
use super::*;
use crate::api::overdue::from_reports;
use crate::worklist::CaseQuery;

/// Two cases reported about the supplier, owing its acknowledgement since day 8: the second
/// one's newest report, about the agency, closes it.
fn one_closed(parties: [OrgId; 2], csos: [OrgId; 2]) -> Vec<Vec<StatusReport>> {
    let d = drawn().new_tree(&mut proptest::test_runner::TestRunner::deterministic());
    let d = d.expect("draw").current();
    let about = |case: u8, party: OrgId, status: CaseStatus, reported: u64| {
        let mut r = report_about(&d, reported, parties, csos);
        r.case_ref = case_ref(case, 0);
        r.cso = csos[0];
        r.supplier = party;
        r.status = status;
        r.stage = PartyStage::Escalated;
        r.escalated_at = T0;
        r.acknowledge_by = T0.plus_days(7);
        r.remediate_by = T0.plus_days(30);
        r
    };
    vec![vec![
        about(1, parties[0], CaseStatus::Escalated, 10),
        about(2, parties[0], CaseStatus::Escalated, 10),
        about(2, parties[1], CaseStatus::Closed, 20),
    ]]
}

#[test]
fn a_closed_case_owes_nothing_whatever_an_older_report_says() {
    let b = brand_knowing("Closed", one_closed);
    let (open, closed) = (case_ref(1, 0), case_ref(2, 0));
    let supplier = b.parties[0];
    let list = |query: CaseQuery| {
        crate::worklist::list(&b.store, &b.membership, &b.me, b.now, &query, &label).expect("list")
    };
    let asked = |party: &OrgId, closed_too: bool, sort: &str| CaseQuery {
        overdue: true,
        party: party.to_string(),
        closed: closed_too,
        sort: sort.into(),
        ..Default::default()
    };
    // The control: the closed case's report about the supplier does say it owes.
    let held = crate::aggregates::reports::reports_of(&b.store, &closed).expect("reports");
    assert!(held.iter().any(|r| !r.overdue(b.now).is_empty()));
    // The dashboard's count and the list it links to (closed cases too, or not; any order).
    assert_eq!(cases_overdue(&b.store, b.now).expect("count"), 1);
    for closed_too in [false, true] {
        for sort in ["", "due", "status"] {
            let page = list(CaseQuery {
                party: String::new(),
                ..asked(&supplier, closed_too, sort)
            });
            let found: Vec<CaseRef> = page.rows.iter().map(|r| r.case_ref).collect();
            assert_eq!(
                (page.total, found),
                (1, vec![open]),
                "{closed_too} {sort:?}"
            );
            // The supplier's own count and its overdue cases.
            let page = list(asked(&supplier, closed_too, sort));
            assert_eq!(page.total, 1, "the supplier's, {closed_too} {sort:?}");
        }
    }
    assert_eq!(
        crate::aggregates::reports::overdue(&b.store, &supplier, b.now).expect("count"),
        1
    );
    // The closed case's row: closed, owing nothing, overdue with no one.
    let every = list(CaseQuery {
        closed: true,
        ..Default::default()
    });
    let row = every
        .rows
        .iter()
        .find(|r| r.case_ref == closed)
        .expect("the closed case is listed");
    assert!(row.closed && !row.overdue && row.overdue_with.is_empty() && row.next_due.is_none());
    // `/api/overdue`: the open case alone, and the supplier counted once.
    let api = from_reports(&b.store, b.now, 500).expect("overdue");
    assert_eq!(api.cases, 1);
    assert_eq!(api.per_party, BTreeMap::from([(supplier, 1)]));
    assert_eq!(
        api.listed.iter().map(|(_, c, _)| *c).collect::<Vec<_>>(),
        [open]
    );
    // The case view: no report of the closed case owes anything; the open case's does.
    assert!(owed_in(&held).iter().all(Vec::is_empty));
    let open_held = crate::aggregates::reports::reports_of(&b.store, &open).expect("reports");
    assert!(!owed_in(&open_held).concat().is_empty());
}
