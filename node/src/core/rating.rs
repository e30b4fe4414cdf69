//! Ratings: a CSO publishes a signed summary of the ratings it collected about an
//! organisation once at least k are counted, and a new one only once at least k more are;
//! the rated organisation publishes its answer. Both go to every member; receivers keep
//! each CSO's latest summary of each organisation and each organisation's latest answer.

use super::*;
use crate::schema;
use ilm_protocol::{Delivery, Dimension, DimensionSum, RatingAnswer, RatingSummary, Role};

/// What publishing ratings did for one organisation.
#[derive(Debug, Clone, Serialize)]
pub struct RatingOutcome {
    /// The organisation rated.
    pub org: OrgId,
    /// Ratings collected about it.
    pub collected: u32,
    /// Ratings counted in the summary published before (0: none).
    pub published_before: u32,
    /// Whether a new summary was published now.
    pub published: bool,
    /// Why it could not be published, when it should have been.
    pub error: Option<String>,
}

/// Every current member but this node: where summaries and answers go.
fn every_member(membership: &MembershipState, me: &OrgId) -> Vec<OrgId> {
    let mut out: Vec<OrgId> = membership
        .known()
        .into_iter()
        .map(|c| c.org_id)
        .filter(|o| o != me && membership.current(o).is_some())
        .collect();
    out.sort();
    out
}

impl Core {
    /// Publishes a summary for every organisation with at least `k` ratings collected and at
    /// least `k` more than the summary published before; the others are withheld.
    pub(super) async fn publish_ratings(
        &mut self,
        k: u32,
    ) -> Result<Vec<RatingOutcome>, CoreError> {
        if self.membership.current(&self.me).map(|c| c.role) != Some(Role::Cso) {
            return Err(CoreError::refused(
                "only a current CSO member publishes ratings",
            ));
        }
        if k < ilm_protocol::rating::MIN_K {
            return Err(CoreError::refused(format!(
                "k must be at least {}",
                ilm_protocol::rating::MIN_K
            )));
        }
        let recipients = every_member(&self.membership, &self.me);
        let mut out = Vec::new();
        for (org, count, sums) in crate::ratings::collected(&self.store)? {
            let id = schema::rating_summary_id(&org, &self.me);
            let before: Option<RatingSummary> = self
                .store
                .get::<SignedRecord>(&schema::RATING_SUMMARIES, &id)?
                .and_then(|r| serde_json::from_slice(&r.body).ok());
            let published_before = before.as_ref().map_or(0, |b| b.count);
            let mut outcome = RatingOutcome {
                org,
                collected: count,
                published_before,
                published: false,
                error: None,
            };
            let rated = matches!(
                self.membership.current(&org).map(|c| c.role),
                Some(Role::Supplier | Role::Agency)
            );
            let step = before.as_ref().map_or(k, |b| k.max(b.k));
            if !rated || count < k || count.saturating_sub(published_before) < step {
                out.push(outcome);
                continue;
            }
            let body = RatingSummary {
                network_id: self.membership.network_id(),
                publisher: self.me,
                org,
                k,
                count,
                sums: Dimension::ALL
                    .iter()
                    .zip(sums)
                    .map(|(d, sum)| DimensionSum { dimension: *d, sum })
                    .collect(),
                published_at: before
                    .as_ref()
                    .map_or(now(), |b| now().max(b.published_at.plus_secs(1))),
            };
            // One organisation's failure leaves the others to publish, and is reported.
            match self
                .send_summary(body, before.as_ref(), &id, &recipients)
                .await
            {
                Ok(()) => outcome.published = true,
                Err(e) => outcome.error = Some(e.to_string()),
            }
            out.push(outcome);
        }
        Ok(out)
    }

    /// Checks (as every receiver will), signs, stores and sends one summary.
    async fn send_summary(
        &mut self,
        body: RatingSummary,
        before: Option<&RatingSummary>,
        id: &[u8],
        recipients: &[OrgId],
    ) -> Result<(), CoreError> {
        body.check().map_err(CoreError::refused)?;
        if let Some(b) = before {
            body.follows(b).map_err(CoreError::refused)?;
        }
        let rec = SignedRecord::sign(&body, &self.keys).map_err(CoreError::refused)?;
        let mut batch = WriteBatch::new();
        batch.put(&schema::RATING_SUMMARIES, id, &rec)?;
        let payload = serde_json::to_vec(&rec).map_err(CoreError::refused)?;
        self.commit_to_many(batch, MessageKind::RatingSummary, recipients, &payload)
            .await
    }

    /// Signs, stores and sends this organisation's public answer to its ratings.
    pub(super) async fn answer_ratings(&mut self, text: String) -> Result<SignedRecord, CoreError> {
        if !matches!(
            self.membership.current(&self.me).map(|c| c.role),
            Some(Role::Supplier | Role::Agency)
        ) {
            return Err(CoreError::refused(
                "only a current supplier or agency answers its ratings",
            ));
        }
        let held = self
            .store
            .get::<SignedRecord>(&schema::RATING_ANSWERS, self.me.as_bytes())?
            .and_then(|r| serde_json::from_slice::<RatingAnswer>(&r.body).ok());
        let body = RatingAnswer {
            network_id: self.membership.network_id(),
            org: self.me,
            text: text.trim().replace("\r\n", "\n"),
            answered_at: held.map_or(now(), |h| now().max(h.answered_at.plus_secs(1))),
        };
        body.check().map_err(CoreError::refused)?;
        let rec = SignedRecord::sign(&body, &self.keys).map_err(CoreError::refused)?;
        let mut batch = WriteBatch::new();
        batch.put(&schema::RATING_ANSWERS, self.me.as_bytes(), &rec)?;
        let payload = serde_json::to_vec(&rec).map_err(CoreError::refused)?;
        let recipients = every_member(&self.membership, &self.me);
        self.commit_to_many(batch, MessageKind::RatingAnswer, &recipients, &payload)
            .await?;
        Ok(rec)
    }

    /// A summary delivered by `sender`: verified, checked, and kept when it follows the
    /// one held of its CSO and organisation; one adding fewer than k ratings is refused.
    pub(super) fn receive_rating_summary(
        &mut self,
        sender: &OrgId,
        payload: &[u8],
        batch: &mut WriteBatch,
    ) -> Result<(), receive::Declined> {
        let (rec, body) =
            self.delivered::<RatingSummary>(payload, "rating summary", |b| b.network_id)?;
        body.check().map_err(|e| e.to_string())?;
        self.may_deliver(
            sender,
            &Delivery::RatingSummary {
                publisher: body.publisher,
                rated: self.membership.current(&body.org).map(|c| c.role),
            },
        )?;
        let id = schema::rating_summary_id(&body.org, &body.publisher);
        let held = self.held_in(batch, &schema::RATING_SUMMARIES, &id)?;
        let newer = match held.and_then(|h| serde_json::from_slice::<RatingSummary>(&h.body).ok()) {
            None => true,
            Some(h) => body.follows(&h).map_err(|e| e.to_string())?,
        };
        if newer {
            batch
                .put(&schema::RATING_SUMMARIES, &id, &rec)
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// An answer delivered by `sender`: verified and kept when later than the one held.
    pub(super) fn receive_rating_answer(
        &mut self,
        sender: &OrgId,
        payload: &[u8],
        batch: &mut WriteBatch,
    ) -> Result<(), receive::Declined> {
        let (rec, body) =
            self.delivered::<RatingAnswer>(payload, "answer to ratings", |b| b.network_id)?;
        body.check().map_err(|e| e.to_string())?;
        self.may_deliver(sender, &Delivery::RatingAnswer { org: body.org })?;
        let id = body.org.as_bytes().to_vec();
        let held = self.held_in(batch, &schema::RATING_ANSWERS, &id)?;
        let newer = held
            .and_then(|h| serde_json::from_slice::<RatingAnswer>(&h.body).ok())
            .is_none_or(|h| body.answered_at > h.answered_at);
        if newer {
            batch
                .put(&schema::RATING_ANSWERS, &id, &rec)
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// Sends this node's own rating summaries (a CSO) or answer (a supplier or agency) to
    /// `org`, just admitted, once per version and run: a member that joined later would
    /// otherwise never hold them.
    pub(super) async fn share_ratings_with(&mut self, org: OrgId) {
        if self.membership.current(&org).is_none() {
            return;
        }
        let summaries = match self
            .store
            .scan::<SignedRecord>(&schema::RATING_SUMMARIES, &[])
        {
            Ok(all) => all
                .into_iter()
                .filter(|r| r.signatures.iter().any(|s| s.signer == self.me))
                .collect::<Vec<_>>(),
            Err(e) => return warn!("cannot read our rating summaries: {e}"),
        };
        let answer = match self
            .store
            .get::<SignedRecord>(&schema::RATING_ANSWERS, self.me.as_bytes())
        {
            Ok(a) => a,
            Err(e) => return warn!("cannot read our answer to ratings: {e}"),
        };
        self.share_once(org, MessageKind::RatingSummary, summaries)
            .await;
        self.share_once(org, MessageKind::RatingAnswer, answer)
            .await;
    }
}
