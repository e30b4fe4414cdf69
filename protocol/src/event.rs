//! Case events: the signed, hash-linked steps of a case's history.

use crate::bytes::byte_newtype;
use crate::codebook::{IssueCategory, Money};
use crate::identity::{Digest, OrgId, Timestamp};
use crate::membership::NetworkId;
use crate::record::{RecordBody, RecordKind};
use serde::{Deserialize, Serialize};

byte_newtype!(
    /// A pseudonymous case reference: random, and meaningless outside the case's participants.
    CaseRef,
    16
);

byte_newtype!(
    /// A case's nonce: 16 random bytes its owner draws when it opens the case; with the owner's
    /// id it derives the case reference, which binds the reference to its owner.
    CaseNonce,
    16
);

impl CaseRef {
    /// The reference of the case `owner` opens with `nonce`: the first 16 bytes of
    /// `SHA-256("ilm/v1/case-ref\n" || owner || nonce)`. Nobody else can open a case with the
    /// same reference (that would take a second preimage of the owner's derivation).
    pub fn derive(owner: &OrgId, nonce: &CaseNonce) -> CaseRef {
        let d = Digest::of(&[b"ilm/v1/case-ref\n", owner.as_bytes(), nonce.as_bytes()]);
        let mut out = [0u8; 16];
        out.copy_from_slice(&d.0[..16]);
        CaseRef(out)
    }
}

/// An event's identity: the SHA-256 digest of its record's signing input.
pub type EventHash = Digest;

/// Longest free-text field accepted in an event.
pub const MAX_TEXT_LEN: usize = 8_000;
/// Most parents an event may name (heads merged at once).
pub const MAX_PARENTS: usize = 16;
/// Most categories or evidence items in one event.
pub const MAX_ITEMS: usize = 64;

/// One step of a case: who, when, after which events, and what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseEvent {
    /// Network the case lives in.
    pub network_id: NetworkId,
    /// The case.
    pub case_ref: CaseRef,
    /// The case's nonce, on its first event only (`case_ref` must derive from it and the
    /// author); null on every later event.
    #[serde(default)]
    pub case_nonce: Option<CaseNonce>,
    /// Hashes of the events this one follows (the heads its author had); empty only for the
    /// first escalation. More than one parent merges concurrent appends.
    pub parents: Vec<EventHash>,
    /// Who authored and signed it.
    pub author: OrgId,
    /// When, by the author's clock.
    pub authored_at: Timestamp,
    /// What happened.
    pub payload: EventPayload,
}

impl RecordBody for CaseEvent {
    const KIND: RecordKind = RecordKind::CaseEvent;
    fn required_signers(&self) -> Vec<OrgId> {
        vec![self.author]
    }
    fn signed_at(&self) -> Option<Timestamp> {
        Some(self.authored_at)
    }
}

/// What an event records; one variant per lifecycle step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum EventPayload {
    /// A CSO raises issues with a party that can fix them.
    Escalation(Escalation),
    /// The party accepts the escalation.
    Acknowledgement {
        /// Optional note.
        note: String,
    },
    /// The party disputes the escalation.
    Dispute {
        /// Why.
        reason: String,
    },
    /// The party's plan to remediate.
    RemediationPlan {
        /// What will be done.
        description: String,
        /// When it should be complete.
        target_date: Timestamp,
    },
    /// One remediation step taken, with evidence.
    RemediationAction(RemediationAction),
    /// The party reports remediation complete.
    RemediationReported {
        /// Summary of what was done.
        summary: String,
    },
    /// What the workers say happened, recorded by the CSO.
    WorkerVerification {
        /// The workers' verdict.
        verdict: Verdict,
        /// How many workers were consulted.
        workers_consulted: u32,
        /// Redacted notes.
        note: String,
    },
    /// The CSO reopens the case (usually after a not-resolved verdict).
    Reopened {
        /// Why.
        reason: String,
    },
    /// The CSO closes the case.
    Closed {
        /// Outcome summary.
        outcome: String,
    },
}

/// Payload of an escalation: only what the recipient needs (no worker identity).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Escalation {
    /// The party asked to act.
    pub to: OrgId,
    /// Issue categories raised.
    pub categories: Vec<IssueCategory>,
    /// Workers affected (collective cases can be thousands).
    pub workers_affected: u32,
    /// Worksite (supplier site) description.
    pub site: String,
    /// What the CSO asks for.
    pub requested_remedy: String,
    /// Redacted description of the issues.
    pub description: String,
    /// Recruitment fees paid by workers, if reported (Employer Pays Principle).
    pub recruitment_fees: Option<Money>,
    /// Acknowledgement due by.
    pub acknowledge_by: Timestamp,
    /// Remediation due by.
    pub remediate_by: Timestamp,
}

/// Payload of one remediation action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemediationAction {
    /// What was done.
    pub description: String,
    /// When it was done.
    pub taken_at: Timestamp,
    /// Money returned to workers, if any.
    pub amount_repaid: Option<Money>,
    /// Workers who benefited.
    pub workers_benefited: u32,
    /// SHA-256 hashes of evidence files held by the party.
    pub evidence: Vec<Evidence>,
}

/// A reference to an evidence file by hash (the file itself stays with its holder).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// SHA-256 of the file's bytes.
    pub sha256: Digest,
    /// A short label (e.g. "bank transfer receipts").
    pub label: String,
}

/// What workers said about a remediation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// It happened as reported.
    Resolved,
    /// Some of it happened.
    PartlyResolved,
    /// It did not happen; the case reopens.
    NotResolved,
}

/// The kinds of case event, without payloads (for rules and indexes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// See [`EventPayload::Escalation`].
    Escalation,
    /// See [`EventPayload::Acknowledgement`].
    Acknowledgement,
    /// See [`EventPayload::Dispute`].
    Dispute,
    /// See [`EventPayload::RemediationPlan`].
    RemediationPlan,
    /// See [`EventPayload::RemediationAction`].
    RemediationAction,
    /// See [`EventPayload::RemediationReported`].
    RemediationReported,
    /// See [`EventPayload::WorkerVerification`].
    WorkerVerification,
    /// See [`EventPayload::Reopened`].
    Reopened,
    /// See [`EventPayload::Closed`].
    Closed,
}

impl EventKind {
    /// Every kind, in lifecycle order.
    pub const ALL: [EventKind; 9] = [
        EventKind::Escalation,
        EventKind::Acknowledgement,
        EventKind::Dispute,
        EventKind::RemediationPlan,
        EventKind::RemediationAction,
        EventKind::RemediationReported,
        EventKind::WorkerVerification,
        EventKind::Reopened,
        EventKind::Closed,
    ];
}

impl EventPayload {
    /// This payload's kind.
    pub fn kind(&self) -> EventKind {
        match self {
            EventPayload::Escalation(_) => EventKind::Escalation,
            EventPayload::Acknowledgement { .. } => EventKind::Acknowledgement,
            EventPayload::Dispute { .. } => EventKind::Dispute,
            EventPayload::RemediationPlan { .. } => EventKind::RemediationPlan,
            EventPayload::RemediationAction(_) => EventKind::RemediationAction,
            EventPayload::RemediationReported { .. } => EventKind::RemediationReported,
            EventPayload::WorkerVerification { .. } => EventKind::WorkerVerification,
            EventPayload::Reopened { .. } => EventKind::Reopened,
            EventPayload::Closed { .. } => EventKind::Closed,
        }
    }

    /// Every free-text field, for length and control-character checks.
    pub(crate) fn texts(&self) -> Vec<&str> {
        match self {
            EventPayload::Escalation(e) => {
                vec![&e.site, &e.requested_remedy, &e.description]
            }
            EventPayload::Acknowledgement { note } => vec![note],
            EventPayload::Dispute { reason } => vec![reason],
            EventPayload::RemediationPlan { description, .. } => vec![description],
            EventPayload::RemediationAction(a) => {
                let mut v: Vec<&str> = vec![&a.description];
                v.extend(a.evidence.iter().map(|e| e.label.as_str()));
                v
            }
            EventPayload::RemediationReported { summary } => vec![summary],
            EventPayload::WorkerVerification { note, .. } => vec![note],
            EventPayload::Reopened { reason } => vec![reason],
            EventPayload::Closed { outcome } => vec![outcome],
        }
    }
}
