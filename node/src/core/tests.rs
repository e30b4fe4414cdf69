//! The core without libp2p: deliveries go in as `NetEvent`s, answers come out on a detached
//! `NetClient`'s probe.

use super::*;
use crate::datadir::DataDir;
use crate::membership::peer_id_of;
use crate::net::{Probe, Sent};
use ilm_protocol::event::Escalation;
use ilm_protocol::{
    CaseNonce, IssueCategory, MembershipCertificate, Network, NetworkGenesis, Revocation, Role,
    Verdict,
};
use std::time::Duration;

mod analytics;
/// The case list's pages and a supplier's dashboard, from the indexes.
mod case_list;
/// What a supplier sends back: a verdict and its reopen, a request to deliver again.
mod replies;
mod start;

const T0: Timestamp = Timestamp(1_767_225_600);

struct World {
    network: Network,
    steward: OrgKeys,
    cso: OrgKeys,
    cso_cert: SignedRecord,
    supplier: OrgKeys,
    supplier_cert: SignedRecord,
}

fn cert(network: &Network, steward: &OrgKeys, keys: &OrgKeys, role: Role) -> SignedRecord {
    SignedRecord::sign(
        &MembershipCertificate {
            network_id: network.id(),
            org_id: keys.org_id(),
            name: format!("{role} org"),
            role,
            country: "TH".parse().expect("country"),
            encryption_key: keys.encryption_key(),
            not_before: T0,
            not_after: Timestamp(u32::MAX as u64 * 2),
            issuer: steward.org_id(),
            issued_at: T0,
            signing_key: None,
            earlier_keys: Vec::new(),
        },
        steward,
    )
    .expect("certificate")
}

fn world() -> World {
    let k = |n: u8| OrgKeys::from_secret_bytes([n; 32], [n + 100; 32]);
    let steward = k(1);
    let genesis = SignedRecord::sign(
        &NetworkGenesis {
            name: "Core tests".into(),
            stewards: vec![steward.org_id()],
            created_at: T0,
        },
        &steward,
    )
    .expect("genesis");
    let network = Network::from_genesis(&genesis).expect("network");
    let (cso, supplier) = (k(2), k(3));
    World {
        cso_cert: cert(&network, &steward, &cso, Role::Cso),
        supplier_cert: cert(&network, &steward, &supplier, Role::Supplier),
        network,
        steward,
        cso,
        supplier,
    }
}

/// A running core for the supplier, with what drives it and what it sends.
struct Harness {
    _dir: tempfile::TempDir,
    store: Arc<Store>,
    events: mpsc::Sender<NetEvent>,
    probe: Probe,
    next: u64,
}

/// The membership state of the world's CSO or supplier (its own certificate, the other's
/// known).
fn membership_at(w: &World, role: Role) -> MembershipState {
    let (own, other) = match role {
        Role::Cso => (&w.cso_cert, &w.supplier_cert),
        _ => (&w.supplier_cert, &w.cso_cert),
    };
    MembershipState::new(w.network.clone(), own.clone(), vec![other.clone()], vec![])
        .expect("membership")
}

fn supplier_core(w: &World) -> Harness {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = DataDir::new(dir.path().join("node"));
    data.create_dir().expect("dir");
    let store = Arc::new(crate::schema::open(&data.db_path()).expect("store"));
    let membership = Arc::new(membership_at(w, Role::Supplier));
    let local = peer_id_of(&w.supplier.org_id()).expect("peer");
    let (net, probe) = NetClient::detached(local);
    let metrics = Arc::new(Metrics::default());
    let (outbox, _) = crate::outbox::spawn(
        store.clone(),
        net.clone(),
        membership.clone(),
        metrics.clone(),
        crate::outbox::RETENTION,
    )
    .expect("outbox");
    let (tx, rx) = mpsc::channel(64);
    let keys = Arc::new(OrgKeys::from_secret_bytes(
        w.supplier.signing_seed(),
        w.supplier.encryption_secret(),
    ));
    let _ = spawn(
        CoreParts {
            keys,
            store: store.clone(),
            membership,
            net,
            outbox,
            metrics,
            vault: Arc::new(crate::vault::Vault::open(&data).expect("vault")),
            outbox_retention: crate::outbox::RETENTION,
        },
        rx,
    );
    Harness {
        _dir: dir,
        store,
        events: tx,
        probe,
        next: 0,
    }
}

impl Harness {
    /// Queues a delivery from the CSO (not awaited: several queue into one batch).
    fn deliver(&mut self, w: &World, env: &Envelope) -> InboundId {
        self.next += 1;
        let id = InboundId(self.next);
        self.events
            .try_send(NetEvent::Inbound {
                peer: peer_id_of(&w.cso.org_id()).expect("peer"),
                org: w.cso.org_id(),
                request: Request::Deliver(env.clone()),
                reply: id,
            })
            .expect("queue");
        id
    }

    /// The acknowledgement outcomes sent, by inbound id, until `n` arrived.
    async fn acks(&mut self, n: usize) -> Vec<(InboundId, AckOutcome)> {
        let mut out = Vec::new();
        while out.len() < n {
            let sent = tokio::time::timeout(Duration::from_secs(10), self.probe.next())
                .await
                .expect("an answer in time")
                .expect("probe open");
            if let Sent::Respond {
                id,
                response: Response::Ack(ack),
            } = sent
            {
                out.push((id, ack.outcome));
            }
        }
        out
    }
}

fn escalation(w: &World, nonce: u8) -> (SignedRecord, CaseRef) {
    let nonce = CaseNonce([nonce; 16]);
    let case = CaseRef::derive(&w.cso.org_id(), &nonce);
    let now = crate::membership::now();
    let event = CaseEvent {
        network_id: w.network.id(),
        case_ref: case,
        case_nonce: Some(nonce),
        parents: vec![],
        author: w.cso.org_id(),
        authored_at: now,
        payload: EventPayload::Escalation(Escalation {
            to: w.supplier.org_id(),
            categories: vec![IssueCategory::WithholdingOfWages],
            workers_affected: 3,
            site: "Site".into(),
            requested_remedy: "Pay".into(),
            description: "Unpaid".into(),
            recruitment_fees: None,
            acknowledge_by: now.plus_days(7),
            remediate_by: now.plus_days(30),
        }),
    };
    (SignedRecord::sign(&event, &w.cso).expect("sign"), case)
}

/// The payload of an escalation to the supplier, for the CSO's core to append (it signs and
/// dates it itself).
fn escalation_payload(w: &World) -> EventPayload {
    let (root, _) = escalation(w, 9);
    serde_json::from_slice::<CaseEvent>(&root.body)
        .expect("event")
        .payload
}

/// Opens `n` cases at the CSO, each escalated to the supplier, in order.
async fn open_cases(w: &World, core: &CoreClient, n: usize) -> Vec<CaseRef> {
    let mut cases = Vec::with_capacity(n);
    for _ in 0..n {
        let appended = core
            .append(None, escalation_payload(w))
            .await
            .expect("append");
        cases.push(appended.case_ref);
    }
    cases
}

/// Tells the core that `org` was admitted with `hello`, as the network task does.
async fn admit(events: &mpsc::Sender<NetEvent>, org: &OrgKeys, hello: crate::net::proto::Hello) {
    events
        .send(NetEvent::Admitted {
            peer: peer_id_of(&org.org_id()).expect("peer"),
            org: org.org_id(),
            hello,
        })
        .await
        .expect("send");
}

/// The first thing the core sends that `pick` takes, within 10 s.
async fn next_sent<T>(probe: &mut Probe, what: &str, mut pick: impl FnMut(Sent) -> Option<T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match probe.next().await {
                Some(sent) => {
                    if let Some(t) = pick(sent) {
                        return t;
                    }
                }
                None => panic!("the core stopped before {what}"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{what} in time"))
}

fn seal(w: &World, rec: &SignedRecord) -> Envelope {
    Envelope::seal(
        &w.cso,
        w.network.id(),
        MessageKind::CaseEvent,
        &[Recipient {
            org_id: w.supplier.org_id(),
            encryption_key: w.supplier.encryption_key(),
        }],
        crate::membership::now(),
        &serde_json::to_vec(rec).expect("json"),
    )
    .expect("seal")
}

#[tokio::test]
async fn a_message_twice_in_one_batch_is_stored_once() {
    let w = world();
    let mut h = supplier_core(&w);
    let (rec, case) = escalation(&w, 1);
    let env = seal(&w, &rec);
    let (a, b) = (h.deliver(&w, &env), h.deliver(&w, &env));
    let mut acks = h.acks(2).await;
    acks.sort_by_key(|(id, _)| id.0);
    assert_eq!(
        acks,
        vec![(a, AckOutcome::Accepted), (b, AckOutcome::Duplicate)]
    );
    assert_eq!(
        h.store
            .scan(&crate::schema::EVENTS, case.as_bytes())
            .expect("events")
            .len(),
        1
    );
    assert_eq!(h.store.count(&crate::schema::PROCESSED).expect("count"), 1);
}

#[tokio::test]
async fn a_failed_commit_leaves_no_cached_event_behind() {
    let w = world();
    let mut h = supplier_core(&w);
    let (root, case) = escalation(&w, 2);
    h.store.inject_flush_failures(1);
    h.deliver(&w, &seal(&w, &root));
    assert!(matches!(h.acks(1).await[0].1, AckOutcome::Retry(_)));
    // A child of the root: had the core kept the root in its cache, it would accept the
    // child and store it without its parent.
    let child = CaseEvent {
        network_id: w.network.id(),
        case_ref: case,
        case_nonce: None,
        parents: vec![root.digest()],
        author: w.cso.org_id(),
        authored_at: crate::membership::now(),
        payload: EventPayload::Closed {
            outcome: "withdrawn".into(),
        },
    };
    let child = SignedRecord::sign(&child, &w.cso).expect("sign");
    h.deliver(&w, &seal(&w, &child));
    match &h.acks(1).await[0].1 {
        AckOutcome::Retry(why) => assert!(why.contains("missing earlier events"), "{why}"),
        other => panic!("the child was taken without its parent: {other:?}"),
    }
    assert!(
        h.store
            .scan(&crate::schema::EVENTS, case.as_bytes())
            .expect("events")
            .is_empty()
    );
    // Once storage works, the root is accepted (not taken for a duplicate), then the child.
    h.deliver(&w, &seal(&w, &root));
    assert_eq!(h.acks(1).await[0].1, AckOutcome::Accepted);
    h.deliver(&w, &seal(&w, &child));
    assert_eq!(h.acks(1).await[0].1, AckOutcome::Accepted);
    assert_eq!(
        h.store
            .scan(&crate::schema::EVENTS, case.as_bytes())
            .expect("events")
            .len(),
        2
    );
}

#[tokio::test]
async fn a_revocation_however_learned_disconnects_the_revoked_peer() {
    let w = world();
    let mut h = supplier_core(&w);
    let revocation = SignedRecord::sign(
        &Revocation {
            network_id: w.network.id(),
            org_id: w.cso.org_id(),
            reason: "suspended".into(),
            revoked_at: crate::membership::now(),
            issuer: w.steward.org_id(),
        },
        &w.steward,
    )
    .expect("revocation");
    // Learned from another member's hello (admission learns it first, as the network task
    // does), not from gossip.
    let hello = crate::net::proto::Hello {
        certificate: w.cso_cert.clone(),
        revocations: vec![revocation.clone()],
        successions: vec![],
    };
    admit(&h.events, &w.steward, hello).await;
    let cso_peer = peer_id_of(&w.cso.org_id()).expect("peer");
    next_sent(&mut h.probe, "a disconnection", |sent| {
        matches!(sent, Sent::Disconnect(p) if p == cso_peer).then_some(())
    })
    .await;
    assert!(h.store.revocation(&w.cso.org_id()).expect("read").is_some());
}

/// A running core for the CSO (it appends and seals to the supplier), with its store, the
/// network probe and the sender of network events (kept so that the core keeps running).
type CsoCore = (
    tempfile::TempDir,
    Arc<Store>,
    CoreClient,
    Probe,
    mpsc::Sender<NetEvent>,
);

fn cso_core(w: &World) -> CsoCore {
    cso_core_with(w, Arc::new(Metrics::default()))
}

/// A CSO core reporting to `metrics`.
fn cso_core_with(w: &World, metrics: Arc<Metrics>) -> CsoCore {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = DataDir::new(dir.path().join("node"));
    data.create_dir().expect("dir");
    let store = Arc::new(crate::schema::open(&data.db_path()).expect("store"));
    let (core, probe, events) = cso_core_over(w, &data, store.clone(), metrics);
    (dir, store, core, probe, events)
}

/// A CSO core started over `store` (a restart, when an earlier core wrote it).
fn cso_core_over(
    w: &World,
    data: &DataDir,
    store: Arc<Store>,
    metrics: Arc<Metrics>,
) -> (CoreClient, Probe, mpsc::Sender<NetEvent>) {
    let membership = Arc::new(membership_at(w, Role::Cso));
    let (net, probe) = NetClient::detached(peer_id_of(&w.cso.org_id()).expect("peer"));
    let (outbox, _) = crate::outbox::spawn(
        store.clone(),
        net.clone(),
        membership.clone(),
        metrics.clone(),
        crate::outbox::RETENTION,
    )
    .expect("outbox");
    let (events, rx) = mpsc::channel(8);
    let keys = Arc::new(OrgKeys::from_secret_bytes(
        w.cso.signing_seed(),
        w.cso.encryption_secret(),
    ));
    let (core, _) = spawn(
        CoreParts {
            keys,
            store: store.clone(),
            membership,
            net,
            outbox,
            metrics,
            vault: Arc::new(crate::vault::Vault::open(data).expect("vault")),
            outbox_retention: crate::outbox::RETENTION,
        },
        rx,
    );
    (core, probe, events)
}

#[tokio::test]
async fn appends_waiting_together_share_one_flush() {
    let w = world();
    let (_dir, store, core, _probe, _events) = cso_core(&w);
    // Warm up: one append on its own.
    let payload = escalation_payload(&w);
    core.append(None, payload.clone()).await.expect("append");
    let before = store.flush_count();
    // Ten operators at once: all ten are queued before the core runs (one thread), so the
    // core takes them into one batch and one flush.
    let handles: Vec<_> = (0..10)
        .map(|_| {
            let (core, payload) = (core.clone(), payload.clone());
            tokio::spawn(async move { core.append(None, payload).await })
        })
        .collect();
    let mut cases = std::collections::BTreeSet::new();
    for h in handles {
        cases.insert(h.await.expect("task").expect("append").case_ref);
    }
    assert_eq!(cases.len(), 10, "each append opened its own case");
    assert_eq!(
        store.flush_count() - before,
        1,
        "ten waiting appends, one flush"
    );
}

#[tokio::test]
async fn events_dated_in_the_future_are_refused() {
    let w = world();
    let mut h = supplier_core(&w);
    for (nonce, at) in [
        (20, crate::membership::now().plus_days(3650)),
        (21, Timestamp(ilm_protocol::rules::MAX_TIMESTAMP.0 + 1)),
        (22, Timestamp(u64::MAX)),
    ] {
        let (rec, case) = escalation(&w, nonce);
        let mut event = rec.verify::<CaseEvent>().expect("event").body().clone();
        event.authored_at = at;
        if let EventPayload::Escalation(e) = &mut event.payload {
            e.acknowledge_by = at;
            e.remediate_by = at;
        }
        let rec = SignedRecord::sign(&event, &w.cso).expect("sign");
        h.deliver(&w, &seal(&w, &rec));
        let outcome = h.acks(1).await.remove(0).1;
        assert!(
            matches!(outcome, AckOutcome::Rejected(_)),
            "{at:?}: {outcome:?}"
        );
        assert!(
            h.store
                .scan(&crate::schema::EVENTS, case.as_bytes())
                .expect("events")
                .is_empty()
        );
    }
    // Positive control: due dates far ahead are fine when the event itself is dated now.
    let (rec, case) = escalation(&w, 23);
    let mut event = rec.verify::<CaseEvent>().expect("event").body().clone();
    if let EventPayload::Escalation(e) = &mut event.payload {
        e.acknowledge_by = ilm_protocol::rules::MAX_TIMESTAMP;
        e.remediate_by = ilm_protocol::rules::MAX_TIMESTAMP;
    }
    let rec = SignedRecord::sign(&event, &w.cso).expect("sign");
    h.deliver(&w, &seal(&w, &rec));
    assert_eq!(h.acks(1).await.remove(0).1, AckOutcome::Accepted);
    assert_eq!(
        h.store
            .scan(&crate::schema::EVENTS, case.as_bytes())
            .expect("events")
            .len(),
        1
    );
}
