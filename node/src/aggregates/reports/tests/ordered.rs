//! A brand's case list soonest due first or by status, from the cases its conditions keep
//! walked in the order of the due-date or status lists, equals a read of every report, and
//! comes from those lists; newest first, an export reads them as it hands rows.

use super::searches::{brand_knowing, exported, json, label, many_about, read_whole};
use super::*;
use crate::worklist::{CaseQuery, CaseRow, select};

/// Soonest due first, the page is found by walking the case-level due-date list among the
/// cases the conditions keep, each page equal to a read of every report's, those owing
/// nothing last by reference. It comes from that list: with its entries taken out, every
/// case reads as owing nothing, though its reports still say what it owes.
#[test]
fn a_brands_cases_soonest_due_first_walk_its_due_date_list() {
    let b = brand_knowing("Soonest", many_about);
    let all = crate::worklist::rows(&b.store, &b.membership, &b.me, b.now).expect("rows");
    let list = |query: &CaseQuery| {
        crate::worklist::list(&b.store, &b.membership, &b.me, b.now, query, &label).expect("list")
    };
    let due = |page: usize, q: &str| CaseQuery {
        q: q.into(),
        sort: "due".into(),
        page,
        ..Default::default()
    };
    // Page 26 holds the last cases owing something, page 27 the first owing nothing.
    // Page 0 is what a query that names none asks for: the first.
    for page in [0, 1, 2, 26, 27, 52] {
        for q in ["", "seafood"] {
            let read = select(all.clone(), &due(page, q), &label).expect("select");
            let listed = list(&due(page, q));
            assert_eq!(
                (listed.total, listed.pages, json(&listed.rows)),
                (read.total, read.pages, json(&read.rows)),
                "page {page} {q:?}"
            );
        }
    }
    let first = list(&due(0, ""));
    assert!(first.rows.iter().all(|r| r.next_due.is_some()));
    // The export takes the same order, every case.
    let every = read_whole(&all, &due(1, ""));
    assert_eq!(every.len(), 1_300);
    assert!(exported(&b, &due(0, "")).expect("export") == every);
    assert!(list(&due(52, "")).rows.iter().all(|r| r.next_due.is_none()));
    // The due-date list emptied: the first page is the first cases by reference.
    let held = LISTS
        .ids_prefixed(&b.store, DUE_CASES, usize::MAX)
        .expect("ids")
        .expect("all");
    assert_eq!(held.len(), 650);
    let mut gone = crate::aggregates::lists::Changes::new();
    let entries = gone.entry(DUE_CASES.to_vec()).or_default();
    for id in &held {
        let key = crate::aggregates::lists::key_of::<KEY_LEN>(id).expect("key");
        entries.insert(key, false);
    }
    let mut batch = WriteBatch::new();
    LISTS.stage(&b.store, &mut batch, &gone).expect("stage");
    b.store.commit(batch).expect("commit");
    let mut by_reference: Vec<CaseRef> = all.iter().map(|r| r.case_ref).collect();
    by_reference.sort();
    for page in [0, 1] {
        let shown: Vec<CaseRef> = list(&due(page, ""))
            .rows
            .iter()
            .map(|r| r.case_ref)
            .collect();
        assert_eq!(shown, by_reference[..25], "page {page}");
    }
    assert!(exported(&b, &due(0, "")).expect("export") == by_reference);
    // Past its budget the walk gives up and the rows place every case. The list put back
    // with its dates reversed: walked, page 21 (more than one read of the list) follows
    // it; with no entries allowed, it is the read's again.
    let mut back = crate::aggregates::lists::Changes::new();
    let entries = back.entry(DUE_CASES.to_vec()).or_default();
    for id in &held {
        let mut key = crate::aggregates::lists::key_of::<KEY_LEN>(id).expect("key");
        let due = u64::from_be_bytes(key[..8].try_into().expect("date"));
        key[..8].copy_from_slice(&(4_000_000_000 - due).to_be_bytes());
        entries.insert(key, true);
    }
    let mut batch = WriteBatch::new();
    LISTS.stage(&b.store, &mut batch, &back).expect("stage");
    b.store.commit(batch).expect("commit");
    let refs = |rows: &[CaseRow]| rows.iter().map(|r| r.case_ref).collect::<Vec<_>>();
    let filter = crate::worklist::Filter::parse(&due(21, "")).expect("filter");
    let mut keys: Vec<[u8; crate::aggregates::opened::KEY_LEN]> = all
        .iter()
        .map(|r| crate::aggregates::opened::key(r.opened_at, &r.case_ref))
        .collect();
    keys.sort();
    let row = |k: &[u8; crate::aggregates::opened::KEY_LEN]| {
        crate::worklist::chain::row_of(&b.store, &b.membership, b.now, k)
    };
    let within = |budget: usize| {
        crate::worklist::ordered::page_within(&b.store, &filter, &keys, &row, budget).expect("page")
    };
    let read = refs(
        &select(all.clone(), &due(21, ""), &label)
            .expect("select")
            .rows,
    );
    assert_eq!(read.len(), 25);
    assert_ne!(refs(&within(usize::MAX).rows), read);
    assert_eq!(refs(&within(0).rows), read);
}

/// Cases owing at the same second are ordered newest first, whichever page they fall on;
/// a page mixes the last cases owing something with the first owing nothing.
#[test]
fn cases_owing_at_the_same_second_come_newest_first() {
    // Every ten cases owe their acknowledgement by one date; two in three owe it.
    let b = brand_knowing("Tied", |parties, csos| {
        let mut batches = many_about(parties, csos);
        for (n, r) in batches.iter_mut().flatten().enumerate() {
            r.stage = if n % 3 == 0 {
                PartyStage::Resolved
            } else {
                PartyStage::Escalated
            };
            r.acknowledge_by = Timestamp(T0.0 + (n as u64 / 10) * 3_600).plus_days(7);
        }
        batches
    });
    let all = crate::worklist::rows(&b.store, &b.membership, &b.me, b.now).expect("rows");
    let owing = all.iter().filter(|r| r.next_due.is_some()).count();
    assert_eq!(owing, 866);
    assert_ne!(owing % 25, 0, "a page holds both kinds");
    for page in 0..=(all.len() / 25 + 1) {
        let query = CaseQuery {
            sort: "due".into(),
            page,
            ..Default::default()
        };
        let read = select(all.clone(), &query, &label).expect("select");
        let listed = crate::worklist::list(&b.store, &b.membership, &b.me, b.now, &query, &label)
            .expect("list");
        assert_eq!(
            (listed.total, json(&listed.rows)),
            (read.total, json(&read.rows)),
            "page {page}"
        );
    }
    // The walk stops once it has read more entries than it was allowed, and a page is then
    // built from every row instead; the cases owing nothing are named by no entry.
    let keys: Vec<[u8; crate::aggregates::opened::KEY_LEN]> = all
        .iter()
        .filter(|r| r.next_due.is_none())
        .map(|r| crate::aggregates::opened::key(r.opened_at, &r.case_ref))
        .collect();
    let kept = keys
        .iter()
        .map(|k| (crate::aggregates::opened::case_of(k), k))
        .collect();
    use crate::worklist::ordered::walk;
    assert!(
        walk(&b.store, DUE_CASES, &kept, 25, 100)
            .expect("walk")
            .is_none()
    );
    let whole = walk(&b.store, DUE_CASES, &kept, 25, usize::MAX).expect("walk");
    assert!(whole.is_some_and(|(found, all_read)| found.is_empty() && all_read));
    // A case met twice on the list (as one whose date moves during a walk may be) is placed
    // once, at its first entry.
    let query = CaseQuery {
        sort: "due".into(),
        ..Default::default()
    };
    let before = exported(&b, &query).expect("export");
    let soonest = all
        .iter()
        .find(|r| r.case_ref == before[0])
        .and_then(|r| r.next_due)
        .expect("the first owes");
    let mut twice = crate::aggregates::lists::Changes::new();
    twice
        .entry(DUE_CASES.to_vec())
        .or_default()
        .insert(list_key(soonest.0 + 86_400, &before[0]), true);
    let mut batch = WriteBatch::new();
    LISTS.stage(&b.store, &mut batch, &twice).expect("stage");
    b.store.commit(batch).expect("commit");
    assert!(exported(&b, &query).expect("export") == before);
}

/// By status, the page is found by walking each status's list in lifecycle order (each
/// case's row checked, or among the cases the conditions keep), each page equal to a read
/// of every report's (its total too, or a lower bound when the walk stops counting), and the
/// export takes the same order. It comes from those lists: with one status's entries taken out,
/// its cases are missing from the pages.
#[test]
fn a_brands_cases_by_status_walk_its_status_lists() {
    let b = brand_knowing("By status", |parties, csos| {
        let mut batches = many_about(parties, csos);
        for (n, r) in batches.iter_mut().flatten().enumerate() {
            r.status = [
                CaseStatus::Escalated,
                CaseStatus::Acknowledged,
                CaseStatus::Remediating,
                CaseStatus::Closed,
            ][n % 7 % 4];
        }
        batches
    });
    let all = crate::worklist::rows(&b.store, &b.membership, &b.me, b.now).expect("rows");
    let list = |query: &CaseQuery| {
        crate::worklist::list(&b.store, &b.membership, &b.me, b.now, query, &label).expect("list")
    };
    let by_status = |page: usize, q: &str, closed: bool| CaseQuery {
        q: q.into(),
        sort: "status".into(),
        closed,
        page,
        ..Default::default()
    };
    let mut statuses_seen = std::collections::BTreeSet::new();
    let mut counted_short = 0;
    for closed in [false, true] {
        for q in ["", "seafood"] {
            for page in 0..=(all.len() / 25 + 1) {
                let query = by_status(page, q, closed);
                let read = select(all.clone(), &query, &label).expect("select");
                let listed = list(&query);
                assert!(
                    json(&listed.rows) == json(&read.rows),
                    "page {page} {q:?} closed {closed}"
                );
                // A walk along the lists that stops counting says its total is a lower bound.
                if listed.more {
                    assert!(
                        listed.total >= listed.page * 25 && listed.total < read.total,
                        "page {page} {q:?} closed {closed}"
                    );
                    counted_short += 1;
                } else {
                    assert_eq!(
                        (listed.total, listed.pages),
                        (read.total, read.pages),
                        "page {page} {q:?} closed {closed}"
                    );
                }
                statuses_seen.extend(listed.rows.iter().map(|r| r.status.clone()));
            }
        }
    }
    assert_eq!(statuses_seen.len(), 4);
    assert!(counted_short > 0);
    // Exports hand over every case whatever the page and page size.
    let whole = by_status(1, "", true);
    let every = read_whole(&all, &whole);
    assert_eq!(every.len(), 1_300);
    assert!(exported(&b, &whole).expect("export") == every);
    // The order comes from the lists: the newest case's entry moved to the last status's list
    // puts it first among that status's cases, though its reports say otherwise.
    let newest = all
        .iter()
        .find(|r| r.case_ref == every[0])
        .expect("the first case");
    let key = crate::aggregates::opened::key(newest.opened_at, &newest.case_ref);
    let last = CaseStatus::ALL[CaseStatus::ALL.len() - 1].code();
    let moved = |to: &str, stays: bool| {
        let mut changes = crate::aggregates::lists::Changes::new();
        changes
            .entry(cases_in_status(&newest.status))
            .or_default()
            .insert(key, stays);
        changes
            .entry(cases_in_status(to))
            .or_default()
            .insert(key, true);
        let mut batch = WriteBatch::new();
        LISTS.stage(&b.store, &mut batch, &changes).expect("stage");
        b.store.commit(batch).expect("commit");
    };
    assert_ne!(newest.status, last);
    moved(last, false);
    let status_of: std::collections::HashMap<CaseRef, &str> = all
        .iter()
        .map(|r| (r.case_ref, r.status.as_str()))
        .collect();
    let mut want: Vec<CaseRef> = every[1..].to_vec();
    let at = want
        .iter()
        .position(|c| status_of[c] == last)
        .expect("some case has the last status");
    want.insert(at, every[0]);
    assert!(exported(&b, &whole).expect("export") == want);
    // On two lists (as a case that moves on during a walk may be met), it is listed once.
    moved(last, true);
    let exported_now = exported(&b, &whole).expect("export");
    assert_eq!(exported_now.first(), Some(&every[0]));
    assert_eq!(exported_now.len(), every.len());
    let first_page = list(&by_status(1, "", true));
    assert_eq!(
        first_page
            .rows
            .iter()
            .filter(|r| r.case_ref == every[0])
            .count(),
        1
    );
    // On none (the lists out of step with the reports), a walk that reaches the end misses
    // it and the rows place it instead: the last page and the export are those a read of
    // every report gives. (A page found before the end shows what the lists hold, as any
    // page read from lists does.)
    let mut changes = crate::aggregates::lists::Changes::new();
    for status in [newest.status.as_str(), last] {
        changes
            .entry(cases_in_status(status))
            .or_default()
            .insert(key, false);
    }
    let mut batch = WriteBatch::new();
    LISTS.stage(&b.store, &mut batch, &changes).expect("stage");
    b.store.commit(batch).expect("commit");
    let refs = |rows: &[CaseRow]| rows.iter().map(|r| r.case_ref).collect::<Vec<_>>();
    let query = by_status(52, "", true);
    let read = select(all.clone(), &query, &label).expect("select");
    assert_eq!(refs(&list(&query).rows), refs(&read.rows));
    assert!(exported(&b, &whole).expect("export") == every);
}

/// One organisation's cases of a category, newest first or soonest due first, are its own
/// list's (the categories its report gives): each page equals a read of every report's,
/// with no row built to check the category. With that list's entries taken out, none is
/// found, though the reports and the case-level list of the category still hold them all.
#[test]
fn an_organisations_cases_of_a_category_come_from_its_own_list() {
    let b = brand_knowing("Party category", many_about);
    let all = crate::worklist::rows(&b.store, &b.membership, &b.me, b.now).expect("rows");
    let category = all[0].categories[0];
    let supplier = b.parties[0];
    let list = |query: &CaseQuery| {
        crate::worklist::list(&b.store, &b.membership, &b.me, b.now, query, &label).expect("list")
    };
    let asked = |party: String, sort: &str| CaseQuery {
        party,
        category: category.code().into(),
        sort: sort.into(),
        page: 2,
        ..Default::default()
    };
    for sort in ["", "due"] {
        let query = asked(supplier.to_string(), sort);
        let read = select(all.clone(), &query, &label).expect("select");
        assert_eq!(read.total, 1_300, "every case is of the category");
        let listed = list(&query);
        assert_eq!(json(&listed.rows), json(&read.rows), "{sort:?}");
    }
    let mut out = crate::aggregates::lists::Changes::new();
    let name = cases_with_category(&supplier, category);
    let entries = out.entry(name.clone()).or_default();
    for id in LISTS
        .ids_prefixed(&b.store, &name, usize::MAX)
        .expect("read")
        .expect("held")
    {
        let key = crate::aggregates::lists::key_of::<KEY_LEN>(&id).expect("key");
        entries.insert(key, false);
    }
    assert_eq!(entries.len(), 1_300, "the list held every case");
    let mut batch = WriteBatch::new();
    LISTS.stage(&b.store, &mut batch, &out).expect("stage");
    b.store.commit(batch).expect("commit");
    for sort in ["", "due"] {
        let listed = list(&asked(supplier.to_string(), sort));
        assert_eq!((listed.total, listed.rows.len()), (0, 0), "{sort:?}");
        // The control: the category alone, from the case-level list.
        assert!(list(&asked(String::new(), sort)).total > 1_000, "{sort:?}");
    }
    assert_eq!(
        select(all.clone(), &asked(supplier.to_string(), ""), &label)
            .expect("select")
            .total,
        1_300
    );
}

/// A newest-first export reads a brand's lists as it hands rows, holding a chunk of each,
/// not the selection: the lists emptied once the first row is handed, it hands fewer rows
/// than there are (the control: every one while they stay).
#[test]
fn a_newest_first_export_reads_the_lists_as_it_goes() {
    let b = brand_knowing("Streamed", many_about);
    let query = CaseQuery {
        closed: true,
        ..Default::default()
    };
    let every = exported(&b, &query).expect("export");
    assert!(every.len() > 1_000, "{}", every.len());
    let mut rows = 0usize;
    crate::worklist::export::each_row(
        &b.store,
        &b.membership,
        &b.me,
        b.now,
        &query,
        &label,
        &mut |_| {
            if rows == 0 {
                let mut batch = crate::store::WriteBatch::new();
                for id in b
                    .store
                    .ids_after(&crate::schema::REPORT_LISTS, 0, usize::MAX)
                    .expect("ids")
                {
                    batch.remove(&crate::schema::REPORT_LISTS, &id);
                }
                b.store.commit(batch).expect("commit");
            }
            rows += 1;
            true
        },
    )
    .expect("export");
    assert!(rows > 0 && rows < every.len(), "{rows} of {}", every.len());
}
