//! The records this node persists, as plain data: the storage schema (`crate::schema`) names
//! the table each one lives in. Behaviour stays with the modules that own each concept; keeping
//! the types here lets the schema list them without importing those modules.

use crate::intake::WorkerIdentity;
use ilm_protocol::{
    CaseNonce, CaseRef, CaseStatus, Digest, Envelope, IssueCategory, MessageId, MessageKind, OrgId,
    PartyStage, SignedRecord, Timestamp,
};
use serde::{Deserialize, Serialize};

// Case storage (the core).

/// One case's read model as stored, written in the batch that stores its events: its
/// lifecycle state (what lists and views read) and the heads of its event graph (the events
/// no other event names as a parent: what history sync compares without loading the
/// history). One record rather than two: the engine's files grow with its records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseRecord {
    /// The state folded from the case's events.
    pub state: ilm_protocol::CaseState,
    /// The history's heads; empty only in a record written before heads were kept here (the
    /// core's start-up check then builds them).
    pub heads: Vec<ilm_protocol::EventHash>,
}

/// An entry of the case index schema versions 1 and 2 kept (`schema::CASES`): read by the
/// start-up check of what they left, never written now.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseMeta {
    /// The case.
    pub case_ref: CaseRef,
    /// When this node first held it.
    pub first_seen: Timestamp,
}

/// What was recorded about a processed message.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProcessedMarker {
    /// Who sent the message.
    pub sender: OrgId,
    /// What it was.
    pub kind: MessageKind,
    /// When it was processed.
    pub at: Timestamp,
}

/// Worker identities disclosed to one recipient with the workers' recorded consent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Disclosure {
    /// The case.
    pub case_ref: CaseRef,
    /// Identities of the case's workers who consented.
    pub identities: Vec<WorkerIdentity>,
}

/// A disclosure as the recipient keeps it (sealed with its vault key): who sent it and when.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReceivedDisclosure {
    /// The CSO that sent it (the case's owner: checked before it was stored).
    pub from: OrgId,
    /// When it arrived.
    pub received_at: Timestamp,
    /// What it disclosed.
    pub disclosure: Disclosure,
}

/// A CSO's redacted status of a case, for brands linked to the supplier.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatusReport {
    /// The case.
    pub case_ref: CaseRef,
    /// The case's nonce: the brand checks that the reference derives from it and the CSO.
    pub case_nonce: CaseNonce,
    /// The CSO that owns it.
    pub cso: OrgId,
    /// The supplier or agency it concerns (named `supplier` on the wire since the first
    /// release, when only suppliers' cases were reported).
    pub supplier: OrgId,
    /// Lifecycle status of the case.
    pub status: CaseStatus,
    /// Where the supplier's own round stands (decides what it owes).
    pub stage: PartyStage,
    /// Issue categories.
    pub categories: Vec<IssueCategory>,
    /// Workers affected.
    pub workers_affected: u32,
    /// When first escalated to the supplier.
    pub escalated_at: Timestamp,
    /// Acknowledgement due.
    pub acknowledge_by: Timestamp,
    /// Remediation due.
    pub remediate_by: Timestamp,
    /// When acknowledged (or disputed).
    pub acknowledged_at: Option<Timestamp>,
    /// When remediation was reported.
    pub remediated_at: Option<Timestamp>,
    /// When the workers' verdict was recorded.
    pub verified_at: Option<Timestamp>,
    /// When this report was made.
    pub reported_at: Timestamp,
    /// The sector most of the case's workers work in, when the CSO recorded it (reports of
    /// earlier releases have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sector: Option<String>,
    /// The corridor most of the case's workers came by: country of origin, then of work.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corridor: Option<(ilm_protocol::Country, ilm_protocol::Country)>,
}

/// An attestation held by a node: a draft awaiting co-signature, or complete.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredAttestation {
    /// The case.
    pub case_ref: CaseRef,
    /// The record (one signature while a draft).
    pub record: SignedRecord,
    /// Both signatures present and verified.
    pub complete: bool,
    /// When stored.
    pub stored_at: Timestamp,
    /// The verifiable bundle, for nodes that do not hold the case history (brands).
    #[serde(default)]
    pub bundle: Option<ilm_protocol::AttestationBundle>,
}

/// A supply-chain link held by a node: proposed (upstream signed) or complete.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredLink {
    /// The link's id (digest of its signing input; the same for proposal and complete link).
    pub id: Digest,
    /// The record.
    pub record: SignedRecord,
    /// Both sides signed.
    pub complete: bool,
}

/// Published statistics held by a node (its own, or received and verified).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredPublication {
    /// The signed publication, as published.
    pub record: SignedRecord,
    /// When this node stored it.
    pub stored_at: Timestamp,
}

// Delivery (the outbox).

/// Where a message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Not acknowledged yet; retried until it is.
    Pending,
    /// Acknowledged by the recipient (stored durably there).
    Delivered,
    /// Refused for good by the recipient (the reason is in `last_error`).
    Rejected,
}

/// One message to one recipient.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// Message id (shared by all recipients of one envelope).
    pub message_id: MessageId,
    /// The recipient.
    pub recipient: OrgId,
    /// What the message is.
    pub kind: MessageKind,
    /// The case it belongs to, if any.
    pub case_ref: Option<CaseRef>,
    /// The sealed envelope.
    pub envelope: Envelope,
    /// Delivery state.
    pub state: DeliveryState,
    /// Attempts made.
    pub attempts: u32,
    /// When queued.
    pub created_at: Timestamp,
    /// When the last attempt was made.
    pub last_attempt_at: Option<Timestamp>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When acknowledged.
    pub delivered_at: Option<Timestamp>,
    /// When first acknowledged, for an entry queued again for a restored recipient: pruning
    /// and later requests to deliver again count from it, so asking again cannot keep an
    /// entry forever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_delivered_at: Option<Timestamp>,
}

impl OutboxEntry {
    /// When the recipient first acknowledged it (None while never acknowledged).
    pub fn first_delivery(&self) -> Option<Timestamp> {
        self.first_delivered_at.or(self.delivered_at)
    }

    /// A new pending entry.
    pub fn new(
        envelope: Envelope,
        recipient: OrgId,
        kind: MessageKind,
        message_id: MessageId,
        case_ref: Option<CaseRef>,
        now: Timestamp,
    ) -> OutboxEntry {
        OutboxEntry {
            message_id,
            recipient,
            kind,
            case_ref,
            envelope,
            state: DeliveryState::Pending,
            attempts: 0,
            created_at: now,
            last_attempt_at: None,
            last_error: None,
            delivered_at: None,
            first_delivered_at: None,
        }
    }
}

/// Messages pruned from the outbox, by outcome (kept in the store under this id).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pruned {
    /// Delivered entries removed.
    pub delivered: u64,
    /// Rejected entries removed.
    pub rejected: u64,
    /// The latest first delivery among the delivered entries removed: a restored peer asking
    /// to have what was delivered since a time gets all of it only if this is older.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_delivered: Option<Timestamp>,
}

// Operator accounts.

/// What an operator may do inside a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OperatorRole {
    /// Everything, including operators and membership.
    Admin,
    /// Cases, contacts, escalations and responses.
    Caseworker,
    /// Records contacts; sees only the contacts it recorded.
    Intake,
    /// Reads everything but worker identity; changes nothing.
    Readonly,
}

impl std::str::FromStr for OperatorRole {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "admin" => Ok(OperatorRole::Admin),
            "caseworker" => Ok(OperatorRole::Caseworker),
            "intake" => Ok(OperatorRole::Intake),
            "readonly" => Ok(OperatorRole::Readonly),
            other => Err(format!(
                "unknown operator role {other:?}: expected admin, caseworker, intake or readonly"
            )),
        }
    }
}

/// A stored operator account.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Operator {
    /// Login name.
    pub name: String,
    /// Role.
    pub role: OperatorRole,
    /// Argon2id hash in PHC string form.
    pub password_hash: String,
    /// A disabled operator cannot log in (the account and what it recorded stay).
    #[serde(default)]
    pub disabled: bool,
    /// The UI language this operator chose last (kept across logins).
    #[serde(default)]
    pub lang: Option<String>,
}

/// A contact recorded for an intake form's idempotency key, with a digest of what the form
/// sent: the same key with other content is a conflict, not a repeat.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IntakeKey {
    /// The contact recorded the first time.
    pub contact: crate::intake::ContactId,
    /// SHA-256 of the form's content (the input as JSON).
    pub input: [u8; 32],
}

/// A proposed broker alert as a node keeps it: at the CSO asked to review it (declined ones
/// stay, so that sending one again does not bring it back), or at the agency that sent it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredProposal {
    /// The agency's signed proposal.
    pub record: SignedRecord,
    /// Whether the CSO declined it.
    pub declined: bool,
}
