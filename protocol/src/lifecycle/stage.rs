//! The stages of a party's round and the statuses of a case.

use crate::event::Verdict;
use serde::{Deserialize, Serialize};

/// Where one party escalated to stands in its current round (since its latest escalation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartyStage {
    /// Escalated to it; no answer yet.
    Escalated,
    /// It accepted the escalation.
    Acknowledged,
    /// It disputes the escalation.
    Disputed,
    /// It recorded a remediation plan.
    RemediationPlanned,
    /// It recorded remediation actions.
    Remediating,
    /// It reported remediation complete; the workers' verdict is awaited.
    RemediationReported,
    /// The workers confirmed its remediation.
    Resolved,
    /// The workers confirmed part of it.
    PartlyResolved,
    /// The workers said it did not happen.
    NotResolved,
    /// The CSO reopened the case after a not-resolved or partly-resolved verdict.
    Reopened,
}

impl PartyStage {
    /// The snake_case code used in files and on the command line.
    pub fn code(&self) -> &'static str {
        match self {
            PartyStage::Escalated => "escalated",
            PartyStage::Acknowledged => "acknowledged",
            PartyStage::Disputed => "disputed",
            PartyStage::RemediationPlanned => "remediation_planned",
            PartyStage::Remediating => "remediating",
            PartyStage::RemediationReported => "remediation_reported",
            PartyStage::Resolved => "resolved",
            PartyStage::PartlyResolved => "partly_resolved",
            PartyStage::NotResolved => "not_resolved",
            PartyStage::Reopened => "reopened",
        }
    }

    pub(super) fn of_verdict(v: Verdict) -> PartyStage {
        match v {
            Verdict::Resolved => PartyStage::Resolved,
            Verdict::PartlyResolved => PartyStage::PartlyResolved,
            Verdict::NotResolved => PartyStage::NotResolved,
        }
    }

    /// Whether the party still owes remediation in this stage.
    pub fn owes_remediation(&self) -> bool {
        !matches!(
            self,
            PartyStage::RemediationReported | PartyStage::Resolved | PartyStage::PartlyResolved
        )
    }
}

/// The status of a whole case, for lists and reports (see [`CaseState::status`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    /// Escalated, not yet answered.
    Escalated,
    /// Acknowledged by the party.
    Acknowledged,
    /// Disputed by the party.
    Disputed,
    /// A remediation plan is recorded.
    RemediationPlanned,
    /// Remediation under way (actions recorded).
    Remediating,
    /// Remediation reported complete; awaiting the workers' verdict.
    RemediationReported,
    /// Workers confirmed it.
    Resolved,
    /// Workers confirmed part of it.
    PartlyResolved,
    /// Workers said it did not happen.
    NotResolved,
    /// Reopened after a not-resolved or partly-resolved verdict.
    Reopened,
    /// Closed by the CSO.
    Closed,
}

impl CaseStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [CaseStatus; 11] = [
        CaseStatus::Escalated,
        CaseStatus::Acknowledged,
        CaseStatus::Disputed,
        CaseStatus::RemediationPlanned,
        CaseStatus::Remediating,
        CaseStatus::RemediationReported,
        CaseStatus::Resolved,
        CaseStatus::PartlyResolved,
        CaseStatus::NotResolved,
        CaseStatus::Reopened,
        CaseStatus::Closed,
    ];

    /// The snake_case code used in files and on the command line.
    pub fn code(&self) -> &'static str {
        match self {
            CaseStatus::Escalated => "escalated",
            CaseStatus::Acknowledged => "acknowledged",
            CaseStatus::Disputed => "disputed",
            CaseStatus::RemediationPlanned => "remediation_planned",
            CaseStatus::Remediating => "remediating",
            CaseStatus::RemediationReported => "remediation_reported",
            CaseStatus::Resolved => "resolved",
            CaseStatus::PartlyResolved => "partly_resolved",
            CaseStatus::NotResolved => "not_resolved",
            CaseStatus::Reopened => "reopened",
            CaseStatus::Closed => "closed",
        }
    }

    pub(super) fn of_stage(s: PartyStage) -> CaseStatus {
        match s {
            PartyStage::Escalated => CaseStatus::Escalated,
            PartyStage::Acknowledged => CaseStatus::Acknowledged,
            PartyStage::Disputed => CaseStatus::Disputed,
            PartyStage::RemediationPlanned => CaseStatus::RemediationPlanned,
            PartyStage::Remediating => CaseStatus::Remediating,
            PartyStage::RemediationReported => CaseStatus::RemediationReported,
            PartyStage::Resolved => CaseStatus::Resolved,
            PartyStage::PartlyResolved => CaseStatus::PartlyResolved,
            PartyStage::NotResolved => CaseStatus::NotResolved,
            PartyStage::Reopened => CaseStatus::Reopened,
        }
    }
}

impl std::str::FromStr for CaseStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CaseStatus::ALL
            .into_iter()
            .find(|c| c.code() == s)
            .ok_or_else(|| {
                let all: Vec<&str> = CaseStatus::ALL.iter().map(|c| c.code()).collect();
                format!("unknown status {s:?}: expected one of {}", all.join(", "))
            })
    }
}
