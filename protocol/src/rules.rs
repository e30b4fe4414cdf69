//! Who may author which case event: the one place the authorisation rules live.
//!
//! Every receiver calls [`validate`] on every event before storing it; the author's role comes
//! from its membership certificate, never from the event itself.

use crate::event::{
    CaseEvent, CaseRef, EventKind, EventPayload, MAX_ITEMS, MAX_PARENTS, MAX_TEXT_LEN,
};
use crate::identity::{OrgId, Role, Timestamp};
use crate::lifecycle::{CaseState, LifecycleError};
pub use crate::limits::{CLOCK_TOLERANCE_SECS, MAX_TIMESTAMP, check_text, check_time};
use crate::membership::MembershipCertificate;
use std::collections::BTreeSet;

/// Whether an organisation of `role` may author events of `kind` (the authorisation matrix).
pub fn may_author(role: Role, kind: EventKind) -> bool {
    use EventKind::*;
    match kind {
        // The CSO owns the case: it escalates, speaks for the workers and closes.
        Escalation | WorkerVerification | Reopened | Closed => role == Role::Cso,
        // Parties that were escalated to respond and remediate.
        Acknowledgement | Dispute | RemediationPlan | RemediationAction | RemediationReported => {
            is_responder(role)
        }
    }
}

/// Whether `role` can be escalated to (and so respond in a case).
pub fn is_responder(role: Role) -> bool {
    matches!(
        role,
        Role::Agency | Role::Supplier | Role::Brand | Role::Government
    )
}

/// Why an event was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// The certificate given is not the author's.
    #[error("the certificate presented is not the event author's")]
    CertificateMismatch,
    /// Author's certificate is for another network.
    #[error("event and author certificate belong to different networks")]
    WrongNetwork,
    /// The author's role may not author this kind.
    #[error("a {role} may not author a {kind:?} event")]
    RoleNotAllowed {
        /// The author's role from its certificate.
        role: Role,
        /// The event kind.
        kind: EventKind,
    },
    /// The first event of a case must be an escalation without parents.
    #[error("a case history must start with an escalation that has no parents")]
    BadRoot,
    /// The first event's case reference is not derived from its author and nonce.
    #[error("the case reference does not derive from the first event's author and nonce")]
    CaseRefNotBound,
    /// A later event must name at least one parent and match the case.
    #[error("event does not continue this case (missing parents or wrong case reference)")]
    NotInCase,
    /// Escalation target that cannot respond (not a member, or a CSO or steward).
    #[error("escalation target is not an agency, supplier, brand or government member")]
    BadEscalationTarget,
    /// The event claims a time well before the latest of its ancestors.
    #[error(
        "the event claims to be authored at {claimed}, more than {CLOCK_TOLERANCE_SECS} s before an event it follows ({latest})"
    )]
    TimeBeforeAncestors {
        /// The event's `authored_at`.
        claimed: u64,
        /// The latest `authored_at` among its ancestors.
        latest: u64,
    },
    /// The event does not fit the case's lifecycle state.
    #[error(transparent)]
    Lifecycle(#[from] LifecycleError),
    /// A field is out of bounds.
    #[error("malformed event: {0}")]
    Malformed(&'static str),
}

impl ValidationError {
    /// A stable code for this refusal (test vectors and other implementations compare it).
    pub fn code(&self) -> &'static str {
        match self {
            ValidationError::CertificateMismatch => "event.certificate_mismatch",
            ValidationError::WrongNetwork => "event.wrong_network",
            ValidationError::RoleNotAllowed { .. } => "event.role_not_allowed",
            ValidationError::BadRoot => "event.bad_root",
            ValidationError::CaseRefNotBound => "event.case_ref_not_bound",
            ValidationError::NotInCase => "event.not_in_case",
            ValidationError::BadEscalationTarget => "event.bad_escalation_target",
            ValidationError::TimeBeforeAncestors { .. } => "event.time_before_ancestors",
            ValidationError::Lifecycle(e) => e.code(),
            ValidationError::Malformed(_) => "event.malformed",
        }
    }
}

fn event_times(event: &CaseEvent) -> Vec<Timestamp> {
    let mut out = vec![event.authored_at];
    match &event.payload {
        EventPayload::Escalation(e) => out.extend([e.acknowledge_by, e.remediate_by]),
        EventPayload::RemediationPlan { target_date, .. } => out.push(*target_date),
        EventPayload::RemediationAction(a) => out.push(a.taken_at),
        _ => {}
    }
    out
}

fn check_well_formed(event: &CaseEvent) -> Result<(), ValidationError> {
    use ValidationError::Malformed;
    if event.parents.len() > MAX_PARENTS {
        return Err(Malformed("too many parents"));
    }
    let distinct: BTreeSet<_> = event.parents.iter().collect();
    if distinct.len() != event.parents.len() {
        return Err(Malformed("duplicate parent"));
    }
    for t in event_times(event) {
        check_time(t).map_err(Malformed)?;
    }
    for t in event.payload.texts() {
        check_text(t, MAX_TEXT_LEN, false).map_err(Malformed)?;
    }
    match &event.payload {
        EventPayload::Escalation(e) => {
            if e.categories.is_empty() || e.categories.len() > MAX_ITEMS {
                return Err(Malformed("escalation needs 1 to 64 issue categories"));
            }
            if e.categories.iter().collect::<BTreeSet<_>>().len() != e.categories.len() {
                return Err(Malformed("duplicate issue category"));
            }
            if e.workers_affected == 0 {
                return Err(Malformed("workers_affected must be at least 1"));
            }
            if e.acknowledge_by > e.remediate_by {
                return Err(Malformed("acknowledgement due after remediation due"));
            }
            if e.acknowledge_by < event.authored_at {
                return Err(Malformed(
                    "acknowledgement due before the escalation was made",
                ));
            }
        }
        EventPayload::RemediationAction(a) => {
            if a.evidence.len() > MAX_ITEMS {
                return Err(Malformed("too many evidence items"));
            }
            if a.taken_at > event.authored_at.plus_secs(CLOCK_TOLERANCE_SECS) {
                return Err(Malformed("remediation action taken after it was recorded"));
            }
        }
        EventPayload::WorkerVerification {
            workers_consulted: 0,
            ..
        } => {
            return Err(Malformed("workers_consulted must be at least 1"));
        }
        _ => {}
    }
    Ok(())
}

/// Decides whether `event`, signed by its author (already verified), may join the case.
///
/// `author` is the author's current membership certificate; `state` is the case folded over
/// the event's ancestors (`None` for the first event of a case); `role_of` gives the role of
/// other members (for escalation targets).
pub fn validate(
    event: &CaseEvent,
    author: &MembershipCertificate,
    state: Option<&CaseState>,
    role_of: &dyn Fn(&OrgId) -> Option<Role>,
) -> Result<(), ValidationError> {
    if author.org_id != event.author {
        return Err(ValidationError::CertificateMismatch);
    }
    if author.network_id != event.network_id {
        return Err(ValidationError::WrongNetwork);
    }
    let kind = event.payload.kind();
    if !may_author(author.role, kind) {
        return Err(ValidationError::RoleNotAllowed {
            role: author.role,
            kind,
        });
    }
    check_well_formed(event)?;
    match state {
        None => {
            if kind != EventKind::Escalation || !event.parents.is_empty() {
                return Err(ValidationError::BadRoot);
            }
            let bound = event
                .case_nonce
                .is_some_and(|n| CaseRef::derive(&event.author, &n) == event.case_ref);
            if !bound {
                return Err(ValidationError::CaseRefNotBound);
            }
        }
        Some(state) => {
            if event.case_nonce.is_some() {
                return Err(ValidationError::Malformed(
                    "only the first event of a case carries its nonce",
                ));
            }
            if event.parents.is_empty()
                || state.case_ref != event.case_ref
                || state.network_id != event.network_id
            {
                return Err(ValidationError::NotInCase);
            }
            if event.authored_at.plus_secs(CLOCK_TOLERANCE_SECS) < state.last_event_at {
                return Err(ValidationError::TimeBeforeAncestors {
                    claimed: event.authored_at.0,
                    latest: state.last_event_at.0,
                });
            }
            state.check(event)?;
        }
    }
    if let EventPayload::Escalation(e) = &event.payload {
        let target_ok = e.to != event.author && role_of(&e.to).is_some_and(is_responder);
        if !target_ok {
            return Err(ValidationError::BadEscalationTarget);
        }
    }
    Ok(())
}
