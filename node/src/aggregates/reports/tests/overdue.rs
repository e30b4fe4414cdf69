//! A brand's overdue cases (`/api/overdue`) are read from the cells and lists kept with its
//! status reports, and equal what a read of every report finds: the cases listed, most
//! overdue first, with their items; how many there are; how many per party. Cases it holds
//! the history of are left out, as before.

use super::searches::{brand_knowing, drawn_about, many_about};
use super::*;
use crate::api::overdue::{Listed, Reported, from_reports};
use crate::records::CaseRecord;
use serde_json::json;
use std::collections::BTreeSet;

/// What a read of every report finds (the way `/api/overdue` read them before the lists).
fn every_report(store: &Store, now: Timestamp, limit: usize) -> Reported {
    let mut cases: BTreeMap<CaseRef, Listed> = BTreeMap::new();
    let mut per_party: BTreeMap<OrgId, BTreeSet<CaseRef>> = BTreeMap::new();
    let reports = all_reports(store);
    // Nothing is owed in a case its newest report closes.
    let closed = super::closed_cases(&reports);
    for r in reports {
        if closed.contains(&r.case_ref) {
            continue;
        }
        let late = r.overdue(now);
        let Some(first) = late.iter().map(|(_, due)| *due).min() else {
            continue;
        };
        if store
            .contains(&schema::CASE_STATES, r.case_ref.as_bytes())
            .expect("contains")
        {
            continue;
        }
        per_party.entry(r.supplier).or_default().insert(r.case_ref);
        let entry = cases
            .entry(r.case_ref)
            .or_insert_with(|| (first, r.case_ref, Vec::new()));
        entry.0 = entry.0.min(first);
        for (what, due) in late {
            entry.2.push(
                json!({ "case_ref": r.case_ref, "party": r.supplier, "what": what, "due": due }),
            );
        }
    }
    let mut listed: Vec<Listed> = cases.into_values().collect();
    listed.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    let n = listed.len() as u64;
    listed.truncate(limit);
    Reported {
        listed,
        cases: n,
        per_party: per_party
            .into_iter()
            .map(|(p, c)| (p, c.len() as u64))
            .collect(),
    }
}

/// Stores a history of `case` (only its being held matters here).
fn hold_history(store: &Store, case: CaseRef) {
    let mut state = crate::aggregates::tests::states_of_one_case(1)
        .pop()
        .expect("a state");
    state.case_ref = case;
    let mut batch = WriteBatch::new();
    let record = CaseRecord {
        state,
        heads: Vec::new(),
    };
    batch
        .put(&schema::CASE_STATES, case.as_bytes(), &record)
        .expect("put");
    store.commit(batch).expect("commit");
}

/// Drawn reports, asked at times before, at and after their due dates (to the second, and
/// on the day a count reads from the list rather than the cells), for one case and many:
/// the lists give what every report gives, with and without histories held of some cases.
#[test]
fn a_brands_overdue_cases_from_its_lists_equal_a_read_of_every_report() {
    let b = brand_knowing("Overdue", drawn_about);
    let first = all_reports(&b.store)
        .into_iter()
        .find_map(|r| r.owed().first().map(|(_, due)| *due))
        .expect("a report owing something");
    let nows = [
        T0,
        first,
        Timestamp(first.0 + 1),
        T0.plus_days(8),
        T0.plus_days(20),
        b.now,
        T0.plus_days(61),
        T0.plus_days(400),
    ];
    let check = |what: &str| -> u64 {
        let mut most = 0;
        for now in nows {
            for limit in [1, 5, 25, 500] {
                let read = every_report(&b.store, now, limit);
                let listed = from_reports(&b.store, now, limit).expect("from lists");
                assert_eq!(listed, read, "{what}: at {now:?}, {limit}");
                most = most.max(read.cases);
            }
        }
        most
    };
    let most = check("no history");
    assert!(most > 25, "more cases overdue than a short page: {most}");
    // Histories held of some overdue cases (escalated to the brand itself) leave them out of
    // the list and the counts, in all and per party.
    let before = every_report(&b.store, b.now, 500);
    for (_, case, _) in before.listed.iter().step_by(7) {
        hold_history(&b.store, *case);
    }
    check("histories held");
    let after = every_report(&b.store, b.now, 500);
    assert!(after.cases < before.cases, "the histories take cases out");
    assert!(after.per_party.values().sum::<u64>() < before.per_party.values().sum::<u64>());
}

/// Many cases overdue: the first page is the oldest owed, and the counts cover them all.
/// They come from the lists: with them emptied, none is listed and no party counted, though
/// every report is still held and a read of every report finds them.
#[test]
fn a_brands_overdue_cases_are_read_from_its_lists() {
    let b = brand_knowing("Overdue lists", many_about);
    for limit in [1, 500] {
        let listed = from_reports(&b.store, b.now, limit).expect("from lists");
        assert_eq!(listed.cases, 650);
        assert_eq!(listed.listed.len(), limit);
        assert_eq!(listed.per_party, BTreeMap::from([(b.parties[0], 650)]));
        assert_eq!(listed, every_report(&b.store, b.now, limit));
    }
    crate::aggregates::empty(&b.store, LISTS.table()).expect("emptied");
    let listed = from_reports(&b.store, b.now, 500).expect("from lists");
    assert!(listed.listed.is_empty() && listed.per_party.is_empty());
    assert_eq!(every_report(&b.store, b.now, 500).cases, 650);
}

/// 1,300 cases owing the supplier's acknowledgement past its date: more than a page and the
/// 1,000 a wide search counts past it.
fn all_overdue(parties: [OrgId; 2], csos: [OrgId; 2]) -> Vec<Vec<StatusReport>> {
    let mut batches = many_about(parties, csos);
    for r in batches.iter_mut().flatten() {
        r.stage = PartyStage::Escalated;
    }
    batches
}

/// The overdue cases, in all or the supplier's, newest first or soonest due first, with
/// closed cases or not: their total comes from the cells, exact, so no case past the page
/// is counted; the page is the one a read of every report gives.
#[test]
fn a_brands_overdue_cases_are_counted_from_the_cells() {
    let b = brand_knowing("Overdue counted", all_overdue);
    let all = crate::worklist::rows(&b.store, &b.membership, &b.me, b.now).expect("rows");
    for party in [String::new(), b.parties[0].to_string()] {
        for (sort, closed) in [("", false), ("", true), ("due", false), ("due", true)] {
            let query = crate::worklist::CaseQuery {
                overdue: true,
                party: party.clone(),
                sort: sort.into(),
                closed,
                page: 3,
                ..Default::default()
            };
            let read = crate::worklist::select(all.clone(), &query, &super::searches::label)
                .expect("select");
            assert_eq!(read.total, 1_300);
            let filter = crate::worklist::Filter::parse(&query).expect("filter");
            let listed = crate::worklist::chain::page(
                &b.store,
                &b.membership,
                b.now,
                &filter,
                &super::searches::label,
            )
            .expect("page");
            assert_eq!(
                (listed.total, listed.pages, listed.more),
                (1_300, 52, false),
                "{query:?}"
            );
            assert_eq!(
                super::searches::json(&listed.rows),
                super::searches::json(&read.rows),
                "{query:?}"
            );
        }
    }
}

/// Two CSOs' reports about the supplier in one case: its count is of reports (three), not
/// of the cases it owes in (two), so the supplier's overdue cases are counted on their
/// rows, a page of one at a time.
#[test]
fn a_partys_overdue_cases_reported_twice_in_a_case_are_counted_once() {
    let b = brand_knowing("Reported twice", |parties, csos| {
        let mut batches = all_overdue(parties, csos);
        batches.truncate(1);
        batches[0].truncate(2);
        let mut other = batches[0][0].clone();
        other.cso = csos[1];
        batches[0].push(other);
        batches
    });
    let supplier = b.parties[0];
    // The control: the supplier's cells count three reports owing, in two cases.
    assert_eq!(
        crate::aggregates::reports::overdue(&b.store, &supplier, b.now).expect("count"),
        3
    );
    assert_eq!(cases_overdue(&b.store, b.now).expect("count"), 2);
    let all = crate::worklist::rows(&b.store, &b.membership, &b.me, b.now).expect("rows");
    for party in [String::new(), supplier.to_string()] {
        let query = crate::worklist::CaseQuery {
            overdue: true,
            party,
            per_page: 1,
            ..Default::default()
        };
        let read =
            crate::worklist::select(all.clone(), &query, &super::searches::label).expect("select");
        let listed = crate::worklist::list(
            &b.store,
            &b.membership,
            &b.me,
            b.now,
            &query,
            &super::searches::label,
        )
        .expect("list");
        assert_eq!(
            (
                listed.total,
                listed.more,
                super::searches::json(&listed.rows)
            ),
            (2, false, super::searches::json(&read.rows)),
            "{query:?}"
        );
    }
}
