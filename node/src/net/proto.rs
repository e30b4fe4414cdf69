//! Messages of the ILM request-response protocol (one protocol, scoped to the network id).

use ilm_protocol::{CaseRef, Envelope, EventHash, MessageId, SignedRecord, Timestamp};
use serde::{Deserialize, Serialize};

/// Largest request accepted (an envelope with a large history sync).
pub const MAX_REQUEST_BYTES: u64 = 4 * 1024 * 1024;
/// Largest response accepted.
pub const MAX_RESPONSE_BYTES: u64 = 16 * 1024 * 1024;

/// A request from one member node to another.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Request {
    /// Admission: my membership certificate and the revocations I know.
    Hello(Hello),
    /// Deliver an envelope; answered with an [`Ack`] once stored durably.
    Deliver(Envelope),
    /// My heads of a case; answer with the events I lack.
    Sync(SyncRequest),
    /// Send me every membership certificate and revocation you know (public network state).
    Directory,
    /// My node was restored from a backup: deliver again what you delivered to me since.
    Redeliver(RedeliverRequest),
}

/// An answer to a [`Request`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Response {
    /// Admission accepted: my certificate and revocations.
    Hello(Hello),
    /// Not admitted; the connection will be closed.
    Refused(String),
    /// Outcome of a delivery.
    Ack(Ack),
    /// Events the requester lacks, encrypted to it (None: nothing to send or not a participant).
    Sync(Option<Envelope>),
    /// Certificates and revocations (all signed by stewards; the requester verifies them).
    Directory(Vec<SignedRecord>),
    /// What the answering node queued again for the requester.
    Redelivered(Redelivered),
}

/// Admission data exchanged when two nodes connect.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hello {
    /// The sender's membership certificate.
    pub certificate: SignedRecord,
    /// Revocations the sender knows (so a reconnecting node catches up at once).
    pub revocations: Vec<SignedRecord>,
    /// Steward successions the sender knows (a certificate may come from a successor).
    #[serde(default)]
    pub successions: Vec<SignedRecord>,
}

/// What the receiver did with a delivered envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    /// The envelope's message id.
    pub message_id: MessageId,
    /// The outcome.
    pub outcome: AckOutcome,
}

/// Delivery outcomes. Only `Accepted` and `Duplicate` end delivery successfully.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AckOutcome {
    /// Stored durably now.
    Accepted,
    /// Already stored earlier (a redelivery); nothing changed.
    Duplicate,
    /// Refused for good (not a member, not a recipient, not allowed); do not retry.
    Rejected(String),
    /// Cannot be processed yet (e.g. missing earlier events); retry later.
    Retry(String),
}

/// Most cases in one sync request.
pub const MAX_SYNC_CASES: usize = 128;

/// A participant's heads of some cases, to find what the other side lacks.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SyncRequest {
    /// Up to [`MAX_SYNC_CASES`] cases.
    pub cases: Vec<CaseHeads>,
}

/// One case's heads.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseHeads {
    /// The case.
    pub case_ref: CaseRef,
    /// The requester's heads (empty if it holds nothing of the case).
    pub heads: Vec<EventHash>,
}

/// Payload of a history-sync envelope: events and the certificates of their authors.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SyncPayload {
    /// Events per case, each list in causal order.
    pub cases: Vec<CaseEvents>,
    /// Certificates of the events' authors.
    pub certificates: Vec<SignedRecord>,
}

/// Events of one case.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseEvents {
    /// The case.
    pub case_ref: CaseRef,
    /// Events in causal order.
    pub events: Vec<SignedRecord>,
}

/// A restored node's request to deliver again what reached it after its backup.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RedeliverRequest {
    /// The backup's time: messages acknowledged by the requester at or after it (less a
    /// margin for clock skew) are queued again.
    pub since: Timestamp,
}

/// The answer to a [`RedeliverRequest`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Redelivered {
    /// Messages queued again (the requester's processed markers make those it kept no-ops).
    pub requeued: u64,
    /// Whether the answering node still held every entry delivered since `since` (delivered
    /// entries are pruned after its `[retention] delivered_outbox_days`).
    pub complete: bool,
}
