//! The durable outbox: every message waits here until its recipient acknowledges it.
//!
//! Delivery is at-least-once on the wire and exactly-once in effect: entries are written
//! (flushed) before the first attempt, retried with backoff until the receiver answers
//! `Accepted` or `Duplicate`, and receivers make redelivery a no-op by message id.

use crate::membership::MembershipState;
use crate::metrics::Metrics;
use crate::net::proto::{AckOutcome, Request, Response};
use crate::net::{NetClient, SendError};
pub use crate::records::{DeliveryState, OutboxEntry, Pruned};
use crate::schema;
use crate::store::{Store, WriteBatch};
use ilm_protocol::{MessageId, OrgId, Timestamp};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

/// Deliveries in flight to one peer, at most.
pub const MAX_IN_FLIGHT_PER_PEER: usize = 64;
/// Deliveries in flight in total, at most.
pub const MAX_IN_FLIGHT: usize = 512;
/// First retry delay; doubles per attempt up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// Longest retry delay.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// How long one attempt may take.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);
/// New entries waiting for the worker, at most (senders wait when it is full).
pub const QUEUE: usize = 4096;
/// Delivered and rejected entries are kept this long by default, then pruned (their counts
/// are kept); `[retention] delivered_outbox_days` sets it.
pub const RETENTION: Duration = Duration::from_secs(7 * 86_400);
/// How often pruning runs.
pub const PRUNE_EVERY: Duration = Duration::from_secs(3600);

const PRUNED_ID: &[u8] = b"outbox-pruned";

/// The counts of pruned entries so far.
pub fn pruned(store: &Store) -> Result<Pruned, crate::store::StoreError> {
    Ok(store.get(&schema::PRUNED, PRUNED_ID)?.unwrap_or_default())
}

/// Removes delivered and rejected entries finished before `now - retention`, adding them to
/// the kept counts in the same batch. Returns how many were removed.
pub fn prune(
    store: &Store,
    now: Timestamp,
    retention: Duration,
) -> Result<usize, crate::store::StoreError> {
    let cutoff = now.0.saturating_sub(retention.as_secs());
    let mut counts = pruned(store)?;
    let mut batch = WriteBatch::new();
    let mut removed = 0;
    for e in store.scan(&schema::OUTBOX, &[])? {
        let finished_at = match e.state {
            DeliveryState::Pending => continue,
            DeliveryState::Delivered => e.first_delivery().or(e.last_attempt_at),
            DeliveryState::Rejected => e.last_attempt_at,
        };
        if finished_at.is_none_or(|t| t.0 > cutoff) {
            continue;
        }
        match e.state {
            DeliveryState::Delivered => {
                counts.delivered += 1;
                counts.latest_delivered = counts.latest_delivered.max(finished_at);
            }
            _ => counts.rejected += 1,
        }
        batch.remove(
            &schema::OUTBOX,
            &schema::outbox_id(&e.message_id, &e.recipient),
        );
        removed += 1;
    }
    if removed > 0 {
        batch.put(&schema::PRUNED, PRUNED_ID, &counts)?;
        store.commit(batch)?;
    }
    Ok(removed)
}

/// Retry delay after `attempts` failed attempts.
pub fn backoff(attempts: u32) -> Duration {
    let exp = attempts.saturating_sub(1).min(16);
    FIRST_BACKOFF.saturating_mul(1u32 << exp).min(MAX_BACKOFF)
}

/// What the worker is told.
enum Msg {
    /// A stored entry to deliver.
    Entry(Box<OutboxEntry>),
    /// A recipient was (re)admitted: what waits for it goes now.
    Ready(OrgId),
}

/// A handle to queue entries for the worker (after they are durably stored).
#[derive(Clone)]
pub struct OutboxQueue {
    tx: mpsc::Sender<Msg>,
}

impl OutboxQueue {
    /// Hands a stored entry to the worker.
    pub async fn push(&self, entry: OutboxEntry) {
        // If the worker stopped, the entry is still in the database and is loaded at restart.
        let _ = self.tx.send(Msg::Entry(Box::new(entry))).await;
    }

    /// Tells the worker that `org` is reachable again: every entry waiting for it is tried
    /// at once instead of sitting out its own backoff.
    pub async fn peer_ready(&self, org: OrgId) {
        let _ = self.tx.send(Msg::Ready(org)).await;
    }
}

type Key = (MessageId, OrgId);

struct Attempt {
    key: Key,
    result: Result<AckOutcome, SendError>,
}

/// Starts the outbox worker; pending entries in the database are loaded first.
pub fn spawn(
    store: Arc<Store>,
    net: NetClient,
    membership: Arc<MembershipState>,
    metrics: Arc<Metrics>,
    retention: Duration,
) -> Result<(OutboxQueue, tokio::task::JoinHandle<()>), crate::store::StoreError> {
    let pending: Vec<OutboxEntry> = store
        .scan(&schema::OUTBOX, &[])?
        .into_iter()
        .filter(|e| e.state == DeliveryState::Pending)
        .collect();
    let (tx, rx) = mpsc::channel(QUEUE);
    let worker = Worker {
        store,
        retention,
        net,
        membership,
        metrics,
        waiting: BTreeMap::new(),
        entries: HashMap::new(),
        in_flight: HashMap::new(),
        in_flight_total: 0,
        started: HashMap::new(),
    };
    if !pending.is_empty() {
        info!(count = pending.len(), "resuming pending deliveries");
    }
    let handle = tokio::spawn(worker.run(rx, pending));
    Ok((OutboxQueue { tx }, handle))
}

struct Worker {
    store: Arc<Store>,
    /// How long finished entries are kept.
    retention: Duration,
    net: NetClient,
    /// Where each recipient's current key, hence its peer id, is known.
    membership: Arc<MembershipState>,
    metrics: Arc<Metrics>,
    /// Pending entries by due time.
    waiting: BTreeMap<(Instant, Key), ()>,
    entries: HashMap<Key, OutboxEntry>,
    in_flight: HashMap<OrgId, usize>,
    in_flight_total: usize,
    started: HashMap<Key, Instant>,
}

impl Worker {
    async fn run(mut self, mut rx: mpsc::Receiver<Msg>, pending: Vec<OutboxEntry>) {
        let now = Instant::now();
        for e in pending {
            self.enqueue(e, now);
        }
        let (done_tx, mut done_rx) = mpsc::channel::<Attempt>(MAX_IN_FLIGHT);
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        let mut prune_tick = tokio::time::interval(PRUNE_EVERY);
        loop {
            self.start_due(&done_tx);
            tokio::select! {
                msg = rx.recv() => match msg {
                    Some(m) => {
                        self.on_msg(m);
                        // Take whatever else is queued at once.
                        while let Ok(m) = rx.try_recv() {
                            self.on_msg(m);
                        }
                    }
                    None => break,
                },
                _ = prune_tick.tick() => {
                    match prune(&self.store, crate::membership::now(), self.retention) {
                        Ok(0) => {}
                        Ok(n) => info!(count = n, "pruned delivered outbox entries"),
                        Err(e) => warn!("outbox not pruned: {e}"),
                    }
                }
                Some(first) = done_rx.recv() => {
                    let mut results = vec![first];
                    while let Ok(r) = done_rx.try_recv() {
                        results.push(r);
                    }
                    self.finish(results);
                }
                _ = tick.tick() => {}
            }
        }
    }

    fn on_msg(&mut self, msg: Msg) {
        match msg {
            Msg::Entry(e) => self.enqueue(*e, Instant::now()),
            Msg::Ready(org) => {
                let now = Instant::now();
                let waiting: Vec<(Instant, Key)> = self
                    .waiting
                    .keys()
                    .filter(|(due, key)| key.1 == org && *due > now)
                    .copied()
                    .collect();
                if !waiting.is_empty() {
                    debug!(to = %org.short(), count = waiting.len(), "recipient reachable again");
                }
                for (due, key) in waiting {
                    self.waiting.remove(&(due, key));
                    self.waiting.insert((now, key), ());
                }
            }
        }
    }

    fn enqueue(&mut self, entry: OutboxEntry, due: Instant) {
        let key = (entry.message_id, entry.recipient);
        if entry.state != DeliveryState::Pending || self.entries.contains_key(&key) {
            return;
        }
        self.entries.insert(key, entry);
        self.waiting.insert((due, key), ());
    }

    fn start_due(&mut self, done: &mpsc::Sender<Attempt>) {
        let now = Instant::now();
        let mut deferred = Vec::new();
        while self.in_flight_total < MAX_IN_FLIGHT {
            let Some((&(due, key), _)) = self.waiting.first_key_value() else {
                break;
            };
            if due > now {
                break;
            }
            self.waiting.remove(&(due, key));
            let per_peer = self.in_flight.get(&key.1).copied().unwrap_or(0);
            if per_peer >= MAX_IN_FLIGHT_PER_PEER {
                deferred.push((due, key));
                continue;
            }
            let Some(entry) = self.entries.get(&key) else {
                continue;
            };
            let Some(peer) = self.membership.peer_of(&entry.recipient) else {
                // A recipient whose certificate is unknown: try again later rather than spin.
                deferred.push((now + MAX_BACKOFF, key));
                continue;
            };
            *self.in_flight.entry(key.1).or_default() += 1;
            self.in_flight_total += 1;
            self.started.insert(key, Instant::now());
            let net = self.net.clone();
            let envelope = entry.envelope.clone();
            let done = done.clone();
            tokio::spawn(async move {
                let res = tokio::time::timeout(
                    ATTEMPT_TIMEOUT,
                    net.request(peer, Request::Deliver(envelope)),
                )
                .await;
                let result = match res {
                    Err(_) => Err(SendError::Failed("timed out".into())),
                    Ok(Err(e)) => Err(e),
                    Ok(Ok(Response::Ack(ack))) if ack.message_id == key.0 => Ok(ack.outcome),
                    // A refusal answers this request even if the id could not be read back.
                    Ok(Ok(Response::Ack(ack)))
                        if matches!(ack.outcome, AckOutcome::Rejected(_)) =>
                    {
                        Ok(ack.outcome)
                    }
                    Ok(Ok(Response::Refused(r))) => Err(SendError::Refused(r)),
                    Ok(Ok(_)) => Err(SendError::Failed("unexpected answer".into())),
                };
                let _ = done.send(Attempt { key, result }).await;
            });
        }
        for d in deferred {
            self.waiting.insert(d, ());
        }
    }

    fn finish(&mut self, results: Vec<Attempt>) {
        let now_ts = crate::membership::now();
        let mut batch = WriteBatch::new();
        let mut finished = Vec::new();
        for Attempt { key, result } in results {
            if let Some(n) = self.in_flight.get_mut(&key.1) {
                *n = n.saturating_sub(1);
            }
            self.in_flight_total = self.in_flight_total.saturating_sub(1);
            let started = self.started.remove(&key);
            let Some(entry) = self.entries.get_mut(&key) else {
                continue;
            };
            entry.attempts += 1;
            entry.last_attempt_at = Some(now_ts);
            match result {
                Ok(AckOutcome::Accepted) | Ok(AckOutcome::Duplicate) => {
                    entry.state = DeliveryState::Delivered;
                    entry.delivered_at = Some(now_ts);
                    entry.last_error = None;
                    self.metrics.delivered(started.map(|s| s.elapsed()));
                    debug!(to = %entry.recipient.short(), "delivered");
                    finished.push(key);
                }
                Ok(AckOutcome::Rejected(reason)) => {
                    warn!(to = %entry.recipient.short(), "delivery rejected: {reason}");
                    entry.state = DeliveryState::Rejected;
                    entry.last_error = Some(reason);
                    self.metrics.rejected();
                    finished.push(key);
                }
                Ok(AckOutcome::Retry(reason)) => {
                    entry.last_error = Some(reason);
                    self.metrics.failed();
                    let due = Instant::now() + backoff(entry.attempts);
                    self.waiting.insert((due, key), ());
                }
                Err(e) => {
                    entry.last_error = Some(e.to_string());
                    self.metrics.failed();
                    let due = Instant::now() + backoff(entry.attempts);
                    self.waiting.insert((due, key), ());
                }
            }
            if let Err(e) = batch.put(&schema::OUTBOX, &schema::outbox_id(&key.0, &key.1), entry) {
                warn!("outbox entry not recorded: {e}");
            }
        }
        // One flush for every result gathered (group commit). A crash before it only means a
        // redelivery, which the receiver answers with `Duplicate`.
        if let Err(e) = self.store.commit(batch) {
            warn!("outbox state not saved: {e}");
        }
        for key in finished {
            self.entries.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ilm_protocol::{Envelope, MessageKind};

    fn entry(n: u8, state: DeliveryState, finished: u64) -> OutboxEntry {
        let keys = ilm_protocol::OrgKeys::from_secret_bytes([n; 32], [n; 32]);
        let env = Envelope::seal(
            &keys,
            ilm_protocol::NetworkId([1; 16]),
            MessageKind::CaseEvent,
            &[ilm_protocol::Recipient {
                org_id: keys.org_id(),
                encryption_key: keys.encryption_key(),
            }],
            Timestamp(0),
            b"payload",
        )
        .expect("seal");
        let id = env.claimed_header().expect("header").message_id;
        let mut e = OutboxEntry::new(
            env,
            keys.org_id(),
            MessageKind::CaseEvent,
            id,
            None,
            Timestamp(0),
        );
        e.state = state;
        e.last_attempt_at = Some(Timestamp(finished));
        if state == DeliveryState::Delivered {
            e.delivered_at = Some(Timestamp(finished));
        }
        e
    }

    #[test]
    fn pruning_removes_old_finished_entries_and_keeps_their_counts() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = schema::open(&dir.path().join("db")).expect("db");
        let day = 86_400;
        let mut batch = WriteBatch::new();
        for e in [
            entry(1, DeliveryState::Delivered, 10 * day),
            entry(2, DeliveryState::Rejected, 10 * day),
            entry(3, DeliveryState::Delivered, 29 * day),
            entry(4, DeliveryState::Pending, day),
        ] {
            batch
                .put(
                    &schema::OUTBOX,
                    &schema::outbox_id(&e.message_id, &e.recipient),
                    &e,
                )
                .expect("put");
        }
        store.commit(batch).expect("commit");
        let now = Timestamp(30 * day);
        assert_eq!(prune(&store, now, RETENTION).expect("prune"), 2);
        let left: Vec<OutboxEntry> = store.scan(&schema::OUTBOX, &[]).expect("outbox");
        assert_eq!(
            left.len(),
            2,
            "the recent delivery and the pending entry stay"
        );
        assert!(left.iter().any(|e| e.state == DeliveryState::Pending));
        assert_eq!(
            pruned(&store).expect("counts"),
            Pruned {
                delivered: 1,
                rejected: 1,
                latest_delivered: Some(Timestamp(10 * day)),
            }
        );
        // Idempotent, and counts accumulate across runs.
        assert_eq!(prune(&store, now, RETENTION).expect("prune"), 0);
        assert_eq!(
            prune(&store, Timestamp(60 * day), RETENTION).expect("prune"),
            1
        );
        assert_eq!(pruned(&store).expect("counts").delivered, 2);
        assert_eq!(
            pruned(&store).expect("counts").latest_delivered,
            Some(Timestamp(29 * day))
        );
    }
}
