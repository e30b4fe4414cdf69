//! What a supplier sends back, in the CSO's core: a verdict, its reopen and its
//! re-escalation stored in one batch; a request to deliver again requeues only the
//! requester's recent entries, once.

use super::*;

/// An event by the supplier following `parents`, sealed to the CSO.
fn from_supplier(
    w: &World,
    case: CaseRef,
    parents: Vec<EventHash>,
    payload: EventPayload,
) -> (SignedRecord, Envelope) {
    let event = CaseEvent {
        network_id: w.network.id(),
        case_ref: case,
        case_nonce: None,
        parents,
        author: w.supplier.org_id(),
        authored_at: crate::membership::now(),
        payload,
    };
    let rec = SignedRecord::sign(&event, &w.supplier).expect("sign");
    let env = Envelope::seal(
        &w.supplier,
        w.network.id(),
        MessageKind::CaseEvent,
        &[Recipient {
            org_id: w.cso.org_id(),
            encryption_key: w.cso.encryption_key(),
        }],
        crate::membership::now(),
        &serde_json::to_vec(&rec).expect("json"),
    )
    .expect("seal");
    (rec, env)
}

#[tokio::test]
async fn a_verdict_its_reopen_and_its_re_escalation_are_one_batch() {
    let w = world();
    let (_dir, store, core, mut probe, events) = cso_core(&w);
    let payload = escalation_payload(&w);
    let case = core.append(None, payload).await.expect("escalate").case_ref;
    let mut parents = vec![
        store
            .scan(&crate::schema::EVENTS, case.as_bytes())
            .expect("events")[0]
            .digest(),
    ];
    for (n, payload) in [
        EventPayload::Acknowledgement { note: "ok".into() },
        EventPayload::RemediationReported {
            summary: "paid".into(),
        },
    ]
    .into_iter()
    .enumerate()
    {
        let (rec, env) = from_supplier(&w, case, parents.clone(), payload);
        events
            .send(NetEvent::Inbound {
                peer: peer_id_of(&w.supplier.org_id()).expect("peer"),
                org: w.supplier.org_id(),
                request: Request::Deliver(env),
                reply: InboundId(n as u64),
            })
            .await
            .expect("send");
        loop {
            match probe.next().await {
                Some(Sent::Respond { .. }) => break,
                Some(_) => continue,
                None => panic!("core stopped"),
            }
        }
        parents = vec![rec.digest()];
    }
    assert_eq!(
        store
            .scan(&crate::schema::EVENTS, case.as_bytes())
            .expect("events")
            .len(),
        3
    );
    // The disk is full: nothing of the workflow is stored, not even the verdict.
    store.inject_flush_failures(1);
    let failed = core
        .record_verdict(case, Verdict::NotResolved, 4, String::new(), None)
        .await;
    assert!(matches!(failed, Err(CoreError::Storage(_))), "{failed:?}");
    assert_eq!(
        store
            .scan(&crate::schema::EVENTS, case.as_bytes())
            .expect("events")
            .len(),
        3
    );
    // Once it works: verdict, reopen and re-escalation, in one flush.
    let before = store.flush_count();
    let done = core
        .record_verdict(case, Verdict::NotResolved, 4, String::new(), None)
        .await
        .expect("verdict");
    assert!(done.reopened);
    assert_eq!(done.re_escalated.len(), 1);
    assert_eq!(store.flush_count() - before, 1);
    assert_eq!(
        store
            .scan(&crate::schema::EVENTS, case.as_bytes())
            .expect("events")
            .len(),
        6
    );
    let state = crate::cases::state_of(&store, &case)
        .expect("read")
        .expect("state");
    assert_eq!(state.status(), ilm_protocol::CaseStatus::Escalated);
    assert_eq!(state.reopens, 1);
    // A verdict now is refused by the lifecycle (nothing reported since the re-escalation),
    // as a refusal (4xx), not a storage failure.
    let refused = core
        .record_verdict(case, Verdict::Resolved, 4, String::new(), None)
        .await;
    assert!(matches!(refused, Err(CoreError::Refused(_))), "{refused:?}");
}

/// The next answer the core sent to an inbound request.
async fn next_answer(h: &mut Harness) -> Response {
    loop {
        let sent = tokio::time::timeout(Duration::from_secs(10), h.probe.next())
            .await
            .expect("an answer in time")
            .expect("probe open");
        if let Sent::Respond { response, .. } = sent {
            return response;
        }
    }
}

/// An outbox entry of `h`'s node for `to`, acknowledged at `first` (when first delivered).
fn delivered_entry(w: &World, to: OrgId, first: u64) -> OutboxEntry {
    let (rec, case) = escalation(w, (first % 200) as u8);
    let env = seal(w, &rec);
    let id = env.claimed_header().expect("header").message_id;
    let mut e = OutboxEntry::new(
        env,
        to,
        MessageKind::CaseEvent,
        id,
        Some(case),
        Timestamp(first),
    );
    e.state = crate::records::DeliveryState::Delivered;
    e.delivered_at = Some(Timestamp(first));
    e
}

#[tokio::test]
async fn a_request_to_deliver_again_requeues_only_the_requester_s_recent_entries_once() {
    let w = world();
    let mut h = supplier_core(&w);
    let now = crate::membership::now().0;
    let cso = w.cso.org_id();
    let since = now - 3_600;
    let entries = [
        delivered_entry(&w, cso, now - 60),     // after the backup: again
        delivered_entry(&w, cso, since - 30),   // within the clock margin: again
        delivered_entry(&w, cso, now - 86_400), // before the backup: not
        delivered_entry(&w, w.steward.org_id(), now - 60), // to someone else: not
    ];
    let mut batch = WriteBatch::new();
    for e in &entries {
        batch
            .put(
                &crate::schema::OUTBOX,
                &crate::schema::outbox_id(&e.message_id, &e.recipient),
                e,
            )
            .expect("put");
    }
    h.store.commit(batch).expect("commit");
    let ask = |h: &mut Harness, since: u64| {
        h.next += 1;
        let id = InboundId(h.next);
        h.events
            .try_send(NetEvent::Inbound {
                peer: peer_id_of(&cso).expect("peer"),
                org: cso,
                request: Request::Redeliver(crate::net::proto::RedeliverRequest {
                    since: Timestamp(since),
                }),
                reply: id,
            })
            .expect("queue");
        id
    };
    ask(&mut h, since);
    match next_answer(&mut h).await {
        Response::Redelivered(r) => {
            assert_eq!(r.requeued, 2, "{r:?}");
            assert!(r.complete);
        }
        other => panic!("unexpected answer {other:?}"),
    }
    // The requeued entries keep their first delivery time, so pruning still counts from it.
    let stored = h.store.scan(&crate::schema::OUTBOX, &[]).expect("scan");
    let again = stored
        .iter()
        .filter(|e| e.first_delivered_at.is_some())
        .count();
    assert_eq!(again, 2);
    // Asking again at once (or from the beginning of time) gets nothing.
    ask(&mut h, 0);
    assert!(matches!(next_answer(&mut h).await, Response::Refused(_)));
}
