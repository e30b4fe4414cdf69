//! Published statistics: a CSO signs one month's suppressed counts and sends them to every
//! member; receivers keep the first publication of each CSO and month and refuse another.

use super::*;
use crate::records::StoredPublication;
use crate::schema;
use ilm_protocol::{Delivery, Month, PublishedStatistics, Role};

impl Core {
    /// Publishes this CSO's statistics of `month` (which must be over and not yet
    /// published), suppressed with `k`. With `expect`, the fingerprint of the tables an
    /// operator reviewed ([`fingerprint`]), it refuses when the counts changed since.
    pub(super) async fn publish_statistics(
        &mut self,
        month: Month,
        k: u32,
        expect: Option<ilm_protocol::Digest>,
    ) -> Result<StoredPublication, CoreError> {
        if self.membership.current(&self.me).map(|c| c.role) != Some(Role::Cso) {
            return Err(CoreError::refused(
                "only a current CSO member publishes statistics",
            ));
        }
        let t = now();
        if t < month.end() {
            return Err(CoreError::refused(format!(
                "{month} is not over yet: a month is published once it has ended"
            )));
        }
        if let Some(done) = crate::statistics::publication(&self.store, month, &self.me)? {
            return Err(CoreError::refused(format!(
                "{month} was already published on {}: a month is published once, since two versions could be subtracted to reveal the few workers counted between them",
                crate::clock::fmt_day(done.stored_at)
            )));
        }
        // A node restored from a backup may have published a month after the backup was
        // made: publishing it again would give two versions to subtract.
        if let Some(r) = crate::backup::restore_state(&self.store)?
            && month.end() <= r.restored_at
        {
            return Err(CoreError::refused(format!(
                "{month} had ended when this node was restored from a backup ({}): it may have been published after the backup was made, and a second version could be subtracted from the first",
                crate::clock::fmt_day(r.restored_at)
            )));
        }
        let tables = crate::statistics::tables(&self.store, month, k)?;
        if expect.is_some_and(|e| e != crate::statistics::fingerprint(&tables)) {
            return Err(CoreError::refused(
                "the counts changed since they were reviewed: review them again before publishing",
            ));
        }
        let body = PublishedStatistics {
            network_id: self.membership.network_id(),
            publisher: self.me,
            month,
            k,
            published_at: t,
            tables,
        };
        // Our own tables break no rule; checked anyway, as every receiver will.
        body.check().map_err(CoreError::refused)?;
        let record = SignedRecord::sign(&body, &self.keys).map_err(CoreError::refused)?;
        let stored = StoredPublication {
            record,
            stored_at: t,
        };
        let mut batch = WriteBatch::new();
        batch.put(
            &schema::PUBLICATIONS,
            &schema::publication_id(month, &self.me),
            &stored,
        )?;
        let mut recipients: Vec<OrgId> = self
            .membership
            .known()
            .into_iter()
            .map(|c| c.org_id)
            .filter(|o| *o != self.me && self.membership.current(o).is_some())
            .collect();
        recipients.sort();
        let payload = serde_json::to_vec(&stored.record).map_err(CoreError::refused)?;
        self.commit_to_many(
            batch,
            MessageKind::PublishedStatistics,
            &recipients,
            &payload,
        )
        .await?;
        Ok(stored)
    }

    /// A publication delivered by `sender`: verified, checked against the suppression rules
    /// and kept if it is the first of its CSO and month (the same one again is a no-op).
    pub(super) fn receive_publication(
        &mut self,
        sender: &OrgId,
        payload: &[u8],
        batch: &mut WriteBatch,
    ) -> Result<(), receive::Declined> {
        // Published early, a month's counts would be incomplete, and the complete ones could
        // never follow (a month is kept once): refused when dated ahead of this node's clock.
        let (rec, body) =
            self.delivered::<PublishedStatistics>(payload, "publication", |b| b.network_id)?;
        body.check().map_err(|e| e.to_string())?;
        // One reading for every implementation: the body must be exactly what it parses to
        // (no duplicate keys, no other spacing), as every publisher writes it.
        if serde_json::to_vec(&body).ok().as_deref() != Some(rec.body.as_slice()) {
            return Err("publication not in its canonical encoding".into());
        }
        self.may_deliver(
            sender,
            &Delivery::PublishedStatistics {
                publisher: body.publisher,
            },
        )?;
        let id = schema::publication_id(body.month, &body.publisher);
        // One held, or one an earlier message of this batch stores.
        let held = self.held_in(batch, &schema::PUBLICATIONS, &id)?;
        match held {
            Some(h) if h.record.digest() == rec.digest() => Ok(()),
            Some(_) => Err(format!(
                "this node already holds {}'s statistics for {}: a month is published once",
                body.publisher.short(),
                body.month
            )
            .into()),
            None => Ok(batch
                .put(
                    &schema::PUBLICATIONS,
                    &id,
                    &StoredPublication {
                        record: rec,
                        stored_at: now(),
                    },
                )
                .map_err(|e| e.to_string())?),
        }
    }
}
