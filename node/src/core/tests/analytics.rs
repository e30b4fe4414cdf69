//! Analytics and scale in the core: two versions of one published month in one delivery
//! batch, a restored node that may not publish a month again, and the bounded history cache.

use super::*;
use ilm_protocol::statistics::{Counts, MIN_K, suppress};
use ilm_protocol::{Month, PublishedStatistics};

fn publication(w: &World, month: Month, female: u64) -> Envelope {
    let counts: Counts = [("female".to_string(), female), ("male".to_string(), 9)].into();
    let body = PublishedStatistics {
        network_id: w.network.id(),
        publisher: w.cso.org_id(),
        month,
        k: MIN_K,
        published_at: month.end(),
        tables: vec![suppress("contacts.gender", &counts, MIN_K)],
    };
    let rec = SignedRecord::sign(&body, &w.cso).expect("sign");
    Envelope::seal(
        &w.cso,
        w.network.id(),
        MessageKind::PublishedStatistics,
        &[Recipient {
            org_id: w.supplier.org_id(),
            encryption_key: w.supplier.encryption_key(),
        }],
        crate::membership::now(),
        &serde_json::to_vec(&rec).expect("json"),
    )
    .expect("seal")
}

fn last_month() -> Month {
    Month::of(crate::membership::now())
        .previous()
        .expect("a month before this one")
}

#[tokio::test]
async fn two_versions_of_a_month_in_one_batch_keep_only_the_first() {
    let w = world();
    let (v1, v2) = (
        publication(&w, last_month(), 20),
        publication(&w, last_month(), 21),
    );
    // Control: each version alone is accepted.
    for v in [&v1, &v2] {
        let mut h = supplier_core(&w);
        h.deliver(&w, v);
        assert_eq!(h.acks(1).await[0].1, AckOutcome::Accepted);
    }
    // Both queued before the core runs: one batch, where the second must see the first.
    let mut h = supplier_core(&w);
    let (a, b) = (h.deliver(&w, &v1), h.deliver(&w, &v2));
    let mut acks = h.acks(2).await;
    acks.sort_by_key(|(id, _)| id.0);
    assert_eq!(acks[0], (a, AckOutcome::Accepted));
    assert!(
        matches!(&acks[1], (id, AckOutcome::Rejected(why)) if *id == b && why.contains("published once")),
        "{acks:?}"
    );
    let held = crate::statistics::held(&h.store).expect("held");
    assert_eq!(held.len(), 1);
    assert_eq!(
        held[0].table("contacts.gender").and_then(|t| t.total),
        Some(29)
    );
}

#[tokio::test]
async fn a_restored_node_does_not_publish_a_month_that_had_ended_again() {
    let w = world();
    // Control: a node never restored publishes last month.
    let (_d, _s, core, _p, _e) = cso_core(&w);
    core.publish_statistics(last_month(), MIN_K, None)
        .await
        .expect("published");
    let (_dir, store, core, _probe, _events) = cso_core(&w);
    let mut batch = WriteBatch::new();
    let now = crate::membership::now();
    batch
        .put(
            &crate::schema::RESTORE,
            crate::backup::RESTORE_ID,
            &crate::backup::RestoreState {
                backup_at: Timestamp(now.0 - 86_400),
                restored_at: now,
                answered: Default::default(),
            },
        )
        .expect("put");
    store.commit(batch).expect("commit");
    let err = core
        .publish_statistics(last_month(), MIN_K, None)
        .await
        .expect_err("refused");
    assert!(err.to_string().contains("restored from a backup"), "{err}");
    assert!(crate::statistics::held(&store).expect("held").is_empty());
}

/// Memory: the core keeps at most `MAX_CACHED_HISTORIES` case histories, however many cases
/// it stores (each is loaded again when needed).
#[tokio::test]
async fn the_core_keeps_a_bounded_number_of_histories_in_memory() {
    let w = world();
    let metrics = Arc::new(Metrics::default());
    let (_dir, store, core, _probe, _events) = cso_core_with(&w, metrics.clone());
    let payload = escalation_payload(&w);
    let open = |n: usize| {
        let handles: Vec<_> = (0..n)
            .map(|_| {
                let (core, payload) = (core.clone(), payload.clone());
                tokio::spawn(async move { core.append(None, payload).await })
            })
            .collect();
        async move {
            for h in handles {
                h.await.expect("task").expect("append");
            }
        }
    };
    // Control: below the bound, every case opened is cached (and counted).
    open(100).await;
    core.append(None, payload.clone()).await.expect("append");
    assert_eq!(metrics.snapshot().cached_histories, 101);
    for _ in 0..(MAX_CACHED_HISTORIES / 256 + 1) {
        open(256).await;
    }
    core.append(None, payload.clone()).await.expect("append");
    let cases = store.count(&crate::schema::CASE_STATES).expect("count");
    assert!(cases > MAX_CACHED_HISTORIES, "{cases} cases");
    let cached = metrics.snapshot().cached_histories;
    assert!(
        cached as usize <= MAX_CACHED_HISTORIES,
        "{cached} histories in memory for {cases} cases"
    );
    // Dropped histories load again: an old case still takes an event.
    let first = crate::cases::states(&store).expect("states")[0].case_ref;
    core.append(
        Some(first),
        EventPayload::Closed {
            outcome: "still here".into(),
        },
    )
    .await
    .expect("an event on a case no longer cached");
}

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

/// The CSO dashboard's response-time table reads each month's day histograms: newest month
/// first, the median and 90th percentile of what was counted, a dash where nothing was.
#[test]
fn the_response_time_table_gives_each_months_median_and_p90() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = crate::schema::open(&dir.path().join("db")).expect("store");
    let cells: crate::aggregates::Cells = [
        ("ack.days.2026-01.001", 5),
        ("ack.days.2026-01.002", 3),
        ("ack.days.2026-01.010", 2),
        ("remediated.days.2026-02.030", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    crate::aggregates::replace(&store, &cells, 100).expect("cells");
    let board = crate::ui::figures::cso(&store, crate::membership::now()).expect("dashboard");
    let rows: Vec<(String, u64, String, String, u64, String, String)> = board
        .response_times
        .iter()
        .map(|m| {
            (
                m.month.clone(),
                m.acknowledged,
                m.ack_median.clone(),
                m.ack_p90.clone(),
                m.reported,
                m.remediate_median.clone(),
                m.remediate_p90.clone(),
            )
        })
        .collect();
    let dash = "—".to_string();
    assert_eq!(
        rows,
        [
            (
                "2026-02".into(),
                0,
                dash.clone(),
                dash.clone(),
                1,
                "30.0".into(),
                "30.0".into()
            ),
            // Ten values 1,1,1,1,1,2,2,2,10,10: the median is between the 5th and the 6th.
            (
                "2026-01".into(),
                10,
                "1.5".into(),
                "10.0".into(),
                0,
                dash.clone(),
                dash
            ),
        ]
    );
}

/// Every case's heads are kept with its state (history sync reads them instead of loading
/// histories): after appends at the owner and a delivery at the party, the stored heads are
/// those of the case's history.
#[tokio::test]
async fn each_cases_heads_are_stored_with_its_state() {
    let w = world();
    let (_dir, store, core, _probe, _events) = cso_core(&w);
    let cases = open_cases(&w, &core, 3).await;
    core.append(
        Some(cases[0]),
        EventPayload::Closed {
            outcome: "closed".into(),
        },
    )
    .await
    .expect("close");
    let membership = membership_at(&w, Role::Cso);
    let check = |store: &crate::store::Store, membership: &MembershipState, case: &CaseRef| {
        let history = crate::cases::load_history(store, membership, case)
            .expect("load")
            .expect("held");
        let stored: Vec<ilm_protocol::EventHash> = crate::cases::record_of(store, case)
            .expect("read")
            .expect("heads stored")
            .heads;
        assert_eq!(stored, history.heads(), "{case}");
    };
    for case in &cases {
        check(&store, &membership, case);
    }
    // The closed case has one head, the closure, not the escalation.
    let first: Vec<ilm_protocol::EventHash> = crate::cases::record_of(&store, &cases[0])
        .expect("read")
        .expect("heads")
        .heads;
    assert_eq!(first.len(), 1);
    // At the party, a delivered escalation.
    let mut h = supplier_core(&w);
    let (root, case) = escalation(&w, 5);
    h.deliver(&w, &seal(&w, &root));
    assert_eq!(h.acks(1).await[0].1, AckOutcome::Accepted);
    let at_party = membership_at(&w, Role::Supplier);
    check(&h.store, &at_party, &case);
    assert_eq!(
        crate::cases::record_of(&h.store, &case)
            .expect("read")
            .map(|r| r.heads),
        Some(vec![root.digest()])
    );
}

/// A sync answer naming one case twice is stored as one entry with every event of both, so
/// its state change is staged (and its aggregates counted) once.
#[test]
fn a_sync_answer_naming_a_case_twice_becomes_one_entry() {
    use crate::net::proto::CaseEvents;
    let w = world();
    let (first, case) = escalation(&w, 1);
    let (other, other_case) = escalation(&w, 2);
    let merged = super::super::sync::one_entry_per_case([
        CaseEvents {
            case_ref: case,
            events: vec![first.clone()],
        },
        CaseEvents {
            case_ref: other_case,
            events: vec![other],
        },
        CaseEvents {
            case_ref: case,
            events: vec![first.clone()],
        },
    ]);
    let shape: Vec<(CaseRef, usize)> = merged
        .iter()
        .map(|c| (c.case_ref, c.events.len()))
        .collect();
    assert_eq!(shape, [(case, 2), (other_case, 1)]);
}
