//! Catching up after a restore. A node restored from a backup lacks what reached it after
//! the snapshot, and every sender counts those messages as delivered. So the restored node
//! asks each peer, once, to deliver again what it acknowledged since the backup's time, and a
//! peer asked queues those outbox entries again; the requester's processed markers (restored
//! with the database) make whatever it kept a no-op. Case events come back by history sync
//! as well, which also covers cases the restored node did not know yet.

use super::*;
use crate::backup::{self, Redelivery, RestoreState};
use crate::net::proto::{RedeliverRequest, Redelivered};
use crate::records::DeliveryState;
use std::time::{Duration, Instant};

/// Slack on the backup's time for clocks that differ between nodes: a little more is sent
/// again (and found to be a duplicate), never less.
pub const CLOCK_MARGIN_SECS: u64 = 600;
/// A peer's request to deliver again is served at most this often: a restored node asks
/// once, and a member that asks over and over gets nothing more.
pub const REDELIVER_EVERY: Duration = Duration::from_secs(3600);

impl Core {
    /// On admission of a peer: if this node was restored and the peer has not answered yet,
    /// ask it to deliver again what it delivered after the backup.
    pub(super) fn ask_redelivery(&self, peer: PeerId, org: OrgId) {
        let state = match backup::restore_state(&self.store) {
            Ok(Some(s)) => s,
            Ok(None) => return,
            Err(e) => return warn!("cannot read the restore record: {e}"),
        };
        if state.answered.contains_key(&org) {
            return;
        }
        let net = self.net.clone();
        let tx = self.self_tx.clone();
        let span = info_span!("redeliver", peer = %org.short());
        let req = Request::Redeliver(RedeliverRequest {
            since: state.backup_at,
        });
        tokio::spawn(
            async move {
                match net.request(peer, req).await {
                    Ok(Response::Redelivered(answer)) => {
                        let _ = tx.send(Command::Redelivered { from: org, answer }).await;
                    }
                    Ok(Response::Refused(why)) => debug!("not redelivered yet: {why}"),
                    Ok(_) => debug!("unexpected answer to a redelivery request"),
                    Err(e) => debug!("redelivery request failed: {e}"),
                }
            }
            .instrument(span),
        );
    }

    /// Records a peer's answer, so it is asked only once.
    pub(super) fn on_redelivered(&mut self, from: OrgId, answer: Redelivered) {
        let mut state: RestoreState = match backup::restore_state(&self.store) {
            Ok(Some(s)) => s,
            Ok(None) => return,
            Err(e) => return warn!("cannot read the restore record: {e}"),
        };
        state.answered.insert(
            from,
            Redelivery {
                at: now(),
                requeued: answer.requeued,
                complete: answer.complete,
            },
        );
        let mut batch = WriteBatch::new();
        let stored = batch
            .put(&schema::RESTORE, backup::RESTORE_ID, &state)
            .and_then(|()| self.store.commit(batch));
        if let Err(e) = stored {
            return warn!("the peer's redelivery answer was not recorded: {e}");
        }
        let span = info_span!("redeliver", peer = %from.short());
        let _enter = span.enter();
        if answer.complete {
            tracing::info!(
                requeued = answer.requeued,
                "peer delivers again what reached us after the backup"
            );
        } else {
            warn!(
                requeued = answer.requeued,
                "the peer no longer holds everything it delivered after the backup (its outbox retention is shorter); case histories still come back by sync"
            );
        }
    }

    /// Serves a restored peer's request: queues again every message it acknowledged since
    /// `since` (less the clock margin).
    pub(super) async fn redeliver_to(
        &mut self,
        org: OrgId,
        req: RedeliverRequest,
    ) -> Result<Redelivered, String> {
        if self
            .redelivered
            .get(&org)
            .is_some_and(|t| t.elapsed() < REDELIVER_EVERY)
        {
            return Err("asked to deliver again too soon; ask later".into());
        }
        self.redelivered.insert(org, Instant::now());
        // Never further back than the outbox keeps delivered entries.
        let kept_since = now().0.saturating_sub(self.outbox_retention.as_secs());
        let cutoff = req
            .since
            .0
            .saturating_sub(CLOCK_MARGIN_SECS)
            .max(kept_since);
        let entries = self
            .store
            .scan(&schema::OUTBOX, &[])
            .map_err(|e| format!("storage: {e}"))?;
        let mut batch = WriteBatch::new();
        let mut again = Vec::new();
        for mut e in entries {
            let delivered_since = e.state == DeliveryState::Delivered
                && e.first_delivery().is_some_and(|t| t.0 >= cutoff);
            if e.recipient != org || !delivered_since {
                continue;
            }
            e.first_delivered_at = e.first_delivery();
            e.state = DeliveryState::Pending;
            e.attempts = 0;
            e.last_error = None;
            e.delivered_at = None;
            batch
                .put(
                    &schema::OUTBOX,
                    &schema::outbox_id(&e.message_id, &e.recipient),
                    &e,
                )
                .map_err(|e| format!("storage: {e}"))?;
            again.push(e);
        }
        self.store
            .commit(batch)
            .map_err(|e| format!("storage: {e}"))?;
        let requeued = again.len() as u64;
        for e in again {
            self.outbox.push(e).await;
        }
        // Complete unless a delivered entry from the window asked for was pruned already
        // (counted over all recipients: it may say incomplete when it is not, never the
        // reverse), or the window reaches further back than the outbox keeps entries.
        let asked_from = req.since.0.saturating_sub(CLOCK_MARGIN_SECS);
        let pruned_after = crate::outbox::pruned(&self.store)
            .map_err(|e| format!("storage: {e}"))?
            .latest_delivered
            .is_some_and(|t| t.0 >= asked_from);
        Ok(Redelivered {
            requeued,
            complete: kept_since <= asked_from && !pruned_after,
        })
    }
}
