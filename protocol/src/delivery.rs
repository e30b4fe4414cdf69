//! Who may send which workflow message to whom: the receiver's rules for everything delivered
//! besides case events (those follow `rules::validate`). Like the event rules, they take every
//! role from current certificates, never from the message.
//!
//! docs/PROTOCOL.md section 11.9 states the same table.

use crate::attestation::RemediationAttestation;
use crate::event::{CaseNonce, CaseRef};
use crate::identity::{OrgId, Role};
use crate::lifecycle::CaseState;
use crate::link::{LinkKind, SupplyChainLink};
use crate::membership::MembershipCertificate;

/// A workflow message, with what the receiver knows that the rules need.
#[derive(Debug, Clone, Copy)]
pub enum Delivery<'a> {
    /// Worker identities the workers consented to disclose to the receiver. `case` is the
    /// receiver's own state of the case (None while it holds no event of it).
    ConsentedDisclosure {
        /// The case as the receiver holds it.
        case: Option<&'a CaseState>,
    },
    /// A CSO's status of one of its cases, concerning `supplier`, for a brand.
    StatusReport {
        /// The CSO the report names.
        cso: OrgId,
        /// The case reported on.
        case_ref: CaseRef,
        /// The case's nonce: its reference must derive from it and the sender (the owner).
        case_nonce: CaseNonce,
        /// Whether the receiver, a brand, buys from the party the report concerns: a complete
        /// brand-supplier link with it, or, an agency, with a supplier that holds a complete
        /// supplier-agency link with it.
        linked: bool,
    },
    /// An attestation signed by its CSO only, to be co-signed.
    AttestationDraft(&'a RemediationAttestation),
    /// An attestation signed by both parties (its signatures already verified).
    AttestationComplete(&'a RemediationAttestation),
    /// A verified attestation bundle, for a brand linked to the remediating party.
    AttestationBundle {
        /// The bundle's attestation.
        attestation: &'a RemediationAttestation,
        /// Whether the receiver buys from the party (as for a status report).
        linked: bool,
    },
    /// A supply-chain link signed by its upstream side only.
    LinkProposal(&'a SupplyChainLink),
    /// A supply-chain link signed by both sides (signatures already verified), with both
    /// sides' current roles.
    LinkComplete {
        /// The link.
        link: &'a SupplyChainLink,
        /// The upstream side's current role.
        upstream: Option<Role>,
        /// The downstream side's current role.
        downstream: Option<Role>,
        /// Whether the receiver holds a complete brand-supplier link with the upstream side:
        /// a supplier tells the brands that buy from it which agencies it recruits through.
        receiver_buys_from_upstream: bool,
    },
    /// A CSO's published statistics (signature and suppression rules already checked).
    PublishedStatistics {
        /// The CSO the publication names.
        publisher: OrgId,
    },
    /// An activity of an improvement plan (signature and fields already checked).
    ImprovementActivity {
        /// The supplier or agency whose plan it is.
        org: OrgId,
        /// Whether the receiver deals with `org`: a brand holds a complete link with the
        /// sender, and, when the sender relays an agency's plan, the sender holds one with
        /// `org`; a supplier holds a complete supplier-agency link with `org`; a CSO holds a
        /// case `org` was escalated to.
        related: bool,
    },
    /// A job listing (signature and fields already checked).
    JobListing {
        /// The agency or supplier that publishes it.
        publisher: OrgId,
    },
    /// A CSO's summary of ratings (signature and rules already checked).
    RatingSummary {
        /// The CSO the summary names.
        publisher: OrgId,
        /// The rated organisation's current role (None: not a current member).
        rated: Option<Role>,
    },
    /// A rated organisation's public answer (signature already checked).
    RatingAnswer {
        /// The organisation the answer names.
        org: OrgId,
    },
    /// A broker alert (signature and fields already checked).
    BrokerAlert {
        /// The CSO the alert names as its reviewer.
        reviewer: OrgId,
        /// The agency that proposed it, if one did.
        proposed_by: Option<OrgId>,
        /// That organisation's current role (None: not a current member).
        proposer_role: Option<Role>,
    },
    /// An agency's proposed broker alert (signature and fields already checked).
    AlertProposal {
        /// The agency the proposal names.
        proposer: OrgId,
        /// The CSO it asks to review it.
        reviewer: OrgId,
    },
}

/// Why a workflow message is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// The sender's role may not send this.
    #[error("a {role} may not send {what}")]
    SenderRole {
        /// The sender's role.
        role: Role,
        /// The message.
        what: &'static str,
    },
    /// The receiver's role may not receive this.
    #[error("a {role} does not receive {what}")]
    ReceiverRole {
        /// The receiver's role.
        role: Role,
        /// The message.
        what: &'static str,
    },
    /// The receiver does not hold the case yet: retry once its events arrived.
    #[error("this node holds no event of the case yet")]
    CaseUnknown,
    /// Only the CSO that owns the case may send this.
    #[error("only the CSO that owns the case may send {0}")]
    NotCaseOwner(&'static str),
    /// The receiver takes no part in the case.
    #[error("this node takes no part in the case")]
    NotAParticipant,
    /// The message names another sender than the one that delivered it.
    #[error("{0} must come from the organisation it names")]
    SenderMismatch(&'static str),
    /// The message is addressed to another organisation.
    #[error("{0} is addressed to another organisation")]
    WrongReceiver(&'static str),
    /// The receiver, a brand, does not buy from the organisation concerned.
    #[error("this brand does not buy from the organisation concerned")]
    NotLinked,
    /// A link whose sides do not hold the roles of its kind.
    #[error("the link's sides do not hold the roles its kind requires")]
    LinkRoles,
    /// The receiver neither buys from the sender (a linked brand) nor works with it (a CSO
    /// that escalated a case to it).
    #[error("this organisation neither buys from nor works with the sender")]
    Unrelated,
    /// Ratings of an organisation that is not a current employer or agency.
    #[error("only current suppliers and agencies are rated")]
    NotRated,
    /// An alert naming as its proposer an organisation that is not a current agency.
    #[error("only a current recruitment agency proposes broker alerts")]
    NotProposer,
}

impl DeliveryError {
    /// A stable code for this refusal (test vectors and other implementations compare it).
    pub fn code(&self) -> &'static str {
        match self {
            DeliveryError::SenderRole { .. } => "delivery.sender_role",
            DeliveryError::ReceiverRole { .. } => "delivery.receiver_role",
            DeliveryError::CaseUnknown => "delivery.case_unknown",
            DeliveryError::NotCaseOwner(_) => "delivery.not_case_owner",
            DeliveryError::NotAParticipant => "delivery.not_a_participant",
            DeliveryError::SenderMismatch(_) => "delivery.sender_mismatch",
            DeliveryError::WrongReceiver(_) => "delivery.wrong_receiver",
            DeliveryError::NotLinked => "delivery.not_linked",
            DeliveryError::LinkRoles => "delivery.link_roles",
            DeliveryError::Unrelated => "delivery.unrelated",
            DeliveryError::NotRated => "delivery.not_rated",
            DeliveryError::NotProposer => "delivery.not_proposer",
        }
    }

    /// Whether the message may be accepted later: the receiver lacks the case's events, or
    /// the link or case that relates it to the sender, which the sender sent just before
    /// (messages can overtake each other).
    pub fn is_transient(&self) -> bool {
        matches!(self, DeliveryError::CaseUnknown | DeliveryError::Unrelated)
    }
}

/// What goes to brands about a supplier's cases goes only to brands linked to it.
fn linked_brand(
    receiver: &MembershipCertificate,
    linked: bool,
    what: &'static str,
) -> Result<(), DeliveryError> {
    if receiver.role != Role::Brand {
        return Err(DeliveryError::ReceiverRole {
            role: receiver.role,
            what,
        });
    }
    if !linked {
        return Err(DeliveryError::NotLinked);
    }
    Ok(())
}

/// Decides whether `receiver` may accept `what` from `sender`; both certificates are current.
pub fn may_deliver(
    sender: &MembershipCertificate,
    receiver: &MembershipCertificate,
    what: &Delivery,
) -> Result<(), DeliveryError> {
    use DeliveryError as E;
    let (from, to) = (sender.org_id, receiver.org_id);
    let sender_is = |role: Role, what: &'static str| {
        if sender.role == role {
            Ok(())
        } else {
            Err(E::SenderRole {
                role: sender.role,
                what,
            })
        }
    };
    match what {
        Delivery::ConsentedDisclosure { case } => {
            const W: &str = "worker identities";
            sender_is(Role::Cso, W)?;
            let case = case.ok_or(E::CaseUnknown)?;
            if case.owner != from {
                return Err(E::NotCaseOwner(W));
            }
            if case.party(&to).is_none() {
                return Err(E::NotAParticipant);
            }
            Ok(())
        }
        Delivery::StatusReport {
            cso,
            case_ref,
            case_nonce,
            linked,
        } => {
            const W: &str = "a status report";
            sender_is(Role::Cso, W)?;
            if *cso != from {
                return Err(E::SenderMismatch(W));
            }
            if CaseRef::derive(&from, case_nonce) != *case_ref {
                return Err(E::NotCaseOwner(W));
            }
            linked_brand(receiver, *linked, W)
        }
        Delivery::AttestationDraft(a) => {
            const W: &str = "an attestation draft";
            sender_is(Role::Cso, W)?;
            if a.cso != from {
                return Err(E::SenderMismatch(W));
            }
            if a.remediating_party != to {
                return Err(E::WrongReceiver(W));
            }
            Ok(())
        }
        Delivery::AttestationComplete(a) => {
            const W: &str = "a co-signed attestation";
            if a.remediating_party != from {
                return Err(E::SenderMismatch(W));
            }
            if a.cso != to {
                return Err(E::WrongReceiver(W));
            }
            Ok(())
        }
        Delivery::AttestationBundle {
            attestation,
            linked,
        } => {
            const W: &str = "an attestation bundle";
            sender_is(Role::Cso, W)?;
            if attestation.cso != from {
                return Err(E::SenderMismatch(W));
            }
            linked_brand(receiver, *linked, W)
        }
        Delivery::LinkProposal(l) => {
            const W: &str = "a link proposal";
            if l.upstream != from {
                return Err(E::SenderMismatch(W));
            }
            if l.downstream != to {
                return Err(E::WrongReceiver(W));
            }
            Ok(())
        }
        Delivery::LinkComplete {
            link,
            upstream,
            downstream,
            receiver_buys_from_upstream,
        } => {
            const W: &str = "a co-signed link";
            match (upstream, downstream) {
                (Some(u), Some(d)) if link.roles_fit(*u, *d) => {}
                _ => return Err(E::LinkRoles),
            }
            if from != link.upstream && from != link.downstream {
                return Err(E::SenderMismatch(W));
            }
            // A brand learns the agencies its suppliers recruit through, from the supplier.
            let to_buyer = receiver.role == Role::Brand
                && link.kind == LinkKind::SupplierAgency
                && from == link.upstream;
            // Answered "later": the brand's own link with the supplier may still be on its way.
            if to_buyer && !receiver_buys_from_upstream {
                return Err(E::Unrelated);
            }
            if to != link.upstream && receiver.role != Role::Cso && !to_buyer {
                return Err(E::WrongReceiver(W));
            }
            Ok(())
        }
        Delivery::ImprovementActivity { org, related } => {
            const W: &str = "an improvement plan";
            if !matches!(sender.role, Role::Supplier | Role::Agency) {
                return Err(E::SenderRole {
                    role: sender.role,
                    what: W,
                });
            }
            // A supplier relays the plans of the agencies it recruits through to its brands,
            // which the agencies do not know.
            let relayed = sender.role == Role::Supplier && receiver.role == Role::Brand;
            if *org != from && !relayed {
                return Err(E::SenderMismatch(W));
            }
            let agency_to_supplier = sender.role == Role::Agency && receiver.role == Role::Supplier;
            if !matches!(receiver.role, Role::Brand | Role::Cso) && !agency_to_supplier {
                return Err(E::ReceiverRole {
                    role: receiver.role,
                    what: W,
                });
            }
            if !related {
                return Err(E::Unrelated);
            }
            Ok(())
        }
        Delivery::JobListing { publisher } => {
            const W: &str = "a job listing";
            if !matches!(sender.role, Role::Supplier | Role::Agency) {
                return Err(E::SenderRole {
                    role: sender.role,
                    what: W,
                });
            }
            if *publisher != from {
                return Err(E::SenderMismatch(W));
            }
            if receiver.role != Role::Cso {
                return Err(E::ReceiverRole {
                    role: receiver.role,
                    what: W,
                });
            }
            Ok(())
        }
        Delivery::RatingSummary { publisher, rated } => {
            const W: &str = "ratings";
            sender_is(Role::Cso, W)?;
            if *publisher != from {
                return Err(E::SenderMismatch(W));
            }
            if !matches!(rated, Some(Role::Supplier | Role::Agency)) {
                return Err(E::NotRated);
            }
            Ok(())
        }
        Delivery::RatingAnswer { org } => {
            const W: &str = "an answer to ratings";
            if !matches!(sender.role, Role::Supplier | Role::Agency) {
                return Err(E::SenderRole {
                    role: sender.role,
                    what: W,
                });
            }
            if *org != from {
                return Err(E::SenderMismatch(W));
            }
            Ok(())
        }
        Delivery::BrokerAlert {
            reviewer,
            proposed_by,
            proposer_role,
        } => {
            const W: &str = "a broker alert";
            sender_is(Role::Cso, W)?;
            if *reviewer != from {
                return Err(E::SenderMismatch(W));
            }
            // Only a current agency is named as having proposed it.
            if proposed_by.is_some() && *proposer_role != Some(Role::Agency) {
                return Err(E::NotProposer);
            }
            if receiver.role != Role::Cso && *proposed_by != Some(to) {
                return Err(E::ReceiverRole {
                    role: receiver.role,
                    what: W,
                });
            }
            Ok(())
        }
        Delivery::AlertProposal { proposer, reviewer } => {
            const W: &str = "a proposed broker alert";
            sender_is(Role::Agency, W)?;
            if *proposer != from {
                return Err(E::SenderMismatch(W));
            }
            if *reviewer != to {
                return Err(E::WrongReceiver(W));
            }
            if receiver.role != Role::Cso {
                return Err(E::ReceiverRole {
                    role: receiver.role,
                    what: W,
                });
            }
            Ok(())
        }
        Delivery::PublishedStatistics { publisher } => {
            const W: &str = "published statistics";
            sender_is(Role::Cso, W)?;
            if *publisher != from {
                return Err(E::SenderMismatch(W));
            }
            Ok(())
        }
    }
}
