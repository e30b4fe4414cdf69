//! One party escalated to: its round, what it owes, and its figures.

use super::PartyStage;
use crate::codebook::{IssueCategory, Money};
use crate::event::{Escalation, Verdict};
use crate::identity::{OrgId, Timestamp};
use serde::{Deserialize, Serialize};

/// One party escalated to, as the case's events show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PartyState {
    /// The party.
    pub party: OrgId,
    /// Where its current round stands.
    pub stage: PartyStage,
    /// Its latest escalation (what is asked now, and by when).
    pub escalation: Escalation,
    /// When it was first escalated to.
    pub first_escalated_at: Timestamp,
    /// When its latest escalation was made (the start of its current round).
    pub escalated_at: Timestamp,
    /// How many escalations it received.
    pub escalations: u32,
    /// Every category escalated to it, in the order first raised.
    pub categories: Vec<IssueCategory>,
    /// The largest worker count of its escalations.
    pub workers_affected: u32,
    /// Whether it accepted its current round (acknowledgement or plan, not withdrawn by a
    /// later dispute); remediation can be reported complete only then.
    pub accepted: bool,
    /// Its first answer of the current round (any acknowledgement, dispute, plan, action or
    /// report).
    pub answered_at: Option<Timestamp>,
    /// Its first acknowledgement or plan of the current round.
    pub acknowledged_at: Option<Timestamp>,
    /// Its latest dispute of the current round.
    pub disputed_at: Option<Timestamp>,
    /// Target date of its latest plan in the current round.
    pub plan_target: Option<Timestamp>,
    /// Remediation actions it recorded, all rounds.
    pub actions: u32,
    /// Sum of its actions' `workers_benefited`, all rounds (saturating).
    pub workers_benefited_total: u32,
    /// Money it repaid, all rounds: one total per currency, in ascending currency order.
    pub amounts_repaid: Vec<Money>,
    /// Its latest `remediation_reported`, any round.
    pub reported_at: Option<Timestamp>,
    /// That report's summary.
    pub report_summary: Option<String>,
    /// The latest workers' verdict on its remediation.
    pub verdict: Option<Verdict>,
    /// When that verdict was recorded.
    pub verified_at: Option<Timestamp>,
}

impl PartyState {
    /// Workers who benefited, as an attestation states it: the actions' total, at most the
    /// largest escalated worker count, or that count when no action named any.
    pub fn workers_benefited(&self) -> u32 {
        match self.workers_benefited_total {
            0 => self.workers_affected,
            n => n.min(self.workers_affected),
        }
    }

    /// What this party owes at `now`, with due dates; nothing once the case is closed.
    pub(super) fn obligations(&self, now: Timestamp) -> Vec<Obligation> {
        let mut out = Vec::new();
        if self.stage == PartyStage::Escalated {
            out.push(Obligation {
                party: self.party,
                what: Owed::Acknowledgement,
                due: self.escalation.acknowledge_by,
                overdue: now > self.escalation.acknowledge_by,
            });
        }
        if self.stage.owes_remediation() {
            out.push(Obligation {
                party: self.party,
                what: Owed::Remediation,
                due: self.escalation.remediate_by,
                overdue: now > self.escalation.remediate_by,
            });
        }
        out
    }
}

/// What a party owes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Owed {
    /// An answer (acknowledgement, dispute or plan) to its latest escalation.
    Acknowledgement,
    /// Remediation reported complete.
    Remediation,
}

/// Work a party owes, with its due date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Obligation {
    /// Who owes it.
    pub party: OrgId,
    /// What is owed.
    pub what: Owed,
    /// When it is (or was) due.
    pub due: Timestamp,
    /// Whether `now` is past the due date.
    pub overdue: bool,
}

impl PartyState {
    pub(super) fn first(e: &Escalation, t: Timestamp) -> PartyState {
        let mut p = PartyState {
            party: e.to,
            stage: PartyStage::Escalated,
            escalation: e.clone(),
            first_escalated_at: t,
            escalated_at: t,
            escalations: 0,
            categories: Vec::new(),
            workers_affected: 0,
            accepted: false,
            answered_at: None,
            acknowledged_at: None,
            disputed_at: None,
            plan_target: None,
            actions: 0,
            workers_benefited_total: 0,
            amounts_repaid: Vec::new(),
            reported_at: None,
            report_summary: None,
            verdict: None,
            verified_at: None,
        };
        p.start_round(e, t);
        p
    }

    /// A new escalation to this party starts a new round: it must answer again.
    pub(super) fn start_round(&mut self, e: &Escalation, t: Timestamp) {
        self.stage = PartyStage::Escalated;
        self.escalation = e.clone();
        self.escalated_at = t;
        self.escalations = self.escalations.saturating_add(1);
        for c in &e.categories {
            if !self.categories.contains(c) {
                self.categories.push(*c);
            }
        }
        self.workers_affected = self.workers_affected.max(e.workers_affected);
        self.accepted = false;
        self.answered_at = None;
        self.acknowledged_at = None;
        self.disputed_at = None;
        self.plan_target = None;
    }
}

/// Adds `m` to per-currency totals kept in ascending currency order (saturating).
pub(super) fn add_money(totals: &mut Vec<Money>, m: &Money) {
    match totals.binary_search_by(|x| x.currency.cmp(&m.currency)) {
        Ok(i) => totals[i].minor_units = totals[i].minor_units.saturating_add(m.minor_units),
        Err(i) => totals.insert(i, m.clone()),
    }
}
