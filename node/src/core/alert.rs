//! Broker alerts: a CSO signs an alert its caseworkers reviewed (their own, or one an agency
//! proposed to it) and sends it to every current CSO, whose portals show it until it
//! expires; an agency signs a proposal and sends it to the one CSO it asks to review it.

use super::*;
use crate::records::StoredProposal;
use crate::schema;
use ilm_protocol::{AlertId, AlertProposal, AlertText, BrokerAlert, Delivery, Digest, Role};

/// What a CSO publishes: the text and for how many days.
#[derive(Debug, Clone)]
pub struct AlertInput {
    /// What the alert says.
    pub text: AlertText,
    /// Days it is shown, 1 to 365.
    pub days: u32,
}

/// The current CSO members other than `me`.
fn other_csos(membership: &MembershipState, me: &OrgId) -> Vec<OrgId> {
    let mut out: Vec<OrgId> = membership
        .known()
        .into_iter()
        .filter(|c| c.org_id != *me && c.role == Role::Cso)
        .map(|c| c.org_id)
        .filter(|o| membership.current(o).is_some())
        .collect();
    out.sort();
    out
}

/// A record of `T` held in `table` under `id`, parsed (None when absent or unreadable).
fn held<T: serde::de::DeserializeOwned>(
    store: &Store,
    table: &crate::store::Table<SignedRecord>,
    id: &[u8],
) -> Result<Option<T>, StoreError> {
    Ok(store
        .get::<SignedRecord>(table, id)?
        .and_then(|r| serde_json::from_slice(&r.body).ok()))
}

impl Core {
    fn my_role(&self) -> Option<Role> {
        self.membership.current(&self.me).map(|c| c.role)
    }

    /// Publishes an alert this CSO reviewed: its own (`proposal` None) or the proposal of
    /// `proposal`'s agency, which it then no longer holds as waiting. The proposal's digest
    /// is the one the caseworker was shown.
    pub(super) async fn publish_alert(
        &mut self,
        input: Option<AlertInput>,
        proposal: Option<(OrgId, AlertId, Digest)>,
    ) -> Result<SignedRecord, CoreError> {
        if self.my_role() != Some(Role::Cso) {
            return Err(CoreError::refused(
                "only a current CSO member publishes broker alerts",
            ));
        }
        let (id, proposed_by, input) = match proposal {
            Some((proposer, id, shown)) => {
                let held = self
                    .store
                    .get(&schema::ALERT_PROPOSALS, &schema::alert_id(&proposer, &id))?
                    .filter(|p: &StoredProposal| !p.declined)
                    .ok_or_else(|| CoreError::refused("no such proposal waiting for review"))?;
                // What the caseworker read is what is published, nothing sent since.
                if held.record.digest() != shown {
                    return Err(CoreError::refused(
                        "this proposal is not the one reviewed: review it again",
                    ));
                }
                let p: AlertProposal =
                    serde_json::from_slice(&held.record.body).map_err(CoreError::refused)?;
                if p.reviewer != self.me {
                    return Err(CoreError::refused("this proposal asks another CSO"));
                }
                let input = input.unwrap_or(AlertInput {
                    text: p.text,
                    days: p.days,
                });
                (id, Some(proposer), input)
            }
            None => {
                let input = input.ok_or_else(|| CoreError::refused("the alert's text"))?;
                let id =
                    AlertId(ilm_protocol::identity::random_bytes().map_err(CoreError::refused)?);
                (id, None, input)
            }
        };
        // The portal's own rules (a portal language, lengths in characters), also for an
        // agency's text.
        crate::portal::alerts::check_text(&input.text).map_err(CoreError::refused)?;
        if !(1..=ilm_protocol::alert::MAX_DAYS).contains(&input.days) {
            return Err(CoreError::refused("days: 1 to 365"));
        }
        let t = now();
        let body = BrokerAlert {
            network_id: self.membership.network_id(),
            reviewer: self.me,
            id,
            proposed_by,
            text: input.text,
            published_at: t,
            expires_at: t.plus_secs(u64::from(input.days) * 86_400),
            withdrawn: false,
        };
        let mut batch = WriteBatch::new();
        if let Some(proposer) = proposed_by {
            batch.remove(&schema::ALERT_PROPOSALS, &schema::alert_id(&proposer, &id));
        }
        self.sign_and_send_alert(batch, body).await
    }

    /// Takes one of this CSO's alerts down: a withdrawn version, sent like the others.
    pub(super) async fn withdraw_alert(&mut self, id: AlertId) -> Result<SignedRecord, CoreError> {
        let held: BrokerAlert = held(
            &self.store,
            &schema::ALERTS,
            &schema::alert_id(&self.me, &id),
        )?
        .ok_or_else(|| CoreError::refused("no such alert of this CSO"))?;
        if held.withdrawn {
            return Err(CoreError::refused("this alert was already taken down"));
        }
        let published_at = now().max(held.published_at.plus_secs(1));
        let body = BrokerAlert {
            published_at,
            expires_at: held.expires_at.max(published_at.plus_secs(1)),
            withdrawn: true,
            ..held
        };
        self.sign_and_send_alert(WriteBatch::new(), body).await
    }

    async fn sign_and_send_alert(
        &mut self,
        mut batch: WriteBatch,
        body: BrokerAlert,
    ) -> Result<SignedRecord, CoreError> {
        body.check_well_formed().map_err(CoreError::refused)?;
        let rec = SignedRecord::sign(&body, &self.keys).map_err(CoreError::refused)?;
        batch.put(&schema::ALERTS, &schema::alert_id(&self.me, &body.id), &rec)?;
        let mut recipients = other_csos(&self.membership, &self.me);
        if let Some(p) = body
            .proposed_by
            .filter(|p| self.membership.current(p).is_some())
        {
            recipients.push(p);
        }
        let payload = serde_json::to_vec(&rec).map_err(CoreError::refused)?;
        self.commit_to_many(batch, MessageKind::BrokerAlert, &recipients, &payload)
            .await?;
        Ok(rec)
    }

    /// Signs an agency's proposed alert and sends it to the CSO `to` for review; keeps a
    /// copy to show it as waiting until the alert comes back published.
    pub(super) async fn propose_alert(
        &mut self,
        to: OrgId,
        input: AlertInput,
    ) -> Result<SignedRecord, CoreError> {
        if self.my_role() != Some(Role::Agency) {
            return Err(CoreError::refused(
                "only a current recruitment agency proposes broker alerts",
            ));
        }
        if self.membership.current(&to).map(|c| c.role) != Some(Role::Cso) {
            return Err(CoreError::refused("to: a current CSO member"));
        }
        let body = AlertProposal {
            network_id: self.membership.network_id(),
            proposer: self.me,
            reviewer: to,
            id: AlertId(ilm_protocol::identity::random_bytes().map_err(CoreError::refused)?),
            text: input.text,
            days: input.days,
            proposed_at: now(),
        };
        body.check_well_formed().map_err(CoreError::refused)?;
        let rec = SignedRecord::sign(&body, &self.keys).map_err(CoreError::refused)?;
        let mut batch = WriteBatch::new();
        batch.put(
            &schema::ALERT_PROPOSALS,
            &schema::alert_id(&self.me, &body.id),
            &StoredProposal {
                record: rec.clone(),
                declined: false,
            },
        )?;
        let payload = serde_json::to_vec(&rec).map_err(CoreError::refused)?;
        self.commit_to_many(batch, MessageKind::AlertProposal, &[to], &payload)
            .await?;
        Ok(rec)
    }

    /// An alert delivered by `sender`: verified, checked and kept when newer than the
    /// version held.
    pub(super) fn receive_alert(
        &mut self,
        sender: &OrgId,
        payload: &[u8],
        batch: &mut WriteBatch,
    ) -> Result<(), receive::Declined> {
        let (rec, body) =
            self.delivered::<BrokerAlert>(payload, "broker alert", |b| b.network_id)?;
        body.check_well_formed().map_err(|e| e.to_string())?;
        self.may_deliver(
            sender,
            &Delivery::BrokerAlert {
                reviewer: body.reviewer,
                proposed_by: body.proposed_by,
                proposer_role: body
                    .proposed_by
                    .and_then(|p| self.membership.current(&p))
                    .map(|c| c.role),
            },
        )?;
        let id = schema::alert_id(&body.reviewer, &body.id);
        let held = self.held_in(batch, &schema::ALERTS, &id)?;
        let newer = held
            .and_then(|h| serde_json::from_slice::<BrokerAlert>(&h.body).ok())
            .is_none_or(|h| body.replaces(&h));
        if newer {
            batch
                .put(&schema::ALERTS, &id, &rec)
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// A proposal delivered by `sender` (an agency) to this CSO: kept for review, the latest
    /// of each id.
    pub(super) fn receive_alert_proposal(
        &mut self,
        sender: &OrgId,
        payload: &[u8],
        batch: &mut WriteBatch,
    ) -> Result<(), receive::Declined> {
        let (rec, body) =
            self.delivered::<AlertProposal>(payload, "alert proposal", |b| b.network_id)?;
        body.check_well_formed().map_err(|e| e.to_string())?;
        self.may_deliver(
            sender,
            &Delivery::AlertProposal {
                proposer: body.proposer,
                reviewer: body.reviewer,
            },
        )?;
        let id = schema::alert_id(&body.proposer, &body.id);
        let held = self.held_in(batch, &schema::ALERT_PROPOSALS, &id)?;
        match held {
            // The same one again (declined ones stay declined).
            Some(h) if h.record.digest() == rec.digest() => return Ok(()),
            // A proposal cannot change under the caseworker reading it.
            Some(_) => {
                return Err("a different proposal under an id already held: a proposal cannot be changed once sent".into());
            }
            None => {}
        }
        // Once published, the same id is not waiting for review again.
        let published = self
            .store
            .contains(&schema::ALERTS, &schema::alert_id(&self.me, &body.id))
            .map_err(|e| receive::Declined::Retry(e.to_string()))?;
        if !published {
            let stored = StoredProposal {
                record: rec,
                declined: false,
            };
            batch
                .put(&schema::ALERT_PROPOSALS, &id, &stored)
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// Sends this CSO's alerts that have not expired to `cso`, just admitted, once per
    /// version and run: a CSO that joined later (or was away when one was taken down) would
    /// otherwise never hold the latest version.
    pub(super) async fn share_alerts_with(&mut self, cso: OrgId) {
        if self.my_role() != Some(Role::Cso)
            || self.membership.current(&cso).map(|c| c.role) != Some(Role::Cso)
        {
            return;
        }
        let ours: Vec<SignedRecord> = match self.store.scan(&schema::ALERTS, self.me.as_bytes()) {
            Ok(a) => a,
            Err(e) => return warn!("cannot read our broker alerts: {e}"),
        };
        let t = now();
        // Taken-down versions too, until their date has passed.
        let current = ours.into_iter().filter(|r| {
            serde_json::from_slice::<BrokerAlert>(&r.body).is_ok_and(|a| t < a.expires_at)
        });
        self.share_once(cso, MessageKind::BrokerAlert, current)
            .await;
    }
}
