//! Read-only views of cases for the API and CLI: ordered timeline and lifecycle status.

use crate::membership::MembershipState;
use crate::store::{Store, StoreError};
use ilm_protocol::{
    CaseEvent, CaseHistory, CaseRef, EventPayload, HistoryError, MembershipCertificate, OrgId,
    Timestamp, Verdict,
};
use serde::Serialize;

/// Where a case stands in the lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    /// Escalated, not yet answered.
    Escalated,
    /// Acknowledged by the party.
    Acknowledged,
    /// Disputed by the party.
    Disputed,
    /// A remediation plan is recorded.
    RemediationPlanned,
    /// Remediation under way (actions recorded).
    Remediating,
    /// Remediation reported complete; awaiting the workers' verdict.
    RemediationReported,
    /// Workers confirmed it.
    Resolved,
    /// Workers confirmed part of it.
    PartlyResolved,
    /// Reopened after workers said it did not happen.
    Reopened,
    /// Closed by the CSO.
    Closed,
}

/// Status after a sequence of events in causal order.
pub fn status_of<'a>(events: impl IntoIterator<Item = &'a CaseEvent>) -> CaseStatus {
    let mut s = CaseStatus::Escalated;
    for e in events {
        s = match &e.payload {
            EventPayload::Escalation(_) if s == CaseStatus::Reopened => CaseStatus::Reopened,
            EventPayload::Escalation(_) => s,
            EventPayload::Acknowledgement { .. } => CaseStatus::Acknowledged,
            EventPayload::Dispute { .. } => CaseStatus::Disputed,
            EventPayload::RemediationPlan { .. } => CaseStatus::RemediationPlanned,
            EventPayload::RemediationAction(_) => CaseStatus::Remediating,
            EventPayload::RemediationReported { .. } => CaseStatus::RemediationReported,
            EventPayload::WorkerVerification { verdict, .. } => match verdict {
                Verdict::Resolved => CaseStatus::Resolved,
                Verdict::PartlyResolved => CaseStatus::PartlyResolved,
                Verdict::NotResolved => CaseStatus::Reopened,
            },
            EventPayload::Reopened { .. } => CaseStatus::Reopened,
            EventPayload::Closed { .. } => CaseStatus::Closed,
        };
    }
    s
}

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
    pub owner: Option<OrgId>,
    /// Everyone escalated to.
    pub responders: Vec<OrgId>,
    /// Current heads.
    pub heads: Vec<String>,
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
    let records = store.events(case)?;
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

/// The view of a case, with or without its events.
pub fn view(history: &CaseHistory, membership: &MembershipState, with_events: bool) -> CaseView {
    let ordered = history.ordered();
    let ctx = history.context_for(&history.heads());
    let events = with_events.then(|| {
        ordered
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
            .collect()
    });
    CaseView {
        case_ref: history.case_ref(),
        status: status_of(ordered.iter().map(|e| e.body())),
        owner: ctx.as_ref().map(|c| c.owner),
        responders: ctx
            .map(|c| c.responders.into_iter().collect())
            .unwrap_or_default(),
        heads: history.heads().iter().map(|h| h.to_hex()).collect(),
        event_count: history.len(),
        events,
    }
}

/// Work past its due date.
#[derive(Debug, Clone, Serialize)]
pub struct Overdue {
    /// The case.
    pub case_ref: CaseRef,
    /// Who owes it.
    pub party: OrgId,
    /// "acknowledgement" or "remediation".
    pub what: &'static str,
    /// When it was due.
    pub due: Timestamp,
}

/// What is overdue in a case at `now`: for each party's latest escalation, a missing
/// acknowledgement (or dispute) past its due date, and a missing remediation report past its
/// due date (unless the workers already verified or the case is closed).
pub fn overdue_items(history: &CaseHistory, now: Timestamp) -> Vec<Overdue> {
    use std::collections::BTreeMap;
    struct Owed {
        ack_by: Timestamp,
        rem_by: Timestamp,
        acked: bool,
        remediated: bool,
    }
    let mut owed: BTreeMap<OrgId, Owed> = BTreeMap::new();
    let mut settled = false;
    for ev in history.ordered() {
        let b = ev.body();
        match &b.payload {
            EventPayload::Escalation(e) => {
                settled = false;
                owed.insert(
                    e.to,
                    Owed {
                        ack_by: e.acknowledge_by,
                        rem_by: e.remediate_by,
                        acked: false,
                        remediated: false,
                    },
                );
            }
            EventPayload::Acknowledgement { .. } | EventPayload::Dispute { .. } => {
                if let Some(o) = owed.get_mut(&b.author) {
                    o.acked = true;
                }
            }
            EventPayload::RemediationReported { .. } => {
                if let Some(o) = owed.get_mut(&b.author) {
                    o.acked = true;
                    o.remediated = true;
                }
            }
            EventPayload::WorkerVerification { verdict, .. } => {
                settled = *verdict != Verdict::NotResolved
            }
            EventPayload::Closed { .. } => settled = true,
            _ => {}
        }
    }
    let mut out = Vec::new();
    if settled {
        return out;
    }
    for (party, o) in owed {
        if !o.acked && now > o.ack_by {
            out.push(Overdue {
                case_ref: history.case_ref(),
                party,
                what: "acknowledgement",
                due: o.ack_by,
            });
        }
        if !o.remediated && now > o.rem_by {
            out.push(Overdue {
                case_ref: history.case_ref(),
                party,
                what: "remediation",
                due: o.rem_by,
            });
        }
    }
    out
}

/// The self-contained bundle of a complete attestation: genesis, the certificates of every
/// signer and escalation target, the case's events in causal order, and the attestation.
pub fn bundle(
    history: &CaseHistory,
    attestation: &ilm_protocol::SignedRecord,
    membership: &MembershipState,
) -> Result<ilm_protocol::AttestationBundle, String> {
    let body = attestation
        .verify::<ilm_protocol::RemediationAttestation>()
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
