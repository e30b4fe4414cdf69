//! A brand's case list from its report lists, and narrowed by its reports' profile.

use super::*;

/// What a brand holding drawn reports lists: its store, membership, id, a time when some
/// are overdue, and its rows read from every report.
struct Brand {
    _dir: tempfile::TempDir,
    store: Store,
    membership: MembershipState,
    me: OrgId,
    now: Timestamp,
    all: Vec<crate::worklist::CaseRow>,
}

/// A brand (org 10) holding 72 drawn reports.
fn brand_with_reports(name: &str) -> Brand {
    let (dir, store) = open_store();
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut batches = Vec::new();
    for b in 0..12u64 {
        let batch: Vec<StatusReport> = (0..6u64)
            .map(|i| {
                let d = drawn().new_tree(&mut runner).expect("draw").current();
                report(&d, b * 10 + i)
            })
            .collect();
        batches.push(batch);
    }
    deliver(&store, &batches);
    let steward = OrgKeys::from_secret_bytes([9; 32], [109; 32]);
    let brand = OrgKeys::from_secret_bytes([10; 32], [110; 32]);
    let network = network(name, &steward);
    let cert = SignedRecord::sign(
        &certificate(&network, &steward, &brand, Role::Brand),
        &steward,
    )
    .expect("sign");
    let membership = MembershipState::new(network, cert, vec![], vec![]).expect("membership");
    let me = brand.org_id();
    let now = T0.plus_days(30);
    let all = crate::worklist::rows(&store, &membership, &me, now).expect("rows");
    Brand {
        _dir: dir,
        store,
        membership,
        me,
        now,
        all,
    }
}

/// Every page of a brand's plain case list (every case, or one organisation's), read from
/// its case lists, equals the page a read of every report gives.
#[test]
fn a_brands_case_list_pages_equal_a_read_of_every_report() {
    let Brand {
        store,
        membership,
        now,
        all,
        ..
    } = brand_with_reports("Case list");
    let label = |c: IssueCategory| c.code().to_string();
    let json = |rows: &[crate::worklist::CaseRow]| serde_json::to_string(rows).expect("json");
    assert!(all.iter().any(|r| r.closed) && all.iter().any(|r| !r.closed));
    assert!(
        all.iter().any(|r| !r.counterparties.contains(&org(4))),
        "a party filter leaves some out"
    );
    // Every case, or those naming one organisation (a party, or a CSO).
    let named = [
        String::new(),
        org(3).to_string(),
        org(4).to_string(),
        org(2).to_string(),
    ];
    for (party, closed) in named.iter().flat_map(|p| [(p, false), (p, true)]) {
        for per_page in [1, 3, 7, 25] {
            for page in 1..=all.len().div_ceil(per_page) + 1 {
                let query = crate::worklist::CaseQuery {
                    closed,
                    per_page,
                    page,
                    party: party.clone(),
                    ..Default::default()
                };
                let filter = crate::worklist::Filter::parse(&query).expect("filter");
                let listed =
                    crate::worklist::reported::page(&store, &membership, now, &filter, &label)
                        .expect("page")
                        .expect("a plain list at a brand is read from the case lists");
                let read = crate::worklist::select(all.clone(), &query, &label).expect("select");
                assert_eq!(
                    (listed.total, listed.page, listed.pages),
                    (read.total, read.page, read.pages)
                );
                assert_eq!(
                    json(&listed.rows),
                    json(&read.rows),
                    "page {page} of {per_page}, {party:?}"
                );
            }
        }
    }
}

/// A brand's case list narrowed by sector or corridor lists the cases whose reports name
/// them, as a read of every report does: with one organisation named (a scorecard's
/// drill-down) too. A node that is not a brand refuses both, and a bad code is refused.
#[test]
fn a_brands_case_list_narrows_by_the_sector_and_corridor_of_its_reports() {
    let b = brand_with_reports("Sectors");
    let reports = all_reports(&b.store);
    let label = |c: IssueCategory| c.code().to_string();
    let list = |query: &crate::worklist::CaseQuery| {
        crate::worklist::list(&b.store, &b.membership, &b.me, b.now, query, &label)
    };
    let corridor = ("MM".parse().expect("c"), "TH".parse().expect("c"));
    let narrowings = [
        ("seafood", false),
        ("garment", false),
        ("", true),
        ("fishing", true),
    ];
    let mut differs = false;
    for party in [String::new(), org(3).to_string(), org(4).to_string()] {
        for (sector, by_corridor) in narrowings {
            let query = crate::worklist::CaseQuery {
                party: party.clone(),
                sector: sector.into(),
                corridor: if by_corridor {
                    "MM-TH".into()
                } else {
                    String::new()
                },
                closed: true,
                per_page: 1_000,
                ..Default::default()
            };
            let mut got: Vec<CaseRef> = list(&query)
                .expect("list")
                .rows
                .iter()
                .map(|r| r.case_ref)
                .collect();
            // Every case's profile, or with a party named, its report's (as its scorecard
            // counts; the drawn reports of one case may give different corridors).
            let mut by_case: Vec<CaseRef> = b
                .all
                .iter()
                .filter(|r| {
                    party.is_empty() || r.counterparties.iter().any(|p| p.to_string() == party)
                })
                .filter(|r| sector.is_empty() || r.sector.as_deref() == Some(sector))
                .filter(|r| !by_corridor || r.corridor.as_ref() == Some(&corridor))
                .map(|r| r.case_ref)
                .collect();
            let mut want = if party.is_empty() {
                by_case.clone()
            } else {
                reports
                    .iter()
                    .filter(|r| r.supplier.to_string() == party)
                    .filter(|r| sector.is_empty() || r.sector.as_deref() == Some(sector))
                    .filter(|r| !by_corridor || r.corridor.as_ref() == Some(&corridor))
                    .map(|r| r.case_ref)
                    .collect()
            };
            got.sort();
            want.sort();
            want.dedup();
            by_case.sort();
            differs |= by_case != want;
            assert_eq!(got, want, "{query:?}");
            // The positive control: the narrowing leaves cases out, and keeps some.
            assert!(!want.is_empty() && want.len() < b.all.len(), "{query:?}");
        }
    }
    assert!(
        differs,
        "the drawn reports tell a party's corridor from the case's"
    );
    let bad = crate::worklist::CaseQuery {
        sector: "mining".into(),
        ..Default::default()
    };
    assert!(matches!(
        list(&bad),
        Err(crate::worklist::ListError::Query(
            crate::worklist::QueryError::BadSector(_)
        ))
    ));
    let (_dir, cso_store) = open_store();
    let steward = OrgKeys::from_secret_bytes([9; 32], [109; 32]);
    let cso = OrgKeys::from_secret_bytes([1; 32], [101; 32]);
    let network = network("Sectors", &steward);
    let cert = SignedRecord::sign(&certificate(&network, &steward, &cso, Role::Cso), &steward)
        .expect("sign");
    let at_cso = MembershipState::new(network, cert, vec![], vec![]).expect("membership");
    let cso_list = |query: &crate::worklist::CaseQuery| {
        crate::worklist::list(&cso_store, &at_cso, &cso.org_id(), b.now, query, &label)
    };
    let by_sector = crate::worklist::CaseQuery {
        sector: "seafood".into(),
        ..Default::default()
    };
    assert!(matches!(
        cso_list(&by_sector),
        Err(crate::worklist::ListError::Query(
            crate::worklist::QueryError::NotABrand
        ))
    ));
    assert!(
        cso_list(&crate::worklist::CaseQuery::default()).is_ok(),
        "the same list without it answers"
    );
}

/// With one party named, a brand's case list reads the case's report about that party for
/// dates and categories, as the party's scorecard counts: narrowed by a category and by the
/// days the case reached it, it lists each case whose report about it passes, so the count
/// the Supply chain page shows and the list it links to agree.
#[test]
fn one_partys_case_list_reads_its_own_reports_dates_and_categories() {
    let b = brand_with_reports("Own report");
    let reports = all_reports(&b.store);
    let label = |c: IssueCategory| c.code().to_string();
    let (from, to) = (T0.plus_days(10), T0.plus_days(40));
    let category = IssueCategory::ALL[1];
    let mut differs = false;
    for party in [org(3), org(4)] {
        let query = crate::worklist::CaseQuery {
            party: party.to_string(),
            category: category.code().into(),
            from: crate::clock::fmt_day(from),
            to: crate::clock::fmt_day(to),
            closed: true,
            per_page: 1_000,
            ..Default::default()
        };
        let listed = crate::worklist::list(&b.store, &b.membership, &b.me, b.now, &query, &label)
            .expect("list");
        let day = |t: Timestamp| crate::worklist::day(&crate::clock::fmt_day(t), "d", false);
        let (first, last) = (
            day(from).expect("day").expect("some"),
            crate::worklist::day(&crate::clock::fmt_day(to), "d", true)
                .expect("day")
                .expect("some"),
        );
        // The scorecard's definition: its reports that pass.
        let mut want: Vec<CaseRef> = reports
            .iter()
            .filter(|r| r.supplier == party && r.categories.contains(&category))
            .filter(|r| (first..=last).contains(&r.escalated_at))
            .map(|r| r.case_ref)
            .collect();
        want.sort();
        want.dedup();
        let mut got: Vec<CaseRef> = listed.rows.iter().map(|r| r.case_ref).collect();
        got.sort();
        assert_eq!(got, want, "{party}");
        assert!(!want.is_empty(), "the window holds some of its cases");
        // The positive control: read from the whole case (its earliest escalation, every
        // party's categories), the list would differ for some party.
        let whole: Vec<CaseRef> = b
            .all
            .iter()
            .filter(|r| r.counterparties.contains(&party) && r.categories.contains(&category))
            .filter(|r| (first..=last).contains(&r.opened_at))
            .map(|r| r.case_ref)
            .collect();
        differs |= {
            let mut whole = whole;
            whole.sort();
            whole != want
        };
    }
    assert!(
        differs,
        "the drawn reports tell a party's report from the whole case"
    );
}
