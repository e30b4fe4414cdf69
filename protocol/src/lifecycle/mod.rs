//! The case lifecycle as a protocol rule: a case's events folded, in the deterministic order
//! of [`crate::CaseHistory::ordered`], into a [`CaseState`], and the transitions that state
//! allows ([`CaseState::check`]).
//!
//! Every receiver validates an event against the state folded from **the event's own
//! ancestors**, so the answer depends only on what the author had seen: every node reaches
//! the same decision whatever order concurrent branches arrive in. The same state gives the
//! status, who must act, due dates and the figures an attestation must match, so the node,
//! the CLI, the web UI and the attestation builder never walk a history on their own.
//! docs/PROTOCOL.md section 6.3 has the table and the reasoning.

mod party;
mod stage;

pub use party::{Obligation, Owed, PartyState};
pub use stage::{CaseStatus, PartyStage};

use crate::codebook::{IssueCategory, Money};
use crate::event::{CaseEvent, CaseNonce, CaseRef, EventKind, EventPayload, Verdict};
use crate::identity::{OrgId, Timestamp};
use crate::membership::NetworkId;
use party::add_money;
use serde::{Deserialize, Serialize};

/// The latest worker verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerificationState {
    /// What the workers said.
    pub verdict: Verdict,
    /// When it was recorded.
    pub at: Timestamp,
    /// Workers consulted.
    pub workers_consulted: u32,
    /// The parties whose reported remediation it judged.
    pub parties: Vec<OrgId>,
}

/// The closing of a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closure {
    /// When it was closed.
    pub at: Timestamp,
    /// The CSO's outcome summary.
    pub outcome: String,
}

/// The last step that decides the case status when no one awaits a verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "step", content = "value")]
pub enum LastStep {
    /// An escalation to, or an answer by, this party.
    Party(OrgId),
    /// A worker verification.
    Verification(Verdict),
    /// A reopen.
    Reopen,
    /// The case was closed.
    Closed,
}

/// Why an event does not fit the case's state (section 6.3 of docs/PROTOCOL.md).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    /// The case is closed: only a reopen by its owner may follow.
    #[error("the case is closed: only its CSO may reopen it")]
    CaseClosed,
    /// Only the CSO that owns the case may do this.
    #[error("only the CSO that owns the case may author {0:?} events")]
    NotCaseOwner(EventKind),
    /// Only a party the case was escalated to may answer.
    #[error("only a party this case was escalated to may author {0:?} events")]
    NotEscalatedTo(EventKind),
    /// The party's remediation was verified resolved; it answers again only if escalated again.
    #[error(
        "the workers verified this party's remediation as resolved: it may not answer again unless the case is escalated to it again"
    )]
    AlreadyResolved,
    /// The party reported remediation complete and awaits the workers' verdict.
    #[error("this party reported remediation complete: it waits for the workers' verdict")]
    AwaitingVerification,
    /// The party already accepted its latest escalation.
    #[error("this party already acknowledged its latest escalation")]
    AlreadyAcknowledged,
    /// The party already disputes its latest escalation.
    #[error("this party already disputes its latest escalation")]
    AlreadyDisputed,
    /// Remediation reported before the party accepted its latest escalation.
    #[error(
        "remediation cannot be reported complete before the party acknowledges (or plans) since its latest escalation"
    )]
    ReportWithoutAcknowledgement,
    /// A verdict with no remediation reported to judge.
    #[error(
        "no party reported remediation complete since its latest escalation or the latest verdict: there is nothing for the workers to verify"
    )]
    VerificationWithoutReport,
    /// A reopen without a verdict saying the remediation fell short.
    #[error("a case reopens only after a not-resolved or partly-resolved verdict, or once closed")]
    ReopenWithoutVerdict,
}

impl LifecycleError {
    /// A stable code for this refusal (test vectors and other implementations compare it).
    pub fn code(&self) -> &'static str {
        match self {
            LifecycleError::CaseClosed => "lifecycle.case_closed",
            LifecycleError::NotCaseOwner(_) => "lifecycle.not_case_owner",
            LifecycleError::NotEscalatedTo(_) => "lifecycle.not_escalated_to",
            LifecycleError::AlreadyResolved => "lifecycle.already_resolved",
            LifecycleError::AwaitingVerification => "lifecycle.awaiting_verification",
            LifecycleError::AlreadyAcknowledged => "lifecycle.already_acknowledged",
            LifecycleError::AlreadyDisputed => "lifecycle.already_disputed",
            LifecycleError::ReportWithoutAcknowledgement => {
                "lifecycle.report_without_acknowledgement"
            }
            LifecycleError::VerificationWithoutReport => "lifecycle.verification_without_report",
            LifecycleError::ReopenWithoutVerdict => "lifecycle.reopen_without_verdict",
        }
    }
}

/// A case as its events show it: the fold of [`CaseState::apply`] over the events in the
/// deterministic order of section 7.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CaseState {
    /// Network of the case.
    pub network_id: NetworkId,
    /// The case.
    pub case_ref: CaseRef,
    /// The nonce its reference derives from (with the owner's id), from the first event.
    pub nonce: Option<CaseNonce>,
    /// The CSO that authored the first escalation.
    pub owner: OrgId,
    /// When the first escalation was made.
    pub opened_at: Timestamp,
    /// Every party escalated to, in the order first escalated.
    pub parties: Vec<PartyState>,
    /// The latest worker verification.
    pub verification: Option<VerificationState>,
    /// How many times the case was reopened.
    pub reopens: u32,
    /// The latest reopen.
    pub reopened_at: Option<Timestamp>,
    /// Set while the case is closed.
    pub closed: Option<Closure>,
    /// The step that decides the status when no one awaits a verdict.
    pub last_step: LastStep,
    /// Events folded.
    pub events: u32,
    /// The latest `authored_at` among them.
    pub last_event_at: Timestamp,
}

impl CaseState {
    /// The state after the first escalation of a case (the root event).
    pub fn open(root: &CaseEvent) -> Option<CaseState> {
        let EventPayload::Escalation(_) = &root.payload else {
            return None;
        };
        let mut s = CaseState {
            network_id: root.network_id,
            case_ref: root.case_ref,
            nonce: root.case_nonce,
            owner: root.author,
            opened_at: root.authored_at,
            parties: Vec::new(),
            verification: None,
            reopens: 0,
            reopened_at: None,
            closed: None,
            last_step: LastStep::Reopen,
            events: 0,
            last_event_at: root.authored_at,
        };
        s.apply(root);
        Some(s)
    }

    /// The state of one party, if the case was escalated to it.
    pub fn party(&self, org: &OrgId) -> Option<&PartyState> {
        self.parties.iter().find(|p| p.party == *org)
    }

    fn party_mut(&mut self, org: &OrgId) -> Option<&mut PartyState> {
        self.parties.iter_mut().find(|p| p.party == *org)
    }

    /// Every party escalated to.
    pub fn responders(&self) -> impl Iterator<Item = OrgId> + '_ {
        self.parties.iter().map(|p| p.party)
    }

    /// Whether `org` takes part in the case (its owner or a party escalated to).
    pub fn is_participant(&self, org: &OrgId) -> bool {
        self.owner == *org || self.party(org).is_some()
    }

    /// Every category escalated in the case, in the order first raised.
    pub fn categories(&self) -> Vec<IssueCategory> {
        let mut out: Vec<IssueCategory> = Vec::new();
        for c in self.parties.iter().flat_map(|p| p.categories.iter()) {
            if !out.contains(c) {
                out.push(*c);
            }
        }
        out
    }

    /// Workers affected: the largest worker count of any escalation in the case.
    pub fn workers_affected(&self) -> u32 {
        self.parties
            .iter()
            .map(|p| p.workers_affected)
            .max()
            .unwrap_or(0)
    }

    /// Money repaid by all parties: one total per currency, in ascending currency order.
    pub fn amounts_repaid(&self) -> Vec<Money> {
        let mut out = Vec::new();
        for m in self.parties.iter().flat_map(|p| p.amounts_repaid.iter()) {
            add_money(&mut out, m);
        }
        out
    }

    /// The case status: `closed` while closed; `remediation_reported` while a party awaits
    /// the workers' verdict; otherwise what the last step made it (the verdict after a
    /// verification, `reopened` after a reopen, else the stage of the party the last
    /// escalation or answer concerned).
    pub fn status(&self) -> CaseStatus {
        if self.closed.is_some() {
            return CaseStatus::Closed;
        }
        if self
            .parties
            .iter()
            .any(|p| p.stage == PartyStage::RemediationReported)
        {
            return CaseStatus::RemediationReported;
        }
        match self.last_step {
            LastStep::Verification(v) => CaseStatus::of_stage(PartyStage::of_verdict(v)),
            LastStep::Reopen => CaseStatus::Reopened,
            LastStep::Closed => CaseStatus::Closed,
            LastStep::Party(p) => self
                .party(&p)
                .map(|p| CaseStatus::of_stage(p.stage))
                .unwrap_or(CaseStatus::Escalated),
        }
    }

    /// What every party owes at `now`, with due dates and overdue flags (nothing once closed).
    pub fn obligations(&self, now: Timestamp) -> Vec<Obligation> {
        if self.closed.is_some() {
            return Vec::new();
        }
        self.parties
            .iter()
            .flat_map(|p| p.obligations(now))
            .collect()
    }

    /// The earliest due date still open, if any.
    pub fn next_due(&self, now: Timestamp) -> Option<Timestamp> {
        self.obligations(now).iter().map(|o| o.due).min()
    }

    /// Who must act now: every party owing something, and the owner when a party awaits the
    /// workers' verdict, disputes, or every party is settled and the case is still open.
    pub fn waiting_on(&self) -> Vec<OrgId> {
        if self.closed.is_some() {
            return Vec::new();
        }
        let mut out: Vec<OrgId> = self
            .parties
            .iter()
            .filter(|p| p.stage.owes_remediation() && p.stage != PartyStage::Disputed)
            .map(|p| p.party)
            .collect();
        let owner_turn = self.parties.iter().any(|p| {
            matches!(
                p.stage,
                PartyStage::RemediationReported | PartyStage::Disputed | PartyStage::PartlyResolved
            )
        }) || out.is_empty();
        if owner_turn {
            out.insert(0, self.owner);
        }
        out
    }

    /// The event kinds `author` may add now (roles aside: see `rules::may_author`).
    pub fn allowed(&self, author: &OrgId) -> Vec<EventKind> {
        EventKind::ALL
            .into_iter()
            .filter(|k| self.check_kind(author, *k).is_ok())
            .collect()
    }

    /// Whether an event of `kind` by `author` fits the state (the table of section 6.3).
    pub fn check_kind(&self, author: &OrgId, kind: EventKind) -> Result<(), LifecycleError> {
        use EventKind::*;
        use LifecycleError as E;
        let owner_only = matches!(kind, Escalation | WorkerVerification | Reopened | Closed);
        if owner_only && *author != self.owner {
            return Err(E::NotCaseOwner(kind));
        }
        if self.closed.is_some() {
            return if kind == Reopened {
                Ok(())
            } else {
                Err(E::CaseClosed)
            };
        }
        if owner_only {
            let any = |f: fn(PartyStage) -> bool| self.parties.iter().any(|p| f(p.stage));
            return match kind {
                WorkerVerification if !any(|s| s == PartyStage::RemediationReported) => {
                    Err(E::VerificationWithoutReport)
                }
                Reopened
                    if !any(|s| {
                        matches!(s, PartyStage::NotResolved | PartyStage::PartlyResolved)
                    }) =>
                {
                    Err(E::ReopenWithoutVerdict)
                }
                _ => Ok(()),
            };
        }
        let p = self.party(author).ok_or(E::NotEscalatedTo(kind))?;
        match p.stage {
            PartyStage::Resolved => return Err(E::AlreadyResolved),
            PartyStage::RemediationReported => return Err(E::AwaitingVerification),
            _ => {}
        }
        match kind {
            Acknowledgement if p.accepted => Err(E::AlreadyAcknowledged),
            Dispute if p.stage == PartyStage::Disputed => Err(E::AlreadyDisputed),
            RemediationReported if !p.accepted => Err(E::ReportWithoutAcknowledgement),
            _ => Ok(()),
        }
    }

    /// Whether `event` fits the state: [`CaseState::check_kind`] for its author and kind.
    pub fn check(&self, event: &CaseEvent) -> Result<(), LifecycleError> {
        self.check_kind(&event.author, event.payload.kind())
    }

    /// Folds one more event into the state. Total: an event the rules would refuse here (two
    /// concurrent branches folded one after the other) still changes the state in the one
    /// defined way, so every node holding the same events reaches the same state.
    pub fn apply(&mut self, ev: &CaseEvent) {
        let t = ev.authored_at;
        self.events = self.events.saturating_add(1);
        self.last_event_at = self.last_event_at.max(t);
        let author = ev.author;
        match &ev.payload {
            EventPayload::Escalation(e) => {
                self.last_step = LastStep::Party(e.to);
                match self.party_mut(&e.to) {
                    Some(p) => p.start_round(e, t),
                    None => self.parties.push(PartyState::first(e, t)),
                }
                return;
            }
            EventPayload::WorkerVerification {
                verdict,
                workers_consulted,
                ..
            } => {
                let mut judged = Vec::new();
                for p in &mut self.parties {
                    if p.stage == PartyStage::RemediationReported {
                        p.stage = PartyStage::of_verdict(*verdict);
                        p.verdict = Some(*verdict);
                        p.verified_at = Some(t);
                        judged.push(p.party);
                    }
                }
                self.verification = Some(VerificationState {
                    verdict: *verdict,
                    at: t,
                    workers_consulted: *workers_consulted,
                    parties: judged,
                });
                self.last_step = LastStep::Verification(*verdict);
                return;
            }
            EventPayload::Reopened { .. } => {
                self.closed = None;
                self.reopens = self.reopens.saturating_add(1);
                self.reopened_at = Some(t);
                for p in &mut self.parties {
                    if matches!(
                        p.stage,
                        PartyStage::NotResolved | PartyStage::PartlyResolved
                    ) {
                        p.stage = PartyStage::Reopened;
                    }
                }
                self.last_step = LastStep::Reopen;
                return;
            }
            EventPayload::Closed { outcome } => {
                self.closed = Some(Closure {
                    at: t,
                    outcome: outcome.clone(),
                });
                self.last_step = LastStep::Closed;
                return;
            }
            _ => {}
        }
        // An answer by a party escalated to.
        let Some(p) = self.party_mut(&author) else {
            return;
        };
        p.answered_at.get_or_insert(t);
        match &ev.payload {
            EventPayload::Acknowledgement { .. } => {
                p.stage = PartyStage::Acknowledged;
                p.accepted = true;
                p.acknowledged_at.get_or_insert(t);
            }
            EventPayload::Dispute { .. } => {
                p.stage = PartyStage::Disputed;
                p.accepted = false;
                p.disputed_at = Some(t);
            }
            EventPayload::RemediationPlan { target_date, .. } => {
                p.stage = PartyStage::RemediationPlanned;
                p.accepted = true;
                p.acknowledged_at.get_or_insert(t);
                p.plan_target = Some(*target_date);
            }
            EventPayload::RemediationAction(a) => {
                p.stage = PartyStage::Remediating;
                p.actions = p.actions.saturating_add(1);
                p.workers_benefited_total = p
                    .workers_benefited_total
                    .saturating_add(a.workers_benefited);
                if let Some(m) = &a.amount_repaid {
                    add_money(&mut p.amounts_repaid, m);
                }
            }
            EventPayload::RemediationReported { summary } => {
                p.stage = PartyStage::RemediationReported;
                p.reported_at = Some(t);
                p.report_summary = Some(summary.clone());
            }
            _ => {}
        }
        self.last_step = LastStep::Party(author);
    }
}
