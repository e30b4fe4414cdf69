//! The node core: the one task that changes case state. It appends local events, processes
//! deliveries (validate, store durably, then acknowledge), and runs case-history sync.
//!
//! Architecture invariant: an acknowledgement (`Accepted`) is sent only after the batch that
//! holds the message's effect and its processed-marker has been flushed.

use crate::membership::{MembershipState, now};
use crate::metrics::Metrics;
use crate::net::proto::{Ack, AckOutcome, Request, Response, SyncPayload, SyncRequest};
use crate::net::{InboundId, NetClient, NetEvent};
use crate::outbox::{OutboxEntry, OutboxQueue};
use crate::schema;
use crate::store::{Store, StoreError, WriteBatch};
use ilm_protocol::{
    CaseEvent, CaseHistory, CaseNonce, CaseRef, Envelope, EventHash, EventPayload, HistoryError,
    Inserted, MembershipCertificate, MessageId, MessageKind, OrgId, OrgKeys, Recipient,
    SignedRecord, Timestamp,
};
use libp2p::PeerId;
use serde::Serialize;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use tracing::{Instrument, debug, info_span, warn};

mod alert;
mod append;
mod attest;
mod commands;
mod deliver;
mod dispatch;
mod improvement;
mod links;
mod listing;
mod publish;
mod rating;
mod receive;
mod redeliver;
mod supply_chain;
mod sync;
mod workflow;

#[cfg(test)]
mod tests;

use crate::records::ProcessedMarker;
pub use crate::records::{
    CaseMeta, Disclosure, ReceivedDisclosure, StatusReport, StoredAttestation, StoredLink,
};
pub use alert::AlertInput;
pub use commands::{Escalated, Verdicted, truncate_text};
pub use improvement::{ActivityInput, activity};
pub use listing::{ListingInput, listing};
pub use rating::RatingOutcome;
pub use supply_chain::{brands_of, buyers_of, complete_links, status_report, suppliers_of};

/// Case histories kept in memory between commands, at most: each is loaded again from the
/// store when needed, so the core's memory does not grow with the cases the node holds.
pub const MAX_CACHED_HISTORIES: usize = 2_048;

/// Deliveries processed in one batch (one flush), at most.
pub const MAX_BATCH: usize = 256;
/// Commands waiting for the core, at most.
pub const QUEUE: usize = 1024;
/// How far in the future a delivered event may claim to be authored (clock skew), at most.
pub const MAX_FUTURE_SKEW_SECS: u64 = 86_400;

/// Why a local operation failed: refused (the caller's request is wrong now), or the node
/// could not do it (storage, shutting down). The API maps the first to 4xx, the rest to 5xx.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// Refused by the protocol's rules or a workflow precondition; nothing was written.
    #[error("{0}")]
    Refused(Refusal),
    /// No such case.
    #[error("no case {0}")]
    UnknownCase(CaseRef),
    /// The database failed; nothing was written.
    #[error("storage failed: {0}")]
    Storage(#[from] StoreError),
    /// The core stopped.
    #[error("the node is shutting down")]
    Unavailable,
}

/// Why the core refused a request.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// The protocol's rules (authorship, lifecycle, time, membership).
    #[error(transparent)]
    Rules(#[from] HistoryError),
    /// An organisation named is not a current member.
    #[error("{0} is not a current member (certificate unknown, expired or revoked)")]
    NotAMember(String),
    /// A workflow precondition (no draft to co-sign, not the owner, ...).
    #[error("{0}")]
    Precondition(String),
}

impl CoreError {
    /// A refusal for a workflow precondition.
    pub fn refused(why: impl std::fmt::Display) -> CoreError {
        CoreError::Refused(Refusal::Precondition(why.to_string()))
    }
}

/// Result of appending a local event.
#[derive(Debug, Clone, Serialize)]
pub struct Appended {
    /// The case.
    pub case_ref: CaseRef,
    /// The new event's hash.
    pub event: EventHash,
    /// The message carrying it to the other participants (None if there is nobody to tell).
    pub message_id: Option<MessageId>,
    /// Who it goes to.
    pub recipients: Vec<OrgId>,
}

enum Command {
    Append {
        case: Option<CaseRef>,
        payload: EventPayload,
        at: Option<Timestamp>,
        reply: oneshot::Sender<Result<Appended, CoreError>>,
    },
    Workflow(workflow::WorkflowCommand),
    SyncAnswer {
        from: OrgId,
        envelope: Envelope,
    },
    Directory(Vec<SignedRecord>),
    Redelivered {
        from: OrgId,
        answer: crate::net::proto::Redelivered,
    },
}

/// An append waiting for the group commit: case, payload, time, and where the answer goes.
type PendingAppend = (
    Option<CaseRef>,
    EventPayload,
    Option<Timestamp>,
    oneshot::Sender<Result<Appended, CoreError>>,
);

/// A cloneable handle to the core.
#[derive(Clone)]
pub struct CoreClient {
    tx: mpsc::Sender<Command>,
}

impl CoreClient {
    /// Appends an event authored by this node: a new case when `case` is None (the payload
    /// must then be an escalation). The event is stored and queued for delivery before this
    /// returns.
    pub async fn append(
        &self,
        case: Option<CaseRef>,
        payload: EventPayload,
    ) -> Result<Appended, CoreError> {
        self.append_at(case, payload, None).await
    }

    /// Like [`CoreClient::append`], signed as authored at `at` (sample data spread over time).
    pub async fn append_at(
        &self,
        case: Option<CaseRef>,
        payload: EventPayload,
        at: Option<Timestamp>,
    ) -> Result<Appended, CoreError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::Append {
                case,
                payload,
                at,
                reply,
            })
            .await
            .map_err(|_| CoreError::Unavailable)?;
        rx.await.map_err(|_| CoreError::Unavailable)?
    }
}

/// What the core works with.
pub struct CoreParts {
    /// This node's keys.
    pub keys: Arc<OrgKeys>,
    /// The database.
    pub store: Arc<Store>,
    /// Membership state.
    pub membership: Arc<MembershipState>,
    /// The network task.
    pub net: NetClient,
    /// The outbox worker's queue.
    pub outbox: OutboxQueue,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// The vault for worker personal data.
    pub vault: Arc<crate::vault::Vault>,
    /// How long delivered outbox entries are kept (`[retention] delivered_outbox_days`).
    pub outbox_retention: std::time::Duration,
}

/// Starts the core task.
pub fn spawn(
    parts: CoreParts,
    net_events: mpsc::Receiver<NetEvent>,
) -> (CoreClient, tokio::task::JoinHandle<()>) {
    let CoreParts {
        keys,
        store,
        membership,
        net,
        outbox,
        metrics,
        vault,
        outbox_retention,
    } = parts;
    let (tx, rx) = mpsc::channel(QUEUE);
    let core = Core {
        me: keys.org_id(),
        keys,
        store,
        membership,
        net,
        outbox,
        metrics,
        histories: HashMap::new(),
        self_tx: tx.clone(),
        vault,
        to_push: Vec::new(),
        escalated_by: BTreeSet::new(),
        reports: crate::aggregates::Pending::new(),
        to_offer: Vec::new(),
        links_shared: HashSet::new(),
        shared_once: HashSet::new(),
        outbox_retention,
        redelivered: HashMap::new(),
    };
    let handle = tokio::spawn(core.run(rx, net_events));
    (CoreClient { tx }, handle)
}

struct Core {
    me: OrgId,
    keys: Arc<OrgKeys>,
    store: Arc<Store>,
    membership: Arc<MembershipState>,
    net: NetClient,
    outbox: OutboxQueue,
    metrics: Arc<Metrics>,
    histories: HashMap<CaseRef, CaseHistory>,
    self_tx: mpsc::Sender<Command>,
    vault: Arc<crate::vault::Vault>,
    /// Outbox entries committed by a delivery batch, to hand to the worker after the flush.
    to_push: Vec<OutboxEntry>,
    /// CSOs that escalated to this node in the current delivery batch.
    escalated_by: BTreeSet<OrgId>,
    /// What the status reports of the current delivery batch change in the aggregates: staged
    /// with the batch's case writes (`stage_case_writes`), so every cell changes once.
    reports: crate::aggregates::Pending,
    /// Participants that may lack events of a case just stored (see `offer_heads`).
    to_offer: Vec<(OrgId, CaseRef)>,
    /// Links already shared with each CSO since start (a restart shares them again).
    links_shared: HashSet<(OrgId, ilm_protocol::Digest)>,
    /// Records (plan activities, listings, rating summaries and answers) already shared
    /// with each organisation since start.
    shared_once: HashSet<(OrgId, ilm_protocol::Digest)>,
    /// How long delivered outbox entries are kept.
    outbox_retention: std::time::Duration,
    /// When each restored peer's request to deliver again was last served.
    redelivered: HashMap<OrgId, std::time::Instant>,
}

struct Delivery {
    org: OrgId,
    peer: PeerId,
    envelope: Envelope,
    reply: InboundId,
}

/// The participants of a case as a history shows them: owner and everyone escalated to.
pub fn participants(history: &CaseHistory) -> BTreeSet<OrgId> {
    let mut out = BTreeSet::new();
    if let Some(state) = history.state() {
        out.insert(state.owner);
        out.extend(state.responders());
    }
    out
}

impl Core {
    /// Builds the read model's record (state and heads) of every case an earlier release
    /// listed in its case index, where it is missing or has no heads, in flushed batches;
    /// each case leaves the index in the batch that makes sure of its record. New cases are
    /// never listed there, so once it is empty this reads nothing (the look used to read
    /// every case at each start: half a minute at a million).
    fn backfill_states(&mut self) -> Result<(), CoreError> {
        let mut logged = false;
        loop {
            let ids = self.store.ids_after(&schema::CASES, 0, MAX_BATCH)?;
            if ids.is_empty() {
                return Ok(());
            }
            if !logged {
                logged = true;
                info_span!("backfill").in_scope(|| {
                    tracing::info!("checking the read model of an earlier release's cases");
                });
            }
            let mut batch = WriteBatch::new();
            let mut aggregates = crate::aggregates::Pending::new();
            let mut loaded = Vec::new();
            for id in &ids {
                batch.remove(&schema::CASES, id);
                let Ok(bytes) = <[u8; 16]>::try_from(id.as_slice()) else {
                    continue;
                };
                let case = CaseRef(bytes);
                let old = crate::cases::record_of(&self.store, &case)?;
                if old.as_ref().is_some_and(|r| !r.heads.is_empty()) {
                    continue;
                }
                loaded.push(case);
                if let Some((state, heads)) = self
                    .history(&case)?
                    .and_then(|h| Some((h.state().cloned()?, h.heads())))
                {
                    aggregates.case(old.as_ref().map(|r| &r.state), &state);
                    crate::cases::put_record(&mut batch, &state, &heads)?;
                }
            }
            aggregates.stage(&self.store, &mut batch)?;
            self.store.commit(batch)?;
            // Backfilled histories are not needed in memory afterwards.
            for case in &loaded {
                self.histories.remove(case);
            }
        }
    }

    fn cert_of(&self) -> impl Fn(&OrgId, Timestamp) -> Option<MembershipCertificate> + '_ {
        // Live nodes decide membership as of now: a revoked member's new events are refused.
        |org, _at| self.membership.current(org)
    }

    fn history(&mut self, case: &CaseRef) -> Result<Option<&mut CaseHistory>, CoreError> {
        if !self.histories.contains_key(case) {
            let Some(h) = crate::cases::load_history(&self.store, &self.membership, case)? else {
                return Ok(None);
            };
            self.histories.insert(*case, h);
        }
        Ok(self.histories.get_mut(case))
    }

    /// Drops cached histories beyond [`MAX_CACHED_HISTORIES`] (down to half of it, so the
    /// trimming is rare). Only called between commands, when no batch holds unstored events.
    fn trim_histories(&mut self) {
        if self.histories.len() > MAX_CACHED_HISTORIES {
            let excess = self.histories.len() - MAX_CACHED_HISTORIES / 2;
            let drop: Vec<CaseRef> = self.histories.keys().take(excess).copied().collect();
            for case in drop {
                self.histories.remove(&case);
            }
        }
        self.metrics.set_cached_histories(self.histories.len());
    }

    fn recipient(&self, org: &OrgId) -> Result<Recipient, CoreError> {
        let cert = self
            .membership
            .current(org)
            .ok_or_else(|| CoreError::Refused(Refusal::NotAMember(org.short())))?;
        Ok(Recipient {
            org_id: *org,
            encryption_key: cert.encryption_key,
        })
    }

    fn persist_membership<'a>(&self, recs: impl Iterator<Item = &'a SignedRecord>) {
        let mut batch = WriteBatch::new();
        let mut revoked = Vec::new();
        let mut rotated_away = Vec::new();
        for rec in recs {
            let res = match rec.kind {
                // Stored only when it is the newest held, like revocations below: an older
                // certificate from a stale peer must not bring back a key rotated away from.
                ilm_protocol::RecordKind::MembershipCertificate => {
                    let before = self.membership.peer_of_cert(rec);
                    let learned = self.membership.learn_certificate(rec);
                    if let Ok(crate::membership::Learned::Certificate(org)) = learned
                        && let Some(old) = before
                        && self.membership.peer_of(&org) != Some(old)
                    {
                        // A rotation: whoever is connected with the old key goes.
                        rotated_away.push(old);
                    }
                    match serde_json::from_slice::<ilm_protocol::MembershipCertificate>(&rec.body) {
                        Ok(c) => {
                            let org = c.org_id;
                            let newest = self
                                .membership
                                .certificate_record(&org)
                                .is_some_and(|held| held.digest() == rec.digest());
                            let stored = self
                                .store
                                .get(&schema::CERTIFICATES, org.as_bytes())
                                .ok()
                                .flatten()
                                .is_some_and(|s| s.digest() == rec.digest());
                            if newest && !stored {
                                batch.put(&schema::CERTIFICATES, org.as_bytes(), rec)
                            } else {
                                Ok(())
                            }
                        }
                        Err(_) => Ok(()),
                    }
                }
                // Stored once accepted, whoever taught it (hello, directory, gossip).
                ilm_protocol::RecordKind::StewardSuccession => {
                    let _ = self.membership.learn(rec);
                    let held = self.membership.network().successions().any(|s| s == rec);
                    let stored = self
                        .store
                        .contains(&schema::SUCCESSIONS, rec.digest().as_bytes())
                        .unwrap_or(false);
                    if held && !stored {
                        batch.put(&schema::SUCCESSIONS, rec.digest().as_bytes(), rec)
                    } else {
                        Ok(())
                    }
                }
                // Stored only when it is the newest one held: an older revocation arriving
                // from a stale peer must never replace it, in memory or on disk. Admission
                // learns a hello's revocations before this runs, so "newest held and not yet
                // on disk" (not "learned just now") decides, however it was learned.
                ilm_protocol::RecordKind::Revocation => {
                    let _ = self.membership.learn_revocation(rec);
                    match self.membership.network().check_revocation(rec) {
                        Ok(r) => {
                            let org = r.body().org_id;
                            let newest = self
                                .membership
                                .revocation_of(&org)
                                .is_some_and(|held| held.digest() == rec.digest());
                            let stored = self
                                .store
                                .revocation(&org)
                                .ok()
                                .flatten()
                                .is_some_and(|s| s.digest() == rec.digest());
                            if newest && !stored {
                                revoked.push(org);
                                self.store.put_revocation(&org, rec)
                            } else {
                                Ok(())
                            }
                        }
                        Err(_) => Ok(()),
                    }
                }
                _ => Ok(()),
            };
            if let Err(e) = res {
                warn!("membership record not stored: {e}");
            }
        }
        if let Err(e) = self.store.commit(batch) {
            warn!("membership records not stored: {e}");
        }
        // However a revocation was learned (hello, directory, sync), drop the revoked peer.
        let revoked_peers = revoked
            .iter()
            .filter_map(|org| self.membership.peer_of(org));
        for peer in revoked_peers.chain(rotated_away) {
            let net = self.net.clone();
            tokio::spawn(async move { net.disconnect(peer).await });
        }
    }
}
