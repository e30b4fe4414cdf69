//! Workflow beyond plain case events: consented disclosures, status reports to linked brands,
//! remediation attestations (draft, co-sign, forward) and supply-chain links.

use super::*;
use ilm_protocol::{Digest, LinkKind, Role};

/// Workflow commands for the core.
pub enum WorkflowCommand {
    /// Escalate a case, with the consented disclosure, in one batch.
    Escalate {
        case: CaseRef,
        escalation: ilm_protocol::event::Escalation,
        at: Option<Timestamp>,
        disclosure: Option<Vec<u8>>,
        reply: oneshot::Sender<Result<super::commands::Escalated, CoreError>>,
    },
    /// Record the workers' verdict and what follows from it, in one batch.
    Verdict {
        case: CaseRef,
        verdict: ilm_protocol::Verdict,
        workers_consulted: u32,
        note: String,
        at: Option<Timestamp>,
        reply: oneshot::Sender<Result<super::commands::Verdicted, CoreError>>,
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
    /// Record an activity of this organisation's improvement plan.
    RecordActivity {
        input: super::improvement::ActivityInput,
        reply: oneshot::Sender<Result<SignedRecord, CoreError>>,
    },
    /// Publish or replace a job listing of this agency or supplier.
    PublishListing {
        input: super::listing::ListingInput,
        reply: oneshot::Sender<Result<SignedRecord, CoreError>>,
    },
    /// Take a job listing of this agency or supplier down.
    WithdrawListing {
        id: ilm_protocol::ListingId,
        reply: oneshot::Sender<Result<SignedRecord, CoreError>>,
    },
    /// Publish this CSO's rating summaries that have enough new ratings.
    PublishRatings {
        k: u32,
        reply: oneshot::Sender<Result<Vec<super::rating::RatingOutcome>, CoreError>>,
    },
    /// Publish this organisation's answer to its ratings.
    AnswerRatings {
        text: String,
        reply: oneshot::Sender<Result<SignedRecord, CoreError>>,
    },
    /// Publish a broker alert this CSO reviewed (its own, or an agency's proposal).
    PublishAlert {
        input: Option<super::alert::AlertInput>,
        proposal: Option<(OrgId, ilm_protocol::AlertId, Digest)>,
        reply: oneshot::Sender<Result<SignedRecord, CoreError>>,
    },
    /// Take one of this CSO's broker alerts down.
    WithdrawAlert {
        id: ilm_protocol::AlertId,
        reply: oneshot::Sender<Result<SignedRecord, CoreError>>,
    },
    /// Propose a broker alert to a CSO (an agency).
    ProposeAlert {
        to: OrgId,
        input: super::alert::AlertInput,
        reply: oneshot::Sender<Result<SignedRecord, CoreError>>,
    },
    /// Publish this CSO's statistics of a month to every member.
    PublishStatistics {
        month: ilm_protocol::Month,
        k: u32,
        expect: Option<Digest>,
        reply: oneshot::Sender<Result<crate::records::StoredPublication, CoreError>>,
    },
}

impl CoreClient {
    pub(super) async fn workflow<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, CoreError>>) -> WorkflowCommand,
    ) -> Result<T, CoreError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::Workflow(make(reply)))
            .await
            .map_err(|_| CoreError::Unavailable)?;
        rx.await.map_err(|_| CoreError::Unavailable)?
    }

    /// Escalates a case (a local case's first escalation, or a further one) and, in the
    /// same batch, sends the consented disclosure to the recipient.
    pub async fn escalate(
        &self,
        case: CaseRef,
        escalation: ilm_protocol::event::Escalation,
        at: Option<Timestamp>,
        disclosure: Option<Vec<u8>>,
    ) -> Result<super::commands::Escalated, CoreError> {
        self.workflow(|reply| WorkflowCommand::Escalate {
            case,
            escalation,
            at,
            disclosure,
            reply,
        })
        .await
    }

    /// Records the workers' verdict with what follows from it (reopen and re-escalation, or
    /// the attestation draft), in one batch.
    pub async fn record_verdict(
        &self,
        case: CaseRef,
        verdict: ilm_protocol::Verdict,
        workers_consulted: u32,
        note: String,
        at: Option<Timestamp>,
    ) -> Result<super::commands::Verdicted, CoreError> {
        self.workflow(|reply| WorkflowCommand::Verdict {
            case,
            verdict,
            workers_consulted,
            note,
            at,
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

    /// Records (signs, stores, sends) an activity of this organisation's improvement plan.
    pub async fn record_activity(
        &self,
        input: super::improvement::ActivityInput,
    ) -> Result<SignedRecord, CoreError> {
        self.workflow(|reply| WorkflowCommand::RecordActivity { input, reply })
            .await
    }

    /// Publishes (signs, stores, sends to every CSO) a job listing, new or replacing one.
    pub async fn publish_listing(
        &self,
        input: super::listing::ListingInput,
    ) -> Result<SignedRecord, CoreError> {
        self.workflow(|reply| WorkflowCommand::PublishListing { input, reply })
            .await
    }

    /// Takes a job listing down (a withdrawn version, sent like the others).
    pub async fn withdraw_listing(
        &self,
        id: ilm_protocol::ListingId,
    ) -> Result<SignedRecord, CoreError> {
        self.workflow(|reply| WorkflowCommand::WithdrawListing { id, reply })
            .await
    }

    /// Publishes the rating summaries that have at least `k` new ratings.
    pub async fn publish_ratings(
        &self,
        k: u32,
    ) -> Result<Vec<super::rating::RatingOutcome>, CoreError> {
        self.workflow(|reply| WorkflowCommand::PublishRatings { k, reply })
            .await
    }

    /// Publishes this organisation's public answer to its ratings.
    pub async fn answer_ratings(&self, text: String) -> Result<SignedRecord, CoreError> {
        self.workflow(|reply| WorkflowCommand::AnswerRatings { text, reply })
            .await
    }

    /// Publishes a broker alert this CSO reviewed: its own text (`proposal` None), or an
    /// agency's proposal as proposed (`input` None) or as the CSO corrected it.
    pub async fn publish_alert(
        &self,
        input: Option<super::alert::AlertInput>,
        proposal: Option<(OrgId, ilm_protocol::AlertId, Digest)>,
    ) -> Result<SignedRecord, CoreError> {
        self.workflow(|reply| WorkflowCommand::PublishAlert {
            input,
            proposal,
            reply,
        })
        .await
    }

    /// Takes one of this CSO's broker alerts down on every portal.
    pub async fn withdraw_alert(
        &self,
        id: ilm_protocol::AlertId,
    ) -> Result<SignedRecord, CoreError> {
        self.workflow(|reply| WorkflowCommand::WithdrawAlert { id, reply })
            .await
    }

    /// Proposes a broker alert to the CSO `to` for review (an agency).
    pub async fn propose_alert(
        &self,
        to: OrgId,
        input: super::alert::AlertInput,
    ) -> Result<SignedRecord, CoreError> {
        self.workflow(|reply| WorkflowCommand::ProposeAlert { to, input, reply })
            .await
    }

    /// Publishes this CSO's statistics of `month`, suppressed with `k`, to every member;
    /// with `expect`, only if the tables are still the ones reviewed.
    pub async fn publish_statistics(
        &self,
        month: ilm_protocol::Month,
        k: u32,
        expect: Option<Digest>,
    ) -> Result<crate::records::StoredPublication, CoreError> {
        self.workflow(|reply| WorkflowCommand::PublishStatistics {
            month,
            k,
            expect,
            reply,
        })
        .await
    }
}

impl Core {
    pub(super) async fn on_workflow(&mut self, cmd: WorkflowCommand) {
        match cmd {
            WorkflowCommand::Escalate {
                case,
                escalation,
                at,
                disclosure,
                reply,
            } => {
                let res = self.escalate(case, escalation, at, disclosure).await;
                let _ = reply.send(res);
            }
            WorkflowCommand::Verdict {
                case,
                verdict,
                workers_consulted,
                note,
                at,
                reply,
            } => {
                let res = self
                    .record_verdict(case, verdict, workers_consulted, note, at)
                    .await;
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
            WorkflowCommand::RecordActivity { input, reply } => {
                let res = self.record_activity(input).await;
                let _ = reply.send(res);
            }
            WorkflowCommand::PublishListing { input, reply } => {
                let res = self.publish_listing(input).await;
                let _ = reply.send(res);
            }
            WorkflowCommand::WithdrawListing { id, reply } => {
                let res = self.withdraw_listing(id).await;
                let _ = reply.send(res);
            }
            WorkflowCommand::PublishRatings { k, reply } => {
                let res = self.publish_ratings(k).await;
                let _ = reply.send(res);
            }
            WorkflowCommand::AnswerRatings { text, reply } => {
                let res = self.answer_ratings(text).await;
                let _ = reply.send(res);
            }
            WorkflowCommand::PublishAlert {
                input,
                proposal,
                reply,
            } => {
                let res = self.publish_alert(input, proposal).await;
                let _ = reply.send(res);
            }
            WorkflowCommand::WithdrawAlert { id, reply } => {
                let res = self.withdraw_alert(id).await;
                let _ = reply.send(res);
            }
            WorkflowCommand::ProposeAlert { to, input, reply } => {
                let res = self.propose_alert(to, input).await;
                let _ = reply.send(res);
            }
            WorkflowCommand::PublishStatistics {
                month,
                k,
                expect,
                reply,
            } => {
                let res = self.publish_statistics(month, k, expect).await;
                let _ = reply.send(res);
            }
        }
    }

    /// Sends each of `records` to `org` as `kind`, once per version and run (a restart sends
    /// them again; receivers keep a version once): what an organisation published before
    /// another met it, shared when they meet.
    pub(super) async fn share_once(
        &mut self,
        org: OrgId,
        kind: MessageKind,
        records: impl IntoIterator<Item = SignedRecord>,
    ) {
        for rec in records {
            if !self.shared_once.insert((org, rec.digest())) {
                continue;
            }
            let Ok(payload) = serde_json::to_vec(&rec) else {
                continue;
            };
            if let Err(e) = self.send_now(kind, &[org], &payload, None).await {
                warn!("{kind:?} not shared with {}: {e}", org.short());
            }
        }
    }

    pub(super) async fn send_now(
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
    pub(super) async fn commit_with_message(
        &mut self,
        mut batch: WriteBatch,
        kind: MessageKind,
        recipients: &[OrgId],
        payload: &[u8],
        case_ref: Option<CaseRef>,
    ) -> Result<Option<MessageId>, CoreError> {
        let (id, entries) =
            self.queue_message(&mut batch, kind, recipients, payload, case_ref, now())?;
        self.commit_queued(batch, entries).await?;
        Ok(id)
    }

    /// Stores `batch`, then hands the outbox entries it holds to the worker: never before
    /// they are stored, so that a crash cannot send what the node does not remember sending.
    pub(super) async fn commit_queued(
        &mut self,
        batch: WriteBatch,
        entries: Vec<OutboxEntry>,
    ) -> Result<(), CoreError> {
        self.store.commit(batch)?;
        for e in entries {
            self.outbox.push(e).await;
        }
        Ok(())
    }

    /// Like [`Core::commit_with_message`] for any number of recipients: one envelope per
    /// group of at most `MAX_RECIPIENTS` (records every member receives, such as published
    /// statistics).
    pub(super) async fn commit_to_many(
        &mut self,
        mut batch: WriteBatch,
        kind: MessageKind,
        recipients: &[OrgId],
        payload: &[u8],
    ) -> Result<(), CoreError> {
        let mut entries = Vec::new();
        for group in recipients.chunks(ilm_protocol::envelope::MAX_RECIPIENTS) {
            let (_, mut e) = self.queue_message(&mut batch, kind, group, payload, None, now())?;
            entries.append(&mut e);
        }
        self.commit_queued(batch, entries).await
    }

    /// Stores `batch` with `payload` queued to each of `recipients` in an envelope of its
    /// own ([`Core::queue_apart`]), then hands the entries to the outbox worker.
    pub(super) async fn commit_apart(
        &mut self,
        mut batch: WriteBatch,
        kind: MessageKind,
        recipients: &[OrgId],
        payload: &[u8],
    ) -> Result<(), CoreError> {
        let entries = self.queue_apart(&mut batch, kind, recipients, payload, None, now())?;
        self.commit_queued(batch, entries).await
    }

    /// Hands entries committed by a delivery batch to the outbox worker.
    pub(super) async fn push_committed(&mut self) {
        for e in std::mem::take(&mut self.to_push) {
            self.outbox.push(e).await;
        }
    }

    /// Adds to `batch` what must change with a case's events, so that it can never disagree
    /// with them after a crash: the case's state (the read model that lists and views read),
    /// the aggregates it changes, and, for a case this node owns, status reports to the brands
    /// linked to its suppliers. Called once per batch, with each case once.
    /// Returns the outbox entries to hand to the worker once the batch is flushed.
    pub(super) fn stage_case_writes(
        &mut self,
        batch: &mut WriteBatch,
        cases: impl IntoIterator<Item = CaseRef>,
    ) -> Result<Vec<OutboxEntry>, CoreError> {
        let mut entries = Vec::new();
        let t = now();
        // The batch's status reports (at a brand) change cells too: all staged at once.
        let mut aggregates = std::mem::take(&mut self.reports);
        let mut staged = Vec::new();
        let mut seen = std::collections::HashSet::new();
        // Each case once: staged twice, its aggregates would change twice from one old state.
        for case in cases.into_iter().filter(|c| seen.insert(*c)) {
            let Some((state, heads)) = self
                .history(&case)?
                .and_then(|h| Some((h.state().cloned()?, h.heads())))
            else {
                continue;
            };
            let old = crate::cases::state_of(&self.store, &case)?;
            aggregates.case(old.as_ref(), &state);
            crate::cases::put_record(batch, &state, &heads)?;
            staged.push(state);
        }
        aggregates.stage(&self.store, batch)?;
        for state in staged {
            let case = state.case_ref;
            if state.owner != self.me {
                continue;
            }
            for party in state.responders() {
                let role = self.membership.current(&party).map(|c| c.role);
                if !matches!(role, Some(Role::Supplier | Role::Agency)) {
                    continue;
                }
                let brands: Vec<OrgId> = buyers_of(&self.store, &party)?
                    .into_iter()
                    .filter(|b| self.membership.current(b).is_some())
                    .collect();
                let profile = crate::intake::case_profile(&self.store, &case)?;
                let Some(report) = status_report(&state, self.me, party, t, profile) else {
                    continue;
                };
                let bytes = serde_json::to_vec(&report).map_err(CoreError::refused)?;
                // One envelope per brand: a brand does not learn who else buys from the party.
                let mut e = self.queue_apart(
                    batch,
                    MessageKind::StatusReport,
                    &brands,
                    &bytes,
                    Some(case),
                    t,
                )?;
                entries.append(&mut e);
            }
        }
        Ok(entries)
    }
}
