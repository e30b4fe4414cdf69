//! How the core finds its cases without a case index: the start-up check reads the events'
//! ids, and the sync offered to an admitted member reads the read model.

use super::*;
use ilm_protocol::CaseState;

/// Removes a case's read model, as a release before it left the case.
fn strip(store: &Store, case: &CaseRef) {
    let mut batch = WriteBatch::new();
    batch.remove(&crate::schema::CASE_STATES, case.as_bytes());
    store.commit(batch).expect("commit");
}

/// Keeps a case's state without heads, as the migration leaves a case that had none.
fn strip_heads(store: &Store, case: &CaseRef) {
    let state = crate::cases::state_of(store, case)
        .expect("read")
        .expect("state");
    let mut batch = WriteBatch::new();
    crate::cases::put_record(&mut batch, &state, &[]).expect("put");
    store.commit(batch).expect("commit");
}

fn state_and_heads(store: &Store, case: &CaseRef) -> Option<(CaseState, Vec<EventHash>)> {
    crate::cases::record_of(store, case)
        .expect("read")
        .map(|r| (r.state, r.heads))
}

/// The start-up look for cases without a state or heads (a database of an earlier release)
/// builds what is missing and records that nothing is, so later starts skip it: at a million
/// cases it reads every one for half a minute.
#[tokio::test]
async fn the_start_up_check_builds_missing_states_once_and_records_it() {
    let w = world();
    let (dir, store, core, _probe, _events) = cso_core(&w);
    let mut cases = Vec::new();
    for _ in 0..4 {
        let appended = core
            .append(None, escalation_payload(&w))
            .await
            .expect("append");
        cases.push(appended.case_ref);
    }
    assert!(
        store.states_complete().expect("read"),
        "a new database has nothing to build"
    );
    let before: Vec<_> = cases
        .iter()
        .map(|c| state_and_heads(&store, c).expect("stored with the events"))
        .collect();
    assert!(before.iter().all(|(_, heads)| heads.len() == 1));

    // A database as an earlier release left it: a case without its read model, another
    // without heads, and no record. The core answers commands only once its start-up check
    // is done, so a closure of another case waits for it.
    let data = DataDir::new(dir.path().join("node"));
    let closed = || EventPayload::Closed {
        outcome: "closed".into(),
    };
    strip(&store, &cases[0]);
    strip_heads(&store, &cases[1]);
    store.forget_states_complete().expect("forget");
    let (restarted, _probe2, _events2) =
        cso_core_over(&w, &data, store.clone(), Arc::new(Metrics::default()));
    restarted
        .append(Some(cases[2]), closed())
        .await
        .expect("close");
    for i in 0..2 {
        assert_eq!(
            state_and_heads(&store, &cases[i]).as_ref(),
            Some(&before[i]),
            "the missing read model is built from the events"
        );
    }
    assert!(store.states_complete().expect("read"));

    // Once recorded, a start does not look again: a case stripped now is not rebuilt.
    strip(&store, &cases[0]);
    let (again, _probe3, _events3) =
        cso_core_over(&w, &data, store.clone(), Arc::new(Metrics::default()));
    again.append(Some(cases[3]), closed()).await.expect("close");
    assert_eq!(state_and_heads(&store, &cases[0]), None);
}

/// An admitted member is offered the heads of every case it takes part in, listed from the
/// read model; no case index is written.
#[tokio::test]
async fn an_admitted_member_is_offered_every_shared_case_from_the_read_model() {
    let w = world();
    let (_dir, store, core, mut probe, events) = cso_core(&w);
    let mut cases = std::collections::BTreeSet::new();
    for _ in 0..3 {
        let appended = core
            .append(None, escalation_payload(&w))
            .await
            .expect("append");
        cases.insert(appended.case_ref);
    }
    assert_eq!(store.count(&crate::schema::CASES).expect("count"), 0);
    probe.drain();
    let hello = crate::net::proto::Hello {
        certificate: w.supplier_cert.clone(),
        revocations: vec![],
        successions: vec![],
    };
    events
        .send(NetEvent::Admitted {
            peer: peer_id_of(&w.supplier.org_id()).expect("peer"),
            org: w.supplier.org_id(),
            hello,
        })
        .await
        .expect("send");
    let offered = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match probe.next().await {
                Some(Sent::Request {
                    request: crate::net::proto::Request::Sync(s),
                    ..
                }) => return s.cases,
                Some(_) => continue,
                None => panic!("core stopped"),
            }
        }
    })
    .await
    .expect("a sync offer in time");
    let offered_cases: std::collections::BTreeSet<CaseRef> =
        offered.iter().map(|c| c.case_ref).collect();
    assert_eq!(offered_cases, cases);
    for c in &offered {
        let (_, heads) = state_and_heads(&store, &c.case_ref).expect("stored");
        assert_eq!(c.heads, heads);
    }
}
