//! A brand's case list soonest due first or by status, walked along the due-date list or
//! the status lists with each case's row checked, gives the page a read of every report
//! gives, and a total that never says more than that read finds (exact when it says so);
//! past its budget of rows it leaves the page to the cases the conditions keep.

use super::searches::{Named, brand_knowing, drawn_about, exported, many_about, read_whole};
use super::*;
use crate::worklist::walk::Limits;
use crate::worklist::{CasePage, CaseQuery, CaseRow, select};

fn label(c: IssueCategory) -> String {
    c.code().to_string()
}

fn refs(rows: &[CaseRow]) -> Vec<CaseRef> {
    rows.iter().map(|r| r.case_ref).collect()
}

/// The page of `query` from a walk within `limits`.
fn walked(b: &Named, query: &CaseQuery, limits: Limits) -> Option<CasePage> {
    let filter = crate::worklist::Filter::parse(query).expect("filter");
    crate::worklist::walk::walked(&b.store, &b.membership, b.now, &filter, &label, limits)
        .expect("walk")
}

/// Queries drawn soonest due first or by status (words, status, overdue, organisation,
/// category, dates, sector, corridor, closed cases, page size and page), each walked within
/// drawn limits: a page found is the read's page, its total the read's, or with `more` at
/// most the read's and past the page; a walk that cannot find it says so (None). Each
/// happens.
#[test]
fn a_walk_in_another_order_gives_the_page_every_report_gives() {
    let b = brand_knowing("Walked", drawn_about);
    let all = crate::worklist::rows(&b.store, &b.membership, &b.me, b.now).expect("rows");
    let day = crate::clock::fmt_day;
    let parties = [
        b.parties[0].to_string(),
        b.parties[1].to_string(),
        b.csos[1].to_string(),
    ];
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = (
        // Each field is left empty about two times in three.
        (
            0..9usize,
            0..15usize,
            0..10usize,
            0..6usize,
            0..6usize,
            0..6usize,
        ),
        (
            0..6usize,
            any::<bool>(),
            any::<bool>(),
            0..4usize,
            0..6usize,
            (0..6usize, 1..200usize, any::<bool>()),
        ),
    );
    let (mut walks, mut given_up, mut cut_short, mut exact) = (0, 0, 0, 0);
    for _ in 0..1_500 {
        let (
            (q, s, p, c, sector, corridor),
            (d, overdue, closed, per, page, (counted, rows, by_status)),
        ) = strategy.new_tree(&mut runner).expect("draw").current();
        let dates = [
            (day(T0.plus_days(10)), String::new()),
            (day(T0.plus_days(15)), day(T0.plus_days(45))),
        ];
        let query = CaseQuery {
            q: ["seafood", "ltd", "nothing"]
                .get(q)
                .copied()
                .unwrap_or_default()
                .into(),
            status: ["open", "escalated", "acknowledged", "remediating", "closed"]
                .get(s)
                .copied()
                .unwrap_or_default()
                .into(),
            overdue: overdue && s % 2 == 0,
            party: parties.get(p).cloned().unwrap_or_default(),
            category: [IssueCategory::ALL[1].code(), IssueCategory::ALL[3].code()]
                .get(c)
                .copied()
                .unwrap_or_default()
                .into(),
            from: dates.get(d).map(|d| d.0.clone()).unwrap_or_default(),
            to: dates.get(d).map(|d| d.1.clone()).unwrap_or_default(),
            sector: ["seafood", "garment"]
                .get(sector)
                .copied()
                .unwrap_or_default()
                .into(),
            corridor: ["MM-TH", "KH-TH"]
                .get(corridor)
                .copied()
                .unwrap_or_default()
                .into(),
            closed,
            sort: if by_status { "status" } else { "due" }.into(),
            per_page: [1, 3, 7, 25][per],
            page,
        };
        let read = select(all.clone(), &query, &label).expect("select");
        let Some(w) = walked(&b, &query, Limits { counted, rows }) else {
            given_up += 1;
            continue;
        };
        walks += 1;
        assert_eq!(refs(&w.rows), refs(&read.rows), "{query:?}");
        assert_eq!(
            serde_json::to_string(&w.rows).expect("json"),
            serde_json::to_string(&read.rows).expect("json"),
            "{query:?}"
        );
        assert_eq!(w.page, read.page, "{query:?}");
        if w.more {
            let end = w.page * query.per_page;
            assert!(
                w.total >= end && w.total <= read.total,
                "{} {} {query:?}",
                w.total,
                read.total
            );
            assert_eq!(w.pages, w.total.div_ceil(query.per_page), "{query:?}");
            cut_short += usize::from(w.total < read.total);
        } else {
            assert_eq!((w.total, w.pages), (read.total, read.pages), "{query:?}");
            exact += 1;
        }
    }
    // The positive control: many walks find their page, some stop counting early, some
    // count exactly, and some give up.
    assert!(
        walks > 250 && cut_short > 200 && exact > 200 && given_up > 500,
        "{walks} {cut_short} {exact} {given_up}"
    );
}

/// 1,300 open cases about one supplier, every one owing its acknowledgement, ten at a time
/// by the same second, the first 650 by a date past when the list is read (day 30), the
/// others by one to come; every other case of another sector than the rest.
fn all_owing(parties: [OrgId; 2], csos: [OrgId; 2]) -> Vec<Vec<StatusReport>> {
    let mut batches = many_about(parties, csos);
    for (n, r) in batches.iter_mut().flatten().enumerate() {
        r.stage = PartyStage::Escalated;
        let days = if n < 650 { 7 } else { 40 };
        r.acknowledge_by = Timestamp(T0.0 + (n as u64 / 10) * 3_600).plus_days(days);
        r.sector = Some(if n % 2 == 0 { "garment" } else { "seafood" }.into());
    }
    batches
}

/// A brand's page soonest due first, asked as the case list asks it, comes from a walk of
/// the due-date list: the read's page, counted to the page (with the cases owing at the
/// same second as its last) and 1,000 more, where the read counts 1,300. When the list ends
/// before that, the cases kept are gathered and counted exactly. The export still hands
/// over every case. A case met twice on the list is shown once.
#[test]
fn the_case_list_soonest_due_first_walks_the_due_date_list_and_counts_a_thousand_more() {
    let b = brand_knowing("Owing", all_owing);
    let all = crate::worklist::rows(&b.store, &b.membership, &b.me, b.now).expect("rows");
    assert_eq!(all.iter().filter(|r| r.next_due.is_some()).count(), 1_300);
    let list = |query: &CaseQuery| {
        crate::worklist::list(&b.store, &b.membership, &b.me, b.now, query, &label).expect("list")
    };
    let due = |page: usize, sector: &str| CaseQuery {
        sort: "due".into(),
        sector: sector.into(),
        page,
        ..Default::default()
    };
    // Every case, by the supplier's name searched: counted as far as the walk goes.
    let named = |page: usize| CaseQuery {
        q: "andaman".into(),
        ..due(page, "")
    };
    // Ten cases owe by each second: the first page's last ties with five more.
    for (query, total, more) in [
        (named(0), 1_030, true),
        (named(2), 1_050, true),
        (named(7), 1_180, true),
        // No condition, or the supplier named: the total is the cells'.
        (due(0, ""), 1_300, false),
        (due(7, ""), 1_300, false),
        (
            CaseQuery {
                party: b.parties[0].to_string(),
                ..due(1, "")
            },
            1_300,
            false,
        ),
        // Half kept: the list ends before 1,025 are found.
        (due(1, "seafood"), 650, false),
        // A page past the end.
        (due(60, ""), 1_300, false),
    ] {
        let sector = query.sector.clone();
        let read = select(all.clone(), &query, &label).expect("select");
        let listed = list(&query);
        assert_eq!(refs(&listed.rows), refs(&read.rows), "{query:?}");
        assert_eq!(
            (listed.total, listed.more, read.total),
            (total, more, if sector.is_empty() { 1_300 } else { 650 }),
            "{query:?}"
        );
    }
    // The overdue cases end where the dates owed reach the present: counted exactly there,
    // though cases owing later follow on the list.
    for (page, sector, total) in [(1, "", 650), (3, "", 650), (1, "seafood", 325)] {
        let query = CaseQuery {
            overdue: true,
            ..due(page, sector)
        };
        let read = select(all.clone(), &query, &label).expect("select");
        let listed = list(&query);
        assert_eq!(refs(&listed.rows), refs(&read.rows), "{query:?}");
        assert_eq!(
            (listed.total, listed.pages, listed.more, read.total),
            (total, read.pages, false, total),
            "{query:?}"
        );
        let walked = walked(&b, &query, Limits::PAGE).expect("walked");
        assert_eq!(
            (refs(&walked.rows), walked.total, walked.more),
            (refs(&read.rows), total, false)
        );
    }
    // The cells say whether a walk may find the page: not for an organisation with no case
    // (nor one not as written), nor for a status no case is in; not in another order.
    let worth = |query: &CaseQuery| {
        let filter = crate::worklist::Filter::parse(query).expect("filter");
        crate::worklist::walk::worth_walking(&b.store, b.now, &filter).expect("cells")
    };
    assert!(worth(&due(1, "seafood")));
    for query in [
        CaseQuery {
            party: b.parties[1].to_string(),
            ..due(1, "")
        },
        CaseQuery {
            party: b.parties[0].to_string().to_uppercase(),
            ..due(1, "")
        },
        CaseQuery {
            status: "escalated".into(),
            ..due(1, "")
        },
        CaseQuery {
            sort: String::new(),
            ..due(1, "")
        },
    ] {
        assert!(!worth(&query), "{query:?}");
    }
    assert!(worth(&CaseQuery {
        party: b.parties[0].to_string(),
        ..due(1, "")
    }));
    // Within fewer rows, half kept: the sector's cases are read from its own due-date list
    // (that of every case met one in two), and past the page counted unread to its end,
    // where the cases owing nothing would follow: the page is left to the gathered cases.
    // With the supplier's name searched too, each case's row is read: 400 rows find 400
    // of them, the page's 25 among them.
    let limits = Limits {
        counted: 1_000,
        rows: 400,
    };
    assert!(walked(&b, &due(1, "seafood"), limits).is_none());
    let searched = CaseQuery {
        q: "andaman".into(),
        ..due(1, "seafood")
    };
    let half = walked(&b, &searched, limits).expect("found");
    let read = select(all.clone(), &searched, &label).expect("select");
    assert_eq!(
        (refs(&half.rows), half.total, half.more),
        (refs(&read.rows), 400, true)
    );
    let every = read_whole(&all, &due(1, ""));
    let exported = exported(&b, &due(1, "")).expect("export");
    assert_eq!(exported.len(), 1_300);
    assert!(exported == every);
    // The soonest case put on the list a second time, a second later, among the first
    // page's: it is shown once, where its row places it.
    let first = list(&named(1));
    let soonest = first.rows[0].clone();
    let mut twice = crate::aggregates::lists::Changes::new();
    twice.entry(DUE_CASES.to_vec()).or_default().insert(
        list_key(soonest.next_due.expect("owes").0 + 1, &soonest.case_ref),
        true,
    );
    let mut batch = WriteBatch::new();
    LISTS.stage(&b.store, &mut batch, &twice).expect("stage");
    b.store.commit(batch).expect("commit");
    let again = list(&named(1));
    assert_eq!(refs(&again.rows), refs(&first.rows));
    assert_eq!((again.total, again.more), (1_030, true));
}

/// [`all_owing`], every third case from Myanmar, the others from Cambodia: one in six is
/// of the seafood sector and the Myanmar-Thailand corridor, 217 in all.
fn two_facets(parties: [OrgId; 2], csos: [OrgId; 2]) -> Vec<Vec<StatusReport>> {
    let mut batches = all_owing(parties, csos);
    for (n, r) in batches.iter_mut().flatten().enumerate() {
        let origin = if n % 3 == 0 { "MM" } else { "KH" };
        r.corridor = Some((origin.parse().expect("c"), "TH".parse().expect("c")));
    }
    batches
}

/// Page `page` of the seafood sector's cases from Myanmar to Thailand, soonest due first.
fn seafood_from_myanmar(page: usize) -> CaseQuery {
    CaseQuery {
        sort: "due".into(),
        sector: "seafood".into(),
        corridor: "MM-TH".into(),
        page,
        ..Default::default()
    }
}

/// Soonest due first with a sector and a corridor named, the walk reads the due-date list
/// of the sector's cases and looks each entry up on the corridor's: the only cases whose
/// reports it reads are those of the page, so a budget of 100 rows finds the page and
/// counts on past it without reading more. Along the list of every case owing something
/// (one in six kept) the same budget met 16 of them and gave up; reading the row of every
/// case kept, it counted 57.
#[test]
fn a_walk_with_two_facets_reads_only_the_cases_on_both_lists() {
    let b = brand_knowing("Two facets", two_facets);
    let all = crate::worklist::rows(&b.store, &b.membership, &b.me, b.now).expect("rows");
    let query = seafood_from_myanmar(1);
    let read = select(all, &query, &label).expect("select");
    assert_eq!(read.total, 217);
    let filter = crate::worklist::Filter::parse(&query).expect("filter");
    let (built, kept) = (std::cell::Cell::new(0), std::cell::Cell::new(0));
    let row = |case: &CaseRef| {
        built.set(built.get() + 1);
        let opened = summary(&reports_of(&b.store, case)?).map(|s| s.opened_at);
        let Some(opened) = opened else {
            return Ok(None);
        };
        let key = crate::aggregates::opened::key(opened, case);
        let r = crate::worklist::chain::row_of(&b.store, &b.membership, b.now, &key)?
            .filter(|r| filter.matches(r, &label));
        kept.set(kept.get() + usize::from(r.is_some()));
        Ok(r)
    };
    let limits = Limits {
        counted: 1_000,
        rows: 100,
    };
    let w = crate::worklist::walk::page(&b.store, &filter, b.now, limits, None, &row)
        .expect("walk")
        .expect("found within 100 rows");
    assert_eq!(refs(&w.rows), refs(&read.rows));
    assert!(w.more);
    // Only the page's rows are read; past it each entry looked up costs a quarter of a row
    // and a case on both lists is counted unread: some 300 entries, 75 more cases.
    assert_eq!((built.get(), kept.get()), (25, 25));
    assert!((90..=110).contains(&w.total), "{}", w.total);
}

/// Gathered first, the cases of a sector and a corridor are placed from the due-date list
/// of the sector's cases, where they are one in three: within a budget of 400 entries it
/// finds page 6 (the first 150 of them) in one read of 512, and only that page's 25 rows
/// are built. Along the list of every case owing something (one in six kept) the first 512
/// entries hold 85 of them, the budget is spent, and every case's row was built to sort
/// them.
#[test]
fn gathered_cases_of_a_sector_are_placed_from_its_due_date_list() {
    let b = brand_knowing("Two facets gathered", two_facets);
    let all = crate::worklist::rows(&b.store, &b.membership, &b.me, b.now).expect("rows");
    let query = seafood_from_myanmar(6);
    let filter = crate::worklist::Filter::parse(&query).expect("filter");
    let mut keys: Vec<[u8; crate::aggregates::opened::KEY_LEN]> = all
        .iter()
        .filter(|r| filter.matches(r, &label))
        .map(|r| crate::aggregates::opened::key(r.opened_at, &r.case_ref))
        .collect();
    keys.sort();
    assert_eq!(keys.len(), 217);
    let built = std::cell::Cell::new(0);
    let row = |k: &[u8; crate::aggregates::opened::KEY_LEN]| {
        built.set(built.get() + 1);
        crate::worklist::chain::row_of(&b.store, &b.membership, b.now, k)
    };
    let page =
        crate::worklist::ordered::page_within(&b.store, &filter, &keys, &row, 400).expect("page");
    let read = select(all, &query, &label).expect("select");
    assert_eq!(refs(&page.rows), refs(&read.rows));
    assert_eq!((page.page, page.total), (6, 217));
    assert_eq!(built.get(), 25);
}

/// By status with closed cases left out, the walk reads no closed case's row: with 130 of
/// 1,300 cases open, it meets them all and reaches the end of the open statuses' lists,
/// leaving the exact count to the gathered cases, where reading on through the closed ones
/// would spend its rows and say more may match.
#[test]
fn by_status_without_closed_cases_the_walk_reads_no_closed_ones() {
    let b = brand_knowing("Mostly closed", |parties, csos| {
        let mut batches = many_about(parties, csos);
        for (n, r) in batches.iter_mut().flatten().enumerate() {
            if n % 10 != 0 {
                r.status = CaseStatus::Closed;
                r.stage = PartyStage::Resolved;
            }
        }
        batches
    });
    let all = crate::worklist::rows(&b.store, &b.membership, &b.me, b.now).expect("rows");
    let query = CaseQuery {
        sort: "status".into(),
        q: "andaman".into(),
        ..Default::default()
    };
    let read = select(all.clone(), &query, &label).expect("select");
    assert_eq!(read.total, 130);
    let limits = Limits {
        counted: 1_000,
        rows: 400,
    };
    assert!(walked(&b, &query, limits).is_none());
    let listed =
        crate::worklist::list(&b.store, &b.membership, &b.me, b.now, &query, &label).expect("list");
    assert_eq!(
        (refs(&listed.rows), listed.total, listed.more),
        (refs(&read.rows), 130, false)
    );
    // The control: with closed cases kept, the walk reads them and stops counting.
    let closed_too = CaseQuery {
        closed: true,
        ..query
    };
    let read = select(all, &closed_too, &label).expect("select");
    let w = walked(&b, &closed_too, limits).expect("walked");
    assert_eq!(refs(&w.rows), refs(&read.rows));
    assert!(w.more && w.total < read.total, "{} {}", w.total, read.total);
}
