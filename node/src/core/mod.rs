//! The node core: the one task that changes case state. It appends local events, processes
//! deliveries (validate, store durably, then acknowledge), and runs case-history sync.
//!
//! Architecture invariant: an acknowledgement (`Accepted`) is sent only after the batch that
//! holds the message's effect and its processed-marker has been flushed.

use crate::membership::{MembershipState, now, peer_id_of};
use crate::metrics::Metrics;
use crate::net::proto::{Ack, AckOutcome, Request, Response, SyncPayload, SyncRequest};
use crate::net::{InboundId, NetClient, NetEvent};
use crate::outbox::{OutboxEntry, OutboxQueue};
use crate::store::{Store, StoreError, WriteBatch};
use ilm_protocol::{
    CaseEvent, CaseHistory, CaseNonce, CaseRef, Envelope, EventHash, EventPayload, HistoryError,
    Inserted, MembershipCertificate, MessageId, MessageKind, OrgId, OrgKeys, Recipient,
    SignedRecord, Timestamp,
};
use libp2p::PeerId;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use tracing::{Instrument, debug, info_span, warn};

mod deliver;
mod sync;
mod workflow;

#[cfg(test)]
mod tests;

pub use workflow::{
    Disclosure, ReceivedDisclosure, StatusReport, StoredAttestation, StoredLink, brands_of,
};

/// Deliveries processed in one batch (one flush), at most.
pub const MAX_BATCH: usize = 256;
/// Commands waiting for the core, at most.
pub const QUEUE: usize = 1024;
/// How far in the future a delivered event may claim to be authored (clock skew), at most.
pub const MAX_FUTURE_SKEW_SECS: u64 = 86_400;

/// Why a local operation failed.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// Rules, signatures or case state.
    #[error("{0}")]
    Refused(String),
    /// No such case.
    #[error("no case {0}")]
    UnknownCase(CaseRef),
    /// Database failure.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The core stopped.
    #[error("the node is shutting down")]
    Stopped,
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

/// What is stored per case besides its events.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseMeta {
    /// The case.
    pub case_ref: CaseRef,
    /// When this node first held it.
    pub first_seen: Timestamp,
}

/// What was recorded about a processed message.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ProcessedMarker {
    sender: OrgId,
    kind: MessageKind,
    at: Timestamp,
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
            .map_err(|_| CoreError::Stopped)?;
        rx.await.map_err(|_| CoreError::Stopped)?
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
        to_offer: Vec::new(),
        links_shared: HashSet::new(),
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
    /// Participants that may lack events of a case just stored (see `offer_heads`).
    to_offer: Vec<(OrgId, CaseRef)>,
    /// Links already shared with each CSO since start (a restart shares them again).
    links_shared: HashSet<(OrgId, ilm_protocol::Digest)>,
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
    async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        mut events: mpsc::Receiver<NetEvent>,
    ) {
        loop {
            tokio::select! {
                cmd = commands.recv() => match cmd {
                    Some(Command::Append { case, payload, at, reply }) => {
                        // Group commit: every append already waiting shares one flush.
                        let mut appends = vec![(case, payload, at, reply)];
                        let mut next = None;
                        while appends.len() < MAX_BATCH {
                            match commands.try_recv() {
                                Ok(Command::Append { case, payload, at, reply }) => {
                                    appends.push((case, payload, at, reply))
                                }
                                Ok(other) => {
                                    next = Some(other);
                                    break;
                                }
                                Err(_) => break,
                            }
                        }
                        self.append_batch(appends).await;
                        if let Some(cmd) = next {
                            self.on_command(cmd).await;
                        }
                    }
                    Some(cmd) => self.on_command(cmd).await,
                    None => break,
                },
                ev = events.recv() => match ev {
                    Some(ev) => self.on_net_event(ev, &mut events).await,
                    None => break,
                },
            }
        }
        if let Err(e) = self.store.flush() {
            warn!("final flush failed: {e}");
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

    pub(super) fn all_cases(&self) -> Result<Vec<CaseRef>, CoreError> {
        Ok(self
            .store
            .cases::<CaseMeta>()?
            .into_iter()
            .map(|m| m.case_ref)
            .collect())
    }

    fn recipient(&self, org: &OrgId) -> Result<Recipient, CoreError> {
        let cert = self.membership.current(org).ok_or_else(|| {
            CoreError::Refused(format!(
                "{} is not a current member (certificate unknown, expired or revoked)",
                org.short()
            ))
        })?;
        Ok(Recipient {
            org_id: *org,
            encryption_key: cert.encryption_key,
        })
    }

    async fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::Append {
                case,
                payload,
                at,
                reply,
            } => self.append_batch(vec![(case, payload, at, reply)]).await,
            Command::Workflow(cmd) => self.on_workflow(cmd).await,
            Command::SyncAnswer { from, envelope } => self.on_sync_answer(from, envelope),
            Command::Directory(records) => {
                // New certificates, and every revocation (persisting keeps only the newest
                // one per organisation and stores it if it is not on disk yet).
                let new: Vec<&SignedRecord> = records
                    .iter()
                    .filter(|r| {
                        r.kind == ilm_protocol::RecordKind::Revocation
                            || !matches!(
                                self.membership.learn(r),
                                Ok(crate::membership::Learned::Nothing) | Err(_)
                            )
                    })
                    .collect();
                debug!(learned = new.len(), "directory");
                self.persist_membership(new.into_iter());
            }
        }
    }

    /// Appends events authored by this node and queues them for the other participants, all
    /// in one flushed batch (group commit), then answers each caller.
    async fn append_batch(&mut self, appends: Vec<PendingAppend>) {
        let mut batch = WriteBatch::new();
        let mut answers = Vec::with_capacity(appends.len());
        let mut entries = Vec::new();
        let mut touched = BTreeSet::new();
        let mut broken: Option<String> = None;
        for (case, payload, at, reply) in appends {
            if broken.is_some() {
                answers.push((
                    reply,
                    Err(CoreError::Refused("not stored: the batch failed".into())),
                ));
                continue;
            }
            match self.prepare_append(&mut batch, case, payload, at) {
                Ok((appended, mut e)) => {
                    touched.insert(appended.case_ref);
                    entries.append(&mut e);
                    answers.push((reply, Ok(appended)));
                }
                Err(CoreError::Store(e)) => {
                    // The batch may hold part of this append: none of it may be committed.
                    broken = Some(e.to_string());
                    answers.push((reply, Err(CoreError::Store(e))));
                }
                Err(e) => answers.push((reply, Err(e))),
            }
        }
        let committed = match broken {
            Some(e) => Err(e),
            None => self.store.commit(batch).map_err(|e| e.to_string()),
        };
        if let Err(e) = &committed {
            warn!("appends not stored: {e}");
            // Cached histories may hold events that are not stored: reload them on next use.
            for case in &touched {
                self.histories.remove(case);
            }
        } else {
            for e in entries {
                self.outbox.push(e).await;
            }
        }
        for (reply, answer) in answers {
            let answer = match (&committed, answer) {
                (Err(e), Ok(_)) => Err(CoreError::Refused(format!("not stored: {e}"))),
                (_, a) => a,
            };
            let _ = reply.send(answer);
        }
        if committed.is_ok() {
            for case in touched {
                self.after_case_change(case).await;
            }
        }
    }

    /// Builds one append into `batch`: signs the event, adds it to the cached history and
    /// seals it to the other participants. Everything that can be refused is checked before
    /// anything is written to the batch; a write error means the batch is unusable.
    fn prepare_append(
        &mut self,
        batch: &mut WriteBatch,
        case: Option<CaseRef>,
        payload: EventPayload,
        at: Option<Timestamp>,
    ) -> Result<(Appended, Vec<OutboxEntry>), CoreError> {
        let network_id = self.membership.network_id();
        let me = self.me;
        let t = at.unwrap_or_else(now);
        let existing = match case {
            Some(c) => self.history(&c)?.cloned(),
            None => None,
        };
        // A new case's reference derives from this node's id and a nonce: its own (an
        // escalation of nothing), or the nonce the CSO's local case was opened with. Nobody
        // chooses a reference, so no case can take over another's.
        let (case_ref, nonce) = match (case, &existing) {
            (Some(c), Some(_)) => (c, None),
            (Some(c), None) => {
                let local: Option<crate::intake::LocalCase> = self
                    .store
                    .get(crate::store::Table::LocalCase, c.as_bytes())?;
                match local.and_then(|l| l.nonce) {
                    Some(n) if CaseRef::derive(&me, &n) == c => (c, Some(n)),
                    _ => return Err(CoreError::UnknownCase(c)),
                }
            }
            (None, _) => {
                let n = CaseNonce(
                    ilm_protocol::identity::random_bytes()
                        .map_err(|e| CoreError::Refused(e.to_string()))?,
                );
                (CaseRef::derive(&me, &n), Some(n))
            }
        };
        if existing.is_none() && !matches!(payload, EventPayload::Escalation(_)) {
            return Err(CoreError::UnknownCase(case_ref));
        }
        let is_new = existing.is_none();
        let mut history = existing.unwrap_or_else(|| CaseHistory::new(network_id, case_ref));
        let event = CaseEvent {
            network_id,
            case_ref,
            case_nonce: nonce,
            parents: history.heads(),
            author: me,
            authored_at: t,
            payload,
        };
        let rec = SignedRecord::sign(&event, &self.keys)
            .map_err(|e| CoreError::Refused(e.to_string()))?;
        let hash = match history.insert(&rec, &self.cert_of()) {
            Ok(Inserted::New(h)) => h,
            Ok(Inserted::Duplicate(_)) => {
                return Err(CoreError::Refused("event already recorded".into()));
            }
            Err(e) => return Err(CoreError::Refused(e.to_string())),
        };
        let recipients: Vec<OrgId> = participants(&history)
            .into_iter()
            .filter(|o| *o != me)
            .collect();
        let bytes = serde_json::to_vec(&rec).map_err(|e| CoreError::Refused(e.to_string()))?;
        let (message_id, entries) = self.seal_message(
            MessageKind::CaseEvent,
            &recipients,
            &bytes,
            Some(case_ref),
            t,
        )?;
        batch.put_event(&case_ref, &hash, &rec)?;
        if is_new {
            batch.put_case(
                &case_ref,
                &CaseMeta {
                    case_ref,
                    first_seen: t,
                },
            )?;
        }
        for e in &entries {
            batch.put_outbox(&e.message_id, &e.recipient, e)?;
        }
        self.histories.insert(case_ref, history);
        Ok((
            Appended {
                case_ref,
                event: hash,
                message_id,
                recipients,
            },
            entries,
        ))
    }

    /// Seals `payload` to `recipients` and adds one outbox entry per recipient to `batch`.
    /// The caller commits the batch, then pushes the entries to the outbox worker.
    fn queue_message(
        &self,
        batch: &mut WriteBatch,
        kind: MessageKind,
        recipients: &[OrgId],
        payload: &[u8],
        case_ref: Option<CaseRef>,
        t: Timestamp,
    ) -> Result<(Option<MessageId>, Vec<OutboxEntry>), CoreError> {
        let (id, entries) = self.seal_message(kind, recipients, payload, case_ref, t)?;
        for e in &entries {
            batch.put_outbox(&e.message_id, &e.recipient, e)?;
        }
        Ok((id, entries))
    }

    /// Seals `payload` to `recipients`: one envelope, one outbox entry per recipient (not
    /// stored yet).
    fn seal_message(
        &self,
        kind: MessageKind,
        recipients: &[OrgId],
        payload: &[u8],
        case_ref: Option<CaseRef>,
        t: Timestamp,
    ) -> Result<(Option<MessageId>, Vec<OutboxEntry>), CoreError> {
        if recipients.is_empty() {
            return Ok((None, Vec::new()));
        }
        let rs = recipients
            .iter()
            .map(|o| self.recipient(o))
            .collect::<Result<Vec<_>, _>>()?;
        let env = Envelope::seal(
            &self.keys,
            self.membership.network_id(),
            kind,
            &rs,
            t,
            payload,
        )
        .map_err(|e| CoreError::Refused(e.to_string()))?;
        // Our own envelope, just sealed: its header needs no signature check.
        let header = env
            .claimed_header()
            .map_err(|e| CoreError::Refused(e.to_string()))?;
        let entries = recipients
            .iter()
            .map(|r| OutboxEntry::new(env.clone(), *r, kind, header.message_id, case_ref, t))
            .collect();
        Ok((Some(header.message_id), entries))
    }

    async fn on_net_event(&mut self, ev: NetEvent, events: &mut mpsc::Receiver<NetEvent>) {
        match ev {
            NetEvent::Admitted { peer, org, hello } => {
                // What waits for it goes now, not after each message's own backoff.
                self.outbox.peer_ready(org).await;
                self.persist_membership(
                    std::iter::once(&hello.certificate).chain(hello.revocations.iter()),
                );
                if self.membership.network().is_steward(&org) {
                    self.fetch_directory(peer);
                }
                self.start_sync_with(peer, org);
            }
            NetEvent::Gossip(rec) => {
                // Stores what is new and disconnects a peer a new revocation names.
                self.persist_membership(std::iter::once(&rec));
            }
            NetEvent::Inbound {
                peer,
                org,
                request,
                reply,
            } => match request {
                Request::Deliver(envelope) => {
                    let mut batch = vec![Delivery {
                        org,
                        peer,
                        envelope,
                        reply,
                    }];
                    // Group commit: take every delivery already waiting into the same flush.
                    let mut others = Vec::new();
                    while batch.len() < MAX_BATCH {
                        match events.try_recv() {
                            Ok(NetEvent::Inbound {
                                peer,
                                org,
                                request: Request::Deliver(envelope),
                                reply,
                            }) => batch.push(Delivery {
                                org,
                                peer,
                                envelope,
                                reply,
                            }),
                            Ok(other) => {
                                others.push(other);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    self.deliver_batch(batch).await;
                    for o in others {
                        Box::pin(self.on_net_event(o, events)).await;
                    }
                }
                Request::Sync(req) => {
                    let resp = self.answer_sync(peer, org, req);
                    self.net.respond(reply, Response::Sync(resp)).await;
                }
                Request::Hello(_) | Request::Directory => {}
            },
        }
    }

    fn persist_membership<'a>(&self, recs: impl Iterator<Item = &'a SignedRecord>) {
        let mut batch = WriteBatch::new();
        let mut revoked = Vec::new();
        for rec in recs {
            let res = match rec.kind {
                ilm_protocol::RecordKind::MembershipCertificate => {
                    match self.membership.network().verify_certificate(rec) {
                        Ok(c) => {
                            let _ = self.membership.learn_certificate(rec);
                            batch.put_certificate(&c.body().org_id, rec)
                        }
                        Err(_) => Ok(()),
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
        for org in revoked {
            if let Some(peer) = peer_id_of(&org) {
                let net = self.net.clone();
                tokio::spawn(async move { net.disconnect(peer).await });
            }
        }
    }
}
