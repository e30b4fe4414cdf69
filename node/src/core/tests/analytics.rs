//! Analytics and scale in the core: two versions of one published month in one delivery
//! batch, a restored node that may not publish a month again, the bounded history cache, the
//! response-time table, each case's heads stored with its state, and a sync answer naming a
//! case twice.

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
    crate::aggregates::replace(&store, &cells.into_iter().collect(), 100).expect("cells");
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
