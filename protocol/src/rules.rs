//! Who may author which case event: the one place the authorisation rules live.
//!
//! Every receiver calls [`validate`] on every event before storing it; the author's role comes
//! from its membership certificate, never from the event itself.

use crate::event::{
    CaseEvent, CaseRef, EventKind, EventPayload, MAX_ITEMS, MAX_PARENTS, MAX_TEXT_LEN,
};
use crate::identity::{OrgId, Role};
use crate::membership::{MembershipCertificate, NetworkId};
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

/// What is already known of a case when a non-root event arrives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseContext {
    /// Network of the case.
    pub network_id: NetworkId,
    /// The case.
    pub case_ref: CaseRef,
    /// The CSO that authored the root escalation.
    pub owner: OrgId,
    /// Every party escalated to so far.
    pub responders: BTreeSet<OrgId>,
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
    /// A later event must name at least one parent and match the case.
    #[error("event does not continue this case (missing parents or wrong case reference)")]
    NotInCase,
    /// Only the owning CSO may do this in a case.
    #[error("only the CSO that owns the case may author {0:?} events")]
    NotCaseOwner(EventKind),
    /// Only a party escalated to may respond.
    #[error("only a party this case was escalated to may author {0:?} events")]
    NotEscalatedTo(EventKind),
    /// Escalation target that cannot respond (not a member, or a CSO or steward).
    #[error("escalation target is not an agency, supplier, brand or government member")]
    BadEscalationTarget,
    /// A field is out of bounds.
    #[error("malformed event: {0}")]
    Malformed(&'static str),
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
    for t in event.payload.texts() {
        if t.len() > MAX_TEXT_LEN {
            return Err(Malformed("text field too long"));
        }
        if t.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
            return Err(Malformed("control character in text"));
        }
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
        }
        EventPayload::RemediationAction(a) if a.evidence.len() > MAX_ITEMS => {
            return Err(Malformed("too many evidence items"));
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
/// `author` is the author's current membership certificate; `ctx` is `None` for the first
/// event of a case; `role_of` gives the role of other members (for escalation targets).
pub fn validate(
    event: &CaseEvent,
    author: &MembershipCertificate,
    ctx: Option<&CaseContext>,
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
    match ctx {
        None => {
            if kind != EventKind::Escalation || !event.parents.is_empty() {
                return Err(ValidationError::BadRoot);
            }
        }
        Some(ctx) => {
            if event.parents.is_empty()
                || ctx.case_ref != event.case_ref
                || ctx.network_id != event.network_id
            {
                return Err(ValidationError::NotInCase);
            }
            let owner_only = matches!(
                kind,
                EventKind::Escalation
                    | EventKind::WorkerVerification
                    | EventKind::Reopened
                    | EventKind::Closed
            );
            if owner_only && event.author != ctx.owner {
                return Err(ValidationError::NotCaseOwner(kind));
            }
            if !owner_only && !ctx.responders.contains(&event.author) {
                return Err(ValidationError::NotEscalatedTo(kind));
            }
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
