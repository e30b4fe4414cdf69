//! How the core finds its cases without a case index: the start-up check reads what is left
//! of an earlier release's index, and the sync offered to an admitted member finds its
//! cases in the search index and reads their records.

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

/// Lists a case in the case index, as an earlier release did every case.
fn list(store: &Store, case: &CaseRef) {
    let meta = crate::records::CaseMeta {
        case_ref: *case,
        first_seen: T0,
    };
    let mut batch = WriteBatch::new();
    batch
        .put(&crate::schema::CASES, case.as_bytes(), &meta)
        .expect("put");
    store.commit(batch).expect("commit");
}

/// The start-up check builds the read model of the cases an earlier release listed in its
/// index where it is missing or has no heads, and takes each case off the index as it does;
/// a case not listed there is not looked at (the check used to read every case at each
/// start: half a minute at a million).
#[tokio::test]
async fn the_start_up_check_builds_the_listed_cases_read_model_and_empties_the_list() {
    let w = world();
    let (dir, store, core, _probe, _events) = cso_core(&w);
    let cases = open_cases(&w, &core, 5).await;
    let before: Vec<_> = cases
        .iter()
        .map(|c| state_and_heads(&store, c).expect("stored with the events"))
        .collect();
    assert!(before.iter().all(|(_, heads)| heads.len() == 1));

    // As an earlier release and the migration leave it: a listed case without its record,
    // one without heads, one complete; and a case stripped but not listed. The core answers
    // commands only once its start-up check is done, so a closure waits for it.
    for c in &cases[..3] {
        list(&store, c);
    }
    strip(&store, &cases[0]);
    strip_heads(&store, &cases[1]);
    strip(&store, &cases[3]);
    let data = DataDir::new(dir.path().join("node"));
    let (restarted, _probe2, _events2) =
        cso_core_over(&w, &data, store.clone(), Arc::new(Metrics::default()));
    let closed = EventPayload::Closed {
        outcome: "closed".into(),
    };
    restarted
        .append(Some(cases[4]), closed)
        .await
        .expect("close");
    for i in 0..3 {
        assert_eq!(
            state_and_heads(&store, &cases[i]).as_ref(),
            Some(&before[i]),
            "case {i}: the listed case's read model is built from its events"
        );
    }
    assert_eq!(
        state_and_heads(&store, &cases[3]),
        None,
        "not listed, not read"
    );
    assert_eq!(store.count(&crate::schema::CASES).expect("count"), 0);
}

/// The record of the first of `cases`, under another reference (a case the test then
/// stores out of step with the index).
fn copy_of_first(
    store: &Store,
    cases: &std::collections::BTreeSet<CaseRef>,
    case_ref: CaseRef,
) -> crate::records::CaseRecord {
    let first = cases.first().expect("a case");
    let mut copy = crate::cases::record_of(store, first)
        .expect("read")
        .expect("record");
    copy.state.case_ref = case_ref;
    copy
}

/// What the core offers the supplier once it is admitted.
async fn offer_to_supplier(
    w: &World,
    events: &mpsc::Sender<NetEvent>,
    probe: &mut Probe,
) -> Vec<crate::net::proto::CaseHeads> {
    probe.drain();
    let hello = crate::net::proto::Hello {
        certificate: w.supplier_cert.clone(),
        revocations: vec![],
        successions: vec![],
    };
    admit(events, &w.supplier, hello).await;
    next_sent(probe, "a sync offer", |sent| match sent {
        Sent::Request {
            request: crate::net::proto::Request::Sync(s),
            ..
        } => Some(s.cases),
        _ => None,
    })
    .await
}

/// An admitted member is offered every case it takes part in, with the heads the case's
/// read-model record holds; no case index is written.
#[tokio::test]
async fn an_admitted_member_is_offered_every_shared_case_with_its_stored_heads() {
    let w = world();
    let (_dir, store, core, mut probe, events) = cso_core(&w);
    let cases: std::collections::BTreeSet<CaseRef> =
        open_cases(&w, &core, 3).await.into_iter().collect();
    assert_eq!(store.count(&crate::schema::CASES).expect("count"), 0);
    let offered = offer_to_supplier(&w, &events, &mut probe).await;
    let offered_cases: std::collections::BTreeSet<CaseRef> =
        offered.iter().map(|c| c.case_ref).collect();
    assert_eq!(offered_cases, cases);
    for c in &offered {
        let (_, heads) = state_and_heads(&store, &c.case_ref).expect("stored");
        assert_eq!(c.heads, heads);
    }
}

/// The offer lists the member's cases from the search index's pair terms and reads only
/// their records: a case record the index does not list is not read (the offer used to
/// read every case record, seconds of the core's time at a million cases).
#[tokio::test]
async fn the_sync_offer_reads_only_the_cases_the_index_lists_with_the_member() {
    let w = world();
    let (_dir, store, core, mut probe, events) = cso_core(&w);
    let cases: std::collections::BTreeSet<CaseRef> =
        open_cases(&w, &core, 3).await.into_iter().collect();
    let unlisted = copy_of_first(&store, &cases, CaseRef([0xee; 16]));
    assert!(
        unlisted.state.is_participant(&w.supplier.org_id()),
        "control: a full read of the records would offer it"
    );
    let mut batch = WriteBatch::new();
    crate::cases::put_record(&mut batch, &unlisted.state, &unlisted.heads).expect("put");
    store.commit(batch).expect("commit");
    let offered: std::collections::BTreeSet<CaseRef> = offer_to_supplier(&w, &events, &mut probe)
        .await
        .iter()
        .map(|c| c.case_ref)
        .collect();
    assert_eq!(offered, cases, "not listed, not read");
}

/// A case the index lists with the member but whose record says it takes no part (an index
/// out of step with the records) is not offered: the record has the last word.
#[tokio::test]
async fn the_sync_offer_leaves_out_a_case_whose_record_names_another_party() {
    let w = world();
    let (_dir, store, core, mut probe, events) = cso_core(&w);
    let cases: std::collections::BTreeSet<CaseRef> =
        open_cases(&w, &core, 2).await.into_iter().collect();
    let record = copy_of_first(&store, &cases, CaseRef([0xdd; 16]));
    let listed = record.state.clone();
    let mut stored = listed.clone();
    for p in &mut stored.parties {
        p.party = OrgId([0x77; 32]);
    }
    let mut pending = crate::aggregates::Pending::new();
    pending.case(None, &listed);
    let mut batch = WriteBatch::new();
    pending.stage(&store, &mut batch).expect("stage");
    crate::cases::put_record(&mut batch, &stored, &record.heads).expect("put");
    store.commit(batch).expect("commit");
    assert!(
        crate::aggregates::terms::cases_with(&store, &w.supplier.org_id())
            .expect("list")
            .contains(&listed.case_ref),
        "control: the index lists it with the supplier"
    );
    let offered: std::collections::BTreeSet<CaseRef> = offer_to_supplier(&w, &events, &mut probe)
        .await
        .iter()
        .map(|c| c.case_ref)
        .collect();
    assert_eq!(offered, cases);
}
