//! Delivered workflow messages (everything but case events), checked with the protocol's
//! `may_deliver` before their effect joins the delivery batch.

use super::supply_chain::{brands_of, bundle_buyers, buyers_of};
use super::*;
use crate::schema;
use ilm_protocol::{
    Delivery, Header, LinkKind, RemediationAttestation, Role, SupplyChainLink, may_deliver,
};

/// Whether an earlier message of this delivery batch completed a link of `kind` between
/// `upstream` and `downstream` (a link and what it enables may arrive together).
pub(super) fn linked_in_batch(
    batch: &WriteBatch,
    kind: LinkKind,
    upstream: &OrgId,
    downstream: &OrgId,
) -> bool {
    batch
        .staged_all(&schema::LINKS)
        .into_iter()
        .filter(|l| l.complete)
        .filter_map(|l| serde_json::from_slice::<SupplyChainLink>(&l.record.body).ok())
        .any(|l| l.kind == kind && l.upstream == *upstream && l.downstream == *downstream)
}

impl Core {
    /// A signed record of kind `T` delivered as `what`: parsed, its signatures verified with
    /// the keys this node knows, of this network (`network` reads the body's), and not
    /// dated more than a day ahead of this node's clock (a version dated ahead would stand
    /// until then against every correction).
    pub(super) fn delivered<T: ilm_protocol::RecordBody + serde::de::DeserializeOwned>(
        &self,
        payload: &[u8],
        what: &str,
        network: impl Fn(&T) -> ilm_protocol::NetworkId,
    ) -> Result<(SignedRecord, T), Declined> {
        let rec: SignedRecord =
            serde_json::from_slice(payload).map_err(|e| format!("malformed {what}: {e}"))?;
        let body = rec
            .verify_with::<T>(&self.membership.key_book())
            .map_err(|e| e.to_string())?
            .into_parts()
            .1;
        if network(&body) != self.membership.network_id() {
            return Err(format!("{what} of another network").into());
        }
        let ahead = now().0.saturating_add(MAX_FUTURE_SKEW_SECS);
        if body.signed_at().is_some_and(|t| t.0 > ahead) {
            return Err(format!("{what} dated in the future").into());
        }
        Ok((rec, body))
    }

    /// The value under `id` in `table` as this delivery batch will leave it: one an earlier
    /// message of the batch stages, else the stored one (a store error means "retry").
    pub(super) fn held_in<T: serde::de::DeserializeOwned>(
        &self,
        batch: &WriteBatch,
        table: &crate::store::Table<T>,
        id: &[u8],
    ) -> Result<Option<T>, Declined> {
        match batch.leaves(table, id) {
            Some(v) => Ok(v),
            None => self
                .store
                .get(table, id)
                .map_err(|e| Declined::Retry(e.to_string())),
        }
    }

    /// The protocol's delivery rule (`ilm_protocol::may_deliver`) for a message from `sender`
    /// to this node; a case this node does not hold yet means "retry later".
    pub(super) fn may_deliver(&self, sender: &OrgId, what: &Delivery) -> Result<(), Declined> {
        let from = self
            .membership
            .current(sender)
            .ok_or_else(|| Declined::Reject("sender is not a current member".into()))?;
        let me = self
            .membership
            .certificate(&self.me)
            .ok_or_else(|| Declined::Retry("this node's own certificate is not loaded".into()))?;
        may_deliver(&from, &me, what).map_err(|e| {
            if e.is_transient() {
                Declined::Retry(e.to_string())
            } else {
                Declined::Reject(e.to_string())
            }
        })
    }

    /// Whether this node, a brand, buys from `party`: a supplier it holds a complete link
    /// with, or an agency such a supplier recruits through.
    pub(super) fn buys_from(&self, party: &OrgId) -> Result<bool, Declined> {
        Ok(buyers_of(&self.store, party)
            .map_err(|e| Declined::Retry(e.to_string()))?
            .contains(&self.me))
    }

    /// Queues `record` as `kind`, in this delivery batch, to the current brands that buy from
    /// this node, a supplier: what it learned about the agencies it recruits through.
    pub(super) fn relay_to_brands(
        &mut self,
        kind: MessageKind,
        record: &SignedRecord,
        batch: &mut WriteBatch,
    ) -> Result<(), Declined> {
        let brands: Vec<OrgId> = brands_of(&self.store, &self.me)
            .map_err(|e| Declined::Retry(e.to_string()))?
            .into_iter()
            .filter(|b| self.membership.current(b).is_some())
            .collect();
        if brands.is_empty() {
            return Ok(());
        }
        let bytes = serde_json::to_vec(record).map_err(|e| e.to_string())?;
        // One envelope per brand: a brand does not learn who else buys from us.
        let entries = self
            .queue_apart(batch, kind, &brands, &bytes, None, now())
            .map_err(|e| Declined::Retry(e.to_string()))?;
        self.to_push.extend(entries);
        Ok(())
    }

    /// Handles a delivered workflow message (everything but case events). Adds its effect to
    /// `batch`; returns why it is refused otherwise.
    pub(super) fn receive_workflow(
        &mut self,
        header: &Header,
        payload: &[u8],
        batch: &mut WriteBatch,
    ) -> Result<(), Declined> {
        let t = now();
        match header.kind {
            MessageKind::ConsentedDisclosure => {
                let d: Disclosure = serde_json::from_slice(payload)
                    .map_err(|e| format!("malformed disclosure: {e}"))?;
                let case = self
                    .history(&d.case_ref)
                    .map_err(|e| Declined::Retry(e.to_string()))?
                    .and_then(|h| h.state().cloned());
                self.may_deliver(
                    &header.sender,
                    &Delivery::ConsentedDisclosure {
                        case: case.as_ref(),
                    },
                )?;
                let id = [
                    d.case_ref.as_bytes().as_slice(),
                    header.message_id.as_bytes().as_slice(),
                ]
                .concat();
                let received = ReceivedDisclosure {
                    from: header.sender,
                    received_at: t,
                    disclosure: d,
                };
                let sealed = self
                    .vault
                    .seal_json(&id, &received)
                    .map_err(|e| e.to_string())?;
                Ok(batch
                    .put(&schema::DISCLOSURES, &id, &sealed)
                    .map_err(|e| e.to_string())?)
            }
            MessageKind::StatusReport => {
                let r: StatusReport = serde_json::from_slice(payload)
                    .map_err(|e| format!("malformed status report: {e}"))?;
                let linked = self.buys_from(&r.supplier)?;
                self.may_deliver(
                    &header.sender,
                    &Delivery::StatusReport {
                        cso: r.cso,
                        case_ref: r.case_ref,
                        case_nonce: r.case_nonce,
                        linked,
                    },
                )?;
                Ok(crate::aggregates::reports::stage(
                    &self.store,
                    batch,
                    &mut self.reports,
                    &r,
                )?)
            }
            MessageKind::Attestation
                if serde_json::from_slice::<ilm_protocol::AttestationBundle>(payload).is_ok() =>
            {
                // A complete attestation with everything needed to verify it (to brands).
                let bundle: ilm_protocol::AttestationBundle = serde_json::from_slice(payload)
                    .map_err(|e| format!("malformed bundle: {e}"))?;
                let summary = bundle
                    .verify_with_revocations(&self.membership.revocations())
                    .map_err(|e| e.to_string())?;
                if summary.network_id != self.membership.network_id() {
                    return Err("the bundle belongs to another network".to_string().into());
                }
                // The bundle's certificates checked out against the network: learn the newer
                // ones, as from a peer's hello. A party that rotated its key while this node
                // was away co-signs with a key this node may not know yet, and refusing the
                // bundle for that would refuse it for good.
                self.persist_membership(bundle.certificates.iter());
                let body = bundle
                    .attestation
                    .verify_with::<RemediationAttestation>(&self.membership.key_book())
                    .map_err(|e| e.to_string())?;
                let b = body.body();
                let linked = self.buys_from(&b.remediating_party)?;
                self.may_deliver(
                    &header.sender,
                    &Delivery::AttestationBundle {
                        attestation: b,
                        linked,
                    },
                )?;
                let stored = StoredAttestation {
                    case_ref: b.case_ref,
                    record: bundle.attestation.clone(),
                    complete: true,
                    stored_at: t,
                    bundle: Some(bundle.clone()),
                };
                Ok(batch
                    .put(&schema::ATTESTATIONS, b.case_ref.as_bytes(), &stored)
                    .map_err(|e| e.to_string())?)
            }
            MessageKind::Attestation => {
                let rec: SignedRecord = serde_json::from_slice(payload)
                    .map_err(|e| format!("malformed attestation: {e}"))?;
                let body = rec
                    .verify_partial_with::<RemediationAttestation>(&self.membership.key_book())
                    .map_err(|e| e.to_string())?;
                body.check_well_formed().map_err(|e| e.to_string())?;
                let complete = rec.signatures.len() == 2;
                if complete {
                    rec.verify_with::<RemediationAttestation>(&self.membership.key_book())
                        .map_err(|e| e.to_string())?;
                    self.may_deliver(&header.sender, &Delivery::AttestationComplete(&body))?;
                    let cso_ok =
                        self.membership.current(&body.cso).map(|c| c.role) == Some(Role::Cso);
                    if !cso_ok {
                        return Err("the attestation's CSO is not a current CSO member"
                            .to_string()
                            .into());
                    }
                } else {
                    self.may_deliver(&header.sender, &Delivery::AttestationDraft(&body))?;
                }
                if complete && self.me == body.cso {
                    // The CSO forwards the complete attestation to brands that buy from the
                    // party, as a bundle: brands do not hold the case history.
                    let retry = |e: String| Declined::Retry(e);
                    let history = self
                        .history(&body.case_ref)
                        .map_err(|e| retry(e.to_string()))?
                        .ok_or("the CSO does not hold the case")?
                        .clone();
                    let parties: Vec<OrgId> = history
                        .state()
                        .map(|s| s.responders().collect())
                        .unwrap_or_default();
                    let brands: Vec<OrgId> =
                        bundle_buyers(&self.store, &body.remediating_party, &parties)
                            .map_err(|e| retry(e.to_string()))?
                            .into_iter()
                            .filter(|b| self.membership.current(b).is_some())
                            .collect();
                    if !brands.is_empty() {
                        let bundle = crate::cases::bundle(&history, &rec, &self.membership)?;
                        let bytes = serde_json::to_vec(&bundle).map_err(|e| e.to_string())?;
                        let entries = self
                            .queue_apart(
                                batch,
                                MessageKind::Attestation,
                                &brands,
                                &bytes,
                                Some(body.case_ref),
                                t,
                            )
                            .map_err(|e| retry(e.to_string()))?;
                        self.to_push.extend(entries);
                    }
                }
                // Stored last: a refusal above leaves nothing behind.
                let stored = StoredAttestation {
                    case_ref: body.case_ref,
                    record: rec.clone(),
                    complete,
                    stored_at: t,
                    bundle: None,
                };
                Ok(batch
                    .put(&schema::ATTESTATIONS, body.case_ref.as_bytes(), &stored)
                    .map_err(|e| e.to_string())?)
            }
            MessageKind::SupplyChainLink => {
                let rec: SignedRecord =
                    serde_json::from_slice(payload).map_err(|e| format!("malformed link: {e}"))?;
                let body = rec
                    .verify_partial_with::<SupplyChainLink>(&self.membership.key_book())
                    .map_err(|e| e.to_string())?;
                if body.network_id != self.membership.network_id() {
                    return Err("link of another network".to_string().into());
                }
                let complete = rec.signatures.len() == 2;
                if complete {
                    rec.verify_with::<SupplyChainLink>(&self.membership.key_book())
                        .map_err(|e| e.to_string())?;
                    let role = |o: &OrgId| self.membership.current(o).map(|c| c.role);
                    let receiver_buys_from_upstream =
                        linked_in_batch(batch, LinkKind::BrandSupplier, &self.me, &body.upstream)
                            || brands_of(&self.store, &body.upstream)
                                .map_err(|e| Declined::Retry(e.to_string()))?
                                .contains(&self.me);
                    self.may_deliver(
                        &header.sender,
                        &Delivery::LinkComplete {
                            link: &body,
                            upstream: role(&body.upstream),
                            downstream: role(&body.downstream),
                            receiver_buys_from_upstream,
                        },
                    )?;
                } else {
                    self.may_deliver(&header.sender, &Delivery::LinkProposal(&body))?;
                }
                let link = StoredLink {
                    id: rec.digest(),
                    record: rec,
                    complete,
                };
                let held: Option<StoredLink> =
                    self.held_in(batch, &schema::LINKS, link.id.as_bytes())?;
                let new_agency = complete
                    && body.kind == LinkKind::SupplierAgency
                    && body.upstream == self.me
                    && !held.is_some_and(|h| h.complete);
                if new_agency {
                    // The brands that buy from us learn that we recruit through this agency:
                    // its cases and plan reach them from now on.
                    self.relay_to_brands(MessageKind::SupplyChainLink, &link.record, batch)?;
                }
                Ok(batch
                    .put(&schema::LINKS, link.id.as_bytes(), &link)
                    .map_err(|e| e.to_string())?)
            }
            MessageKind::PublishedStatistics => {
                self.receive_publication(&header.sender, payload, batch)
            }
            MessageKind::ImprovementActivity => {
                self.receive_activity(&header.sender, payload, batch)
            }
            MessageKind::JobListing => self.receive_listing(&header.sender, payload, batch),
            MessageKind::RatingSummary => {
                self.receive_rating_summary(&header.sender, payload, batch)
            }
            MessageKind::RatingAnswer => self.receive_rating_answer(&header.sender, payload, batch),
            MessageKind::BrokerAlert => self.receive_alert(&header.sender, payload, batch),
            MessageKind::AlertProposal => {
                self.receive_alert_proposal(&header.sender, payload, batch)
            }
            other => Err(format!("{other:?} messages are not accepted by delivery").into()),
        }
    }
}

/// Why a delivered workflow message is not accepted: for good, or not yet.
#[derive(Debug)]
pub enum Declined {
    /// Refused for good (the sender marks it rejected).
    Reject(String),
    /// Cannot be processed yet (the sender retries).
    Retry(String),
}

impl From<String> for Declined {
    fn from(s: String) -> Declined {
        Declined::Reject(s)
    }
}

impl From<crate::store::StoreError> for Declined {
    fn from(e: crate::store::StoreError) -> Declined {
        Declined::Retry(e.to_string())
    }
}

impl From<&str> for Declined {
    fn from(s: &str) -> Declined {
        Declined::Reject(s.to_string())
    }
}
