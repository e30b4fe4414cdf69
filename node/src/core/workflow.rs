//! Workflow beyond plain case events: consented disclosures, status reports to linked brands,
//! remediation attestations (draft, co-sign, forward) and supply-chain links.

use super::*;
use crate::intake::WorkerIdentity;
use crate::store::Table;
use ilm_protocol::{
    CaseState, CaseStatus, Delivery, Digest, Header, IssueCategory, LinkKind, PartyStage,
    RemediationAttestation, Role, SupplyChainLink, may_deliver,
};

/// Worker identities disclosed to one recipient with the workers' recorded consent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Disclosure {
    /// The case.
    pub case_ref: CaseRef,
    /// Identities of the case's workers who consented.
    pub identities: Vec<WorkerIdentity>,
}

/// A disclosure as the recipient keeps it (sealed with its vault key): who sent it and when.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReceivedDisclosure {
    /// The CSO that sent it (the case's owner: checked before it was stored).
    pub from: OrgId,
    /// When it arrived.
    pub received_at: Timestamp,
    /// What it disclosed.
    pub disclosure: Disclosure,
}

/// A CSO's redacted status of a case, for brands linked to the supplier.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatusReport {
    /// The case.
    pub case_ref: CaseRef,
    /// The case's nonce: the brand checks that the reference derives from it and the CSO.
    pub case_nonce: ilm_protocol::CaseNonce,
    /// The CSO that owns it.
    pub cso: OrgId,
    /// The supplier it concerns.
    pub supplier: OrgId,
    /// Lifecycle status of the case.
    pub status: CaseStatus,
    /// Where the supplier's own round stands (decides what it owes).
    pub stage: PartyStage,
    /// Issue categories.
    pub categories: Vec<IssueCategory>,
    /// Workers affected.
    pub workers_affected: u32,
    /// When first escalated to the supplier.
    pub escalated_at: Timestamp,
    /// Acknowledgement due.
    pub acknowledge_by: Timestamp,
    /// Remediation due.
    pub remediate_by: Timestamp,
    /// When acknowledged (or disputed).
    pub acknowledged_at: Option<Timestamp>,
    /// When remediation was reported.
    pub remediated_at: Option<Timestamp>,
    /// When the workers' verdict was recorded.
    pub verified_at: Option<Timestamp>,
    /// When this report was made.
    pub reported_at: Timestamp,
}

/// An attestation held by a node: a draft awaiting co-signature, or complete.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredAttestation {
    /// The case.
    pub case_ref: CaseRef,
    /// The record (one signature while a draft).
    pub record: SignedRecord,
    /// Both signatures present and verified.
    pub complete: bool,
    /// When stored.
    pub stored_at: Timestamp,
    /// The verifiable bundle, for nodes that do not hold the case history (brands).
    #[serde(default)]
    pub bundle: Option<ilm_protocol::AttestationBundle>,
}

/// A supply-chain link held by a node: proposed (upstream signed) or complete.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredLink {
    /// The link's id (digest of its signing input; the same for proposal and complete link).
    pub id: Digest,
    /// The record.
    pub record: SignedRecord,
    /// Both sides signed.
    pub complete: bool,
}

/// Workflow commands for the core.
pub enum WorkflowCommand {
    /// Seal and queue a message.
    Send {
        kind: MessageKind,
        recipients: Vec<OrgId>,
        payload: Vec<u8>,
        case_ref: Option<CaseRef>,
        reply: oneshot::Sender<Result<Option<MessageId>, CoreError>>,
    },
    /// Draft, sign and send the attestation of a verified case.
    DraftAttestation {
        case: CaseRef,
        reply: oneshot::Sender<Result<SignedRecord, CoreError>>,
    },
    /// Co-sign a received attestation draft.
    Cosign {
        case: CaseRef,
        reply: oneshot::Sender<Result<SignedRecord, CoreError>>,
    },
    /// Propose a link (we are upstream).
    ProposeLink {
        kind: LinkKind,
        counterparty: OrgId,
        reply: oneshot::Sender<Result<StoredLink, CoreError>>,
    },
    /// Accept a proposed link (we are downstream).
    AcceptLink {
        id: Digest,
        reply: oneshot::Sender<Result<StoredLink, CoreError>>,
    },
}

impl CoreClient {
    async fn workflow<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, CoreError>>) -> WorkflowCommand,
    ) -> Result<T, CoreError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::Workflow(make(reply)))
            .await
            .map_err(|_| CoreError::Stopped)?;
        rx.await.map_err(|_| CoreError::Stopped)?
    }

    /// Seals `payload` to `recipients` and queues it (durably) for delivery.
    pub async fn send(
        &self,
        kind: MessageKind,
        recipients: Vec<OrgId>,
        payload: Vec<u8>,
        case_ref: Option<CaseRef>,
    ) -> Result<Option<MessageId>, CoreError> {
        self.workflow(|reply| WorkflowCommand::Send {
            kind,
            recipients,
            payload,
            case_ref,
            reply,
        })
        .await
    }

    /// Drafts and signs the attestation of a case the workers verified, and sends it to the
    /// remediating party for co-signature.
    pub async fn draft_attestation(&self, case: CaseRef) -> Result<SignedRecord, CoreError> {
        self.workflow(|reply| WorkflowCommand::DraftAttestation { case, reply })
            .await
    }

    /// Co-signs the attestation draft received for a case and sends it back to the CSO.
    pub async fn cosign_attestation(&self, case: CaseRef) -> Result<SignedRecord, CoreError> {
        self.workflow(|reply| WorkflowCommand::Cosign { case, reply })
            .await
    }

    /// Proposes a supply-chain link with this node upstream.
    pub async fn propose_link(
        &self,
        kind: LinkKind,
        counterparty: OrgId,
    ) -> Result<StoredLink, CoreError> {
        self.workflow(|reply| WorkflowCommand::ProposeLink {
            kind,
            counterparty,
            reply,
        })
        .await
    }

    /// Accepts (co-signs) a proposed link.
    pub async fn accept_link(&self, id: Digest) -> Result<StoredLink, CoreError> {
        self.workflow(|reply| WorkflowCommand::AcceptLink { id, reply })
            .await
    }
}

fn refused(e: impl std::fmt::Display) -> CoreError {
    CoreError::Refused(e.to_string())
}

/// Brands linked (complete brand-supplier links) to `supplier`, from the stored links.
pub fn brands_of(store: &Store, supplier: &OrgId) -> Result<Vec<OrgId>, StoreError> {
    let mut out: Vec<OrgId> = store
        .scan::<StoredLink>(Table::Link, &[])?
        .into_iter()
        .filter(|l| l.complete)
        .filter_map(|l| serde_json::from_slice::<SupplyChainLink>(&l.record.body).ok())
        .filter(|l| l.kind == LinkKind::BrandSupplier && l.downstream == *supplier)
        .map(|l| l.upstream)
        .collect();
    out.sort();
    out.dedup();
    Ok(out)
}

/// The status report of a case as its owner sees it, for one supplier escalated to.
pub fn status_report(
    state: &CaseState,
    cso: OrgId,
    supplier: OrgId,
    now: Timestamp,
) -> Option<StatusReport> {
    let p = state.party(&supplier)?;
    Some(StatusReport {
        case_ref: state.case_ref,
        case_nonce: state.nonce?,
        cso,
        supplier,
        status: state.status(),
        stage: p.stage,
        categories: p.categories.clone(),
        workers_affected: p.workers_affected,
        escalated_at: p.first_escalated_at,
        acknowledge_by: p.escalation.acknowledge_by,
        remediate_by: p.escalation.remediate_by,
        acknowledged_at: p.acknowledged_at,
        remediated_at: p.reported_at,
        verified_at: p.verified_at,
        reported_at: now,
    })
}

impl StatusReport {
    /// What the supplier owes at `now`, by the same rule as the CSO's own view.
    pub fn overdue(&self, now: Timestamp) -> Vec<(ilm_protocol::Owed, Timestamp)> {
        if self.status == CaseStatus::Closed {
            return Vec::new();
        }
        let mut out = Vec::new();
        if self.stage == PartyStage::Escalated && now > self.acknowledge_by {
            out.push((ilm_protocol::Owed::Acknowledgement, self.acknowledge_by));
        }
        if self.stage.owes_remediation() && now > self.remediate_by {
            out.push((ilm_protocol::Owed::Remediation, self.remediate_by));
        }
        out
    }
}

impl Core {
    pub(super) async fn on_workflow(&mut self, cmd: WorkflowCommand) {
        match cmd {
            WorkflowCommand::Send {
                kind,
                recipients,
                payload,
                case_ref,
                reply,
            } => {
                let res = self.send_now(kind, &recipients, &payload, case_ref).await;
                let _ = reply.send(res);
            }
            WorkflowCommand::DraftAttestation { case, reply } => {
                let res = self.draft_attestation(case).await;
                let _ = reply.send(res);
            }
            WorkflowCommand::Cosign { case, reply } => {
                let res = self.cosign_attestation(case).await;
                let _ = reply.send(res);
            }
            WorkflowCommand::ProposeLink {
                kind,
                counterparty,
                reply,
            } => {
                let res = self.propose_link(kind, counterparty).await;
                let _ = reply.send(res);
            }
            WorkflowCommand::AcceptLink { id, reply } => {
                let res = self.accept_link(id).await;
                let _ = reply.send(res);
            }
        }
    }

    async fn send_now(
        &mut self,
        kind: MessageKind,
        recipients: &[OrgId],
        payload: &[u8],
        case_ref: Option<CaseRef>,
    ) -> Result<Option<MessageId>, CoreError> {
        self.commit_with_message(WriteBatch::new(), kind, recipients, payload, case_ref)
            .await
    }

    /// Adds a message to `batch`, commits it (effect and outbox entries in one flush) and
    /// hands the entries to the outbox worker.
    async fn commit_with_message(
        &mut self,
        mut batch: WriteBatch,
        kind: MessageKind,
        recipients: &[OrgId],
        payload: &[u8],
        case_ref: Option<CaseRef>,
    ) -> Result<Option<MessageId>, CoreError> {
        let (id, entries) =
            self.queue_message(&mut batch, kind, recipients, payload, case_ref, now())?;
        self.store.commit(batch)?;
        for e in entries {
            self.outbox.push(e).await;
        }
        Ok(id)
    }

    /// Stores an attestation (draft or complete) and sends it to `to`, in one flush.
    async fn store_and_send_attestation(
        &mut self,
        case: CaseRef,
        rec: &SignedRecord,
        complete: bool,
        to: OrgId,
    ) -> Result<(), CoreError> {
        let mut batch = WriteBatch::new();
        let stored = StoredAttestation {
            case_ref: case,
            record: rec.clone(),
            complete,
            stored_at: now(),
            bundle: None,
        };
        batch.put(Table::Attestation, case.as_bytes(), &stored)?;
        let payload = serde_json::to_vec(rec).map_err(refused)?;
        self.commit_with_message(batch, MessageKind::Attestation, &[to], &payload, Some(case))
            .await?;
        Ok(())
    }

    /// Hands entries committed by a delivery batch to the outbox worker.
    pub(super) async fn push_committed(&mut self) {
        for e in std::mem::take(&mut self.to_push) {
            self.outbox.push(e).await;
        }
    }

    /// After a case changed here: if we own it, tell brands linked to its suppliers.
    pub(super) async fn after_case_change(&mut self, case: CaseRef) {
        let me = self.me;
        let Ok(Some(history)) = self.history(&case) else {
            return;
        };
        let Some(state) = history.state().cloned() else {
            return;
        };
        if state.owner != me {
            return;
        }
        let t = now();
        for party in state.responders() {
            if self.membership.current(&party).map(|c| c.role) != Some(Role::Supplier) {
                continue;
            }
            let brands = match brands_of(&self.store, &party) {
                Ok(b) => b,
                Err(e) => return warn!("cannot read links: {e}"),
            };
            let brands: Vec<OrgId> = brands
                .into_iter()
                .filter(|b| self.membership.current(b).is_some())
                .collect();
            let Some(report) = status_report(&state, me, party, t) else {
                continue;
            };
            let Ok(bytes) = serde_json::to_vec(&report) else {
                continue;
            };
            if let Err(e) = self
                .send_now(MessageKind::StatusReport, &brands, &bytes, Some(case))
                .await
            {
                warn!(case = %case, "status report not queued: {e}");
            }
        }
    }

    async fn draft_attestation(&mut self, case: CaseRef) -> Result<SignedRecord, CoreError> {
        let me = self.me;
        let history = self.history(&case)?.ok_or(CoreError::UnknownCase(case))?;
        let events: Vec<EventHash> = history.ordered().iter().map(|e| e.digest()).collect();
        let state = history
            .state()
            .cloned()
            .ok_or(CoreError::UnknownCase(case))?;
        if state.owner != me {
            return Err(refused(
                "only the CSO that owns the case drafts its attestation",
            ));
        }
        // The party the workers' latest verdict judged resolved or partly resolved (the first
        // one escalated to, when it judged several).
        let verification = state
            .verification
            .as_ref()
            .ok_or_else(|| refused("the workers have not verified the remediation yet"))?;
        let party = verification
            .parties
            .iter()
            .filter_map(|o| state.party(o))
            .find(|p| matches!(p.stage, PartyStage::Resolved | PartyStage::PartlyResolved))
            .ok_or_else(|| {
                refused("the workers' latest verdict confirms no party's remediation")
            })?;
        let (Some(verdict), Some(verified_at), Some(remediated_at)) =
            (party.verdict, party.verified_at, party.reported_at)
        else {
            return Err(refused("the party's remediation was not verified"));
        };
        let summary = party
            .report_summary
            .clone()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| "Remediation reported and verified with the workers".into());
        let body = RemediationAttestation {
            network_id: self.membership.network_id(),
            case_ref: case,
            cso: me,
            remediating_party: party.party,
            categories: party.categories.clone(),
            summary,
            workers_benefited: party.workers_benefited(),
            amounts_repaid: party.amounts_repaid.clone(),
            remediated_at,
            verdict,
            verified_at,
            events,
            issued_at: now().max(verified_at),
        };
        body.check_well_formed().map_err(refused)?;
        body.check_against(&state).map_err(refused)?;
        let rec = SignedRecord::sign(&body, &self.keys).map_err(refused)?;
        rec.verify_partial::<RemediationAttestation>()
            .map_err(refused)?;
        self.store_and_send_attestation(case, &rec, false, party.party)
            .await?;
        Ok(rec)
    }

    async fn cosign_attestation(&mut self, case: CaseRef) -> Result<SignedRecord, CoreError> {
        let stored: StoredAttestation = self
            .store
            .get(Table::Attestation, case.as_bytes())?
            .ok_or_else(|| refused("no attestation draft for this case"))?;
        if stored.complete {
            return Ok(stored.record);
        }
        let body = stored
            .record
            .verify_partial::<RemediationAttestation>()
            .map_err(refused)?;
        if body.remediating_party != self.me {
            return Err(refused(
                "this node is not the remediating party of the attestation",
            ));
        }
        // Co-sign only what matches our own copy of the history.
        let history = self.history(&case)?.ok_or(CoreError::UnknownCase(case))?;
        let ours: BTreeSet<EventHash> = history.ordered().iter().map(|e| e.digest()).collect();
        let theirs: BTreeSet<EventHash> = body.events.iter().copied().collect();
        if ours != theirs {
            return Err(refused(
                "the attestation covers other events than this node holds for the case; wait for sync",
            ));
        }
        // ...and only figures that the history shows.
        body.check_well_formed().map_err(refused)?;
        if let Some(state) = history.state() {
            body.check_against(state).map_err(refused)?;
        }
        let mut rec = stored.record.clone();
        rec.cosign(&self.keys);
        rec.verify::<RemediationAttestation>().map_err(refused)?;
        self.store_and_send_attestation(case, &rec, true, body.cso)
            .await?;
        Ok(rec)
    }

    async fn propose_link(
        &mut self,
        kind: LinkKind,
        counterparty: OrgId,
    ) -> Result<StoredLink, CoreError> {
        let (up_role, down_role) = kind.roles();
        let mine = self.membership.current(&self.me).map(|c| c.role);
        if mine != Some(up_role) {
            return Err(refused(format!(
                "only a {up_role} proposes a {kind:?} link"
            )));
        }
        let theirs = self.membership.current(&counterparty).map(|c| c.role);
        if theirs != Some(down_role) {
            return Err(refused(format!(
                "the counterparty must be a current {down_role} member"
            )));
        }
        let body = SupplyChainLink {
            network_id: self.membership.network_id(),
            kind,
            upstream: self.me,
            downstream: counterparty,
            established_at: now(),
        };
        let rec = SignedRecord::sign(&body, &self.keys).map_err(refused)?;
        let link = StoredLink {
            id: rec.digest(),
            record: rec.clone(),
            complete: false,
        };
        let mut batch = WriteBatch::new();
        batch.put(Table::Link, link.id.as_bytes(), &link)?;
        let payload = serde_json::to_vec(&rec).map_err(refused)?;
        self.commit_with_message(
            batch,
            MessageKind::SupplyChainLink,
            &[counterparty],
            &payload,
            None,
        )
        .await?;
        Ok(link)
    }

    async fn accept_link(&mut self, id: Digest) -> Result<StoredLink, CoreError> {
        let stored: StoredLink = self
            .store
            .get(Table::Link, id.as_bytes())?
            .ok_or_else(|| refused("no such link proposal"))?;
        if stored.complete {
            return Ok(stored);
        }
        let body = stored
            .record
            .verify_partial::<SupplyChainLink>()
            .map_err(refused)?;
        if body.downstream != self.me {
            return Err(refused("only the downstream side accepts a link"));
        }
        let mut rec = stored.record.clone();
        rec.cosign(&self.keys);
        self.check_link(&rec)?;
        let link = StoredLink {
            id,
            record: rec.clone(),
            complete: true,
        };
        let mut batch = WriteBatch::new();
        batch.put(Table::Link, id.as_bytes(), &link)?;
        let payload = serde_json::to_vec(&rec).map_err(refused)?;
        // The upstream side gets its co-signed link; CSOs get it too, because links decide
        // which brands they report a supplier's cases to. Nobody else learns of it (links are
        // not gossiped: they reveal who buys from whom).
        let mut recipients = vec![body.upstream];
        recipients.extend(
            self.membership
                .known()
                .into_iter()
                .filter(|c| c.role == Role::Cso && c.org_id != self.me)
                .filter(|c| self.membership.current(&c.org_id).is_some())
                .map(|c| c.org_id),
        );
        self.commit_with_message(
            batch,
            MessageKind::SupplyChainLink,
            &recipients,
            &payload,
            None,
        )
        .await?;
        Ok(link)
    }

    /// Gives a CSO that escalated to this node our complete links (once per link and run), so
    /// it can report the case's status to our linked brands even if it joined after the link
    /// was made.
    pub(super) async fn share_links_with(&mut self, cso: OrgId) {
        let links = match self.store.scan::<StoredLink>(Table::Link, &[]) {
            Ok(l) => l,
            Err(e) => return warn!("cannot read links: {e}"),
        };
        for l in links.into_iter().filter(|l| l.complete) {
            if !self.links_shared.insert((cso, l.id)) {
                continue;
            }
            let Ok(payload) = serde_json::to_vec(&l.record) else {
                continue;
            };
            if let Err(e) = self
                .send_now(MessageKind::SupplyChainLink, &[cso], &payload, None)
                .await
            {
                warn!("link not shared: {e}");
            }
        }
    }

    /// Verifies a complete link: both signatures and both sides' certified roles.
    pub(super) fn check_link(&self, rec: &SignedRecord) -> Result<SupplyChainLink, CoreError> {
        let link = rec.verify::<SupplyChainLink>().map_err(refused)?;
        let b = link.body().clone();
        if b.network_id != self.membership.network_id() {
            return Err(refused("link of another network"));
        }
        let role = |o: &OrgId| self.membership.current(o).map(|c| c.role);
        match (role(&b.upstream), role(&b.downstream)) {
            (Some(u), Some(d)) if b.roles_fit(u, d) => Ok(b),
            _ => Err(refused(
                "the link's sides do not hold the roles its kind requires",
            )),
        }
    }

    /// The protocol's delivery rule (`ilm_protocol::may_deliver`) for a message from `sender`
    /// to this node; a case this node does not hold yet means "retry later".
    fn may_deliver(&self, sender: &OrgId, what: &Delivery) -> Result<(), Refusal> {
        let from = self
            .membership
            .current(sender)
            .ok_or_else(|| Refusal::Reject("sender is not a current member".into()))?;
        let me = self
            .membership
            .certificate(&self.me)
            .ok_or_else(|| Refusal::Retry("this node's own certificate is not loaded".into()))?;
        may_deliver(&from, &me, what).map_err(|e| {
            if e.is_transient() {
                Refusal::Retry(e.to_string())
            } else {
                Refusal::Reject(e.to_string())
            }
        })
    }

    /// Whether this node holds a complete brand-supplier link with `supplier`.
    fn linked_to(&self, supplier: &OrgId) -> Result<bool, Refusal> {
        Ok(brands_of(&self.store, supplier)
            .map_err(|e| Refusal::Retry(e.to_string()))?
            .contains(&self.me))
    }

    /// Handles a delivered workflow message (everything but case events). Adds its effect to
    /// `batch`; returns why it is refused otherwise.
    pub(super) fn receive_workflow(
        &mut self,
        header: &Header,
        payload: &[u8],
        batch: &mut WriteBatch,
    ) -> Result<(), Refusal> {
        let t = now();
        match header.kind {
            MessageKind::ConsentedDisclosure => {
                let d: Disclosure = serde_json::from_slice(payload)
                    .map_err(|e| format!("malformed disclosure: {e}"))?;
                let case = self
                    .history(&d.case_ref)
                    .map_err(|e| Refusal::Retry(e.to_string()))?
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
                    .put(Table::Disclosure, &id, &sealed)
                    .map_err(|e| e.to_string())?)
            }
            MessageKind::StatusReport => {
                let r: StatusReport = serde_json::from_slice(payload)
                    .map_err(|e| format!("malformed status report: {e}"))?;
                let linked = self.linked_to(&r.supplier)?;
                self.may_deliver(
                    &header.sender,
                    &Delivery::StatusReport {
                        cso: r.cso,
                        case_ref: r.case_ref,
                        case_nonce: r.case_nonce,
                        linked,
                    },
                )?;
                // Kept per (case, sender): no report ever replaces another CSO's.
                let key = [r.case_ref.as_bytes().as_slice(), r.cso.as_bytes()].concat();
                Ok(batch
                    .put(Table::StatusReport, &key, &r)
                    .map_err(|e| e.to_string())?)
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
                let body = bundle
                    .attestation
                    .verify::<RemediationAttestation>()
                    .map_err(|e| e.to_string())?;
                let b = body.body();
                let linked = self.linked_to(&b.remediating_party)?;
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
                    .put(Table::Attestation, b.case_ref.as_bytes(), &stored)
                    .map_err(|e| e.to_string())?)
            }
            MessageKind::Attestation => {
                let rec: SignedRecord = serde_json::from_slice(payload)
                    .map_err(|e| format!("malformed attestation: {e}"))?;
                let body = rec
                    .verify_partial::<RemediationAttestation>()
                    .map_err(|e| e.to_string())?;
                body.check_well_formed().map_err(|e| e.to_string())?;
                let complete = rec.signatures.len() == 2;
                if complete {
                    rec.verify::<RemediationAttestation>()
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
                    // The CSO forwards the complete attestation to brands linked to the party,
                    // as a bundle: brands do not hold the case history.
                    let brands: Vec<OrgId> = brands_of(&self.store, &body.remediating_party)
                        .map_err(|e| e.to_string())?
                        .into_iter()
                        .filter(|b| self.membership.current(b).is_some())
                        .collect();
                    if !brands.is_empty() {
                        let history = self
                            .history(&body.case_ref)
                            .map_err(|e| e.to_string())?
                            .ok_or("the CSO does not hold the case")?
                            .clone();
                        let bundle = crate::cases::bundle(&history, &rec, &self.membership)?;
                        let bytes = serde_json::to_vec(&bundle).map_err(|e| e.to_string())?;
                        let (_, entries) = self
                            .queue_message(
                                batch,
                                MessageKind::Attestation,
                                &brands,
                                &bytes,
                                Some(body.case_ref),
                                t,
                            )
                            .map_err(|e| e.to_string())?;
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
                    .put(Table::Attestation, body.case_ref.as_bytes(), &stored)
                    .map_err(|e| e.to_string())?)
            }
            MessageKind::SupplyChainLink => {
                let rec: SignedRecord =
                    serde_json::from_slice(payload).map_err(|e| format!("malformed link: {e}"))?;
                let body = rec
                    .verify_partial::<SupplyChainLink>()
                    .map_err(|e| e.to_string())?;
                if body.network_id != self.membership.network_id() {
                    return Err("link of another network".to_string().into());
                }
                let complete = rec.signatures.len() == 2;
                if complete {
                    rec.verify::<SupplyChainLink>().map_err(|e| e.to_string())?;
                    let role = |o: &OrgId| self.membership.current(o).map(|c| c.role);
                    self.may_deliver(
                        &header.sender,
                        &Delivery::LinkComplete {
                            link: &body,
                            upstream: role(&body.upstream),
                            downstream: role(&body.downstream),
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
                Ok(batch
                    .put(Table::Link, link.id.as_bytes(), &link)
                    .map_err(|e| e.to_string())?)
            }
            other => Err(format!("{other:?} messages are not accepted by delivery").into()),
        }
    }
}

/// Why a delivered workflow message is not accepted: for good, or not yet.
#[derive(Debug)]
pub enum Refusal {
    /// Refused for good (the sender marks it rejected).
    Reject(String),
    /// Cannot be processed yet (the sender retries).
    Retry(String),
}

impl From<String> for Refusal {
    fn from(s: String) -> Refusal {
        Refusal::Reject(s)
    }
}

impl From<&str> for Refusal {
    fn from(s: &str) -> Refusal {
        Refusal::Reject(s.to_string())
    }
}
