//! The worklist's rows, filters, order and pages on fixed examples.

use super::*;

fn row(n: u8, status: &str, opened: u64, closed: bool, overdue: bool) -> CaseRow {
    CaseRow {
        case_ref: CaseRef([n; 16]),
        status: status.into(),
        opened_at: Timestamp(opened),
        site: format!("Factory {n}"),
        counterparties: vec![OrgId([n % 2; 32])],
        counterparty_names: vec![format!("Agency {}", n % 2)],
        categories: vec![if n.is_multiple_of(2) {
            IssueCategory::WithholdingOfWages
        } else {
            IssueCategory::Deception
        }],
        workers: 1,
        next_due: (!closed).then_some(Timestamp(opened + 100)),
        overdue,
        overdue_with: if overdue {
            vec![OrgId([n % 2; 32])]
        } else {
            Vec::new()
        },
        closed,
        source: Source::History,
        sector: None,
        corridor: None,
        reached: Vec::new(),
        text: format!("factory {n}"),
    }
}

fn label(c: IssueCategory) -> String {
    format!("{c:?}")
}

#[test]
fn filters_sort_and_pages_pick_the_right_rows() {
    let rows: Vec<CaseRow> = (1..=60)
        .map(|n| {
            row(
                n,
                if n % 3 == 0 {
                    "escalated"
                } else {
                    "acknowledged"
                },
                n as u64 * 86_400,
                n % 10 == 0,
                n % 7 == 0,
            )
        })
        .collect();
    let q = |f: &dyn Fn(&mut CaseQuery)| {
        let mut q = CaseQuery::default();
        f(&mut q);
        select(rows.clone(), &q, &label).expect("query")
    };
    // Closed cases are hidden by default; newest first; 25 a page.
    let all = q(&|_| {});
    assert_eq!(all.total, 54);
    assert_eq!((all.pages, all.rows.len()), (3, 25));
    assert_eq!(all.rows[0].case_ref, CaseRef([59; 16]));
    assert_eq!(q(&|q| q.closed = true).total, 60);
    assert_eq!(q(&|q| q.page = 3).rows.len(), 4);
    assert_eq!(q(&|q| q.page = 99).page, 3);
    assert_eq!(q(&|q| q.per_page = 100).rows.len(), 54);
    assert_eq!(
        select(
            rows.clone(),
            &CaseQuery {
                per_page: MAX_PER_PAGE + 1,
                ..Default::default()
            },
            &label
        )
        .err(),
        Some(QueryError::BadPageSize)
    );
    assert_eq!(q(&|q| q.status = "escalated".into()).total, 18);
    assert_eq!(q(&|q| q.overdue = true).total, 8);
    // Overdue with one party: only the cases that party owes something in.
    let with = |n: u8| {
        q(&|q| {
            q.overdue = true;
            q.party = OrgId([n; 32]).to_string();
        })
        .total
    };
    assert_eq!(with(0) + with(1), 8);
    assert!(with(0) > 0 && with(1) > 0);
    assert_eq!(
        q(&|q| q.q = "factory 42".into()).rows[0].case_ref,
        CaseRef([42; 16])
    );
    // A reference by its start; a short number does not match inside references.
    assert_eq!(
        q(&|q| q.q = "2a2a2a2a".into()).rows[0].case_ref,
        CaseRef([42; 16])
    );
    assert_eq!(q(&|q| q.q = "2a2a".into()).total, 0);
    assert_eq!(q(&|q| q.q = "deception".into()).total, 30);
    assert_eq!(q(&|q| q.category = "withholding_of_wages".into()).total, 24);
    assert_eq!(q(&|q| q.party = OrgId([1; 32]).to_string()).total, 30);
    let window = q(&|q| {
        q.from = "1970-01-11".into();
        q.to = "1970-01-20".into();
    });
    assert_eq!(window.total, 9, "days 10 to 19, day 10 closed");
    let due = q(&|q| q.sort = "due".into());
    assert_eq!(due.rows[0].case_ref, CaseRef([1; 16]));
    assert_eq!(
        select(
            rows.clone(),
            &CaseQuery {
                from: "yesterday".into(),
                ..Default::default()
            },
            &label
        )
        .err(),
        Some(QueryError::BadDay("from"))
    );
    for bad in [
        CaseQuery {
            status: "done".into(),
            ..Default::default()
        },
        CaseQuery {
            category: "wages".into(),
            ..Default::default()
        },
    ] {
        let err = select(rows.clone(), &bad, &label).expect_err("refused");
        assert!(
            err.to_string().contains("escalated") || err.to_string().contains("deception"),
            "{err}"
        );
    }
}
