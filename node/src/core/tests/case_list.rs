//! The case list and a supplier's dashboard in the core: every query's page read from the
//! indexes equals a full scan's, and the dashboard counts as the case list does.

use super::*;

/// Every case-list query read from the indexes gives the page a full scan gives (same rows in
/// the same order, same totals), both when the smallest condition's cases are checked one by
/// one and when the conditions' sets are intersected; cases opened here and not escalated
/// yet are merged in.
#[tokio::test]
async fn case_list_pages_from_the_indexes_are_the_pages_a_full_scan_gives() {
    use crate::worklist::indexed::page_checking;
    use crate::worklist::{CaseQuery, Filter, rows, select};
    use ilm_protocol::event::Escalation;
    let w = world();
    let (_dir, store, core, _probe, _events) = cso_core(&w);
    let sites = [
        "Site Alpha",
        "Factory 12",
        "ไซต์ โรงงานไม่ได้รับค่าจ้าง",
        "Farm-7 packing",
    ];
    let categories = [
        IssueCategory::WithholdingOfWages,
        IssueCategory::Deception,
        IssueCategory::RetentionOfIdentityDocuments,
    ];
    let now = crate::membership::now();
    let mut opened = Vec::new();
    for i in 0..90usize {
        let payload = EventPayload::Escalation(Escalation {
            to: w.supplier.org_id(),
            categories: vec![categories[i % 3], categories[(i / 3) % 3]]
                .into_iter()
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect(),
            workers_affected: 1 + i as u32 % 5,
            site: sites[i % sites.len()].into(),
            requested_remedy: if i % 2 == 0 {
                "Repay wages"
            } else {
                "Return passports"
            }
            .into(),
            description: format!("Reported by caller {i}"),
            recruitment_fees: None,
            acknowledge_by: now.plus_days(1 + (i as u64 % 9)),
            remediate_by: now.plus_days(30),
        });
        opened.push(core.append(None, payload).await.expect("append").case_ref);
    }
    for case in opened.iter().step_by(7) {
        core.append(
            Some(*case),
            EventPayload::Closed {
                outcome: "closed".into(),
            },
        )
        .await
        .expect("close");
    }
    // Cases opened here and not escalated: not in the indexes. One older than every
    // escalated case, one newer, one opened in the same second as one of them (placed
    // among those of that second by its reference).
    let tied = crate::cases::state_of(&store, &opened[45])
        .expect("read")
        .expect("a state")
        .opened_at;
    for (n, opened_at) in [(200u8, now.0 - 7_200), (201, now.0 + 3_600), (150, tied.0)] {
        let l = crate::intake::LocalCase {
            case_ref: CaseRef([n; 16]),
            nonce: None,
            opened_at: Timestamp(opened_at),
            contacts: vec![],
            workers: 2,
            issues: vec![crate::intake::CaseIssue {
                category: IssueCategory::Deception,
                fee: None,
            }],
            supplier: Some(w.supplier.org_id()),
            agencies: vec![],
            site: "Factory 12 annex".into(),
            consent: vec![],
            opened_by: None,
        };
        let mut batch = crate::store::WriteBatch::new();
        batch
            .put(&crate::schema::LOCAL_CASES, l.case_ref.as_bytes(), &l)
            .expect("put");
        store.commit(batch).expect("commit");
    }
    let membership = membership_at(&w, Role::Cso);
    let me = w.cso.org_id();
    // Later, so that some acknowledgements are overdue and some not.
    let at = now.plus_days(5);
    let label = |c: IssueCategory| format!("{} label", c.code());
    let all = rows(&store, &membership, &me, at).expect("rows");
    let reference = opened[4].to_hex();
    let supplier = w.supplier.org_id().to_string();
    let me_hex = me.to_string();
    let mut queries = Vec::new();
    for q in [
        "",
        "site",
        "fact 12",
        "ค่าจ้าง",
        "deception",
        "supplier",
        &reference[..10],
        &reference[..4],
        "passports",
        "absent",
    ] {
        for (status, closed, overdue) in [
            ("", false, false),
            ("", true, false),
            ("escalated", false, true),
            ("closed", false, false),
            ("open", false, false),
        ] {
            for sort in ["opened", "due", "status"] {
                for (page, per_page) in [(1, 7), (3, 7), (12, 7), (2, 25), (4, 25)] {
                    queries.push(CaseQuery {
                        q: q.into(),
                        status: status.into(),
                        closed,
                        overdue,
                        sort: sort.into(),
                        page,
                        per_page,
                        ..Default::default()
                    });
                }
            }
        }
    }
    for (party, category) in [
        (supplier.as_str(), ""),
        (supplier.to_uppercase().as_str(), ""),
        ("", "deception"),
        (supplier.as_str(), "retention_of_identity_documents"),
    ] {
        for (closed, page) in [(false, 1), (true, 1), (true, 3)] {
            queries.push(CaseQuery {
                party: party.into(),
                category: category.into(),
                closed,
                page,
                per_page: 10,
                ..Default::default()
            });
        }
    }
    // Overdue with the supplier (read from the per-party due-date index), and with an
    // organisation that owes nothing.
    for (party, sort) in [
        (supplier.as_str(), "opened"),
        (supplier.as_str(), "due"),
        (me_hex.as_str(), "opened"),
    ] {
        for (closed, page) in [(false, 1), (true, 2)] {
            queries.push(CaseQuery {
                party: party.into(),
                overdue: true,
                sort: sort.into(),
                closed,
                page,
                per_page: 10,
                ..Default::default()
            });
        }
    }
    let today = humantime::format_rfc3339(
        std::time::UNIX_EPOCH
            .checked_add(std::time::Duration::from_secs(now.0))
            .expect("a time the clock can hold"),
    )
    .to_string();
    queries.push(CaseQuery {
        from: today[..10].into(),
        to: today[..10].into(),
        closed: true,
        ..Default::default()
    });
    let refs =
        |rows: &[crate::worklist::CaseRow]| rows.iter().map(|r| r.case_ref).collect::<Vec<_>>();
    let mut found = 0;
    // Pages whose search stopped counting.
    let mut wide = 0;
    for query in &queries {
        let slow = select(all.clone(), query, &label).expect("select");
        found += slow.total;
        let filter = Filter::parse(query).expect("query");
        // 0: every query intersects; 1 and 3: a newest-first query whose conditions each
        // hold more than 1 or 3 cases reads them in order (considering at most 8 or 24
        // cases), or else checks a smallest one of up to 64 or 192 cases by point reads
        // after growing bounds; 25: the list of every case is the smallest condition under
        // 100; 10,000: each checks the smallest one. Each counts every match, or at most 2
        // past the page.
        let every_case = query.q.is_empty()
            && query.status.is_empty()
            && !query.overdue
            && query.party.is_empty()
            && query.category.is_empty()
            && query.from.is_empty();
        for checked in [0, 1, 3, 25, 10_000] {
            for counted in [usize::MAX, 2] {
                let fast = page_checking(
                    &store,
                    &membership,
                    &me,
                    at,
                    &filter,
                    &label,
                    checked,
                    counted,
                )
                .expect("read")
                .expect("a CSO's list is answered from the indexes");
                let case = format!("{query:?} checking {checked}, counting {counted}");
                assert_eq!(refs(&fast.rows), refs(&slow.rows), "{case}");
                // The list of every case counts them all from the aggregates.
                assert!(!(every_case && fast.more), "{case}");
                if fast.more {
                    // Stopped counting: the page's cases and `counted` more (and the cases
                    // opened here), no more than there are, and a next page to go to.
                    wide += 1;
                    assert!(fast.total >= slow.page * query.per_page + counted, "{case}");
                    assert!(fast.total <= slow.total, "{case}");
                    assert_eq!(fast.page, slow.page, "{case}");
                    assert!(fast.page < fast.pages && fast.pages <= slow.pages, "{case}");
                } else {
                    assert_eq!(
                        (fast.total, fast.page, fast.pages),
                        (slow.total, slow.page, slow.pages),
                        "{case}"
                    );
                }
            }
        }
        // The export's selection: every row the query selects, pages aside, in order.
        let mut exported = Vec::new();
        crate::worklist::export::each_row(&store, &membership, &me, at, query, &label, &mut |r| {
            exported.push(r.case_ref);
            true
        })
        .expect("export");
        let mut every = all.clone();
        every.retain(|r| filter.matches(r, &label));
        every.sort_by_key(|r| filter.sort_key(r));
        assert_eq!(exported, refs(&every), "{query:?} exported");
    }
    assert!(found > 1_000, "the queries find cases: {found}");
    assert!(wide > 20, "some searches stopped counting: {wide}");
    // The supplier owes overdue acknowledgements here, as many as the dashboard counts.
    let owed = crate::aggregates::due::overdue_at(&store, &w.supplier.org_id(), at).expect("count");
    let with_supplier = CaseQuery {
        party: supplier.clone(),
        overdue: true,
        ..Default::default()
    };
    let listed = select(all.clone(), &with_supplier, &label)
        .expect("select")
        .total;
    assert!(owed > 0, "some acknowledgements are overdue");
    assert_eq!(owed, listed as u64);
    // An export whose receiver stops taking rows builds no more of them.
    let mut taken = 0;
    let handed = crate::worklist::export::each_row(
        &store,
        &membership,
        &me,
        at,
        &CaseQuery::default(),
        &label,
        &mut |_| {
            taken += 1;
            taken < 3
        },
    )
    .expect("export");
    assert_eq!((handed, taken), (3, 3));
    // Stopped at its first row, the newest case, opened here: nothing more is handed.
    let mut first = Vec::new();
    let handed = crate::worklist::export::each_row(
        &store,
        &membership,
        &me,
        at,
        &CaseQuery::default(),
        &label,
        &mut |r| {
            first.push(r.case_ref);
            false
        },
    )
    .expect("export");
    assert_eq!((handed, first), (1, vec![CaseRef([201; 16])]));
    // Control: with the search index emptied, a word query no longer gives the scan's page.
    let mut batch = crate::store::WriteBatch::new();
    for id in store
        .ids_after(&crate::schema::TERMS, 0, usize::MAX)
        .expect("ids")
    {
        batch.remove(&crate::schema::TERMS, &id);
    }
    store.commit(batch).expect("commit");
    let query = CaseQuery {
        q: "passports".into(),
        ..Default::default()
    };
    let filter = Filter::parse(&query).expect("query");
    let fast = page_checking(&store, &membership, &me, at, &filter, &label, 0, usize::MAX)
        .expect("read")
        .expect("page");
    assert_ne!(
        fast.total,
        select(all, &query, &label).expect("select").total
    );
    // A newest-first export reads its list as it hands rows, holding a chunk, not the
    // selection: the list of cases not closed emptied once the first row is handed, the
    // export hands fewer rows than the list held (the control, above: every one of them).
    let not_closed = every_row_of(&store, &membership, &me, at, &label, &mut |_| {});
    assert!(not_closed > 40, "{not_closed}");
    let handed = every_row_of(&store, &membership, &me, at, &label, &mut |store| {
        let mut batch = crate::store::WriteBatch::new();
        for id in store
            .ids_after(&crate::schema::OPENED, 0, usize::MAX)
            .expect("ids")
        {
            batch.remove(&crate::schema::OPENED, &id);
        }
        store.commit(batch).expect("commit");
    });
    assert!(
        handed > 0 && handed < not_closed,
        "{handed} of {not_closed}"
    );
}

/// How many rows the export of the default view (cases not closed, newest first) hands,
/// `first` called with the store when the first row is handed.
fn every_row_of(
    store: &crate::store::Store,
    membership: &crate::membership::MembershipState,
    me: &ilm_protocol::OrgId,
    at: ilm_protocol::Timestamp,
    label: &dyn Fn(IssueCategory) -> String,
    first: &mut dyn FnMut(&crate::store::Store),
) -> u64 {
    let mut rows = 0u64;
    crate::worklist::export::each_row(
        store,
        membership,
        me,
        at,
        &crate::worklist::CaseQuery::default(),
        label,
        &mut |_| {
            if rows == 0 {
                first(store);
            }
            rows += 1;
            true
        },
    )
    .expect("export")
}

/// A supplier's dashboard counts its open and overdue cases as its case list does (from the
/// aggregates and the due-date index, not its rows), and its own figures from one pass.
#[tokio::test]
async fn a_suppliers_dashboard_counts_as_its_case_list() {
    use crate::worklist::{CaseQuery, list};
    let w = world();
    let mut h = supplier_core(&w);
    for nonce in 1..=3 {
        let (root, _) = escalation(&w, nonce);
        h.deliver(&w, &seal(&w, &root));
    }
    let acks = h.acks(3).await;
    assert!(
        acks.iter().all(|(_, a)| *a == AckOutcome::Accepted),
        "{acks:?}"
    );
    let membership = membership_at(&w, Role::Supplier);
    let me = w.supplier.org_id();
    let label = |c: IssueCategory| c.code().to_string();
    // Before and after the acknowledgements fall due (7 days).
    for (at, overdue) in [
        (crate::membership::now(), 0),
        (crate::membership::now().plus_days(8), 3),
    ] {
        let board = crate::ui::figures::responder(&h.store, &me, at).expect("dashboard");
        let value = |key: &str| {
            board
                .tiles
                .iter()
                .find(|t| t.key == key)
                .map(|t| t.value.clone())
                .expect("tile")
        };
        let total = |q: CaseQuery| {
            list(&h.store, &membership, &me, at, &q, &label)
                .expect("list")
                .total
                .to_string()
        };
        assert_eq!(value("open_cases"), total(CaseQuery::default()));
        assert_eq!(
            value("overdue_items"),
            total(CaseQuery {
                overdue: true,
                ..Default::default()
            })
        );
        assert_eq!(value("open_cases"), "3");
        assert_eq!(value("overdue_items"), overdue.to_string());
        assert_eq!(value("to_answer"), "3");
    }
}
