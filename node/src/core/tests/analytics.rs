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
    let cases = store.count(&crate::schema::CASES).expect("count");
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

/// The case list's first page read from the indexes is the page a full scan gives: same
/// rows in the same order (ties on the opening second broken by reference), same totals.
#[tokio::test]
async fn the_first_page_from_the_indexes_is_the_page_a_full_scan_gives() {
    use crate::worklist::{CaseQuery, first_page, rows, select};
    let w = world();
    let (_dir, store, core, _probe, _events) = cso_core(&w);
    let payload = escalation_payload(&w);
    let mut opened = Vec::new();
    for _ in 0..40 {
        opened.push(
            core.append(None, payload.clone())
                .await
                .expect("append")
                .case_ref,
        );
    }
    for case in &opened[..3] {
        core.append(
            Some(*case),
            EventPayload::Closed {
                outcome: "closed".into(),
            },
        )
        .await
        .expect("close");
    }
    let membership = MembershipState::new(
        w.network.clone(),
        w.cso_cert.clone(),
        vec![w.supplier_cert.clone()],
        vec![],
    )
    .expect("membership");
    let me = w.cso.org_id();
    let now = crate::membership::now();
    let refs =
        |rows: &[crate::worklist::CaseRow]| rows.iter().map(|r| r.case_ref).collect::<Vec<_>>();
    let query = CaseQuery {
        per_page: 10,
        ..Default::default()
    };
    let fast = first_page(&store, &membership, &me, now, &query)
        .expect("read")
        .expect("the default view takes the indexes");
    let all = rows(&store, &membership, &me, now).expect("rows");
    let slow = select(all.clone(), &query, &|c| c.code().to_string()).expect("select");
    assert_eq!(refs(&fast.rows), refs(&slow.rows));
    assert_eq!((fast.total, fast.pages), (slow.total, slow.pages));
    assert_eq!(fast.total, 37, "closed cases are not counted");
    // Control: a filtered view or another page is not answered from the indexes.
    for other in [
        CaseQuery {
            status: "escalated".into(),
            ..Default::default()
        },
        CaseQuery {
            page: 2,
            ..Default::default()
        },
        CaseQuery {
            closed: true,
            ..Default::default()
        },
    ] {
        assert!(
            first_page(&store, &membership, &me, now, &other)
                .expect("read")
                .is_none()
        );
    }
}
