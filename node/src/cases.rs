//! Read-only views of cases for the API and CLI: the ordered timeline and the lifecycle state
//! (`ilm_protocol::CaseState`, the one fold of a history that every view reads).

use crate::membership::MembershipState;
use crate::records::CaseRecord;
use crate::schema;
use crate::store::{Store, StoreError, WriteBatch};
use ilm_protocol::{
    CaseHistory, CaseRef, CaseState, CaseStatus, EventHash, EventKind, EventPayload, HistoryError,
    MembershipCertificate, Obligation, OrgId, Owed, Timestamp,
};
use serde::Serialize;

/// One event as shown to operators.
#[derive(Debug, Clone, Serialize)]
pub struct EventView {
    /// Event hash.
    pub hash: String,
    /// Parent hashes.
    pub parents: Vec<String>,
    /// Author id.
    pub author: OrgId,
    /// Author name, if its certificate is known.
    pub author_name: Option<String>,
    /// Author role, if known.
    pub author_role: Option<ilm_protocol::Role>,
    /// When authored.
    pub authored_at: Timestamp,
    /// The signed content.
    pub event: EventPayload,
    /// Signature and rules were checked when the event was stored.
    pub verified: bool,
}

/// A case as shown to operators.
#[derive(Debug, Clone, Serialize)]
pub struct CaseView {
    /// The case.
    pub case_ref: CaseRef,
    /// Lifecycle status.
    pub status: CaseStatus,
    /// Owning CSO.
    pub owner: OrgId,
    /// Everyone escalated to.
    pub responders: Vec<OrgId>,
    /// The whole lifecycle state: parties, due dates, verdict, figures.
    pub state: CaseState,
    /// What each party owes now, with overdue flags.
    pub obligations: Vec<Obligation>,
    /// Who must act now.
    pub waiting_on: Vec<OrgId>,
    /// The event kinds this node may add now (roles aside).
    pub allowed: Vec<EventKind>,
    /// Current heads (in the view of one case; omitted in lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heads: Option<Vec<String>>,
    /// Number of events.
    pub event_count: usize,
    /// Events in causal order (omitted in lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<EventView>>,
}

/// Loads a case's history from the database (events were validated when stored).
pub fn load_history(
    store: &Store,
    membership: &MembershipState,
    case: &CaseRef,
) -> Result<Option<CaseHistory>, StoreError> {
    let records = store.scan(&schema::EVENTS, case.as_bytes())?;
    if records.is_empty() {
        return Ok(None);
    }
    // Stored events were validated when they arrived; replay them in causal order against the
    // certificates known (not "current": a later revocation does not undo the past).
    let cert = |org: &OrgId, _at: Timestamp| -> Option<MembershipCertificate> {
        membership.certificate(org)
    };
    let mut h = CaseHistory::new(membership.network_id(), *case);
    let mut todo = records;
    while !todo.is_empty() {
        let before = todo.len();
        todo.retain(|rec| matches!(h.insert(rec, &cert), Err(HistoryError::MissingParents(_))));
        if todo.len() == before {
            tracing::warn!(case = %case, "stored events with missing parents ignored");
            break;
        }
    }
    Ok(Some(h))
}

/// The view of one case with its events, as `me` sees it at `now`. None for an empty
/// history.
pub fn view(
    history: &CaseHistory,
    membership: &MembershipState,
    me: &OrgId,
    now: Timestamp,
) -> Option<CaseView> {
    let events = history
        .ordered()
        .iter()
        .map(|ev| {
            let b = ev.body();
            let cert = membership.certificate(&b.author);
            EventView {
                hash: ev.digest().to_hex(),
                parents: b.parents.iter().map(|p| p.to_hex()).collect(),
                author: b.author,
                author_name: cert.as_ref().map(|c| c.name.clone()),
                author_role: cert.as_ref().map(|c| c.role),
                authored_at: b.authored_at,
                event: b.payload.clone(),
                verified: true,
            }
        })
        .collect();
    let mut v = summary(history.state()?.clone(), me, now);
    v.heads = Some(history.heads().iter().map(|h| h.to_hex()).collect());
    v.events = Some(events);
    Some(v)
}

/// The view of a case in a list: its state, what is owed and what `me` may do, without
/// events (nothing is re-verified).
pub fn summary(state: CaseState, me: &OrgId, now: Timestamp) -> CaseView {
    CaseView {
        case_ref: state.case_ref,
        status: state.status(),
        owner: state.owner,
        responders: state.responders().collect(),
        obligations: state.obligations(now),
        waiting_on: state.waiting_on(),
        allowed: state.allowed(me),
        heads: None,
        event_count: state.events as usize,
        events: None,
        state,
    }
}

/// The read model: every case's state, as the core stored it with the case's events.
pub fn states(store: &Store) -> Result<Vec<CaseState>, StoreError> {
    let mut out = Vec::new();
    for_each_state(store, |s| out.push(s))?;
    Ok(out)
}

/// Calls `f` with every case's state, one at a time (memory does not grow with the cases).
pub fn for_each_state(store: &Store, mut f: impl FnMut(CaseState)) -> Result<(), StoreError> {
    store.for_each(&schema::CASE_STATES, &[], |r: CaseRecord| f(r.state))
}

/// One case's state from the read model.
pub fn state_of(store: &Store, case: &CaseRef) -> Result<Option<CaseState>, StoreError> {
    Ok(record_of(store, case)?.map(|r| r.state))
}

/// One case's read model as stored: its state and heads.
pub fn record_of(store: &Store, case: &CaseRef) -> Result<Option<CaseRecord>, StoreError> {
    store.get(&schema::CASE_STATES, case.as_bytes())
}

/// Adds a case's read model to `batch` (the batch that stores its events).
pub fn put_record(
    batch: &mut WriteBatch,
    state: &CaseState,
    heads: &[EventHash],
) -> Result<(), StoreError> {
    let record = CaseRecord {
        state: state.clone(),
        heads: heads.to_vec(),
    };
    batch.put(&schema::CASE_STATES, state.case_ref.as_bytes(), &record)
}

/// Loads one case and builds its view for this node at the current time (None when not
/// held).
pub fn load_view(
    store: &Store,
    membership: &MembershipState,
    case: &CaseRef,
) -> Result<Option<CaseView>, StoreError> {
    let me = membership.me();
    Ok(load_history(store, membership, case)?
        .and_then(|h| view(&h, membership, &me, crate::membership::now())))
}

/// Work past its due date.
#[derive(Debug, Clone, Serialize)]
pub struct Overdue {
    /// The case.
    pub case_ref: CaseRef,
    /// Who owes it.
    pub party: OrgId,
    /// What is owed.
    pub what: Owed,
    /// When it was due.
    pub due: Timestamp,
}

/// What is overdue in a case at `now` (from the lifecycle state's obligations).
pub fn overdue_items(state: &CaseState, now: Timestamp) -> Vec<Overdue> {
    state
        .obligations(now)
        .into_iter()
        .filter(|o| o.overdue)
        .map(|o| Overdue {
            case_ref: state.case_ref,
            party: o.party,
            what: o.what,
            due: o.due,
        })
        .collect()
}

/// The self-contained bundle of a complete attestation: genesis, the certificates of every
/// signer and escalation target, the case's events in causal order, and the attestation.
pub fn bundle(
    history: &CaseHistory,
    attestation: &ilm_protocol::SignedRecord,
    membership: &MembershipState,
) -> Result<ilm_protocol::AttestationBundle, String> {
    let body = attestation
        .verify_with::<ilm_protocol::RemediationAttestation>(&membership.key_book())
        .map_err(|e| e.to_string())?;
    let mut orgs = std::collections::BTreeSet::new();
    orgs.insert(body.body().cso);
    orgs.insert(body.body().remediating_party);
    let ordered = history.ordered();
    for e in &ordered {
        orgs.insert(e.body().author);
        if let EventPayload::Escalation(x) = &e.body().payload {
            orgs.insert(x.to);
        }
    }
    let bundle = ilm_protocol::AttestationBundle {
        format: ilm_protocol::attestation::BundleFormat::V1,
        genesis: membership.network().genesis_record().clone(),
        successions: membership.network().successions().cloned().collect(),
        certificates: orgs
            .iter()
            .filter_map(|o| membership.certificate_record(o))
            .collect(),
        events: ordered.iter().map(|e| e.record().clone()).collect(),
        attestation: attestation.clone(),
    };
    bundle
        .verify()
        .map_err(|e| format!("the bundle does not verify: {e}"))?;
    Ok(bundle)
}
